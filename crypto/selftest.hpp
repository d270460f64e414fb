// Known-answer self-test of the crypto the hypervisor uses (SHA-2, HMAC/HKDF, ECDSA P-384
// verify, X25519; not P-256, which only the tools use), run before the first use of any of it
// and off the boot's critical path (hypervisor/main.cpp, docs/performance.md "Boot").
// Each check is reported separately so the log can print "crypto: sha384 ok".
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::crypto {

struct SelfTestResult {
    const char* name; // short, e.g. "sha384", "ecdsa-p384-tamper"
    Status status;    // Ok when the check passed
};

constexpr usize kSelfTestChecks = 7;

// Runs every check, fills `results` in a fixed order, and returns Ok only if all
// passed (otherwise the first failing check's Status).
[[nodiscard]] Status crypto_self_test(SelfTestResult (&results)[kSelfTestChecks]);
[[nodiscard]] Status crypto_self_test();

} // namespace keel::crypto
