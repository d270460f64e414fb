#include "hypervisor/mailbox/command.hpp"

#include <string.h>

#include "hypervisor/bytes.hpp"

namespace keel::mailbox {
namespace {

// Opcodes that name a VM in vm_id; the others require it to be zero.
bool needs_vm(Opcode op) {
    return op != Opcode::Ping && op != Opcode::CreateVm && op != Opcode::List &&
           op != Opcode::Hello && op != Opcode::Platform && op != Opcode::Vfs &&
           op != Opcode::Update;
}

bool name_ok(const char (&name)[kNameMax]) {
    usize n = 0;
    while (n < kNameMax && name[n] != '\0') {
        char c = name[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok) return false;
        ++n;
    }
    if (n == 0) return false;
    // Canonical: NUL padding only, so two encodings of one name cannot differ.
    return all_zero(reinterpret_cast<const u8*>(name) + n, kNameMax - n);
}

Status check_create(const CreateVmPayload& c) {
    if (!name_ok(c.name)) return Status::InvalidArgument;
    if (c.cpu_mask == 0 || c.mem_bytes == 0 || c.mem_bytes % (2 * MiB) != 0)
        return Status::InvalidArgument;
    if (c.kernel_size == 0 || c.kernel_size > c.mem_bytes || c.initrd_size > c.mem_bytes)
        return Status::OutOfRange;
    if (c.initrd_size == 0 && !all_zero(c.initrd_sha256, sizeof c.initrd_sha256))
        return Status::InvalidArgument;
    usize n = 0;
    while (n < kCmdlineMax && c.cmdline[n] != '\0') {
        if (c.cmdline[n] < 0x20 || c.cmdline[n] > 0x7e) return Status::InvalidArgument;
        ++n;
    }
    if (n == kCmdlineMax) return Status::InvalidArgument; // no terminator inside the field
    return all_zero(reinterpret_cast<const u8*>(c.cmdline) + n, kCmdlineMax - n)
               ? Status::Ok
               : Status::InvalidArgument;
}

// A chunk of the bulk window (LOAD_IMAGE, UPDATE Chunk).
Status check_chunk(u64 image_offset, u64 bulk_offset, u64 length, const DecodeLimits& limits) {
    if (length == 0) return Status::InvalidArgument;
    // Written so that no sum can wrap: a hostile offset near 2^64 must still fail.
    if (bulk_offset > limits.bulk_size || length > limits.bulk_size - bulk_offset)
        return Status::OutOfRange;
    // Shared memory is read in words, so chunks start word-aligned; a length that is
    // not a multiple of 4 makes the next chunk's image_offset unaligned, so only an
    // image's last chunk can end mid-word (images of any size load).
    if ((bulk_offset | image_offset) & 3) return Status::InvalidArgument;
    return Status::Ok;
}

Status check_load(const LoadImagePayload& l, const DecodeLimits& limits) {
    if (l.kind > static_cast<u32>(ImageKind::Initrd) || l.reserved != 0)
        return Status::InvalidArgument;
    return check_chunk(l.image_offset, l.bulk_offset, l.length, limits);
}

// §3.10: only the fields of the step are set; the rest are zero.
Status check_update(const UpdatePayload& u, const DecodeLimits& limits) {
    if (u.reserved != 0) return Status::InvalidArgument;
    switch (static_cast<UpdateStep>(u.step)) {
    case UpdateStep::Begin:
        return u.image_size != 0 && (u.image_offset | u.bulk_offset | u.length) == 0
                   ? Status::Ok
                   : Status::InvalidArgument;
    case UpdateStep::Chunk:
        if (u.image_size != 0) return Status::InvalidArgument;
        return check_chunk(u.image_offset, u.bulk_offset, u.length, limits);
    case UpdateStep::Verify:
    case UpdateStep::Apply:
    case UpdateStep::Commit:
        return (u.image_size | u.image_offset | u.bulk_offset | u.length) == 0
                   ? Status::Ok
                   : Status::InvalidArgument;
    }
    return Status::InvalidArgument;
}

// The exact payload size each opcode carries (ConsoleWrite: the fixed part).
u32 payload_size(Opcode op) {
    switch (op) {
    case Opcode::CreateVm: return sizeof(CreateVmPayload);
    case Opcode::LoadImage: return sizeof(LoadImagePayload);
    case Opcode::Stop: return sizeof(StopPayload);
    case Opcode::ConsoleWrite: return 8;
    case Opcode::Hello: return sizeof(HelloPayload);
    case Opcode::Update: return sizeof(UpdatePayload);
    case Opcode::AttachVf:
    case Opcode::DetachVf: return sizeof(VfPayload);
    default: return 0;
    }
}

} // namespace

Status decode_command(const CommandSlot& slot, const DecodeLimits& limits, Command& out) {
    if (slot.opcode == 0 || slot.opcode > kOpcodeMax) return Status::Unsupported;
    const Opcode op = static_cast<Opcode>(slot.opcode);
    if (slot.length > kCmdPayloadMax) return Status::OutOfRange;
    if (slot.flags != 0 || slot.reserved != 0) return Status::InvalidArgument;
    if (!all_zero(slot.payload + slot.length, kCmdPayloadMax - slot.length))
        return Status::InvalidArgument;
    if (slot.seq == 0) return Status::InvalidArgument;
    if (needs_vm(op) ? (slot.vm_id == 0 || slot.vm_id > kMaxVms) : slot.vm_id != 0)
        return slot.vm_id > kMaxVms ? Status::OutOfRange : Status::InvalidArgument;

    out = Command{};
    out.op = op;
    out.seq = slot.seq;
    out.vm_id = slot.vm_id;
    const u32 fixed = payload_size(op);
    if (op == Opcode::ConsoleWrite) {
        if (slot.length < fixed) return Status::InvalidArgument;
        if (slot.length > sizeof(ConsoleWritePayload)) return Status::OutOfRange;
        memcpy(&out.console, slot.payload, slot.length);
        if (out.console.reserved != 0 || out.console.length == 0) return Status::InvalidArgument;
        if (out.console.length > kConsoleWriteMax) return Status::OutOfRange;
        return out.console.length == slot.length - fixed ? Status::Ok : Status::InvalidArgument;
    }
    if (slot.length != fixed) return Status::InvalidArgument;
    switch (op) {
    case Opcode::CreateVm:
        memcpy(&out.create, slot.payload, fixed);
        return check_create(out.create);
    case Opcode::LoadImage:
        memcpy(&out.load, slot.payload, fixed);
        return check_load(out.load, limits);
    case Opcode::Stop:
        memcpy(&out.stop, slot.payload, fixed);
        return out.stop.reserved == 0 ? Status::Ok : Status::InvalidArgument;
    case Opcode::Update:
        memcpy(&out.update, slot.payload, fixed);
        return check_update(out.update, limits);
    case Opcode::AttachVf:
    case Opcode::DetachVf:
        memcpy(&out.vf, slot.payload, fixed);
        return out.vf.dev < 32 && out.vf.fn < 8 && out.vf.reserved == 0 && out.vf.reserved2 == 0
                   ? Status::Ok
                   : Status::InvalidArgument;
    case Opcode::Hello:
        // A HELLO belongs to no session yet and carries its signature inside, not a MAC.
        memcpy(&out.hello, slot.payload, fixed);
        if (slot.session_id != 0 || !all_zero(slot.mac, sizeof slot.mac))
            return Status::InvalidArgument;
        return out.hello.reserved == 0 && out.hello.offer_id != 0 ? Status::Ok
                                                                  : Status::InvalidArgument;
    default: return Status::Ok;
    }
}

const char* opcode_name(u16 op) {
    switch (op) {
    case 1: return "ping";
    case 2: return "create";
    case 3: return "load";
    case 4: return "start";
    case 5: return "stop";
    case 6: return "destroy";
    case 7: return "list";
    case 8: return "describe";
    case 9: return "metrics";
    case 10: return "console-write";
    case 11: return "hello";
    case 12: return "platform";
    case 13: return "vfs";
    case 14: return "update";
    case 15: return "attach-vf";
    case 16: return "detach-vf";
    }
    return "unknown";
}

} // namespace keel::mailbox
