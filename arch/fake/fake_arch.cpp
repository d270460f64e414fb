// The fake arch: lets the arch-independent core run inside host unit tests.
#include <arch/console.hpp>
#include <arch/cpu.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace keel::arch {
namespace {
char g_text[1 << 16];
usize g_len = 0;
} // namespace

void console_write(const char* s, usize n) {
    for (usize i = 0; i < n && g_len + 1 < sizeof g_text; ++i)
        g_text[g_len++] = s[i];
    g_text[g_len] = '\0';
}

const char* fake_console_text() { return g_text; }

void fake_console_clear() {
    g_len = 0;
    g_text[0] = '\0';
}

void halt() {
    std::fprintf(stderr, "fake arch: halt\n%s", g_text);
    std::abort();
}

void power_off(u32 code) { std::exit(static_cast<int>(code)); }

} // namespace keel::arch
