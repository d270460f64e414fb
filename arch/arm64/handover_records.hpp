// arm64 vCPU and distributor state <-> the handover record's Vcpu and VgicDist payloads
// (docs/handover.md §2.2), both directions in one place: the outgoing image describes with
// the first pair, the incoming one adopts with the second. Pure copies, host-tested
// (tests/unit/arm64_handover_records_test.cpp).
#pragma once

#include "hypervisor/update/handover.hpp"
#include "vcpu.hpp"
#include "vgic.hpp"
#include "vgpio.hpp"
#include "vuart.hpp"

namespace keel::arm64 {

// `on`: whether the vCPU is on (its list registers, parked, go in only then); `cntvoff`: the
// core's CNTVOFF_EL2.
update::VcpuRecord vcpu_record(u32 vm_id, const Vcpu& v, u32 on, u64 cntvoff);
update::VgicDistRecord dist_record(u32 vm_id, const VgicDist& d);
// The inverse: everything the record holds into `v` (context, EL1 registers, CPU interface,
// parked list registers, index, core, on); `v.vm` and the stats pointer are the caller's.
void vcpu_from_record(Vcpu& v, const update::VcpuRecord& r);
void dist_from_record(VgicDist& d, const update::VgicDistRecord& r);
// The VM's emulated UART and GPIO (VmDevices, from ABI 3): registers, the UART's receive
// queue (from its head) and its partial line. A definition's pending input is not carried.
update::VmDevicesRecord devices_record(u32 vm_id, const VUart& u, const VGpio& g);
void devices_from_record(VUart& u, VGpio& g, const update::VmDevicesRecord& r);

} // namespace keel::arm64
