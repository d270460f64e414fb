// P-384 key files for keel-sign: private keys as PEM (SEC1 "EC PRIVATE KEY", as
// `openssl ecparam -name secp384r1 -genkey -noout` writes, or PKCS#8 "PRIVATE KEY",
// as `openssl genpkey` writes), public keys as the raw 97-byte SEC1 point (.pub) or
// PEM "PUBLIC KEY" (SubjectPublicKeyInfo). Signing draws randomness from /dev/urandom.
#pragma once

#include <string>
#include <vector>

#include "crypto/ecdsa.hpp"
#include "hypervisor/types.hpp"

namespace keel::sign {

struct PrivateKey {
    u8 d[48];
    u8 pub[crypto::kP384PublicKeySize];
};

bool read_file(const std::string& path, std::vector<u8>& out);
bool write_file(const std::string& path, const void* data, usize len, bool private_mode = false);

bool keygen(PrivateKey& key, std::string& err);
std::string private_key_pem(const PrivateKey& key);
bool load_private_key(const std::string& path, PrivateKey& key, std::string& err);
bool load_public_key(const std::string& path, u8 (&pub)[crypto::kP384PublicKeySize],
                     std::string& err);

// ECDSA P-384 over a SHA-384 digest; raw r||s.
bool sign_digest(const PrivateKey& key, const u8 (&digest)[48],
                 u8 (&sig)[crypto::kP384SignatureSize], std::string& err);
// A DER ECDSA-Sig-Value (what `openssl dgst -sign` writes) or raw 96 bytes -> raw r||s.
bool signature_from_file(const std::vector<u8>& in, u8 (&sig)[crypto::kP384SignatureSize],
                         std::string& err);

} // namespace keel::sign
