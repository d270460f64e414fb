// keelctl log's memory between runs: the boot nonce, the index of the next record to
// expect, the SHA-256 of the last record verified (its "head") and the session whose
// log key MACs the next record. With it, a later run
// verifies new records against the head this run saw, so neither a rewritten
// already-pulled record still in the ring nor a replaced unread one passes unnoticed.
// Stored as four text lines; written to a temporary file and renamed into place.
#pragma once

#include <string>

#include "hypervisor/types.hpp"

namespace keelctl {

struct LogState {
    keel::u8 nonce[16] = {};
    keel::u64 next_index = 0;
    keel::u8 head[32] = {};
    keel::u32 session = 0; // the session whose log key MACs the next record (0: none yet)
};

// Default: state_dir() (session_state.hpp), "audit-<mailbox file name>.state";
// next to the mailbox file when there is no home directory.
std::string default_log_state_path(const std::string& mbox);
bool load_log_state(const std::string& path, LogState& out);
bool save_log_state(const std::string& path, const LogState& s);

} // namespace keelctl
