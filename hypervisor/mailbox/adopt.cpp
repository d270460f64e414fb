// The mailbox service on a live update's incoming image (docs/handover.md §2.2 Mailbox and
// Console, §4 step 4): it continues what the outgoing image ran instead of attaching anew.
#include <string.h>

#include "hypervisor/mailbox/service.hpp"
#include "hypervisor/print.hpp"

namespace keel::mailbox {

Status Service::adopt(SharedRegion region, VmBackend& backend,
                      const u8 (&pubkey)[crypto::kP384PublicKeySize], const entropy::Seed& seed,
                      SessionLimits limits, const update::HandoverView& record,
                      const char* version) {
    if (record.mailbox == nullptr) return Status::InvalidArgument;
    const update::MailboxRecord& m = *record.mailbox;
    if (region.size() < kMinRegionSize || m.region_size != region.size() ||
        m.region_base != region.address() || m.active_session == 0)
        return Status::InvalidArgument;
    for (u32 i = 0; i < record.vm_count; ++i)
        if (record.console[i]->vm_id == 0 || record.console[i]->vm_id > kMaxVms ||
            record.console[i]->in_len > kConsoleInBytes ||
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
    cmd_cons_ = m.cmd_cons; // the Apply's own slot: consumed once it is answered, below
    resp_prod_ = m.resp_prod;
    for (u32 i = 0; i < record.vm_count; ++i)
        (void)console_.adopt(*record.console[i]); // checked above
    audit_.adopt(&region_, m.audit_head, m.audit_next_index, m.log_prod, m.unlogged);
    audit_.set_mac_key(sessions_.log_key());
    update_.counter = record.header.update_counter;
    sessions_.publish(region_); // the new offer; the session and floor as they were

    // The Apply the outgoing image was answering when it entered this one.
    format(detail_, sizeof detail_, "update adopted: %s", version);
    audit_.append(AuditKind::Command, backend_->now_ms(), m.seq_floor,
                  static_cast<u32>(Opcode::Update), Status::Ok, 0, detail_);
    UpdateReply out{};
    format(out.version, sizeof out.version, "%s", version);
    format(out.message, sizeof out.message, "adopted: %u VMs, %u vCPUs, update %llu",
           record.vm_count, record.vcpu_count,
           static_cast<unsigned long long>(record.header.update_counter));
    u8 reply[kRespPayloadMax] = {};
    static_assert(sizeof out <= sizeof reply);
    memcpy(reply, &out, sizeof out);
    respond(m.seq_floor, static_cast<u16>(Opcode::Update), Status::Ok, reply, true);
    consume_command();
    detail_[0] = '\0';
    return Status::Ok;
}

} // namespace keel::mailbox
