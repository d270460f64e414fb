// console: the per-VM rings (docs/mailbox.md §6). `log` lives in log.cpp.
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "hypervisor/mailbox/command.hpp"
#include "tools/keelctl/commands.hpp"

namespace keelctl {
namespace {

constexpr char kDetach = 0x1d; // Ctrl-]

// Prints console-out bytes from `pos` up to the hypervisor's producer index.
u32 drain_console(Session& s, u32 id, u32 pos) {
    const u32 prod = *s.c.field(__builtin_offsetof(Header, console_out_prod) + 4 * (id - 1));
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (prod - pos > kConsoleOutBytes) pos = prod - kConsoleOutBytes; // lost to overwrite
    for (; pos != prod; ++pos) putchar(s.c.base()[console_out_offset(id - 1) + pos % kConsoleOutBytes]);
    fflush(stdout);
    return pos;
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
