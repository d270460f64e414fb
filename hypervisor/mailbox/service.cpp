#include "hypervisor/mailbox/service.hpp"

#include <string.h>

#include "hypervisor/mailbox/lifecycle.hpp"
#include "hypervisor/mailbox/ring.hpp"
#include "hypervisor/print.hpp"

namespace keel::mailbox {
namespace {

constexpr u64 field(u64 off) { return kHeaderOffset + off; }
constexpr u64 kCmdProd = field(__builtin_offsetof(Header, cmd_prod));
constexpr u64 kCmdCons = field(__builtin_offsetof(Header, cmd_cons));
constexpr u64 kRespProd = field(__builtin_offsetof(Header, resp_prod));
constexpr u64 kRespCons = field(__builtin_offsetof(Header, resp_cons));
constexpr u64 kState = field(__builtin_offsetof(Header, state));

} // namespace

Status Service::attach(SharedRegion region, VmBackend& backend,
                       const u8 (&pubkey)[crypto::kP384PublicKeySize], const entropy::Seed& seed,
                       SessionLimits limits) {
    if (region.size() < kMinRegionSize) return Status::OutOfRange;
    region_ = region;
    backend_ = &backend;
    KEEL_TRY(entropy::expand(seed, "keel mailbox nonce", 0, nonce_, sizeof nonce_));
    KEEL_TRY(sessions_.init(pubkey, seed, nonce_, limits));
    burst_ = Burst{};
    // Everything Keel owns starts zeroed; the controller's half is left as it is.
    static constexpr u8 kZero[256] = {};
    for (u64 off = kCmdRingOffset; off < kBulkOffset; off += sizeof kZero)
        if (off >= kRespRingOffset) KEEL_TRY(region_.copy_out(off, kZero, sizeof kZero));
    Header h{};
    h.magic = kMagic;
    h.abi_version = kAbiVersion;
    h.features = kFeatureEcdsaP384 | kFeatureChunkedLoad | kFeatureSessions | kFeatureVfAssign;
    memcpy(h.nonce, nonce_, sizeof h.nonce);
    h.cmd_slots = kCmdSlots, h.cmd_slot_size = sizeof(CommandSlot);
    h.resp_slots = kRespSlots, h.resp_slot_size = sizeof(ResponseSlot);
    h.log_slots = kLogSlots, h.log_record_size = sizeof(AuditRecord);
    h.max_vms = kMaxVms, h.console_out_bytes = kConsoleOutBytes;
    h.bulk_offset = kBulkOffset;
    h.bulk_size = region.size() - kBulkOffset;
    h.region_size = region.size();
    // The hypervisor half only (bytes [0, cmd_prod)); cmd_cons starts where the
    // controller's producer is, so stale commands from an earlier boot are skipped.
    cmd_cons_ = region_.read32(kCmdProd);
    h.cmd_cons = cmd_cons_;
    resp_prod_ = region_.read32(kRespCons);
    h.resp_prod = resp_prod_;
    KEEL_TRY(region_.copy_out(0, &h, __builtin_offsetof(Header, cmd_prod)));
    sessions_.publish(region_);
    bulk_ = SharedRegion(nullptr, 0);
    audit_.init(&region_, nonce_);
    audit_.set_mac_key(nullptr); // no session yet: the first Session record anchors these
    region_.write32(field(__builtin_offsetof(Header, log_cons)),
                    0); // a fresh chain: nothing read yet
    audit_.append(AuditKind::Boot, backend_->now_ms(), 0, 0,
                  sessions_.has_key() ? Status::Ok : Status::AuthFailed, 0,
                  sessions_.has_key() ? "boot: controller key present" : "boot: NO controller key");
    barrier_release();
    region_.write32(kState, 1);
    return Status::Ok;
}

u32 Service::poll() {
    ++polls_;
    // Not committed in time (docs/handover.md §4.7): back to the image this one replaced.
    // Returns only when that image could not be entered; the trial then has no deadline.
    if (trial_.commit != nullptr && backend_->now_ms() >= trial_.deadline_ms) roll_back_update();
    vm_events();
    u32 done = 0;
    while (done < kMaxPerPoll) {
        barrier_acquire();
        const u32 prod = region_.read32(kCmdProd); // read once; everything below uses this copy
        Result<u32> pending = ring_pending(prod, cmd_cons_, kCmdSlots);
        if (!pending.ok()) {
            if (prod != last_bad_prod_) { // record each distinct bad index once, not every poll
                last_bad_prod_ = prod;
                reject(0, 0, Status::OutOfRange, false);
            }
            break;
        }
        if (pending.value() == 0) break;
        // Never overwrite an unread response: wait for the controller to pull.
        if (ring_free(resp_prod_, region_.read32(kRespCons), kRespSlots) == 0) break;
        barrier_acquire(); // the slot's bytes are read after the index that published them
        const Ticks picked_up = ticks_now();
        CommandSlot slot;
        const u64 off = kCmdRingOffset + ring_slot(cmd_cons_, kCmdSlots) * sizeof(CommandSlot);
        if (region_.copy_in(off, &slot, sizeof slot) != Status::Ok) break;
        handle(slot, picked_up);
        consume_command();
        ++done;
    }
    flush_rejects(false);
    console_events();
    publish_metrics();
    return done;
}

void Service::handle(const CommandSlot& slot, const Ticks& picked_up) {
    DecodeLimits limits;
    limits.bulk_size = region_.size() - kBulkOffset;
    Command c;
    Status s = decode_command(slot, limits, c);
    if (s != Status::Ok) return reject(slot.seq, slot.opcode, s, false);
    if (c.op == Opcode::Hello) {
        handle_hello(slot, c);
        last_cmd_ns_ = ticks_ns(picked_up, ticks_now()); // the whole handshake, Keel's side
        return;
    }
    // Session id, expiry and sequence are compares; the MAC is one HMAC (§4.4).
    const Ticks v0 = ticks_now();
    s = sessions_.check(slot, backend_->now_ms());
    last_verify_ns_ = ticks_ns(v0, ticks_now());
    if (s != Status::Ok) return reject(slot.seq, slot.opcode, s, false);
    flush_rejects(true); // the junk before it is accounted for before it is
    const u32 room = audit_.free_slots();
    if (room == 0 || (changes_state(c.op) && room < kLogReserve))
        return reject(c.seq, slot.opcode, Status::LogFull, true);
    u8 reply[kRespPayloadMax] = {};
    u32 vm_for_log = c.vm_id;
    if (c.op == Opcode::CreateVm || c.op == Opcode::Start) picked_up_ = picked_up;
    detail_[0] = '\0';
    s = dispatch(c, reply, &vm_for_log);
    audit_.append(AuditKind::Command, backend_->now_ms(), c.seq, slot.opcode, s, vm_for_log,
                  detail_[0] != '\0' ? detail_ : opcode_name(slot.opcode));
    ++ok_;
    sessions_.publish(region_); // the sequence floor and the session's use count
    respond(c.seq, slot.opcode, s, reply, true);
    last_cmd_ns_ = ticks_ns(picked_up, ticks_now()); // includes publishing the response
}

void Service::handle_hello(const CommandSlot& slot, const Command& c) {
    if (audit_.free_slots() == 0) return reject(slot.seq, slot.opcode, Status::LogFull, false);
    const Ticks v0 = ticks_now();
    const Status s = sessions_.hello(slot, c.hello, backend_->now_ms());
    last_verify_ns_ = ticks_ns(v0, ticks_now());
    if (s != Status::Ok) return reject(slot.seq, slot.opcode, s, false);
    flush_rejects(true);
    // From here on records carry the new session's MAC, this one first: it also anchors
    // every unMACed record before it through the chain.
    audit_.set_mac_key(sessions_.log_key());
    char detail[40];
    format(detail, sizeof detail, "session %u established", sessions_.active_id());
    audit_.append(AuditKind::Session, backend_->now_ms(), slot.seq, slot.opcode, Status::Ok,
                  sessions_.active_id(), detail);
    ++ok_;
    sessions_.publish(region_);
    u8 reply[kRespPayloadMax] = {};
    const u32 id = sessions_.active_id();
    memcpy(reply, &id, sizeof id);
    respond(slot.seq, slot.opcode, Status::Ok, reply, true); // MACed: key confirmation
}

void Service::consume_command() {
    ++cmd_cons_;
    region_.write32(kCmdCons, cmd_cons_);
}

void Service::respond(u64 seq, u16 op, Status s, const u8* payload, bool authenticated) {
    if (ring_free(resp_prod_, region_.read32(kRespCons), kRespSlots) == 0) return;
    ResponseSlot r{};
    r.seq = seq;
    r.opcode = op;
    r.status = static_cast<u32>(s);
    memcpy(r.payload, payload, sizeof r.payload);
    if (authenticated) sessions_.seal_response(r);
    const u64 off = kRespRingOffset + ring_slot(resp_prod_, kRespSlots) * sizeof(ResponseSlot);
    if (region_.copy_out(off, &r, sizeof r) != Status::Ok) return;
    barrier_release(); // the slot before the index that publishes it
    ++resp_prod_;
    region_.write32(kRespProd, resp_prod_);
}

Status Service::console_sink(void* self, u32 id, u8 byte) {
    return static_cast<Service*>(self)->backend_->console_input(id, byte);
}

void Service::console_events() {
    console_.flush(region_);
    for (u32 id = 1; id <= kMaxVms; ++id) {
        VmRecord& v = vms_[id - 1];
        const VmLifeState st = state(id);
        if (st != VmLifeState::Running)
            console_.clear_in(id); // input for a guest that is gone goes nowhere
        else if (console_.queued_in(id) != 0)
            (void)console_.feed_in(id, console_sink, this);
        // A guest that printed and ended between two polls still printed first.
        const bool started =
            st == VmLifeState::Running || st == VmLifeState::Stopping || st == VmLifeState::Stopped;
        if (!started || v.output_seen) continue;
        // First output: a byte through console_out, or a line the UART counted (the
        // latter works before the TX path feeds the mailbox).
        VmMetrics m{};
        backend_->metrics(id, m);
        if (console_.out_count(id) == 0 && m.console_lines == 0) continue;
        const Ticks now = ticks_now();
        v.output_seen = true;
        start_to_output_ns_ = ticks_ns(v.started_at, now);
        create_to_output_us_ = ticks_us(v.created_at, now);
    }
}

void Service::vm_events() {
    const u64 now = backend_->now_ms();
    for (u32 id = 1; id <= kMaxVms; ++id) {
        VmRecord& v = vms_[id - 1];
        const VmLifeState st = state(id);
        if (st == VmLifeState::Stopped && !v.end_logged) {
            v.end_logged = true;
            v.ended_ms = now;
            audit_.append(AuditKind::VmEvent, now, 0, 0, Status::Ok, id, "guest ended");
        } else if (st == VmLifeState::Stopping && now >= v.stop_deadline_ms) {
            Status s = backend_->stop(id, true);
            v.stop_deadline_ms = ~0ull; // one forced stop; the end arrives as an event
            audit_.append(AuditKind::VmEvent, now, 0, 0, s, id, "stop timeout: forced");
        }
    }
}

void Service::dma_fault(u32 owner, const char* detail) {
    if (backend_ == nullptr) return; // not attached
    audit_.append(AuditKind::DmaFault, backend_->now_ms(), 0, 0, Status::HardwareFault, owner,
                  detail);
}

void Service::vf_released(u32 owner, const char* detail) {
    if (backend_ == nullptr) return;
    audit_.append(AuditKind::VmEvent, backend_->now_ms(), 0, 0, Status::Ok, owner, detail);
}

void Service::publish_metrics() {
    HostMetrics h{};
    HostState hs = backend_->host();
    h.commands_ok = ok_;
    h.commands_rejected = rejected_;
    h.cores_free_mask = hs.cores_free_mask;
    h.pool_free_bytes = hs.pool_free_bytes;
    h.pool_baseline_bytes = hs.pool_baseline_bytes;
    h.polls = polls_;
    h.last_cmd_ns = last_cmd_ns_;
    h.last_verify_ns = last_verify_ns_;
    h.start_to_output_ns = start_to_output_ns_;
    h.create_to_output_us = create_to_output_us_;
    (void)region_.copy_out(kMetricsOffset, &h, sizeof h);
}

} // namespace keel::mailbox
