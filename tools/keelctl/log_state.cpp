#include "tools/keelctl/log_state.hpp"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

namespace keelctl {
namespace {

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

void mkdirs(const std::string& dir) {
    for (size_t i = 1; i <= dir.size(); ++i)
        if (i == dir.size() || dir[i] == '/') mkdir(dir.substr(0, i).c_str(), 0700);
}

} // namespace

std::string default_log_state_path(const std::string& mbox) {
    const size_t slash = mbox.rfind('/');
    const std::string base = slash == std::string::npos ? mbox : mbox.substr(slash + 1);
    std::string dir;
    if (const char* x = getenv("XDG_CACHE_HOME"); x && *x)
        dir = std::string(x) + "/keel";
    else if (const char* h = getenv("HOME"); h && *h)
        dir = std::string(h) + "/.cache/keel";
    else
        return mbox + ".audit-state";
    mkdirs(dir);
    return dir + "/audit-" + base + ".state";
}

bool load_log_state(const std::string& path, LogState& out) {
    FILE* f = fopen(path.c_str(), "r");
    if (!f) return false;
    char line[160];
    bool ok = fgets(line, sizeof line, f) && strcmp(line, "keel-audit-state 1\n") == 0;
    ok = ok && fgets(line, sizeof line, f) && strncmp(line, "nonce ", 6) == 0 &&
         unhex(line + 6, out.nonce, 16);
    unsigned long long idx = 0;
    ok = ok && fgets(line, sizeof line, f) && sscanf(line, "next %llu", &idx) == 1;
    ok = ok && fgets(line, sizeof line, f) && strncmp(line, "head ", 5) == 0 &&
         unhex(line + 5, out.head, 32);
    fclose(f);
    out.next_index = idx;
    return ok;
}

bool save_log_state(const std::string& path, const LogState& s) {
    const std::string tmp = path + ".tmp";
    FILE* f = fopen(tmp.c_str(), "w");
    if (!f) return false;
    fprintf(f, "keel-audit-state 1\nnonce %s\nnext %llu\nhead %s\n", hex(s.nonce, 16).c_str(),
            static_cast<unsigned long long>(s.next_index), hex(s.head, 32).c_str());
    const bool ok = fclose(f) == 0;
    return ok && rename(tmp.c_str(), path.c_str()) == 0; // never a half-written state
}

} // namespace keelctl
