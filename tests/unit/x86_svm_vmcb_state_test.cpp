// A vCPU's guest state between its VMCB and a live update's VcpuX86 record
// (arch/x86_64/svm/vmcb_state.*), checked against the VMCB's layout in AMD APM Vol. 2
// appendix B (table B-1, the control area; table B-2, the state-save area at 0x400: ES 0x400,
// CS 0x410 ... TR 0x490 each {selector, attrib, limit, base}, CPL 0x4CB, EFER 0x4D0, CR4
// 0x548, CR3 0x550, CR0 0x558, DR7 0x560, DR6 0x568, RFLAGS 0x570, RIP 0x578, RSP 0x5D8, RAX
// 0x5F8, STAR 0x600 ... SYSENTER_EIP 0x638, CR2 0x640, G_PAT 0x668; TSC_OFFSET 0x050,
// V_INTR 0x060, interrupt shadow 0x068, EVENTINJ 0x0A8) and the CPL rules of the SDM (Vol. 3A
// 5.5: CPL = SS.DPL in protected mode; 20.1 real mode at 0; 20.2 virtual-8086 mode at 3). The
// offsets below are the manual's, written out, not read from the struct.
#include <gtest/gtest.h>
#include <string.h>

#include "arch/x86_64/svm/vmcb_state.hpp"

using namespace keel;
using namespace keel::svm;

namespace {

alignas(4096) u8 g_page[4096];

u64 at64(const u8* page, u32 off) {
    u64 v;
    memcpy(&v, page + off, 8);
    return v;
}

void put64(u8* page, u32 off, u64 v) { memcpy(page + off, &v, 8); }

// A record whose every field differs from every other, in a 64-bit protected-mode guest at
// CPL 3 (SS.DPL 3, as a user task in Linux), with EFER.SVME set and a valid event to inject.
update::VcpuX86Record sample() {
    update::VcpuX86Record r{};
    u64 n = 0x1000;
    for (u64* f :
         {&r.rsp, &r.rip, &r.cr2, &r.cr3, &r.star, &r.lstar, &r.cstar, &r.sfmask, &r.kernel_gs_base,
          &r.sysenter_cs, &r.sysenter_esp, &r.sysenter_eip, &r.tsc_offset, &r.pat, &r.rax, &r.dr7})
        *f = n += 0x111;
    r.rflags = 0x202;
    r.cr0 = 0x80050033; // PG WP NE ET MP PE
    r.cr4 = 0x6f0;
    r.efer = 0x1d01; // SCE LME LMA NXE SVME
    r.dr6 = 0xffff0ff0;
    update::X86Segment* segs[] = {&r.es, &r.cs,   &r.ss,   &r.ds,   &r.fs,
                                  &r.gs, &r.gdtr, &r.ldtr, &r.idtr, &r.tr};
    for (u32 i = 0; i < 10; ++i)
        *segs[i] = {static_cast<u16>(0x10 + i * 8 + 3), static_cast<u16>(0xa0 + i), 0xfff00 + i,
                    0xffff800000000000ull + i * 0x1000};
    r.ss.attrib = 0xcf3;                 // present, DPL 3, writable data
    r.cs.attrib = 0xafb;                 // present, DPL 3, 64-bit code
    r.event_inject = 0x80000000u | 0x30; // valid, external interrupt, vector 0x30
    r.int_control = (1ull << 24) | (1ull << 8) | (0xfull << 16) | (1ull << 20);
    r.int_shadow = 1;
    return r;
}

Vmcb& blank() {
    memset(g_page, 0, sizeof g_page);
    return *reinterpret_cast<Vmcb*>(g_page);
}

} // namespace

TEST(SvmVmcbState, RecordLandsAtTheApmOffsets) {
    const update::VcpuX86Record r = sample();
    vmcb_state_from_record(r, false, blank());
    const u8* p = g_page;
    const u32 seg_at[] = {0x400, 0x410, 0x420, 0x430, 0x440, 0x450, 0x460, 0x470, 0x480, 0x490};
    const update::X86Segment* segs[] = {&r.es, &r.cs,   &r.ss,   &r.ds,   &r.fs,
                                        &r.gs, &r.gdtr, &r.ldtr, &r.idtr, &r.tr};
    for (u32 i = 0; i < 10; ++i) {
        u16 sel, attrib;
        u32 limit;
        memcpy(&sel, p + seg_at[i], 2);
        memcpy(&attrib, p + seg_at[i] + 2, 2);
        memcpy(&limit, p + seg_at[i] + 4, 4);
        EXPECT_EQ(sel, segs[i]->selector) << "segment at " << std::hex << seg_at[i];
        EXPECT_EQ(attrib, segs[i]->attrib) << "segment at " << std::hex << seg_at[i];
        EXPECT_EQ(limit, segs[i]->limit) << "segment at " << std::hex << seg_at[i];
        EXPECT_EQ(at64(p, seg_at[i] + 8), segs[i]->base) << "segment at " << std::hex << seg_at[i];
    }
    EXPECT_EQ(at64(p, 0x4d0), r.efer);
    EXPECT_EQ(at64(p, 0x548), r.cr4);
    EXPECT_EQ(at64(p, 0x550), r.cr3);
    EXPECT_EQ(at64(p, 0x558), r.cr0);
    EXPECT_EQ(at64(p, 0x560), r.dr7);
    EXPECT_EQ(at64(p, 0x568), r.dr6);
    EXPECT_EQ(at64(p, 0x570), r.rflags);
    EXPECT_EQ(at64(p, 0x578), r.rip);
    EXPECT_EQ(at64(p, 0x5d8), r.rsp);
    EXPECT_EQ(at64(p, 0x5f8), r.rax);
    EXPECT_EQ(at64(p, 0x600), r.star);
    EXPECT_EQ(at64(p, 0x608), r.lstar);
    EXPECT_EQ(at64(p, 0x610), r.cstar);
    EXPECT_EQ(at64(p, 0x618), r.sfmask);
    EXPECT_EQ(at64(p, 0x620), r.kernel_gs_base);
    EXPECT_EQ(at64(p, 0x628), r.sysenter_cs);
    EXPECT_EQ(at64(p, 0x630), r.sysenter_esp);
    EXPECT_EQ(at64(p, 0x638), r.sysenter_eip);
    EXPECT_EQ(at64(p, 0x640), r.cr2);
    EXPECT_EQ(at64(p, 0x668), r.pat); // G_PAT: the guest's PAT under nested paging (15.25.8)
    EXPECT_EQ(at64(p, 0x050), r.tsc_offset);
    EXPECT_EQ(at64(p, 0x060), r.int_control);
    EXPECT_EQ(at64(p, 0x068), 1u);
    EXPECT_EQ(at64(p, 0x0a8), r.event_inject);
}

TEST(SvmVmcbState, CplFollowsTheModeNotTheRecord) {
    update::VcpuX86Record r = sample();
    vmcb_state_from_record(r, false, blank());
    EXPECT_EQ(g_page[0x4cb], 3u) << "protected mode: CPL = SS.DPL (3)";
    r.ss.attrib = 0xc93; // DPL 0
    vmcb_state_from_record(r, false, blank());
    EXPECT_EQ(g_page[0x4cb], 0u);
    r.ss.attrib = 0xcf3;
    r.rflags |= 1u << 17; // virtual-8086 mode (in a 32-bit protected-mode guest)
    vmcb_state_from_record(r, false, blank());
    EXPECT_EQ(g_page[0x4cb], 3u);
    r.cr0 = 0x10; // real mode: CPL 0 whatever SS says
    vmcb_state_from_record(r, false, blank());
    EXPECT_EQ(g_page[0x4cb], 0u);
}

TEST(SvmVmcbState, WaitingInterceptsComeBackOnTopOfTheControls) {
    update::VcpuX86Record r = sample();
    Vmcb& c = blank();
    const u32 controls = 1u << 24 | 1u << 0; // HLT, INTR: set by setup_controls before
    memcpy(g_page + 0x00c, &controls, 4);
    vmcb_state_from_record(r, true, c);
    u32 misc1;
    memcpy(&misc1, g_page + 0x00c, 4);
    // Vector 3 (table B-1): bit 4 VINTR, bit 20 IRET; the controls already there stay.
    EXPECT_EQ(misc1, controls | 1u << 4 | 1u << 20);
    r.int_control = 1ull << 24; // no virtual interrupt request waits
    vmcb_state_from_record(r, false, blank());
    memcpy(&misc1, g_page + 0x00c, 4);
    EXPECT_EQ(misc1, 0u);
}

TEST(SvmVmcbState, ReadBackGivesTheSameRecord) {
    const update::VcpuX86Record r = sample();
    Vmcb& c = blank();
    vmcb_state_from_record(r, false, c);
    update::VcpuX86Record back{};
    back.rax = r.rax, back.pat = r.pat; // kept outside the VMCB's describe (Vcpu)
    vmcb_state_to_record(c, back);
    EXPECT_EQ(memcmp(&back, &r, sizeof r), 0);
    // And the reading side from the manual's offsets: RIP at 0x578, EFER at 0x4d0.
    put64(g_page, 0x578, 0xabcdef);
    put64(g_page, 0x4d0, 0x1500);
    vmcb_state_to_record(c, back);
    EXPECT_EQ(back.rip, 0xabcdefu);
    EXPECT_EQ(back.efer, 0x1500u);
}

TEST(SvmVmcbState, RefusesWhatVmrunOrKeelNeverLeaves) {
    EXPECT_TRUE(vmcb_record_valid(sample()));
    update::VcpuX86Record r = sample();
    r.efer &= ~(1ull << 12); // EFER.SVME clear: VMRUN fails (15.5.1)
    EXPECT_FALSE(vmcb_record_valid(r));
    r = sample();
    r.int_control &= ~(1ull << 24); // the guest would own physical interrupts
    EXPECT_FALSE(vmcb_record_valid(r));
    r = sample();
    r.int_control |= 1ull << 33; // a V_INTR_VECTOR Keel never sets
    EXPECT_FALSE(vmcb_record_valid(r));
    r = sample();
    r.event_inject = 0x30; // an event without its valid bit
    EXPECT_FALSE(vmcb_record_valid(r));
    r = sample();
    r.event_inject = 0x80000000ull | 0x0e | 1ull << 32; // an error code Keel never injects
    EXPECT_FALSE(vmcb_record_valid(r));
    r = sample();
    r.event_inject = 0;
    EXPECT_TRUE(vmcb_record_valid(r));
    r.int_shadow = 2;
    EXPECT_FALSE(vmcb_record_valid(r));
}
