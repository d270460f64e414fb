#include "tools/keelctl/log_state.hpp"

#include "tools/keelctl/session_state.hpp"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

namespace keelctl {

std::string default_log_state_path(const std::string& mbox) {
    return state_file_path(mbox, "audit", ".audit-state");
}

bool load_log_state(const std::string& path, LogState& out) {
    FILE* f = fopen(path.c_str(), "r");
    if (!f) return false;
    char line[160];
    bool ok = fgets(line, sizeof line, f) && strcmp(line, "keel-audit-state 2\n") == 0;
    ok = ok && fgets(line, sizeof line, f) && strncmp(line, "nonce ", 6) == 0 &&
         unhex(line + 6, out.nonce, 16);
    unsigned long long idx = 0;
    ok = ok && fgets(line, sizeof line, f) && sscanf(line, "next %llu", &idx) == 1;
    ok = ok && fgets(line, sizeof line, f) && strncmp(line, "head ", 5) == 0 &&
         unhex(line + 5, out.head, 32);
    unsigned sid = 0;
    ok = ok && fgets(line, sizeof line, f) && sscanf(line, "session %u", &sid) == 1;
    out.session = sid;
    fclose(f);
    out.next_index = idx;
    return ok;
}

bool save_log_state(const std::string& path, const LogState& s) {
    const std::string tmp = path + ".tmp";
    FILE* f = fopen(tmp.c_str(), "w");
    if (!f) return false;
    fprintf(f, "keel-audit-state 2\nnonce %s\nnext %llu\nhead %s\nsession %u\n",
            hex(s.nonce, 16).c_str(), static_cast<unsigned long long>(s.next_index),
            hex(s.head, 32).c_str(), s.session);
    const bool ok = fclose(f) == 0;
    return ok && rename(tmp.c_str(), path.c_str()) == 0; // never a half-written state
}

} // namespace keelctl
