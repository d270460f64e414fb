// Fatal errors. Prints a line starting "KEEL PANIC:" (the test harness's failure
// marker) and halts this CPU. Reserved for broken invariants inside the hypervisor;
// bad input from guests or the controller is answered with a Status, never a panic.
#pragma once

namespace keel {
[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
}

#define KEEL_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) ::keel::panic("assertion failed: %s (%s:%d)", #cond, __FILE__, __LINE__);     \
    } while (0)
