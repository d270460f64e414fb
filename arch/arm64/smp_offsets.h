// clang-format off: also included by assembly sources.
/* Offsets shared by the secondary entry / world switch assembly and C++ (asserted in
 * smp.cpp and vcpu.hpp). */
#pragma once

#define PERCPU_STACK_TOP 0

/* VcpuContext (vcpu.hpp): x0..x30, pc, pstate, host_sp, esr, far, hpfar, exit_vector,
 * stats (the VM's VmStats, for the hypercall fast path). */
#define CTX_X0 0
#define CTX_PC (31 * 8)
#define CTX_PSTATE (32 * 8)
#define CTX_HOST_SP (33 * 8)
#define CTX_ESR (34 * 8)
#define CTX_FAR (35 * 8)
#define CTX_HPFAR (36 * 8)
#define CTX_EXIT_VECTOR (37 * 8)
#define CTX_STATS (38 * 8)
#define CTX_SIZE (39 * 8)
/* VmStats (hypervisor/vm/vm_types.hpp): exits, console_lines, aborts_injected, hypercalls. */
#define VMSTATS_HYPERCALLS 12
