// guest-x86-boot: lays out an x86 Linux VM's RAM as Keel's start path does (the same
// parse_bzimage, plan_linux, write_zero_page and build_guest_acpi the hypervisor runs:
// arch/x86_64/linux_boot.cpp, guest_acpi.cpp, virt/guest_platform.hpp), so bare QEMU can
// enter the same kernel with the same boot_params, command line, E820 map and ACPI tables
// (bench/x86_linux_boot.sh; docs/x86-linux.md).
//
//   guest-x86-boot --bzimage FILE --mem SIZE [--cpus N] [--initrd FILE] [--args TEXT]
//                  --out-dir DIR
// Writes DIR/low.bin (the first MiB of the VM's RAM at entry: the bzImage file's first MiB,
// as Keel loads the file at RAM offset 0, under the zero page, the command line and the
// ACPI tables; Keel's entry GDT and page tables are left out: a loader builds its own) and
// DIR/kernel.bin (the protected-mode kernel), and prints where each goes and the entry:
//   kernel 0x1000000
//   entry 0x1000200
//   initrd 0x800000
//   zero_page 0x7000
// The initrd goes at the first 2 MiB boundary past the file, as Keel puts it
// (hypervisor/vm/boot_vms.cpp initrd_offset). SIZE takes K/M/G suffixes. The command line
// is used as given (Keel adds tsc_early_khz= only when the line names none).
// Exit status: 0 written, 1 refused or failed, 2 usage.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "arch/x86_64/guest_acpi.hpp"
#include "arch/x86_64/linux_boot.hpp"
#include "arch/x86_64/virt/guest_platform.hpp"
#include "tools/common/size_arg.hpp"

using namespace keel;

namespace {

int usage() {
    fprintf(stderr, "usage: guest-x86-boot --bzimage FILE --mem SIZE [--cpus N] [--initrd FILE] "
                    "[--args TEXT] --out-dir DIR\n");
    return 2;
}

bool read_file(const std::string& path, std::vector<u8>& out) {
    FILE* f = fopen(path.c_str(), "rb");
    if (f == nullptr) return false;
    out.clear();
    u8 buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) != 0)
        out.insert(out.end(), buf, buf + n);
    const bool ok = ferror(f) == 0;
    fclose(f);
    return ok;
}

bool write_file(const std::string& path, const u8* data, size_t n) {
    FILE* f = fopen(path.c_str(), "wb");
    const bool ok = f != nullptr && fwrite(data, 1, n, f) == n;
    return f != nullptr && fclose(f) == 0 && ok;
}

} // namespace

int main(int argc, char** argv) {
    u64 mem = 0, cpus = 1;
    std::string bzimage, initrd, args, out_dir;
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        if (i + 1 >= argc) return usage();
        const std::string v = argv[++i];
        bool ok = true;
        if (k == "--bzimage")
            bzimage = v;
        else if (k == "--initrd")
            initrd = v;
        else if (k == "--mem")
            ok = tools::parse_size(v, mem);
        else if (k == "--cpus")
            ok = tools::parse_size(v, cpus);
        else if (k == "--args")
            args = v;
        else if (k == "--out-dir")
            out_dir = v;
        else
            return usage();
        if (!ok) {
            fprintf(stderr, "guest-x86-boot: bad value for %s: %s\n", k.c_str(), v.c_str());
            return 2;
        }
    }
    if (bzimage.empty() || out_dir.empty() || mem == 0 || cpus == 0 || cpus > x86::kMaxGuestCpus)
        return usage();
    std::vector<u8> file, rd;
    if (!read_file(bzimage, file) || (!initrd.empty() && !read_file(initrd, rd))) {
        fprintf(stderr, "guest-x86-boot: cannot read %s: %s\n",
                file.empty() ? bzimage.c_str() : initrd.c_str(), strerror(errno));
        return 1;
    }
    file.resize(file.size() < x86::kBzHeadBytes ? x86::kBzHeadBytes : file.size(), 0);
    const u64 file_bytes = x86::bzimage_file_bytes(file.data(), x86::kBzHeadBytes);
    x86::BzImage bz{};
    x86::LinuxLayout l{};
    x86::BzRefusal r = file_bytes == 0 || file_bytes > file.size()
                           ? x86::BzRefusal::NotBzImage
                           : x86::parse_bzimage(file.data(), x86::kBzHeadBytes, file_bytes, bz);
    const u64 initrd_offset = align_up(file_bytes, 2 * MiB);
    if (r == x86::BzRefusal::None)
        r = x86::plan_linux(bz, file_bytes, 0, mem, initrd_offset, rd.size(), args.size(), l);
    if (r == x86::BzRefusal::None && args.size() > bz.cmdline_max)
        r = x86::BzRefusal::CmdlineTooLong;
    if (r != x86::BzRefusal::None) {
        fprintf(stderr, "guest-x86-boot: %s: %s\n", bzimage.c_str(), x86::bz_refusal_text(r));
        return 1;
    }

    std::vector<u8> low(MiB, 0);
    memcpy(low.data(), file.data(), file_bytes < MiB ? file_bytes : MiB);
    u8 zp[4096];
    x86::write_zero_page(zp, file.data(), bz, l, 0, mem);
    memcpy(low.data() + l.zero_page, zp, sizeof zp);
    memcpy(low.data() + l.cmdline, args.c_str(), args.size() + 1);
    std::vector<u32> ids(cpus);
    for (u32 i = 0; i < cpus; ++i)
        ids[i] = i;
    const usize acpi =
        x86::build_guest_acpi(low.data() + l.acpi, x86::kAcpiBytes, l.acpi,
                              virt::linux_acpi_config(static_cast<u32>(cpus), ids.data()));
    if (acpi == 0 || l.acpi + x86::kAcpiBytes > MiB) {
        fprintf(stderr, "guest-x86-boot: the ACPI tables do not fit\n");
        return 1;
    }
    if (!write_file(out_dir + "/low.bin", low.data(), low.size()) ||
        !write_file(out_dir + "/kernel.bin", file.data() + bz.setup_bytes, bz.kernel_bytes)) {
        fprintf(stderr, "guest-x86-boot: cannot write to %s: %s\n", out_dir.c_str(),
                strerror(errno));
        return 1;
    }
    printf("kernel %#llx\nentry %#llx\ninitrd %#llx\nzero_page %#llx\n",
           static_cast<unsigned long long>(l.kernel), static_cast<unsigned long long>(l.entry),
           static_cast<unsigned long long>(l.initrd), static_cast<unsigned long long>(l.zero_page));
    return 0;
}
