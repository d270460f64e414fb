#include "drivers/sriov/guest_bus.hpp"

namespace keel::sriov {

void GuestBus::reset(u32 window, u32 slot_size) {
    window_ = window;
    slot_size_ = slot_size;
    for (u32 k = 0; k < kSlots; ++k)
        ports_[k].reset(k + 1, static_cast<u8>(k + 1), window + k * slot_size, slot_size, false);
}

GuestBus::Target GuestBus::route(u32 off) const {
    const u32 bus = off >> 20, dev = (off >> 15) & 31, fn = (off >> 12) & 7;
    if (bus == 0)
        return fn == 0 && dev >= 1 && dev <= kSlots ? Target{Target::Kind::Port, dev - 1}
                                                    : Target{};
    for (u32 k = 0; k < kSlots; ++k)
        if (ports_[k].present() && ports_[k].secondary_bus() == bus)
            return dev == 0 && fn == 0 ? Target{Target::Kind::Card, k} : Target{};
    return Target{};
}

bool GuestBus::plug(u32 slot, bool present, bool event, MsiMessage* msg) {
    if (event) return ports_[slot].set_present(present, msg);
    ports_[slot].reset(slot + 1, static_cast<u8>(slot + 1), window_ + slot * slot_size_, slot_size_,
                       present);
    return false;
}

} // namespace keel::sriov
