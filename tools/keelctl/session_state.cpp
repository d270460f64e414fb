#include "tools/keelctl/session_state.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

namespace keelctl {
namespace {

void mkdirs(const std::string& dir) {
    for (size_t i = 1; i <= dir.size(); ++i)
        if (i == dir.size() || dir[i] == '/') mkdir(dir.substr(0, i).c_str(), 0700);
}

std::string base_name(const std::string& mbox) {
    const size_t slash = mbox.rfind('/');
    return slash == std::string::npos ? mbox : mbox.substr(slash + 1);
}

} // namespace

std::string hex(const keel::u8* p, size_t n) {
    std::string s;
    char b[3];
    for (size_t i = 0; i < n; ++i)
        snprintf(b, sizeof b, "%02x", p[i]), s += b;
    return s;
}

bool unhex(const char* s, keel::u8* out, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        unsigned v = 0;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) return false;
        out[i] = static_cast<keel::u8>(v);
    }
    return s[2 * n] == '\0' || s[2 * n] == '\n';
}

std::string state_file_path(const std::string& mbox, const char* kind, const char* fallback) {
    const std::string dir = state_dir();
    if (dir.empty()) return mbox + fallback;
    return dir + "/" + kind + "-" + base_name(mbox) + ".state";
}

const keel::u8* SessionState::log_key(keel::u32 id) const {
    for (const LogKey& k : log_keys)
        if (k.session == id) return k.key;
    return nullptr;
}

std::string state_dir() {
    std::string dir;
    if (const char* d = getenv("KEELCTL_STATE_DIR"); d && *d)
        dir = d;
    else if (const char* x = getenv("XDG_CACHE_HOME"); x && *x)
        dir = std::string(x) + "/keel";
    else if (const char* h = getenv("HOME"); h && *h)
        dir = std::string(h) + "/.cache/keel";
    else
        return "";
    mkdirs(dir);
    return dir;
}

std::string default_session_state_path(const std::string& mbox) {
    return state_file_path(mbox, "session", ".session-state");
}

bool load_session_state(const std::string& path, SessionState& out) {
    FILE* f = fopen(path.c_str(), "r");
    if (!f) return false;
    char line[256];
    bool ok = fgets(line, sizeof line, f) && strcmp(line, "keel-session-state 1\n") == 0;
    ok = ok && fgets(line, sizeof line, f) && strncmp(line, "nonce ", 6) == 0 &&
         unhex(line + 6, out.nonce, 16);
    unsigned id = 0;
    ok = ok && fgets(line, sizeof line, f) && sscanf(line, "session %u", &id) == 1;
    out.session = id;
    ok = ok && fgets(line, sizeof line, f) && strncmp(line, "cmd ", 4) == 0 &&
         unhex(line + 4, out.keys.cmd, 32);
    ok = ok && fgets(line, sizeof line, f) && strncmp(line, "rsp ", 4) == 0 &&
         unhex(line + 4, out.keys.rsp, 32);
    ok = ok && fgets(line, sizeof line, f) && strncmp(line, "log ", 4) == 0 &&
         unhex(line + 4, out.keys.log, 32);
    while (ok && fgets(line, sizeof line, f)) {
        SessionState::LogKey k{};
        unsigned sid = 0;
        int at = 0;
        if (sscanf(line, "logkey %u %n", &sid, &at) != 1 || !unhex(line + at, k.key, 32)) {
            ok = false;
            break;
        }
        k.session = sid;
        out.log_keys.push_back(k);
    }
    fclose(f);
    return ok;
}

bool save_session_state(const std::string& path, const SessionState& s) {
    const std::string tmp = path + ".tmp";
    const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return false;
    FILE* f = fdopen(fd, "w");
    if (!f) return close(fd), false;
    fprintf(f, "keel-session-state 1\nnonce %s\nsession %u\ncmd %s\nrsp %s\nlog %s\n",
            hex(s.nonce, 16).c_str(), s.session, hex(s.keys.cmd, 32).c_str(),
            hex(s.keys.rsp, 32).c_str(), hex(s.keys.log, 32).c_str());
    for (const SessionState::LogKey& k : s.log_keys)
        fprintf(f, "logkey %u %s\n", k.session, hex(k.key, 32).c_str());
    const bool ok = fclose(f) == 0;
    return ok && rename(tmp.c_str(), path.c_str()) == 0;
}

} // namespace keelctl
