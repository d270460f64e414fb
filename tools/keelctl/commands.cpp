// Lifecycle and query subcommands.
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/sha2.hpp"
#include "hypervisor/mailbox/lifecycle.hpp"
#include "tools/keelctl/commands.hpp"

namespace keelctl {
namespace {

bool parse_size(const std::string& s, u64& out) {
    char* end = nullptr;
    unsigned long long v = strtoull(s.c_str(), &end, 0);
    u64 m = 1;
    if (*end == 'K' || *end == 'k')
        m = KiB, ++end;
    else if (*end == 'M' || *end == 'm')
        m = MiB, ++end;
    else if (*end == 'G' || *end == 'g')
        m = GiB, ++end;
    out = v * m;
    return *end == '\0' && !s.empty();
}

bool parse_cpus(const std::string& s, u64& mask) {
    mask = 0;
    size_t i = 0;
    while (i < s.size()) {
        char* end = nullptr;
        unsigned long a = strtoul(s.c_str() + i, &end, 10), b = a;
        if (end == s.c_str() + i) return false;
        i = static_cast<size_t>(end - s.c_str());
        if (i < s.size() && s[i] == '-') {
            b = strtoul(s.c_str() + i + 1, &end, 10);
            i = static_cast<size_t>(end - s.c_str());
        }
        if (a > b || b > 63) return false;
        for (unsigned long c = a; c <= b; ++c)
            mask |= 1ull << c;
        if (i < s.size() && s[i] != ',' && s[i] != '+') return false;
        if (i < s.size()) ++i;
    }
    return mask != 0;
}

std::string flag(const Args& a, const char* name, const char* def = "") {
    for (size_t i = 0; i + 1 < a.size(); ++i)
        if (a[i] == name) return a[i + 1];
    return def;
}
bool has(const Args& a, const char* name) {
    for (const auto& x : a)
        if (x == name) return true;
    return false;
}

void print_info(const Session& s, const VmInfo& v, const VmMetrics* m, u32 mem_node,
                u32 dma_faults) {
    const char* st = vm_life_state_name(static_cast<VmLifeState>(v.state));
    std::string name(v.name, strnlen(v.name, kNameMax));
    if (s.opt.json) {
        printf("{\"id\":%u,\"name\":\"%s\",\"state\":\"%s\",\"cpus\":\"%#llx\",\"mem_mib\":%llu,"
               "\"uptime_ms\":%llu",
               v.id, name.c_str(), st, (unsigned long long)v.cpu_mask,
               (unsigned long long)(v.mem_bytes / MiB), (unsigned long long)v.uptime_ms);
        if (mem_node != kNoNode) printf(",\"mem_node\":%u", mem_node);
        if (m)
            printf(",\"exits\":%llu,\"hypercalls\":%llu,\"aborts_injected\":%llu,\"irqs_injected\":"
                   "%llu,"
                   "\"console_lines\":%llu,\"run_time_ms\":%llu",
                   (unsigned long long)m->exits, (unsigned long long)m->hypercalls,
                   (unsigned long long)m->aborts_injected, (unsigned long long)m->irqs_injected,
                   (unsigned long long)m->console_lines, (unsigned long long)m->run_time_ms);
        if (m) printf(",\"dma_faults\":%u", dma_faults);
        printf("}\n");
        return;
    }
    printf("vm %u %s: %s, cpus %#llx, %llu MiB", v.id, name.c_str(), st,
           (unsigned long long)v.cpu_mask, (unsigned long long)(v.mem_bytes / MiB));
    if (mem_node != kNoNode) printf(" on NUMA node %u", mem_node);
    printf(", uptime %.3f s\n", static_cast<double>(v.uptime_ms) / 1000.0);
    if (m)
        printf("  exits %llu, hypercalls %llu, aborts injected %llu, irqs injected %llu, console "
               "lines %llu, "
               "run time %.3f s\n",
               (unsigned long long)m->exits, (unsigned long long)m->hypercalls,
               (unsigned long long)m->aborts_injected, (unsigned long long)m->irqs_injected,
               (unsigned long long)m->console_lines, static_cast<double>(m->run_time_ms) / 1000.0);
    if (m) printf("  dma faults %u (IOMMU faults of its VFs)\n", dma_faults);
}

bool read_file(const std::string& path, std::vector<u8>& out) { return sign::read_file(path, out); }

// Uploads one image through the bulk window in chunks, with progress on stderr.
Status upload(Session& s, u32 vm, ImageKind kind, const std::vector<u8>& data) {
    return send_bulk(s, data, kind == ImageKind::Kernel ? "kernel" : "initrd",
                     [&](u64 offset, u64 length) {
                         LoadImagePayload l{};
                         l.kind = static_cast<u32>(kind);
                         l.image_offset = offset;
                         l.bulk_offset = 0;
                         l.length = length;
                         ResponseSlot r;
                         return s.call(Opcode::LoadImage, vm, &l, sizeof l, r);
                     });
}

} // namespace

Status send_bulk(Session& s, const std::vector<u8>& data, const char* label,
                 const std::function<Status(u64 offset, u64 length)>& post) {
    const Header h = s.c.header();
    const u64 chunk = h.bulk_size & ~u64(4095);
    for (u64 done = 0; done < data.size();) {
        u64 n = data.size() - done < chunk ? data.size() - done : chunk;
        u64 padded = (n + 3) & ~u64(3);
        std::vector<u8> buf(padded, 0);
        memcpy(buf.data(), data.data() + done, n);
        s.c.write_bulk(0, buf.data(), padded);
        Status st = post(done, n);
        if (st != Status::Ok) return st;
        done += n;
        // Progress redraws in place on a terminal; logs get only the final line.
        if (!s.opt.json && (isatty(2) || done == data.size()))
            fprintf(stderr, "\r%s: %llu / %llu KiB (%3.0f%%)", label,
                    (unsigned long long)(done / KiB), (unsigned long long)(data.size() / KiB),
                    100.0 * static_cast<double>(done) / static_cast<double>(data.size()));
    }
    if (!s.opt.json) fprintf(stderr, "\n");
    return Status::Ok;
}

int cmd_info(Session& s, const Args&) {
    ResponseSlot r;
    if (s.call(Opcode::Ping, 0, nullptr, 0, r) != Status::Ok) return kExitRefused;
    PingReply p;
    memcpy(&p, r.payload, sizeof p);
    if (s.call(Opcode::Platform, 0, nullptr, 0, r) != Status::Ok) return kExitRefused;
    PlatformReply plat;
    memcpy(&plat, r.payload, sizeof plat);
    const Header h = s.c.header();
    if (s.opt.json)
        printf("{\"abi\":%u,\"vms\":%u,\"cores_free\":\"%#llx\",\"pool_free_mib\":%llu,\"pool_"
               "baseline_mib\":%llu,"
               "\"bulk_kib\":%llu,\"platform\":",
               p.abi_version, p.vm_count, (unsigned long long)p.cores_free_mask,
               (unsigned long long)(p.pool_free_bytes / MiB),
               (unsigned long long)(p.pool_baseline_bytes / MiB),
               (unsigned long long)(h.bulk_size / KiB));
    else
        printf("keel mailbox abi %u: %u VMs, cores free %#llx, pool %llu MiB free of %llu MiB, "
               "bulk window %llu KiB\n",
               p.abi_version, p.vm_count, (unsigned long long)p.cores_free_mask,
               (unsigned long long)(p.pool_free_bytes / MiB),
               (unsigned long long)(p.pool_baseline_bytes / MiB),
               (unsigned long long)(h.bulk_size / KiB));
    print_platform(s, plat);
    if (s.opt.json) printf("}\n");
    return kExitOk;
}

int cmd_ping(Session& s, const Args& a) {
    const unsigned long n = strtoul(flag(a, "--count", "1").c_str(), nullptr, 0);
    if (n == 0) return kExitUsage;
    timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned long i = 0; i < n; ++i) {
        ResponseSlot r;
        if (s.call(Opcode::Ping, 0, nullptr, 0, r) != Status::Ok) return kExitRefused;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double secs = static_cast<double>(t1.tv_sec - t0.tv_sec) +
                        static_cast<double>(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%lu authenticated pings in %.3f s (%.1f us each, keelctl wall time)\n", n, secs,
           secs * 1e6 / static_cast<double>(n));
    return kExitOk;
}

int cmd_list(Session& s, const Args&) {
    ResponseSlot r;
    if (s.call(Opcode::List, 0, nullptr, 0, r) != Status::Ok) return kExitRefused;
    ListReply l;
    memcpy(&l, r.payload, sizeof l);
    if (s.opt.json) printf("[");
    for (u32 i = 0; i < l.count && i < kMaxVms; ++i) {
        std::string name(l.vms[i].name, strnlen(l.vms[i].name, kNameMax));
        const char* st = vm_life_state_name(static_cast<VmLifeState>(l.vms[i].state));
        if (s.opt.json)
            printf("%s{\"id\":%u,\"name\":\"%s\",\"state\":\"%s\"}", i ? "," : "", l.vms[i].id,
                   name.c_str(), st);
        else
            printf("%u\t%s\t%s\n", l.vms[i].id, name.c_str(), st);
    }
    if (s.opt.json) printf("]\n");
    return kExitOk;
}

// The SR-IOV VFs Keel enabled (docs/sriov.md): BDF, its PF, provisioned, owner, BAR0.
int cmd_vfs(Session& s, const Args&) {
    ResponseSlot r;
    if (s.call(Opcode::Vfs, 0, nullptr, 0, r) != Status::Ok) return kExitRefused;
    VfsReply v;
    memcpy(&v, r.payload, sizeof v);
    if (s.opt.json) printf("{\"total\":%u,\"vfs\":[", v.total);
    for (u32 i = 0; i < v.count && i < kVfsMax; ++i) {
        const VfsReply::Entry& e = v.vfs[i];
        char bdf[16], pf[16];
        snprintf(bdf, sizeof bdf, "%02x:%02x.%x", e.bus, e.dev, e.fn);
        snprintf(pf, sizeof pf, "%02x:%02x.%x", e.pf_rid >> 8, (e.pf_rid >> 3) & 31, e.pf_rid & 7);
        const bool prov = (e.flags & 1) != 0;
        if (s.opt.json)
            printf("%s{\"vf\":\"%s\",\"pf\":\"%s\",\"provisioned\":%s,\"controller\":%u,"
                   "\"owner\":%u,\"bar0\":%llu}",
                   i ? "," : "", bdf, pf, prov ? "true" : "false", e.controller, e.owner,
                   static_cast<unsigned long long>(e.bar0));
        else
            printf("%s\tpf %s\t%s\tcontroller %u\towner %s%u\tbar0 %#llx\n", bdf, pf,
                   prov ? "provisioned" : "unprovisioned", e.controller, e.owner ? "vm " : "",
                   e.owner, static_cast<unsigned long long>(e.bar0));
    }
    if (s.opt.json)
        printf("]}\n");
    else if (v.total > v.count)
        printf("(%u more not shown)\n", v.total - v.count);
    return kExitOk;
}

int cmd_describe(Session& s, const Args& a, bool metrics) {
    if (a.empty()) return kExitUsage;
    u32 id = s.resolve(a[0]);
    if (id == 0) return fprintf(stderr, "keelctl: no VM %s\n", a[0].c_str()), kExitRefused;
    ResponseSlot r;
    if (s.call(metrics ? Opcode::Metrics : Opcode::Describe, id, nullptr, 0, r) != Status::Ok)
        return kExitRefused;
    MetricsReply m;
    memcpy(&m, r.payload, sizeof m);
    print_info(s, m.info, metrics ? &m.m : nullptr, m.mem_node, m.dma_faults);
    return kExitOk;
}

int cmd_create(Session& s, const Args& a) {
    if (a.empty()) return kExitUsage;
    CreateVmPayload p{};
    if (a[0].size() >= kNameMax) return fprintf(stderr, "keelctl: name too long\n"), kExitUsage;
    memcpy(p.name, a[0].data(), a[0].size());
    std::vector<u8> kernel, initrd;
    if (!parse_cpus(flag(a, "--cpus"), p.cpu_mask) || !parse_size(flag(a, "--mem"), p.mem_bytes))
        return fprintf(stderr, "keelctl: create needs --cpus LIST and --mem SIZE\n"), kExitUsage;
    if (!read_file(flag(a, "--kernel"), kernel) || kernel.empty())
        return fprintf(stderr, "keelctl: cannot read --kernel\n"), kExitUsage;
    if (!flag(a, "--initrd").empty() && !read_file(flag(a, "--initrd"), initrd))
        return fprintf(stderr, "keelctl: cannot read --initrd\n"), kExitUsage;
    const std::string vf = flag(a, "--vf");
    VfPayload vf_payload{};
    if (!vf.empty() && !parse_bdf(vf, vf_payload))
        return fprintf(stderr, "keelctl: --vf wants bb:dd.f (hex)\n"), kExitUsage;
    if (!vf.empty() && (s.c.header().features & kFeatureVfAssign) == 0)
        return fprintf(stderr, "keelctl: this Keel does not assign VFs\n"), kExitRefused;
    std::string cmdline = flag(a, "--cmdline");
    if (cmdline.size() >= kCmdlineMax)
        return fprintf(stderr, "keelctl: command line too long\n"), kExitUsage;
    memcpy(p.cmdline, cmdline.data(), cmdline.size());
    p.kernel_size = kernel.size();
    p.initrd_size = initrd.size();
    crypto::sha256(kernel.data(), kernel.size(), p.kernel_sha256);
    if (!initrd.empty()) crypto::sha256(initrd.data(), initrd.size(), p.initrd_sha256);
    if (has(a, "--wrong-hash"))
        p.kernel_sha256[0] ^= 1; // hostile-input test: the hash must not match
    ResponseSlot r;
    if (s.call(Opcode::CreateVm, 0, &p, sizeof p, r) != Status::Ok) return kExitRefused;
    VmInfo v;
    memcpy(&v, r.payload, sizeof v);
    // The VF before the images: a refusal destroys the VM again (nothing was loaded).
    if (!vf.empty() && vf_command(s, v.id, vf, true) != kExitOk) {
        ResponseSlot d;
        (void)s.call(Opcode::Destroy, v.id, nullptr, 0, d);
        fprintf(stderr, "keelctl: vm %u destroyed again\n", v.id);
        return kExitRefused;
    }
    if (upload(s, v.id, ImageKind::Kernel, kernel) != Status::Ok) return kExitRefused;
    if (!initrd.empty() && upload(s, v.id, ImageKind::Initrd, initrd) != Status::Ok)
        return kExitRefused;
    if (s.opt.json)
        printf("{\"id\":%u}\n", v.id);
    else
        printf("created vm %u (%s)\n", v.id, a[0].c_str());
    return kExitOk;
}

int cmd_simple(Session& s, const std::string& cmd, const Args& a) {
    if (a.empty()) return kExitUsage;
    u32 id = s.resolve(a[0]);
    if (id == 0) return fprintf(stderr, "keelctl: no VM %s\n", a[0].c_str()), kExitRefused;
    ResponseSlot r;
    Status st;
    if (cmd == "stop") {
        StopPayload p{};
        p.timeout_ms =
            has(a, "--force")
                ? 0
                : static_cast<u32>(strtoul(flag(a, "--timeout", "5000").c_str(), nullptr, 0));
        st = s.call(Opcode::Stop, id, &p, sizeof p, r);
    } else {
        st = s.call(cmd == "start" ? Opcode::Start : Opcode::Destroy, id, nullptr, 0, r);
    }
    if (st != Status::Ok) return kExitRefused;
    if (!s.opt.json)
        printf("%s vm %u: ok\n", cmd.c_str(), id);
    else
        printf("{\"id\":%u,\"status\":\"ok\"}\n", id);
    return kExitOk;
}

} // namespace keelctl
