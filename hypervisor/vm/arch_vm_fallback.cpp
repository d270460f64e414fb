// Weak defaults for arches that do not partition yet (see arch_vm.hpp). A real
// implementation in arch/<arch>/ overrides every one of them at link time.
#include "hypervisor/vm/arch_vm.hpp"

namespace keel::arch {
namespace {
class NoScrubber final : public mm::Scrubber {
public:
    void zero(PhysAddr, u64) override {}
};
NoScrubber g_no_scrubber;
} // namespace

[[gnu::weak]] bool partitions_supported() { return false; }
[[gnu::weak]] u64 smp_start(const Platform&) { return 1; }
[[gnu::weak]] u32 boot_cpu_index() { return 0; }
[[gnu::weak]] mm::Scrubber& pool_scrubber() { return g_no_scrubber; }
[[gnu::weak]] Status vm_create(Vm&) { return Status::Unsupported; }
[[gnu::weak]] Status vm_start(Vm&) { return Status::Unsupported; }
[[gnu::weak]] void wait_for_event() {}
[[gnu::weak]] void send_event() {}
[[gnu::weak]] bool boot_core_runs_vcpus() { return false; }
[[gnu::weak]] void run_local_work() {}

[[gnu::weak]] Status vm_reserve_sources(const VmDef&) { return Status::Unsupported; }
[[gnu::weak]] usize vm_console_input(Vm&, const char*, usize) { return 0; }
} // namespace keel::arch
