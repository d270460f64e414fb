#include "hypervisor/vm/vm_def.hpp"

namespace keel {
namespace {

constexpr u64 kBlock = 2 * MiB; // FramePool::kBlock: VMs get whole partition blocks

bool starts_with(const char* s, usize len, const char* prefix, usize* plen) {
    usize i = 0;
    for (; prefix[i]; ++i)
        if (i >= len || s[i] != prefix[i]) return false;
    *plen = i;
    return true;
}

// Decimal number in [s, s+len); false on anything else or overflow past 2^40.
bool parse_u64(const char* s, usize len, u64* out) {
    if (len == 0) return false;
    u64 v = 0;
    for (usize i = 0; i < len; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + static_cast<u64>(s[i] - '0');
        if (v > (1ull << 40)) return false;
    }
    *out = v;
    return true;
}

bool parse_size(const char* s, usize len, u64* out) {
    if (len == 0) return false;
    u64 mul = 1;
    char last = s[len - 1];
    if (last == 'K' || last == 'k') mul = KiB;
    else if (last == 'M' || last == 'm') mul = MiB;
    else if (last == 'G' || last == 'g') mul = GiB;
    if (mul != 1) --len;
    u64 v;
    if (!parse_u64(s, len, &v)) return false;
    *out = v * mul;
    return true;
}

// "1", "2-3", "1+3", "1-2+5" -> bit mask of cores 0..63.
bool parse_cpus(const char* s, usize len, u64* mask) {
    u64 m = 0;
    usize i = 0;
    while (i <= len) {
        usize j = i;
        while (j < len && s[j] != '+') ++j;
        usize dash = i;
        while (dash < j && s[dash] != '-') ++dash;
        u64 lo, hi;
        if (!parse_u64(s + i, dash - i, &lo)) return false;
        if (dash < j) {
            if (!parse_u64(s + dash + 1, j - dash - 1, &hi)) return false;
        } else {
            hi = lo;
        }
        if (hi < lo || hi > 63) return false;
        for (u64 c = lo; c <= hi; ++c) m |= 1ull << c;
        i = j + 1;
    }
    *mask = m;
    return m != 0;
}

bool is(const char* s, usize len, const char* word) {
    usize i = 0;
    for (; word[i]; ++i)
        if (i >= len || s[i] != word[i]) return false;
    return i == len;
}

} // namespace

const char* vm_def_error_text(VmDefError e) {
    switch (e) {
    case VmDefError::None: return "ok";
    case VmDefError::Malformed: return "malformed (want cpus:<list>,mem:<size>[,after:<id>][,guest:<mode>])";
    case VmDefError::BadMemSize: return "memory must be a non-zero multiple of 2 MiB";
    case VmDefError::NoSuchCore: return "names a core that does not exist or is not online";
    case VmDefError::ReservedCore: return "names the hypervisor's own core";
    case VmDefError::CoreTaken: return "names a core another VM owns";
    case VmDefError::NoMemory: return "asks for more memory than the pool has free";
    case VmDefError::BadAfter: return "after: must name an earlier, accepted VM";
    }
    return "?";
}

VmDefError parse_vm_def(const char* text, usize len, VmDef& out) {
    out = VmDef{};
    usize n = len < VmDef::kTextMax - 1 ? len : VmDef::kTextMax - 1;
    for (usize i = 0; i < n; ++i) out.text[i] = text[i];
    out.text[n] = '\0';
    bool have_cpus = false, have_mem = false;
    usize i = 0;
    while (i < len) {
        usize j = i;
        while (j < len && text[j] != ',') ++j;
        const char* item = text + i;
        usize ilen = j - i;
        usize k;
        if (starts_with(item, ilen, "cpus:", &k)) {
            if (have_cpus || !parse_cpus(item + k, ilen - k, &out.cpu_mask)) return VmDefError::Malformed;
            have_cpus = true;
        } else if (starts_with(item, ilen, "mem:", &k)) {
            if (have_mem || !parse_size(item + k, ilen - k, &out.mem_bytes)) return VmDefError::Malformed;
            have_mem = true;
        } else if (starts_with(item, ilen, "after:", &k)) {
            u64 v;
            if (!parse_u64(item + k, ilen - k, &v) || v == 0 || v > 0xffff) return VmDefError::Malformed;
            out.after = static_cast<u32>(v);
        } else if (starts_with(item, ilen, "guest:", &k)) {
            if (is(item + k, ilen - k, "basic")) out.mode = GuestMode::Basic;
            else if (is(item + k, ilen - k, "wild")) out.mode = GuestMode::Wild;
            else if (is(item + k, ilen - k, "bench")) out.mode = GuestMode::Bench;
            else return VmDefError::Malformed;
        } else {
            return VmDefError::Malformed;
        }
        i = j + 1;
        if (j + 1 == len) return VmDefError::Malformed; // trailing comma
    }
    if (!have_cpus || !have_mem) return VmDefError::Malformed;
    if (out.mem_bytes == 0 || out.mem_bytes % kBlock != 0) return VmDefError::BadMemSize;
    return VmDefError::None;
}

VmDefError check_vm_def(const VmDef& def, const AdmitContext& ctx) {
    if (def.cpu_mask & ctx.cores_reserved) return VmDefError::ReservedCore;
    if (def.cpu_mask & ~ctx.cores_present) return VmDefError::NoSuchCore;
    if (def.cpu_mask & ctx.cores_owned) return VmDefError::CoreTaken;
    if (def.mem_bytes > ctx.pool_free) return VmDefError::NoMemory;
    return VmDefError::None;
}

} // namespace keel
