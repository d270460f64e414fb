// The opcode switch: the state machine first (lifecycle.hpp, on the VM manager's state),
// then the backend (which applies the transition), then the record. A command that
// fails leaves the VM and its record as they were.
#include <string.h>

#include "drivers/sriov/vf_assign.hpp"
#include "hypervisor/mailbox/lifecycle.hpp"
#include "hypervisor/mailbox/service.hpp"
#include "hypervisor/print.hpp"

namespace keel::mailbox {

void Service::fill_info(u32 id, VmInfo& out) {
    const VmRecord& v = vms_[id - 1];
    const VmLifeState st = state(id);
    out.id = id;
    out.state = static_cast<u32>(st);
    memcpy(out.name, v.name, sizeof out.name);
    out.cpu_mask = v.cpu_mask;
    out.mem_bytes = v.mem_bytes;
    if (st == VmLifeState::Running || st == VmLifeState::Stopping)
        out.uptime_ms = backend_->now_ms() - v.started_ms;
    else if (st == VmLifeState::Stopped)
        out.uptime_ms = v.ended_ms - v.started_ms;
}

Status Service::dispatch(const Command& c, u8 (&reply)[kRespPayloadMax], u32* vm_for_log) {
    switch (c.op) {
    case Opcode::Ping: {
        PingReply p{};
        HostState hs = backend_->host();
        p.abi_version = kAbiVersion;
        for (u32 id = 1; id <= kMaxVms; ++id)
            p.vm_count += state(id) != VmLifeState::Free;
        p.cores_free_mask = hs.cores_free_mask;
        p.pool_free_bytes = hs.pool_free_bytes;
        p.pool_baseline_bytes = hs.pool_baseline_bytes;
        p.last_seq = sessions_.last_seq();
        memcpy(reply, &p, sizeof p);
        return Status::Ok;
    }
    case Opcode::CreateVm: return do_create(c, reply, vm_for_log);
    case Opcode::LoadImage: return do_load(c);
    case Opcode::Start: {
        VmRecord& v = vms_[c.vm_id - 1];
        KEEL_TRY(vm_transition(state(c.vm_id), VmEvent::Start).status());
        KEEL_TRY(backend_->start(c.vm_id, v.cmdline));
        v.started_ms = backend_->now_ms();
        v.started_at = picked_up_;
        v.output_seen = false;
        return Status::Ok;
    }
    case Opcode::Stop: return do_stop(c);
    case Opcode::Destroy: return do_destroy(c);
    case Opcode::List: {
        ListReply l{};
        for (u32 id = 1; id <= kMaxVms; ++id) {
            const VmRecord& v = vms_[id - 1];
            const VmLifeState st = state(id);
            if (st == VmLifeState::Free) continue;
            ListReply::Entry& e = l.vms[l.count++];
            e.id = id;
            e.state = static_cast<u32>(st);
            memcpy(e.name, v.name, sizeof e.name);
        }
        memcpy(reply, &l, sizeof l);
        return Status::Ok;
    }
    case Opcode::Describe:
    case Opcode::Metrics: {
        if (state(c.vm_id) == VmLifeState::Free) return Status::NotFound;
        MetricsReply m{};
        fill_info(c.vm_id, m.info);
        if (c.op == Opcode::Metrics) {
            backend_->metrics(c.vm_id, m.m);
            m.m.run_time_ms = m.info.uptime_ms;
        }
        m.mem_node = backend_->mem_node(c.vm_id);
        m.dma_faults = backend_->dma_faults(c.vm_id);
        memcpy(reply, &m, sizeof m);
        return Status::Ok;
    }
    case Opcode::Platform: {
        PlatformReply p{};
        backend_->platform(p);
        memcpy(reply, &p, sizeof p);
        return Status::Ok;
    }
    case Opcode::Hello: return Status::BadState; // handled before dispatch (service.cpp)
    case Opcode::Vfs: {
        VfsReply r{};
        const u32 n = vfs_ != nullptr ? vfs_->count() : 0;
        r.total = static_cast<u16>(n);
        for (u32 i = 0; i < n && r.count < kVfsMax; ++i) {
            const sriov::Vf& v = vfs_->at(i);
            VfsReply::Entry& e = r.vfs[r.count++];
            e.bus = v.bdf.bus, e.dev = v.bdf.dev, e.fn = v.bdf.fn;
            e.flags = v.provisioned ? 1 : 0;
            e.pf_rid = pci::routing_id(v.pf);
            e.controller = v.controller;
            e.owner = v.owner;
            e.bar0 = v.bar[0];
        }
        memcpy(reply, &r, sizeof r);
        return Status::Ok;
    }
    case Opcode::Update: return do_update(c, reply);
    case Opcode::AttachVf:
    case Opcode::DetachVf: return do_vf(c, reply);
    case Opcode::ConsoleWrite: {
        if (state(c.vm_id) != VmLifeState::Running) return Status::BadState;
        KEEL_TRY(console_.queue_in(c.vm_id, c.console.bytes, c.console.length));
        // Feed at once: an arch without a receive path answers Unsupported here
        // (the queue is dropped) instead of accepting bytes nothing will read.
        const Status s = console_.feed_in(c.vm_id, console_sink, this);
        return s == Status::Busy ? Status::Ok : s;
    }
    }
    return Status::Unsupported;
}

Status Service::do_create(const Command& c, u8 (&reply)[kRespPayloadMax], u32* vm_for_log) {
    const CreateVmPayload& p = c.create;
    u32 id = 0;
    for (u32 i = 1; i <= kMaxVms; ++i) {
        const VmRecord& v = vms_[i - 1];
        const bool free = state(i) == VmLifeState::Free;
        if (!free && memcmp(v.name, p.name, kNameMax) == 0) return Status::AlreadyExists;
        if (id == 0 && free) id = i;
    }
    if (id == 0) return Status::NoMemory; // every VM slot in use
    VmRecord& v = vms_[id - 1];
    KEEL_TRY(vm_transition(state(id), VmEvent::Create).status());
    KEEL_TRY(backend_->reserve(id, p.cpu_mask, p.mem_bytes));
    memcpy(v.name, p.name, kNameMax);
    v.cpu_mask = p.cpu_mask;
    v.mem_bytes = p.mem_bytes;
    v.size[0] = p.kernel_size, v.size[1] = p.initrd_size;
    v.loaded[0] = v.loaded[1] = 0;
    memcpy(v.expect[0], p.kernel_sha256, 32);
    memcpy(v.expect[1], p.initrd_sha256, 32);
    v.hash[0].init();
    v.hash[1].init();
    memcpy(v.cmdline, p.cmdline, kCmdlineMax);
    v.started_ms = v.ended_ms = 0;
    v.created_at = picked_up_;
    v.output_seen = false;
    v.end_logged = false;
    *vm_for_log = id;
    VmInfo info{};
    fill_info(id, info);
    memcpy(reply, &info, sizeof info);
    return Status::Ok;
}

// §3.11: the VM exists and is created or running (a running VM's guest sees a hot-plug; the
// manager checks its state again); every refusal has its reason in the reply and the audit
// record's detail.
Status Service::do_vf(const Command& c, u8 (&reply)[kRespPayloadMax]) {
    const bool attach = c.op == Opcode::AttachVf;
    const u16 rid = static_cast<u16>((c.vf.bus << 8) | (c.vf.dev << 3) | c.vf.fn);
    u32 why = 0;
    Status s = Status::NotFound;
    if (state(c.vm_id) == VmLifeState::Free)
        why = 7; // sriov::VfError::VmState
    else
        s = attach ? backend_->attach_vf(c.vm_id, rid, &why)
                   : backend_->detach_vf(c.vm_id, rid, &why);
    VfReply r{};
    r.reason = s == Status::Ok ? 0 : why;
    const char* text =
        s == Status::Ok ? "ok" : sriov::vf_error_text(static_cast<sriov::VfError>(why));
    format(r.message, sizeof r.message, "%s", text);
    const sriov::Vf* v = vfs_ != nullptr ? find_vf(rid) : nullptr;
    r.owner = v != nullptr ? v->owner : 0;
    r.guest_bar0 = v != nullptr && s == Status::Ok && attach ? v->guest_bar0 : 0;
    format(detail_, sizeof detail_, "%s %02x:%02x.%x: %s", attach ? "attach-vf" : "detach-vf",
           c.vf.bus, c.vf.dev, c.vf.fn, text);
    memcpy(reply, &r, sizeof r);
    return s;
}

const sriov::Vf* Service::find_vf(u16 rid) const {
    for (u32 i = 0; i < vfs_->count(); ++i)
        if (pci::routing_id(vfs_->at(i).bdf) == rid) return &vfs_->at(i);
    return nullptr;
}

Status Service::do_load(const Command& c) {
    VmRecord& v = vms_[c.vm_id - 1];
    const LoadImagePayload& l = c.load;
    const u32 k = l.kind;
    KEEL_TRY(vm_transition(state(c.vm_id), VmEvent::LoadChunk).status());
    // Chunks arrive in order, and never past the size CREATE_VM announced.
    if (l.image_offset != v.loaded[k] || l.length > v.size[k] - v.loaded[k])
        return Status::OutOfRange;
    SharedRegion bulk =
        region_; // the window is part of the same region; bounds were checked by decode
    KEEL_TRY(backend_->load(c.vm_id, static_cast<ImageKind>(k), l.image_offset, bulk,
                            kBulkOffset + l.bulk_offset, l.length, v.hash[k]));
    v.loaded[k] += l.length;
    if (v.loaded[0] != v.size[0] || v.loaded[1] != v.size[1]) return Status::Ok;
    // Everything announced has arrived: the hashes of what was copied decide.
    u8 got[2][32];
    v.hash[0].final(got[0]);
    v.hash[1].final(got[1]);
    bool match = memcmp(got[0], v.expect[0], 32) == 0;
    if (v.size[1] != 0) match = match && memcmp(got[1], v.expect[1], 32) == 0;
    if (!match) {
        // The VM keeps its resources in Loading; the controller DESTROYs it (or re-creates).
        v.loaded[0] = v.loaded[1] = 0;
        v.hash[0].init();
        v.hash[1].init();
        return Status::HashMismatch;
    }
    return backend_->seal(c.vm_id);
}

Status Service::do_stop(const Command& c) {
    VmRecord& v = vms_[c.vm_id - 1];
    KEEL_TRY(vm_transition(state(c.vm_id), VmEvent::Stop).status());
    const bool forced = c.stop.timeout_ms == 0;
    KEEL_TRY(backend_->stop(c.vm_id, forced));
    v.stop_deadline_ms = forced ? ~0ull : backend_->now_ms() + c.stop.timeout_ms;
    return Status::Ok;
}

Status Service::do_destroy(const Command& c) {
    VmRecord& v = vms_[c.vm_id - 1];
    KEEL_TRY(vm_transition(state(c.vm_id), VmEvent::Destroy).status());
    KEEL_TRY(backend_->release(c.vm_id));
    // Back to a free slot; nothing of the old VM (name, hashes, command line) survives.
    v.end_logged = false;
    memset(v.name, 0, sizeof v.name);
    memset(v.cmdline, 0, sizeof v.cmdline);
    memset(v.expect, 0, sizeof v.expect);
    v.cpu_mask = v.mem_bytes = 0;
    v.size[0] = v.size[1] = v.loaded[0] = v.loaded[1] = 0;
    v.started_ms = v.ended_ms = v.stop_deadline_ms = 0;
    v.hash[0].init();
    v.hash[1].init();
    return Status::Ok;
}

} // namespace keel::mailbox
