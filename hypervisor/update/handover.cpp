// The handover record's writer and parser (handover.hpp, docs/handover.md §2).
#include "hypervisor/update/handover.hpp"

#include <string.h>

#include "hypervisor/bytes.hpp"

namespace keel::update {
namespace {

// SHA-256 of [0, length) with the header's hash field taken as zero.
void record_hash(const u8* buf, u64 length, u8 (&out)[32]) {
    HandoverHeader h;
    memcpy(&h, buf, sizeof h);
    memset(h.sha256, 0, sizeof h.sha256);
    crypto::Sha256 sha;
    sha.init();
    sha.update(&h, sizeof h);
    sha.update(buf + sizeof h, static_cast<usize>(length - sizeof h));
    sha.final(out);
}

bool owner_ok(u32 owner) {
    return owner == kOwnerFree || owner == kOwnerHypervisor || owner <= kHandoverMaxVms;
}

// The VM slot (index into view.vms) of `vm_id`, or -1 when no Vm record named it yet.
int vm_slot(const HandoverView& v, u32 vm_id) {
    for (u32 i = 0; i < v.vm_count; ++i)
        if (v.vms[i]->id == vm_id) return static_cast<int>(i);
    return -1;
}

// A per-VM record of a type the VM has at most one of.
template <class T>
Status once(const T*& slot, const RecordRef& r) {
    if (slot != nullptr) return Status::Corrupt;
    slot = reinterpret_cast<const T*>(r.payload);
    return Status::Ok;
}

// A vCPU record of either arch into `list`: after its Vm record, an index below the VM's
// vcpu_count and not seen before for that VM, at most kHandoverMaxVcpus of them.
template <class R>
Status add_vcpu(const HandoverView& v, const R* c, const R* (&list)[kHandoverMaxVcpus], u32& n) {
    const int slot = vm_slot(v, c->vm_id);
    if (slot < 0 || c->index >= v.vms[slot]->vcpu_count || n == kHandoverMaxVcpus)
        return Status::Corrupt;
    for (u32 i = 0; i < n; ++i)
        if (list[i]->vm_id == c->vm_id && list[i]->index == c->index) return Status::Corrupt;
    list[n++] = c;
    return Status::Ok;
}

// One record into the view, with the rules of §2.3 that can be checked as records arrive.
Status take(HandoverView& v, const RecordRef& r, bool first) {
    if ((r.type == RecordType::OldImage) != first) return Status::Corrupt; // exactly once, first
    switch (r.type) {
    case RecordType::OldImage:
        v.old_image = reinterpret_cast<const OldImageRecord*>(r.payload);
        return old_image_consistent(*v.old_image) ? Status::Ok : Status::Corrupt;
    case RecordType::Mailbox:
        if (v.mailbox != nullptr) return Status::Corrupt;
        v.mailbox = reinterpret_cast<const MailboxRecord*>(r.payload);
        return Status::Ok;
    case RecordType::PoolRuns: {
        if (v.pool != nullptr || r.length < sizeof(PoolRunsHeader)) return Status::Corrupt;
        const auto* ph = reinterpret_cast<const PoolRunsHeader*>(r.payload);
        if (ph->reserved != 0 ||
            r.length != sizeof(PoolRunsHeader) + u64{ph->count} * sizeof(PoolRun))
            return Status::Corrupt;
        const auto* runs = reinterpret_cast<const PoolRun*>(r.payload + sizeof *ph);
        for (u32 i = 0; i < ph->count; ++i)
            if (runs[i].reserved != 0 || !owner_ok(runs[i].owner) || runs[i].size == 0)
                return Status::Corrupt;
        v.pool = ph;
        v.pool_runs = runs;
        return Status::Ok;
    }
    case RecordType::Vm: {
        const auto* vm = reinterpret_cast<const VmRecord*>(r.payload);
        if (vm->id == 0 || vm->id > kHandoverMaxVms || vm_slot(v, vm->id) >= 0 ||
            v.vm_count == kHandoverMaxVms || vm->vcpu_count == 0 ||
            vm->vcpu_count > kHandoverMaxVcpus)
            return Status::Corrupt;
        v.vms[v.vm_count++] = vm;
        return Status::Ok;
    }
    case RecordType::Io: {
        const auto* io = reinterpret_cast<const IoRecord*>(r.payload);
        if (v.io != nullptr || io->vf_count > kHandoverMaxVfs ||
            io->msi_devices > kHandoverMaxMsiDevices || io->layout_bytes == 0 ||
            io->region_size < io->layout_bytes || io->region_base % 4096 != 0)
            return Status::Corrupt;
        for (const IoMsiDevice& d : io->msi_map) // a slot unused: all zero
            if (d.events > 8 || d.reserved != 0 || (d.events == 0 && (d.device_id | d.first) != 0))
                return Status::Corrupt;
        v.io = io;
        return Status::Ok;
    }
    case RecordType::Vf: {
        const auto* f = reinterpret_cast<const VfRecord*>(r.payload);
        // After the Io record that counts it; its owner 0 or a VM recorded before it.
        if (v.io == nullptr || v.vf_count == v.io->vf_count || (f->flags & ~kVfProvisioned) != 0 ||
            (f->owner != 0 && vm_slot(v, f->owner) < 0))
            return Status::Corrupt;
        for (u32 i = 0; i < v.vf_count; ++i)
            if (v.vfs[i]->rid == f->rid) return Status::Corrupt;
        v.vfs[v.vf_count++] = f;
        return Status::Ok;
    }
    case RecordType::X86Devices: {
        const auto* d = reinterpret_cast<const X86DevicesRecord*>(r.payload);
        const int slot = vm_slot(v, d->vm_id);
        if (slot < 0 || d->reserved != 0 || d->uart_bytes > sizeof d->uart ||
            d->ioapic_bytes > sizeof d->ioapic || d->pit_bytes > sizeof d->pit ||
            d->rtc_bytes > sizeof d->rtc || d->rx_head >= sizeof d->rx_queue ||
            d->rx_count > sizeof d->rx_queue)
            return Status::Corrupt;
        return once(v.x86_devices[slot], r);
    }
    case RecordType::VcpuX86: {
        const auto* c = reinterpret_cast<const VcpuX86Record*>(r.payload);
        if (c->lapic_bytes > sizeof c->lapic) return Status::Corrupt;
        return add_vcpu(v, c, v.x86_vcpus, v.x86_vcpu_count);
    }
    case RecordType::X86Clock: {
        const auto* c = reinterpret_cast<const X86ClockRecord*>(r.payload);
        if (c->reserved != 0 || c->tsc_source > kX86TscSourceMax ||
            (c->tsc_hz == 0 && (c->tsc_source != 0 || c->timer_per_tsc_q32 != 0)))
            return Status::Corrupt;
        return once(v.x86_clock, r);
    }
    case RecordType::VmPci:
    case RecordType::Stage2:
    case RecordType::VgicDist:
    case RecordType::VmDevices:
    case RecordType::MailboxVm:
    case RecordType::Console: {
        // Every per-VM type starts with its vm_id (u32).
        u32 id;
        memcpy(&id, r.payload, sizeof id);
        const int slot = vm_slot(v, id);
        if (slot < 0) return Status::Corrupt; // after its Vm record
        const u32 i = static_cast<u32>(slot);
        if (r.type == RecordType::Stage2) return once(v.stage2[i], r);
        if (r.type == RecordType::VgicDist) return once(v.vgic_dist[i], r);
        if (r.type == RecordType::VmPci)
            return v.io == nullptr ? Status::Corrupt : once(v.vm_pci[i], r);
        if (r.type == RecordType::VmDevices) {
            const auto* d = reinterpret_cast<const VmDevicesRecord*>(r.payload);
            if (d->uart_rx_count > sizeof d->uart_rx || d->uart_line_len > sizeof d->uart_line)
                return Status::Corrupt;
            return once(v.vm_devices[i], r);
        }
        if (r.type == RecordType::MailboxVm) {
            const auto* m = reinterpret_cast<const MailboxVmRecord*>(r.payload);
            if (m->cmdline[sizeof m->cmdline - 1] != '\0') return Status::Corrupt;
            return once(v.mailbox_vm[i], r);
        }
        const auto* c = reinterpret_cast<const ConsoleRecord*>(r.payload);
        if (v.console[i] != nullptr || c->in_len > sizeof c->in_queue) return Status::Corrupt;
        v.console[i] = c;
        return Status::Ok;
    }
    case RecordType::Vcpu: {
        const auto* c = reinterpret_cast<const VcpuRecord*>(r.payload);
        if (c->lr_count > 16) return Status::Corrupt;
        return add_vcpu(v, c, v.vcpus, v.vcpu_count);
    }
    }
    return Status::Corrupt;
}

// The rules of §2.3 that need the whole set.
Status complete(const HandoverView& v) {
    if (v.old_image == nullptr || v.mailbox == nullptr || v.pool == nullptr ||
        (v.io != nullptr && v.vf_count != v.io->vf_count))
        return Status::Corrupt;
    for (u32 i = 0; i < v.vm_count; ++i) {
        if (v.stage2[i] == nullptr || v.console[i] == nullptr || v.mailbox_vm[i] == nullptr ||
            (v.io != nullptr) != (v.vm_pci[i] != nullptr))
            return Status::Corrupt;
        // Either arch's set, never a mix: arm64 VgicDist, VmDevices and Vcpu records, or
        // x86_64 X86Devices and VcpuX86 records (ABI 7).
        const u32 id = v.vms[i]->id;
        u32 n = 0, x = 0;
        for (u32 c = 0; c < v.vcpu_count; ++c)
            n += v.vcpus[c]->vm_id == id;
        for (u32 c = 0; c < v.x86_vcpu_count; ++c)
            x += v.x86_vcpus[c]->vm_id == id;
        const bool arm64 = v.vgic_dist[i] != nullptr && v.vm_devices[i] != nullptr &&
                           v.x86_devices[i] == nullptr && n == v.vms[i]->vcpu_count && x == 0;
        const bool x86 = v.x86_devices[i] != nullptr && v.vgic_dist[i] == nullptr &&
                         v.vm_devices[i] == nullptr && x == v.vms[i]->vcpu_count && n == 0;
        if (!arm64 && !x86) return Status::Corrupt;
        if (arm64 && v.x86_clock != nullptr) return Status::Corrupt; // x86_64's alone
    }
    return Status::Ok;
}

Status walk(const u8* buf, const HandoverHeader& h, HandoverView& v) {
    u64 off = sizeof h;
    for (u32 i = 0; i < h.record_count; ++i) {
        if (h.length - off < sizeof(RecordHeader)) return Status::Corrupt;
        RecordHeader rh;
        memcpy(&rh, buf + off, sizeof rh);
        off += sizeof rh;
        if (rh.type == 0 || rh.type > kRecordTypeMax || rh.version != kRecordVersion ||
            rh.reserved != 0 || rh.length % 8 != 0 || rh.length > kMaxRecordBytes ||
            rh.length > h.length - off)
            return Status::Corrupt;
        const RecordType t = static_cast<RecordType>(rh.type);
        if ((record_size(t) != 0 && rh.length != record_size(t)) || record_since(t) > h.abi_version)
            return Status::Corrupt;
        KEEL_TRY(take(v, RecordRef{t, buf + off, rh.length}, i == 0));
        off += rh.length;
    }
    return off == h.length ? complete(v) : Status::Corrupt;
}

} // namespace

HandoverWriter::HandoverWriter(u8* buf, usize size, u64 update_counter, u32 abi)
    : buf_(buf), size_(size), used_(sizeof(HandoverHeader)), abi_(abi) {
    if (buf_ == nullptr || size_ < sizeof(HandoverHeader) || (reinterpret_cast<uptr>(buf) & 7) ||
        abi < kHandoverAbiMin || abi > kHandoverAbi) {
        error_ = Status::InvalidArgument;
        return;
    }
    HandoverHeader h{};
    h.magic = kHandoverMagic;
    h.abi_version = abi;
    h.header_size = sizeof h;
    h.update_counter = update_counter;
    memcpy(buf_, &h, sizeof h);
}

Status HandoverWriter::add(RecordType type, const void* payload, u32 len) {
    if (error_ != Status::Ok) return error_;
    const u32 fixed = record_size(type);
    if (len % 8 != 0 || len > kMaxRecordBytes || (fixed != 0 && len != fixed) ||
        (payload == nullptr && len != 0) || record_since(type) > abi_)
        return Status::InvalidArgument;
    if (size_ - used_ < sizeof(RecordHeader) + u64{len}) return error_ = Status::NoMemory;
    const RecordHeader rh{static_cast<u32>(type), kRecordVersion, len, 0};
    memcpy(buf_ + used_, &rh, sizeof rh);
    if (len != 0) memcpy(buf_ + used_ + sizeof rh, payload, len);
    used_ += sizeof rh + len;
    ++count_;
    return Status::Ok;
}

Status HandoverWriter::add_pool(const PoolRun* runs, u32 count) {
    if (error_ != Status::Ok) return error_;
    const u64 len = sizeof(PoolRunsHeader) + u64{count} * sizeof(PoolRun);
    if (len > kMaxRecordBytes) return Status::InvalidArgument;
    if (size_ - used_ < sizeof(RecordHeader) + len) return error_ = Status::NoMemory;
    const RecordHeader rh{static_cast<u32>(RecordType::PoolRuns), kRecordVersion,
                          static_cast<u32>(len), 0};
    const PoolRunsHeader ph{count, 0};
    u8* p = buf_ + used_;
    memcpy(p, &rh, sizeof rh);
    memcpy(p + sizeof rh, &ph, sizeof ph);
    if (count != 0) memcpy(p + sizeof rh + sizeof ph, runs, count * sizeof(PoolRun));
    used_ += sizeof rh + len;
    ++count_;
    return Status::Ok;
}

Result<u64> HandoverWriter::seal() {
    if (error_ != Status::Ok) return error_;
    HandoverHeader h;
    memcpy(&h, buf_, sizeof h);
    h.length = used_;
    h.record_count = count_;
    memset(h.sha256, 0, sizeof h.sha256);
    memcpy(buf_, &h, sizeof h);
    record_hash(buf_, used_, h.sha256);
    memcpy(buf_ + __builtin_offsetof(HandoverHeader, sha256), h.sha256, sizeof h.sha256);
    return used_;
}

// §2.3: the version string ends inside its field; the pristine copy and what it restores
// lie inside the span, apart; only known flags.
bool old_image_consistent(const OldImageRecord& o) {
    if (o.version[sizeof o.version - 1] != '\0' || (o.flags & ~kOldImageRollback) != 0 ||
        o.reserved != 0 || o.cmdline[sizeof o.cmdline - 1] != '\0')
        return false;
    if (o.restore_size == 0) return o.restore_offset == 0 && o.restore_copy == 0;
    auto within = [&](u64 off) { return off <= o.span && o.span - off >= o.restore_size; };
    return within(o.restore_offset) && within(o.restore_copy) &&
           (o.restore_offset + o.restore_size <= o.restore_copy ||
            o.restore_copy + o.restore_size <= o.restore_offset);
}

Status parse_handover(const u8* buf, usize len, u32 abi_min, u32 abi_max, HandoverView& out,
                      Digest digest) {
    out = HandoverView{};
    if (buf == nullptr || (reinterpret_cast<uptr>(buf) & 7)) return Status::InvalidArgument;
    if (len < sizeof(HandoverHeader)) return Status::Truncated;
    HandoverHeader h;
    memcpy(&h, buf, sizeof h);
    if (h.magic != kHandoverMagic || h.header_size != sizeof h) return Status::Corrupt;
    if (h.abi_version < abi_min || h.abi_version > abi_max) return Status::Unsupported;
    if (h.flags != 0 || !all_zero(h.reserved, sizeof h.reserved) || h.length < sizeof h)
        return Status::Corrupt;
    if (h.length > len) return Status::Truncated;
    if (digest == Digest::Check) {
        u8 sum[32];
        record_hash(buf, h.length, sum);
        if (memcmp(sum, h.sha256, sizeof sum) != 0) return Status::Corrupt;
    }
    HandoverView v;
    v.header = h;
    KEEL_TRY(walk(buf, h, v));
    out = v;
    return Status::Ok;
}

} // namespace keel::update
