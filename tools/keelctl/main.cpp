// keelctl: the controller CLI for Keel's mailbox (docs/mailbox.md, tools/README.md).
//   keelctl [--mbox /dev/shm/NAME] [--key FILE] [--json] COMMAND [ARGS]
// Exit codes: 0 ok, 1 the hypervisor refused the command, 2 usage, 3 mailbox not
// reachable / no answer, 4 a forged response or a broken / forged audit log.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

#include "hypervisor/status.hpp"
#include "tools/keelctl/commands.hpp"

using namespace keelctl;

namespace {
int usage() {
    fprintf(stderr,
            "usage: keelctl [--mbox PATH] [--key PEM] [--json] COMMAND\n"
            "  keygen --private PEM --public PUB [--keep-existing]\n"
            "  info | list | describe VM | metrics [VM] | vfs\n"
            "  create NAME --cpus LIST --mem SIZE --kernel FILE [--initrd FILE] [--cmdline TEXT]\n"
            "         [--vf BB:DD.F]   (give it an SR-IOV VF; refused: the VM is destroyed again)\n"
            "  attach-vf VM BB:DD.F | detach-vf VM BB:DD.F   (created or running VMs: hot-plug)\n"
            "  start VM | stop VM [--timeout MS | --force] | destroy VM\n"
            "  console VM [--read | --write TEXT | --follow SECS [--until TEXT]]   (interactive: "
            "detach with Ctrl-])\n"
            "  log [--follow] [--state FILE]\n"
            "  session        (a fresh handshake now; prints the session)\n"
            "  update keel.img [--verify-only | --no-commit]  (live update: stage, verify, apply, "
            "commit)\n"
            "  ping [--count N]  (N authenticated PINGs in this process; prints the wall time)\n"
            "  hostile CASE   (test inputs: bad-mac replay wrong-session garbage bad-index "
            "past-window bad-hello flood)\n");
    return kExitUsage;
}
} // namespace

int main(int argc, char** argv) {
    Options o;
    if (const char* e = getenv("KEELCTL_MBOX")) o.mbox = e;
    if (const char* e = getenv("KEELCTL_KEY")) o.key = e;
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--mbox" && i + 1 < argc)
            o.mbox = argv[++i];
        else if (a == "--key" && i + 1 < argc)
            o.key = argv[++i];
        else if (a == "--json")
            o.json = true;
        else if (a == "-h" || a == "--help")
            return usage();
        else
            args.push_back(a);
    }
    if (args.empty()) return usage();
    const std::string cmd = args[0];
    args.erase(args.begin());
    if (cmd == "keygen") return cmd_keygen(o, args);
    Session s;
    if (int rc = s.open(o); rc != 0) return rc;
    if (cmd == "info") return cmd_info(s, args);
    if (cmd == "list") return cmd_list(s, args);
    if (cmd == "vfs") return cmd_vfs(s, args);
    if (cmd == "describe" || cmd == "metrics") return cmd_describe(s, args, cmd == "metrics");
    if (cmd == "create") return cmd_create(s, args);
    if (cmd == "start" || cmd == "stop" || cmd == "destroy") return cmd_simple(s, cmd, args);
    if (cmd == "console") return cmd_console(s, args);
    if (cmd == "log") return cmd_log(s, args);
    if (cmd == "hostile") return cmd_hostile(s, args);
    if (cmd == "ping") return cmd_ping(s, args);
    if (cmd == "update") return cmd_update(s, args);
    if (cmd == "attach-vf" || cmd == "detach-vf") return cmd_vf(s, cmd == "attach-vf", args);
    if (cmd == "session") {
        if (int rc = s.renew(); rc != 0) return rc;
        printf("session %u established (offer %u next)\n", s.c.state().session,
               s.c.offer().offer_id);
        return kExitOk;
    }
    return usage();
}
