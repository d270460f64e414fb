// What an incoming image does alike on both arches when it takes over from the record
// (docs/handover.md §4 step 4): its partition pool from PoolRuns, each VM's second-stage
// tree read in place (every RAM block it maps mapped to that VM's RAM at the same offset),
// and each VM into the VM manager; at the commit, the outgoing image's memory back in the pool.
// Each says what it found on the console. Image only (the pool, the page-table engine).
#pragma once

#include "hypervisor/mm/page_table.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/update/handover.hpp"

namespace keel {
struct Vm;
}

namespace keel::update {

// This image's partition pool from the record's PoolRuns instead of a memory map, its own
// span [base, base + span) being one of the hypervisor's runs. Its own object: nothing the
// outgoing image runs changes.
[[nodiscard]] bool take_pool(const HandoverView& v, u64 base, u64 span);

// The record's VM `i` into this image's VM manager from its Vm record, over the adopted pool,
// then, where its tree checked (`arch`), its arch state (arch::vm_adopt). Returns it once both
// are adopted; nullptr (said) on a refusal, or after the first half without `arch`. `*all`
// becomes false on any refusal and without `arch`.
const Vm* take_vm(const HandoverView& v, u32 i, bool arch, bool* all);

// A span of memory an incoming image keeps at its commit: [base, end).
struct KeptSpan {
    u64 base, end;
};

// The commit (docs/handover.md §4.6), alike on both arches: every 2 MiB block the outgoing
// image's span touches (the pool reserved them whole), then its update region after the run
// slot ([old.update_region, + tail_size)), back in the pool, but any block or tail that
// overlaps one of the `n` spans of `keep` (this image; the device tree it reads). The caller
// has unmapped the tail. Returns the bytes given back.
u64 release_outgoing_memory(const OldImageRecord& old, u64 tail_size, const KeptSpan* keep, u32 n);

// The table pages of the record's table region, read where they are. A table outside it
// reads as empty and is counted: an adopting image never follows a pointer out of it.
class InPlaceTables final : public mm::TableMemory {
public:
    InPlaceTables(u64 base, u64 span) : base_(base), span_(span) {}
    u64* alloc_table(PhysAddr*) override { return nullptr; } // read only
    void free_table(PhysAddr) override {}
    u64* table_ptr(PhysAddr phys) override {
        if (phys.raw() - base_ < span_ && span_ - (phys.raw() - base_) >= mm::kPageSize)
            return reinterpret_cast<u64*>(phys.raw());
        ++outside;
        return g_empty;
    }
    [[nodiscard]] usize tables_in_use() const override { return 0; }
    u32 outside = 0;

private:
    alignas(mm::kPageSize) static inline u64 g_empty[mm::kEntriesPerTable] = {};
    u64 base_, span_;
};

// Each VM's second-stage root (Stage2 record) walked with this image's page-table engine for
// `Format`: every table in the table region, every 2 MiB of its RAM that is mapped mapped to
// its RAM at the same offset, some of it mapped. Says what it found; false on a mismatch.
template <class Format>
bool check_stage2_in_place(const HandoverView& v) {
    bool all = true;
    for (u32 i = 0; i < v.vm_count; ++i) {
        const VmRecord& vm = *v.vms[i];
        const Stage2Record& s2 = *v.stage2[i];
        InPlaceTables mem(v.old_image->tables_base, v.old_image->tables_size);
        mm::PageTable<Format> pt{mem};
        u32 mapped = 0, wrong = 0;
        if (pt.adopt(PhysAddr(s2.root)) == Status::Ok) {
            for (u64 off = 0; off < vm.mem_size; off += 2 * MiB) {
                using Input = typename mm::PageTable<Format>::Input;
                const Result<mm::Translation> t = pt.translate(Input(s2.ipa_base + off));
                if (!t.ok()) continue;
                ++mapped;
                wrong += t.value().pa.raw() != vm.mem_base + off;
            }
        }
        const bool ok = wrong == 0 && mem.outside == 0 && mapped != 0;
        all &= ok;
        kprint("handover: vm %u stage-2 root %#llx read in place: %u of %llu blocks mapped, %s\n",
               vm.id, static_cast<unsigned long long>(s2.root), mapped,
               static_cast<unsigned long long>(vm.mem_size / (2 * MiB)),
               ok ? "each to its own RAM" : "NOT as recorded");
    }
    return all;
}

} // namespace keel::update
