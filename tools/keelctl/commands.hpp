// keelctl subcommands; each returns the process exit code (main.cpp lists them).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tools/keelctl/client.hpp"

namespace keelctl {

constexpr int kExitOk = 0, kExitRefused = 1, kExitUsage = 2, kExitNoMailbox = 3,
              kExitChainBroken = 4;

struct Options {
    std::string mbox = "/dev/shm/keel-mbox";
    std::string key = KEELCTL_DEFAULT_KEY; // <build>/keys/controller.pem
    bool json = false;
};

struct Session {
    Options opt;
    Client c;
    std::string state_path; // the session state file (session_state.hpp)
    int open(const Options& o);
    // A session in force: the saved one, or a handshake (0, or an exit code).
    int ensure_session();
    // A handshake now, saved to the state file (0, or an exit code).
    int renew();
    // Sends and reports a failure in the caller's format; Ok or the hypervisor's status.
    // A forged answer exits 4; an expired session is renewed once.
    keel::Status call(Opcode op, u32 vm, const void* p, u32 len, ResponseSlot& r);
    // VM by number or name; 0 when unknown.
    u32 resolve(const std::string& vm);
};

// Sends `data` through the bulk window in chunks (progress on stderr as `label`); `post`
// sends the command that takes one chunk, placed at the start of the window.
keel::Status send_bulk(Session& s, const std::vector<u8>& data, const char* label,
                       const std::function<keel::Status(u64 offset, u64 length)>& post);

using Args = std::vector<std::string>;
int cmd_keygen(const Options& o, const Args& a);
int cmd_info(Session& s, const Args& a);
// PLATFORM's answer (platform.cpp): a summary and a line per physical core, or one JSON
// object (no newline).
void print_platform(const Session& s, const PlatformReply& p);
int cmd_ping(Session& s, const Args& a);
int cmd_list(Session& s, const Args& a);
int cmd_vfs(Session& s, const Args& a);
int cmd_describe(Session& s, const Args& a, bool metrics);
int cmd_create(Session& s, const Args& a);
int cmd_simple(Session& s, const std::string& cmd, const Args& a);
int cmd_console(Session& s, const Args& a);
int cmd_log(Session& s, const Args& a);
int cmd_hostile(Session& s, const Args& a);
int cmd_update(Session& s, const Args& a);
// vf.cpp: attach-vf / detach-vf VM BDF; vf_command also serves create --vf.
int cmd_vf(Session& s, bool attach, const Args& a);
int vf_command(Session& s, u32 vm, const std::string& bdf, bool attach);
bool parse_bdf(const std::string& s, VfPayload& out);

} // namespace keelctl
