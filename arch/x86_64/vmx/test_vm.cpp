// The first VT-x guest: 2 MiB of RAM behind EPT, the real-mode test guest from
// tests/guest/x86_64/ at 0x1000, and the exit handlers it needs (SDM Vol. 3C 26-28).
//
//   Multiboot usable RAM -> FramePool (image reserved) -> 2 MiB block, zeroed
//   EPT (PML4 -> PDPT -> PD, one 2 MiB leaf) maps GPA 0 -> that block, WB, RWX
#include <string.h>

#include "../ept_format.hpp"
#include "../paging.hpp"
#include "hypervisor/mm/frame_pool.hpp"
#include "hypervisor/mm/page_table.hpp"
#include "hypervisor/panic.hpp"
#include "hypervisor/print.hpp"
#include "msr.hpp"
#include "vm_exit.hpp"
#include "vmcs_setup.hpp"
#include "vmx.hpp"

extern "C" char keel_guest_start[], keel_guest_end[];

namespace keel::vmx {
namespace {

using ull = unsigned long long;
constexpr u64 kGuestRam = 2 * MiB;
constexpr u64 kGuestEntry = 0x1000;
constexpr u16 kVpid = 1;
constexpr mm::OwnerId kVmOwner = 1;

// EPT table pages: a fixed pool inside the image (identity mapped: phys = virt).
class EptTables final : public mm::TableMemory {
public:
    u64* alloc_table(PhysAddr* phys) override {
        if (used_ == kPages) return nullptr;
        u64* t = pages_[used_++];
        memset(t, 0, mm::kPageSize);
        *phys = PhysAddr(reinterpret_cast<u64>(t));
        return t;
    }
    void free_table(PhysAddr) override {} // the test VM is never torn down yet
    u64* table_ptr(PhysAddr phys) override { return reinterpret_cast<u64*>(phys.raw()); }
    [[nodiscard]] usize tables_in_use() const override { return used_; }

private:
    static constexpr usize kPages = 8;
    alignas(4096) u64 pages_[kPages][512];
    usize used_ = 0;
};

// Zeroes pool memory through map_phys (identity, RW, NX): the pool is otherwise unmapped.
class MapScrubber final : public mm::Scrubber {
public:
    void zero(PhysAddr base, u64 size) override {
        if (x86::map_phys(base.raw(), size, x86::MapKind::ReadWrite) != Status::Ok)
            panic("vmx: cannot map guest RAM %#llx", static_cast<unsigned long long>(base.raw()));
        memset(reinterpret_cast<void*>(base.raw()), 0, size);
    }
};

// The x86 entry path runs no global constructors (.init_array), so objects with
// constructors live in a function-local static, built on first use.
struct VmMemory {
    MapScrubber scrubber;
    mm::FramePool pool{scrubber};
    EptTables tables;
    mm::PageTable<x86::EptFormat> ept{tables};
};
VmMemory& vm_memory() {
    static VmMemory m;
    return m;
}
alignas(4096) u8 g_vmcs[4096];
alignas(4096) u8 g_io_bitmaps[2][4096];
GuestRegs g_regs;

Result<PhysAddr> alloc_guest_ram(const Platform& p) {
    mm::FramePool& pool = vm_memory().pool;
    for (u32 i = 0; i < p.mem_count; ++i)
        if (p.mem[i].type == MemType::Usable)
            (void)pool.add_region(PhysAddr(p.mem[i].base), p.mem[i].size);
    for (u32 i = 0; i < p.mem_count; ++i) // the image and firmware stay out
        if (p.mem[i].type != MemType::Usable) pool.reserve(PhysAddr(p.mem[i].base), p.mem[i].size);
    return pool.alloc(kGuestRam, kVmOwner);
}

// EPTP (SDM Vol. 3C 25.6.11): memory type WB (6), page-walk length - 1 = 3, A/D off.
u64 build_ept(PhysAddr ram) {
    mm::PageTable<x86::EptFormat>& ept = vm_memory().ept;
    if (ept.init() != Status::Ok) return 0;
    if (ept.map(GuestPhys(0), ram, kGuestRam, mm::Attrs{}) != Status::Ok) return 0;
    return ept.root().raw() | (3u << 3) | 6u;
}

Status fail_entry(RunResult r) {
    if (r == RunResult::FailInvalid) {
        kprint("vmx: VM entry failed: VMfailInvalid (CF=1, no current VMCS)\n");
        return Status::BadState;
    }
    const u32 e = vmread(VmcsField32::VmInstructionError);
    kprint("vmx: VM entry failed: VM-instruction error %u (%s)\n", e, instruction_error_name(e));
    return Status::InvalidArgument;
}

// One VMLAUNCH that must fail, for keel.test=vmx-bad-control.
RunResult try_launch() {
    GuestRegs regs{};
    return static_cast<RunResult>(vmx_run(&regs, 0));
}

} // namespace

Status run_test_vm(const Platform& platform, TestMode mode) {
    Result<PhysAddr> ram = alloc_guest_ram(platform);
    if (!ram.ok()) return ram.status();
    const u64 ram_pa = ram.value().raw();
    const usize guest_size = static_cast<usize>(keel_guest_end - keel_guest_start);
    memcpy(reinterpret_cast<void*>(ram_pa + kGuestEntry), keel_guest_start, guest_size);
    const u64 eptp = build_ept(ram.value());
    if (eptp == 0) return Status::NoMemory;
    kprint("vmx: guest RAM %#llx-%#llx (2 MiB from the frame pool), EPTP %#llx, %zu EPT tables, "
           "guest %zu bytes at %#llx\n",
           static_cast<ull>(ram_pa), static_cast<ull>(ram_pa + kGuestRam - 1),
           static_cast<ull>(eptp), vm_memory().tables.tables_in_use(), guest_size,
           static_cast<ull>(kGuestEntry));

    *reinterpret_cast<u32*>(g_vmcs) =
        static_cast<u32>(x86::rdmsr(x86::kMsrVmxBasic) & kBasicRevisionMask);
    const u64 vmcs_pa = reinterpret_cast<u64>(g_vmcs);
    if (vmclear_insn(vmcs_pa) != VmxResult::Ok || vmptrld_insn(vmcs_pa) != VmxResult::Ok) {
        kprint("vmx: VMCLEAR/VMPTRLD of %#llx failed\n", static_cast<ull>(vmcs_pa));
        return Status::HardwareFault;
    }
    vmcs_clear_failures();
    Controls c{kPinExternalInterruptExiting | kPinNmiExiting,
               kProcHltExiting | kProcUseIoBitmaps | kProcActivateSecondary,
               kProc2EnableEpt | kProc2EnableVpid | kProc2UnrestrictedGuest,
               kExitHostAddressSpaceSize | kExitLoadIa32Efer, kEntryLoadIa32Efer};
    if (mode == TestMode::BadControl) {
        // Bit 30 of the pin-based controls is reserved: allowed-1 is 0 (A.3.1).
        Controls bad = c;
        bad.pin |= 1u << 30;
        kprint("test: asking for reserved pin-based control bit 30\n");
        if (setup_controls(bad)) kprint("vmx: BUG: reserved control accepted\n");
    }
    if (!setup_controls(c)) return Status::Unsupported;
    // Every port traps: a set bit in I/O bitmap A (0-0x7fff) or B makes IN/OUT exit (25.6.4).
    memset(g_io_bitmaps, 0xff, sizeof g_io_bitmaps);
    vmwrite(VmcsField64::IoBitmapA, reinterpret_cast<u64>(g_io_bitmaps[0]));
    vmwrite(VmcsField64::IoBitmapB, reinterpret_cast<u64>(g_io_bitmaps[1]));
    vmwrite(VmcsField32::ExceptionBitmap, 0); // the guest handles its own exceptions
    vmwrite(VmcsField64::EptPointer, eptp);
    vmwrite(VmcsField16::Vpid, kVpid);
    setup_host_state();
    setup_guest_real_mode(kGuestEntry, 0x8000);
    if (vmcs_write_failed()) return Status::HardwareFault;
    // Nothing may be cached for this EPTP/VPID from before (28.3.3.4).
    if (invept(kInvSingleContext, eptp) != VmxResult::Ok ||
        invvpid(kInvSingleContext, kVpid) != VmxResult::Ok) {
        kprint("vmx: INVEPT/INVVPID failed\n");
        return Status::HardwareFault;
    }

    // The BIOS left the 8259 PIC's timer running; nothing in Keel uses the PIC, and an
    // asserted INTR would cause an external-interrupt exit on every entry: mask it (OCW1).
    x86::outb(0x21, 0xff);
    x86::outb(0xa1, 0xff);

    if (mode == TestMode::BadControl) {
        // 1) A control the CPU forbids, written past the allowed-0/1 check: pin-based bit 1
        //    is a default-1 bit even in the TRUE MSR -> VM-instruction error 7.
        const u32 pin = vmread(VmcsField32::PinBasedControls);
        vmwrite(VmcsField32::PinBasedControls, pin & ~(1u << 1));
        kprint("test: VMLAUNCH with pin-based control bit 1 cleared\n");
        (void)fail_entry(try_launch());
        vmwrite(VmcsField32::PinBasedControls, pin);
        // 2) Invalid guest state: RFLAGS bit 1 must be 1 (27.3.1.4) -> exit reason 33.
        vmwrite(VmcsFieldNatural::GuestRflags, 0);
        kprint("test: VMLAUNCH with guest RFLAGS bit 1 clear\n");
        if (try_launch() == RunResult::Exited) {
            const ExitReasonField r = decode_exit_reason(vmread(VmcsField32::ExitReason));
            const u64 q = vmread(VmcsFieldNatural::ExitQualification);
            kprint("vmx: VM-entry failure%s: exit reason %u (%s), qualification %llu (%s)\n",
                   r.entry_failure ? " (bit 31 set)" : "", static_cast<u32>(r.basic),
                   exit_reason_name(r.basic), static_cast<ull>(q),
                   entry_failure_qualification_name(q));
        } else {
            kprint("vmx: BUG: VMLAUNCH with invalid guest state did not fail as a VM exit\n");
        }
        return Status::Ok;
    }
    return run_guest(g_regs, 1);
}

} // namespace keel::vmx
