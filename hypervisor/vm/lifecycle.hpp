// The one VM state machine (docs/vm-lifecycle.md). The VM manager applies it to every VM,
// whichever client (keel.vm= at boot, or the controller mailbox) drives it:
//
//   Free --create--> Loading --seal (images complete)--> Ready --start--> Running
//   Running --guest powers off / faults / forced stop--> Stopped
//   Running --stop--> Stopping --guest ends, or the client forces it--> Stopped
//   Loading | Ready | Stopped --destroy--> Free   (memory scrubbed, cores returned)
//
// Anything else is BadState and changes nothing. The numeric values are the mailbox's
// VmLifeState (ABI, docs/mailbox.md §3.5). Pure logic, host-tested.
#pragma once

#include "hypervisor/status.hpp"

namespace keel {

enum class VmState : u32 { Free = 0, Loading, Ready, Running, Stopping, Stopped };
enum class VmEvent : u32 { Create, LoadChunk, LoadComplete, Start, Stop, GuestEnded, Destroy };

[[nodiscard]] constexpr Result<VmState> vm_transition(VmState s, VmEvent e) {
    using S = VmState;
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

constexpr const char* vm_state_name(VmState s) {
    switch (s) {
    case VmState::Free: return "free";
    case VmState::Loading: return "loading";
    case VmState::Ready: return "ready";
    case VmState::Running: return "running";
    case VmState::Stopping: return "stopping";
    case VmState::Stopped: return "stopped";
    }
    return "?";
}

} // namespace keel
