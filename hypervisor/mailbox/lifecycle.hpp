// The VM state machine every lifecycle command is checked against (docs/vm-lifecycle.md):
//
//   Free --CREATE_VM--> Loading --LOAD_IMAGE (last chunk, hashes match)--> Ready
//   Ready --START--> Running --guest powers off / faults--> Stopped
//   Running --STOP--> Stopping --guest exits, or timeout (forced)--> Stopped
//   Loading | Ready | Stopped --DESTROY--> Free   (memory scrubbed, cores returned)
//
// Anything else is BadState and changes nothing (START on Running is an error, not a
// restart; DESTROY on Running needs a STOP first). Pure logic, host-tested.
#pragma once

#include "hypervisor/mailbox/abi.hpp"
#include "hypervisor/status.hpp"

namespace keel::mailbox {

enum class VmEvent : u32 { Create, LoadChunk, LoadComplete, Start, Stop, GuestEnded, Destroy };

[[nodiscard]] constexpr Result<VmLifeState> vm_transition(VmLifeState s, VmEvent e) {
    using S = VmLifeState;
    switch (e) {
    case VmEvent::Create:
        if (s == S::Free) return S::Loading;
        break;
    case VmEvent::LoadChunk:
        if (s == S::Loading) return S::Loading;
        break;
    case VmEvent::LoadComplete:
        if (s == S::Loading) return S::Ready;
        break;
    case VmEvent::Start:
        if (s == S::Ready) return S::Running;
        break;
    case VmEvent::Stop:
        if (s == S::Running) return S::Stopping;
        break;
    case VmEvent::GuestEnded:
        if (s == S::Running || s == S::Stopping) return S::Stopped;
        break;
    case VmEvent::Destroy:
        if (s == S::Loading || s == S::Ready || s == S::Stopped) return S::Free;
        break;
    }
    return Status::BadState;
}

constexpr const char* vm_life_state_name(VmLifeState s) {
    switch (s) {
    case VmLifeState::Free: return "free";
    case VmLifeState::Loading: return "loading";
    case VmLifeState::Ready: return "ready";
    case VmLifeState::Running: return "running";
    case VmLifeState::Stopping: return "stopping";
    case VmLifeState::Stopped: return "stopped";
    }
    return "?";
}

} // namespace keel::mailbox
