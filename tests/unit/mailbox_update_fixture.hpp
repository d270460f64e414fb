// Live update through the mailbox, the fixtures (docs/handover.md, docs/mailbox.md §3.10): a
// Service with a fake backend and an update region (MailboxUpdate), a fake arch swap that
// describes the fake backend's VMs as arm64's would (FakeSwap, MailboxApply), and a second
// Service that adopts the record as the incoming image's would (MailboxAdopt). Used by
// mailbox_update_test.cpp and mailbox_trial_test.cpp.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mailbox_test_util.hpp"
#include "update_image.hpp"

namespace keel::update {

using test::arm64_expect;
using test::ImageSpec;
using test::make_update_image;

// Through the mailbox (Service, fake backend): Begin, chunks, Verify, Apply.
struct MailboxUpdate : ::testing::Test {
    mailbox::test::Box b;
    std::vector<u8> region = std::vector<u8>(256 * KiB, 0xee);
    void SetUp() override {
        b.attach();
        mailbox::Service::UpdateSetup up;
        up.region = region.data();
        up.region_size = region.size();
        up.expect = arm64_expect();
        b.svc->set_update(up);
    }
    Status step(mailbox::UpdateStep st, u64 size = 0, u64 off = 0, u64 len = 0,
                mailbox::UpdateReply* out = nullptr) {
        mailbox::UpdatePayload p{static_cast<u32>(st), 0, size, off, 0, len};
        mailbox::ResponseSlot r;
        const Status s = b.call(mailbox::Opcode::Update, 0, &p, sizeof p, &r);
        if (out) memcpy(out, r.payload, sizeof *out);
        return s;
    }
    // Sends the whole image in chunks of `chunk` bytes, then Verify.
    Status send(const std::vector<u8>& img, mailbox::UpdateReply* out, u64 chunk = 1024) {
        KEEL_TRY(step(mailbox::UpdateStep::Begin, img.size()));
        for (u64 off = 0; off < img.size(); off += chunk) {
            const u64 n = std::min<u64>(chunk, img.size() - off);
            std::vector<u8> buf(img.begin() + static_cast<long>(off),
                                img.begin() + static_cast<long>(off + n));
            buf.resize((n + 3) & ~u64(3), 0);
            memcpy(b.bytes() + mailbox::kBulkOffset, buf.data(), buf.size());
            KEEL_TRY(step(mailbox::UpdateStep::Chunk, 0, off, n));
        }
        return step(mailbox::UpdateStep::Verify, 0, 0, 0, out);
    }
    std::string last_detail() {
        const mailbox::AuditRecord& r = b.log(static_cast<u32>(b.svc->audit().next_index() - 1));
        return std::string(reinterpret_cast<const char*>(r.detail));
    }
};

// The arch's swap, faked: describes what the fake backend holds as the arm64 one would.
struct FakeSwap final : Swap {
    mailbox::test::FakeBackend* be = nullptr;
    Status quiesce_result = Status::Ok;
    bool skip_vm = false; // describe leaves a created VM out: the record's check must catch it
    u32 quiesces = 0, resumes = 0, describes = 0;
    bool parked = false;
    Status reserve(u8**, u64*, u8**, u64*) override { return Status::Unsupported; } // set by hand
    Status quiesce(u64, u32* n) override {
        ++quiesces;
        if (quiesce_result != Status::Ok) {
            *n = 0;
            return quiesce_result; // the real one resumes before it answers
        }
        parked = true;
        *n = 3;
        return Status::Ok;
    }
    Status describe(HandoverWriter& w) override {
        ++describes;
        EXPECT_TRUE(parked) << "described only while every vCPU is parked";
        for (u32 id = 1; id <= mailbox::kMaxVms; ++id) {
            if (be->state(id) == VmState::Free || (skip_vm && id == 2)) continue;
            VmRecord v{};
            v.id = id;
            v.vcpu_count = 1;
            KEEL_TRY(w.add(RecordType::Vm, v));
            KEEL_TRY(w.add(RecordType::Stage2, Stage2Record{id, id, 0x1000, 0, 0}));
            VgicDistRecord d{};
            d.vm_id = id;
            KEEL_TRY(w.add(RecordType::VgicDist, d));
            VmDevicesRecord dev{};
            dev.vm_id = id;
            KEEL_TRY(w.add(RecordType::VmDevices, dev));
            VcpuRecord c{};
            c.vm_id = id;
            KEEL_TRY(w.add(RecordType::Vcpu, c));
        }
        const PoolRun run{0x40000000, 2 * MiB, kOwnerHypervisor, 0};
        return w.add_pool(&run, 1);
    }
    void resume() override {
        ++resumes;
        parked = false;
    }
    void image_span(u64* base, u64* span, u64* entry) override {
        *base = 0x40200000, *span = 8 * MiB, *entry = 0x40200000;
    }
    u64 device_tree() override { return 0x48000000; }
    u64 release_outgoing(const OldImageRecord&) override { return 0; }
    void describe_image(OldImageRecord& r) override {
        r.cores_online = 0xf;
        r.tables_base = 0x5fe00000;
        r.tables_size = 2 * MiB;
        r.quiesce_tick = 1234;
    }
    std::vector<u8> slot = std::vector<u8>(2 * MiB, 0xee); // the run slot, dirty
    u64 slot_size = 2 * MiB;
    HandBack answer{HandBackReason::AdoptionNotBuilt, Status::Ok};
    u32 enters = 0;
    u64 entered_at = ~0ull;
    void run_slot(u8** s, u64* size) override {
        *s = slot.data();
        *size = slot_size;
    }
    std::vector<u8> seen;           // the record as the incoming image got it
    std::function<void()> on_enter; // what the test sees at the jump (the region, say)
    HandBack enter(u64 entry_offset, const u8* record, u64 bytes) override {
        ++enters;
        if (on_enter) on_enter();
        entered_at = entry_offset;
        seen.assign(record, record + bytes);
        EXPECT_TRUE(parked) << "entered only while every vCPU is parked";
        HandoverView v; // what the incoming image checks first
        EXPECT_EQ(parse_handover(record, bytes, kHandoverAbiMin, kHandoverAbi, v), Status::Ok);
        return answer;
    }
    // The trial's rollback (§4.7): the outgoing image restored, then entered with the record.
    Status restore_result = Status::Ok;
    u32 restores = 0, outgoing_enters = 0;
    HandBack outgoing_answer{HandBackReason::AdoptionRefused, Status::Ok};
    Status take_outgoing(const OldImageRecord&, u8**, u64*) override {
        return Status::Unsupported; // the tests hand the service the region themselves
    }
    Status restore_outgoing() override {
        ++restores;
        return restore_result;
    }
    HandBack enter_outgoing(const u8* record, u64 bytes) override {
        ++outgoing_enters;
        EXPECT_EQ(restores, outgoing_enters) << "restored before it is entered";
        EXPECT_TRUE(parked) << "entered only while every vCPU is parked";
        seen.assign(record, record + bytes);
        return outgoing_answer;
    }
};

struct MailboxApply : MailboxUpdate {
    FakeSwap swap;
    std::vector<u64> record = std::vector<u64>(16 * 1024, 0);
    mailbox::Service::UpdateSetup setup() {
        mailbox::Service::UpdateSetup up;
        up.region = region.data();
        up.region_size = region.size();
        up.record = reinterpret_cast<u8*>(record.data());
        up.record_size = record.size() * 8;
        up.expect = arm64_expect();
        up.swap = &swap;
        return up;
    }
    void SetUp() override {
        MailboxUpdate::SetUp();
        swap.be = &b.be;
        b.svc->set_update(setup());
        const u8 kernel[64] = {1, 2, 3};
        for (const char* name : {"one", "two"}) {
            mailbox::CreateVmPayload p = mailbox::test::create_payload(name, sizeof kernel, kernel);
            ASSERT_EQ(b.call(mailbox::Opcode::CreateVm, 0, &p, sizeof p), Status::Ok);
        }
        mailbox::UpdateReply out{};
        ASSERT_EQ(send(make_update_image(), &out), Status::Ok) << out.message;
    }
};

// The whole mailbox continues on the incoming image (docs/handover.md §2.2 Mailbox and
// Console, §4 step 4): a Service of another image (its own seed) adopts the record instead of
// attaching, in the region as it stood at the jump. It answers the Apply the outgoing image
// was serving (Ok, under the session's response key, the incoming version), the controller's
// next command is accepted in the same session without a HELLO, and the audit chain as
// docs/mailbox.md §5 defines it (each record's prev_hash the SHA-256 of the one before,
// indices one apart) runs unbroken from the old image's records into the new one's.
struct MailboxAdopt : MailboxApply {
    std::vector<u8> at_jump;
    u32 apply_resp = 0;
    HandoverView v;
    std::unique_ptr<mailbox::Service> incoming{new mailbox::Service()};
    // Apply; then, as if the old image had never come back, the region as it was at the jump.
    void apply_and_rewind() {
        swap.on_enter = [&] { at_jump.assign(b.bytes(), b.bytes() + mailbox::test::kRegion); };
        b.svc->console_out(1, "boot text of one\n", 17);
        apply_resp = b.resp_seen;
        mailbox::UpdateReply out{};
        EXPECT_EQ(step(mailbox::UpdateStep::Apply, 0, 0, 0, &out), Status::Unsupported);
        ASSERT_EQ(at_jump.size(), mailbox::test::kRegion);
        memcpy(b.bytes(), at_jump.data(), at_jump.size());
        b.resp_seen = apply_resp;
        b.hdr().resp_cons = apply_resp;
        ASSERT_EQ(
            parse_handover(swap.seen.data(), swap.seen.size(), kHandoverAbiMin, kHandoverAbi, v),
            Status::Ok);
    }
    Status adopt() {
        return incoming->adopt(mailbox::SharedRegion(b.bytes(), mailbox::test::kRegion), b.be,
                               b.key.pub, mailbox::test::test_seed(77), {}, v, "9.8.7-next");
    }
};

} // namespace keel::update
