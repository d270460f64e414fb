// Keel's UEFI boot stage (boot/README.md): read keel.img from the volume this
// application was loaded from, verify it (signature, key, arch, security floor,
// segment hashes), measure it, load it at its fixed addresses and enter it with a
// BootInfo (docs/boot-info.md). Any failure is one "REFUSED" line and a halt: there
// is no path that runs an image that failed a check.
#include <stdarg.h>
#include <string.h>

#include "boot/memory_map.hpp"
#include "boot/stage.hpp"
#include "crypto/arena.hpp"
#include "hypervisor/print.hpp"
#include "keel_boot_key.h" // generated: kBootPublicKey, KEEL_BOOT_SECURITY_FLOOR

namespace keel {
namespace {

efi::SystemTable* g_st = nullptr;
constexpr char16_t kImagePath[] = u"\\keel.img";
constexpr char16_t kConfigPath[] = u"\\keel.cfg";
constexpr char16_t kFloorVariable[] = u"KeelSecurityFloor";
constexpr u64 kPage = 4096;

u64 pages_for(u64 bytes) { return (bytes + kPage - 1) / kPage; }

void* alloc_pages(u64 bytes, const char* what) {
    efi::PhysAddr addr = 0;
    if (g_st->boot_services->allocate_pages(efi::AllocateType::AnyPages,
                                            efi::MemoryType::LoaderData, pages_for(bytes),
                                            &addr) != efi::kSuccess)
        refuse("out of memory for %s", what);
    return reinterpret_cast<void*>(addr);
}

// The root directory of the volume this application was loaded from.
efi::FileProtocol* open_boot_volume(efi::Handle image_handle) {
    efi::BootServices* bs = g_st->boot_services;
    void* iface = nullptr;
    if (bs->handle_protocol(image_handle, &efi::kLoadedImageGuid, &iface) != efi::kSuccess)
        refuse("no loaded-image protocol");
    auto* li = static_cast<efi::LoadedImage*>(iface);
    if (bs->handle_protocol(li->device_handle, &efi::kSimpleFileSystemGuid, &iface) !=
        efi::kSuccess)
        refuse("boot device has no file system");
    auto* fs = static_cast<efi::SimpleFileSystem*>(iface);
    efi::FileProtocol* root = nullptr;
    if (fs->open_volume(fs, &root) != efi::kSuccess) refuse("cannot open the boot volume");
    return root;
}

// Reads the optional \keel.cfg: the hypervisor's command line (e.g. keel.vm= VM
// definitions), measured with the rest of the boot configuration. Absent means empty.
// Printable ASCII only (line ends become spaces), at most BootInfo::kCmdlineMax - 1
// bytes; anything else refuses, so what is measured is exactly what the hypervisor gets.
void read_config(efi::Handle image_handle, char (&out)[BootInfo::kCmdlineMax]) {
    out[0] = '\0';
    efi::FileProtocol* root = open_boot_volume(image_handle);
    efi::FileProtocol* file = nullptr;
    efi::Status s = root->open(root, &file, kConfigPath, efi::kFileModeRead, 0);
    if (s == efi::kNotFound) {
        root->close(root);
        return;
    }
    if (s != efi::kSuccess)
        refuse("cannot open keel.cfg (status %#llx)", static_cast<unsigned long long>(s));
    char buf[BootInfo::kCmdlineMax + 1];
    u64 n = sizeof(buf);
    if (file->read(file, &n, buf) != efi::kSuccess) refuse("read error on keel.cfg");
    file->close(file);
    root->close(root);
    if (n >= BootInfo::kCmdlineMax)
        refuse("bad boot configuration: keel.cfg is over %u bytes", BootInfo::kCmdlineMax - 1);
    u64 len = 0;
    for (u64 i = 0; i < n; ++i) {
        char c = buf[i];
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
        if (c < 0x20 || c > 0x7e)
            refuse("bad boot configuration: keel.cfg byte %llu is not printable ASCII",
                   static_cast<unsigned long long>(i));
        out[len++] = c;
    }
    while (len > 0 && out[len - 1] == ' ')
        --len;
    out[len] = '\0';
}

// Reads \keel.img into fresh pages. Missing file, read errors and oversize files refuse.
u8* read_image(efi::Handle image_handle, u64& size) {
    efi::FileProtocol* root = open_boot_volume(image_handle);
    efi::FileProtocol* file = nullptr;
    efi::Status s = root->open(root, &file, kImagePath, efi::kFileModeRead, 0);
    if (s == efi::kNotFound) refuse("missing file: keel.img not found on the boot volume");
    if (s != efi::kSuccess)
        refuse("cannot open keel.img (status %#llx)", static_cast<unsigned long long>(s));

    alignas(8) u8 info_buf[sizeof(efi::FileInfo) + 256];
    u64 info_size = sizeof(info_buf);
    if (file->get_info(file, &efi::kFileInfoGuid, &info_size, info_buf) != efi::kSuccess)
        refuse("cannot stat keel.img");
    size = reinterpret_cast<efi::FileInfo*>(info_buf)->file_size;
    if (size > image::kMaxImageSize)
        refuse("image size does not match the file: %llu bytes is over the %llu-byte limit",
               static_cast<unsigned long long>(size),
               static_cast<unsigned long long>(image::kMaxImageSize));
    // At least the header block, so a truncated file still has defined bytes to look at.
    u64 alloc = size < image::kPayloadMin ? image::kPayloadMin : size;
    u8* buf = static_cast<u8*>(alloc_pages(alloc, "keel.img"));
    memset(buf, 0, alloc);
    u64 done = 0;
    while (done < size) {
        u64 n = size - done;
        if (file->read(file, &n, buf + done) != efi::kSuccess) refuse("read error on keel.img");
        if (n == 0) break;
        done += n;
    }
    file->close(file);
    root->close(root);
    if (done != size)
        refuse("read error on keel.img (%llu of %llu bytes)", static_cast<unsigned long long>(done),
               static_cast<unsigned long long>(size));
    return buf;
}

// The floor is the larger of the built-in one and the NV+BS variable that earlier, newer
// signed images raised (boot/README.md "Anti-rollback"). Only a variable with exactly those
// attributes and 4 bytes is the stage's own: boot-services-only variables cannot be created
// or changed once ExitBootServices has run, so an OS can only pre-create one with other
// attributes (runtime access) before the stage's first write, to make every later raise
// fail. Such a variable is not trusted, deleted and replaced; one that cannot be read or
// deleted stops the boot (the floor could not be kept).
constexpr u32 kFloorAttributes = efi::kVariableNonVolatile | efi::kVariableBootServiceAccess;

// The TPM's copy of the floor (tpm_floor.cpp), when a TPM is attached and its index usable.
struct TpmFloor {
    bool used = false;
    u32 value = 0;
};

u32 security_floor(u32& stored, Tpm* tpm, TpmFloor& tf) {
    u32 value = 0, attrs = 0;
    u64 size = sizeof(value);
    stored = 0;
    const efi::Status s = g_st->runtime_services->get_variable(
        kFloorVariable, &efi::kKeelVendorGuid, &attrs, &size, &value);
    if (s == efi::kSuccess && attrs == kFloorAttributes && size == sizeof(value)) {
        stored = value;
    } else if (s == efi::kSuccess || s == efi::kBufferTooSmall) {
        kprint("keel-boot: security floor variable has attributes %#x and %llu bytes (not NV+BS, "
               "4 bytes): not trusted, deleting it\n",
               attrs, static_cast<unsigned long long>(size));
        const efi::Status d = g_st->runtime_services->set_variable(
            kFloorVariable, &efi::kKeelVendorGuid, 0, 0, nullptr);
        if (d != efi::kSuccess)
            refuse("cannot delete the untrusted security floor variable (status %#llx)",
                   static_cast<unsigned long long>(d));
    } else if (s != efi::kNotFound) {
        refuse("cannot read the security floor variable (status %#llx)",
               static_cast<unsigned long long>(s));
    }
    if (tpm != nullptr && (tf.used = tpm_floor_read(*tpm, tf.value)))
        kprint("keel-boot: tpm: security floor %u in NV index %#x\n", tf.value, kTpmFloorIndex);
    u32 floor = stored > KEEL_BOOT_SECURITY_FLOOR ? stored : KEEL_BOOT_SECURITY_FLOOR;
    return tf.value > floor ? tf.value : floor;
}

// A newer security version is recorded before it boots, and read back: an image whose
// version cannot be kept as the floor is refused, else a rollback after it would pass.
void raise_floor(u32 stored, Tpm* tpm, const TpmFloor& tf, u32 image_sv) {
    if (image_sv <= KEEL_BOOT_SECURITY_FLOOR) return;
    if (tpm != nullptr && tf.used && image_sv > tf.value) {
        u32 back = 0;
        if (image_sv > kTpmFloorMax || !tpm_floor_raise(*tpm, image_sv) ||
            !tpm_floor_read(*tpm, back) || back < image_sv)
            refuse("security version %u cannot be recorded as the floor in the TPM (index holds "
                   "%u, at most %u): not booting it",
                   image_sv, back, kTpmFloorMax);
        kprint("keel-boot: tpm: security floor raised to %u\n", image_sv);
    }
    if (image_sv <= stored) return;
    const efi::Status s = g_st->runtime_services->set_variable(
        kFloorVariable, &efi::kKeelVendorGuid, kFloorAttributes, sizeof(image_sv), &image_sv);
    u32 back = 0, attrs = 0;
    u64 size = sizeof(back);
    const efi::Status r = s == efi::kSuccess
                              ? g_st->runtime_services->get_variable(
                                    kFloorVariable, &efi::kKeelVendorGuid, &attrs, &size, &back)
                              : s;
    if (r != efi::kSuccess || back != image_sv || attrs != kFloorAttributes || size != sizeof(back))
        refuse("security version %u cannot be recorded as the floor (SetVariable status %#llx, "
               "read back %#llx): not booting it",
               image_sv, static_cast<unsigned long long>(s), static_cast<unsigned long long>(r));
    kprint("keel-boot: security floor raised to %u\n", image_sv);
}

// Places segment i at its linked address: the pages must be free (AllocateAddress).
void load_segment(const image::VerifiedHeader& vh, u32 i, const u8* file) {
    const image::Segment& seg = vh.header.segments[i];
    efi::PhysAddr addr = seg.load_addr;
    efi::Status s = g_st->boot_services->allocate_pages(
        efi::AllocateType::Address, efi::MemoryType::LoaderData, pages_for(seg.mem_size), &addr);
    if (s != efi::kSuccess)
        refuse("segment %u memory not free at %#llx (+%#llx): status %#llx", i,
               static_cast<unsigned long long>(seg.load_addr),
               static_cast<unsigned long long>(seg.mem_size), static_cast<unsigned long long>(s));
    u8* dst = reinterpret_cast<u8*>(seg.load_addr);
    memcpy(dst, file + seg.file_offset, seg.file_size);
    memset(dst + seg.file_size, 0, pages_for(seg.mem_size) * kPage - seg.file_size);
    // Hash the copy that will run, not the buffer it came from.
    image::Refusal r = image::verify_segment(vh, i, dst, seg.file_size);
    if (r != image::Refusal::None) refuse("%s (segment %u)", image::refusal_message(r), i);
    kprint("keel-boot: segment %u at %#llx size %#llx (file %#llx) sha384 ok\n", i,
           static_cast<unsigned long long>(seg.load_addr),
           static_cast<unsigned long long>(seg.mem_size),
           static_cast<unsigned long long>(seg.file_size));
}

// The firmware's memory map as it stands before the final one (which is taken right before
// ExitBootServices, when nothing may print): every descriptor with its EFI type, for the
// record and for the test that checks the pool against it (boot/uefi-test --check-pool).
void print_memory_map(efi::BootServices* bs, u8* map, u64 map_cap) {
    u64 map_size = map_cap, key = 0, desc_size = 0;
    u32 desc_version = 0;
    if (bs->get_memory_map(&map_size, reinterpret_cast<efi::MemoryDescriptor*>(map), &key,
                           &desc_size, &desc_version) != efi::kSuccess ||
        desc_size < sizeof(efi::MemoryDescriptor))
        refuse("cannot read the memory map");
    for (u64 off = 0; off + sizeof(efi::MemoryDescriptor) <= map_size; off += desc_size) {
        efi::MemoryDescriptor d;
        memcpy(&d, map + off, sizeof(d));
        kprint("keel-boot: memory map: %#llx-%#llx %s\n",
               static_cast<unsigned long long>(d.physical_start),
               static_cast<unsigned long long>(d.physical_start + d.pages * kPage - 1),
               efi_memory_type_name(d.type));
    }
}

} // namespace

void to_hex(const u8* data, usize len, char* out) {
    static constexpr char hex[] = "0123456789abcdef";
    for (usize i = 0; i < len; ++i) {
        out[2 * i] = hex[data[i] >> 4];
        out[2 * i + 1] = hex[data[i] & 15];
    }
    out[2 * len] = '\0';
}

void refuse(const char* fmt, ...) {
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vformat(line, sizeof(line), fmt, ap);
    va_end(ap);
    kprint("keel-boot: REFUSED: %s\n", line);
    kprint("keel-boot: halted; nothing was started\n");
    for (;;) {
        if (g_st) g_st->boot_services->stall(1000000);
    }
}

extern "C" efi::Status efi_main(efi::Handle image_handle, efi::SystemTable* st) {
    g_st = st;
    stage_console_init(st);
    st->boot_services->set_watchdog_timer(0, 0, 0, nullptr);
    kprint("\r\nkeel-boot: Keel UEFI boot stage %s (%s)\n", KEEL_VERSION_STRING, kStageArchName);
    arch_check_cpu();
    if (crypto::init() != Status::Ok) refuse("crypto arena unavailable");

    image::TrustAnchor anchor;
    memcpy(anchor.public_key, kBootPublicKey, sizeof(anchor.public_key));
    u8 key_id[image::kKeyIdSize];
    image::key_id_of(anchor.public_key, key_id);
    char key_hex[2 * image::kKeyIdSize + 1];
    to_hex(key_id, sizeof(key_id), key_hex);
    Tpm tpm;
    const bool have_tpm = tpm_open(st->boot_services, tpm);
    u32 stored_floor = 0;
    TpmFloor tpm_floor;
    const u32 floor = security_floor(stored_floor, have_tpm ? &tpm : nullptr, tpm_floor);
    kprint("keel-boot: key id %s, security floor %u (built-in %u)\n", key_hex, floor,
           KEEL_BOOT_SECURITY_FLOOR);

    u64 file_size = 0;
    const u8* file = read_image(image_handle, file_size);
    kprint("keel-boot: keel.img %llu bytes\n", static_cast<unsigned long long>(file_size));

    static image::VerifiedHeader vh; // large; kept off the firmware's stack
    image::Refusal r =
        image::verify_header(file, file_size < image::kPayloadMin ? image::kPayloadMin : file_size,
                             file_size, anchor, image::Policy{kStageArch, floor}, vh);
    const image::Header& h = vh.header;
    switch (r) {
    case image::Refusal::None: break;
    case image::Refusal::WrongArch:
        refuse("%s (image arch %u, this machine %s)", image::refusal_message(r), h.arch,
               kStageArchName);
    case image::Refusal::Rollback:
        refuse("%s (image %u, floor %u)", image::refusal_message(r), h.security_version, floor);
    case image::Refusal::Truncated:
        refuse("%s (file %llu bytes, image %llu)", image::refusal_message(r),
               static_cast<unsigned long long>(file_size),
               static_cast<unsigned long long>(h.image_size));
    default: refuse("%s", image::refusal_message(r));
    }
    kprint("keel-boot: signature ok, hypervisor %u.%u.%u, security version %u, %u segment(s)\n",
           h.hv_version >> 16, (h.hv_version >> 8) & 0xff, h.hv_version & 0xff, h.security_version,
           h.segment_count);

    u64 lo = ~0ull, hi = 0;
    for (u32 i = 0; i < h.segment_count; ++i) {
        load_segment(vh, i, file);
        const image::Segment& seg = h.segments[i];
        if (seg.load_addr < lo) lo = seg.load_addr;
        if (seg.load_addr + seg.mem_size > hi) hi = seg.load_addr + seg.mem_size;
    }

    // Measurements: the whole file, then the boot configuration as text.
    auto* bi = static_cast<BootInfo*>(alloc_pages(sizeof(BootInfo), "boot info"));
    memset(bi, 0, sizeof(*bi));
    EventLog log{static_cast<u8*>(alloc_pages(kPage, "event log")), kPage, 0};
    u8 image_digest[crypto::kSha384Size];
    measure(log, have_tpm ? &tpm : nullptr, kEvImage, file, file_size, "keel.img", image_digest);
    char cmdline[BootInfo::kCmdlineMax];
    read_config(image_handle, cmdline);
    char config[kMaxEventDescription];
    u32 config_len = static_cast<u32>(
        format(config, sizeof(config),
               "keel-boot-config: arch=%s floor=%u image_sv=%u key_id=%s cmdline=%s",
               kStageArchName, floor, h.security_version, key_hex, cmdline));
    u8 config_digest[crypto::kSha384Size];
    measure(log, have_tpm ? &tpm : nullptr, kEvConfig, config, config_len, config, config_digest);
    tpm_print_pcr(tpm);
    raise_floor(stored_floor, have_tpm ? &tpm : nullptr, tpm_floor, h.security_version);
    if (tpm_floor.used && tpm_floor_lock(tpm))
        kprint("keel-boot: tpm: floor index write-locked until the next boot\n");

    bi->magic = BootInfo::kMagic;
    bi->version = BootInfo::kVersion;
    bi->size = sizeof(BootInfo);
    bi->arch = static_cast<BootArch>(kStageArch);
    bi->source = BootSource::Uefi;
    memcpy(bi->cmdline, cmdline, sizeof(cmdline));
    bi->image_base = lo;
    bi->image_size = hi - lo;
    bi->event_log = reinterpret_cast<u64>(log.base);
    bi->event_log_size = log.used;
    memcpy(bi->image_digest, image_digest, sizeof(image_digest));
    bi->flags = BootInfo::kFlagVerified | BootInfo::kFlagMeasured |
                (have_tpm ? BootInfo::kFlagTpm : 0) | BootInfo::kFlagSecurityFloor;
    // What a newer image raised it to (raise_floor), or what it was: what the next boot enforces.
    bi->security_floor = h.security_version > floor ? h.security_version : floor;
    arch_fill_platform(st, *bi);
    stage_entropy(st, *bi);
    const u64 entry = h.entry;
    char dhex[97];
    to_hex(image_digest, sizeof(image_digest), dhex);
    kprint("keel-boot: image sha384 %s\n", dhex);
    kprint("keel-boot: entering hypervisor at %#llx, boot info %p\n",
           static_cast<unsigned long long>(entry), bi);

    // Memory map into the boot info, then ExitBootServices (retried once with a fresh
    // map, as UEFI 2.10 §7.4 allows). Nothing may allocate or print in between.
    efi::BootServices* bs = st->boot_services;
    u64 map_cap = 16 * kPage;
    u8* map = static_cast<u8*>(alloc_pages(map_cap, "memory map"));
    print_memory_map(bs, map, map_cap);
    for (int attempt = 0; attempt < 2; ++attempt) {
        u64 map_size = map_cap, key = 0, desc_size = 0;
        u32 desc_version = 0;
        if (bs->get_memory_map(&map_size, reinterpret_cast<efi::MemoryDescriptor*>(map), &key,
                               &desc_size, &desc_version) != efi::kSuccess)
            refuse("cannot read the memory map");
        fill_memory(*bi, map, map_size, desc_size);
        for (u32 i = 0; i < h.segment_count; ++i)
            arch_clean_range(h.segments[i].load_addr, h.segments[i].mem_size);
        arch_clean_range(reinterpret_cast<u64>(bi), sizeof(*bi));
        arch_clean_range(reinterpret_cast<u64>(log.base), log.capacity);
        if (bs->exit_boot_services(image_handle, key) == efi::kSuccess) {
            stage_console_off();
            arch_enter(entry, bi);
        }
    }
    refuse("ExitBootServices failed twice");
}

} // namespace keel
