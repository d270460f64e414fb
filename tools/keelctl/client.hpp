// keelctl's view of the mailbox: maps /dev/shm/NAME (or any file backing the BAR), runs
// the session handshake, MACs and posts commands, waits for their responses and checks
// theirs, pulls audit records. The controller side of docs/mailbox.md; it writes only the
// controller's fields (§3.6).
#pragma once

#include <string>
#include <vector>

#include "hypervisor/mailbox/abi.hpp"
#include "tools/keel-sign/keys.hpp"
#include "tools/keelctl/session_state.hpp"

namespace keelctl {

using namespace keel;
using namespace keel::mailbox;

// What came back for a command (§4.3).
enum class Reply {
    Authentic,       // MACed by the session's response key
    Unauthenticated, // a rejection Keel could not MAC (the command did not authenticate)
    Forged,          // a MAC that does not verify, or an unMACed "Ok": not from Keel
    Timeout,
};

class Client {
public:
    ~Client();
    bool open(const std::string& path, std::string& err);
    bool wait_ready(double timeout_s);
    [[nodiscard]] Header header() const;
    // The session area, read consistently (offer_id before and after, §4.2).
    [[nodiscard]] SessionArea offer() const;
    void set_key(const sign::PrivateKey& key) { key_ = key, have_key_ = true; }
    SessionState& state() { return state_; }

    // Answers the published offer with a fresh ephemeral key signed by the controller
    // key; on Ok the new session's keys are in state(). `err` says why otherwise.
    Status handshake(std::string& err);

    // Builds, MACs and posts one command; waits for its response. `tamper` lets the
    // hostile-input tests corrupt the slot after the MAC.
    Reply call(Opcode op, u32 vm_id, const void* payload, u32 len, ResponseSlot& resp,
               double timeout_s = 30, void (*tamper)(CommandSlot&) = nullptr);
    // Posts slot bytes as they are and waits for the response with its sequence number.
    Reply post_raw(const CommandSlot& slot, ResponseSlot& resp, double timeout_s = 30);
    // Posts without waiting for the answer (only for ring room); answers are drained.
    bool post_nowait(const CommandSlot& slot, double timeout_s = 30);
    void mac(CommandSlot& slot);
    CommandSlot make(Opcode op, u32 vm_id, const void* payload, u32 len);
    // How a response would be judged (see Reply).
    Reply judge(const ResponseSlot& r) const;

    volatile u8* base() const { return base_; }
    u64 size() const { return size_; }
    volatile u32* field(u64 off) const { return reinterpret_cast<volatile u32*>(base_ + off); }
    bool write_bulk(u64 offset, const u8* data, u64 len);
    // Pulls unread audit records and advances log_cons.
    std::vector<AuditRecord> pull_log();

private:
    void drain_responses(u64 want_seq, ResponseSlot* out, bool* found);

    volatile u8* base_ = nullptr;
    u64 size_ = 0;
    sign::PrivateKey key_{};
    bool have_key_ = false;
    u64 last_seq_ = 0;
    SessionState state_;
};

} // namespace keelctl
