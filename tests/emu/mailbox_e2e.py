#!/usr/bin/env python3
"""Mailbox end-to-end driver: boots Keel under QEMU arm64 with an ivshmem mailbox
(/dev/shm file created here), waits for "mailbox: ready", runs a keelctl scenario and checks
the serial log. On every exit path (pass, fail, Ctrl-C, SIGTERM) it kills the emulator and
removes the /dev/shm file and its work folder (serial log, audit state): tools/keel_scratch.py.

  mailbox_e2e.py --image keel-arm64.bin --keelctl keelctl --guest guest.bin SCENARIO
  mailbox_e2e.py ... --linux Image --initrd initramfs.cpio.gz linux
  mailbox_e2e.py ... --keel-sign keel-sign --elf keel-arm64.elf --sign-key dev-signing.pem update_refusals
  mailbox_e2e.py ... --linux Image --initrd initramfs.cpio.gz --keel-sign ... update_vf
Exit status: 0 pass, 1 fail.
"""
import argparse, json, os, re, shutil, signal, socket, struct, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from keel_scratch import Interrupted, Scratch  # noqa: E402
from sriov_scenarios import hotplug, hotplug_x86, vfassign  # noqa: E402
from update_scenarios import (update_bench, update_linux, update_linux_x86, update_many,  # noqa: E402
                              update_refusals, update_refusals_x86, update_rollback, update_rollback_abi7_x86,
                              update_rollback_x86, update_vf, older_abi_image)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--image", required=True)
    p.add_argument("--arch", choices=["arm64", "x86_64"], default="arm64",
                   help="x86_64: q35 under TCG (-cpu max: SVM + NPT), the Multiboot image")
    p.add_argument("--keelctl", required=True)
    p.add_argument("--guest", required=True)
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--icount", action="store_true", help="-icount shift=0,align=off,sleep=off (bench)")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--log", help="keep a copy of the serial log here")
    p.add_argument("--linux", help="Linux kernel: arm64 Image or amd64 bzImage (scenario linux)")
    p.add_argument("--initrd", help="its initramfs (tests/guest/linux/init)")
    p.add_argument("--keel-sign", help="keel-sign (the update_* scenarios)")
    p.add_argument("--elf", help="the product image's ELF, signed into keel.img here (update_*)")
    p.add_argument("--sign-key", help="the key the image trusts (update_*)")
    p.add_argument("scenario", choices=["lifecycle", "hostile", "logstate", "bench", "linux", "button", "forge",
                                        "flood", "expiry", "topology", "vfs", "vfassign", "hotplug", "update_refusals", "update_linux",
                                        "update_bench", "update_many", "update_rollback", "update_rollback_abi7", "update_vf"])
    a = p.parse_args()
    try:
        with Scratch("keel-mbox-") as s:
            # ctest's TIMEOUT kills with SIGKILL, which no clean-up survives: end first.
            signal.alarm(int(a.timeout) + 60)
            return drive(a, s)
    except Interrupted as e:
        why = "no verdict within --timeout + 60 s" if e.signum == signal.SIGALRM else f"interrupted by {e}"
        print(f"mailbox_e2e: FAIL: {why}; emulator stopped")
        return 1


class Qmp:
    """Just enough QMP to pause and resume the emulated machine."""

    def __init__(self, path):
        for _ in range(100):
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                time.sleep(0.1)
        self.f = self.sock.makefile("rw")
        self.f.readline()  # greeting
        self.do("qmp_capabilities")

    def do(self, cmd):
        self.f.write('{"execute": "%s"}\n' % cmd)
        self.f.flush()
        while True:
            line = self.f.readline()
            if '"return"' in line or '"error"' in line or not line:
                return line


def forge(a, s, shm, qmp_path, run):
    """A writer of the BAR that is not Keel: (1) while the hypervisor is paused it answers
    keelctl's command with a forged response (a wrong MAC; then an unMACed "Ok"); (2) it
    rewrites an unread, MACed audit record and repairs the hash chain after it. keelctl
    must exit 4 each time (docs/mailbox.md §4.3, §5)."""
    ok = True
    run("info")  # a session, saved in the state dir
    q = Qmp(qmp_path)
    RESP_PROD, RESP_CONS, CMD_PROD, LOG_PROD, LOG_CONS = 132, 196, 192, 136, 200

    def rd(f, off, n=4):
        f.seek(off)
        return f.read(n)

    def u32(f, off):
        return struct.unpack("<I", rd(f, off))[0]

    for label, with_mac in (("wrong MAC", True), ("unMACed Ok", False)):
        q.do("stop")
        with open(shm, "r+b", buffering=0) as f:  # unbuffered: every read sees the BAR now
            prod0, rprod, rcons0 = u32(f, CMD_PROD), u32(f, RESP_PROD), u32(f, RESP_CONS)
            p = run("info", background=True)
            end = time.monotonic() + 30
            while u32(f, CMD_PROD) == prod0 and time.monotonic() < end:
                time.sleep(0.02)
            if u32(f, CMD_PROD) == prod0:
                print("FAIL: keelctl posted nothing")
                ok = False
            seq, session = struct.unpack("<QI", rd(f, 0x1000 + (prod0 % 32) * 512, 12))
            # PingReply claiming everything is free, status Ok.
            forged = struct.pack("<QHHIII", seq, 1, 0, 0, session if with_mac else 0, 0)
            forged += struct.pack("<IIQQQQ", 2, 0, 0xffff, 1 << 40, 1 << 40, seq).ljust(200, b"\0")
            forged += os.urandom(32) if with_mac else bytes(32)
            f.seek(0x5000 + (rprod % 32) * 256)
            f.write(forged)
            f.flush()
            f.seek(RESP_PROD)
            f.write(struct.pack("<I", rprod + 1))
            f.flush()
            out, _ = p.communicate(timeout=60)
            print(f"$ keelctl info  (answered by the forger: {label})  -> {p.returncode}\n{out}", end="")
            if p.returncode != 4 or "FORGED RESPONSE" not in out:
                print("FAIL: keelctl did not reject the forged response with exit 4")
                ok = False
            # Undo the forger's index so the paused hypervisor's own answer lands in order.
            f.seek(RESP_PROD)
            f.write(struct.pack("<I", rprod))
            f.seek(RESP_CONS)
            f.write(struct.pack("<I", rcons0))
            f.flush()
        q.do("cont")
        time.sleep(0.5)
    ok &= "keel mailbox abi 2" in run("info")  # the genuine path still works

    # (2) Unread records: rewrite one in the middle, then repair the chain after it.
    for _ in range(3):
        run("info")
    with open(shm, "r+b", buffering=0) as f:
        cons, prod = u32(f, LOG_CONS), u32(f, LOG_PROD)
        if prod - cons < 3:
            print("FAIL: not enough unread records to rewrite")
            return False
        import hashlib
        idx = prod - 2
        off = lambda i: 0x8000 + (i % 256) * 128
        rec = bytearray(rd(f, off(idx), 128))
        rec[32:36] = struct.pack("<I", 13)  # status: "bad signature" instead of ok
        f.seek(off(idx))
        f.write(rec)
        nxt = bytearray(rd(f, off(idx + 1), 128))
        nxt[80:112] = hashlib.sha256(bytes(rec)).digest()  # the chain repaired: only the MAC knows
        f.seek(off(idx + 1))
        f.write(nxt)
        f.flush()
    out = run("log", expect_rc=4, both=True)
    if "AUDIT LOG FORGED" not in out and "AUDIT CHAIN BROKEN" not in out:
        print("FAIL: the rewritten record was not reported")
        ok = False
    return ok


def linux_x86(a, run, wait_serial, ring, wait_ring, wait_state):
    """Two Debian amd64 Linux VMs through the mailbox (bzImage + initramfs in the bulk
    window, the 64-bit boot protocol at START): the 2-vCPU one powers itself off (ACPI S5),
    the other echoes console input and powers off on "bye"; cores and pool come back, and
    a third VM reuses the freed core and memory. No power button on x86 (hardware-reduced
    ACPI without one), so nothing here presses it."""
    ok = True
    lx = ["--kernel", a.linux, "--initrd", a.initrd]
    base = run("--json", "info")
    marks = {i: ring(i)[0] for i in (1, 2)}
    run("create", "echo", "--cpus", "1", "--mem", "256M", *lx, "--cmdline", "console=ttyS0 quiet keel.guest=echo")
    run("create", "plain", "--cpus", "2-3", "--mem", "256M", *lx, "--cmdline", "console=ttyS0 quiet")
    run("start", "echo"); run("start", "plain")
    ok &= wait_ring(1, marks[1], "KEEL-GUEST: echo ready", 240)
    ok &= wait_ring(2, marks[2], "KEEL-GUEST: nproc 2", 240)
    run("console", "echo", "--write", "hello keel")
    ok &= wait_ring(1, marks[1], "echo: hello keel", 60)
    ok &= wait_state("plain", "stopped", 180)  # it powers itself off
    run("console", "echo", "--write", "bye")
    ok &= wait_ring(1, marks[1], "KEEL-GUEST: power off", 60)
    ok &= wait_state("echo", "stopped")
    ok &= wait_serial("vm 1: guest power-off (ACPI S5)")
    ok &= wait_serial("vm 1: destroyed (guest power-off)")
    run("destroy", "echo"); run("destroy", "plain")
    ok &= run("--json", "info") == base  # cores and pool back to the baseline
    mark = ring(1)[0]
    run("create", "again", "--cpus", "1", "--mem", "256M", *lx, "--cmdline", "console=ttyS0 quiet")
    run("start", "again")
    ok &= wait_ring(1, mark, "KEEL-GUEST: nproc 1", 240)
    ok &= wait_state("again", "stopped", 120)
    run("destroy", "again")
    ok &= run("--json", "info") == base
    ok &= "audit chain verified" in run("log")
    return ok


def drive(a, s):
    """Boots Keel with the mailbox in the scratch s, runs a.scenario; returns the exit status."""
    # Linux: a 16 MiB window (the most Keel uses) takes a 32 MiB Image in 3 chunks.
    linux = a.scenario in ("linux", "update_linux", "hotplug", "update_vf")
    shm_mib = 16 if linux else 4
    shm = s.shm_file("keel-mbox", shm_mib * 1024 * 1024)
    log = os.path.join(s.workdir, "serial.log")
    open(log, "w").close()
    machine = (["qemu-system-x86_64", "-M", "q35", "-accel", "tcg", "-cpu", "max"] if a.arch == "x86_64" else
               ["qemu-system-aarch64", "-M", "virt,virtualization=on,gic-version=3", "-cpu", "max,pauth=off"])
    cmd = machine + [
        "-smp", "4", "-m", "2G" if linux else "1G", "-display", "none", "-monitor", "none", "-nic", "none", "-no-reboot",
        "-serial", "file:" + log, "-kernel",
        older_abi_image(a.image, s.workdir, 7) if a.scenario == "update_rollback_abi7" else a.image,
        "-object", f"memory-backend-file,id=mbox,share=on,mem-path={shm},size={shm_mib}M",
        "-device", "ivshmem-plain,memdev=mbox"]
    qmp = os.path.join(s.workdir, "qmp.sock")
    if a.scenario == "topology":  # two sockets of two 2-thread cores, a NUMA node each
        at = cmd.index("-smp")
        cmd[at + 1:at + 4] = ["8,sockets=2,cores=2,threads=2", "-m", "2G"]
        cmd += ["-object", "memory-backend-ram,id=m0,size=1G", "-object", "memory-backend-ram,id=m1,size=1G",
                "-numa", "node,nodeid=0,cpus=0-3,memdev=m0", "-numa", "node,nodeid=1,cpus=4-7,memdev=m1"]
    if a.scenario == "forge":  # the test pauses the hypervisor to forge without a race
        cmd += ["-qmp", f"unix:{qmp},server=on,wait=off"]
    if a.icount:
        # One virtual ns per guest instruction: the hypervisor's ns figures are instructions.
        # keel.bench: the boot core yields between polls, or -icount's one-thread round
        # robin gives the guest's core no time (hypervisor/mailbox/mailbox_main.hpp).
        cmd += ["-icount", "shift=0,align=off,sleep=off", "-append", "keel.bench"]
    elif a.scenario == "expiry":
        cmd += ["-append", "keel.session_commands=5"]
    elif a.scenario in ("update_rollback", "update_rollback_abi7", "update_vf"):  # the trial's deadline (§4.7)
        cmd += ["-append", "keel.update_commit_ms=8000"]
    disk = os.path.join(s.workdir, "ns1.img")
    assigns = a.scenario in ("vfassign", "hotplug", "update_vf")
    if assigns:  # the VFs behind the SMMU, namespace 1 in a file (docs/sriov.md)
        with open(disk, "wb") as f:
            f.truncate(1024 * 1024)
        if a.arch == "x86_64":  # VT-d, before the PCI devices it translates
            cmd[cmd.index("-cpu") + 2:cmd.index("-cpu") + 2] = ["-device", "intel-iommu"]
        else:
            cmd[cmd.index("-M") + 1] += ",iommu=smmuv3"
        cmd += ["-drive", f"file={disk},if=none,id=nvm1,format=raw"]
    if assigns or a.scenario == "vfs":  # an SR-IOV NVMe PF with two VFs, provisioned at boot (docs/sriov.md)
        cmd += ["-drive", "file=null-co://,if=none,id=nvm1,format=raw"] if a.scenario == "vfs" else []
        cmd += [
                "-drive", "file=null-co://,if=none,id=nvm2,format=raw",
                "-device", "nvme-subsys,id=s0",
                "-device", "nvme,serial=pf0,subsys=s0,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2"
                + (",addr=0x3" if a.arch == "x86_64" else ""),
                "-device", "nvme-ns,drive=nvm1,nsid=1,detached=on"]
    s.spawn(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    # keelctl's session and audit state live in the scratch folder (removed at the end).
    env = dict(os.environ, KEELCTL_MBOX=shm, KEELCTL_STATE_DIR=s.workdir)
    start = time.monotonic()
    ok = True

    def serial():
        with open(log, errors="replace") as f:
            return f.read()

    def run(*args, expect_rc=0, background=False, both=False):
        nonlocal ok
        # Every keelctl goes through the scratch: a signal that lands while it is being started
        # is held until it is recorded, and the clean-up kills it before the folder (its
        # KEELCTL_STATE_DIR) is removed. An orphaned keelctl once wrote its state file into the
        # folder after that removal.
        if background:
            return s.spawn([a.keelctl, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        p = s.spawn([a.keelctl, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            print(f"FAIL: keelctl {' '.join(args)} did not end within 120 s")
        print(f"$ keelctl {' '.join(args)}  -> {p.returncode}\n{out}{err}", end="")
        if p.returncode != expect_rc:
            print(f"FAIL: exit {p.returncode}, expected {expect_rc}")
            ok = False
        return out + err if both else out

    def wait_serial(marker, t=60):
        nonlocal ok
        end = time.monotonic() + t
        while time.monotonic() < end:
            if marker in serial():
                return True
            time.sleep(0.1)
        print(f"FAIL: serial marker '{marker}' not seen")
        ok = False
        return False

    def ring(slot):
        """Console-out ring of VM slot (1-based) straight from shared memory: (prod, bytes)."""
        with open(shm, "rb") as f:
            f.seek(148 + 4 * (slot - 1))
            prod = struct.unpack("<I", f.read(4))[0]
            f.seek(0x14000 + (slot - 1) * 4096)
            buf = f.read(4096)
        n = min(prod, 4096)
        return prod, bytes(buf[(prod - n + i) % 4096] for i in range(n)).decode(errors="replace")

    def wait_ring(slot, since, marker, t=60):
        nonlocal ok
        end = time.monotonic() + t
        while time.monotonic() < end:
            prod, text = ring(slot)
            if marker in text[max(0, len(text) - (prod - since)):]:
                print(f"  vm {slot} console: '{marker}' after {time.monotonic() - start:.1f} s")
                return True
            time.sleep(0.2)
        print(f"FAIL: vm {slot} console marker '{marker}' not seen; ring tail:\n{ring(slot)[1][-600:]}")
        ok = False
        return False

    def wait_state(name, state, t=30):
        end = time.monotonic() + t
        while time.monotonic() < end:
            if f"{name}\t{state}" in run("list"):
                return True
            time.sleep(0.5)
        return False

    try:
        if not wait_serial("mailbox: ready"):
            return 1
        if a.scenario == "linux" and a.arch == "x86_64":
            ok &= linux_x86(a, run, wait_serial, ring, wait_ring, wait_state)
        elif a.scenario == "linux":
            lx = ["--kernel", a.linux, "--initrd", a.initrd]
            base = run("--json", "info")
            marks = {i: ring(i)[0] for i in (1, 2)}
            run("create", "echo", "--cpus", "1", "--mem", "256M", *lx, "--cmdline", "quiet keel.guest=echo")
            run("create", "plain", "--cpus", "2", "--mem", "256M", *lx, "--cmdline", "quiet")
            run("start", "echo"); run("start", "plain")
            wait_ring(1, marks[1], "KEEL-GUEST: echo ready", 90)
            wait_ring(2, marks[2], "KEEL-GUEST: init up", 90)
            run("console", "echo", "--write", "hello keel")
            wait_ring(1, marks[1], "echo: hello keel", 30)
            ok &= wait_state("plain", "stopped")  # it powers itself off
            # A polite STOP presses the power button (PL061 + gpio-keys, issue 10 item 13):
            # the guest's init sees KEY_POWER and powers off in order; nothing is forced.
            ok &= wait_ring(1, marks[1], "KEEL-GUEST: power button at /dev/input/event", 10)
            run("stop", "echo", "--timeout", "60000")
            ok &= wait_ring(1, marks[1], "KEEL-GUEST: power button pressed, powering off", 60)
            ok &= wait_ring(1, marks[1], "reboot: Power down", 30)
            ok &= wait_state("echo", "stopped")
            ok &= wait_serial("vm 1: destroyed (guest power-off)")
            run("destroy", "echo"); run("destroy", "plain")
            ok &= run("--json", "info") == base  # cores and pool back to the baseline
            mark = ring(1)[0]
            run("create", "again", "--cpus", "1", "--mem", "256M", *lx, "--cmdline", "quiet")
            run("start", "again")
            # A Linux VM reloaded where one just ran boots ~5x slower under TCG than the
            # first (~70 s idle, ~100 s beside other tests on 2 cores; the same on the tree
            # before the boot changes): give it room (note in docs/performance.md).
            wait_ring(1, mark, "KEEL-GUEST: init up", 180)
            ok &= wait_state("again", "stopped")
            run("destroy", "again")
            ok &= run("--json", "info") == base
            ok &= "audit chain verified" in run("log")
            ok &= "power button pressed by the controller" in serial()
            ok &= "forced stop by the controller" not in serial()
        elif a.scenario == "button":
            # STOP's polite phase (issue 10 item 13): the power button (PL061 line 3, SPI 7).
            # A test guest that waits for it powers itself off; one that ignores it is
            # forced once the STOP's timeout has passed, not before.
            base = run("--json", "info")
            run("create", "polite", "--cpus", "1", "--mem", "4M", "--kernel", a.guest, "--cmdline", "keel.guest=button")
            run("create", "deaf", "--cpus", "2", "--mem", "4M", "--kernel", a.guest, "--cmdline", "keel.guest=deaf")
            run("start", "polite"); run("start", "deaf")
            ok &= wait_serial("[vm 1] guest: button: waiting for the power button")
            ok &= wait_serial("[vm 2] guest: deaf: ignoring everything")
            # The PL061's PrimeCell identification, as the TRM gives it (Linux's amba bus reads it).
            ok &= "[vm 1] guest: button: pl061 ids 0x61 0x10 0x4 0x0 0xd 0xf0 0x5 0xb1" in serial()
            run("stop", "polite", "--timeout", "30000")
            ok &= wait_serial("vm 1: power button pressed by the controller")
            # The guest's interrupt is SPI 7 = INTID 39; GPIOMIS shows line 3 (0x8), GPIODATA
            # line 3 is high (pressed, held), GPIOIC cleared the edge status.
            ok &= wait_serial("[vm 1] guest: button: pressed: intid 39, gpiomis 0x8, line 3 0x8, after clear ris 0x0")
            ok &= wait_serial("vm 1: destroyed (guest power-off)")
            ok &= wait_state("polite", "stopped")
            t0 = time.monotonic()
            run("stop", "deaf", "--timeout", "1500")
            ok &= wait_serial("vm 2: forced stop by the controller")
            waited = time.monotonic() - t0
            print(f"  deaf guest forced after {waited:.1f} s (timeout 1.5 s)")
            ok &= waited >= 1.5
            ok &= wait_serial("vm 2: destroyed (stopped by the controller)")
            ok &= "vm 1: forced stop" not in serial()
            ok &= wait_state("deaf", "stopped")
            run("destroy", "polite"); run("destroy", "deaf")
            ok &= run("--json", "info") == base
            ok &= "audit chain verified" in run("log")
        elif a.scenario == "topology":
            # keelctl info shows what Keel found (issue 16): QEMU numbers -smp CPUs thread
            # first, then core, then socket; cpus 0-3 are node 0, 4-7 node 1.
            out = run("info")
            irq = "APIC" if a.arch == "x86_64" else "GICv3"
            ok &= f"platform: 8 cpus: 2 packages, 4 cores, 2 SMT threads per core, 2 NUMA nodes; {irq}, 0 SMMUs" in out
            ok &= "  core 0: cpus 0,1, package 0, node 0 (hypervisor)" in out
            ok &= "  core 1: cpus 2,3, package 0, node 0\n" in out
            ok &= "  core 3: cpus 6,7, package 1, node 1\n" in out
            info = json.loads(run("--json", "info"))["platform"]
            ok &= info["threads_per_core"] == 2 and info["hypervisor_cpus"] == "0x3"
            ok &= info["core_list"][2] == {"core": 2, "cpus": [4, 5], "package": 1, "node": 1}
            base = run("--json", "info")
            # The hypervisor's SMT sibling is never given out; a VM on node 1's cores gets
            # node 1's memory, and describe says so.
            run("create", "sib", "--cpus", "1", "--mem", "64M", "--kernel", a.guest, expect_rc=1)
            run("create", "far", "--cpus", "4-5", "--mem", "64M", "--kernel", a.guest)
            ok &= "cpus 0x30, 64 MiB on NUMA node 1," in run("describe", "far")
            ok &= json.loads(run("--json", "describe", "far"))["mem_node"] == 1
            run("create", "near", "--cpus", "2-3", "--mem", "64M", "--kernel", a.guest)
            ok &= "cpus 0xc, 64 MiB on NUMA node 0," in run("describe", "near")
            run("destroy", "far"); run("destroy", "near")
            ok &= run("--json", "info") == base
        elif a.scenario == "lifecycle":
            base = run("--json", "info")
            run("create", "web", "--cpus", "1", "--mem", "64M", "--kernel", a.guest, "--cmdline", "keel.guest=echo")
            run("create", "db", "--cpus", "2-3", "--mem", "128M", "--kernel", a.guest)
            run("start", "web"); run("start", "db")
            wait_serial("vm 1: destroyed (guest power-off)"); wait_serial("vm 2: destroyed (guest power-off)")
            run("start", "web", expect_rc=1)  # not a restart: stopped -> start is BadState
            out = run("list")
            ok &= "web\tstopped" in out and "db\tstopped" in out
            run("metrics", "web")
            run("destroy", "db")
            run("create", "db2", "--cpus", "2-3", "--mem", "128M", "--kernel", a.guest)
            run("destroy", "db2"); run("destroy", "web")
            ok &= run("--json", "info") == base  # pool and cores back to baseline
            run("create", "big", "--cpus", "1", "--mem", "4G", "--kernel", a.guest, expect_rc=1)
            run("create", "own", "--cpus", "0", "--mem", "64M", "--kernel", a.guest, expect_rc=1)
            run("create", "bad", "--cpus", "1", "--mem", "64M", "--kernel", a.guest, "--wrong-hash", expect_rc=1)
            run("destroy", "bad")
            out = run("log")
            ok &= "audit chain verified" in out
        elif a.scenario == "vfs":
            # The mailbox is 00:01.0, the PF 00:02.0. Namespace 2 is missing: VF 00:02.2
            # stays unprovisioned (docs/sriov.md).
            out = run("vfs")
            ok &= bool(re.search(r"^00:02\.1\tpf 00:02\.0\tprovisioned\tcontroller 1\towner 0\tbar0 0x1000", out, re.M))
            ok &= bool(re.search(r"^00:02\.2\tpf 00:02\.0\tunprovisioned\tcontroller 0\towner 0\tbar0 0x1000", out, re.M))
            js = run("--json", "vfs")
            ok &= js.startswith('{"total":2,"vfs":[{"vf":"00:02.1","pf":"00:02.0","provisioned":true')
            ok &= "audit chain verified" in run("log")
        elif a.scenario == "vfassign":
            ok &= vfassign(a, run, serial, wait_serial, wait_state, disk)
        elif a.scenario == "hotplug" and a.arch == "x86_64":
            ok &= hotplug_x86(a, s, run, serial, wait_serial, wait_state, ring, wait_ring, disk)
        elif a.scenario == "hotplug":
            ok &= hotplug(a, s, run, serial, wait_serial, wait_state, ring, wait_ring, disk)
        elif a.scenario == "hostile":
            for case in ["bad-mac", "replay", "wrong-session", "garbage", "bad-index", "past-window", "bad-hello"]:
                run("hostile", case)
            out = run("log")
            ok &= "audit chain verified" in out and "rejected x" in out
        elif a.scenario == "flood":
            out = run("hostile", "flood")
            m = re.search(r"hostile flood: (\d+) junk commands", out)
            sent = int(m.group(1)) if m else -1
            log_out = run("log")
            counted = sum(int(x) for x in re.findall(r"rejects\s+rejected x(\d+)", log_out))
            print(f"flood: {sent} junk sent, {counted} counted in the audit log's summaries")
            ok &= sent >= 900 and counted == sent and "audit chain verified" in log_out
            ok &= len(re.findall(r"rejects\s+rejected x", log_out)) <= 20  # summaries, not one each
        elif a.scenario == "expiry":
            for _ in range(12):
                run("info")  # sessions of 5 commands: keelctl renews as they expire
            log_out = run("log")
            ok &= "session 2 established" in log_out and "session 3 established" in log_out
            ok &= "audit chain verified" in log_out and " 0 without a key here" in log_out
        elif a.scenario == "forge":
            ok &= forge(a, s, shm, qmp, run)
        elif a.scenario == "update_many":
            ok &= update_many(a, s, run, wait_serial, serial)
        elif a.scenario == "update_bench":
            ok &= update_bench(a, s, run, wait_serial, serial)
        elif a.scenario == "update_linux" and a.arch == "x86_64":
            ok &= update_linux_x86(a, s, run, wait_serial, serial, ring, wait_ring)
        elif a.scenario == "update_linux":
            ok &= update_linux(a, s, run, wait_serial, serial, ring, wait_ring)
        elif a.scenario == "update_vf":
            ok &= update_vf(a, s, run, wait_serial, serial, ring, wait_ring, wait_state, disk)
        elif a.scenario == "update_refusals" and a.arch == "x86_64":
            ok &= update_refusals_x86(a, s, run, wait_serial, serial)
        elif a.scenario == "update_refusals":
            ok &= update_refusals(a, s, run, wait_serial, serial)
        elif a.scenario == "update_rollback_abi7" and a.arch == "x86_64":
            ok &= update_rollback_abi7_x86(a, s, run, wait_serial, serial)
        elif a.scenario == "update_rollback" and a.arch == "x86_64":
            ok &= update_rollback_x86(a, s, run, wait_serial, serial)
        elif a.scenario == "update_rollback":
            ok &= update_rollback(a, s, run, wait_serial, serial)
        elif a.scenario == "logstate":
            st = os.path.join(s.workdir, "audit.state")
            run("info")  # the session handshake (its own record) before the first pull
            ok &= "audit chain verified" in run("log", "--state", st)
            run("info")  # two more records (PING and PLATFORM)
            ok &= "2 new records" in run("log", "--state", st)
            run("log", "--state", st)  # nothing new: still fine
            # Rewrite history keelctl already pulled: the record at log_cons - 1.
            with open(shm, "r+b") as f:
                f.seek(200)
                cons = struct.unpack("<I", f.read(4))[0]
                off = 0x8000 + ((cons - 1) % 256) * 128 + 16
                f.seek(off)
                b = f.read(1)
                f.seek(off)
                f.write(bytes([b[0] ^ 1]))
            run("log", "--state", st, expect_rc=4)
        else:
            def metrics():
                time.sleep(0.3)  # the figures are published at the end of the poll that answered
                with open(shm, "rb") as f:
                    f.seek(0x10030)
                    return struct.unpack("<IIII", f.read(16))
            hs = []
            for _ in range(3):
                run("session")  # a fresh handshake each time
                hs.append(metrics())
            hs_tot = sorted(r[0] for r in hs)
            hs_auth = sorted(r[1] for r in hs)
            rows = []
            for _ in range(a.rounds):
                run("info")
                rows.append(metrics())
            tot = sorted(r[0] for r in rows)
            ver = sorted(r[1] for r in rows)
            med = lambda v: v[len(v) // 2]
            # 1,000 PINGs in 5 runs of 200, the log pulled between (256 records fill it).
            wall_s = 0.0
            for _ in range(5):
                run("log")
                wm = re.search(r"in ([0-9.]+) s", run("ping", "--count", "200"))
                wall_s = wall_s + float(wm.group(1)) if wm and wall_s is not None else None
            run("log")
            run("create", "web", "--cpus", "1", "--mem", "64M", "--kernel", a.guest,
                "--cmdline", "keel.guest=echo")
            run("start", "web")
            notes = []
            if not wait_serial("[vm 1]", 60):
                notes.append(
                    "no guest output in 60 s. The cause found on this tree: under -icount QEMU 7.2 runs all vCPUs on one thread, "
                    "each in turn until the next timer deadline; the boot core's mailbox loop "
                    "(hypervisor/mailbox/mailbox_main.cpp, mailbox_run) never yields (no YIELD/WFE), so it "
                    "takes every whole slice and core 1 gets none (QEMU 8.1 splits the slice: "
                    "'accel/tcg/tcg-accel-ops-rr: ensure fairness with icount'). A YIELD in that loop fixes it.")
            m = metrics()
            # The in-tree test guest powers off at once, so these CONSOLE_WRITEs reach a VM that
            # has stopped: authenticated, logged and MACed like any other, answered BadState
            # by the state machine (a running guest's queueing adds one 256-byte copy).
            cw = []
            for _ in range(a.rounds):
                run("console", "web", "--write", "x", expect_rc=1)
                cw.append(metrics()[0])
            cw.sort()
            if m[2] == 0 and not notes:
                notes.append(
                    "the guest printed, but its first output was not recorded, likely because it printed and ended between "
                    "two polls, and Service::poll (hypervisor/mailbox/service.cpp) runs vm_events() before "
                    "console_events(), which skips a VM that is no longer running.")
            fig = lambda v: str(v) if v else "not recorded"
            print("| figure (virtual ns = instructions under -icount shift=0) | median | min | max |")
            print("|---|---|---|---|")
            print(f"| PING round trip: pickup -> response published | {med(tot)} | {tot[0]} | {tot[-1]} |")
            print(f"| of which session check (id, sequence, HMAC-SHA256) | {med(ver)} | {ver[0]} | {ver[-1]} |")
            rest = sorted(t - v for t, v in zip((r[0] for r in rows), (r[1] for r in rows)))
            print(f"| rest (decode, dispatch, audit SHA-256 + MAC, response MAC) | {med(rest)} | {rest[0]} | {rest[-1]} |")
            print(f"| CONSOLE_WRITE round trip (VM stopped: BadState) | {med(cw)} | {cw[0]} | {cw[-1]} |")
            print(f"| handshake (HELLO): pickup -> response published | {med(hs_tot)} | {hs_tot[0]} | {hs_tot[-1]} |")
            print(f"| of which P-384 verify, X25519, HKDF, next offer | {med(hs_auth)} | {hs_auth[0]} | {hs_auth[-1]} |")
            print(f"| keelctl wall time for 1,000 PINGs (s, host clock, 5 processes of 200) | "
                  f"{'%.3f' % wall_s if wall_s is not None else 'not recorded'} | | |")
            print(f"| START pickup -> first guest console line | {fig(m[2])} | | |")
            print(f"| CREATE_VM pickup -> first guest console line (us, includes keelctl time) | {fig(m[3])} | | |")
            for n in notes:
                print("note: " + n)
            ok &= med(tot) > 0
        for bad in ["KEEL PANIC", "KEEL EXCEPTION"]:
            if bad in serial():
                print(f"FAIL: '{bad}' in the serial log")
                ok = False
        if time.monotonic() - start > a.timeout:
            print("FAIL: timeout")
            ok = False
    finally:
        s.stop()
        if a.log:
            shutil.copyfile(log, a.log)
        if not ok:
            print("---- serial log tail ----\n" + "".join(serial().splitlines(True)[-30:]))
    print("mailbox_e2e: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
