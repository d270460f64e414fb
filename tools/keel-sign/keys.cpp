#include "tools/keel-sign/keys.hpp"

#include <fcntl.h>
#include <mbedtls/asn1.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "crypto/arena.hpp"

namespace keel::sign {
namespace {

// OID 1.3.132.0.34 (secp384r1) and 1.2.840.10045.2.1 (id-ecPublicKey), DER bodies.
const u8 kOidP384[] = {0x2b, 0x81, 0x04, 0x00, 0x22};
const u8 kOidEcPublicKey[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};

int urandom(void*, unsigned char* out, size_t len) {
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, out + done, len - done);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += static_cast<size_t>(n);
    }
    close(fd);
    return 0;
}

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(const u8* p, usize n) {
    std::string out;
    for (usize i = 0; i < n; i += 3) {
        u32 v = u32(p[i]) << 16 | (i + 1 < n ? u32(p[i + 1]) << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        out += kB64[(v >> 18) & 63];
        out += kB64[(v >> 12) & 63];
        out += i + 1 < n ? kB64[(v >> 6) & 63] : '=';
        out += i + 2 < n ? kB64[v & 63] : '=';
        if ((i / 3 + 1) % 16 == 0) out += '\n';
    }
    if (out.empty() || out.back() != '\n') out += '\n';
    return out;
}

bool unbase64(const std::string& s, std::vector<u8>& out) {
    u32 acc = 0;
    int bits = 0;
    for (char c : s) {
        if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
        const char* at = strchr(kB64, c);
        if (at == nullptr || c == 0) return false;
        acc = (acc << 6) | u32(at - kB64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<u8>(acc >> bits));
        }
    }
    return true;
}

// The body of the first PEM block whose label ends with `suffix`.
bool pem_block(const std::vector<u8>& file, const char* suffix, std::vector<u8>& der) {
    std::string text(file.begin(), file.end());
    for (usize at = text.find("-----BEGIN "); at != std::string::npos;
         at = text.find("-----BEGIN ", at + 1)) {
        usize eol = text.find("-----", at + 11);
        if (eol == std::string::npos) return false;
        std::string label = text.substr(at + 11, eol - at - 11);
        if (label.size() < strlen(suffix) ||
            label.compare(label.size() - strlen(suffix), std::string::npos, suffix) != 0)
            continue;
        usize body = eol + 5;
        usize end = text.find("-----END ", body);
        if (end == std::string::npos) return false;
        return unbase64(text.substr(body, end - body), der);
    }
    return false;
}

bool derive_public(PrivateKey& key, std::string& err) {
    mbedtls_ecp_group grp;
    mbedtls_mpi d;
    mbedtls_ecp_point q;
    mbedtls_ecp_group_init(&grp);
    mbedtls_mpi_init(&d);
    mbedtls_ecp_point_init(&q);
    size_t olen = 0;
    int rc = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP384R1);
    if (rc == 0) rc = mbedtls_mpi_read_binary(&d, key.d, sizeof(key.d));
    if (rc == 0) rc = mbedtls_ecp_check_privkey(&grp, &d);
    if (rc == 0) rc = mbedtls_ecp_mul(&grp, &q, &d, &grp.G, urandom, nullptr);
    if (rc == 0)
        rc = mbedtls_ecp_point_write_binary(&grp, &q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, key.pub,
                                            sizeof(key.pub));
    mbedtls_ecp_point_free(&q);
    mbedtls_mpi_free(&d);
    mbedtls_ecp_group_free(&grp);
    if (rc != 0 || olen != sizeof(key.pub)) {
        err = "not a valid P-384 private key";
        return false;
    }
    return true;
}

// RFC 5915 ECPrivateKey: SEQUENCE { INTEGER 1, OCTET STRING d, [0] OID?, [1] BIT STRING? }
bool parse_sec1(unsigned char* p, const unsigned char* end, PrivateKey& key, std::string& err) {
    size_t len = 0;
    int ver = 0;
    err = "malformed EC private key";
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
        return false;
    end = p + len;
    if (mbedtls_asn1_get_int(&p, end, &ver) != 0 || ver != 1) return false;
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_OCTET_STRING) != 0 || len != 48) {
        err = "not a P-384 private key (scalar is not 48 bytes)";
        return false;
    }
    memcpy(key.d, p, 48);
    p += 48;
    if (p < end &&
        mbedtls_asn1_get_tag(&p, end, &len,
                             MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 0) == 0) {
        size_t olen = 0;
        if (mbedtls_asn1_get_tag(&p, p + len, &olen, MBEDTLS_ASN1_OID) != 0 ||
            olen != sizeof(kOidP384) || memcmp(p, kOidP384, olen) != 0) {
            err = "EC private key is not on secp384r1";
            return false;
        }
    }
    return derive_public(key, err);
}

} // namespace

bool read_file(const std::string& path, std::vector<u8>& out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    return true;
}

bool write_file(const std::string& path, const void* data, usize len, bool private_mode) {
    int fd =
        open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, private_mode ? 0600 : 0644);
    if (fd < 0) return false;
    const u8* p = static_cast<const u8*>(data);
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0) {
            close(fd);
            return false;
        }
        p += n;
        len -= static_cast<usize>(n);
    }
    return close(fd) == 0;
}

bool keygen(PrivateKey& key, std::string& err) {
    (void)crypto::init();
    mbedtls_ecp_group grp;
    mbedtls_mpi d;
    mbedtls_ecp_point q;
    mbedtls_ecp_group_init(&grp);
    mbedtls_mpi_init(&d);
    mbedtls_ecp_point_init(&q);
    int rc = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP384R1);
    if (rc == 0) rc = mbedtls_ecp_gen_keypair(&grp, &d, &q, urandom, nullptr);
    if (rc == 0) rc = mbedtls_mpi_write_binary(&d, key.d, sizeof(key.d));
    mbedtls_ecp_point_free(&q);
    mbedtls_mpi_free(&d);
    mbedtls_ecp_group_free(&grp);
    if (rc != 0) {
        err = "key generation failed";
        return false;
    }
    return derive_public(key, err);
}

std::string private_key_pem(const PrivateKey& key) {
    std::vector<u8> der = {0x30, 0x81, 0xa4, 0x02, 0x01, 0x01, 0x04, 0x30};
    der.insert(der.end(), key.d, key.d + 48);
    der.insert(der.end(), {0xa0, 0x07, 0x06, 0x05});
    der.insert(der.end(), kOidP384, kOidP384 + sizeof(kOidP384));
    der.insert(der.end(), {0xa1, 0x64, 0x03, 0x62, 0x00});
    der.insert(der.end(), key.pub, key.pub + sizeof(key.pub));
    return "-----BEGIN EC PRIVATE KEY-----\n" + base64(der.data(), der.size()) +
           "-----END EC PRIVATE KEY-----\n";
}

bool load_private_key(const std::string& path, PrivateKey& key, std::string& err) {
    (void)crypto::init();
    std::vector<u8> file, der;
    if (!read_file(path, file)) {
        err = "cannot read " + path;
        return false;
    }
    if (!pem_block(file, "PRIVATE KEY", der)) {
        err = path + ": no PEM private key";
        return false;
    }
    unsigned char* p = der.data();
    const unsigned char* end = p + der.size();
    // PKCS#8 (RFC 5208): SEQUENCE { INTEGER 0, AlgorithmIdentifier, OCTET STRING { ECPrivateKey } }
    unsigned char* q = p;
    size_t len = 0;
    int ver = -1;
    if (mbedtls_asn1_get_tag(&q, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) ==
            0 &&
        mbedtls_asn1_get_int(&q, end, &ver) == 0 && ver == 0) {
        mbedtls_asn1_buf alg{}, params{};
        if (mbedtls_asn1_get_alg(&q, end, &alg, &params) != 0 ||
            alg.len != sizeof(kOidEcPublicKey) || memcmp(alg.p, kOidEcPublicKey, alg.len) != 0 ||
            params.tag != MBEDTLS_ASN1_OID || params.len != sizeof(kOidP384) ||
            memcmp(params.p, kOidP384, params.len) != 0) {
            err = path + ": not a P-384 EC key";
            return false;
        }
        if (mbedtls_asn1_get_tag(&q, end, &len, MBEDTLS_ASN1_OCTET_STRING) != 0) {
            err = path + ": malformed PKCS#8 key";
            return false;
        }
        return parse_sec1(q, q + len, key, err);
    }
    return parse_sec1(p, end, key, err);
}

bool load_public_key(const std::string& path, u8 (&pub)[crypto::kP384PublicKeySize],
                     std::string& err) {
    std::vector<u8> file, der;
    if (!read_file(path, file)) {
        err = "cannot read " + path;
        return false;
    }
    if (file.size() == sizeof(pub) && file[0] == 0x04) {
        memcpy(pub, file.data(), sizeof(pub));
        return true;
    }
    // SubjectPublicKeyInfo for P-384 is 120 bytes ending in the 97-byte point.
    if (pem_block(file, "PUBLIC KEY", der) && der.size() == 120 && der[23] == 0x04 &&
        std::search(der.begin(), der.end(), std::begin(kOidP384), std::end(kOidP384)) !=
            der.end()) {
        memcpy(pub, der.data() + 23, sizeof(pub));
        return true;
    }
    err = path + ": not a P-384 public key (raw 97-byte point or PEM PUBLIC KEY)";
    return false;
}

bool sign_digest(const PrivateKey& key, const u8 (&digest)[48],
                 u8 (&sig)[crypto::kP384SignatureSize], std::string& err) {
    (void)crypto::init();
    mbedtls_ecp_group grp;
    mbedtls_mpi d, r, s;
    mbedtls_ecp_group_init(&grp);
    mbedtls_mpi_init(&d);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    int rc = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP384R1);
    if (rc == 0) rc = mbedtls_mpi_read_binary(&d, key.d, sizeof(key.d));
    if (rc == 0)
        rc = mbedtls_ecdsa_sign(&grp, &r, &s, &d, digest, sizeof(digest), urandom, nullptr);
    if (rc == 0) rc = mbedtls_mpi_write_binary(&r, sig, 48);
    if (rc == 0) rc = mbedtls_mpi_write_binary(&s, sig + 48, 48);
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&d);
    mbedtls_ecp_group_free(&grp);
    if (rc != 0) err = "ECDSA signing failed (mbedTLS " + std::to_string(rc) + ")";
    return rc == 0;
}

bool signature_from_file(const std::vector<u8>& in, u8 (&sig)[crypto::kP384SignatureSize],
                         std::string& err) {
    if (in.size() == sizeof(sig)) {
        memcpy(sig, in.data(), sizeof(sig));
        return true;
    }
    std::vector<u8> der(in);
    unsigned char* p = der.data();
    const unsigned char* end = p + der.size();
    size_t len = 0;
    mbedtls_mpi r, s;
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    int rc = mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
    if (rc == 0 && p + len != end) rc = -1;
    if (rc == 0) rc = mbedtls_asn1_get_mpi(&p, end, &r);
    if (rc == 0) rc = mbedtls_asn1_get_mpi(&p, end, &s);
    if (rc == 0) rc = mbedtls_mpi_write_binary(&r, sig, 48);
    if (rc == 0) rc = mbedtls_mpi_write_binary(&s, sig + 48, 48);
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    if (rc != 0) err = "signature is neither 96 raw bytes nor a DER ECDSA-Sig-Value";
    return rc == 0;
}

} // namespace keel::sign
