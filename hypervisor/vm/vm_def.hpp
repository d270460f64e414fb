// VM definitions from the hypervisor command line, until the controller mailbox exists:
//
//   keel.vm=cpus:<list>,mem:<size>[,after:<vm id>][,guest:<mode>][,vf:<bb:dd.f>]
//           [,kernel:<hex pa>[,initrd:<hex
//           pa>+<bytes>][,args:<word>+<word>...][,input:<line>+<line>...]]
//
//   <list>  core indices (DTB /cpus order): "2", "2-3", "1+3", "1-2+5"
//   <size>  bytes with K/M/G suffix, a non-zero multiple of 2 MiB (the pool's block)
//   after   start only once VM <id> has been destroyed (it then reuses freed memory)
//   guest   test-guest mode: basic (default), wild (faults with no vector table), bench,
//           regfill / regcheck (fill every readable register; check all are at reset),
//           fetch, ptimer, debug, button, deaf (arm64 architecture checks, GuestMode),
//           mmio, vmrun, triple, reset (x86)
//   vf      an SR-IOV VF Keel enabled, given to the VM (docs/sriov.md "Assignment")
//   kernel  a Linux arm64 Image the loader (QEMU -device loader) left in host RAM at <pa>
//   initrd  an initramfs at <pa>, <bytes> long; args: guest kernel command line ('+' = space);
//   input   console input fed once the guest opens its UART ('+' = newline; test hook)
//
// VM ids are the 1-based positions of the keel.vm= words, rejected ones included, so an
// `after:` reference never shifts. Syntax reference: docs/vm-definitions.md.
// Pure logic: parsed here, checked against the machine by check_vm_def(); host-tested.
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel {

// The test guests' modes (tests/guest/guest_modes.h; each guest runs the ones it does not
// implement as basic).
enum class GuestMode : u32 {
    Basic = 0,
    Wild = 1,
    Bench = 2,
    RegFill = 3,
    RegCheck = 4,
    Fetch = 5,   // branch outside its RAM, report the instruction abort
    PTimer = 6,  // EL1 physical timer: TVAL, PPI 30 through the vGIC, IMASK
    Debug = 7,   // hardware breakpoint and watchpoint at its own vector
    Button = 8,  // wait for the power button (PL061 GPIO 3), then power off
    Deaf = 9,    // ignore everything, the power button included
    Scan = 10,   // arm64 test guest: every word of RAM outside its image
    Mmio = 11,   // x86 test guest: every vCPU hammers the scratch MMIO page at once
    Vmrun = 12,  // x86 test guest: executes VMRUN (a hostile exit)
    Triple = 13, // x86 test guest: triple fault (no usable IDT)
    Reset = 14,  // x86 test guest: ACPI S5 sleep-control write, then reset port 0xcf9
    Nvme = 15,   // arm64 test guest: drive its assigned NVMe VF (raw PRPs), then DMA outside
    Gaps = 16,   // arm64 test guest: the longest gap of its virtual counter, on request
};

struct VmDef {
    static constexpr usize kTextMax = 80;
    u64 cpu_mask = 0;  // bit n = core n
    u64 mem_bytes = 0; // multiple of 2 MiB
    u32 after = 0;     // 0: start at boot
    bool has_vf = false;
    u16 vf_rid = 0; // vf:<bb:dd.f>, as a routing ID
    GuestMode mode = GuestMode::Basic;
    char text[kTextMax] = {}; // the definition as written, for messages
    // Linux guests: sources in host RAM (2 MiB aligned), reserved from the pool at boot.
    static constexpr usize kArgsMax = 160;
    static constexpr usize kInputMax = 48;
    u64 kernel_pa = 0; // 0: run the in-tree test guest
    u64 initrd_pa = 0;
    u64 initrd_size = 0;
    char args[kArgsMax] = {};   // '+' already turned into ' '
    char input[kInputMax] = {}; // '+' already turned into '\n', one '\n' appended
    [[nodiscard]] bool is_linux() const { return kernel_pa != 0; }
};

// Why a definition was refused; `vm_def_error_text` names it for the console.
enum class VmDefError : u32 {
    None = 0,
    Malformed,          // unknown key, bad number, missing cpus or mem
    BadMemSize,         // zero or not a multiple of 2 MiB
    NoSuchCore,         // names a core the machine does not have (or has disabled)
    ReservedCore,       // names the hypervisor's boot/console core
    CoreTaken,          // a core another VM owns
    NoMemory,           // more memory than the pool has free
    BadAfter,           // after: names itself, a later VM, or a rejected one
    BadSource,          // kernel/initrd not 2 MiB aligned, initrd without kernel, text too long
    NoContiguousMemory, // enough free in total, but no run of that size
    NoTestGuest,        // no kernel named, and the image carries no test guest
};
// VmDefError is the reason a definition or an admission was refused, for messages; the
// Status it maps to is what the VM manager's calls return (docs/architecture.md "Errors").
const char* vm_def_error_text(VmDefError e);
// A test-guest mode by name ("basic", ..., "deaf": GuestMode's order); false if unknown.
bool parse_guest_mode(const char* s, usize len, GuestMode* out);
[[nodiscard]] Status vm_def_error_status(VmDefError e);

// Parses one definition (the text after "keel.vm=", `len` bytes).
VmDefError parse_vm_def(const char* text, usize len, VmDef& out);

// Calls `fn(index, text, len)` for each keel.vm= word of `cmdline`, in order; returns the count.
template <typename Fn>
u32 for_each_vm_word(const char* cmdline, Fn fn) {
    static constexpr char kKey[] = "keel.vm=";
    constexpr usize kKeyLen = sizeof kKey - 1;
    u32 n = 0;
    const char* p = cmdline ? cmdline : "";
    while (*p) {
        while (*p == ' ' || *p == '\t')
            ++p;
        const char* word = p;
        while (*p && *p != ' ' && *p != '\t')
            ++p;
        usize len = static_cast<usize>(p - word);
        bool match = len >= kKeyLen;
        for (usize i = 0; match && i < kKeyLen; ++i)
            match = word[i] == kKey[i];
        if (match) fn(n++, word + kKeyLen, len - kKeyLen);
    }
    return n;
}

// SMT: `siblings[i]` is the mask of CPUs sharing a physical core with CPU i (i
// included), kMaxSiblingCpus entries; null, or an entry of 0, means CPU i is alone.
// A VM owns whole physical cores: the cores of the CPUs it names, every thread of them,
// so no other VM and not the hypervisor ever runs on a sibling of a VM's CPU.
inline constexpr u32 kMaxSiblingCpus = 64;
inline u64 whole_cores(u64 mask, const u64* siblings) {
    u64 whole = mask;
    for (u32 i = 0; siblings != nullptr && i < kMaxSiblingCpus; ++i)
        if ((mask >> i) & 1) whole |= siblings[i];
    return whole;
}

// What the machine offers when a VM is admitted.
struct AdmitContext {
    u64 cores_present = 0;  // enabled, online cores
    u64 cores_reserved = 0; // the hypervisor's own, with their SMT siblings
    u64 cores_owned = 0;    // held by running VMs (whole cores)
    u64 pool_free = 0;      // bytes
    const u64* siblings = nullptr;
};
VmDefError check_vm_def(const VmDef& def, const AdmitContext& ctx);

} // namespace keel
