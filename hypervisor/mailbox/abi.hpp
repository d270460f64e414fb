// The mailbox ABI: every structure the controller and the hypervisor share through
// the BAR, laid out exactly as docs/mailbox.md specifies (section numbers cited on each
// size assert). Fixed-width, little-endian, no pointers, no bitfields; a change to any
// of these is an ABI version bump (kAbiVersion).
#pragma once

#include "hypervisor/types.hpp"
#include "hypervisor/vm/lifecycle.hpp"

namespace keel::mailbox {

constexpr u64 kMagic = 0x31584f424c45454bull; // "KEELBOX1", §2
constexpr u32 kAbiVersion = 2;
constexpr u32 kFeatureEcdsaP384 = 1u << 0;   // the handshake is signed with ECDSA P-384, §4
constexpr u32 kFeatureChunkedLoad = 1u << 1; // LOAD_IMAGE chunks through the bulk window, §6
constexpr u32 kFeatureSessions = 1u << 2;    // X25519 + HKDF sessions, HMAC on every slot, §4
// ATTACH_VF / DETACH_VF (§3.11): opcodes appended, no existing layout changed, so the ABI
// version stays; a controller checks this bit before it sends them.
constexpr u32 kFeatureVfAssign = 1u << 3;

// §1 Region map: offsets from the start of the shared memory (BAR2).
constexpr u32 kCmdSlots = 32;
constexpr u32 kRespSlots = 32;
constexpr u32 kLogSlots = 256;
constexpr u32 kMaxVms = 8;
constexpr u64 kHeaderOffset = 0x0;
constexpr u64 kSessionOffset = 0x800; // §4.2: Keel's session offer
constexpr u64 kCmdRingOffset = 0x1000;
constexpr u64 kRespRingOffset = 0x5000;
constexpr u64 kLogRingOffset = 0x8000;
constexpr u64 kMetricsOffset = 0x10000;
constexpr u64 kConsoleOffset = 0x14000;
constexpr u32 kConsoleOutBytes = 4096; // per VM, data only; indices live in the header
constexpr u64 kBulkOffset = 0x40000;
constexpr u64 kMinRegionSize = 4 * MiB; // the smallest BAR Keel accepts, §1

// §2 Header. Controller-written fields and hypervisor-written fields sit in separate
// 64-byte lines so neither side's writes tear the other's (and so the hypervisor can
// write its half without reading the controller's).
struct Header {
    // Hypervisor-written at attach, then constant for the boot.
    u64 magic;
    u32 abi_version;
    u32 features;
    u8 nonce[16]; // fresh per boot (§4.1): names the boot
    u32 cmd_slots, cmd_slot_size;
    u32 resp_slots, resp_slot_size;
    u32 log_slots, log_record_size;
    u32 max_vms, console_out_bytes;
    u64 bulk_offset, bulk_size;
    u64 region_size;
    u8 hv_reserved0[40];
    // Hypervisor-written producer / consumer indices (free-running u32, slot = i % n).
    u32 cmd_cons;
    u32 resp_prod;
    u32 log_prod;
    u32 state;    // 0 attaching, 1 ready
    u32 unlogged; // rejections that found the log full (never overwritten), §5
    u32 console_out_prod[kMaxVms];
    u8 hv_reserved1[12];
    // Controller-written.
    u32 cmd_prod;
    u32 resp_cons;
    u32 log_cons;
    u32 doorbell; // reserved: polled today
    u8 ctl_reserved[48];
};
static_assert(sizeof(Header) == 256, "docs/mailbox.md §2");
static_assert(__builtin_offsetof(Header, cmd_cons) == 128, "docs/mailbox.md §2");
static_assert(__builtin_offsetof(Header, cmd_prod) == 192, "docs/mailbox.md §2");

// §3 Opcodes. Values are ABI: append only.
enum class Opcode : u16 {
    Ping = 1,      // header check; answers the hypervisor's version and free resources
    CreateVm = 2,  // reserve cores + memory, expect kernel/initrd of given size + hash
    LoadImage = 3, // copy one chunk of the bulk window into a Loading VM
    Start = 4,
    Stop = 5,
    Destroy = 6,
    List = 7,
    Describe = 8,
    Metrics = 9,
    ConsoleWrite = 10,
    Hello = 11,    // the session handshake (§4.2): the one command without a MAC
    Platform = 12, // what Keel found: sockets, cores, SMT threads, NUMA nodes, GIC/APIC, SMMUs
    Vfs = 13,      // the SR-IOV VFs Keel enabled: where, provisioned, owner (docs/sriov.md)
    Update = 14,   // live update: stage, verify, apply a new keel.img (§3.10, docs/handover.md)
    AttachVf = 15, // give a created VM an SR-IOV VF (§3.11, docs/sriov.md)
    DetachVf = 16, // take it back: FLR, stream quarantined (§3.11)
};
constexpr u16 kOpcodeMax = 16;
// Commands that change hypervisor state need log room for their record, §5.
constexpr bool changes_state(Opcode op) {
    return op == Opcode::CreateVm || op == Opcode::LoadImage || op == Opcode::Start ||
           op == Opcode::Stop || op == Opcode::Destroy || op == Opcode::ConsoleWrite ||
           op == Opcode::Update || op == Opcode::AttachVf || op == Opcode::DetachVf;
}

// §3 Command slot: 32-byte header, payload, HMAC-SHA256 with the session's command key
// over bytes [0, kMacBytes) (HELLO: mac zero, its payload carries a signature instead).
constexpr u32 kCmdPayloadMax = 448;
constexpr usize kMacSize = 32;
struct CommandSlot {
    u64 seq;        // strictly increasing per boot, across sessions, starts above 0
    u32 session_id; // the established session (HELLO: 0)
    u16 opcode;
    u16 flags;    // zero
    u32 length;   // payload bytes used (the rest must be zero)
    u32 vm_id;    // target VM (0 where none)
    u64 reserved; // zero
    u8 payload[kCmdPayloadMax];
    u8 mac[kMacSize];
};
static_assert(sizeof(CommandSlot) == 512, "docs/mailbox.md §3");
constexpr usize kMacBytes = __builtin_offsetof(CommandSlot, mac);
static_assert(kMacBytes == 480, "docs/mailbox.md §3");

// §3 Payloads.
constexpr usize kNameMax = 16;
constexpr usize kCmdlineMax = 256;
struct CreateVmPayload {
    char name[kNameMax]; // NUL-padded, [A-Za-z0-9_-], non-empty
    u64 cpu_mask;        // bit n = core n
    u64 mem_bytes;       // non-zero multiple of 2 MiB
    u64 kernel_size;     // non-zero
    u64 initrd_size;     // may be zero
    u8 kernel_sha256[32];
    u8 initrd_sha256[32];
    char cmdline[kCmdlineMax]; // NUL-terminated inside the field
};
static_assert(sizeof(CreateVmPayload) == 368, "docs/mailbox.md §3.1");

enum class ImageKind : u32 { Kernel = 0, Initrd = 1 };
struct LoadImagePayload {
    u32 kind; // ImageKind
    u32 reserved;
    u64 image_offset; // where this chunk goes inside the image: must equal bytes loaded so far
    u64 bulk_offset;  // inside the bulk window
    u64 length;       // non-zero
};
static_assert(sizeof(LoadImagePayload) == 32, "docs/mailbox.md §3.2");

struct StopPayload {
    u32 timeout_ms; // graceful window before the stop is forced; 0 = force now
    u32 reserved;
};
static_assert(sizeof(StopPayload) == 8, "docs/mailbox.md §3.3");

constexpr usize kConsoleWriteMax = 256;
struct ConsoleWritePayload {
    u32 length;
    u32 reserved;
    u8 bytes[kConsoleWriteMax];
};
static_assert(sizeof(ConsoleWritePayload) == 264, "docs/mailbox.md §3.4");

// §3.11 ATTACH_VF / DETACH_VF: one VF of a created, not yet started VM.
struct VfPayload {
    u8 bus, dev, fn; // dev < 32, fn < 8
    u8 reserved;
    u32 reserved2;
};
static_assert(sizeof(VfPayload) == 8, "docs/mailbox.md §3.11");
struct VfReply {
    u32 reason;     // sriov::VfError: 0 ok, else why it was refused (§3.11)
    u32 owner;      // the VF's owner VM after the command (0: none)
    u64 guest_bar0; // ATTACH_VF Ok: where the guest sees the VF's BAR0 (its IPA)
    char message[48];
};
static_assert(sizeof(VfReply) == 64, "docs/mailbox.md §3.11");

// §3.10 UPDATE: a new keel.img through the bulk window into the update region, then
// verified as the boot stage verifies (docs/handover.md §1), then applied.
// Commit: the controller's acknowledgement of the image an Apply left running, within its
// deadline; without it that image rolls back to the one it replaced (docs/handover.md §4.7).
enum class UpdateStep : u32 { Begin = 1, Chunk = 2, Verify = 3, Apply = 4, Commit = 5 };
struct UpdatePayload {
    u32 step; // UpdateStep
    u32 reserved;
    u64 image_size;   // Begin: bytes of the whole file (else 0)
    u64 image_offset; // Chunk: bytes staged so far
    u64 bulk_offset;  // Chunk: inside the bulk window
    u64 length;       // Chunk: non-zero
};
static_assert(sizeof(UpdatePayload) == 40, "docs/mailbox.md §3.10");
struct UpdateReply {
    u32 hv_version;       // Verify Ok: the image's header fields
    u32 security_version; //
    u32 handover_min, handover_max;
    u64 region_bytes; // Begin: the update region's size
    char message[96]; // the refusal, or what was verified (NUL-terminated)
    char version[32]; // Verify Ok: the image note's version string
};
static_assert(sizeof(UpdateReply) == 152, "docs/mailbox.md §3.10");

// §4.2 HELLO: the controller's ephemeral key, signed with its long-term key.
struct HelloPayload {
    u32 offer_id; // SessionArea::offer_id being answered
    u32 reserved;
    u8 ctl_pub[32];   // X25519 public key (RFC 7748)
    u8 signature[96]; // ECDSA P-384 (raw r||s) over SHA-384 of the HelloTranscript
};
static_assert(sizeof(HelloPayload) == 136, "docs/mailbox.md §4.2");

// §4.2 What the HELLO signature covers (built by both sides, never sent).
struct HelloTranscript {
    u8 label[16]; // "KEEL-HELLO-V2", NUL padded
    u8 boot_nonce[16];
    u64 boot_counter;
    u32 offer_id;
    u32 reserved;
    u8 offer_nonce[16];
    u8 keel_pub[32];
    u8 ctl_pub[32];
};
static_assert(sizeof(HelloTranscript) == 128, "docs/mailbox.md §4.2");

// §4.2 Session area at kSessionOffset, written only by Keel. offer_id is written last
// (release): a controller reads it, the rest, then offer_id again, and retries on change.
struct SessionArea {
    u32 offer_id;     // the session a HELLO can establish next (1, 2, ...)
    u32 active_id;    // the established session, 0 before the first
    u64 boot_counter; // BootInfo's persistent counter (0: none), signed in the HELLO
    u8 offer_nonce[16];
    u8 keel_pub[32];  // Keel's ephemeral X25519 public key for offer_id
    u64 seq_floor;    // no sequence at or below this is accepted again this boot
    u32 max_commands; // a session ends after this many authenticated commands
    u32 max_age_ms;   // ...or this long after its HELLO
    u32 used;         // authenticated commands of the active session
    u32 reserved;
    u8 reserved2[40];
};
static_assert(sizeof(SessionArea) == 128, "docs/mailbox.md §4.2");

// §3.5 Response slot: HMAC-SHA256 with the session's response key over [0, kRespMacBytes)
// for every answer to an authenticated command; zero for rejections before (or without)
// authentication.
constexpr u32 kRespPayloadMax = 200;
struct ResponseSlot {
    u64 seq; // of the command answered (as copied; 0 when none could be read)
    u16 opcode;
    u16 reserved;
    u32 status;     // keel::Status
    u32 session_id; // the session whose key made `mac` (0: no mac)
    u32 reserved2;
    u8 payload[kRespPayloadMax];
    u8 mac[kMacSize];
};
static_assert(sizeof(ResponseSlot) == 256, "docs/mailbox.md §3.5");
constexpr usize kRespMacBytes = __builtin_offsetof(ResponseSlot, mac);

// The VM manager's states, numbered as the ABI fixes them (hypervisor/vm/lifecycle.hpp).
using VmLifeState = keel::VmState;
static_assert(static_cast<u32>(VmLifeState::Stopped) == 5, "docs/mailbox.md §3.5");

struct VmInfo {
    u32 id;
    u32 state; // VmLifeState
    char name[kNameMax];
    u64 cpu_mask;
    u64 mem_bytes;
    u64 uptime_ms;
};
static_assert(sizeof(VmInfo) == 48, "docs/mailbox.md §3.5");
struct PingReply {
    u32 abi_version;
    u32 vm_count;
    u64 cores_free_mask;
    u64 pool_free_bytes;
    u64 pool_baseline_bytes;
    u64 last_seq;
};
static_assert(sizeof(PingReply) == 40, "docs/mailbox.md §3.5");
struct ListReply {
    u32 count;
    u32 reserved;
    struct Entry {
        u32 id;
        u32 state;
        char name[kNameMax];
    } vms[kMaxVms];
};
static_assert(sizeof(ListReply) == 200, "docs/mailbox.md §3.5");
struct VmMetrics {
    u64 exits;
    u64 hypercalls;
    u64 aborts_injected;
    u64 irqs_injected;
    u64 console_lines;
    u64 run_time_ms;
};
constexpr u32 kNoNode = 0xffffffffu;
struct MetricsReply {
    VmInfo info;
    VmMetrics m;
    u32 mem_node;   // the NUMA node holding the VM's memory; kNoNode without NUMA
    u32 dma_faults; // IOMMU faults of the VM's VFs while it owned them (was reserved, 0)
};
static_assert(sizeof(MetricsReply) == 104, "docs/mailbox.md §3.8");

// §3.8 PLATFORM: the machine as Keel partitions it. Per CPU (index = the cpu_mask bit):
// its physical core, and its package (low nibble) and NUMA node (high nibble), each
// saturated at 15.
constexpr u32 kPlatformCpus = 64;
struct PlatformReply {
    u32 cpus;
    u32 packages;
    u32 cores;
    u32 nodes;
    u32 irq_kind; // keel::IrqControllerKind: 2 GICv2, 3 GICv3, 10 APIC
    u32 smmus;    // IOMMUs found (SMMUv3)
    u32 flags;    // bit 0: topology from the firmware (else a core per CPU)
    u32 reserved;
    u64 hypervisor_cpus; // kept by Keel: its own core with all of its SMT threads
    u8 cpu_core[kPlatformCpus];
    u8 cpu_package_node[kPlatformCpus];
};
static_assert(sizeof(PlatformReply) == 168, "docs/mailbox.md §3.8");
static_assert(sizeof(MetricsReply) <= kRespPayloadMax && sizeof(ListReply) <= kRespPayloadMax &&
              sizeof(PlatformReply) <= kRespPayloadMax && sizeof(UpdateReply) <= kRespPayloadMax);
// §3.9 VFS: the first kVfsMax VFs of the VF table (total says how many there are).
constexpr u32 kVfsMax = 8;
struct VfsReply {
    u16 count; // entries below
    u16 total; // VFs Keel enabled
    u32 reserved;
    struct Entry {
        u8 bus, dev, fn;
        u8 flags;       // bit 0: provisioned (assignable)
        u16 pf_rid;     // its physical function's routing ID
        u16 controller; // device-specific (NVMe: secondary controller id), 0 if none
        u32 owner;      // VM id, 0 = unassigned
        u32 reserved;
        u64 bar0;
    } vfs[kVfsMax];
};
static_assert(sizeof(VfsReply) == 200 && sizeof(VfsReply) <= kRespPayloadMax,
              "docs/mailbox.md §3.9");

// §5 Audit record, chained: prev_hash = SHA-256 of the previous record's 128 bytes
// (for record 0: SHA-256 of the boot nonce); mac = the first 16 bytes of HMAC-SHA256 with
// the session's log key over bytes [0, kRecordMacBytes) (zero before the first session).
enum class AuditKind : u32 {
    Boot = 0,
    Command = 1,
    Rejected = 2,
    Gap = 3,
    VmEvent = 4,
    Session = 5,  // a session established: vm_id = session id; MACed with its new key
    Rejects = 6,  // a burst of rejected commands summarized: vm_id = count (§4.4)
    DmaFault = 7, // an IOMMU fault of a VF's stream: vm_id = its owner (0: none), §5
};
struct AuditRecord {
    u64 index;   // 0, 1, 2... per boot; a jump is a gap
    u64 time_ms; // since boot
    u64 seq;     // command sequence (as copied), 0 if none
    u32 kind;    // AuditKind
    u32 opcode;
    u32 status; // keel::Status of the outcome
    u32 vm_id;
    u8 detail[40]; // NUL-padded text
    u8 prev_hash[32];
    u8 mac[16];
};
static_assert(sizeof(AuditRecord) == 128, "docs/mailbox.md §5");
constexpr usize kRecordMacBytes = __builtin_offsetof(AuditRecord, mac);

// §7 Metrics area: host block then one block per VM slot, refreshed on every poll.
struct HostMetrics {
    u64 commands_ok;
    u64 commands_rejected;
    u64 cores_free_mask;
    u64 pool_free_bytes;
    u64 pool_baseline_bytes;
    u64 polls;
    // Timing of the mailbox itself (hypervisor clock, ns; 0 where the arch has no
    // counter, docs/performance.md): the last command from pickup (slot read) to its
    // response being published (a HELLO: the whole handshake), and the authentication
    // inside it (session check and MAC; a HELLO: signature, X25519, keys, next offer); the last VM
    // started, from START pickup (ns) and from its CREATE_VM pickup (µs: includes the
    // controller's own time between commands) to its first console output.
    u32 last_cmd_ns;
    u32 last_verify_ns;
    u32 start_to_output_ns;
    u32 create_to_output_us;
};
static_assert(sizeof(HostMetrics) == 64, "docs/mailbox.md §7");

static_assert(kSessionOffset >= sizeof(Header) &&
              kSessionOffset + sizeof(SessionArea) <= kCmdRingOffset);
constexpr u64 console_out_offset(u32 slot) { return kConsoleOffset + slot * kConsoleOutBytes; }
static_assert(kCmdRingOffset + kCmdSlots * sizeof(CommandSlot) <= kRespRingOffset);
static_assert(kRespRingOffset + kRespSlots * sizeof(ResponseSlot) <= kLogRingOffset);
static_assert(kLogRingOffset + kLogSlots * sizeof(AuditRecord) <= kMetricsOffset);
static_assert(kMetricsOffset + sizeof(HostMetrics) + kMaxVms * sizeof(MetricsReply) <=
              kConsoleOffset);
static_assert(console_out_offset(kMaxVms) <= kBulkOffset);

} // namespace keel::mailbox
