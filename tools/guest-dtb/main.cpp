// guest-dtb: writes the device tree Keel gives an arm64 Linux VM (arch/arm64/guest_dtb.cpp,
// the same build_guest_dtb the hypervisor runs), so bare QEMU can boot a kernel on exactly
// the machine description a Keel VM sees (bench/arm64_linux_boot.sh, `qemu -dtb`).
//
//   guest-dtb --mem SIZE [--ram-base ADDR] [--cpus N] [--initrd START+SIZE] [--args TEXT]
//             --out FILE
// SIZE takes K/M/G suffixes; numbers are decimal or 0x hex. Keel's defaults: RAM at
// 0x40000000, 1 vCPU, no initrd, empty command line.
// Exit status: 0 written, 1 failed, 2 usage.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

extern "C" {
#include <libfdt.h>
}

#include "arch/arm64/linux_loader.hpp"
#include "tools/common/size_arg.hpp"

using namespace keel;

namespace {

using tools::parse_size;

int usage() {
    fprintf(stderr, "usage: guest-dtb --mem SIZE [--ram-base ADDR] [--cpus N] "
                    "[--initrd START+SIZE] [--args TEXT] --out FILE\n");
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    u64 ram_base = 0x40000000, mem = 0, cpus = 1, initrd_start = 0, initrd_size = 0;
    std::string args, out;
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        if (i + 1 >= argc) return usage();
        const std::string v = argv[++i];
        bool ok = true;
        if (k == "--mem")
            ok = parse_size(v, mem);
        else if (k == "--ram-base")
            ok = parse_size(v, ram_base);
        else if (k == "--cpus")
            ok = parse_size(v, cpus);
        else if (k == "--args")
            args = v;
        else if (k == "--out")
            out = v;
        else if (k == "--initrd") {
            const auto plus = v.find('+');
            ok = plus != std::string::npos && parse_size(v.substr(0, plus), initrd_start) &&
                 parse_size(v.substr(plus + 1), initrd_size);
        } else
            return usage();
        if (!ok) {
            fprintf(stderr, "guest-dtb: bad value for %s: %s\n", k.c_str(), v.c_str());
            return 2;
        }
    }
    if (mem == 0 || out.empty() || cpus == 0 || cpus > 8) return usage();
    const arm64::GuestDtbInfo info{ram_base,
                                   mem,
                                   static_cast<u32>(cpus),
                                   initrd_size ? initrd_start : 0,
                                   initrd_size ? initrd_start + initrd_size : 0,
                                   args.c_str()};
    alignas(8) static unsigned char buf[arm64::kLinuxDtbMax];
    if (arm64::build_guest_dtb(info, buf, sizeof buf) != Status::Ok) {
        fprintf(stderr, "guest-dtb: the device tree does not fit in %u bytes\n",
                static_cast<unsigned>(sizeof buf));
        return 1;
    }
    FILE* f = fopen(out.c_str(), "wb");
    const size_t n = fdt_totalsize(buf);
    if (!f || fwrite(buf, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "guest-dtb: cannot write %s: %s\n", out.c_str(), strerror(errno));
        return 1;
    }
    return 0;
}
