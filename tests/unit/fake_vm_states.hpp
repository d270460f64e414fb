// The VM states a fake mailbox backend keeps (the real backend's are the VM manager's):
// each mechanic that succeeds applies its event through the one table, as the manager
// does. Shared by the unit tests' FakeBackend and the fuzz target's NullBackend.
#pragma once

#include "hypervisor/mailbox/lifecycle.hpp"

namespace keel::mailbox {

struct FakeVmStates {
    VmLifeState st[kMaxVms + 1] = {};

    Status apply(u32 id, VmEvent e) {
        const Result<VmLifeState> r = vm_transition(st[id], e);
        if (!r.ok()) return r.status();
        st[id] = r.value();
        return Status::Ok;
    }
    // A stop of a VM already stopping (the forced phase) changes nothing.
    Status stop(u32 id) {
        return st[id] == VmLifeState::Stopping ? Status::Ok : apply(id, VmEvent::Stop);
    }
    void free(u32 id) { st[id] = VmLifeState::Free; }
};

} // namespace keel::mailbox
