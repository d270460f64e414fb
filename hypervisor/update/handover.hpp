// The handover record (docs/handover.md §2): what an outgoing Keel hands the incoming image
// at a live update. A fixed header (magic, ABI version, length, SHA-256, update counter),
// then typed records. HandoverWriter builds one in a caller's buffer; parse_handover()
// checks one completely before anything is taken from it. Pure logic: no allocation, no
// side effects on refusal; host-tested (tests/unit/handover_test.cpp).
#pragma once

#include "crypto/sha2.hpp"
#include "drivers/sriov/root_port.hpp"
#include "drivers/sriov/vf_config.hpp"
#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"
#include "hypervisor/update/image_note.hpp"

namespace keel::update {

constexpr u64 kHandoverMagic = 0x31444e484c45454bull; // "KEELHND1"
constexpr u32 kMaxRecordBytes = 64 * 1024;
constexpr u32 kHandoverMaxVms = 8;
constexpr u32 kHandoverMaxVcpus = 64;
constexpr u32 kHandoverMaxVfs = 32;
constexpr u32 kHandoverMaxMsiDevices = 8;

// §2.1
struct HandoverHeader {
    u64 magic;
    u32 abi_version;
    u32 header_size;
    u64 length; // header + records
    u64 update_counter;
    u32 record_count;
    u32 flags;      // zero
    u8 sha256[32];  // over [0, length) with this field zero
    u8 reserved[8]; // zero
};
static_assert(sizeof(HandoverHeader) == 80, "docs/handover.md §2.1: the header is 80 bytes");
static_assert(__builtin_offsetof(HandoverHeader, sha256) == 40, "docs/handover.md §2.1");

// §2.2
struct RecordHeader {
    u32 type;
    u32 version; // 1
    u32 length;  // payload bytes, multiple of 8, <= kMaxRecordBytes
    u32 reserved;
};
static_assert(sizeof(RecordHeader) == 16, "docs/handover.md §2.2");

enum class RecordType : u32 {
    OldImage = 1,
    Vm = 2,
    Vcpu = 3,
    Stage2 = 4,
    PoolRuns = 5,
    Console = 6,
    Mailbox = 7,
    VgicDist = 8,    // from ABI 2
    VmDevices = 9,   // from ABI 3
    MailboxVm = 10,  // from ABI 3
    Io = 11,         // from ABI 6
    Vf = 12,         // from ABI 6
    VmPci = 13,      // from ABI 6
    VcpuX86 = 14,    // from ABI 7
    X86Devices = 15, // from ABI 7
    X86Clock = 16,   // from ABI 8
};
constexpr u32 kRecordTypeMax = 16;
// The ABI version that brought each type in: a record set of an older version holds none
// of it (docs/handover.md §2.2).
constexpr u32 record_since(RecordType t) {
    switch (t) {
    case RecordType::VgicDist: return 2;
    case RecordType::VmDevices:
    case RecordType::MailboxVm: return 3;
    case RecordType::Io:
    case RecordType::Vf:
    case RecordType::VmPci: return 6;
    case RecordType::VcpuX86:
    case RecordType::X86Devices: return 7;
    case RecordType::X86Clock: return 8;
    default: return 1;
    }
}
constexpr u32 kRecordVersion = 1;

struct OldImageRecord {
    u64 base, span, entry;
    u64 update_region, update_region_size;
    u32 security_floor, security_version, hv_version;
    u32 incoming_security_version; // the image entered (the floor a commit raises to), ABI 4
    char version[32];
    u64 dtb; // the device tree the running Keel booted with (0: none), from ABI 3
    // From ABI 4: the cores the running Keel has online (each comes over to the incoming
    // image), where the VMs' stage-2 table pages live (a hypervisor pool run, not inside
    // any image), when the quiesce began (the counter's ticks: the blackout's start) and
    // fresh random bytes from the outgoing image's seed for the incoming one's.
    u64 cores_online;
    u64 tables_base, tables_size;
    u64 quiesce_tick;
    u8 entropy[32];
    // From ABI 5 (§4.7): the running image's bytes that change after it is loaded other
    // than by relocation (.dynamic, .data, .got), at base + restore_offset, and their copy
    // as loaded at base + restore_copy (start.S makes it at entry), restore_size bytes each;
    // 0: none. An incoming image that is not committed puts them back to roll back.
    u64 restore_offset, restore_size, restore_copy;
    u32 flags; // kOldImageRollback; other bits zero
    u32 reserved;
    // From ABI 6: the ACPI RSDP the running Keel read its platform from (a UEFI boot without
    // a device tree; 0 otherwise), and its command line (NUL-terminated): what the incoming
    // image runs with, whatever the device tree's /chosen says (a UEFI boot's came from
    // keel.cfg, not from there).
    u64 acpi_rsdp;
    char cmdline[256];
};
static_assert(sizeof(OldImageRecord) == 456, "docs/handover.md §2.2 OldImage");
// The record is a rollback (§4.7): its writer is an incoming image that was not committed,
// and the image it enters is the one it replaced. No Apply awaits an answer; the image
// entered commits at once.
constexpr u32 kOldImageRollback = 1u << 0;
// §2.3's rules for one OldImage record on its own (parse_handover applies them).
[[nodiscard]] bool old_image_consistent(const OldImageRecord& o);

struct VmRecord {
    u32 id, state;
    u64 cpu_mask, mem_base, mem_size;
    u32 first_cpu, vcpu_count;
    char name[16];
    u64 started_ms;
};
static_assert(sizeof(VmRecord) == 64, "docs/handover.md §2.2 Vm");

// arm64 vCPU state, in the order of arch/arm64/vcpu.hpp's VcpuContext and El1Context.
struct VcpuRecord {
    u32 vm_id, index, core, on;
    u64 x[31];
    u64 pc, pstate;
    u64 el1[26];
    u64 cntvoff;
    u32 gic_enabled, gic_pending, gic_group, gic_icfgr1, gic_waker, gic_reserved;
    u8 gic_priority[32];
    u64 ich_hcr;
    u64 ich_lr[16];
    u32 lr_count, ich_ap1r0;
    u64 reserved;
};
static_assert(sizeof(VcpuRecord) == 704, "docs/handover.md §2.2 Vcpu");
static_assert(__builtin_offsetof(VcpuRecord, el1) == 280, "docs/handover.md §2.2 Vcpu");

struct Stage2Record {
    u32 vm_id, vmid;
    u64 root, vtcr, ipa_base;
};
static_assert(sizeof(Stage2Record) == 32, "docs/handover.md §2.2 Stage2");

// arm64 virtual GIC distributor state of one VM (arch/arm64/vgic.hpp VgicDist, SPIs 32..63).
struct VgicDistRecord {
    u32 vm_id, ctlr;
    u32 enabled, pending, level, group; // one bit per SPI
    u32 icfgr[2];
    u8 priority[32];
    u64 irouter[32];
};
static_assert(sizeof(VgicDistRecord) == 320, "docs/handover.md §2.2 VgicDist");

constexpr u32 kOwnerFree = 0;
constexpr u32 kOwnerHypervisor = 0xffffffffu;
struct PoolRun {
    u64 base, size;
    u32 owner, reserved;
};
static_assert(sizeof(PoolRun) == 24, "docs/handover.md §2.2 PoolRuns");
struct PoolRunsHeader {
    u32 count, reserved;
};
static_assert(sizeof(PoolRunsHeader) == 8, "docs/handover.md §2.2 PoolRuns");

// arm64: a VM's emulated PL011 UART and PL061 GPIO registers (arch/arm64/vuart.hpp,
// pl061.hpp), the UART's receive queue from its head and the line it is collecting.
struct VmDevicesRecord {
    u32 vm_id, reserved;
    u32 uart_cr, uart_lcr_h, uart_ibrd, uart_fbrd, uart_ifls, uart_imsc, uart_ris, uart_dmacr;
    u32 uart_ilpr, uart_rx_count, uart_rx_open, uart_line_len;
    u8 uart_rx[64];
    char uart_line[120];
    u8 gpio_data, gpio_dir, gpio_is, gpio_ibe, gpio_iev, gpio_ie, gpio_ris, gpio_afsel;
    u8 gpio_in, reserved2[7];
};
static_assert(sizeof(VmDevicesRecord) == 256, "docs/handover.md §2.2 VmDevices");

// What the controller mailbox knows of a VM beyond the VM manager (hypervisor/mailbox/
// service.hpp VmRecord): its name, command line and times.
struct MailboxVmRecord {
    u32 vm_id;
    u32 flags; // bit 0 its first output seen, bit 1 its end logged
    char name[16];
    u64 cpu_mask, mem_bytes;
    u64 started_ms, ended_ms, stop_deadline_ms;
    char cmdline[256];
};
static_assert(sizeof(MailboxVmRecord) == 320, "docs/handover.md §2.2 MailboxVm");

struct ConsoleRecord {
    u32 vm_id, reserved;
    u64 out_count, out_published;
    u8 out_mirror[4096];
    u32 in_len, reserved2;
    u8 in_queue[1024];
};
static_assert(sizeof(ConsoleRecord) == 5152, "docs/handover.md §2.2 Console");
// The parser reads a per-VM record's VM from its first word.
static_assert(__builtin_offsetof(Stage2Record, vm_id) == 0 &&
                  __builtin_offsetof(VgicDistRecord, vm_id) == 0 &&
                  __builtin_offsetof(VmDevicesRecord, vm_id) == 0 &&
                  __builtin_offsetof(MailboxVmRecord, vm_id) == 0 &&
                  __builtin_offsetof(ConsoleRecord, vm_id) == 0,
              "docs/handover.md §2.2");

struct MailboxRecord {
    u64 region_base, region_size;
    u8 boot_nonce[16];
    u32 cmd_cons, resp_prod, log_prod, unlogged;
    u32 active_session, offer_id, session_used, reserved;
    u64 seq_floor, session_established_ms, audit_next_index;
    u8 audit_head[32];
    u8 session_keys[96];
};
static_assert(sizeof(MailboxRecord) == 216, "docs/handover.md §2.2 Mailbox");

// The I/O state that outlives an image (docs/handover.md §1.1 "I/O region", §2.2 Io): the
// region holding the IOMMU's structures and tables, the MSI controller's tables and the PFs'
// admin queue pages (a hypervisor pool run), the IOMMU's registers, the MSI controller's
// state (arm64: the ITS, its command queue's write offset, the collection's target, each
// device's LPIs) and how many Vf records follow.
struct IoMsiDevice {
    u32 device_id, first, events, reserved;
};
struct IoRecord {
    u64 region_base, region_size;
    u32 layout_bytes, vf_count;
    u64 iommu_base;
    u32 iommu_streams, msi_ready;
    u64 msi_base, msi_target;
    u32 msi_cwriter, msi_devices;
    IoMsiDevice msi_map[kHandoverMaxMsiDevices];
};
static_assert(sizeof(IoRecord) == 192, "docs/handover.md §2.2 Io");
// One VF Keel enabled (drivers/sriov/vf_table.hpp Vf) and its guest view.
struct VfRecord {
    u16 rid, pf_rid;
    u16 index, controller;
    u32 owner, flags; // kVfProvisioned
    u64 bar[6], bar_size[6];
    u64 guest_bar0;
    u32 dma_faults, msi_first, msi_vectors, msi_delivered;
    u32 msi_dropped, reserved;
    sriov::VfViewState view;
};
static_assert(sizeof(VfRecord) == 320, "docs/handover.md §2.2 Vf");
constexpr u32 kVfProvisioned = 1u << 0;
// A VM's PCI hierarchy (drivers/sriov/guest_bus.hpp): its hot-plug root ports.
struct VmPciRecord {
    u32 vm_id, flags; // bit 0: an access where no function answers was reported
    u32 window, slot_size;
    sriov::RootPortState ports[4];
};
static_assert(sizeof(VmPciRecord) == 208, "docs/handover.md §2.2 VmPci");
static_assert(__builtin_offsetof(VmPciRecord, vm_id) == 0, "docs/handover.md §2.2");

// x86_64 (from ABI 7). A segment register or descriptor-table register as the VMCB keeps it
// (AMD APM Vol. 2 15.5.1, Appendix B): selector, attributes (the descriptor's type, S, DPL,
// P, AVL, L, D/B, G bits packed into 12), limit, base.
struct X86Segment {
    u16 selector, attrib;
    u32 limit;
    u64 base;
};
static_assert(sizeof(X86Segment) == 16, "docs/handover.md §2.2 VcpuX86");
// An x86 vCPU: its architectural state, the event its next entry delivers, its interrupt
// state, its one-shot test timer and its local APIC (virt/lapic.hpp, this ABI's layout:
// lapic_bytes must be the reader's own size).
struct VcpuX86Record {
    u32 vm_id, index, core, run; // run: virt::VcpuRun
    u64 rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp, r8, r9, r10, r11, r12, r13, r14, r15;
    u64 rip, rflags, cr0, cr2, cr3, cr4, efer, dr6, dr7;
    X86Segment es, cs, ss, ds, fs, gs, ldtr, tr, gdtr, idtr;
    u64 star, lstar, cstar, sfmask, kernel_gs_base, sysenter_cs, sysenter_esp, sysenter_eip;
    u64 pat, xcr0, tsc_offset;
    u64 event_inject; // EVENTINJ's layout (APM Vol. 2 15.20): bit 31 valid; 0 none
    u64 int_control;  // a virtual interrupt request waiting for its window (15.21.4)
    u32 int_shadow, nmi_blocked, nmi_iret, nmi_pending;
    u64 timer_deadline; // TSC, while timer_armed
    u32 timer_armed, sipi_vector, apic_off, lapic_bytes;
    u8 lapic[256];
};
static_assert(sizeof(VcpuX86Record) == 776, "docs/handover.md §2.2 VcpuX86");
// An x86 VM's emulated platform devices (virt/uart.hpp, ioapic.hpp, pit.hpp, rtc.hpp, in
// this ABI's layouts: each *_bytes must be the reader's own size) and COM1's input queue.
struct X86DevicesRecord {
    u32 vm_id, reserved;
    u32 uart_bytes, ioapic_bytes, pit_bytes, rtc_bytes;
    u32 rx_head, rx_count; // the queue from rx_head, rx_count bytes (at most 256)
    u8 uart[16], ioapic[256], pit[64], rtc[64];
    char rx_queue[256];
};
static_assert(sizeof(X86DevicesRecord) == 688, "docs/handover.md §2.2 X86Devices");
// x86_64 (from ABI 8, at most one): the outgoing image's clock rates, which every core of the
// machine shares: the TSC's (tsc_source: 1 CPUID 0x15, 2 measured against the PIT) and the
// local APIC timer's, in its ticks per TSC tick (32.32 fixed point, divide-by-1). 0: not
// known, and the incoming image measures it itself.
struct X86ClockRecord {
    u64 tsc_hz;
    u64 timer_per_tsc_q32;
    u32 tsc_source, reserved;
};
static_assert(sizeof(X86ClockRecord) == 24, "docs/handover.md §2.2 X86Clock");
constexpr u32 kX86TscSourceMax = 2;

// The payload size of a fixed-size type; 0 for PoolRuns (variable) and unknown types.
constexpr u32 record_size(RecordType t) {
    switch (t) {
    case RecordType::OldImage: return sizeof(OldImageRecord);
    case RecordType::Vm: return sizeof(VmRecord);
    case RecordType::Vcpu: return sizeof(VcpuRecord);
    case RecordType::Stage2: return sizeof(Stage2Record);
    case RecordType::Console: return sizeof(ConsoleRecord);
    case RecordType::Mailbox: return sizeof(MailboxRecord);
    case RecordType::VgicDist: return sizeof(VgicDistRecord);
    case RecordType::VmDevices: return sizeof(VmDevicesRecord);
    case RecordType::MailboxVm: return sizeof(MailboxVmRecord);
    case RecordType::Io: return sizeof(IoRecord);
    case RecordType::Vf: return sizeof(VfRecord);
    case RecordType::VmPci: return sizeof(VmPciRecord);
    case RecordType::VcpuX86: return sizeof(VcpuX86Record);
    case RecordType::X86Devices: return sizeof(X86DevicesRecord);
    case RecordType::X86Clock: return sizeof(X86ClockRecord);
    case RecordType::PoolRuns: return 0;
    }
    return 0;
}

// Builds a record in `buf` (8-byte aligned). Records are appended whole or not at all.
// `abi`: the version written, [kHandoverAbiMin, kHandoverAbi]; a type newer than it is
// refused (InvalidArgument), so a record for an older reader holds only what it reads.
class HandoverWriter {
public:
    HandoverWriter(u8* buf, usize size, u64 update_counter, u32 abi = kHandoverAbi);
    [[nodiscard]] u32 abi() const { return abi_; }
    [[nodiscard]] Status add(RecordType type, const void* payload, u32 len);
    template <class T>
    [[nodiscard]] Status add(RecordType type, const T& rec) {
        static_assert(sizeof(T) % 8 == 0);
        return add(type, &rec, static_cast<u32>(sizeof rec));
    }
    [[nodiscard]] Status add_pool(const PoolRun* runs, u32 count);
    // Writes length, count and hash; the record is complete from here. Returns its length.
    [[nodiscard]] Result<u64> seal();

private:
    u8* buf_;
    usize size_;
    u64 used_;
    u32 count_ = 0;
    u32 abi_;
    Status error_ = Status::Ok; // sticky: a record that did not fit fails seal()
};

// One checked record: its type and payload (pointing into the parsed buffer).
struct RecordRef {
    RecordType type = RecordType::OldImage;
    const u8* payload = nullptr;
    u32 length = 0;
};

// What parse_handover() found, all checked (docs/handover.md §2.2, §2.3).
struct HandoverView {
    HandoverHeader header{};
    const OldImageRecord* old_image = nullptr;
    const MailboxRecord* mailbox = nullptr;
    const PoolRunsHeader* pool = nullptr;
    const PoolRun* pool_runs = nullptr;
    u32 vm_count = 0;
    const VmRecord* vms[kHandoverMaxVms] = {};
    const Stage2Record* stage2[kHandoverMaxVms] = {};        // same index as vms
    const ConsoleRecord* console[kHandoverMaxVms] = {};      // same index as vms
    const VgicDistRecord* vgic_dist[kHandoverMaxVms] = {};   // same index as vms
    const VmDevicesRecord* vm_devices[kHandoverMaxVms] = {}; // same index as vms
    const MailboxVmRecord* mailbox_vm[kHandoverMaxVms] = {}; // same index as vms
    const VmPciRecord* vm_pci[kHandoverMaxVms] = {};         // same index as vms (with io)
    const IoRecord* io = nullptr;                            // none: no I/O state
    u32 vf_count = 0;
    const VfRecord* vfs[kHandoverMaxVfs] = {};
    u32 vcpu_count = 0; // arm64 Vcpu records
    const VcpuRecord* vcpus[kHandoverMaxVcpus] = {};
    // x86_64 (ABI 7): per VM its X86Devices (same index as vms), and the VcpuX86 records.
    const X86DevicesRecord* x86_devices[kHandoverMaxVms] = {};
    u32 x86_vcpu_count = 0;
    const VcpuX86Record* x86_vcpus[kHandoverMaxVcpus] = {};
    const X86ClockRecord* x86_clock = nullptr; // ABI 8; none: the reader measures the rates
};

// `buf` must be 8-byte aligned. Ok: `out` describes the whole record. Truncated (shorter
// than the header or its length), Unsupported (abi_version outside [abi_min, abi_max]),
// Corrupt (anything else in §2). On refusal `out` is left empty. `Digest::Trusted` skips
// only the SHA-256 check: for the writer's own check of what HandoverWriter::seal() just
// hashed, never for a record received.
enum class Digest { Check, Trusted };
[[nodiscard]] Status parse_handover(const u8* buf, usize len, u32 abi_min, u32 abi_max,
                                    HandoverView& out, Digest digest = Digest::Check);

} // namespace keel::update
