// The mailbox's VFS command (docs/mailbox.md §3, docs/sriov.md): the reply layout, filled
// from the VF table the image hands the service, vm_id refused, no table = no VFs, more
// VFs than one reply holds = the first eight and the total.
#include "drivers/sriov/vf_table.hpp"
#include "tests/unit/mailbox_test_util.hpp"

namespace keel::mailbox {
namespace {

using test::Box;

// A VF table with `n` VFs of a PF at 00:01.0 (offset 1, stride 1), BAR0 16 KiB per VF.
sriov::VfTable table(u16 n) {
    sriov::Capability c;
    c.num_vfs = n;
    c.first_offset = 1;
    c.stride = 1;
    pci::Bar bars[6] = {};
    bars[0].present = true;
    bars[0].size = 16 * KiB;
    bars[0].addr = 0x10008000;
    sriov::VfTable t;
    EXPECT_EQ(t.add_pf(pci::Bdf{0, 1, 0}, c, bars, 0), Status::Ok);
    return t;
}

TEST(MailboxVfs, ListsEveryVfWithItsState) {
    Box b;
    sriov::VfTable t = table(2);
    t.find(pci::Bdf{0, 1, 1})->provisioned = true;
    t.find(pci::Bdf{0, 1, 1})->controller = 1;
    ASSERT_EQ(t.assign(pci::Bdf{0, 1, 1}, 3), Status::Ok);
    b.svc->set_vfs(&t);
    b.attach();
    ResponseSlot r;
    ASSERT_EQ(b.call(Opcode::Vfs, 0, nullptr, 0, &r), Status::Ok);
    // Byte layout per docs/mailbox.md §3: count u16, total u16, reserved u32, then 24-byte
    // entries: bus, dev, fn, flags, pf rid u16, controller u16, owner u32, reserved, bar0 u64.
    const u8* p = r.payload;
    EXPECT_EQ(p[0] | (p[1] << 8), 2);
    EXPECT_EQ(p[2] | (p[3] << 8), 2);
    const u8* e0 = p + 8;
    EXPECT_EQ(e0[0], 0);
    EXPECT_EQ(e0[1], 1);
    EXPECT_EQ(e0[2], 1);
    EXPECT_EQ(e0[3], 1) << "provisioned";
    EXPECT_EQ(e0[4] | (e0[5] << 8), 0x08) << "PF 00:01.0";
    EXPECT_EQ(e0[6] | (e0[7] << 8), 1) << "controller";
    EXPECT_EQ(e0[8], 3) << "owner VM 3";
    u64 bar0;
    memcpy(&bar0, e0 + 16, 8);
    EXPECT_EQ(bar0, 0x10008000u);
    const u8* e1 = p + 8 + 24;
    EXPECT_EQ(e1[2], 2);
    EXPECT_EQ(e1[3], 0) << "not provisioned";
    memcpy(&bar0, e1 + 16, 8);
    EXPECT_EQ(bar0, 0x1000c000u);
}

TEST(MailboxVfs, NoTableNoVfsAndVmIdRefused) {
    Box b;
    b.attach();
    ResponseSlot r;
    ASSERT_EQ(b.call(Opcode::Vfs, 0, nullptr, 0, &r), Status::Ok);
    EXPECT_EQ(r.payload[0] | r.payload[2], 0);
    EXPECT_EQ(b.call(Opcode::Vfs, 1), Status::InvalidArgument) << "VFS names no VM";
    const u8 junk[4] = {1, 2, 3, 4};
    EXPECT_EQ(b.call(Opcode::Vfs, 0, junk, sizeof junk), Status::InvalidArgument) << "no payload";
}

TEST(MailboxVfs, MoreThanOneReplyHoldsGivesTheTotal) {
    Box b;
    sriov::VfTable t = table(7);
    sriov::Capability c;
    c.num_vfs = 5;
    c.first_offset = 1;
    c.stride = 1;
    pci::Bar bars[6] = {};
    ASSERT_EQ(t.add_pf(pci::Bdf{0, 2, 0}, c, bars, 0), Status::Ok);
    b.svc->set_vfs(&t);
    b.attach();
    ResponseSlot r;
    ASSERT_EQ(b.call(Opcode::Vfs, 0, nullptr, 0, &r), Status::Ok);
    EXPECT_EQ(r.payload[0], kVfsMax);
    EXPECT_EQ(r.payload[2], 12);
}

} // namespace
} // namespace keel::mailbox

namespace keel::mailbox {
namespace {

using test::Box;

// ATTACH_VF / DETACH_VF (§3.11): 8-byte payload bus, dev, fn, reserved, reserved u32; the
// 64-byte reply reason u32, owner u32, guest_bar0 u64, message[48]; one audit record each
// with the BDF and the outcome; refusals carry their reason.
class MailboxVfAssign : public ::testing::Test {
protected:
    Box b;
    sriov::VfTable t = table(2);
    void SetUp() override {
        b.svc->set_vfs(&t);
        b.attach();
        const u8 kernel[16] = {1};
        CreateVmPayload c = test::create_payload("a", sizeof kernel, kernel);
        ASSERT_EQ(b.call(Opcode::CreateVm, 0, &c, sizeof c), Status::Ok);
    }
    const AuditRecord& last_record() { return b.log(b.hdr().log_prod - 1); }
    static std::string detail(const AuditRecord& r) {
        return std::string(reinterpret_cast<const char*>(r.detail),
                           strnlen(reinterpret_cast<const char*>(r.detail), sizeof r.detail));
    }
};

TEST_F(MailboxVfAssign, AttachReachesTheBackendAndIsAudited) {
    const u8 payload[8] = {0, 1, 1, 0, 0, 0, 0, 0};
    ResponseSlot r;
    ASSERT_EQ(b.call(Opcode::AttachVf, 1, payload, sizeof payload, &r), Status::Ok);
    ASSERT_EQ(b.be.vf_calls.size(), 1u);
    EXPECT_EQ(b.be.vf_calls[0].id, 1u);
    EXPECT_EQ(b.be.vf_calls[0].rid, 0x09) << "00:01.1";
    EXPECT_TRUE(b.be.vf_calls[0].attach);
    u32 reason;
    memcpy(&reason, r.payload, 4);
    EXPECT_EQ(reason, 0u);
    EXPECT_STREQ(reinterpret_cast<const char*>(r.payload + 16), "ok");
    const AuditRecord& rec = last_record();
    EXPECT_EQ(rec.kind, static_cast<u32>(AuditKind::Command));
    EXPECT_EQ(rec.opcode, 15u);
    EXPECT_EQ(rec.vm_id, 1u);
    EXPECT_EQ(detail(rec), "attach-vf 00:01.1: ok");
    EXPECT_NE(b.hdr().features & kFeatureVfAssign, 0u);
}

TEST_F(MailboxVfAssign, ARefusalCarriesItsReasonInReplyAndRecord) {
    b.be.vf_result = Status::Busy;
    b.be.vf_why = 4; // owned by another VM
    const u8 payload[8] = {0, 1, 1, 0, 0, 0, 0, 0};
    ResponseSlot r;
    EXPECT_EQ(b.call(Opcode::DetachVf, 1, payload, sizeof payload, &r), Status::Busy);
    u32 reason;
    memcpy(&reason, r.payload, 4);
    EXPECT_EQ(reason, 4u);
    EXPECT_STREQ(reinterpret_cast<const char*>(r.payload + 16), "VF owned by another VM");
    EXPECT_EQ(last_record().status, static_cast<u32>(Status::Busy));
    EXPECT_EQ(detail(last_record()), "detach-vf 00:01.1: VF owned by another ") << "40 bytes";
    EXPECT_FALSE(b.be.vf_calls.back().attach);
}

TEST_F(MailboxVfAssign, MalformedOrNoVmIsRefusedBeforeTheBackend) {
    const u8 bad_dev[8] = {0, 32, 1, 0, 0, 0, 0, 0}, bad_fn[8] = {0, 1, 8, 0, 0, 0, 0, 0},
             reserved[8] = {0, 1, 1, 1, 0, 0, 0, 0}, reserved2[8] = {0, 1, 1, 0, 0, 0, 1, 0};
    for (const u8* p : {bad_dev, bad_fn, reserved, reserved2})
        EXPECT_EQ(b.call(Opcode::AttachVf, 1, p, 8), Status::InvalidArgument);
    const u8 good[8] = {0, 1, 1, 0, 0, 0, 0, 0};
    EXPECT_EQ(b.call(Opcode::AttachVf, 0, good, 8), Status::InvalidArgument) << "names a VM";
    EXPECT_EQ(b.call(Opcode::AttachVf, 1, good, 4), Status::InvalidArgument) << "short";
    ResponseSlot r;
    EXPECT_EQ(b.call(Opcode::AttachVf, 2, good, 8, &r), Status::NotFound) << "VM 2 is free";
    u32 reason;
    memcpy(&reason, r.payload, 4);
    EXPECT_EQ(reason, 7u);
    EXPECT_TRUE(b.be.vf_calls.empty());
}

} // namespace
} // namespace keel::mailbox
