// `keelctl info`'s platform part: the PLATFORM reply (docs/mailbox.md §3.8) as lines a
// person reads, or as one JSON object.
#include <stdio.h>

#include <string>

#include "tools/keelctl/commands.hpp"

namespace keelctl {
namespace {

const char* irq_name(u32 kind) {
    switch (kind) {
    case 2: return "GICv2";
    case 3: return "GICv3";
    case 10: return "APIC";
    }
    return "none";
}

// The CPUs of physical core `core`, as "0,1".
std::string cpus_of(const PlatformReply& p, u32 core, u32* count, u32* first) {
    std::string list;
    *count = 0;
    for (u32 i = 0; i < p.cpus && i < kPlatformCpus; ++i) {
        if (p.cpu_core[i] != core) continue;
        if (*count == 0) *first = i;
        list += (list.empty() ? "" : ",") + std::to_string(i);
        ++*count;
    }
    return list;
}

} // namespace

void print_platform(const Session& s, const PlatformReply& p) {
    u32 threads = 0;
    for (u32 c = 0; c < p.cores; ++c) {
        u32 n = 0, first = 0;
        (void)cpus_of(p, c, &n, &first);
        threads = n > threads ? n : threads;
    }
    const bool firmware = p.flags & 1;
    if (s.opt.json) {
        printf("{\"cpus\":%u,\"packages\":%u,\"cores\":%u,\"threads_per_core\":%u,\"nodes\":%u,"
               "\"irq\":\"%s\",\"smmus\":%u,\"topology_from_firmware\":%s,\"hypervisor_cpus\":"
               "\"%#llx\",\"core_list\":[",
               p.cpus, p.packages, p.cores, threads, p.nodes, irq_name(p.irq_kind), p.smmus,
               firmware ? "true" : "false", (unsigned long long)p.hypervisor_cpus);
        for (u32 c = 0; c < p.cores; ++c) {
            u32 n = 0, first = 0;
            const std::string list = cpus_of(p, c, &n, &first);
            printf("%s{\"core\":%u,\"cpus\":[%s],\"package\":%u,\"node\":%u}", c ? "," : "", c,
                   list.c_str(), p.cpu_package_node[first] & 15u, p.cpu_package_node[first] >> 4);
        }
        printf("]}");
        return;
    }
    printf("platform: %u cpus: %u packages, %u cores, %u SMT threads per core, %u NUMA nodes%s; "
           "%s, %u SMMUs\n",
           p.cpus, p.packages, p.cores, threads, p.nodes,
           firmware ? "" : " (no topology from firmware: a core per cpu)", irq_name(p.irq_kind),
           p.smmus);
    for (u32 c = 0; c < p.cores; ++c) {
        u32 n = 0, first = 0;
        const std::string list = cpus_of(p, c, &n, &first);
        const bool keel = (p.hypervisor_cpus >> first) & 1;
        printf("  core %u: cpus %s, package %u, node %u%s\n", c, list.c_str(),
               p.cpu_package_node[first] & 15u, p.cpu_package_node[first] >> 4,
               keel ? " (hypervisor)" : "");
    }
}

} // namespace keelctl
