#include "drivers/sriov/nvme_admin.hpp"

namespace keel::nvme {

u32 AdminQueue::reg32(u32 off) const { return *reinterpret_cast<volatile u32*>(regs_ + off); }
void AdminQueue::set32(u32 off, u32 v) { *reinterpret_cast<volatile u32*>(regs_ + off) = v; }

Status AdminQueue::wait_ready(bool want) {
    const u64 start = clock_->now_us();
    for (;;) {
        const u32 csts = reg32(kRegCsts);
        if (csts == 0xffffffffu || (csts & 2u)) return Status::HardwareFault; // gone / CFS
        if (((csts & 1u) != 0) == want) return Status::Ok;
        if (clock_->now_us() - start > timeout_us_) return Status::Timeout;
    }
}

Status AdminQueue::enable(volatile u8* regs, DmaBuffer sq, DmaBuffer cq, Clock& clock,
                          u64 max_wait_us) {
    if (sq.size < kEntries * sizeof(Sqe) || cq.size < kEntries * sizeof(Cqe) ||
        (sq.dma & 0xfff) != 0 || (cq.dma & 0xfff) != 0)
        return Status::InvalidArgument;
    regs_ = regs, clock_ = &clock, sq_ = sq, cq_ = cq;
    broken_ = false;
    const u64 cap = reg32(kRegCap) | (static_cast<u64>(reg32(kRegCap + 4)) << 32);
    if (cap == ~0ull) return Status::HardwareFault;
    if ((cap & 0xffff) + 1 < kEntries) return Status::Unsupported; // MQES, 0's based
    if (((cap >> 48) & 0xf) != 0) return Status::Unsupported;      // MPSMIN > 4 KiB
    if (((cap >> 37) & 1) == 0) return Status::Unsupported;        // CSS: NVM command set
    timeout_us_ = (((cap >> 24) & 0xff) + 1) * 500 * 1000;
    if (max_wait_us != 0 && max_wait_us < timeout_us_) timeout_us_ = max_wait_us;
    db_stride_ = 4u << ((cap >> 32) & 0xf);
    set32(kRegCc, reg32(kRegCc) & ~1u);
    KEEL_TRY(wait_ready(false));
    for (usize i = 0; i < sq.size; ++i)
        sq.cpu[i] = 0;
    for (usize i = 0; i < cq.size; ++i)
        cq.cpu[i] = 0;
    sq_tail_ = cq_head_ = 0;
    phase_ = true;
    set32(kRegAqa, (kEntries - 1u) | ((kEntries - 1u) << 16));
    set32(kRegAsq, static_cast<u32>(sq.dma)), set32(kRegAsq + 4, static_cast<u32>(sq.dma >> 32));
    set32(kRegAcq, static_cast<u32>(cq.dma)), set32(kRegAcq + 4, static_cast<u32>(cq.dma >> 32));
    // IOCQES 4 (16 B), IOSQES 6 (64 B), MPS 0 (4 KiB), CSS 0 (NVM), EN.
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    set32(kRegCc, (4u << 20) | (6u << 16) | 1u);
    return wait_ready(true);
}

Result<Completion> AdminQueue::run(Sqe cmd) {
    if (regs_ == nullptr || broken_) return Status::BadState;
    const u16 cid = next_cid_++;
    if (next_cid_ == 0xffff) next_cid_ = 1;
    cmd.dw[0] = (cmd.dw[0] & 0xffffu) | (static_cast<u32>(cid) << 16);
    auto* slot = reinterpret_cast<volatile u32*>(sq_.cpu + sq_tail_ * sizeof(Sqe));
    for (u32 i = 0; i < 16; ++i)
        slot[i] = cmd.dw[i];
    sq_tail_ = static_cast<u16>((sq_tail_ + 1) % kEntries);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    set32(kRegDoorbells, sq_tail_); // SQ 0 tail doorbell
    const u64 start = clock_->now_us();
    auto* e = reinterpret_cast<volatile u32*>(cq_.cpu + cq_head_ * sizeof(Cqe));
    while (((e[3] >> 16) & 1) != (phase_ ? 1u : 0u)) {
        if (clock_->now_us() - start > timeout_us_) {
            broken_ = true;
            return Status::Timeout;
        }
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    const Cqe c{{e[0], e[1], e[2], e[3]}};
    cq_head_ = static_cast<u16>((cq_head_ + 1) % kEntries);
    if (cq_head_ == 0) phase_ = !phase_;
    set32(kRegDoorbells + db_stride_, cq_head_); // CQ 0 head doorbell
    if (cqe_cid(c) != cid) {
        broken_ = true; // one command in flight: any other id is the device misbehaving
        return Status::HardwareFault;
    }
    return Completion{c.dw[0], cqe_status(c)};
}

Status AdminQueue::disable() {
    if (regs_ == nullptr) return Status::BadState;
    set32(kRegCc, reg32(kRegCc) & ~1u);
    const Status s = wait_ready(false);
    regs_ = nullptr;
    return s;
}

} // namespace keel::nvme
