#include "handover_records.hpp"

#include <string.h>

namespace keel::arm64 {
namespace {

template <class T, usize N>
void copy(T (&dst)[N], const T (&src)[N]) {
    memcpy(dst, src, sizeof dst);
}

// The distributor's u32 registers, in the record and in VgicDist, pairwise.
constexpr u32 update::VgicDistRecord::*kRecordWords[] = {
    &update::VgicDistRecord::ctlr, &update::VgicDistRecord::enabled,
    &update::VgicDistRecord::pending, &update::VgicDistRecord::level,
    &update::VgicDistRecord::group};
constexpr u32 VgicDist::*kDistWords[] = {&VgicDist::ctlr, &VgicDist::enabled, &VgicDist::pending,
                                         &VgicDist::level, &VgicDist::group};
static_assert(sizeof kRecordWords / sizeof *kRecordWords == sizeof kDistWords / sizeof *kDistWords);

// The UART's registers and queue counters, in the record and in VUart, pairwise.
constexpr u32 update::VmDevicesRecord::*kUartRecord[] = {
    &update::VmDevicesRecord::uart_cr,      &update::VmDevicesRecord::uart_lcr_h,
    &update::VmDevicesRecord::uart_ibrd,    &update::VmDevicesRecord::uart_fbrd,
    &update::VmDevicesRecord::uart_ifls,    &update::VmDevicesRecord::uart_imsc,
    &update::VmDevicesRecord::uart_ris,     &update::VmDevicesRecord::uart_dmacr,
    &update::VmDevicesRecord::uart_ilpr,    &update::VmDevicesRecord::uart_rx_count,
    &update::VmDevicesRecord::uart_rx_open, &update::VmDevicesRecord::uart_line_len};
constexpr u32 VUart::*kUart[] = {&VUart::cr,   &VUart::lcr_h,    &VUart::ibrd,    &VUart::fbrd,
                                 &VUart::ifls, &VUart::imsc,     &VUart::ris,     &VUart::dmacr,
                                 &VUart::ilpr, &VUart::rx_count, &VUart::rx_open, &VUart::line_len};
static_assert(sizeof kUartRecord / sizeof *kUartRecord == sizeof kUart / sizeof *kUart);
// The PL061's registers.
constexpr u8 update::VmDevicesRecord::*kGpioRecord[] = {
    &update::VmDevicesRecord::gpio_data, &update::VmDevicesRecord::gpio_dir,
    &update::VmDevicesRecord::gpio_is,   &update::VmDevicesRecord::gpio_ibe,
    &update::VmDevicesRecord::gpio_iev,  &update::VmDevicesRecord::gpio_ie,
    &update::VmDevicesRecord::gpio_ris,  &update::VmDevicesRecord::gpio_afsel,
    &update::VmDevicesRecord::gpio_in};
constexpr u8 Pl061::*kGpio[] = {&Pl061::data, &Pl061::dir, &Pl061::is,    &Pl061::ibe, &Pl061::iev,
                                &Pl061::ie,   &Pl061::ris, &Pl061::afsel, &Pl061::in};
static_assert(sizeof kGpioRecord / sizeof *kGpioRecord == sizeof kGpio / sizeof *kGpio);
static_assert(sizeof VUart{}.rx == sizeof update::VmDevicesRecord{}.uart_rx &&
                  sizeof VUart{}.line == sizeof update::VmDevicesRecord{}.uart_line,
              "docs/handover.md §2.2 VmDevices");

} // namespace

static_assert(sizeof(El1Context) == sizeof update::VcpuRecord{}.el1,
              "docs/handover.md §2.2 Vcpu: El1Context order");
static_assert(sizeof VgicCpu{}.priority == sizeof update::VcpuRecord{}.gic_priority);
static_assert(sizeof VgicDist{}.icfgr == sizeof update::VgicDistRecord{}.icfgr &&
                  sizeof VgicDist{}.priority == sizeof update::VgicDistRecord{}.priority &&
                  sizeof VgicDist{}.irouter == sizeof update::VgicDistRecord{}.irouter,
              "docs/handover.md §2.2 VgicDist");
static_assert(sizeof Vcpu{}.parked_lr == sizeof update::VcpuRecord{}.ich_lr);

update::VcpuRecord vcpu_record(u32 vm_id, const Vcpu& v, u32 on, u64 cntvoff) {
    update::VcpuRecord r{};
    r.vm_id = vm_id;
    r.index = v.index;
    r.core = v.core;
    r.on = on;
    memcpy(r.x, v.ctx.x, sizeof r.x);
    r.pc = v.ctx.pc;
    r.pstate = v.ctx.pstate;
    memcpy(r.el1, &v.el1, sizeof r.el1);
    r.cntvoff = cntvoff;
    r.gic_enabled = v.gic.enabled;
    r.gic_pending = v.gic.pending;
    r.gic_group = v.gic.group;
    r.gic_icfgr1 = v.gic.icfgr1;
    r.gic_waker = v.gic.waker;
    memcpy(r.gic_priority, v.gic.priority, sizeof r.gic_priority);
    r.ich_hcr = v.gic.hcr;
    if (on) {
        memcpy(r.ich_lr, v.parked_lr, sizeof r.ich_lr);
        r.lr_count = v.parked_lr_count;
        r.ich_ap1r0 = v.parked_ap1r0;
    }
    return r;
}

update::VgicDistRecord dist_record(u32 vm_id, const VgicDist& d) {
    update::VgicDistRecord r{};
    r.vm_id = vm_id;
    for (usize i = 0; i < sizeof kDistWords / sizeof *kDistWords; ++i)
        r.*kRecordWords[i] = d.*kDistWords[i];
    copy(r.icfgr, d.icfgr);
    copy(r.priority, d.priority);
    copy(r.irouter, d.irouter);
    return r;
}

void vcpu_from_record(Vcpu& v, const update::VcpuRecord& r) {
    v.index = r.index;
    v.core = r.core;
    __atomic_store_n(&v.on, r.on, __ATOMIC_RELEASE);
    memcpy(v.ctx.x, r.x, sizeof v.ctx.x);
    v.ctx.pc = r.pc;
    v.ctx.pstate = r.pstate;
    memcpy(&v.el1, r.el1, sizeof v.el1);
    v.gic.enabled = r.gic_enabled;
    v.gic.pending = r.gic_pending;
    v.gic.group = r.gic_group;
    v.gic.icfgr1 = r.gic_icfgr1;
    v.gic.waker = r.gic_waker;
    memcpy(v.gic.priority, r.gic_priority, sizeof v.gic.priority);
    v.gic.hcr = r.ich_hcr;
    memcpy(v.parked_lr, r.ich_lr, sizeof v.parked_lr);
    v.parked_lr_count = r.lr_count;
    v.parked_ap1r0 = r.ich_ap1r0;
}

void dist_from_record(VgicDist& d, const update::VgicDistRecord& r) {
    for (usize i = 0; i < sizeof kDistWords / sizeof *kDistWords; ++i)
        d.*kDistWords[i] = r.*kRecordWords[i];
    copy(d.icfgr, r.icfgr);
    copy(d.priority, r.priority);
    copy(d.irouter, r.irouter);
}

update::VmDevicesRecord devices_record(u32 vm_id, const VUart& u, const VGpio& g) {
    update::VmDevicesRecord r{};
    r.vm_id = vm_id;
    for (usize i = 0; i < sizeof kUart / sizeof *kUart; ++i)
        r.*kUartRecord[i] = u.*kUart[i];
    for (u32 i = 0; i < u.rx_count && i < VUart::kRxSize; ++i)
        r.uart_rx[i] = u.rx[(u.rx_head + i) % VUart::kRxSize];
    copy(r.uart_line, u.line);
    for (usize i = 0; i < sizeof kGpio / sizeof *kGpio; ++i)
        r.*kGpioRecord[i] = g.dev.*kGpio[i];
    return r;
}

void devices_from_record(VUart& u, VGpio& g, const update::VmDevicesRecord& r) {
    for (usize i = 0; i < sizeof kUart / sizeof *kUart; ++i)
        u.*kUart[i] = r.*kUartRecord[i];
    u.rx_head = 0;
    copy(u.rx, r.uart_rx);
    copy(u.line, r.uart_line);
    u.pending_input = nullptr;
    for (usize i = 0; i < sizeof kGpio / sizeof *kGpio; ++i)
        g.dev.*kGpio[i] = r.*kGpioRecord[i];
}

} // namespace keel::arm64
