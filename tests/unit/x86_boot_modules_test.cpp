// The keel.load= plan for Multiboot2 modules (arch/x86_64/boot_modules.*). Inputs as the
// Multiboot2 1.0 specification defines them: module tags (3.6.6) give [mod_start, mod_end)
// and a NUL-terminated string; the memory map tag (3.6.8) types 1 available, 3 ACPI
// reclaimable, 2/4/5 reserved-like, which Keel reads as MemType (multiboot.cpp). The map
// below is the one Bochs' BIOS reports for 1 GiB (E820: 0-0x9f000 usable, the BIOS area
// reserved, 1 MiB up to the ACPI tables at the top usable).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "arch/x86_64/boot_modules.hpp"

using namespace keel;
using namespace keel::x86;

namespace {

constexpr u64 MiB_ = 1ull << 20;

std::vector<MemRange> bochs_map() {
    return {
        {0x0, 0x9f000, MemType::Usable, 0},
        {0x9f000, 0x1000, MemType::Reserved, 0},
        {0xe8000, 0x18000, MemType::Reserved, 0},
        {0x100000, 0x3fef0000, MemType::Usable, 0},
        {0x3fff0000, 0x10000, MemType::AcpiReclaim, 0},
        {0xfffc0000, 0x40000, MemType::Reserved, 0},
    };
}

// The hypervisor at 2 MiB (linker.ld), GRUB's info and modules just above it.
constexpr PhysSpan kImage{2 * MiB_, 3 * MiB_};
constexpr PhysSpan kInfo{0x500000, 0x1000};

struct Planner {
    std::vector<MemRange> map = bochs_map();
    PhysSpan image = kImage;
    PhysSpan info = kInfo;
    std::vector<ModulePlan> run(const std::vector<BootModule>& mods) {
        std::vector<ModulePlan> out(mods.size());
        plan_module_moves(mods.data(), mods.size(), map.data(), map.size(), image, info,
                          out.data());
        return out;
    }
    ModulePlan one(u64 start, u64 end, const char* cmdline) {
        return run({BootModule{start, end, cmdline}})[0];
    }
};

void expect_refused(const ModulePlan& p, const char* why) {
    EXPECT_EQ(p.action, ModuleAction::Refuse);
    ASSERT_NE(p.why, nullptr);
    EXPECT_STREQ(p.why, why);
}

TEST(X86BootModules, ModuleWithoutKeelLoadStays) {
    Planner pl;
    for (const char* s : {"", "/boot/bzImage", "/boot/x xkeel.load=0x30000000", "keel.loadx=0x1"}) {
        ModulePlan p = pl.one(0x600000, 0x700000, s);
        EXPECT_EQ(p.action, ModuleAction::Stay) << s;
        EXPECT_EQ(p.why, nullptr) << s;
    }
}

TEST(X86BootModules, AlignedDestinationInUsableRamMoves) {
    Planner pl;
    ModulePlan p = pl.one(0x600000, 0x600000 + 8221184, "/boot/bzImage keel.load=0x30000000");
    EXPECT_EQ(p.action, ModuleAction::Move);
    EXPECT_EQ(p.dst, 0x30000000u);
    EXPECT_EQ(p.why, nullptr);
    // The word may come first, and hex digits in either case.
    p = pl.one(0x600000, 0x700000, "keel.load=0X3A00000 /boot/initramfs");
    EXPECT_EQ(p.action, ModuleAction::Move);
    EXPECT_EQ(p.dst, 0x3a00000u);
}

TEST(X86BootModules, MalformedAddressIsRefused) {
    Planner pl;
    for (const char* s :
         {"keel.load", "keel.load=", "keel.load=30000000", "keel.load=0x", "keel.load=0x3000000g",
          "keel.load=0x10000000000000000", "keel.load=0x30000000000000000000"})
        expect_refused(pl.one(0x600000, 0x700000, s), "keel.load is not a hex address");
}

TEST(X86BootModules, UnalignedDestinationIsRefused) {
    Planner pl;
    expect_refused(pl.one(0x600000, 0x700000, "keel.load=0x30100000"), "not 2 MiB aligned");
    expect_refused(pl.one(0x600000, 0x700000, "keel.load=0x30000001"), "not 2 MiB aligned");
}

TEST(X86BootModules, DestinationBelowOneMibOrBeyondFourGibIsRefused) {
    Planner pl;
    // 0 is aligned and the map calls 0-0x9f000 usable: the BIOS data area is there.
    expect_refused(pl.one(0x600000, 0x610000, "keel.load=0x0"), "below 1 MiB");
    pl.map.push_back({4ull << 30, 4ull << 30, MemType::Usable, 0});
    expect_refused(pl.one(0x600000, 0x700000, "keel.load=0x100000000"), "beyond 4 GiB");
    // Ends past 4 GiB though it starts below.
    pl.map.push_back({0xc0000000, 0x3ffc0000, MemType::Usable, 0});
    expect_refused(pl.one(0x600000, 0x600000 + 3 * MiB_, "keel.load=0xffe00000"), "beyond 4 GiB");
}

TEST(X86BootModules, DestinationOutsideUsableRamIsRefused) {
    Planner pl;
    const char* why = "not usable RAM in the memory map";
    // Beyond the end of RAM (a hole up to the BIOS ROM).
    expect_refused(pl.one(0x600000, 0x700000, "keel.load=0x40000000"), why);
    // Runs into the ACPI tables at the top of RAM.
    expect_refused(pl.one(0x600000, 0x600000 + 2 * MiB_, "keel.load=0x3fe00000"), why);
    // The hole just below the BIOS ROM, and the ROM itself.
    expect_refused(pl.one(0x600000, 0x700000, "keel.load=0xffe00000"), why);
    expect_refused(pl.one(0x600000, 0x600000 + 2 * MiB_, "keel.load=0xffe00000"), why);
    // A reserved entry listed over usable RAM wins.
    pl.map.push_back({0x30100000, 0x1000, MemType::Reserved, 0});
    expect_refused(pl.one(0x600000, 0x600000 + 2 * MiB_, "keel.load=0x30000000"), why);
    // Exactly up to the ACPI tables is fine.
    pl.map = bochs_map();
    ModulePlan p = pl.one(0x600000, 0x600000 + 0x1f0000, "keel.load=0x3fe00000");
    EXPECT_EQ(p.action, ModuleAction::Move);
}

TEST(X86BootModules, AdjacentUsableRangesCountAsOne) {
    Planner pl;
    pl.map = {{0x100000, 0x2ff00000, MemType::Usable, 0},
              {0x30000000, 0x100000, MemType::Usable, 0},
              {0x30100000, 0x100000, MemType::Usable, 0}};
    ModulePlan p = pl.one(0x600000, 0x600000 + 0x300000, "keel.load=0x2fe00000");
    EXPECT_EQ(p.action, ModuleAction::Move);
    // One byte past the last range is a hole.
    expect_refused(pl.one(0x600000, 0x600000 + 0x200001, "keel.load=0x30000000"),
                   "not usable RAM in the memory map");
}

TEST(X86BootModules, DestinationOverTheImageOrTheInfoIsRefused) {
    Planner pl;
    pl.image = PhysSpan{0x30000000 + 0x1000, 0x1000};
    expect_refused(pl.one(0x600000, 0x700000, "keel.load=0x30000000"),
                   "overlaps the hypervisor image");
    pl.image = kImage;
    pl.info = PhysSpan{0x300fffff, 8};
    expect_refused(pl.one(0x600000, 0x700000, "keel.load=0x30000000"),
                   "overlaps the Multiboot2 information");
    // Ending exactly where the info starts does not overlap.
    pl.info = PhysSpan{0x30100000, 8};
    EXPECT_EQ(pl.one(0x600000, 0x700000, "keel.load=0x30000000").action, ModuleAction::Move);
}

TEST(X86BootModules, DestinationOverAnotherModuleIsRefused) {
    Planner pl;
    // Module 1 (not moving) sits where module 0 wants to go; module 2 moves only if its
    // destination avoids module 0's.
    auto out = pl.run({{0x600000, 0x800000, "a keel.load=0x10000000"},
                       {0x10100000, 0x10200000, "b"},
                       {0x900000, 0xa00000, "c keel.load=0x20000000"}});
    expect_refused(out[0], "overlaps another module");
    EXPECT_EQ(out[1].action, ModuleAction::Stay);
    EXPECT_EQ(out[2].action, ModuleAction::Move);
    // A refused module is still a module: its source is protected too.
    out = pl.run({{0x600000, 0x800000, "a keel.load=0x10100000"},
                  {0x900000, 0xa00000, "c keel.load=0x600000"}});
    expect_refused(out[0], "not 2 MiB aligned");
    expect_refused(out[1], "overlaps another module");
}

TEST(X86BootModules, SecondClaimOnADestinationIsRefused) {
    Planner pl;
    auto out = pl.run({{0x600000, 0x600000 + 8 * MiB_, "k keel.load=0x30000000"},
                       {0xe00000, 0xf00000, "r keel.load=0x34000000"},
                       {0xf00000, 0x1000000, "x keel.load=0x30200000"}});
    EXPECT_EQ(out[0].action, ModuleAction::Move);
    EXPECT_EQ(out[1].action, ModuleAction::Move);
    expect_refused(out[2], "overlaps another module's destination");
    // A refused claim does not block a later one.
    out = pl.run({{0x600000, 0x700000, "x keel.load=0x30100000"},
                  {0xe00000, 0xf00000, "r keel.load=0x30000000"}});
    expect_refused(out[0], "not 2 MiB aligned");
    EXPECT_EQ(out[1].action, ModuleAction::Move);
}

TEST(X86BootModules, EmptyOrInvertedModuleIsRefused) {
    Planner pl;
    const char* why = "the module is empty or its end is before its start";
    expect_refused(pl.one(0x600000, 0x600000, "keel.load=0x30000000"), why);
    expect_refused(pl.one(0x700000, 0x600000, "keel.load=0x30000000"), why);
}

// A destination overlapping only its own source is accepted (memmove handles it), and
// since no destination overlaps another module's source or destination, carrying the
// moves out in any order gives the same memory: checked on a simulated RAM, both orders.
TEST(X86BootModules, MovesGiveTheSameResultInAnyOrder) {
    Planner pl;
    pl.map = {{0x100000, 0x3000000, MemType::Usable, 0}};
    pl.image = PhysSpan{0x100000, 0x100000};
    pl.info = PhysSpan{0x200000, 0x1000};
    std::vector<BootModule> mods = {
        {0x300000, 0x500000, "a keel.load=0x400000"},  // overlaps its own source
        {0x800000, 0x880000, "b keel.load=0x1000000"}, // lands on free RAM
        {0x880000, 0x900000, "c"},                     // stays
        {0x900000, 0x980000, "d keel.load=0x1000000"}, // b's destination: refused
    };
    auto plan = pl.run(mods);
    ASSERT_EQ(plan[0].action, ModuleAction::Move);
    ASSERT_EQ(plan[1].action, ModuleAction::Move);
    ASSERT_EQ(plan[2].action, ModuleAction::Stay);
    ASSERT_EQ(plan[3].action, ModuleAction::Refuse);

    std::vector<u8> ram0(0x3100000);
    for (usize i = 0; i < ram0.size(); ++i)
        ram0[i] = u8(i * 131 + (i >> 16));
    auto apply = [&](std::vector<usize> order) {
        std::vector<u8> ram = ram0;
        for (usize i : order)
            if (plan[i].action == ModuleAction::Move)
                std::memmove(&ram[plan[i].dst], &ram[mods[i].start], mods[i].end - mods[i].start);
        return ram;
    };
    auto fwd = apply({0, 1, 2, 3});
    auto rev = apply({3, 2, 1, 0});
    EXPECT_TRUE(fwd == rev);
    // Every moved module arrived whole; the module that stays and the refused one are intact.
    for (usize i = 0; i < mods.size(); ++i) {
        const u64 at = plan[i].action == ModuleAction::Move ? plan[i].dst : mods[i].start;
        EXPECT_TRUE(std::equal(ram0.begin() + long(mods[i].start), ram0.begin() + long(mods[i].end),
                               fwd.begin() + long(at)))
            << "module " << i;
    }
}

} // namespace
