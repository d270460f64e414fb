// Test controls for the fake arch's VMs (arch/fake/include/arch/vm.hpp): play the guest,
// watch what the hypervisor did, check machine-wide invariants.
#pragma once

#include <functional>

#include "hypervisor/vm/vm.hpp"

namespace keel::fake {

// Ends a started VM as its guest would (its last vCPU leaving): power-off, fault, reset.
void guest_end(Vm& vm, VmEnd why);
// Called by arch::wait_for_event(); the default ends every running VM with a power-off,
// so a boot-time run always finishes. A test may install its own.
void on_wait(std::function<void()> fn);
// Every running VM (started, end not yet reported).
void for_each_running(const std::function<void(Vm&)>& fn);
// Bytes the scrubber zeroed since the last reset; how many vm_create calls failed on purpose.
u64 scrubbed_bytes();
// Guest data in host-physical memory, page by page: a guest (or vm_write) that wrote
// [base, base+size) leaves those pages dirty until the pool's scrubber zeroes them.
void guest_writes(u64 base, u64 size);
[[nodiscard]] u64 dirty_bytes(u64 base, u64 size);
void fail_next_create(Status s);
void set_now_ms(u64 ms);
// Host-physical bytes read_host()/vm_copy_host() see at [base, base+size) (a guest source
// a firmware loader left in RAM); elsewhere a byte reads as its address's low 8 bits.
void set_host_memory(u64 base, const u8* bytes, u64 size);
// How many read_host() calls reached host memory since the last reset.
u64 host_reads();
// What builtin_test_guest() returns (the default: a 4 KiB blob of 0x5a bytes).
void set_builtin_guest(const u8* data, u64 size);
// Back to a fresh machine: no running VMs, default wait hook, counters zero.
void reset();

} // namespace keel::fake
