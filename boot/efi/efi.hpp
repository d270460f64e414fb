// The few UEFI definitions the boot stage uses (UEFI Specification 2.10; TCG EFI
// Protocol Specification 1.0 rev 1.00 for EFI_TCG2_PROTOCOL). Hand-written, no
// gnu-efi. Compiled for the *-unknown-windows targets, whose default calling
// convention is the UEFI one (Microsoft x64 on x86_64, AAPCS64 on arm64).
#pragma once

#include "hypervisor/types.hpp"

namespace keel::efi {

using Status = u64; // EFI_STATUS (UINTN)
using Handle = void*;
using Char16 = char16_t;
using PhysAddr = u64;

constexpr Status kSuccess = 0;
constexpr Status kErrorBit = 1ull << 63;
constexpr Status kLoadError = kErrorBit | 1;
constexpr Status kInvalidParameter = kErrorBit | 2;
constexpr Status kUnsupported = kErrorBit | 3;
constexpr Status kBufferTooSmall = kErrorBit | 5;
constexpr Status kNotReady = kErrorBit | 6;
constexpr Status kDeviceError = kErrorBit | 7;
constexpr Status kWriteProtected = kErrorBit | 8;
constexpr Status kOutOfResources = kErrorBit | 9;
constexpr Status kVolumeFull = kErrorBit | 11;
constexpr Status kNotFound = kErrorBit | 14;
constexpr Status kAccessDenied = kErrorBit | 15;
constexpr Status kSecurityViolation = kErrorBit | 26;
constexpr bool is_error(Status s) { return (s & kErrorBit) != 0; }

struct Guid {
    u32 d1;
    u16 d2;
    u16 d3;
    u8 d4[8];
};
static_assert(sizeof(Guid) == 16);

inline bool guid_eq(const Guid& a, const Guid& b) {
    const u8* x = reinterpret_cast<const u8*>(&a);
    const u8* y = reinterpret_cast<const u8*>(&b);
    for (int i = 0; i < 16; ++i)
        if (x[i] != y[i]) return false;
    return true;
}

// UEFI 2.10 §9.1, §13.4, §13.5, §4.6, and TCG EFI Protocol §6.
constexpr Guid kLoadedImageGuid = {
    0x5b1b31a1, 0x9562, 0x11d2, {0x8e, 0x3f, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b}};
constexpr Guid kSimpleFileSystemGuid = {
    0x964e5b22, 0x6459, 0x11d2, {0x8e, 0x39, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b}};
constexpr Guid kFileInfoGuid = {
    0x09576e92, 0x6d3f, 0x11d2, {0x8e, 0x39, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b}};
constexpr Guid kTcg2ProtocolGuid = {
    0x607f766c, 0x7455, 0x42be, {0x93, 0x0b, 0xe4, 0xd7, 0x6d, 0xb2, 0x72, 0x0f}};
constexpr Guid kAcpi20TableGuid = {
    0x8868e871, 0xe4f1, 0x11d3, {0xbc, 0x22, 0x00, 0x80, 0xc7, 0x3c, 0x88, 0x81}};
constexpr Guid kAcpi10TableGuid = {
    0xeb9d2d30, 0x2d88, 0x11d3, {0x9a, 0x16, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d}};
constexpr Guid kDtbTableGuid = {
    0xb1b621d5, 0xf19c, 0x41a5, {0x83, 0x0b, 0xd9, 0x15, 0x2c, 0x69, 0xaa, 0xe0}};
// UEFI 2.10 §37.5 EFI_RNG_PROTOCOL.
constexpr Guid kRngProtocolGuid = {
    0x3152bca5, 0xeade, 0x433d, {0x86, 0x2e, 0xc0, 0x1c, 0xdc, 0x29, 0x1f, 0x44}};
// Keel's own vendor GUID for the security-floor variable.
constexpr Guid kKeelVendorGuid = {
    0x6b65656c, 0x626f, 0x6f74, {0x9a, 0x1e, 0x4b, 0x45, 0x45, 0x4c, 0x30, 0x31}};

struct TableHeader {
    u64 signature;
    u32 revision;
    u32 header_size;
    u32 crc32;
    u32 reserved;
};

struct SimpleTextOutput {
    Status (*reset)(SimpleTextOutput* self, bool extended);
    Status (*output_string)(SimpleTextOutput* self, const Char16* s);
    // The rest of the protocol is not used.
};

enum class AllocateType : u32 { AnyPages = 0, MaxAddress = 1, Address = 2 };

enum class MemoryType : u32 {
    Reserved = 0,
    LoaderCode = 1,
    LoaderData = 2,
    BootServicesCode = 3,
    BootServicesData = 4,
    RuntimeServicesCode = 5,
    RuntimeServicesData = 6,
    Conventional = 7,
    Unusable = 8,
    AcpiReclaim = 9,
    AcpiNvs = 10,
    MemoryMappedIo = 11,
    MemoryMappedIoPortSpace = 12,
    PalCode = 13,
    Persistent = 14,
};

struct MemoryDescriptor {
    u32 type;
    u32 pad;
    u64 physical_start;
    u64 virtual_start;
    u64 pages;
    u64 attribute;
};

using Fn = void*; // a slot this code never calls

struct BootServices {
    TableHeader hdr;
    Fn raise_tpl;
    Fn restore_tpl;
    Status (*allocate_pages)(AllocateType type, MemoryType mem, u64 pages, PhysAddr* addr);
    Status (*free_pages)(PhysAddr addr, u64 pages);
    Status (*get_memory_map)(u64* size, MemoryDescriptor* map, u64* key, u64* desc_size,
                             u32* desc_version);
    Status (*allocate_pool)(MemoryType mem, u64 size, void** buf);
    Status (*free_pool)(void* buf);
    Fn create_event;
    Fn set_timer;
    Fn wait_for_event;
    Fn signal_event;
    Fn close_event;
    Fn check_event;
    Fn install_protocol_interface;
    Fn reinstall_protocol_interface;
    Fn uninstall_protocol_interface;
    Status (*handle_protocol)(Handle h, const Guid* proto, void** iface);
    Fn reserved;
    Fn register_protocol_notify;
    Fn locate_handle;
    Fn locate_device_path;
    Fn install_configuration_table;
    Fn load_image;
    Fn start_image;
    Fn exit;
    Fn unload_image;
    Status (*exit_boot_services)(Handle image, u64 map_key);
    Fn get_next_monotonic_count;
    Status (*stall)(u64 microseconds);
    Status (*set_watchdog_timer)(u64 timeout, u64 code, u64 size, const Char16* data);
    Fn connect_controller;
    Fn disconnect_controller;
    Fn open_protocol;
    Fn close_protocol;
    Fn open_protocol_information;
    Fn protocols_per_handle;
    Fn locate_handle_buffer;
    Status (*locate_protocol)(const Guid* proto, void* registration, void** iface);
};

struct RuntimeServices {
    TableHeader hdr;
    Fn get_time;
    Fn set_time;
    Fn get_wakeup_time;
    Fn set_wakeup_time;
    Fn set_virtual_address_map;
    Fn convert_pointer;
    Status (*get_variable)(const Char16* name, const Guid* vendor, u32* attributes, u64* size,
                           void* data);
    Fn get_next_variable_name;
    Status (*set_variable)(const Char16* name, const Guid* vendor, u32 attributes, u64 size,
                           const void* data);
};
constexpr u32 kVariableNonVolatile = 1;
constexpr u32 kVariableBootServiceAccess = 2;

struct ConfigurationTable {
    Guid vendor_guid;
    void* vendor_table;
};

struct SystemTable {
    TableHeader hdr;
    const Char16* firmware_vendor;
    u32 firmware_revision;
    Handle console_in_handle;
    void* con_in;
    Handle console_out_handle;
    SimpleTextOutput* con_out;
    Handle standard_error_handle;
    SimpleTextOutput* std_err;
    RuntimeServices* runtime_services;
    BootServices* boot_services;
    u64 number_of_table_entries;
    ConfigurationTable* configuration_table;
};

struct LoadedImage {
    u32 revision;
    Handle parent_handle;
    SystemTable* system_table;
    Handle device_handle;
    void* file_path;
    void* reserved;
    u32 load_options_size;
    void* load_options;
    void* image_base;
    u64 image_size;
    MemoryType image_code_type;
    MemoryType image_data_type;
    Fn unload;
};

struct FileProtocol {
    u64 revision;
    Status (*open)(FileProtocol* self, FileProtocol** out, const Char16* name, u64 mode,
                   u64 attributes);
    Status (*close)(FileProtocol* self);
    Fn del;
    Status (*read)(FileProtocol* self, u64* size, void* buffer);
    Fn write;
    Fn get_position;
    Fn set_position;
    Status (*get_info)(FileProtocol* self, const Guid* type, u64* size, void* buffer);
};
constexpr u64 kFileModeRead = 1;

struct FileInfo {
    u64 size;
    u64 file_size;
    u64 physical_size;
    u8 create_time[16];
    u8 last_access_time[16];
    u8 modification_time[16];
    u64 attribute;
    Char16 file_name[1];
};

struct SimpleFileSystem {
    u64 revision;
    Status (*open_volume)(SimpleFileSystem* self, FileProtocol** root);
};

// --- EFI_TCG2_PROTOCOL (TCG EFI Protocol Specification §6) -----------------------
struct Tcg2Version {
    u8 major;
    u8 minor;
};
// Natural alignment (EDK2's MdePkg Tcg2Protocol.h packs only the event structures).
struct Tcg2BootServiceCapability {
    u8 size;
    Tcg2Version structure_version;
    Tcg2Version protocol_version;
    u32 hash_algorithm_bitmap;
    u32 supported_event_logs;
    u8 tpm_present_flag;
    u16 max_command_size;
    u16 max_response_size;
    u32 manufacturer_id;
    u32 number_of_pcr_banks;
    u32 active_pcr_banks;
};
#pragma pack(push, 1)
struct Tcg2EventHeader {
    u32 header_size;
    u16 header_version;
    u32 pcr_index;
    u32 event_type;
};
struct Tcg2Event {
    u32 size;
    Tcg2EventHeader header;
    u8 event[1];
};
#pragma pack(pop)
static_assert(sizeof(Tcg2BootServiceCapability) == 36);
static_assert(sizeof(Tcg2EventHeader) == 14);

constexpr u32 kTcg2HashSha1 = 1, kTcg2HashSha256 = 2, kTcg2HashSha384 = 4, kTcg2HashSha512 = 8;

struct RngProtocol {
    Fn get_info;
    // algorithm null: the driver's default (UEFI 2.10 §37.5.1, GetRNG()).
    Status (*get_rng)(RngProtocol* self, const Guid* algorithm, u64 len, u8* value);
};

struct Tcg2Protocol {
    Status (*get_capability)(Tcg2Protocol* self, Tcg2BootServiceCapability* cap);
    Fn get_event_log;
    Status (*hash_log_extend_event)(Tcg2Protocol* self, u64 flags, PhysAddr data, u64 len,
                                    Tcg2Event* event);
    Status (*submit_command)(Tcg2Protocol* self, u32 in_size, const u8* in, u32 out_size, u8* out);
    Status (*get_active_pcr_banks)(Tcg2Protocol* self, u32* banks);
};

} // namespace keel::efi
