#!/usr/bin/env python3
"""Known answers for the mailbox session (docs/mailbox.md §4.2), computed here without
Keel's code or mbedTLS: X25519 from RFC 7748 §5 (the Montgomery ladder as the RFC writes it),
HKDF from RFC 5869 over Python's hmac/hashlib. Inputs: RFC 7748 §6.1's Alice (Keel) and Bob
(controller) keys and fixed header values.

  session_kat.py            prints the values (as the C++ test's constants)
  session_kat.py --check F  checks that F (tests/unit/mailbox_session_kat_test.cpp) holds
                            exactly these values; exit 1 when any differs
"""
import hashlib, hmac, re, struct, sys

P = 2**255 - 19
A24 = 121665


def x25519(k, u):
    k = bytearray(k)
    k[0] &= 248; k[31] &= 127; k[31] |= 64  # RFC 7748 §5 decodeScalar25519
    k = int.from_bytes(k, "little")
    u = int.from_bytes(u, "little") & ((1 << 255) - 1)
    x1, x2, z2, x3, z3, swap = u, 1, 0, u, 1, 0
    for t in reversed(range(255)):
        kt = (k >> t) & 1
        swap ^= kt
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = kt
        a, b = (x2 + z2) % P, (x2 - z2) % P
        aa, bb = a * a % P, b * b % P
        e = (aa - bb) % P
        c, d = (x3 + z3) % P, (x3 - z3) % P
        da, cb = d * a % P, c * b % P
        x3 = (da + cb) ** 2 % P
        z3 = x1 * (da - cb) ** 2 % P
        x2 = aa * bb % P
        z2 = e * (aa + A24 * e) % P
    if swap:
        x2, x3, z2, z3 = x3, x2, z3, z2
    return (x2 * pow(z2, P - 2, P) % P).to_bytes(32, "little")


def hkdf(salt, ikm, info, n):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:n]


def values():
    alice = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    bob = bytes.fromhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
    nine = bytes([9]) + bytes(31)
    keel_pub, ctl_pub = x25519(alice, nine), x25519(bob, nine)
    shared = x25519(alice, ctl_pub)
    assert shared == x25519(bob, keel_pub)
    # The ladder above against RFC 7748 §6.1's published results.
    assert keel_pub.hex() == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    assert ctl_pub.hex() == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
    assert shared.hex() == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
    boot_nonce = bytes(range(16))
    offer_nonce = bytes(range(0x10, 0x20))
    boot_counter, offer_id = 7, 1
    transcript = (b"KEEL-HELLO-V2".ljust(16, b"\0") + boot_nonce + struct.pack("<QII", boot_counter, offer_id, 0)
                  + offer_nonce + keel_pub + ctl_pub)
    assert len(transcript) == 128
    keys = hkdf(offer_nonce, shared, b"keel session v2" + hashlib.sha256(transcript).digest(), 96)
    kcmd, krsp, klog = keys[:32], keys[32:64], keys[64:]
    # A PING in session 1, seq 1000: seq u64, session u32, opcode u16, flags u16, length, vm,
    # reserved u64, payload zeros; the MAC covers the first 480 bytes.
    cmd = struct.pack("<QIHHIIQ", 1000, 1, 1, 0, 0, 0, 0) + bytes(448)
    # Its answer: seq, opcode, reserved, status 0, session 1, reserved, payload[200] zeros.
    rsp = struct.pack("<QHHIII", 1000, 1, 0, 0, 1, 0) + bytes(200)
    # Audit record: index 3, time 5, seq 1000, kind 1, opcode 1, status 0, vm 0, detail
    # "ping", prev_hash 0x22 * 32; the MAC is HMAC over the first 112 bytes, cut to 16.
    rec = struct.pack("<QQQIIII", 3, 5, 1000, 1, 1, 0, 0) + b"ping".ljust(40, b"\0") + b"\x22" * 32
    return {
        "keel_pub": keel_pub, "ctl_pub": ctl_pub, "shared": shared,
        "transcript_sha384": hashlib.sha384(transcript).digest(),
        "k_cmd": kcmd, "k_rsp": krsp, "k_log": klog,
        "cmd_mac": hmac.new(kcmd, cmd, hashlib.sha256).digest(),
        "rsp_mac": hmac.new(krsp, rsp, hashlib.sha256).digest(),
        "rec_mac": hmac.new(klog, rec, hashlib.sha256).digest()[:16],
    }


def main():
    v = values()
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        src = open(sys.argv[2]).read()
        bad = 0
        for k, b in v.items():
            # The value may be split into adjacent literals (clang-format wraps long ones).
            m = re.search(r'constexpr char k_%s\[\] =((?:\s*"[0-9a-f]*")+);' % k, src)
            got = "".join(re.findall(r'"([0-9a-f]*)"', m.group(1))) if m else None
            if got != b.hex():
                print(f"session_kat: {k}: test has {got}, independent value {b.hex()}")
                bad += 1
        print("session_kat: " + ("FAIL" if bad else f"PASS ({len(v)} values match)"))
        return 1 if bad else 0
    for k, b in v.items():
        print(f'constexpr char k_{k}[] = "{b.hex()}";')
    return 0


if __name__ == "__main__":
    sys.exit(main())
