// libFuzzer target for the mailbox's untrusted-input path: a command slot straight from
// shared memory through decode_command(), and a whole hostile region through the
// service's poll() (indices, slots, log and response consumer fields all fuzzed).
// Build: the `mailbox_fuzz` target; smoke run: ctest -R mailbox.fuzz_smoke; longer runs:
// docs/mailbox.md §9.
#include <string.h>

#include "../unit/fake_vm_states.hpp"
#include "hypervisor/mailbox/command.hpp"
#include "hypervisor/mailbox/service.hpp"

using namespace keel;
using namespace keel::mailbox;

namespace {

class NullBackend final : public VmBackend {
public:
    Status reserve(u32 id, u64, u64) override { return states.apply(id, VmEvent::Create); }
    Status load(u32, ImageKind, u64, const SharedRegion& bulk, u64 off, u64 len,
                crypto::Sha256& h) override {
        u8 buf[256];
        for (u64 d = 0; d < len; d += sizeof buf) {
            u64 n = len - d < sizeof buf ? len - d : sizeof buf;
            KEEL_TRY(bulk.copy_in(off + d, buf, n));
            h.update(buf, n);
        }
        return Status::Ok;
    }
    Status start(u32 id, const char*) override { return states.apply(id, VmEvent::Start); }
    Status stop(u32 id, bool) override { return states.stop(id); }
    Status seal(u32 id) override { return states.apply(id, VmEvent::LoadComplete); }
    VmLifeState state(u32 id) override { return states.st[id]; }
    Status release(u32 id) override {
        states.free(id);
        return Status::Ok;
    }
    FakeVmStates states;
    Status console_input(u32, u8) override { return Status::Ok; }
    void metrics(u32, VmMetrics&) override {}
    HostState host() override { return {}; }
    u64 now_ms() override { return 0; }
};

alignas(64) u8 g_region[kMinRegionSize];

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const u8* data, size_t size) {
    CommandSlot slot{};
    memcpy(&slot, data, size < sizeof slot ? size : sizeof slot);
    Command c;
    DecodeLimits limits;
    limits.bulk_size = kMinRegionSize - kBulkOffset;
    (void)decode_command(slot, limits, c);

    // The same bytes as a whole command ring plus controller header fields.
    static NullBackend backend;
    static Service service;
    memset(g_region, 0, kBulkOffset);
    const u8 key[crypto::kP384PublicKeySize] = {}; // no key: the service must still survive
    const u8 nonce[16] = {1};
    if (service.attach(SharedRegion(g_region, sizeof g_region), backend, key, nonce) != Status::Ok)
        return 0;
    const size_t ring = kCmdSlots * sizeof(CommandSlot);
    memcpy(g_region + kCmdRingOffset, data, size < ring ? size : ring);
    if (size >= 12) memcpy(g_region + __builtin_offsetof(Header, cmd_prod), data + size - 12, 12);
    for (int i = 0; i < 3; ++i)
        (void)service.poll();
    return 0;
}
