// The VM's virtual I/O APIC (Intel 82093AA datasheet: IOREGSEL at +0x00, IOWIN at +0x10;
// registers 0 ID, 1 version, 2 arbitration, 0x10 + 2n redirection entry n): 24 pins,
// edge-triggered delivery on a rising input (the ISA COM1 line on pin 4). Pure logic
// (tests/unit/x86_ioapic_test.cpp); the caller holds the VM's device lock and delivers
// the route to the local APICs.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::virt {

inline constexpr u32 kIoapicPins = 24;

struct Ioapic {
    u32 id;
    u32 select;
    u64 rte[kIoapicPins];
    u32 level; // input pins high
};

// Where an interrupt goes: vector, delivery mode (0 fixed, 1 lowest priority, 4 NMI),
// logical or physical 8-bit destination.
struct IoapicRoute {
    bool deliver;
    u8 vector, mode;
    bool logical;
    u32 dest;
};

void ioapic_reset(Ioapic& io, u32 id); // every entry masked
u32 ioapic_read(const Ioapic& io, u64 offset);
void ioapic_write(Ioapic& io, u64 offset, u32 value);
// Sets input `pin` to `high`; a rising edge on an unmasked pin gives its route.
IoapicRoute ioapic_set_line(Ioapic& io, u32 pin, bool high);

} // namespace keel::virt
