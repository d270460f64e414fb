// A live update's quiesce, the vCPU loops' side (docs/handover.md §4 step 1, §5.1): the boot
// core asks every running vCPU to park; each parks where both backends' loops pass before
// every entry (enter_guest) or while it waits in HLT (hlt_exit), its state whole in its
// control page and Vcpu, and waits there with interrupts masked until the boot core lets
// it go. The boot core sends each core that runs a vCPU a kick (an IPI with the kick timer's
// vector), so none waits out its kick timer's period. While parked it goes into the incoming image
// and back when the doorbell says so.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::virt {

inline u32 g_quiesce_request = 0; // atomic: set by the boot core while it quiesces
inline u32 g_parked = 0;          // atomic: vCPUs parked now

// A core of the outgoing image other than the boot core: once the incoming image named its
// secondary entry in the doorbell (docs/handover.md §4.5), into it and back; returns whether
// it went (live_update.cpp). An idle core, or one waiting for its vCPU's SIPI, goes once per
// quiesce (`seen`: the last quiesce it went in).
bool visit_incoming_image();
void visit_while_idle(u32* seen);

// Called by a vCPU's core at a park point: returns at once unless a quiesce is asked for.
// Parked, it visits the incoming image once when the doorbell names it.
inline void park_if_requested() {
    if (__atomic_load_n(&g_quiesce_request, __ATOMIC_ACQUIRE) == 0) return;
    __atomic_add_fetch(&g_parked, 1u, __ATOMIC_ACQ_REL);
    bool visited = false;
    while (__atomic_load_n(&g_quiesce_request, __ATOMIC_ACQUIRE) != 0) {
        if (!visited) visited = visit_incoming_image();
        asm volatile("pause" ::: "memory");
    }
    __atomic_sub_fetch(&g_parked, 1u, __ATOMIC_ACQ_REL);
}

} // namespace keel::virt
