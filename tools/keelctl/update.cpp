// keelctl update keel.img: live update (docs/mailbox.md §3.10, docs/handover.md). The image
// goes through the bulk window into Keel's update region, Keel verifies it as the boot
// stage would, then (unless --verify-only) applies it and, once the new image answers,
// commits it (unless --no-commit: the new image then rolls back at its deadline,
// docs/handover.md §4.7). Every refusal prints Keel's reason.
#include <stdio.h>
#include <string.h>

#include "tools/keel-sign/keys.hpp"
#include "tools/keelctl/commands.hpp"

namespace keelctl {
namespace {

// One UPDATE step; prints Keel's message on a refusal. Ok or the status.
Status step(Session& s, const UpdatePayload& p, UpdateReply& out) {
    ResponseSlot r;
    const Status st = s.call(Opcode::Update, 0, &p, sizeof p, r);
    memcpy(&out, r.payload, sizeof out);
    out.message[sizeof out.message - 1] = '\0';
    out.version[sizeof out.version - 1] = '\0';
    if (st != Status::Ok && out.message[0] != '\0')
        fprintf(stderr, "keelctl: update refused: %s\n", out.message);
    return st;
}

UpdatePayload payload(UpdateStep st) {
    UpdatePayload p{};
    p.step = static_cast<u32>(st);
    return p;
}

} // namespace

int cmd_update(Session& s, const Args& a) {
    if (a.empty()) return kExitUsage;
    std::vector<u8> img;
    if (!sign::read_file(a[0], img) || img.empty())
        return fprintf(stderr, "keelctl: cannot read %s\n", a[0].c_str()), kExitUsage;
    const bool verify_only = a.size() > 1 && a[1] == "--verify-only";
    const bool no_commit = a.size() > 1 && a[1] == "--no-commit";
    if (a.size() > 2 || (a.size() == 2 && !verify_only && !no_commit)) return kExitUsage;
    UpdateReply out{};
    UpdatePayload begin = payload(UpdateStep::Begin);
    begin.image_size = img.size();
    if (step(s, begin, out) != Status::Ok) return kExitRefused;
    const Status sent = send_bulk(s, img, "keel.img", [&](u64 offset, u64 length) {
        UpdatePayload c = payload(UpdateStep::Chunk);
        c.image_offset = offset;
        c.length = length;
        UpdateReply ignored{};
        return step(s, c, ignored);
    });
    if (sent != Status::Ok) return kExitRefused;
    if (step(s, payload(UpdateStep::Verify), out) != Status::Ok) return kExitRefused;
    printf("update: %s (hv version %u.%u.%u)\n", out.message, out.hv_version >> 16,
           (out.hv_version >> 8) & 0xff, out.hv_version & 0xff);
    if (verify_only) return kExitOk;
    if (step(s, payload(UpdateStep::Apply), out) != Status::Ok) return kExitRefused;
    printf("update: applied: %s\n", out.message);
    if (no_commit) {
        printf("update: not committed: the new image rolls back at its deadline\n");
        return kExitOk;
    }
    // Answered by the new image under the same session: it runs. Its commit (§4.7).
    if (step(s, payload(UpdateStep::Commit), out) != Status::Ok) return kExitRefused;
    printf("update: committed: %s\n", out.message);
    return kExitOk;
}

} // namespace keelctl
