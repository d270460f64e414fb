// Live update, step one (docs/handover.md §1, docs/mailbox.md §3.10): an incoming keel.img
// is checked exactly as the boot stage checks it, plus the image note's handover ABI; each
// refusal has its own status and message, and through the mailbox a refusal changes
// nothing but the staged bytes, which it drops.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>

#include "mailbox_test_util.hpp"
#include "update_image.hpp"

namespace keel::update {
namespace {

using test::arm64_expect;
using test::ImageSpec;
using test::make_update_image;

Outcome check(const std::vector<u8>& img, const Expect& e = arm64_expect()) {
    Outcome o;
    const Status s = check_image(img.data(), img.size(), e, o);
    EXPECT_EQ(s, o.status);
    return o;
}

TEST(UpdateCheck, NoteLayoutMatchesDocs) {
    EXPECT_EQ(sizeof(ImageNote), 64u);
    EXPECT_EQ(offsetof(ImageNote, handover_min), 12u);
    EXPECT_EQ(offsetof(ImageNote, handover_written), 20u);
    EXPECT_EQ(kNoteOffset, 0x40u) << "right after arm64's 64-byte Image header";
}

TEST(UpdateCheck, ThisBuildsOwnNoteAdoptsWhatItWrites) {
    const ImageNote& n = keel_image_note;
    EXPECT_EQ(n.magic, kNoteMagic);
    EXPECT_EQ(n.note_version, kNoteVersion);
    EXPECT_LE(n.handover_min, n.handover_written);
    EXPECT_GE(n.handover_max, n.handover_written);
    EXPECT_STREQ(n.version, KEEL_VERSION_STRING);
}

TEST(UpdateCheck, AcceptsASignedImageWithACompatibleNote) {
    const Outcome o = check(make_update_image());
    EXPECT_EQ(o.status, Status::Ok) << o.message;
    EXPECT_EQ(o.why, Refusal::None);
    EXPECT_EQ(o.security_version, 2u);
    EXPECT_EQ(o.hv_version, 0x090807u);
    EXPECT_STREQ(o.note.version, "9.8.7-next");
    EXPECT_NE(std::string(o.message).find("verified: 9.8.7-next"), std::string::npos) << o.message;
    ImageSpec same_floor;
    same_floor.security_version = 1;
    EXPECT_EQ(check(make_update_image(same_floor)).status, Status::Ok) << "equal to the floor";
}

TEST(UpdateCheck, BadSignature) {
    std::vector<u8> img = make_update_image();
    img[16] ^= 1; // hv_version: a signed header byte
    const Outcome o = check(img);
    EXPECT_EQ(o.status, Status::BadSignature);
    EXPECT_EQ(o.image, image::Refusal::BadSignature);
    EXPECT_STREQ(o.message, "bad signature");
    img = make_update_image();
    img[image::kSignatureOffset + 50] ^= 0x80;
    EXPECT_EQ(check(img).status, Status::BadSignature);
}

TEST(UpdateCheck, UnknownKey) {
    ImageSpec s;
    s.other_key = true;
    const Outcome o = check(make_update_image(s));
    EXPECT_EQ(o.image, image::Refusal::UnknownKey);
    EXPECT_EQ(o.status, Status::AuthFailed);
}

TEST(UpdateCheck, OlderSecurityVersion) {
    ImageSpec s;
    s.security_version = 4;
    const Outcome o = check(make_update_image(s), arm64_expect(5));
    EXPECT_EQ(o.status, Status::Rollback);
    EXPECT_STREQ(o.message, "security version below the floor (rollback) (image 4, floor 5)");
}

TEST(UpdateCheck, OtherArch) {
    ImageSpec s;
    s.arch = image::Arch::X86_64;
    const Outcome o = check(make_update_image(s));
    EXPECT_EQ(o.status, Status::WrongArch);
    EXPECT_STREQ(o.message, "image is for another architecture");
}

TEST(UpdateCheck, Truncated) {
    std::vector<u8> img = make_update_image();
    img.resize(img.size() - 100);
    EXPECT_EQ(check(img).status, Status::Truncated);
    img.resize(500); // not even a header block
    EXPECT_EQ(check(img).status, Status::Truncated);
    EXPECT_EQ(check(std::vector<u8>{}).status, Status::Truncated);
}

TEST(UpdateCheck, SegmentBytesChanged) {
    std::vector<u8> img = make_update_image();
    img[image::kPayloadMin + 8192 + 5] ^= 4; // inside segment 1
    const Outcome o = check(img);
    EXPECT_EQ(o.status, Status::HashMismatch);
    EXPECT_STREQ(o.message, "segment hash mismatch (segment 1)");
}

TEST(UpdateCheck, NoNoteMeansNoLiveUpdate) {
    ImageSpec s;
    s.with_note = false;
    const Outcome o = check(make_update_image(s));
    EXPECT_EQ(o.why, Refusal::NoNote);
    EXPECT_EQ(o.status, Status::Corrupt);
}

TEST(UpdateCheck, IncompatibleHandoverAbi) {
    ImageSpec s;
    s.handover_min = s.handover_max = kHandoverAbi + 1;
    Outcome o = check(make_update_image(s));
    EXPECT_EQ(o.why, Refusal::HandoverAbi);
    EXPECT_EQ(o.status, Status::Unsupported);
    EXPECT_EQ(std::string(o.message),
              "incompatible handover ABI (image adopts 5..5, this Keel writes 4)");
    s.handover_min = 0, s.handover_max = kHandoverAbi + 3;
    EXPECT_EQ(check(make_update_image(s)).status, Status::Ok) << "a range that holds it";
}

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

TEST_F(MailboxUpdate, AGoodImageVerifiesAndTheSwapIsRefusedHonestly) {
    const std::vector<u8> img = make_update_image();
    mailbox::UpdateReply out{};
    ASSERT_EQ(send(img, &out, 1000), Status::Ok) << out.message;
    EXPECT_EQ(out.security_version, 2u);
    EXPECT_STREQ(out.version, "9.8.7-next");
    EXPECT_EQ(memcmp(region.data(), img.data(), img.size()), 0) << "staged as sent";
    EXPECT_EQ(last_detail(), "update verify: ok");
    EXPECT_EQ(step(mailbox::UpdateStep::Apply, 0, 0, 0, &out), Status::Unsupported);
    EXPECT_STREQ(out.message, "this arch has no live swap yet: nothing changed");
}

TEST_F(MailboxUpdate, EachRefusalHasItsOwnErrorAndDropsTheStagedImage) {
    struct Case {
        const char* name;
        std::vector<u8> img;
        Status want;
        const char* message;
    };
    ImageSpec old_sv, x86, abi;
    old_sv.security_version = 0;
    x86.arch = image::Arch::X86_64;
    abi.handover_min = abi.handover_max = 7;
    std::vector<u8> bad_sig = make_update_image(), truncated = make_update_image();
    bad_sig[20] ^= 1;
    truncated.resize(truncated.size() - 512);
    const Case cases[] = {
        {"bad signature", bad_sig, Status::BadSignature, "bad signature"},
        {"older", make_update_image(old_sv), Status::Rollback,
         "security version below the floor (rollback) (image 0, floor 1)"},
        {"other arch", make_update_image(x86), Status::WrongArch,
         "image is for another architecture"},
        {"truncated", truncated, Status::Truncated, "truncated image"},
        {"handover abi", make_update_image(abi), Status::Unsupported,
         "incompatible handover ABI (image adopts 7..7, this Keel writes 4)"},
    };
    const u32 vms_before = b.be.reserves + b.be.starts + b.be.stops + b.be.releases;
    for (const Case& c : cases) {
        mailbox::UpdateReply out{};
        EXPECT_EQ(send(c.img, &out), c.want) << c.name;
        EXPECT_STREQ(out.message, c.message) << c.name;
        EXPECT_EQ(last_detail(), std::string("update verify: ") + status_name(c.want)) << c.name;
        EXPECT_TRUE(std::all_of(region.begin(), region.begin() + static_cast<long>(c.img.size()),
                                [](u8 x) { return x == 0; }))
            << c.name << ": the refused bytes are wiped";
        EXPECT_EQ(step(mailbox::UpdateStep::Apply), Status::BadState)
            << c.name << ": nothing to apply";
    }
    EXPECT_EQ(b.be.reserves + b.be.starts + b.be.stops + b.be.releases, vms_before)
        << "no VM was touched";
}

TEST_F(MailboxUpdate, StepsOutOfOrderOrOutOfBoundsAreRefused) {
    const std::vector<u8> img = make_update_image();
    EXPECT_EQ(step(mailbox::UpdateStep::Chunk, 0, 0, 64), Status::BadState) << "no Begin";
    EXPECT_EQ(step(mailbox::UpdateStep::Verify), Status::BadState);
    EXPECT_EQ(step(mailbox::UpdateStep::Begin, region.size() + 4), Status::OutOfRange)
        << "larger than the update region";
    ASSERT_EQ(step(mailbox::UpdateStep::Begin, img.size()), Status::Ok);
    EXPECT_EQ(step(mailbox::UpdateStep::Chunk, 0, 64, 64), Status::OutOfRange) << "in order";
    EXPECT_EQ(step(mailbox::UpdateStep::Chunk, 0, 0, img.size() + 4), Status::OutOfRange);
    EXPECT_EQ(step(mailbox::UpdateStep::Verify), Status::BadState) << "incomplete";
    // Malformed payloads never reach the handler.
    mailbox::UpdatePayload p{9, 0, 0, 0, 0, 0};
    EXPECT_EQ(b.call(mailbox::Opcode::Update, 0, &p, sizeof p), Status::InvalidArgument);
    p = {static_cast<u32>(mailbox::UpdateStep::Verify), 0, 5, 0, 0, 0};
    EXPECT_EQ(b.call(mailbox::Opcode::Update, 0, &p, sizeof p), Status::InvalidArgument);
    p = {static_cast<u32>(mailbox::UpdateStep::Chunk), 0, 0, 0, mailbox::test::kRegion, 4};
    EXPECT_EQ(b.call(mailbox::Opcode::Update, 0, &p, sizeof p), Status::OutOfRange)
        << "past the bulk window";
    EXPECT_EQ(b.call(mailbox::Opcode::Update, 1, &p, sizeof p), Status::InvalidArgument)
        << "names no VM";
}

// The incoming image's answer in x0 (docs/handover.md §4 step 3): reason in bits 0..31,
// the Status in 32..63, both ways.
TEST(HandBackWord, CarriesReasonAndStatus) {
    EXPECT_EQ(encode_hand_back(HandBackReason::AdoptionNotBuilt, Status::Ok), 2u);
    const u64 w = encode_hand_back(HandBackReason::RecordRefused, Status::Corrupt);
    EXPECT_EQ(w, 1u | u64{static_cast<u32>(Status::Corrupt)} << 32);
    const HandBack hb = decode_hand_back(w);
    EXPECT_EQ(hb.reason, HandBackReason::RecordRefused);
    EXPECT_EQ(hb.status, Status::Corrupt);
    EXPECT_EQ(decode_hand_back(0).reason, HandBackReason::None);
}

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

TEST_F(MailboxApply, QuiescesWritesACheckedRecordEntersAndResumesEveryVcpu) {
    mailbox::UpdateReply out{};
    EXPECT_EQ(step(mailbox::UpdateStep::Apply, 0, 0, 0, &out), Status::Unsupported);
    const std::string msg = out.message;
    EXPECT_EQ(msg.find("3 vCPUs parked, record "), 0u) << msg;
    EXPECT_NE(msg.find(" B; handed back (no adoption); resumed in "), std::string::npos) << msg;
    EXPECT_STREQ(out.version, "9.8.7-next") << "the image that was entered";
    EXPECT_EQ(swap.quiesces, 1u);
    EXPECT_EQ(swap.describes, 1u);
    EXPECT_EQ(swap.enters, 1u);
    EXPECT_EQ(swap.entered_at, 0u) << "the entry is segment 0's first byte";
    EXPECT_EQ(swap.resumes, 1u) << "the rollback path: every vCPU runs again";
    // The image was placed in the run slot: segment 0 at +0 (its bytes b * 13), the gap
    // and .bss zeroed, segment 1 at +1 MiB (b * 13 + 1).
    EXPECT_EQ(swap.slot[5], static_cast<u8>(5 * 13));
    EXPECT_EQ(swap.slot[8192], 0u);
    EXPECT_EQ(swap.slot[MiB - 1], 0u);
    EXPECT_EQ(swap.slot[MiB + 3], static_cast<u8>(3 * 13 + 1));
    EXPECT_EQ(swap.slot[MiB + 700 + 4095], 0u) << "segment 1's mem_size tail";
    EXPECT_EQ(swap.slot[MiB + 700 + 4096], 0xee) << "nothing past the image's span";
    // Rolled back: the record (session keys among it) is wiped.
    for (u64 w : record)
        ASSERT_EQ(w, 0u);
    // The record the incoming image got.
    HandoverView v;
    ASSERT_EQ(parse_handover(swap.seen.data(), swap.seen.size(), kHandoverAbiMin, kHandoverAbi, v),
              Status::Ok);
    EXPECT_EQ(v.header.update_counter, 1u);
    EXPECT_EQ(v.vm_count, 2u);
    EXPECT_NE(v.console[1], nullptr);
    EXPECT_EQ(v.mailbox->active_session, 1u);
    EXPECT_EQ(v.mailbox->audit_next_index + 1, b.svc->audit().next_index())
        << "the chain position as it stood before Apply's own record";
    EXPECT_STREQ(v.old_image->version, KEEL_VERSION_STRING);
    EXPECT_EQ(last_detail(), "update rolled back: no adoption");
}

// The rollback a failing image asks for (docs/handover.md §4.6): every vCPU resumes on this
// image, the answer and the audit record say why, the record carries what the incoming image
// needs from ABI 4 (cores, table region, quiesce start, the incoming security version, fresh
// entropy that is not zero).
TEST_F(MailboxApply, AHealthCheckFailureRollsBackAndSaysWhy) {
    swap.answer = HandBack{HandBackReason::HealthCheck, Status::Ok};
    mailbox::UpdateReply out{};
    EXPECT_EQ(step(mailbox::UpdateStep::Apply, 0, 0, 0, &out), Status::Unsupported);
    EXPECT_NE(std::string(out.message).find(" B; handed back (health check failed); resumed in "),
              std::string::npos)
        << out.message;
    EXPECT_EQ(swap.resumes, 1u);
    EXPECT_EQ(last_detail(), "update rolled back: health check failed");
    HandoverView v;
    ASSERT_EQ(parse_handover(swap.seen.data(), swap.seen.size(), kHandoverAbiMin, kHandoverAbi, v),
              Status::Ok);
    EXPECT_EQ(v.old_image->cores_online, 0xfu);
    EXPECT_EQ(v.old_image->tables_base, 0x5fe00000u);
    EXPECT_EQ(v.old_image->quiesce_tick, 1234u);
    EXPECT_EQ(v.old_image->incoming_security_version, 2u) << "the image entered (signed 2)";
    u8 zero[32] = {};
    EXPECT_NE(memcmp(v.old_image->entropy, zero, sizeof zero), 0);
    // The verified image stays staged: a controller may apply it again.
    swap.answer = HandBack{HandBackReason::CoresMissing, Status::Ok};
    EXPECT_EQ(step(mailbox::UpdateStep::Apply, 0, 0, 0, &out), Status::Unsupported);
    EXPECT_NE(std::string(out.message).find("handed back (cores missing)"), std::string::npos)
        << out.message;
    EXPECT_EQ(last_detail(), "update rolled back: cores missing");
}

// A machine whose IOMMU tables live in the image (docs/handover.md §5): Apply is refused
// before anything is placed or parked, with the reason.
TEST_F(MailboxApply, AnIommuInUseRefusesTheSwapBeforeAnythingChanges) {
    mailbox::Service::UpdateSetup up = setup();
    up.no_swap = "an IOMMU is in use and its tables live in this image";
    b.svc->set_update(up);
    mailbox::UpdateReply out{};
    ASSERT_EQ(send(make_update_image(), &out), Status::Ok) << out.message;
    EXPECT_EQ(step(mailbox::UpdateStep::Apply, 0, 0, 0, &out), Status::Unsupported);
    EXPECT_STREQ(out.message,
                 "an IOMMU is in use and its tables live in this image: nothing changed");
    EXPECT_EQ(swap.quiesces, 0u);
    EXPECT_EQ(swap.enters, 0u);
    EXPECT_EQ(swap.slot[0], 0xee) << "nothing placed";
}

// The mailbox session continues on the incoming image (docs/handover.md §2.2 Mailbox): a
// SessionManager of another boot (its own seed), given the record's Mailbox record, accepts
// the controller's next command under the same session and keys, refuses a replay and a
// wrong MAC, and counts on from the recorded use count.
TEST_F(MailboxApply, TheRecordCarriesTheSessionSoItContinues) {
    mailbox::UpdateReply out{};
    EXPECT_EQ(step(mailbox::UpdateStep::Apply, 0, 0, 0, &out), Status::Unsupported);
    HandoverView v;
    ASSERT_EQ(parse_handover(swap.seen.data(), swap.seen.size(), kHandoverAbiMin, kHandoverAbi, v),
              Status::Ok);
    const MailboxRecord& m = *v.mailbox;
    EXPECT_EQ(m.active_session, b.session);
    EXPECT_EQ(m.offer_id, b.session + 1);
    EXPECT_EQ(m.seq_floor, b.seq) << "Apply itself was the last command";
    EXPECT_GT(m.session_used, 0u);
    EXPECT_EQ(memcmp(m.session_keys, &b.keys, sizeof b.keys), 0) << "cmd || rsp || log";
    mailbox::SessionManager incoming;
    u8 nonce[16] = {9};
    ASSERT_EQ(incoming.init(b.key.pub, mailbox::test::test_seed(77), nonce, {}), Status::Ok);
    mailbox::SessionHandover h;
    h.active_id = m.active_session;
    h.offer_id = m.offer_id;
    h.used = m.session_used;
    h.established_ms = m.session_established_ms;
    h.last_seq = m.seq_floor;
    memcpy(&h.keys, m.session_keys, sizeof h.keys);
    ASSERT_EQ(incoming.adopt_session(h), Status::Ok);
    EXPECT_EQ(incoming.active_id(), b.session);
    EXPECT_EQ(incoming.offer_id(), b.session + 2) << "a new offer after the recorded one";
    mailbox::CommandSlot next = b.make(mailbox::Opcode::List, 0);
    b.mac(next);
    EXPECT_EQ(incoming.check(next, b.be.now_ms()), Status::Ok);
    EXPECT_EQ(incoming.check(next, b.be.now_ms()), Status::Replayed);
    mailbox::CommandSlot forged = b.make(mailbox::Opcode::List, 0);
    b.mac(forged);
    forged.mac[0] ^= 1;
    EXPECT_EQ(incoming.check(forged, b.be.now_ms()), Status::AuthFailed);
    mailbox::ResponseSlot r{};
    incoming.seal_response(r);
    EXPECT_EQ(mailbox::check_response(b.keys.rsp, r), Status::Ok) << "answers under the same key";
    h.offer_id = h.active_id; // an offer not after the session: inconsistent
    EXPECT_EQ(incoming.adopt_session(h), Status::InvalidArgument);
}

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

TEST_F(MailboxAdopt, TheSessionAndTheAuditChainContinue) {
    apply_and_rewind();
    const u64 apply_seq = b.seq;
    ASSERT_EQ(adopt(), Status::Ok);
    // The Apply's answer, from the incoming image.
    ASSERT_EQ(b.hdr().resp_prod, apply_resp + 1) << "exactly one answer: the Apply's";
    const mailbox::ResponseSlot r = b.resp(b.resp_seen++);
    b.hdr().resp_cons = b.resp_seen;
    EXPECT_EQ(r.seq, apply_seq);
    EXPECT_EQ(r.opcode, static_cast<u16>(mailbox::Opcode::Update));
    EXPECT_EQ(static_cast<Status>(r.status), Status::Ok);
    EXPECT_EQ(mailbox::check_response(b.keys.rsp, r), Status::Ok) << "the session's response key";
    mailbox::UpdateReply out;
    memcpy(&out, r.payload, sizeof out);
    EXPECT_STREQ(out.version, "9.8.7-next");
    EXPECT_EQ(b.hdr().cmd_cons, b.hdr().cmd_prod) << "the Apply's slot consumed";
    // The next command, same session, no handshake.
    const u32 session = b.session;
    b.svc = std::move(incoming);
    ASSERT_EQ(b.call(mailbox::Opcode::List, 0), Status::Ok);
    EXPECT_EQ(b.session, session);
    EXPECT_EQ(b.svc->sessions().active_id(), session);
    // The chain, recomputed here over every record still in the ring.
    const u32 prod = b.hdr().log_prod;
    const u32 first = prod > mailbox::kLogSlots ? prod - mailbox::kLogSlots + 1 : 1;
    u8 h[32];
    crypto::sha256(&b.log(first - 1), sizeof(mailbox::AuditRecord), h);
    bool adopted_seen = false;
    for (u32 i = first; i < prod; ++i) {
        const mailbox::AuditRecord& rec = b.log(i);
        ASSERT_EQ(memcmp(rec.prev_hash, h, 32), 0) << "record " << i;
        ASSERT_EQ(rec.index, b.log(i - 1).index + 1) << "record " << i;
        crypto::sha256(&rec, sizeof rec, h);
        adopted_seen |=
            std::string(reinterpret_cast<const char*>(rec.detail)) == "update adopted: 9.8.7-next";
    }
    EXPECT_TRUE(adopted_seen);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.log(prod - 2).detail)),
              "update adopted: 9.8.7-next")
        << "the Apply's record, then the LIST's";
}

TEST_F(MailboxAdopt, TheConsolesContinue) {
    apply_and_rewind();
    const u32 before = b.svc->consoles().out_count(1);
    ASSERT_GT(before, 0u);
    ASSERT_EQ(adopt(), Status::Ok);
    EXPECT_EQ(incoming->consoles().out_count(1), before) << "the bytes written so far";
    EXPECT_EQ(std::string(incoming->vm(1).name, 3), "one") << "the controller's names (MailboxVm)";
    EXPECT_EQ(std::string(incoming->vm(2).name, 3), "two");
    EXPECT_EQ(incoming->vm(2).cpu_mask, b.svc->vm(2).cpu_mask);
}

TEST_F(MailboxAdopt, ARecordForAnotherRegionChangesNothing) {
    apply_and_rewind();
    EXPECT_EQ(v.mailbox->region_base, reinterpret_cast<uptr>(b.bytes())) << "where it is";
    const update::MailboxRecord* recorded = v.mailbox;
    for (int field = 0; field < 2; ++field) {
        update::MailboxRecord m = *recorded;
        (field == 0 ? m.region_size : m.region_base) += 2 * MiB;
        v.mailbox = &m;
        const std::vector<u8> before(b.bytes(), b.bytes() + mailbox::test::kRegion);
        EXPECT_EQ(adopt(), Status::InvalidArgument) << field;
        EXPECT_EQ(memcmp(before.data(), b.bytes(), before.size()), 0) << "not a byte written";
    }
}

TEST_F(MailboxApply, TheIncomingImagesRefusalIsReported) {
    swap.answer = HandBack{HandBackReason::RecordRefused, Status::Corrupt};
    mailbox::UpdateReply out{};
    EXPECT_EQ(step(mailbox::UpdateStep::Apply, 0, 0, 0, &out), Status::Unsupported);
    EXPECT_NE(std::string(out.message).find("; entered, record refused (corrupt); resumed"),
              std::string::npos)
        << out.message;
    EXPECT_EQ(last_detail(), "update rolled back: record corrupt");
    EXPECT_EQ(swap.resumes, 1u);
}

TEST_F(MailboxApply, AnImageLargerThanTheRunSlotIsNotEntered) {
    swap.slot_size = 512 * KiB; // the test image spans 1 MiB + 4.7 KiB
    mailbox::UpdateReply out{};
    EXPECT_EQ(step(mailbox::UpdateStep::Apply, 0, 0, 0, &out), Status::OutOfRange);
    EXPECT_STREQ(out.message, "image spans 1028 KiB, the run slot holds 512 KiB: nothing changed");
    EXPECT_EQ(swap.quiesces, 0u) << "refused before any vCPU was touched";
    EXPECT_EQ(swap.enters, 0u);
}

TEST_F(MailboxApply, AVcpuThatDoesNotParkChangesNothing) {
    swap.quiesce_result = Status::Timeout;
    mailbox::UpdateReply out{};
    EXPECT_EQ(step(mailbox::UpdateStep::Apply, 0, 0, 0, &out), Status::Timeout);
    EXPECT_STREQ(out.message, "not every vCPU parked within 100 ms: all resumed, nothing changed");
    EXPECT_EQ(swap.describes, 0u);
}

TEST_F(MailboxApply, ARecordThatDoesNotCheckIsNotHandedOver) {
    swap.skip_vm = true; // VM 2 has a console but no Vm record
    mailbox::UpdateReply out{};
    EXPECT_EQ(step(mailbox::UpdateStep::Apply, 0, 0, 0, &out), Status::Corrupt);
    EXPECT_STREQ(out.message, "handover record: corrupt; all resumed, nothing changed");
    EXPECT_EQ(swap.resumes, 1u);
    EXPECT_EQ(swap.enters, 0u) << "a record that does not check is never handed over";
}

TEST_F(MailboxUpdate, WithoutAnUpdateRegionUpdateIsUnsupported) {
    b.svc->set_update(mailbox::Service::UpdateSetup{});
    mailbox::UpdateReply out{};
    EXPECT_EQ(step(mailbox::UpdateStep::Begin, 4096, 0, 0, &out), Status::Unsupported);
    EXPECT_STREQ(out.message, "this Keel has no update region");
}

} // namespace
} // namespace keel::update
