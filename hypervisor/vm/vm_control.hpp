// The controller mailbox's client of the VM manager (docs/vm-lifecycle.md): the image's
// mailbox::VmBackend, a thin adapter. Images arrive through the bulk window, are copied
// once into a staging buffer, hashed there, and stored into the VM through the manager;
// the kernel's kind comes from the header bytes captured as they were loaded.
// Runs on the boot core only.
#pragma once

#include "hypervisor/mailbox/backend.hpp"
#include "hypervisor/vm/vm_manager.hpp"

namespace keel {

class VmControl final : public mailbox::VmBackend {
public:
    VmControl(VmManager& m, const Platform& platform) : m_(m), platform_(platform) {}
    Status reserve(u32 id, u64 cpu_mask, u64 mem_bytes) override;
    Status load(u32 id, mailbox::ImageKind kind, u64 image_offset,
                const mailbox::SharedRegion& bulk, u64 bulk_offset, u64 length,
                crypto::Sha256& hash) override;
    Status start(u32 id, const char* cmdline) override;
    Status stop(u32 id, bool forced) override;
    mailbox::VmLifeState state(u32 id) override;
    Status seal(u32 id) override;
    Status release(u32 id) override;
    Status console_input(u32 id, u8 byte) override;
    void metrics(u32 id, mailbox::VmMetrics& out) override;
    u32 mem_node(u32 id) override { return m_.mem_node(id); }
    Status attach_vf(u32 id, u16 rid, u32* why) override;
    Status detach_vf(u32 id, u16 rid, u32* why) override;
    u32 dma_faults(u32 id) override;
    void platform(mailbox::PlatformReply& out) override;
    mailbox::HostState host() override;
    u64 now_ms() override;

private:
    VmManager& m_;
    const Platform& platform_;
    u64 loaded_[Vm::kMaxVms][2] = {}; // bytes loaded per image kind (kernel, initrd)
};

} // namespace keel
