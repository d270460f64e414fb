// Errors as values. Status doubles as the mailbox's error-code space, so its
// numeric values are ABI: never renumber, only append (docs/mailbox.md).
// [[nodiscard]] on the type: every function returning a Status must have it looked at;
// where ignoring it is deliberate, the call says so with (void) and a reason.
#pragma once

#include "hypervisor/types.hpp"

namespace keel {

enum class [[nodiscard]] Status : u32{
    Ok = 0,
    InvalidArgument = 1,
    OutOfRange = 2,
    NoMemory = 3,
    NotFound = 4,
    AlreadyExists = 5,
    Busy = 6,
    Unsupported = 7,
    BadState = 8,
    AuthFailed = 9,
    Replayed = 10,
    Corrupt = 11,
    HashMismatch = 12,
    BadSignature = 13,
    Rollback = 14,
    Truncated = 15,
    WrongArch = 16,
    LogFull = 17,
    Timeout = 18,
    HardwareFault = 19,
    Expired = 20, // mailbox: no such session, or the session ended (docs/mailbox.md §4.2)
};

const char* status_name(Status s);

// A value or a Status. Small and trivially copyable; no exceptions.
template <typename T>
class [[nodiscard]] Result {
public:
    constexpr Result(T value) : value_(value), status_(Status::Ok) {}
    constexpr Result(Status s) : value_{}, status_(s) {}
    [[nodiscard]] constexpr bool ok() const { return status_ == Status::Ok; }
    [[nodiscard]] constexpr Status status() const { return status_; }
    [[nodiscard]] constexpr const T& value() const { return value_; }
    [[nodiscard]] constexpr T& value() { return value_; }
    [[nodiscard]] constexpr T value_or(T other) const { return ok() ? value_ : other; }

private:
    T value_;
    Status status_;
};

} // namespace keel

#define KEEL_TRY(expr)                                                                             \
    do {                                                                                           \
        ::keel::Status keel_try_status_ = (expr);                                                  \
        if (keel_try_status_ != ::keel::Status::Ok) return keel_try_status_;                       \
    } while (0)
