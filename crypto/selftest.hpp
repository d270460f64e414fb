// Known-answer self-test of the crypto the hypervisor trusts, run once at boot
// before any image signature is checked. Each check is reported separately so the
// boot log can print "crypto: sha384 ok".
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::crypto {

struct SelfTestResult {
    const char* name; // short, e.g. "sha384", "ecdsa-p384-tamper"
    Status status;    // Ok when the check passed
};

constexpr usize kSelfTestChecks = 8;

// Runs every check, fills `results` in a fixed order, and returns Ok only if all
// passed (otherwise the first failing check's Status).
[[nodiscard]] Status crypto_self_test(SelfTestResult (&results)[kSelfTestChecks]);
[[nodiscard]] Status crypto_self_test();

} // namespace keel::crypto
