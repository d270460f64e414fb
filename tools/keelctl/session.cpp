// Opening the mailbox, the session (reused from the state file or a fresh handshake),
// sending commands, key generation.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hypervisor/mailbox/command.hpp"
#include "tools/keelctl/commands.hpp"
#include "tools/keelctl/session_state.hpp"

namespace keelctl {

int Session::open(const Options& o) {
    opt = o;
    std::string err;
    if (!c.open(o.mbox, err)) return fprintf(stderr, "keelctl: %s\n", err.c_str()), kExitNoMailbox;
    if (!c.wait_ready(60))
        return fprintf(stderr, "keelctl: no hypervisor on %s\n", o.mbox.c_str()), kExitNoMailbox;
    if (c.header().abi_version != kAbiVersion)
        return fprintf(stderr, "keelctl: the mailbox speaks ABI %u, this keelctl %u\n",
                       c.header().abi_version, kAbiVersion),
               kExitNoMailbox;
    sign::PrivateKey key;
    if (!sign::load_private_key(o.key, key, err))
        return fprintf(stderr, "keelctl: controller key %s: %s\n", o.key.c_str(), err.c_str()),
               kExitUsage;
    c.set_key(key);
    state_path = default_session_state_path(o.mbox);
    SessionState saved;
    const Header h = c.header();
    // The saved session still in force for this boot is reused; anything else (another
    // boot, a renewal by another controller run, an expired session) means a handshake.
    if (load_session_state(state_path, saved) && memcmp(saved.nonce, h.nonce, 16) == 0 &&
        saved.session != 0 && saved.session == c.offer().active_id)
        c.state() = saved;
    else if (load_session_state(state_path, saved) && memcmp(saved.nonce, h.nonce, 16) == 0)
        c.state().log_keys = saved.log_keys; // older log keys of this boot stay useful
    return 0;
}

int Session::ensure_session() {
    if (c.state().session != 0) return 0;
    return renew();
}

int Session::renew() {
    std::string err;
    const Status st = c.handshake(err);
    if (st == Status::Corrupt) {
        fprintf(stderr, "keelctl: %s\n", err.c_str());
        exit(kExitChainBroken);
    }
    if (st != Status::Ok)
        return fprintf(stderr, "keelctl: session: %s\n", err.c_str()), kExitRefused;
    if (!save_session_state(state_path, c.state()))
        fprintf(stderr, "keelctl: cannot write %s: the next run handshakes again\n",
                state_path.c_str());
    return 0;
}

Status Session::call(Opcode op, u32 vm, const void* p, u32 len, ResponseSlot& r) {
    if (ensure_session() != 0) exit(kExitRefused);
    for (int attempt = 0;; ++attempt) {
        const Reply rep = c.call(op, vm, p, len, r);
        if (rep == Reply::Timeout) {
            fprintf(stderr, "keelctl: no response from the hypervisor\n");
            exit(kExitNoMailbox);
        }
        if (rep == Reply::Forged) {
            fprintf(stderr,
                    "keelctl: FORGED RESPONSE to %s (seq %llu): its MAC does not verify; "
                    "something other than Keel writes the mailbox\n",
                    opcode_name(static_cast<u16>(op)), static_cast<unsigned long long>(r.seq));
            exit(kExitChainBroken);
        }
        const Status st = static_cast<Status>(r.status);
        // The session ended (count, age) or another controller run renewed it: once more
        // with a fresh one.
        if (rep == Reply::Unauthenticated && st == Status::Expired && attempt == 0) {
            if (renew() != 0) exit(kExitRefused);
            continue;
        }
        if (st != Status::Ok)
            fprintf(stderr, "keelctl: %s refused%s: %s (%u)\n", opcode_name(r.opcode),
                    rep == Reply::Unauthenticated ? " (unauthenticated answer)" : "",
                    status_name(st), r.status);
        return st;
    }
}

u32 Session::resolve(const std::string& vm) {
    char* end = nullptr;
    unsigned long id = strtoul(vm.c_str(), &end, 10);
    if (!vm.empty() && *end == '\0') return id <= kMaxVms ? static_cast<u32>(id) : 0;
    ResponseSlot r;
    if (call(Opcode::List, 0, nullptr, 0, r) != Status::Ok) return 0;
    ListReply l;
    memcpy(&l, r.payload, sizeof l);
    for (u32 i = 0; i < l.count && i < kMaxVms; ++i)
        if (vm == std::string(l.vms[i].name, strnlen(l.vms[i].name, kNameMax))) return l.vms[i].id;
    return 0;
}

int cmd_keygen(const Options&, const Args& a) {
    std::string priv, pub;
    bool keep = false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (a[i] == "--private" && i + 1 < a.size())
            priv = a[++i];
        else if (a[i] == "--public" && i + 1 < a.size())
            pub = a[++i];
        else if (a[i] == "--keep-existing")
            keep = true;
    }
    if (priv.empty() || pub.empty())
        return fprintf(stderr, "keelctl: keygen --private PEM --public PUB\n"), kExitUsage;
    struct stat st;
    if (keep && stat(priv.c_str(), &st) == 0 && stat(pub.c_str(), &st) == 0) return kExitOk;
    sign::PrivateKey key;
    std::string err;
    if (!sign::keygen(key, err)) return fprintf(stderr, "keelctl: %s\n", err.c_str()), kExitRefused;
    std::string pem = sign::private_key_pem(key);
    if (!sign::write_file(priv, pem.data(), pem.size(), true) ||
        !sign::write_file(pub, key.pub, sizeof key.pub))
        return fprintf(stderr, "keelctl: cannot write the key files\n"), kExitRefused;
    printf("controller key pair: %s (private), %s (public, embedded in the image)\n", priv.c_str(),
           pub.c_str());
    return kExitOk;
}

} // namespace keelctl
