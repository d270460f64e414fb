// One NVMe controller's admin queue pair, polled (no interrupts): enable the controller,
// run one admin command at a time, disable. Used on the PF to provision its secondary
// controllers, and by the SMMU test on a VF (buffers named by IOVA there). Keel runs no
// I/O queues (NVM Express Base 2.0 §3.5.1 initialisation; §3.3.1 queues and doorbells).
//
// The buffers are memory the hypervisor owns and maps; `dma` is the address the device
// uses for them (physical, or an IOVA behind the IOMMU). The device must see CPU writes
// before the doorbell and the CPU its completions after the phase flip: Keel's platforms
// are I/O coherent (QEMU virt), so a full fence orders them; a non-coherent platform
// would need cache maintenance here.
#pragma once

#include "drivers/sriov/nvme_cmd.hpp"

namespace keel::nvme {

struct DmaBuffer {
    u8* cpu = nullptr; // the hypervisor's mapping
    u64 dma = 0;       // what the device is given
    usize size = 0;
};

// Microsecond clock for the controller's timeouts (CAP.TO), supplied by the caller.
class Clock {
public:
    virtual u64 now_us() = 0;

protected:
    ~Clock() = default;
};

struct Completion {
    u32 dw0;
    u16 status; // cqe_status(): 0 = success
};

class AdminQueue {
public:
    static constexpr u16 kEntries = 8; // one page each for SQ (512 B) and CQ (128 B)

    // Resets the controller (CC.EN = 0, waits RDY = 0), programs AQA/ASQ/ACQ and enables
    // it (4 KiB pages, NVM command set). Timeout if RDY does not follow within CAP.TO;
    // HardwareFault on CSTS.CFS or an all-ones register read (no device). A non-zero
    // `max_wait_us` shortens the timeout below CAP.TO (a probe expected to fail).
    Status enable(volatile u8* regs, DmaBuffer sq, DmaBuffer cq, Clock& clock, u64 max_wait_us = 0);
    // Submits one command and polls for its completion. Timeout leaves the queue unusable
    // (BadState afterwards) rather than guessing at the device's state.
    Result<Completion> run(Sqe cmd);
    // CC.EN = 0 and wait for RDY = 0.
    Status disable();
    [[nodiscard]] bool ready() const { return regs_ != nullptr && !broken_; }

private:
    u32 reg32(u32 off) const;
    void set32(u32 off, u32 v);
    Status wait_ready(bool want);

    volatile u8* regs_ = nullptr;
    Clock* clock_ = nullptr;
    DmaBuffer sq_, cq_;
    u64 timeout_us_ = 0;
    u32 db_stride_ = 4;
    u16 sq_tail_ = 0;
    u16 cq_head_ = 0;
    u16 next_cid_ = 1;
    bool phase_ = true;
    bool broken_ = false;
};

} // namespace keel::nvme
