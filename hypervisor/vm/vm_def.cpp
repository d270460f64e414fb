#include "hypervisor/vm/vm_def.hpp"

#include "hypervisor/cmdline.hpp"

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
    if (last == 'K' || last == 'k')
        mul = KiB;
    else if (last == 'M' || last == 'm')
        mul = MiB;
    else if (last == 'G' || last == 'g')
        mul = GiB;
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
        while (j < len && s[j] != '+')
            ++j;
        usize dash = i;
        while (dash < j && s[dash] != '-')
            ++dash;
        u64 lo, hi;
        if (!parse_u64(s + i, dash - i, &lo)) return false;
        if (dash < j) {
            if (!parse_u64(s + dash + 1, j - dash - 1, &hi)) return false;
        } else {
            hi = lo;
        }
        if (hi < lo || hi > 63) return false;
        for (u64 c = lo; c <= hi; ++c)
            m |= 1ull << c;
        i = j + 1;
    }
    *mask = m;
    return m != 0;
}

// Copies text, turning '+' into `plus`; false if it does not fit (with `tail` appended).
// "bb:dd.f" (hex bus, device, function) as a PCIe routing ID.
bool parse_bdf(const char* s, usize len, u16* rid) {
    if (len != 7 || s[2] != ':' || s[5] != '.') return false;
    u32 v[7] = {};
    for (usize i = 0; i < len; ++i) {
        if (i == 2 || i == 5) continue;
        const char c = s[i];
        v[i] = c >= '0' && c <= '9' ? u32(c - '0') : c >= 'a' && c <= 'f' ? u32(c - 'a' + 10) : 16;
        if (v[i] == 16) return false;
    }
    const u32 bus = v[0] << 4 | v[1], dev = v[3] << 4 | v[4], fn = v[6];
    if (dev > 31 || fn > 7) return false;
    *rid = static_cast<u16>((bus << 8) | (dev << 3) | fn);
    return true;
}

bool copy_text(const char* s, usize len, char* out, usize cap, char plus, const char* tail) {
    usize n = 0;
    for (usize i = 0; i < len; ++i) {
        if (n + 1 >= cap) return false;
        out[n++] = s[i] == '+' ? plus : s[i];
    }
    for (; *tail; ++tail) {
        if (n + 1 >= cap) return false;
        out[n++] = *tail;
    }
    out[n] = '\0';
    return true;
}

bool is(const char* s, usize len, const char* word) {
    usize i = 0;
    for (; word[i]; ++i)
        if (i >= len || s[i] != word[i]) return false;
    return i == len;
}

} // namespace

bool parse_guest_mode(const char* s, usize len, GuestMode* out) {
    static constexpr const char* kNames[] = {
        "basic", "wild", "bench", "regfill", "regcheck", "fetch", "ptimer", "debug", "button",
        "deaf",  "scan", "mmio",  "vmrun",   "triple",   "reset", "nvme",   "gaps"};
    for (u32 i = 0; i < sizeof kNames / sizeof kNames[0]; ++i) {
        if (!is(s, len, kNames[i])) continue;
        *out = static_cast<GuestMode>(i);
        return true;
    }
    return false;
}

const char* vm_def_error_text(VmDefError e) {
    switch (e) {
    case VmDefError::None: return "ok";
    case VmDefError::Malformed:
        return "malformed (want cpus:<list>,mem:<size>[,after:<id>][,guest:<mode>])";
    case VmDefError::BadMemSize: return "memory must be a non-zero multiple of 2 MiB";
    case VmDefError::NoSuchCore: return "names a core that does not exist or is not online";
    case VmDefError::ReservedCore:
        return "names the hypervisor's own core (or an SMT thread of it)";
    case VmDefError::CoreTaken: return "names a core another VM owns (or an SMT thread of it)";
    case VmDefError::NoMemory: return "asks for more memory than the pool has free";
    case VmDefError::BadAfter: return "after: must name an earlier, accepted VM";
    case VmDefError::BadSource:
        return "kernel/initrd must be 2 MiB aligned host addresses; initrd/args/input need a "
               "kernel; text too long";
    case VmDefError::NoContiguousMemory:
        return "the pool has that much free, but not in one contiguous run";
    case VmDefError::NoTestGuest:
        return "names no kernel, and this image has no built-in test guest (use the test image)";
    }
    return "?";
}

Status vm_def_error_status(VmDefError e) {
    switch (e) {
    case VmDefError::None: return Status::Ok;
    case VmDefError::ReservedCore:
    case VmDefError::CoreTaken: return Status::Busy;
    case VmDefError::NoSuchCore: return Status::NotFound;
    case VmDefError::NoMemory:
    case VmDefError::NoContiguousMemory: return Status::NoMemory;
    case VmDefError::NoTestGuest: return Status::Unsupported;
    default: return Status::InvalidArgument;
    }
}

VmDefError parse_vm_def(const char* text, usize len, VmDef& out) {
    out = VmDef{};
    usize n = len < VmDef::kTextMax - 1 ? len : VmDef::kTextMax - 1;
    for (usize i = 0; i < n; ++i)
        out.text[i] = text[i];
    out.text[n] = '\0';
    bool have_cpus = false, have_mem = false;
    usize i = 0;
    while (i < len) {
        usize j = i;
        while (j < len && text[j] != ',')
            ++j;
        const char* item = text + i;
        usize ilen = j - i;
        usize k;
        if (starts_with(item, ilen, "cpus:", &k)) {
            if (have_cpus || !parse_cpus(item + k, ilen - k, &out.cpu_mask))
                return VmDefError::Malformed;
            have_cpus = true;
        } else if (starts_with(item, ilen, "mem:", &k)) {
            if (have_mem || !parse_size(item + k, ilen - k, &out.mem_bytes))
                return VmDefError::Malformed;
            have_mem = true;
        } else if (starts_with(item, ilen, "after:", &k)) {
            u64 v;
            if (!parse_u64(item + k, ilen - k, &v) || v == 0 || v > 0xffff)
                return VmDefError::Malformed;
            out.after = static_cast<u32>(v);
        } else if (starts_with(item, ilen, "guest:", &k)) {
            if (!parse_guest_mode(item + k, ilen - k, &out.mode)) return VmDefError::Malformed;
        } else if (starts_with(item, ilen, "vf:", &k)) {
            if (out.has_vf || !parse_bdf(item + k, ilen - k, &out.vf_rid))
                return VmDefError::Malformed;
            out.has_vf = true;
        } else if (starts_with(item, ilen, "kernel:", &k)) {
            if (!parse_hex(item + k, ilen - k, &out.kernel_pa) || out.kernel_pa == 0)
                return VmDefError::Malformed;
        } else if (starts_with(item, ilen, "initrd:", &k)) {
            usize plus = k;
            while (plus < ilen && item[plus] != '+')
                ++plus;
            if (plus == ilen || !parse_hex(item + k, plus - k, &out.initrd_pa) ||
                !parse_u64(item + plus + 1, ilen - plus - 1, &out.initrd_size) ||
                out.initrd_size == 0)
                return VmDefError::Malformed;
        } else if (starts_with(item, ilen, "args:", &k)) {
            if (!copy_text(item + k, ilen - k, out.args, sizeof out.args, ' ', ""))
                return VmDefError::BadSource;
        } else if (starts_with(item, ilen, "input:", &k)) {
            if (!copy_text(item + k, ilen - k, out.input, sizeof out.input, '\n', "\n"))
                return VmDefError::BadSource;
        } else {
            return VmDefError::Malformed;
        }
        i = j + 1;
        if (j + 1 == len) return VmDefError::Malformed; // trailing comma
    }
    if (!have_cpus || !have_mem) return VmDefError::Malformed;
    if (out.mem_bytes == 0 || out.mem_bytes % kBlock != 0) return VmDefError::BadMemSize;
    if (out.kernel_pa % kBlock != 0 || out.initrd_pa % kBlock != 0) return VmDefError::BadSource;
    if ((out.initrd_pa != 0 || out.args[0] != '\0' || out.input[0] != '\0') && out.kernel_pa == 0)
        return VmDefError::BadSource;
    return VmDefError::None;
}

VmDefError check_vm_def(const VmDef& def, const AdmitContext& ctx) {
    if (def.cpu_mask & ~ctx.cores_present) return VmDefError::NoSuchCore;
    const u64 whole = whole_cores(def.cpu_mask, ctx.siblings);
    if (whole & ctx.cores_reserved) return VmDefError::ReservedCore;
    if (whole & ctx.cores_owned) return VmDefError::CoreTaken;
    if (def.mem_bytes > ctx.pool_free) return VmDefError::NoMemory;
    return VmDefError::None;
}

} // namespace keel
