// A guest's MSI as its local APICs receive it (SDM Vol. 3A 11.11 "Message Signalled
// Interrupts"): the address 0xFEE in 31:20, destination ID 19:12, RH 3, DM 2 (1: logical);
// the data vector 7:0, delivery mode 10:8, level 14, trigger mode 15. The guest programs
// these into an assigned VF's (emulated) MSI-X table; Keel raises them on the VM's virtual
// APICs (vm_msi.cpp). Only fixed and lowest-priority messages with a vector from 16 are
// taken: an NMI, SMI, INIT or ExtINT message from a device is refused, as is the
// remappable format (bit 4: the guest has no IOMMU).
#pragma once

#include "hypervisor/types.hpp"

namespace keel::virt {

struct GuestMsi {
    u8 vector = 0;
    u8 mode = 0; // 0 fixed, 1 lowest priority
    bool logical = false;
    u8 dest = 0;
};

// The message's route packed into one word (vector 7:0, mode 10:8, logical 11, dest 23:16),
// or false when the guest's interrupt controller would not take it as an interrupt.
constexpr bool pack_guest_msi(u64 address, u32 data, u32* packed) {
    if ((address >> 20) != 0xfee || (address & (1u << 4)) != 0) return false;
    const u32 vector = data & 0xff, mode = (data >> 8) & 7;
    if (vector < 16 || mode > 1) return false;
    const u32 logical = (address >> 2) & 1, dest = (address >> 12) & 0xff;
    *packed = vector | mode << 8 | logical << 11 | dest << 16;
    return true;
}

constexpr GuestMsi unpack_guest_msi(u32 packed) {
    return GuestMsi{static_cast<u8>(packed), static_cast<u8>((packed >> 8) & 7),
                    ((packed >> 11) & 1) != 0, static_cast<u8>(packed >> 16)};
}

} // namespace keel::virt
