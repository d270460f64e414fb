#include "guest_mem.hpp"

#include <string.h>

#include "../paging.hpp"
#include "hypervisor/vm/vm.hpp"
#include "vm_context.hpp"

namespace keel::virt {
namespace {

constexpr u64 kPage = 4096;

// Host-physical address of [gpa, gpa+n) if it lies in the VM's RAM, or in a multi-vCPU
// VM's low alias of its first 2 MiB (vm_arch.cpp: an AP's real-mode start code runs there).
Result<u64> host_of(const Vm& vm, u64 gpa, usize n) {
    if (vm.arch.low_alias && gpa < kLowAliasSize && n <= kLowAliasSize - gpa)
        return vm.mem_base.raw() + gpa;
    const u64 base = vm.ram_ipa().raw();
    if (gpa < base || n > vm.mem_size || gpa - base > vm.mem_size - n) return Status::OutOfRange;
    return vm.mem_base.raw() + (gpa - base);
}

template <typename Copy>
Status with_pages(const Vm& vm, u64 gpa, usize n, Copy copy) {
    Result<u64> hpa = host_of(vm, gpa, n);
    if (!hpa.ok()) return hpa.status();
    u64 pa = hpa.value();
    usize done = 0;
    while (done < n) {
        const usize chunk = static_cast<usize>(kPage - (pa & (kPage - 1))) < n - done
                                ? static_cast<usize>(kPage - (pa & (kPage - 1)))
                                : n - done;
        // This CPU's own window (paging.hpp): another vCPU of the VM may be reading the same
        // page right now through its own, so nothing here can pull a page from under it.
        Result<u8*> p = x86::window_map(pa, chunk, x86::MapKind::ReadWrite);
        if (!p.ok()) return p.status();
        copy(p.value(), done, chunk);
        x86::window_unmap();
        pa += chunk;
        done += chunk;
    }
    return Status::Ok;
}

} // namespace

Status guest_read(const Vm& vm, u64 gpa, void* dst, usize n) {
    return with_pages(vm, gpa, n, [dst](u8* p, usize off, usize len) {
        memcpy(static_cast<u8*>(dst) + off, p, len);
    });
}

Status guest_write(const Vm& vm, u64 gpa, const void* src, usize n) {
    return with_pages(vm, gpa, n, [src](u8* p, usize off, usize len) {
        memcpy(p, static_cast<const u8*>(src) + off, len);
    });
}

Result<u64> guest_linear_to_phys(const Vm& vm, u64 cr3, u64 la) {
    constexpr u64 kPresent = 1, kLarge = 1ull << 7, kAddr = 0x000ffffffffff000ull;
    u64 table = cr3 & kAddr;
    for (int level = 3; level >= 0; --level) {
        const u64 index = (la >> (12 + 9 * level)) & 511;
        u64 e = 0;
        KEEL_TRY(guest_read(vm, table + index * 8, &e, sizeof e));
        if (!(e & kPresent)) return Status::NotFound;
        if (level == 0 || ((level == 1 || level == 2) && (e & kLarge))) {
            const u64 page_mask = (1ull << (12 + 9 * level)) - 1;
            return (e & kAddr & ~page_mask) | (la & page_mask);
        }
        table = e & kAddr;
    }
    return Status::NotFound;
}

} // namespace keel::virt
