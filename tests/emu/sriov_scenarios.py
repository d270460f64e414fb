"""The SR-IOV scenarios of mailbox_e2e.py (docs/sriov.md, issue 13): vfassign (a VF given to a
VM through the mailbox, its DMA isolated, its refusals, its reuse) and hotplug (a VF added to
and removed from a running Linux VM). Each takes the driver's argparse namespace and its
keelctl/serial helpers."""
import os, re, time

from scenario_checks import all_in, kernel_alive

def vfassign(a, run, serial, wait_serial, wait_state, disk):
    """VF assignment through the mailbox (docs/sriov.md "Assignment", docs/mailbox.md §3.11):
    create --vf, each refusal with its own reason, the guest driving its VF (its DMA inside its
    RAM works, outside faults at the SMMU and is reported), FLR + quarantine at the VM's end
    before its memory is freed, reuse by the next owner, detach-vf, the audit records."""
    ok = True
    g = ["--kernel", a.guest]
    out = run("create", "a", "--cpus", "1", "--mem", "64M", *g, "--cmdline", "keel.guest=nvme", "--vf", "00:02.1")
    ok &= "vm 1: VF 00:02.1 attached, BAR0 at guest address 0x10000000" in out
    ok &= "owner vm 1" in run("vfs")
    refusals = [  # (command, expected reason) - one reason each
        (["create", "b", "--cpus", "3", "--mem", "64M", *g, "--vf", "00:02.1"], "owner vm 1)\nkeelctl: vm 3 destroyed"),
        (["attach-vf", "c", "00:02.0"], "a physical function is never assignable (reason 2"),
        (["attach-vf", "c", "00:02.2"], "VF not provisioned by Keel (reason 3"),
        (["attach-vf", "c", "00:05.1"], "no VF at that address (reason 1"),
        (["detach-vf", "c", "00:02.1"], "VF not owned by this VM (reason 6"),
        (["attach-vf", "a", "00:02.1"], "VF already owned by this VM (reason 5"),
    ]
    run("create", "c", "--cpus", "2", "--mem", "64M", *g)  # vm 2
    for args, why in refusals:
        got = run(*args, expect_rc=1, both=True)
        if why not in got:
            print(f"FAIL: expected '{why}'")
            ok = False
    run("start", "a")
    ok &= wait_state("a", "stopped", 60)
    text = serial()
    if "guest: ERROR" in text:
        print("FAIL: the guest reported an ERROR")
        ok = False
    ok &= all_in(text, ["guest: nvme: identify into its RAM: status 0x0, controller id 1",
                        "guest: nvme: wrote 4 KiB to LBA 0, status 0x0; read back, status 0x0: pattern matches",
                        "guest: nvme: LBA 8 read back", ": no bytes from outside its RAM",
                        "guest: nvme: MSI-X vector 0 arrived as SPI 48",
                        "smmu: event F_TRANSLATION (0x10) stream 0x11 iova 0x44200000 write",
                        "smmu: stream 0x11 is VF 00:02.1, owned by vm 1"], "serial")
    # The VF leaves before the memory: quarantine is printed before the VM's memory is freed.
    q = text.find("vm 1: VF 00:02.1 detached: FLR done, stream 0x11 quarantined")
    d = text.find("vm 1: destroyed (guest power-off)")
    if q < 0 or d < 0 or q > d:
        print(f"FAIL: quarantine ({q}) must come before the VM's memory goes back ({d})")
        ok = False
    # Stopped: its VF was taken back at its end (no longer its own), and nothing attaches.
    ok &= "VF not owned by this VM (reason 6" in run("detach-vf", "a", "00:02.1", expect_rc=1, both=True)
    ok &= "VM not created, or stopping or stopped (reason 7" in run("attach-vf", "a", "00:02.1", expect_rc=1, both=True)
    m = re.search(r"dma faults (\d+)", run("metrics", "a"))
    ok &= bool(m) and int(m.group(1)) > 0
    with open(disk, "rb") as f:
        data = f.read(4096)
    if not data.startswith(b"KEEL-VF-PATTERN vm 1") or not data[4064:].startswith(b"KEEL-VF-PATTERN vm 1"):
        print(f"FAIL: namespace 1 does not hold vm 1's pattern: {data[:40]!r}")
        ok = False
    run("destroy", "a")
    ok &= "owner 0" in run("vfs")
    # The next owner: its own memory only (its Identify lands in its RAM, its faults are its).
    run("destroy", "c")
    out = run("create", "d", "--cpus", "2", "--mem", "128M", *g, "--cmdline", "keel.guest=nvme", "--vf", "00:02.1")
    ok &= "VF 00:02.1 attached" in out
    run("start", "d")
    ok &= wait_state("d", "stopped", 60)
    text = serial()
    ok &= text.count("pattern matches") == 2
    ok &= "smmu: event F_TRANSLATION (0x10) stream 0x11 iova 0x48200000" in text
    run("destroy", "d")
    # detach-vf of a created VM: reset and quarantined at once.
    run("create", "e", "--cpus", "1", "--mem", "64M", *g, "--vf", "00:02.1")
    ok &= "detached (reset, DMA quarantined)" in run("detach-vf", "e", "00:02.1")
    ok &= wait_serial("VF 00:02.1 detached: FLR done, stream 0x11 quarantined")
    run("destroy", "e")
    out = run("log")
    ok &= "audit chain verified" in out
    ok &= all_in(out, ["attach-vf 00:02.1: ok", "attach-vf 00:02.0: a physical function", "detach-vf 00:02.1: ok",
                       "vf 00:02.1: reset, quarantined",
                       "dma-fault", "F_TRANSLATION 00:02.1 iova 0x44200000"], "audit log")
    return ok


def newc(name, data, mode):
    """One entry of a cpio "newc" archive (the initramfs format, Linux's
    Documentation/driver-api/early-userspace/buffer-format.rst)."""
    name = name.encode() + b"\0"
    fields = [0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name), 0]
    out = b"070701" + "".join("%08X" % f for f in fields).encode() + name
    out += b"\0" * (-len(out) % 4) + data
    return out + b"\0" * (-len(out) % 4)


def initrd_with_current_init(a, s):
    """The shared initramfs with tests/guest/linux/init appended as /init (a second, later
    cpio archive overrides the first's file), so the test runs the init of this tree even
    where tools/fetch-guests.sh has not re-packed the cached initramfs yet."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "guest", "linux", "init"), "rb") as f:
        init = f.read()
    with open(a.initrd, "rb") as f:
        base = f.read()
    base += b"\0" * (-len(base) % 4)  # the kernel looks for the next archive 4-byte aligned
    path = os.path.join(s.workdir, "initramfs-hotplug.cpio")
    with open(path, "wb") as f:
        f.write(base + newc("init", init, 0o100755) + newc("TRAILER!!!", b"", 0))
    return path


def hotplug(a, s, run, serial, wait_serial, wait_state, ring, wait_ring, disk):
    """Hot-plug (docs/sriov.md "Hot-plug"): a Linux VM runs without a VF; attach-vf makes its
    slot 1 root port report a card (Presence Detect Changed + DLL State Changed, an MSI through
    its GICv2m frame): Linux's pciehp adds 01:00.0, nvme binds and writes/reads its namespace;
    ownership holds meanwhile; detach-vf is a surprise removal (pciehp removes the device, Keel
    resets and quarantines the VF without waiting), and the guest keeps echoing."""
    ok = True
    lx = ["--kernel", a.linux, "--initrd", initrd_with_current_init(a, s)]
    mark = ring(1)[0]
    run("create", "hp", "--cpus", "1", "--mem", "256M", *lx, "--cmdline", "quiet keel.guest=nvme-hotplug keel.tag=hot")
    run("create", "other", "--cpus", "2", "--mem", "64M", "--kernel", a.guest)  # vm 2
    run("start", "hp")
    ok &= wait_ring(1, mark, "KEEL-GUEST: nvme: waiting for a hot-plugged disk", 240)
    t0 = time.monotonic()
    out = run("attach-vf", "hp", "00:02.1")
    ok &= "vm 1: VF 00:02.1 attached, BAR0 at guest address 0x10000000" in out
    ok &= wait_serial("vm 1: slot 1 (root port 00:01.0, bus 1): card present, hot-plug event")
    ok &= wait_ring(1, mark, "KEEL-GUEST: nvme: wrote 4096 bytes, read them back: match", 120)
    print(f"  attach-vf to the guest's write and read back: {time.monotonic() - t0:.1f} s")
    ok &= wait_serial("pciehp: Slot(1): Link Up")
    ok &= wait_ring(1, mark, "KEEL-GUEST: echo ready", 60)
    ok &= all_in(ring(1)[1], ["pcieport 0000:00:01.0: pciehp: Slot(1): Card present",
                              "pcieport 0000:00:01.0: pciehp: Slot(1): Link Up",
                              # Linux placed the BAR itself (hot-add assigns it) where Keel mapped it.
                              "pci 0000:01:00.0: BAR 0 [mem 0x10000000-0x10003fff]: assigned",
                              "nvme nvme0: pci function 0000:01:00.0",
                              "KEEL-GUEST: pci: 0000:00:01.0 0000:00:02.0 0000:00:03.0 0000:00:04.0 0000:01:00.0"],
                 "vm 1's console")
    # Ownership while it runs with the VF: no other VM gets it, and it cannot take it twice.
    for args, why in [(["attach-vf", "other", "00:02.1"], "VF owned by another VM (reason 4"),
                      (["attach-vf", "hp", "00:02.1"], "VF already owned by this VM (reason 5")]:
        if why not in run(*args, expect_rc=1, both=True):
            print(f"FAIL: expected '{why}'")
            ok = False
    ok &= "owner vm 1" in run("vfs")
    # Surprise removal: no request to the guest, nothing waited for.
    mark = ring(1)[0]
    ok &= "detached (reset, DMA quarantined)" in run("detach-vf", "hp", "00:02.1")
    ok &= wait_serial("vm 1: slot 1 (root port 00:01.0, bus 1): card removed, hot-plug event")
    ok &= wait_serial("vm 1: VF 00:02.1 detached: FLR done, stream 0x11 quarantined")
    text = serial()
    if text.find("card removed, hot-plug event") > text.find("VF 00:02.1 detached: FLR done"):
        print("FAIL: the slot must report the card gone before the reset")
        ok = False
    ok &= "owner 0" in run("vfs")
    time.sleep(5)  # pciehp's removal runs in the guest meanwhile
    run("console", "hp", "--write", "pci")
    ok &= wait_ring(1, mark, "echo: pci", 60)
    ok &= wait_ring(1, mark, "Slot(1): Card not present", 30)
    prod, text = ring(1)
    tail = text[max(0, len(text) - (prod - mark)):]
    m = re.search(r"KEEL-GUEST: pci: ([^\n]*)", tail)
    if not m or "0000:01:00.0" in m.group(1) or "0000:00:01.0" not in m.group(1):
        print(f"FAIL: after the removal the guest still lists 01:00.0 (or lost its port): {m and m.group(1)}")
        ok = False
    run("console", "hp", "--write", "still here")
    ok &= wait_ring(1, mark, "echo: still here", 60)
    ok &= "hp\trunning" in run("list")
    # Again: a second hot-add into the same running guest (its slot's events were cleared by
    # pciehp, so the next change interrupts again), I/O, and a second surprise removal.
    mark = ring(1)[0]
    ok &= "VF 00:02.1 attached" in run("attach-vf", "hp", "00:02.1")
    run("console", "hp", "--write", "io hot2")
    ok &= wait_ring(1, mark, "KEEL-GUEST: nvme: wrote 4096 bytes, read them back: match", 120)
    # This time the card goes while the guest reads from it: its driver's accesses after the
    # unmap read all ones, the requests in flight fail, the reads stop, the guest lives on.
    run("console", "hp", "--write", "readloop")
    ok &= wait_ring(1, mark, "KEEL-GUEST: nvme: reading", 30)
    time.sleep(2)
    ok &= "detached (reset, DMA quarantined)" in run("detach-vf", "hp", "00:02.1")
    ok &= wait_ring(1, mark, "KEEL-GUEST: nvme: reads stopped after", 90)
    # The BAR's pages are gone from stage 2: a read of BAR0 + 8 (NVMe's Version register)
    # traps and finds nothing: all ones, as from a root port with nothing behind it, not an
    # abort that would kill the guest. (While the driver holds the BAR, /dev/mem refuses it.)
    run("console", "hp", "--write", "peek 0x10000008")
    ok &= wait_ring(1, mark, "KEEL-GUEST: peek 0x10000008: 0xFFFFFFFF", 90)
    ok &= wait_serial("no function there (first such access; reads all ones, writes dropped)")
    run("console", "hp", "--write", "still here 2")
    ok &= wait_ring(1, mark, "echo: still here 2", 60)
    since = len(serial())
    run("console", "hp", "--write", "pci")  # the guest's whole pciehp log once more
    ok &= wait_ring(1, mark, "KEEL-GUEST: pci: ", 60)
    time.sleep(2)
    text, report = serial(), serial()[since:]
    for where, want, n in [(text, "vm 1: slot 1 (root port 00:01.0, bus 1): card present, hot-plug event", 2),
                           (text, "vm 1: slot 1 (root port 00:01.0, bus 1): card removed, hot-plug event", 2),
                           (report, "pciehp: Slot(1): Card present", 2), (report, "pciehp: Slot(1): Card not present", 2),
                           (report, ": pci function 0000:01:00.0", 2)]:
        if where.count(want) != n:
            print(f"FAIL: '{want}' seen {where.count(want)} times, want {n}")
            ok = False
    # A guest that knows nothing of the slot (the test guest's deaf mode: no PCI, no
    # interrupts): the same hot-add and surprise removal; the reset and quarantine do not
    # wait for it, and it runs on.
    run("create", "deaf", "--cpus", "3", "--mem", "4M", "--kernel", a.guest, "--cmdline", "keel.guest=deaf")
    run("start", "deaf")  # vm 3
    ok &= wait_serial("[vm 3] guest: deaf: ignoring everything")
    ok &= "VF 00:02.1 attached" in run("attach-vf", "deaf", "00:02.1")
    ok &= wait_serial("vm 3: slot 1 (root port 00:01.0, bus 1): card present, hot-plug event")
    ok &= "detached (reset, DMA quarantined)" in run("detach-vf", "deaf", "00:02.1")
    ok &= wait_serial("vm 3: slot 1 (root port 00:01.0, bus 1): card removed, hot-plug event")
    ok &= wait_serial("vm 3: VF 00:02.1 detached: FLR done, stream 0x11 quarantined")
    ok &= "deaf\trunning" in run("list")
    run("stop", "deaf", "--force")
    ok &= wait_state("deaf", "stopped")
    run("destroy", "deaf")
    # The VF is free: the other VM takes it (a created one, so it is there at its boot).
    ok &= "VF 00:02.1 attached" in run("attach-vf", "other", "00:02.1")
    ok &= "owner vm 2" in run("vfs")
    run("console", "hp", "--write", "bye")
    ok &= wait_ring(1, mark, "KEEL-GUEST: power off", 60)
    ok &= wait_state("hp", "stopped", 60)
    run("destroy", "hp"); run("destroy", "other")
    ok &= "owner 0" in run("vfs")
    with open(disk, "rb") as f:
        data = f.read(4096)
    if not data.startswith(b"KEEL-LINUX-NVME hot2 1000"):
        print(f"FAIL: namespace 1 does not hold the guest's pattern: {data[:40]!r}")
        ok = False
    out = run("log")
    ok &= "audit chain verified" in out
    ok &= all_in(out, ["attach-vf 00:02.1: ok", "detach-vf 00:02.1: ok", "attach-vf 00:02.1: VF owned by another"],
                 "audit log")
    ok &= kernel_alive(serial())
    return ok


def hotplug_x86(a, s, run, serial, wait_serial, wait_state, ring, wait_ring, disk):
    """Hot-plug on x86 (docs/sriov.md "x86: a VF in a Linux VM"): a Debian amd64 VM runs
    without a VF; attach-vf makes its slot 1 root port report a card (an MSI the guest
    programmed into the port, raised on its virtual APIC): pciehp (granted by the ACPI root
    bridge's _OSC) adds 01:00.0, nvme binds with MSI-X through VT-d remapping and writes and
    reads its namespace. detach-vf while the guest reads from it is a surprise removal: the
    BAR leaves the NPT and every vCPU drops its cached translations before the reset and
    quarantine; the reads stop, a read of the old BAR finds nothing (all ones), the guest
    keeps echoing; a second hot-add works again."""
    ok = True
    lx = ["--kernel", a.linux, "--initrd", initrd_with_current_init(a, s)]
    mark = ring(1)[0]
    run("create", "hp", "--cpus", "1-2", "--mem", "256M", *lx, "--cmdline", "quiet keel.guest=nvme-hotplug keel.tag=hot")
    run("start", "hp")
    ok &= wait_ring(1, mark, "KEEL-GUEST: nvme: waiting for a hot-plugged disk", 240)
    out = run("attach-vf", "hp", "00:03.1")
    ok &= "vm 1: VF 00:03.1 attached, BAR0 at guest address 0xc0000000" in out
    ok &= wait_serial("vm 1: slot 1 (root port 00:01.0, bus 1): card present, hot-plug event")
    ok &= wait_ring(1, mark, "KEEL-GUEST: nvme: wrote 4096 bytes, read them back: match", 120)
    ok &= wait_ring(1, mark, "KEEL-GUEST: echo ready", 60)
    ok &= all_in(ring(1)[1], ["pcieport 0000:00:01.0: pciehp: Slot(1): Card present",
                              "nvme nvme0: pci function 0000:01:00.0",
                              "KEEL-GUEST: pci: 0000:00:01.0 0000:00:02.0 0000:00:03.0 0000:00:04.0 0000:01:00.0"],
                 "vm 1's console")
    ok &= "owner vm 1" in run("vfs")
    # Surprise removal while the guest reads from the disk.
    mark = ring(1)[0]
    run("console", "hp", "--write", "readloop")
    ok &= wait_ring(1, mark, "KEEL-GUEST: nvme: reading", 30)
    time.sleep(2)
    ok &= "detached (reset, DMA quarantined)" in run("detach-vf", "hp", "00:03.1")
    ok &= wait_serial("vm 1: slot 1 (root port 00:01.0, bus 1): card removed, hot-plug event")
    ok &= wait_serial("vm 1: VF 00:03.1 detached: FLR done, stream 0x19 quarantined (context entry cleared")
    ok &= wait_ring(1, mark, "KEEL-GUEST: nvme: reads stopped after", 90)
    ok &= "owner 0" in run("vfs")
    run("console", "hp", "--write", "peek 0xc0000008")
    ok &= wait_ring(1, mark, "KEEL-GUEST: peek 0xc0000008: 0xFFFFFFFF", 90)
    ok &= wait_serial("no function there (first such access; reads all ones, writes dropped)")
    run("console", "hp", "--write", "still here")
    ok &= wait_ring(1, mark, "echo: still here", 60)
    # A second hot-add into the same running guest, and I/O on it.
    ok &= "VF 00:03.1 attached" in run("attach-vf", "hp", "00:03.1")
    run("console", "hp", "--write", "io hot2")
    ok &= wait_ring(1, mark, "KEEL-GUEST: nvme: wrote 4096 bytes, read them back: match", 120)
    run("console", "hp", "--write", "bye")
    ok &= wait_ring(1, mark, "KEEL-GUEST: power off", 60)
    ok &= wait_state("hp", "stopped", 60)
    ok &= "owner 0" in run("vfs")
    run("destroy", "hp")
    with open(disk, "rb") as f:
        data = f.read(64)
    if not data.startswith(b"KEEL-LINUX-NVME hot2 1000"):
        print(f"FAIL: namespace 1 does not hold the VM's second pattern: {data[:40]!r}")
        ok = False
    out = run("log")
    ok &= "audit chain verified" in out
    ok &= all_in(out, ["attach-vf 00:03.1: ok", "detach-vf 00:03.1: ok", "vf 00:03.1: reset, quarantined"], "audit log")
    ok &= kernel_alive(serial())
    return ok
