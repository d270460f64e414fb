// The mailbox service: attaches to the shared region, then on every poll consumes
// commands, checks them (decode -> session, sequence, MAC -> log room; a HELLO: the
// handshake), acts through a VmBackend, answers in the response ring (MACed once the
// command authenticated) and records everything in the audit log: every accepted command
// one record, rejected ones summarized per burst (§4.4). It writes only
// its own fields (docs/mailbox.md §3.6): header hypervisor half, responses, log,
// metrics, console-out. Single-threaded: only the boot core calls it.
#pragma once

#include "crypto/ecdsa.hpp"
#include "crypto/sha2.hpp"
#include "drivers/sriov/vf_table.hpp"
#include "hypervisor/mailbox/audit.hpp"
#include "hypervisor/mailbox/backend.hpp"
#include "hypervisor/mailbox/command.hpp"
#include "hypervisor/mailbox/console.hpp"
#include "hypervisor/mailbox/session.hpp"
#include "hypervisor/mailbox/shared.hpp"
#include "hypervisor/mailbox/ticks.hpp"
#include "hypervisor/update/image_check.hpp"
#include "hypervisor/update/swap.hpp"

namespace keel::mailbox {

// What the controller attached to a VM (name, announced sizes and hashes, command line,
// timings). Its state is the VM manager's (VmBackend::state), not kept here.
struct VmRecord {
    char name[kNameMax] = {};
    u64 cpu_mask = 0;
    u64 mem_bytes = 0;
    u64 size[2] = {};      // expected kernel / initrd bytes
    u64 loaded[2] = {};    // bytes loaded so far
    u8 expect[2][32] = {}; // expected SHA-256
    crypto::Sha256 hash[2];
    char cmdline[kCmdlineMax] = {};
    u64 started_ms = 0;
    u64 ended_ms = 0;
    u64 stop_deadline_ms = 0;
    Ticks created_at = {}; // CREATE_VM pickup, for the first-output figure
    Ticks started_at = {}; // START pickup
    bool output_seen = false;
    bool end_logged = false; // the audit log has its "guest ended" record
};

class Service {
public:
    static constexpr u32 kMaxPerPoll = 4; // bounds one poll's work: a flood cannot starve VM events

    // Formats the header (geometry, the boot nonce derived from `seed`), publishes the
    // first session offer, writes the Boot audit record, marks ready.
    Status attach(SharedRegion region, VmBackend& backend,
                  const u8 (&pubkey)[crypto::kP384PublicKeySize], const entropy::Seed& seed,
                  SessionLimits limits = {});
    // Live update's incoming image, instead of attach() (docs/handover.md §4 step 4): takes
    // over the service the outgoing image ran in `region` from the record's Mailbox and
    // Console records: the same boot nonce, ring indices and consoles, the controller's
    // session (keys, use count, sequence floor: no new handshake) and the audit chain from
    // its head; a fresh offer of its own (`seed`). Then it finishes the Apply the outgoing
    // image was answering (the session's last sequence number): its audit record, next in the
    // chain, reads `update adopted: <version>` and its answer (Ok, MACed) carries `version`.
    // InvalidArgument, nothing written, when the record does not fit this region or service.
    // A rollback record (OldImage flag kOldImageRollback, §4.7) has no Apply waiting: nothing
    // is answered and the chain goes on from the rollback's own record. `commit_ms`: the
    // trial the Apply's answer announces (0: none).
    Status adopt(SharedRegion region, VmBackend& backend,
                 const u8 (&pubkey)[crypto::kP384PublicKeySize], const entropy::Seed& seed,
                 SessionLimits limits, const update::HandoverView& record, const char* version,
                 u64 blackout_ns = 0, u64 commit_ms = 0);
    // Live update's commit (docs/handover.md §4.6), after adopt(): the floor this image now
    // enforces and what went back to the pool, one audit record (Boot: this image's start).
    void update_committed(const char* detail);
    // The trial (docs/handover.md §4.7), after adopt() and set_update() with the outgoing
    // image's region (UpdateSetup.outgoing): this image is not committed until UPDATE Commit
    // arrives within `ms`. Commit calls `commit` (the floor, the outgoing image's memory back,
    // a new update region: it calls set_update() and update_committed()), which says what it
    // did in `detail`. Without it, poll() rolls back: the outgoing image restored, every vCPU
    // parked, a rollback record, the outgoing image entered, which stays. Until one of the
    // two, UPDATE Begin, Chunk, Verify and Apply answer BadState.
    using CommitFn = Status (*)(char* detail, usize size);
    void begin_trial(u64 ms, CommitFn commit);
    [[nodiscard]] bool in_trial() const { return trial_.commit != nullptr; }
    // The update count this service carries (adopt() takes it from the record).
    [[nodiscard]] u64 update_count() const { return update_.counter; }
    // One round: VM events, stop deadlines, up to kMaxPerPoll commands, metrics.
    // Returns the number of commands consumed.
    u32 poll();
    // Live update (§3.10, docs/handover.md): the region reserved at boot for an incoming
    // image (memory nothing else uses, written only by UPDATE chunks) and what a new image
    // must satisfy. Without it UPDATE answers Unsupported.
    struct UpdateSetup {
        u8* region = nullptr; // the staged image
        u64 region_size = 0;
        u8* record = nullptr; // where the handover record is built (8-byte aligned)
        u64 record_size = 0;
        update::Expect expect{};
        update::Swap* swap = nullptr; // the arch's swap (null: Apply answers Unsupported)
        // Why Apply is refused on this machine although the arch can swap (null: it is not).
        const char* no_swap = nullptr;
        // The trial's (§4.7): the image this one replaced, which a rollback enters (its
        // security version goes into the rollback record). Null otherwise.
        const update::OldImageRecord* outgoing = nullptr;
        // The version of the record the outgoing image wrote: the one its rollback record is
        // written in, an older image reading nothing newer (docs/handover.md §2.1).
        u32 outgoing_abi = 0;
        // The running Keel's command line, which an incoming image runs with (OldImage
        // cmdline, docs/handover.md §2.2). Null: none.
        const char* cmdline = nullptr;
    };
    void set_update(const UpdateSetup& setup);
    // Guest serial output for the VM's console-out ring (console.hpp: any core, never
    // blocks, lossy when the controller lags).
    void console_out(u32 id, const char* bytes, usize len) { console_.out(id, bytes, len); }
    [[nodiscard]] const ConsoleRings& consoles() const { return console_; }
    // The VF table VFS answers from (none: VFS lists nothing).
    void set_vfs(const sriov::VfTable* vfs) { vfs_ = vfs; }
    // An IOMMU fault of a VF's stream after boot (hypervisor/io/): one DmaFault record,
    // vm_id its owner, `detail` what faulted (§5).
    void dma_fault(u32 owner, const char* detail);
    // A VF taken back at a VM's end (FLR, quarantine): one VmEvent record for that VM.
    void vf_released(u32 owner, const char* detail);

    [[nodiscard]] const VmRecord& vm(u32 id) const { return vms_[id - 1]; }
    [[nodiscard]] VmLifeState state(u32 id) const { return backend_->state(id); }
    [[nodiscard]] const AuditWriter& audit() const { return audit_; }
    [[nodiscard]] u64 last_seq() const { return sessions_.last_seq(); }
    [[nodiscard]] const SessionManager& sessions() const { return sessions_; }
    // Rejected commands not yet summarized in the log (§4.4).
    [[nodiscard]] u32 pending_rejects() const { return burst_.count; }
    // How long a burst of rejections may stay unsummarized while it goes on.
    static constexpr u64 kBurstFlushMs = 1000;
    // How long UPDATE Apply waits for every vCPU to park (docs/handover.md §4).
    static constexpr u32 kQuiesceMs = 100;

private:
    const sriov::VfTable* vfs_ = nullptr;
    // A run of rejected commands, counted until one audit record summarizes it.
    struct Burst {
        u32 count = 0;
        u32 session = 0, sequence = 0, mac = 0, malformed = 0, other = 0;
        u64 first_ms = 0;
        u64 last_seq = 0;
        u16 last_op = 0;
        Status last = Status::Ok;
        bool grew = false; // in this poll
    };

    void handle(const CommandSlot& slot, const Ticks& picked_up);
    void handle_hello(const CommandSlot& slot, const Command& c);
    void flush_rejects(bool force);
    Status dispatch(const Command& c, u8 (&reply)[kRespPayloadMax], u32* vm_for_log);
    Status do_create(const Command& c, u8 (&reply)[kRespPayloadMax], u32* vm_for_log);
    Status do_load(const Command& c);
    Status do_stop(const Command& c);
    Status do_destroy(const Command& c);
    Status do_update(const Command& c, u8 (&reply)[kRespPayloadMax]); // update.cpp
    Status do_vf(const Command& c, u8 (&reply)[kRespPayloadMax]);
    [[nodiscard]] const sriov::Vf* find_vf(u16 rid) const;
    void update_reset();
    Status update_apply(UpdateReply& out);
    Status update_commit(UpdateReply& out);
    void roll_back_update(); // the trial's deadline passed (§4.7)
    Status write_handover(u64* bytes, bool rollback = false);
    // VM `id`'s VmRecord for the handover record, and back (adopt.cpp).
    [[nodiscard]] update::MailboxVmRecord mailbox_vm_record(u32 id) const;
    void adopt_vm_record(const update::MailboxVmRecord& r);
    void fill_info(u32 id, VmInfo& out);
    // `authenticated`: the command passed the session check; its answer gets the MAC.
    void respond(u64 seq, u16 op, Status s, const u8* payload, bool authenticated);
    // The command at cmd_cons_ is done: the controller may reuse its slot.
    void consume_command();
    // Counts a rejected command in the burst and answers it (MACed only when it had
    // authenticated: a LogFull).
    void reject(u64 seq, u16 op, Status s, bool authenticated);
    void vm_events();
    void console_events();
    static Status console_sink(void* self, u32 id, u8 byte);
    void publish_metrics();

    SharedRegion region_;
    SharedRegion bulk_;
    VmBackend* backend_ = nullptr;
    SessionManager sessions_;
    Burst burst_;
    u8 nonce_[16] = {};
    AuditWriter audit_;
    VmRecord vms_[kMaxVms];
    u32 cmd_cons_ = 0;
    u32 resp_prod_ = 0;
    u32 last_bad_prod_ = 0;
    u64 ok_ = 0;
    u64 rejected_ = 0;
    u64 polls_ = 0;
    Ticks picked_up_ = {}; // pickup time of the command being dispatched
    ConsoleRings console_;
    u32 last_cmd_ns_ = 0;
    u32 last_verify_ns_ = 0;
    u32 start_to_output_ns_ = 0;
    u32 create_to_output_us_ = 0;
    // The incoming image (update.cpp): staged bytes, and whether they passed the checks.
    struct Staged {
        UpdateSetup setup{};
        u64 size = 0;   // announced by Begin
        u64 staged = 0; // bytes arrived
        bool open = false;
        bool verified = false;
        char version[32] = {};    // the verified image's (its note)
        u32 security_version = 0; // the verified image's
        u64 counter = 0;          // updates applied (the handover record's update_counter)
        u64 copy_ns = 0;          // the chunks' copies into the region, all of them
        u32 chunks = 0;
    } update_;
    char detail_[40] = {}; // the audit record's detail for this command ("": the opcode's name)
    // The trial (§4.7): commit null when none; `ms` (the deadline's length) for the messages.
    struct Trial {
        CommitFn commit = nullptr;
        u64 deadline_ms = 0;
        u64 ms = 0;
    } trial_;
};

} // namespace keel::mailbox
