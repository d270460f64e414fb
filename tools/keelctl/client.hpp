// keelctl's view of the mailbox: maps /dev/shm/NAME (or any file backing the BAR), signs
// and posts commands, waits for their responses, pulls audit records. The controller
// side of docs/mailbox.md; it writes only the controller's fields (§3.6).
#pragma once

#include <string>
#include <vector>

#include "hypervisor/mailbox/abi.hpp"
#include "tools/keel-sign/keys.hpp"

namespace keelctl {

using namespace keel;
using namespace keel::mailbox;

class Client {
public:
    ~Client();
    bool open(const std::string& path, std::string& err);
    bool wait_ready(double timeout_s);
    [[nodiscard]] Header header() const;
    void set_key(const sign::PrivateKey& key) { key_ = key, have_key_ = true; }

    // Builds, signs and posts one command; waits for its response. False on timeout.
    // `tamper` lets the hostile-input tests corrupt the slot after signing.
    bool call(Opcode op, u32 vm_id, const void* payload, u32 len, ResponseSlot& resp,
              double timeout_s = 30, void (*tamper)(CommandSlot&) = nullptr);
    // Posts raw slot bytes as they are (hostile tests) and waits for one response.
    bool post_raw(const CommandSlot& slot, ResponseSlot& resp, double timeout_s = 30);
    void sign(CommandSlot& slot);
    CommandSlot make(Opcode op, u32 vm_id, const void* payload, u32 len);

    volatile u8* base() const { return base_; }
    u64 size() const { return size_; }
    volatile u32* field(u64 off) const { return reinterpret_cast<volatile u32*>(base_ + off); }
    bool write_bulk(u64 offset, const u8* data, u64 len);
    // Pulls unread audit records and advances log_cons.
    std::vector<AuditRecord> pull_log();

private:
    volatile u8* base_ = nullptr;
    u64 size_ = 0;
    sign::PrivateKey key_{};
    bool have_key_ = false;
    u64 last_seq_ = 0;
};

} // namespace keelctl
