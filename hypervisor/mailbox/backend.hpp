// What the mailbox service needs from the rest of the hypervisor to act on a VM. The
// service owns the lifecycle (state machine, names, expected hashes, sequencing); a
// backend only does the mechanics. The image uses hypervisor/vm/vm_control.cpp; host
// tests use a fake. Virtual calls here are a test seam, not dispatch on untrusted
// input: the opcode switch stays in service.cpp.
#pragma once

#include "crypto/sha2.hpp"
#include "hypervisor/mailbox/abi.hpp"
#include "hypervisor/mailbox/shared.hpp"
#include "hypervisor/status.hpp"

namespace keel::mailbox {

struct HostState {
    u64 cores_free_mask = 0;
    u64 pool_free_bytes = 0;
    u64 pool_baseline_bytes = 0;
};

class VmBackend {
public:
    // Reserves cores and zeroed memory for VM `id` (1..kMaxVms). Busy when a core is
    // owned or reserved, NotFound when a core does not exist, NoMemory when the pool
    // cannot supply the memory.
    virtual Status reserve(u32 id, u64 cpu_mask, u64 mem_bytes) = 0;
    // Copies bulk[bulk_offset, +length) into the VM's `kind` image at `image_offset`,
    // feeding exactly the bytes it stored into `hash` (copy first, hash the copy).
    virtual Status load(u32 id, ImageKind kind, u64 image_offset, const SharedRegion& bulk,
                        u64 bulk_offset, u64 length, crypto::Sha256& hash) = 0;
    // Sets the VM's boot state (kernel kind from its header, command line) and runs it.
    virtual Status start(u32 id, const char* cmdline) = 0;
    // Asks the guest to power off; `forced` ends it now.
    virtual Status stop(u32 id, bool forced) = 0;
    // Where VM `id` is in the one state machine (hypervisor/vm/lifecycle.hpp): the backend
    // (the VM manager) owns the state; the service keeps none of its own.
    virtual VmLifeState state(u32 id) = 0;
    // Every image arrived and matched its hash: Loading -> Ready.
    virtual Status seal(u32 id) = 0;
    // Scrubs the VM's memory and returns its cores (nothing left once it returns Ok).
    virtual Status release(u32 id) = 0;
    // One byte for the guest's UART receive side: Ok, Busy (its FIFO is full: the
    // service retries next poll), or Unsupported where the arch has no receive path.
    virtual Status console_input(u32 id, u8 byte) = 0;
    virtual void metrics(u32 id, VmMetrics& out) = 0;
    // Gives VM `id` (created, or running: a hot-add its guest sees) the VF at routing ID
    // `rid`, or takes it back (FLR, stream quarantined; from a running guest a surprise
    // removal). `why`: a sriov::VfError value on a refusal.
    virtual Status attach_vf(u32 id, u16 rid, u32* why) = 0;
    virtual Status detach_vf(u32 id, u16 rid, u32* why) = 0;
    // IOMMU faults of VM `id`'s VFs so far.
    virtual u32 dma_faults(u32 id) = 0;
    // The NUMA node of VM `id`'s memory, kNoNode without NUMA.
    virtual u32 mem_node(u32 id) = 0;
    // The platform as the VM manager partitions it (PLATFORM, docs/mailbox.md §3.8).
    virtual void platform(PlatformReply& out) = 0;
    virtual HostState host() = 0;
    virtual u64 now_ms() = 0;

protected:
    ~VmBackend() = default; // never deleted through the interface (no heap in the image)
};

} // namespace keel::mailbox
