// The PL061 register model (arch/arm64/pl061.hpp) against the TRM's rules (ARM DDI 0190,
// 3.3): address-masked GPIODATA, edge and level sensing, GPIOIC clearing edges only,
// GPIOMIS = GPIORIS & GPIOIE, the PrimeCell ID registers.
#include <gtest/gtest.h>

#include "arch/arm64/pl061.hpp"

using namespace keel;
using namespace keel::arm64;

namespace {
constexpr u32 kData = 0x000;
u32 data_at(u8 mask) { return static_cast<u32>(mask) << 2; }
} // namespace

TEST(Pl061, IdRegistersSayPl061AndPrimeCell) {
    const Pl061 g;
    const u32 want[8] = {0x61, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
    for (u32 i = 0; i < 8; ++i)
        EXPECT_EQ(g.read(0xfe0 + 4 * i), want[i]) << i;
}

TEST(Pl061, ResetIsAllInputsNoInterrupts) {
    const Pl061 g;
    for (u32 off : {0x400u, 0x404u, 0x408u, 0x40cu, 0x410u, 0x414u, 0x418u, 0x420u})
        EXPECT_EQ(g.read(off), 0u) << off;
    EXPECT_FALSE(g.irq());
}

TEST(Pl061, DataIsAddressMasked) {
    Pl061 g;
    g.write(0x400, 0xf0);                    // lines 4-7 outputs
    g.write(data_at(0xff), 0xaa);            // latch 1010 1010
    EXPECT_EQ(g.read(data_at(0xff)), 0xa0u); // inputs read their (low) lines
    g.write(data_at(0x10), 0xff);            // only line 4 may change: set
    EXPECT_EQ(g.read(data_at(0xff)), 0xb0u);
    g.write(data_at(0x10), 0x00);
    g.write(data_at(0x20), 0x00); // line 5 cleared
    EXPECT_EQ(g.read(data_at(0xff)), 0x80u);
    EXPECT_EQ(g.read(data_at(0x0f)), 0x00u); // the mask hides lines 4-7
    g.set_input(3, true);
    EXPECT_EQ(g.read(data_at(0x08)), 0x08u);
    EXPECT_EQ(g.read(kData), 0u); // address bits [9:2] zero: nothing visible
    g.set_input(7, true);         // an output line ignores the input
    EXPECT_EQ(g.read(data_at(0x80)), 0x80u);
}

TEST(Pl061, RisingEdgeLatchesUntilCleared) {
    Pl061 g;
    g.write(0x40c, 0x08); // IEV: rising
    g.write(0x410, 0x08); // IE
    g.set_input(3, true);
    EXPECT_EQ(g.read(0x414), 0x08u);
    EXPECT_EQ(g.read(0x418), 0x08u);
    EXPECT_TRUE(g.irq());
    g.set_input(3, false); // a falling edge does not clear (or set) it
    EXPECT_TRUE(g.irq());
    g.write(0x41c, 0x08);
    EXPECT_FALSE(g.irq());
    EXPECT_EQ(g.read(0x414), 0u);
    g.set_input(3, false); // no edge, nothing
    EXPECT_FALSE(g.irq());
}

TEST(Pl061, FallingAndBothEdges) {
    Pl061 g;
    g.write(0x410, 0x03); // IE lines 0, 1; IEV 0: falling
    g.write(0x408, 0x02); // IBE line 1: both edges
    g.set_input(0, true);
    g.set_input(1, true);
    EXPECT_EQ(g.read(0x414), 0x02u); // line 1 on its rising edge, line 0 waits for falling
    g.write(0x41c, 0xff);
    g.set_input(0, false);
    g.set_input(1, false);
    EXPECT_EQ(g.read(0x414), 0x03u);
}

TEST(Pl061, MaskedStatusFollowsIe) {
    Pl061 g;
    g.write(0x40c, 0x08);
    g.set_input(3, true);
    EXPECT_EQ(g.read(0x414), 0x08u); // raw status regardless of IE
    EXPECT_EQ(g.read(0x418), 0u);
    EXPECT_FALSE(g.irq());
    g.write(0x410, 0x08);
    EXPECT_TRUE(g.irq()) << "enabling a latched edge interrupts";
}

TEST(Pl061, LevelFollowsTheLineAndIgnoresClear) {
    Pl061 g;
    g.write(0x404, 0x08); // IS: level
    g.write(0x40c, 0x08); // high
    g.write(0x410, 0x08);
    EXPECT_FALSE(g.irq());
    g.set_input(3, true);
    EXPECT_TRUE(g.irq());
    g.write(0x41c, 0x08); // GPIOIC does not clear a level
    EXPECT_TRUE(g.irq());
    g.set_input(3, false);
    EXPECT_FALSE(g.irq());
    g.write(0x40c, 0x00); // low level: asserted now
    EXPECT_TRUE(g.irq());
}

TEST(Pl061, ReadOnlyRegistersIgnoreWrites) {
    Pl061 g;
    g.write(0x414, 0xff);
    g.write(0x418, 0xff);
    g.write(0xfe0, 0x00);
    EXPECT_EQ(g.read(0x414), 0u);
    EXPECT_EQ(g.read(0xfe0), 0x61u);
    EXPECT_EQ(g.read(0x41c), 0u); // write-only
    EXPECT_EQ(g.read(0x800), 0u); // reserved
}
