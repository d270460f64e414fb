#include "hypervisor/panic.hpp"

#include <arch/console.hpp>
#include <arch/cpu.hpp>

#include "hypervisor/print.hpp"

namespace keel {

void panic(const char* fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vformat(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kprint("KEEL PANIC: %s\n", msg);
    arch::halt();
}

} // namespace keel
