// console: the per-VM rings (docs/mailbox.md §6). `log` lives in log.cpp.
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <string>

#include "hypervisor/mailbox/command.hpp"
#include "tools/keelctl/commands.hpp"

namespace keelctl {
namespace {

constexpr char kDetach = 0x1d; // Ctrl-]

// Prints console-out bytes from `pos` up to the hypervisor's producer index (also
// appended to `seen` when given).
u32 drain_console(Session& s, u32 id, u32 pos, std::string* seen = nullptr) {
    const u32 prod = *s.c.field(__builtin_offsetof(Header, console_out_prod) + 4 * (id - 1));
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (prod - pos > kConsoleOutBytes) pos = prod - kConsoleOutBytes; // lost to overwrite
    for (; pos != prod; ++pos) {
        const char ch =
            static_cast<char>(s.c.base()[console_out_offset(id - 1) + pos % kConsoleOutBytes]);
        if (ch != '\r') putchar(ch); // the guest's CRLF: plain newlines read better in logs
        if (seen) *seen += ch;
    }
    fflush(stdout);
    return pos;
}

double now_s() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// Non-interactive (scripts, CI, `tools/keel demo`): output from the oldest byte the ring
// still holds, as it arrives, for at most `secs`; with `until`, stops once that text
// has appeared and fails (exit 1) if it never does.
int follow(Session& s, u32 id, double secs, const std::string& until) {
    std::string seen;
    const double end = now_s() + secs;
    const u32 prod = *s.c.field(__builtin_offsetof(Header, console_out_prod) + 4 * (id - 1));
    u32 pos = prod > kConsoleOutBytes ? prod - static_cast<u32>(kConsoleOutBytes) : 0;
    do {
        pos = drain_console(s, id, pos, &seen);
        if (!until.empty() && seen.find(until) != std::string::npos) return kExitOk;
        usleep(100000);
    } while (now_s() < end);
    if (until.empty()) return kExitOk;
    fprintf(stderr, "keelctl: vm %u: \"%s\" not seen within %.0f s\n", id, until.c_str(), secs);
    return kExitRefused;
}

Status console_write(Session& s, u32 id, const char* p, size_t n) {
    ConsoleWritePayload w{};
    w.length = static_cast<u32>(n);
    memcpy(w.bytes, p, n);
    ResponseSlot r;
    return s.call(Opcode::ConsoleWrite, id, &w, static_cast<u32>(8 + n), r);
}

} // namespace

int cmd_console(Session& s, const Args& a) {
    if (a.empty()) return kExitUsage;
    u32 id = s.resolve(a[0]);
    if (id == 0) return fprintf(stderr, "keelctl: no VM %s\n", a[0].c_str()), kExitRefused;
    for (size_t i = 1; i + 1 < a.size(); ++i)
        if (a[i] == "--write") {
            std::string t = a[i + 1] + "\n";
            return console_write(s, id, t.data(), t.size()) == Status::Ok ? kExitOk : kExitRefused;
        }
    if (a.size() > 1 && a[1] == "--read") return drain_console(s, id, 0), kExitOk;
    if (a.size() > 2 && a[1] == "--follow") {
        const std::string until = a.size() > 4 && a[3] == "--until" ? a[4] : "";
        return follow(s, id, strtod(a[2].c_str(), nullptr), until);
    }
    // Interactive: raw terminal, guest output as it comes, keys in batches; Ctrl-] detaches.
    termios old{};
    const bool tty = tcgetattr(0, &old) == 0;
    if (tty) {
        termios raw = old;
        cfmakeraw(&raw);
        tcsetattr(0, TCSANOW, &raw);
    }
    fprintf(stderr, "keelctl: attached to vm %u; detach with Ctrl-]\r\n", id);
    u32 pos = 0;
    for (;;) {
        pos = drain_console(s, id, pos);
        pollfd p{0, POLLIN, 0};
        if (poll(&p, 1, 50) > 0) {
            char buf[kConsoleWriteMax];
            ssize_t n = read(0, buf, sizeof buf);
            if (n <= 0) break;
            char* d = static_cast<char*>(memchr(buf, kDetach, static_cast<size_t>(n)));
            if (d) n = d - buf;
            if (n > 0) (void)console_write(s, id, buf, static_cast<size_t>(n));
            if (d) break;
        }
    }
    if (tty) tcsetattr(0, TCSANOW, &old);
    fprintf(stderr, "\nkeelctl: detached\n");
    return kExitOk;
}

} // namespace keelctl
