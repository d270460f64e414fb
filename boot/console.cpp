// UTF-16 console output through EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL (UEFI 2.10 §12.4).
// Usable only while boot services run; after ExitBootServices the stage prints nothing.
#include "boot/stage.hpp"

#include <arch/console.hpp>

namespace keel {
namespace {
efi::SimpleTextOutput* g_con = nullptr;
}

void stage_console_init(efi::SystemTable* st) { g_con = st->con_out; }
void stage_console_off() { g_con = nullptr; }

namespace arch {
void console_write(const char* s, usize n) {
    if (g_con == nullptr) return;
    char16_t buf[130];
    usize k = 0;
    for (usize i = 0; i < n; ++i) {
        if (s[i] == '\n') buf[k++] = u'\r';
        buf[k++] = static_cast<char16_t>(static_cast<u8>(s[i]));
        if (k >= 126 || i + 1 == n) {
            buf[k] = 0;
            g_con->output_string(g_con, buf);
            k = 0;
        }
    }
}
} // namespace arch
} // namespace keel
