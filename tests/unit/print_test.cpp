#include <arch/console.hpp>
#include <gtest/gtest.h>

#include <cstdarg>
#include <string>

#include "hypervisor/print.hpp"

using namespace keel;

// A macro so the format string stays a literal (-Wformat checks every call).
#define fmt(...)                                                                                   \
    ([&] {                                                                                         \
        char buf_[128];                                                                            \
        format(buf_, sizeof buf_, __VA_ARGS__);                                                    \
        return std::string(buf_);                                                                  \
    }())

// Formats a compiler rejects (an invalid conversion, a null %s) reach the printer through
// vformat, which has no format attribute: its own handling of them is what is tested.
static std::string unchecked(const char* f, ...) {
    char buf[128];
    va_list ap;
    va_start(ap, f);
    vformat(buf, sizeof buf, f, ap);
    va_end(ap);
    return buf;
}

TEST(Print, Integers) {
    EXPECT_EQ(fmt("%d %i %u", -42, 7, 42u), "-42 7 42");
    EXPECT_EQ(fmt("%x %X %#x", 0xbeefu, 0xbeefu, 0x10u), "beef BEEF 0x10");
    EXPECT_EQ(fmt("%08x|%-5d|%5d", 0xabu, 3, -3), "000000ab|3    |   -3");
    EXPECT_EQ(fmt("%llu %lld", 18446744073709551615ull, -9223372036854775807ll - 1),
              "18446744073709551615 -9223372036854775808");
    EXPECT_EQ(fmt("%zu %lx", static_cast<size_t>(12), 0xfffffffffffful), "12 ffffffffffff");
    EXPECT_EQ(fmt("%#018llx", 0x4001000000ull), "0x0000004001000000");
}

TEST(Print, StringsAndOddFormats) {
    EXPECT_EQ(fmt("[%s] [%5s] [%-5s] [%c]", "ab", "ab", "ab", 'z'), "[ab] [   ab] [ab   ] [z]");
    EXPECT_EQ(unchecked("%s", static_cast<const char*>(nullptr)), "(null)");
    EXPECT_EQ(fmt("100%%"), "100%");
    EXPECT_EQ(unchecked("%q"), "%q");
    EXPECT_EQ(unchecked("end%"), "end");
    EXPECT_EQ(fmt("%p", reinterpret_cast<void*>(0x1234)), "0x0000000000001234");
}

TEST(Print, TruncatesSafelyAndReportsFullLength) {
    char buf[8];
    usize n = format(buf, sizeof buf, "%s", "0123456789");
    EXPECT_EQ(n, 10u);
    EXPECT_STREQ(buf, "0123456");
    char one[1] = {'x'};
    EXPECT_EQ(format(one, 1, "abc"), 3u);
    EXPECT_EQ(one[0], '\0');
}

TEST(Print, KprintGoesToTheArchConsole) {
    arch::fake_console_clear();
    kprint("cpu %u up\n", 3u);
    const u8 digest[3] = {0x00, 0xab, 0xff};
    kprint_hex(digest, sizeof digest);
    EXPECT_STREQ(arch::fake_console_text(), "cpu 3 up\n00abff");
}
