// The one owner of every VM (docs/architecture.md "VM layer"). Both clients, the
// boot-time `keel.vm=` definitions (boot_vms.hpp) and the controller mailbox
// (vm_control.hpp), go through the same calls; each call checks the one state machine
// (lifecycle.hpp) before it changes anything, and a call that fails changes nothing.
//
//   create  admission (cores present, not reserved, not owned; memory), pool memory
//           (zeroed), second stage built by the arch           Free -> Loading
//   load    bytes into the VM's RAM (from hypervisor memory or host-physical sources)
//   seal    the images are complete                             Loading -> Ready
//   start   the typed boot description; vCPU 0 runs              Ready -> Running
//   stop    polite (the power button) or forced                  Running -> Stopping
//   poll    reaps VMs whose last vCPU left: the one place a VM ends (second stage gone,
//           memory scrubbed and back in the pool, cores free)   -> Stopped
//   destroy scrubs what is left                                  Loading|Ready|Stopped -> Free
//
// Lock order, outermost first (written once, here): VmManager::lock_ -> pool lock
// (partitions.cpp) -> a VM's stage-2 lock (arm64 VmContext::stage2_lock) -> table-pool
// lock (mm/table_pool.hpp) -> console lock (print.cpp); arm64's EL2 table lock (mmu.cpp)
// is innermost.
// Every mutation runs under lock_, taken by the public calls; the private helpers take a
// `Held` token that only a held lock can produce, so the discipline is in the types.
// VM cores never take lock_: they only report (Vm::report_end, stats, console).
#pragma once

#include "hypervisor/platform.hpp"
#include "hypervisor/spinlock.hpp"
#include "hypervisor/update/handover.hpp"
#include "hypervisor/vm/vm.hpp"
#include "hypervisor/vm/vm_def.hpp"
#include "hypervisor/vm/vm_devices.hpp"

namespace keel {

// Told about every VM end once it has been reaped (the mailbox's audit log).
class VmObserver {
public:
    virtual void vm_ended(const Vm& vm) = 0;

protected:
    ~VmObserver() = default;
};

struct HostCores {
    u64 online = 0;   // enabled, online cores
    u64 reserved = 0; // the hypervisor's own (never given to a VM)
};

class VmManager {
public:
    // SMT topology (Platform::cpus[].core): VMs and the hypervisor own whole physical
    // cores (vm_def.hpp whole_cores). Set once at boot, before init(); kept by init().
    void set_topology(const Platform& platform);
    void init(HostCores cores);
    // Also the console of every VM that exists (a live update's adopted VMs).
    void set_console(ConsoleSink* sink);
    void set_observer(VmObserver* o) { observer_ = o; }
    // Assignable PCIe functions (SR-IOV VFs); none until set.
    void set_devices(VmDevices* d) { devices_ = d; }
    // A live update's incoming image: the devices it adopted, and each adopted VM's PCI view
    // from them (VmDevices::vm_adopted).
    void adopt_devices(VmDevices* d);

    // Free -> Loading. On a refusal `why` (if given) says which admission rule failed.
    [[nodiscard]] Status create(u32 id, u64 cpu_mask, u64 mem_bytes, VmDefError* why = nullptr);
    [[nodiscard]] Status load(u32 id, u64 offset, const void* bytes, u64 len);
    [[nodiscard]] Status load_host(u32 id, u64 offset, PhysAddr src, u64 len);
    [[nodiscard]] Status seal(u32 id);
    [[nodiscard]] Status start(u32 id, const GuestImage& image);
    [[nodiscard]] Status stop(u32 id, bool forced);
    [[nodiscard]] Status destroy(u32 id);
    // Live update's incoming image (docs/handover.md §4 step 4): VM `rec.id` as the outgoing
    // image ran it, from its Vm record: state, cores, first CPU, memory (which the adopted
    // pool already gives it: nothing is allocated) and name. The arch's part (second stage,
    // vCPUs) is not built here. OutOfRange: an id outside 1..kMaxVms; BadState: the slot is
    // in use or the state is not Loading..Stopped; InvalidArgument: no cores, the first CPU not
    // among them, a core another VM owns, RAM the pool does not give this VM whole, or RAM not
    // in 2 MiB blocks. Nothing changes on a refusal.
    [[nodiscard]] Status adopt(const update::VmRecord& rec);
    // Then its arch state from the whole record (arch::vm_adopt). On a refusal the VM is
    // forgotten again (slot free, cores unowned; its memory stays the pool's as adopted).
    [[nodiscard]] Status adopt_arch(u32 id, const update::HandoverView& r);
    // Gives / takes back PCIe function `rid` while the VM is created (Loading or Ready) or
    // running (hot-plug, docs/sriov.md "Hot-plug"; not once its end is reported); `why`
    // (required) a sriov::VfError value on a refusal (7: the VM's state).
    // A VM's functions are also taken back, reset and quarantined, when it ends or is
    // destroyed, before its memory returns to the pool.
    [[nodiscard]] Status attach_device(u32 id, u16 rid, u32* why) {
        return device_op(id, rid, why, true);
    }
    [[nodiscard]] Status detach_device(u32 id, u16 rid, u32* why) {
        return device_op(id, rid, why, false);
    }
    // Counts an IOMMU fault of a device VM `id` owns (VmStats::dma_faults).
    void count_dma_fault(u32 id, u32 n);
    // An MSI of a device VM `id` owns, aimed by the guest at virtual interrupt `intid`
    // (arch::kGuestMsiFirst..): raised if the VM runs. Boot core.
    void raise_msi(u32 id, u32 intid);
    // Reaps every VM whose end was reported; returns how many ended now.
    u32 poll();
    // Only the devices' part of poll (VmDevices::poll: IOMMU faults, MSIs to their owners),
    // for the boot core while it runs a vCPU itself (bench mode), where nothing is reaped.
    void poll_devices();

    // Queues console input for a running VM; returns the bytes taken.
    usize console_input(u32 id, const char* bytes, usize len);
    // Names the VM's definition in messages (keel.vm= text); kept until destroy.
    void set_label(u32 id, const char* text);
    void set_initial_input(u32 id, const char* text);

    [[nodiscard]] VmState state(u32 id) const;
    [[nodiscard]] const Vm* find(u32 id) const; // nullptr unless created (not Free)
    [[nodiscard]] u64 cores_owned() const { return cores_owned_; }
    [[nodiscard]] u64 cores_free() const {
        return cores_.online & ~whole_cores(cores_.reserved, siblings_) & ~cores_owned_;
    }
    [[nodiscard]] u32 live_count() const;
    // The CPUs the hypervisor keeps: its reserved core(s) with every SMT sibling.
    [[nodiscard]] u64 hypervisor_cpus() const { return whole_cores(cores_.reserved, siblings_); }
    // The NUMA node (Platform::mem_nodes) holding VM `id`'s memory, kNoNode where the
    // firmware described no nodes or the VM holds no memory.
    static constexpr u32 kNoNode = 0xffffffffu;
    [[nodiscard]] u32 mem_node(u32 id) const;

private:
    class Held {
        friend class VmManager;
        Held() = default;
    };
    [[nodiscard]] Vm* slot(u32 id);
    [[nodiscard]] Status apply(const Held&, Vm& vm, VmEvent e);
    // attach_device / detach_device: only while the VM is Loading, Ready or Running.
    [[nodiscard]] Status device_op(u32 id, u16 rid, u32* why, bool attach);
    // The VM `id` if it may take `len` bytes at `offset` now (Loading, inside its RAM).
    [[nodiscard]] Result<Vm*> loadable(const Held&, u32 id, u64 offset, u64 len);
    void end_vm(const Held&, Vm& vm);
    void release(const Held&, Vm& vm);
    static void capture_head(Vm& vm, u64 offset, const void* bytes, u64 len);

    mutable SpinLock lock_;
    HostCores cores_;
    u64 cores_owned_ = 0;
    u64 siblings_[kMaxSiblingCpus] = {};
    // NUMA (Platform::mem_nodes): a VM's memory comes from its lowest CPU's node when
    // that node has a free run big enough.
    u32 cpu_node_[kMaxSiblingCpus] = {};
    MemNode mem_nodes_[Platform::kMaxMem] = {};
    u32 mem_node_count_ = 0;
    ConsoleSink* console_ = nullptr;
    VmObserver* observer_ = nullptr;
    VmDevices* devices_ = nullptr;
    Vm vms_[Vm::kMaxVms];
};

// The image's one manager (function-local: the image walks no init_array).
VmManager& vm_manager();

} // namespace keel
