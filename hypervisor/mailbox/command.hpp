// Decoding and structural validation of one command, on a private copy of its slot
// (docs/mailbox.md §3). Runs before authentication, so it must be cheap and total: every
// byte of the slot is either checked or ignored by design, every length is bounded, and
// the result is a typed value the dispatcher can act on without re-reading anything.
// Pure logic: host-tested and fuzzed (tests/fuzz/mailbox_fuzz.cpp).
#pragma once

#include "hypervisor/mailbox/abi.hpp"
#include "hypervisor/status.hpp"

namespace keel::mailbox {

struct Command {
    Opcode op = Opcode::Ping;
    u64 seq = 0;
    u32 vm_id = 0;
    union {
        CreateVmPayload create;
        LoadImagePayload load;
        StopPayload stop;
        ConsoleWritePayload console;
        HelloPayload hello;
        UpdatePayload update;
        VfPayload vf;
    };
    Command() : create{} {}
};

// Everything the validator needs to know about the machine's side of the ABI.
struct DecodeLimits {
    u64 bulk_size = 0; // bytes in the bulk window
};

// Ok with `out` filled, or the error the controller gets back:
//   Unsupported      unknown opcode
//   OutOfRange       length past the payload, a VM id past kMaxVms, a bulk range past the window
//   InvalidArgument  anything else malformed (non-zero reserved bytes, bad names, sizes)
[[nodiscard]] Status decode_command(const CommandSlot& slot, const DecodeLimits& limits,
                                    Command& out);

const char* opcode_name(u16 op);

} // namespace keel::mailbox
