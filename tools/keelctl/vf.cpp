// attach-vf / detach-vf, and create --vf (docs/mailbox.md §3.11, docs/sriov.md).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/keelctl/commands.hpp"

namespace keelctl {

bool parse_bdf(const std::string& s, VfPayload& out) {
    unsigned bus = 0, dev = 0, fn = 0;
    char tail = 0;
    if (s.size() != 7 || sscanf(s.c_str(), "%2x:%2x.%1x%c", &bus, &dev, &fn, &tail) != 3)
        return false;
    if (dev > 31 || fn > 7) return false;
    out = VfPayload{};
    out.bus = static_cast<u8>(bus), out.dev = static_cast<u8>(dev), out.fn = static_cast<u8>(fn);
    return true;
}

int vf_command(Session& s, u32 vm, const std::string& bdf, bool attach) {
    VfPayload p{};
    if (!parse_bdf(bdf, p))
        return fprintf(stderr, "keelctl: %s is not a bus:device.function (bb:dd.f, hex)\n",
                       bdf.c_str()),
               kExitUsage;
    ResponseSlot r;
    const Status st = s.call(attach ? Opcode::AttachVf : Opcode::DetachVf, vm, &p, sizeof p, r);
    VfReply v;
    memcpy(&v, r.payload, sizeof v);
    v.message[sizeof v.message - 1] = '\0';
    if (st != Status::Ok) {
        fprintf(stderr, "keelctl: %s %s for vm %u: %s (reason %u%s%u)\n",
                attach ? "attach-vf" : "detach-vf", bdf.c_str(), vm, v.message, v.reason,
                v.owner ? ", owner vm " : ", owner ", v.owner);
        return kExitRefused;
    }
    if (s.opt.json)
        printf("{\"id\":%u,\"vf\":\"%s\",\"attached\":%s,\"guest_bar0\":%llu}\n", vm, bdf.c_str(),
               attach ? "true" : "false", static_cast<unsigned long long>(v.guest_bar0));
    else if (attach)
        printf("vm %u: VF %s attached, BAR0 at guest address %#llx\n", vm, bdf.c_str(),
               static_cast<unsigned long long>(v.guest_bar0));
    else
        printf("vm %u: VF %s detached (reset, DMA quarantined)\n", vm, bdf.c_str());
    return kExitOk;
}

int cmd_vf(Session& s, bool attach, const Args& a) {
    if (a.size() != 2) return kExitUsage;
    const u32 id = s.resolve(a[0]);
    if (id == 0) return fprintf(stderr, "keelctl: no VM %s\n", a[0].c_str()), kExitRefused;
    if ((s.c.header().features & kFeatureVfAssign) == 0)
        return fprintf(stderr, "keelctl: this Keel does not assign VFs\n"), kExitRefused;
    return vf_command(s, id, a[1], attach);
}

} // namespace keelctl
