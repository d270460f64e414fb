// Second-stage faults outside RAM (VMX EPT violations, SDM Vol. 3C 29.3.3.2; SVM nested
// page faults, APM Vol. 2 15.25.6): an access to the scratch MMIO window or the I/O APIC
// (ioapic.hpp, at kIoapicBase) is emulated by
// fetching and decoding the faulting instruction (mmio_decode.hpp; neither backend gets
// the instruction from the CPU here: EPT violations give the address only, and QEMU's
// SVM has no decode assists); any other guest-physical address outside RAM stops the VM
// with a report (x86 has no external-abort exception to inject; see docs/x86-vmx.md).
//
// The scratch device: kScratchSize bytes of registers that read back what was written
// (little-endian, any width, any alignment inside the window).
#include <string.h>

#include "exit_policy.hpp"
#include "guest_mem.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/vm/vm.hpp"
#include "hypervisor/vm/vm_devices.hpp"
#include <arch/vm.hpp>

namespace keel::virt {
namespace {

using ull = unsigned long long;

} // namespace

u64 read_gpr(const GuestRegs& r, const GuestView& g, u8 n) {
    switch (n) {
    case 0: return r.rax;
    case 1: return r.rcx;
    case 2: return r.rdx;
    case 3: return r.rbx;
    case 4: return g.rsp;
    case 5: return r.rbp;
    case 6: return r.rsi;
    case 7: return r.rdi;
    case 8: return r.r8;
    case 9: return r.r9;
    case 10: return r.r10;
    case 11: return r.r11;
    case 12: return r.r12;
    case 13: return r.r13;
    case 14: return r.r14;
    default: return r.r15;
    }
}

void write_gpr(GuestRegs& r, GuestView& g, u8 n, u64 v) {
    switch (n) {
    case 0: r.rax = v; break;
    case 1: r.rcx = v; break;
    case 2: r.rdx = v; break;
    case 3: r.rbx = v; break;
    case 4: g.rsp = v; break;
    case 5: r.rbp = v; break;
    case 6: r.rsi = v; break;
    case 7: r.rdi = v; break;
    case 8: r.r8 = v; break;
    case 9: r.r9 = v; break;
    case 10: r.r10 = v; break;
    case 11: r.r11 = v; break;
    case 12: r.r12 = v; break;
    case 13: r.r13 = v; break;
    case 14: r.r14 = v; break;
    default: r.r15 = v; break;
    }
}

// Up to 15 bytes at the guest RIP (CS base is 0 in 64-bit mode and in our flat guests).
Result<usize> fetch_insn(const Vm& vm, const GuestView& g, u8* out) {
    const bool paging = g.cr0 & kCr0Pg;
    usize got = 0;
    for (u64 la = g.rip + g.cs_base; got < 15;) {
        u64 gpa = la;
        if (paging) {
            Result<u64> t = guest_linear_to_phys(vm, g.cr3, la);
            if (!t.ok()) break;
            gpa = t.value();
        }
        usize n = static_cast<usize>(4096 - (la & 4095));
        if (n > 15 - got) n = 15 - got;
        if (guest_read(vm, gpa, out + got, n) != Status::Ok) break;
        got += n;
        la += n;
    }
    if (got == 0) return Status::OutOfRange;
    return got;
}

namespace {

enum class Device : u8 { None, Scratch, Ioapic, Lapic, Ecam, PciWindow };

Device device_at(const Vm& vm, u64 gpa, usize* size, u64* base) {
    if (vm.pci != nullptr && gpa >= kGuestEcamBase && gpa - kGuestEcamBase < kGuestEcamSize) {
        *size = kGuestEcamSize, *base = kGuestEcamBase;
        return Device::Ecam;
    }
    const u64 win = arch::kGuestPciWindow.raw();
    if (vm.pci != nullptr && gpa >= win && gpa - win < arch::kGuestPciWindowSize) {
        *size = arch::kGuestPciWindowSize, *base = win;
        return Device::PciWindow;
    }
    if (gpa >= kScratchBase && gpa < kScratchBase + kScratchSize) {
        *size = kScratchSize, *base = kScratchBase;
        return Device::Scratch;
    }
    if (gpa >= kIoapicBase && gpa < kIoapicBase + kIoapicWindow) {
        *size = kIoapicWindow, *base = kIoapicBase;
        return Device::Ioapic;
    }
    if (gpa >= kLapicBase && gpa < kLapicBase + 4096) {
        *size = 4096, *base = kLapicBase;
        return Device::Lapic;
    }
    return Device::None;
}

// The I/O APIC's registers (ioapic.hpp); an unmasking write delivers a pin that is high.
u64 ioapic_access(Vm& vm, bool write, u64 off, u64 value) {
    VmContext& s = vm.arch;
    LockGuard lock(s.dev_lock);
    if (!write) return ioapic_read(s.ioapic, off);
    ioapic_write(s.ioapic, off, static_cast<u32>(value));
    for (u32 pin = 0; pin < kIoapicPins; ++pin)
        if (s.ioapic.level >> pin & 1) {
            s.ioapic.level &= ~(1u << pin);
            deliver_route(vm, ioapic_set_line(s.ioapic, pin, true));
        }
    return 0;
}

// The VM's PCIe functions (hypervisor/io/vm_vfs.cpp, GuestPci): config space through the
// ECAM, and the trapped pages of the VFs' BARs (MSI-X table and PBA, or a slot whose card is
// gone). False: an access the view does not emulate.
bool pci_access(Vm& vm, Device dev, u64 gpa, u64 off, u32 width, bool write, u64* value) {
    if (dev == Device::PciWindow) return vm.pci->bar_access(vm, gpa, width, write, value);
    const u32 o = static_cast<u32>(off);
    if (width == 8) { // two dwords, low first
        if (write) {
            vm.pci->config_write(vm, o, 4, static_cast<u32>(*value));
            vm.pci->config_write(vm, o + 4, 4, static_cast<u32>(*value >> 32));
        } else {
            *value = vm.pci->config_read(vm, o, 4) |
                     static_cast<u64>(vm.pci->config_read(vm, o + 4, 4)) << 32;
        }
    } else if (write) {
        vm.pci->config_write(vm, o, width, static_cast<u32>(*value));
    } else {
        *value = vm.pci->config_read(vm, o, width);
    }
    return true;
}

} // namespace

ExitAction mmio_exit(Vm& vm, Vcpu& v, GuestView& g, const SecondStageFault& f,
                     void (*report)(const Vm&, const Vcpu&, const char*)) {
    const u64 gpa = f.gpa;
    usize dev_size = 0;
    u64 dev_base = 0;
    Device dev = device_at(vm, gpa, &dev_size, &dev_base);
    u32 probe = 0;
    if (dev == Device::Lapic && !xapic_access(vm, v, false, 0x20, &probe)) dev = Device::None;
    if (dev == Device::None || f.fetch) {
        kprint("vm %u: %s: %s at guest-physical %#llx (outside RAM and MMIO)\n", vm.id, f.name,
               f.fetch   ? "instruction fetch"
               : f.write ? "write"
                         : "read",
               static_cast<ull>(gpa));
        report(vm, v, "access outside its memory");
        return ExitAction::Fault;
    }
    u8 bytes[15] = {};
    Result<usize> n = fetch_insn(vm, g, bytes);
    Result<MmioInsn> d =
        n.ok() ? decode_mmio(bytes, n.value(), g.mode) : Result<MmioInsn>(n.status());
    const u64 off = gpa - dev_base;
    if (!d.ok() || off + d.value().width > dev_size) {
        report(vm, v, "MMIO instruction not emulated");
        return ExitAction::Fault;
    }
    const MmioInsn& m = d.value();
    GuestRegs& r = v.regs;
    if (dev == Device::Ecam || dev == Device::PciWindow) {
        const bool load = m.op == MmioOp::Load;
        u64 value =
            load ? 0 : mmio_store_value(m, read_gpr(r, g, m.reg == kNoRegister ? 0 : m.reg));
        if (m.string || (m.width & (m.width - 1)) != 0 || off % m.width != 0 ||
            !pci_access(vm, dev, gpa, off, m.width, !load, &value)) {
            report(vm, v, "PCI access not emulated");
            return ExitAction::Fault;
        }
        if (load) write_gpr(r, g, m.reg, mmio_load_result(m, read_gpr(r, g, m.reg), value));
        g.rip += m.length;
        return ExitAction::Resume;
    }
    if (m.op == MmioOp::Load) {
        u64 value = 0;
        if (dev == Device::Scratch) {
            memcpy(&value, vm.arch.scratch + off, m.width);
        } else if (dev == Device::Ioapic) {
            value = ioapic_access(vm, false, off, 0);
        } else {
            u32 x = 0;
            (void)xapic_access(vm, v, false, off, &x);
            value = x;
        }
        write_gpr(r, g, m.reg, mmio_load_result(m, read_gpr(r, g, m.reg), value));
    } else {
        const u64 value = mmio_store_value(m, read_gpr(r, g, m.reg == kNoRegister ? 0 : m.reg));
        if (dev == Device::Scratch) {
            memcpy(vm.arch.scratch + off, &value, m.width);
        } else if (dev == Device::Ioapic) {
            (void)ioapic_access(vm, true, off, value);
        } else {
            u32 x = static_cast<u32>(value);
            (void)xapic_access(vm, v, true, off, &x);
        }
    }
    if (m.string) { // STOS: one element per exit; REP repeats the instruction (RIP stays)
        const bool down = g.rflags & kRflagsDf;
        r.rdi += down ? -static_cast<u64>(m.width) : m.width;
        if (m.rep && --r.rcx != 0) return ExitAction::Resume;
    }
    g.rip += m.length;
    return ExitAction::Resume;
}

} // namespace keel::virt
