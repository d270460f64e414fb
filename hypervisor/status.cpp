#include "hypervisor/status.hpp"

namespace keel {

const char* status_name(Status s) {
    switch (s) {
    case Status::Ok: return "ok";
    case Status::InvalidArgument: return "invalid argument";
    case Status::OutOfRange: return "out of range";
    case Status::NoMemory: return "no memory";
    case Status::NotFound: return "not found";
    case Status::AlreadyExists: return "already exists";
    case Status::Busy: return "busy";
    case Status::Unsupported: return "unsupported";
    case Status::BadState: return "bad state";
    case Status::AuthFailed: return "authentication failed";
    case Status::Replayed: return "replayed";
    case Status::Corrupt: return "corrupt";
    case Status::HashMismatch: return "hash mismatch";
    case Status::BadSignature: return "bad signature";
    case Status::Rollback: return "rollback";
    case Status::Truncated: return "truncated";
    case Status::WrongArch: return "wrong arch";
    case Status::LogFull: return "log full";
    case Status::Timeout: return "timeout";
    case Status::HardwareFault: return "hardware fault";
    case Status::Expired: return "session expired or unknown";
    }
    return "unknown status";
}

} // namespace keel
