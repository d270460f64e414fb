// keelctl's session between runs (docs/mailbox.md §4.2): the boot nonce the session
// belongs to, the active session id and its three keys, and the log keys of the earlier
// sessions of the same boot (so `keelctl log` can check the MACs of records written
// before a renewal). Text, written to a temporary file and renamed into place, mode 0600
// (it holds keys: whoever reads it can act as the controller until the session ends).
// Where: $KEELCTL_STATE_DIR, else $XDG_CACHE_HOME/keel or ~/.cache/keel,
// "session-<mailbox file name>.state".
#pragma once

#include <string>
#include <vector>

#include "hypervisor/mailbox/session_crypto.hpp"

namespace keelctl {

struct SessionState {
    keel::u8 nonce[16] = {};
    keel::u32 session = 0; // 0: none
    keel::mailbox::SessionKeys keys{};
    struct LogKey {
        keel::u32 session;
        keel::u8 key[32];
    };
    std::vector<LogKey> log_keys; // every session of this boot this controller established
    const keel::u8* log_key(keel::u32 id) const;
};

// The folder keelctl keeps its state files in (created 0700), and a state file's path in
// it: "<kind>-<mailbox file name>.state" (next to the mailbox + `fallback` without one).
std::string state_dir();
std::string state_file_path(const std::string& mbox, const char* kind, const char* fallback);
// Lower-case hex for the state files, and back (exactly n bytes, then NUL or newline).
std::string hex(const keel::u8* p, size_t n);
bool unhex(const char* s, keel::u8* out, size_t n);
std::string default_session_state_path(const std::string& mbox);
bool load_session_state(const std::string& path, SessionState& out);
bool save_session_state(const std::string& path, const SessionState& s);

} // namespace keelctl
