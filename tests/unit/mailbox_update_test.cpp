// Live update through the mailbox (docs/mailbox.md §3.10, docs/handover.md §4): Begin,
// chunks and Verify with each refusal; Apply with a fake swap (the record written, checked and
// handed over, the rollback answers); the incoming image's Service adopting the record (the
// session, the audit chain and the consoles continue).
#include "mailbox_update_fixture.hpp"

namespace keel::update {
namespace {

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
    abi.handover_min = abi.handover_max = kHandoverAbi + 1;
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
         "incompatible handover ABI (image adopts 9..9, this Keel writes 8)"},
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
