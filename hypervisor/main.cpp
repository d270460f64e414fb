// The core's entry: called once on the boot CPU by the arch's boot path with the
// console working, the hypervisor's own page tables live and the boot info filled.
#include <arch/cpu.hpp>
#include <arch/features.hpp>
#include <arch/platform.hpp>

#include "crypto/selftest.hpp"
#include "hypervisor/boot_info.hpp"
#include "hypervisor/cmdline.hpp"
#include "hypervisor/panic.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/print.hpp"

namespace keel {
namespace {

Platform g_platform;

const char* source_name(BootSource s) {
    switch (s) {
    case BootSource::DirectArm64Image: return "arm64 Image (direct)";
    case BootSource::Multiboot1: return "multiboot1 (direct)";
    case BootSource::Multiboot2: return "multiboot2 (direct)";
    case BootSource::Uefi: return "uefi boot stage";
    }
    return "?";
}

void run_crypto_self_check() {
    crypto::SelfTestResult results[crypto::kSelfTestChecks];
    Status s = crypto::crypto_self_test(results);
    for (const crypto::SelfTestResult& r : results)
        kprint("crypto: %s %s\n", r.name, r.status == Status::Ok ? "ok" : status_name(r.status));
    if (s != Status::Ok) panic("crypto self-check failed: %s", status_name(s));
    kprint("crypto: self-check passed\n");
}

} // namespace

extern "C" [[noreturn]] void keel_main(BootInfo* info) {
    kprint("\nKeel hypervisor %s (%s)\n", KEEL_VERSION_STRING, arch::kArchName);
    if (info == nullptr || !info->valid()) panic("boot info missing or malformed");
    kprint("boot: source %s, image %#llx size %#llx, cmdline \"%s\"\n", source_name(info->source),
           static_cast<unsigned long long>(info->image_base),
           static_cast<unsigned long long>(info->image_size), info->cmdline);

    Status s = arch::discover_platform(*info, g_platform);
    if (s != Status::Ok) panic("platform discovery failed: %s", status_name(s));
    print_platform(g_platform);

    run_crypto_self_check();
    s = arch::report_features(g_platform);
    if (s != Status::Ok) panic("arch self-check failed: %s", status_name(s));

    Cmdline cmdline(info->cmdline);
    if (cmdline.value_is("keel.test", "fault")) {
        kprint("test: triggering a deliberate fault\n");
        arch::trigger_test_fault();
    }

    kprint("keel: first light complete\n");
    arch::power_off(0);
}

} // namespace keel
