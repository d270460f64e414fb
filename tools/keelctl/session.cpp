// Opening the mailbox, sending commands, key generation.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hypervisor/mailbox/command.hpp"
#include "tools/keelctl/commands.hpp"

namespace keelctl {

int Session::open(const Options& o) {
    opt = o;
    std::string err;
    if (!c.open(o.mbox, err)) return fprintf(stderr, "keelctl: %s\n", err.c_str()), kExitNoMailbox;
    if (!c.wait_ready(60))
        return fprintf(stderr, "keelctl: no hypervisor on %s\n", o.mbox.c_str()), kExitNoMailbox;
    sign::PrivateKey key;
    if (!sign::load_private_key(o.key, key, err))
        return fprintf(stderr, "keelctl: controller key %s: %s\n", o.key.c_str(), err.c_str()),
               kExitUsage;
    c.set_key(key);
    return 0;
}

Status Session::call(Opcode op, u32 vm, const void* p, u32 len, ResponseSlot& r) {
    if (!c.call(op, vm, p, len, r)) {
        fprintf(stderr, "keelctl: no response from the hypervisor\n");
        exit(kExitNoMailbox);
    }
    Status st = static_cast<Status>(r.status);
    if (st != Status::Ok)
        fprintf(stderr, "keelctl: %s refused: %s (%u)\n", opcode_name(r.opcode), status_name(st),
                r.status);
    return st;
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
