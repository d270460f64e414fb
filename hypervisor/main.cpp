// The core's entry: called once on the boot CPU by the arch's boot path with the
// console working, the hypervisor's own page tables live and the boot info filled.
#include <arch/cpu.hpp>
#include <arch/features.hpp>
#include <arch/platform.hpp>
#include <arch/smp.hpp>

#include "crypto/selftest.hpp"
#include "hypervisor/boot_info.hpp"
#include "hypervisor/cmdline.hpp"
#include "hypervisor/io/sriov_boot.hpp"
#include "hypervisor/mailbox/mailbox_main.hpp"
#include "hypervisor/panic.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/vm/boot_vms.hpp"
#include "hypervisor/vm/partitions.hpp"
#include "hypervisor/vm/vm_manager.hpp"

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

// What the UEFI boot stage verified and measured (docs/boot-info.md); nothing on direct boot.
void print_measurements(const BootInfo& info) {
    if (info.flags & BootInfo::kFlagMeasured) {
        kprint("boot: measured image sha384 ");
        kprint_hex(info.image_digest, sizeof(info.image_digest));
        kprint(", event log %#llx size %llu\n", static_cast<unsigned long long>(info.event_log),
               static_cast<unsigned long long>(info.event_log_size));
    }
    if (!(info.flags & BootInfo::kFlagVerified)) return;
    kprint("boot: verified by boot stage, tpm %s",
           (info.flags & BootInfo::kFlagTpm) ? "yes" : "no");
    if (info.flags & BootInfo::kFlagSecurityFloor)
        kprint(", security floor %u", info.security_floor); // what an update must meet
    kprint("\n");
}

// The known-answer self-check of the crypto Keel uses. It runs before the first use of
// any of it (the mailbox's attach), and where nothing needs crypto (boot-time VMs, first
// light) once the boot core is idle, so it never delays the first guest instruction
// (docs/performance.md "Boot"). Returns whether every check passed.
bool crypto_self_check() {
    crypto::SelfTestResult results[crypto::kSelfTestChecks];
    const Status s = crypto::crypto_self_test(results);
    for (const crypto::SelfTestResult& r : results)
        kprint("crypto: %s %s\n", r.name, r.status == Status::Ok ? "ok" : status_name(r.status));
    if (s == Status::Ok)
        kprint("crypto: self-check passed\n");
    else
        kprint("crypto: self-check FAILED (%s): nothing that needs crypto will run\n",
               status_name(s));
    return s == Status::Ok;
}

void crypto_self_check_when_idle() { (void)crypto_self_check(); }

} // namespace

extern "C" [[noreturn]] void keel_main(BootInfo* info) {
    kprint("\nKeel hypervisor %s (%s)\n", KEEL_VERSION_STRING, arch::kArchName);
    if (info == nullptr || !info->valid()) panic("boot info missing or malformed");
    kprint("boot: source %s, image %#llx size %#llx, cmdline \"%s\"\n", source_name(info->source),
           static_cast<unsigned long long>(info->image_base),
           static_cast<unsigned long long>(info->image_size), info->cmdline);
    print_measurements(*info);

    Status s = arch::discover_platform(*info, g_platform);
    if (s != Status::Ok) panic("platform discovery failed: %s", status_name(s));
    print_platform(g_platform);

    s = arch::report_features(g_platform);
    if (s != Status::Ok) panic("arch self-check failed: %s", status_name(s));

    Cmdline cmdline(info->cmdline);
    if (cmdline.value_is("keel.test", "fault")) {
        kprint("test: triggering a deliberate fault\n");
        arch::trigger_test_fault();
    }

    // Partitioning: every core online, the pool built (its free size is the baseline).
    const bool partitions = arch::partitions_supported();
    u64 cores = 0;
    if (partitions) {
        cores = arch::smp_start(g_platform);
        s = pool_init(*info, g_platform);
        if (s != Status::Ok) panic("partition pool: %s", status_name(s));
    }

    vm_manager().set_topology(g_platform);
    kprint("keel: first light complete\n");
    // SR-IOV PFs: VFs enabled and provisioned before anything else places a BAR (issue 13).
    // Served by the mailbox (no boot-time VMs), so live-updatable: the I/O region is taken.
    const bool boot_vms = vm_definition_count(info->cmdline) != 0;
    if (partitions) (void)sriov_bring_up(*info, g_platform, cmdline, !boot_vms); // says why
    // Boot-time VMs come from keel.vm= words.
    if (partitions && boot_vms) {
        run_boot_vms(info->cmdline, cores, arch::boot_cpu_index(), crypto_self_check_when_idle);
    } else if (partitions && mailbox_discover(*info, g_platform)) {
        // The controller mailbox (docs/mailbox.md): every command is verified with the
        // crypto, so it is checked first; the boot core then serves the controller forever.
        if (!crypto_self_check()) panic("mailbox: not attaching with failed crypto");
        mailbox_run(g_platform, cores, arch::boot_cpu_index(), cmdline.has("keel.bench"),
                    mailbox_session_limits(cmdline), info->cmdline);
    } else {
        (void)crypto_self_check();
    }
    arch::power_off(0);
}

} // namespace keel
