// The mailbox service on a live update's incoming image (docs/handover.md §2.2 Mailbox and
// Console, §4 step 4): it continues what the outgoing image ran instead of attaching anew.
#include <string.h>

#include "hypervisor/mailbox/service.hpp"
#include "hypervisor/print.hpp"

namespace keel::mailbox {

static_assert(sizeof VmRecord{}.name == sizeof update::MailboxVmRecord{}.name &&
                  sizeof VmRecord{}.cmdline == sizeof update::MailboxVmRecord{}.cmdline,
              "docs/handover.md §2.2 MailboxVm");

namespace {
// The u64 fields a VmRecord and the MailboxVm record share, pairwise.
constexpr u64 update::MailboxVmRecord::*kRecordU64[] = {
    &update::MailboxVmRecord::cpu_mask, &update::MailboxVmRecord::mem_bytes,
    &update::MailboxVmRecord::started_ms, &update::MailboxVmRecord::ended_ms,
    &update::MailboxVmRecord::stop_deadline_ms};
constexpr u64 VmRecord::*kVmU64[] = {&VmRecord::cpu_mask, &VmRecord::mem_bytes,
                                     &VmRecord::started_ms, &VmRecord::ended_ms,
                                     &VmRecord::stop_deadline_ms};
constexpr usize kU64Fields = sizeof kVmU64 / sizeof *kVmU64;
static_assert(sizeof kRecordU64 / sizeof *kRecordU64 == kU64Fields);
} // namespace

update::MailboxVmRecord Service::mailbox_vm_record(u32 id) const {
    const VmRecord& v = vms_[id - 1];
    update::MailboxVmRecord r{};
    r.vm_id = id;
    r.flags = (v.output_seen ? 1u : 0u) | (v.end_logged ? 2u : 0u);
    memcpy(r.name, v.name, sizeof r.name);
    for (usize i = 0; i < kU64Fields; ++i)
        r.*kRecordU64[i] = v.*kVmU64[i];
    memcpy(r.cmdline, v.cmdline, sizeof r.cmdline - 1); // the last byte stays NUL
    return r;
}

void Service::adopt_vm_record(const update::MailboxVmRecord& r) {
    VmRecord& v = vms_[r.vm_id - 1]; // a fresh service's: loads and hashes not carried
    memcpy(v.name, r.name, sizeof v.name);
    for (usize i = 0; i < kU64Fields; ++i)
        v.*kVmU64[i] = r.*kRecordU64[i];
    memcpy(v.cmdline, r.cmdline, sizeof v.cmdline); // NUL-terminated: the parser checked
    v.output_seen = (r.flags & 1) != 0;
    v.end_logged = (r.flags & 2) != 0;
}

Status Service::adopt(SharedRegion region, VmBackend& backend,
                      const u8 (&pubkey)[crypto::kP384PublicKeySize], const entropy::Seed& seed,
                      SessionLimits limits, const update::HandoverView& record, const char* version,
                      u64 blackout_ns, u64 commit_ms) {
    if (record.mailbox == nullptr) return Status::InvalidArgument;
    const update::MailboxRecord& m = *record.mailbox;
    if (region.size() < kMinRegionSize || m.region_size != region.size() ||
        m.region_base != region.address() || m.active_session == 0)
        return Status::InvalidArgument;
    for (u32 i = 0; i < record.vm_count; ++i)
        if (record.mailbox_vm[i] == nullptr || record.mailbox_vm[i]->vm_id == 0 ||
            record.mailbox_vm[i]->vm_id > kMaxVms || record.console[i]->vm_id == 0 ||
            record.console[i]->vm_id > kMaxVms || record.console[i]->in_len > kConsoleInBytes ||
            record.console[i]->out_published > record.console[i]->out_count)
            return Status::InvalidArgument;
    SessionHandover h;
    for_each_session_field(m, h, [](const auto& rec, auto& s) { s = rec; });
    static_assert(sizeof h.keys == sizeof m.session_keys, "docs/handover.md §2.2 Mailbox");
    memcpy(&h.keys, m.session_keys, sizeof h.keys);
    memcpy(nonce_, m.boot_nonce, sizeof nonce_);
    Status s = sessions_.init(pubkey, seed, nonce_, limits);
    if (s == Status::Ok) s = sessions_.adopt_session(h);
    memset(&h.keys, 0, sizeof h.keys);
    if (s != Status::Ok) return s == Status::InvalidArgument ? s : Status::InvalidArgument;

    // Checked: from here the service is the outgoing image's, continued.
    region_ = region;
    backend_ = &backend;
    bulk_ = SharedRegion(nullptr, 0);
    burst_ = Burst{};
    // The Apply's own slot, consumed once it is answered below; a rollback's next command.
    cmd_cons_ = m.cmd_cons;
    resp_prod_ = m.resp_prod;
    for (u32 i = 0; i < record.vm_count; ++i) {
        (void)console_.adopt(*record.console[i]); // checked above
        adopt_vm_record(*record.mailbox_vm[i]);
    }
    audit_.adopt(&region_, m.audit_head, m.audit_next_index, m.log_prod, m.unlogged);
    audit_.set_mac_key(sessions_.log_key());
    update_.counter = record.header.update_counter;
    sessions_.publish(region_); // the new offer; the session and floor as they were
    // A rollback (§4.7): nothing waits for an answer; its record is in the chain already.
    if ((record.old_image->flags & update::kOldImageRollback) != 0) return Status::Ok;

    // The Apply the outgoing image was answering when it entered this one.
    format(detail_, sizeof detail_, "update adopted: %s", version);
    audit_.append(AuditKind::Command, backend_->now_ms(), m.seq_floor,
                  static_cast<u32>(Opcode::Update), Status::Ok, 0, detail_);
    UpdateReply out{};
    format(out.version, sizeof out.version, "%s", version);
    const usize n = format(out.message, sizeof out.message,
                           "adopted: %u VMs, %u vCPUs, update %llu; vCPUs back in %llu ns",
                           record.vm_count, record.vcpu_count + record.x86_vcpu_count,
                           static_cast<unsigned long long>(record.header.update_counter),
                           static_cast<unsigned long long>(blackout_ns));
    if (commit_ms != 0 && n < sizeof out.message)
        format(out.message + n, sizeof out.message - n, "; commit within %llu ms",
               static_cast<unsigned long long>(commit_ms));
    u8 reply[kRespPayloadMax] = {};
    static_assert(sizeof out <= sizeof reply);
    memcpy(reply, &out, sizeof out);
    respond(m.seq_floor, static_cast<u16>(Opcode::Update), Status::Ok, reply, true);
    consume_command();
    detail_[0] = '\0';
    return Status::Ok;
}

void Service::update_committed(const char* detail) {
    if (backend_ == nullptr) return;
    audit_.append(AuditKind::Boot, backend_->now_ms(), 0, static_cast<u32>(Opcode::Update),
                  Status::Ok, 0, detail);
}

} // namespace keel::mailbox
