// The VM lifecycle API the controller mailbox drives (docs/vm-lifecycle.md): the image's
// mailbox::VmBackend. Reserves cores and pool memory, loads images through the arch,
// starts, stops and releases VMs. Runs on the boot core only.
#pragma once

#include "hypervisor/mailbox/backend.hpp"
#include "hypervisor/vm/vm.hpp"

namespace keel {

class VmControl final : public mailbox::VmBackend {
public:
    void init(u64 cores_online, u32 boot_cpu);
    Status reserve(u32 id, u64 cpu_mask, u64 mem_bytes) override;
    Status load(u32 id, mailbox::ImageKind kind, u64 image_offset,
                const mailbox::SharedRegion& bulk, u64 bulk_offset, u64 length,
                crypto::Sha256& hash) override;
    Status start(u32 id, const char* cmdline) override;
    Status stop(u32 id, bool forced) override;
    bool ended(u32 id) override;
    Status release(u32 id) override;
    Status console_input(u32 id, u8 byte) override;
    void metrics(u32 id, mailbox::VmMetrics& out) override;
    mailbox::HostState host() override;
    u64 now_ms() override;

private:
    u64 cores_online_ = 0;
    u32 boot_cpu_ = 0;
    u64 cores_owned_ = 0;
    bool live_[mailbox::kMaxVms] = {};     // holds cores + memory (created, not yet released)
    u64 loaded_[mailbox::kMaxVms][2] = {}; // bytes loaded per image kind (kernel, initrd)
};

// The Vm behind mailbox VM `id` while it holds resources (created, not yet destroyed);
// nullptr otherwise. For the arch's console-input hook (arch_mailbox.hpp).
Vm* controlled_vm(u32 id);

} // namespace keel
