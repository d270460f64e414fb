#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "hypervisor/vm/vm_def.hpp"

using namespace keel;

namespace {
VmDefError parse(const char* s, VmDef& d) { return parse_vm_def(s, strlen(s), d); }
} // namespace

TEST(VmDef, ParsesCpusMemAfterAndMode) {
    VmDef d;
    ASSERT_EQ(parse("cpus:1,mem:64M", d), VmDefError::None);
    EXPECT_EQ(d.cpu_mask, 0x2u);
    EXPECT_EQ(d.mem_bytes, 64 * MiB);
    EXPECT_EQ(d.after, 0u);
    EXPECT_EQ(d.mode, GuestMode::Basic);
    EXPECT_STREQ(d.text, "cpus:1,mem:64M");

    ASSERT_EQ(parse("cpus:2-3,mem:1G,after:1,guest:bench", d), VmDefError::None);
    EXPECT_EQ(d.cpu_mask, 0xcu);
    EXPECT_EQ(d.mem_bytes, GiB);
    EXPECT_EQ(d.after, 1u);
    EXPECT_EQ(d.mode, GuestMode::Bench);

    ASSERT_EQ(parse("mem:4096K,cpus:1-2+5,guest:wild", d), VmDefError::None);
    EXPECT_EQ(d.cpu_mask, 0x26u);
    EXPECT_EQ(d.mem_bytes, 4 * MiB);
    EXPECT_EQ(d.mode, GuestMode::Wild);

    ASSERT_EQ(parse("cpus:1,mem:64M,guest:scan", d), VmDefError::None);
    EXPECT_EQ(d.mode, GuestMode::Scan);
    ASSERT_EQ(parse("cpus:1-2,mem:4M,guest:mmio", d), VmDefError::None);
    EXPECT_EQ(d.mode, GuestMode::Mmio);
}

TEST(VmDef, ParsesEveryGuestMode) {
    const struct {
        const char* name;
        GuestMode mode;
    } modes[] = {{"basic", GuestMode::Basic},       {"wild", GuestMode::Wild},
                 {"bench", GuestMode::Bench},       {"regfill", GuestMode::RegFill},
                 {"regcheck", GuestMode::RegCheck}, {"fetch", GuestMode::Fetch},
                 {"ptimer", GuestMode::PTimer},     {"debug", GuestMode::Debug},
                 {"button", GuestMode::Button},     {"deaf", GuestMode::Deaf},
                 {"scan", GuestMode::Scan},         {"mmio", GuestMode::Mmio},
                 {"vmrun", GuestMode::Vmrun},       {"triple", GuestMode::Triple}};
    for (const auto& m : modes) {
        VmDef d;
        char text[64];
        snprintf(text, sizeof text, "cpus:1,mem:4M,guest:%s", m.name);
        ASSERT_EQ(parse(text, d), VmDefError::None) << text;
        EXPECT_EQ(d.mode, m.mode) << text;
    }
    GuestMode g = GuestMode::Basic;
    EXPECT_FALSE(parse_guest_mode("deafx", 5, &g));
    EXPECT_FALSE(parse_guest_mode("dea", 3, &g));
    EXPECT_EQ(g, GuestMode::Basic);
}

TEST(VmDef, RejectsMalformed) {
    VmDef d;
    for (const char* bad :
         {"", "cpus:1", "mem:64M", "cpus:,mem:64M", "cpus:3-1,mem:64M", "cpus:64,mem:64M",
          "cpus:1,mem:64X", "cpus:1,mem:64M,", "cpus:1,,mem:64M", "cpus:1,mem:64M,color:red",
          "cpus:1,cpus:2,mem:64M", "cpus:a,mem:2M", "cpus:1,mem:64M,after:0",
          "cpus:1,mem:64M,guest:linux", "cpus:1+,mem:2M"})
        EXPECT_EQ(parse(bad, d), VmDefError::Malformed) << bad;
    EXPECT_EQ(parse("cpus:1,mem:3M", d), VmDefError::BadMemSize);
    EXPECT_EQ(parse("cpus:1,mem:0", d), VmDefError::BadMemSize);
    EXPECT_EQ(parse("cpus:1,mem:99999999999999999999G", d), VmDefError::Malformed);
}

TEST(VmDef, LongTextIsTruncatedForMessages) {
    VmDef d;
    std::string s = "cpus:1,mem:64M,guest:basic" + std::string(100, 'x');
    EXPECT_EQ(parse_vm_def(s.c_str(), s.size(), d), VmDefError::Malformed);
    EXPECT_EQ(strlen(d.text), VmDef::kTextMax - 1);
}

TEST(VmDef, IteratesKeelVmWords) {
    std::vector<std::string> seen;
    u32 n = for_each_vm_word(" keel.vm=cpus:1,mem:2M keel.vmx=1 console=x\tkeel.vm=bad keel.vm=",
                             [&](u32 i, const char* t, usize len) {
                                 EXPECT_EQ(i, seen.size());
                                 seen.emplace_back(t, len);
                             });
    ASSERT_EQ(n, 3u);
    EXPECT_EQ(seen[0], "cpus:1,mem:2M");
    EXPECT_EQ(seen[1], "bad");
    EXPECT_EQ(seen[2], "");
    EXPECT_EQ(for_each_vm_word(nullptr, [](u32, const char*, usize) {}), 0u);
}

TEST(VmDef, AdmissionChecks) {
    VmDef d;
    ASSERT_EQ(parse("cpus:2-3,mem:128M", d), VmDefError::None);
    AdmitContext ok{0xf, 0x1, 0x2, 512 * MiB};
    EXPECT_EQ(check_vm_def(d, ok), VmDefError::None);
    AdmitContext c = ok;
    c.cores_present = 0x7;
    EXPECT_EQ(check_vm_def(d, c), VmDefError::NoSuchCore);
    c = ok;
    c.cores_owned = 0x4;
    EXPECT_EQ(check_vm_def(d, c), VmDefError::CoreTaken);
    c = ok;
    c.pool_free = 126 * MiB;
    EXPECT_EQ(check_vm_def(d, c), VmDefError::NoMemory);
    ASSERT_EQ(parse("cpus:0-1,mem:2M", d), VmDefError::None);
    EXPECT_EQ(check_vm_def(d, ok), VmDefError::ReservedCore);
    EXPECT_STRNE(vm_def_error_text(VmDefError::ReservedCore), "?");
}
