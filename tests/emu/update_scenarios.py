"""The live-update scenarios of mailbox_e2e.py (docs/handover.md, issue 14): keel.img
variants signed at test time, the checks of a swap in the serial log, and the scenarios
update_refusals, update_rollback, update_linux, update_vf, update_many and update_bench. Each
scenario takes the driver's argparse namespace, its Scratch and its keelctl/serial helpers."""
import json, os, re, struct, subprocess, time

from scenario_checks import all_in, kernel_alive
from sriov_scenarios import initrd_with_current_init

NEWER_VERSION = "0.2.0-next"
# The handover record version this build writes (docs/handover.md §2.1, kHandoverAbi).
ABI = 8
# Apply's answer when the incoming image adopted everything and stayed (docs/handover.md §4):
# it answers the Apply itself, under the same session, once every vCPU is back in its guest.
APPLIED_RE = (r"update: applied: adopted: (\d+) VMs, (\d+) vCPUs, update (\d+); "
              r"vCPUs back in (\d+) ns")
# Apply's answer when the incoming image handed back (the rollback: every vCPU resumed on the
# outgoing image, nothing changed).
ROLLED_BACK_RE = (r"update refused: (\d+) vCPUs parked, record (\d+) B; handed back "
                  r"\(([^)]*)\); resumed in (\d+) ns")


def apply_update_args(run, image, *args, expect_rc=0):
    """keelctl update IMAGE ARGS..., retried like apply_update."""
    for _ in range(3):
        out = run("update", image, *args, expect_rc=expect_rc, both=True)
        if "not every vCPU parked within" not in out:
            return out
        print("  (a vCPU did not park within 100 ms under TCG: Apply refused, nothing changed; retried)")
    return out


def apply_update(run, image, expect_rc=0):
    """keelctl update IMAGE; an Apply refused because a vCPU did not park within Keel's
    100 ms (Timeout: all resumed, nothing changed, docs/handover.md §4 step 1) is what a
    controller retries, and under TCG on a loaded host it happens: up to three tries."""
    for _ in range(3):
        out = run("update", image, expect_rc=expect_rc, both=True)
        if "not every vCPU parked within" not in out:
            return out
        print("  (a vCPU did not park within 100 ms under TCG: Apply refused, nothing changed; retried)")
    return out


def run_slot(serial):
    """The run slot an incoming image is placed in: the first 2 MiB of the running Keel's
    update region (the last one it announced), the staged file after it."""
    regions = re.findall(r"mailbox: update region \d+ KiB at (0x[0-9a-f]+)", serial())
    return int(regions[-1], 16) - 0x200000 if regions else None


def check_swap(serial, n, version, old_version, vms, vcpus, slot, late=0, uncommitted=0):
    """What the serial log must show after the (n+1)th Apply that stayed: the new image ran
    from the run slot, relocated unless the slot is its link address (a region the pool gave
    back at an earlier commit), checked a record of update n+1, adopted every VM, took every
    other core over, every vCPU re-entered its guest, then Keel <version> carried on and
    committed (docs/handover.md §4 steps 3-6). `late`: the last VMs were created after the
    first update (adopted once fewer); `uncommitted`: earlier updates that rolled back instead
    of committing (their rollback's commit counts)."""
    ok = True
    # The commit comes after the Apply's answer: its line may still be on its way.
    committed = rf"update: committed: Keel {re.escape(version)}, security floor 1, 4 MiB of the outgoing image back in the pool"
    deadline = time.time() + 15
    while len(re.findall(r"update: committed: ", serial())) < n + 1 - uncommitted and time.time() < deadline:
        time.sleep(0.1)
    text = serial()
    entered = re.findall(r"handover: Keel (\S+) \(incoming image\) running at (0x[0-9a-f]+), "
                         r"linked at 0x40200000 \((\d+) relocations\)", text)
    if len(entered) < n + 1 or entered[-1][0] != version or slot is None or \
            int(entered[-1][1], 16) != slot or (int(entered[-1][2]) == 0) != (slot == 0x40200000):
        print(f"FAIL: update {n + 1}: the new image did not run relocated at the run slot "
              f"{slot and hex(slot)}: {entered[-1:]}")
        ok = False
    checks = [
        rf"handover: record checked: abi {ABI}, update {n + 1}, \d+ B, {vms} VMs, {vcpus} vCPUs, pool \d+ runs, "
        rf"\d+ MiB free, outgoing Keel {re.escape(old_version)}\n",
        rf"handover: {vms} VMs adopted, 3 cores came over: staying\n",
        rf"handover: {vcpus} of {vcpus} vCPUs re-entered their guests, \d+ ns after the quiesce began \(counter \d+\)\n",
        rf"Keel hypervisor {re.escape(version)} \(arm64\), live update {n + 1} from Keel "
        rf"{re.escape(old_version)}: every VM adopted\n",
        committed,
    ]
    for c in checks:
        if len(re.findall(c, text)) < 1 or (n == 0 and "live update 1 " in c and len(re.findall(c, text)) != 1):
            print(f"FAIL: update {n + 1}: serial line not seen: {c}")
            ok = False
    for vm in range(1, vms + 1):
        seen = re.findall(rf"handover: vm {vm} arch state adopted: stage-2 root 0x[0-9a-f]+ kept, [1-9]\d* RAM "
                          r"blocks ready, (\d+) vCPUs, (\d+) running; (\d+) of (\d+) records described again identical\n", text)
        if len(seen) < n + 1 - (vm > vms - late) or seen[-1][2] != seen[-1][3] or seen[-1][0] != seen[-1][1]:
            print(f"FAIL: update {n + 1}: vm {vm}'s arch state adopted as recorded {len(seen)} times: {seen[-1:]}")
            ok = False
    return ok


def start_polite_and_deaf(a, run, wait_serial):
    """The live-update tests' two test guests, one vCPU each: vm 1 (core 1) waits for the
    power button, vm 2 (core 2) ignores everything. True once both say so."""
    run("create", "polite", "--cpus", "1", "--mem", "4M", "--kernel", a.guest, "--cmdline", "keel.guest=button")
    run("create", "deaf", "--cpus", "2", "--mem", "4M", "--kernel", a.guest, "--cmdline", "keel.guest=deaf")
    run("start", "polite"); run("start", "deaf")
    return wait_serial("[vm 1] guest: button: waiting for the power button") and \
        wait_serial("[vm 2] guest: deaf: ignoring everything")


def stop_polite_and_deaf(run, wait_serial):
    """Both alive and managed by the image running now: the button guest answers a polite
    STOP (it powers off), the deaf one is forced; their memory goes back to the pool."""
    run("stop", "polite", "--timeout", "30000")
    ok = wait_serial("vm 1: destroyed (guest power-off)")
    run("stop", "deaf", "--force")
    return wait_serial("vm 2: destroyed (stopped by the controller)") and ok


def update_images(a, s):
    """keel.img variants signed here with the key Keel trusts (docs/handover.md §1): a good
    one and one per refusal, each with the message Keel must answer."""
    def sign(out, elf=None, sv="1", arch=a.arch):
        # An x86_64 ELF: the 64-bit entry the UEFI stage and a handover enter (boot/boot.cmake).
        entry = ["--entry-symbol", "keel_uefi_entry"] if a.arch == "x86_64" else []
        subprocess.run([a.keel_sign, "sign", "--elf", elf or a.elf, "--arch", arch, "--key", a.sign_key,
                        "--security-version", sv, "--hv-version", "0.1.0", "--out", out, *entry], check=True,
                       stdout=subprocess.DEVNULL)
        return out
    d = s.workdir
    good = sign(os.path.join(d, "good.img"))
    data = open(good, "rb").read()
    bad_sig = os.path.join(d, "bad-signature.img")
    flipped = bytearray(data)
    flipped[16] ^= 1  # hv_version, inside the signed header
    open(bad_sig, "wb").write(bytes(flipped))
    truncated = os.path.join(d, "truncated.img")
    open(truncated, "wb").write(data[:-512])
    # The note (KEELNOTE, note version 1, at 0x40 of the image) says it adopts handover
    # records 99..99 only. (x86 code holds the magic too, as an immediate: not followed by 1.)
    elf = bytearray(open(a.elf, "rb").read())
    note = b"KEELNOTE" + struct.pack("<I", 1)
    at = elf.find(note)
    if at < 0 or elf.find(note, at + 1) >= 0:
        raise SystemExit("update_refusals: the ELF has no single image note")
    elf[at + 12:at + 20] = struct.pack("<II", 99, 99)
    abi_elf = os.path.join(d, "abi99.elf")
    open(abi_elf, "wb").write(bytes(elf))
    # A visibly newer image: the same code whose note says 0.2.0-next (the incoming image
    # prints its note's version when it is entered, docs/handover.md §4.3).
    elf = bytearray(open(a.elf, "rb").read())
    elf[at + 24:at + 56] = NEWER_VERSION.encode().ljust(32, b"\0")
    newer_elf = os.path.join(d, "newer.elf")
    open(newer_elf, "wb").write(bytes(elf))
    a.newer = sign(os.path.join(d, "newer.img"), elf=newer_elf)
    # A test image that adopts everything and then fails its health check on purpose (note
    # flag bit 0 at 56, docs/handover.md §4.6): the rollback path.
    elf = bytearray(open(a.elf, "rb").read())
    elf[at + 56:at + 60] = struct.pack("<I", 1)
    failing_elf = os.path.join(d, "failing.elf")
    open(failing_elf, "wb").write(bytes(elf))
    a.failing = sign(os.path.join(d, "failing.img"), elf=failing_elf)
    return good, [
        ("bad signature", bad_sig, "bad signature"),
        ("older security version", sign(os.path.join(d, "older.img"), sv="0"),
         "security version below the floor (rollback) (image 0, floor 1)"),
        ("other arch", sign(os.path.join(d, "other-arch.img"), arch="arm64" if a.arch == "x86_64" else "x86_64"),
         "image is for another architecture"),
        ("truncated", truncated, "truncated image"),
        ("incompatible handover ABI", sign(os.path.join(d, "abi99.img"), elf=abi_elf),
         f"incompatible handover ABI (image adopts 99..99, this Keel writes {ABI})"),
    ]


def failing_handed_back(a, run, wait_serial):
    """Apply of the test image that fails its health check (update_images' a.failing) with two
    vCPUs running: both park, the image adopts everything, the three other cores come over and
    go back, and it hands back; the answer says why. True if so."""
    out = apply_update(run, a.failing, expect_rc=1)
    m = re.search(ROLLED_BACK_RE, out)
    ok = bool(m) and m.group(1) == "2" and m.group(3) == "health check failed"
    if not ok:
        print(f"FAIL: the failing image was not entered and handed back: {out.strip()}")
    return wait_serial("handover: 3 of 3 cores went back; health check failed (this image fails it on "
                       "purpose: a test image): handing back to the outgoing image", 10) and ok


def refuse_each(bad, run, wait_serial, vms):
    """keelctl update of each bad image: refused with its own message, on keelctl's output
    and Keel's console; after each, every VM of `vms` is still running."""
    ok = True
    for name, path, message in bad:
        out = run("update", path, expect_rc=1, both=True)
        if f"keelctl: update refused: {message}\n" not in out:
            print(f"FAIL: {name}: expected the refusal '{message}'")
            ok = False
        ok &= wait_serial(f"update: refused: {message}", 10)
        listing = run("list")
        if not all(f"{vm}\trunning" in listing for vm in vms):
            print(f"FAIL: {name}: a VM stopped running")
            ok = False
    return ok


def refusals_audited(log_out):
    """The audit log holds each refusal of update_images' bad images, with its status."""
    return all_in(log_out, [f"update verify: {status}" for status in
                            ["bad signature", "rollback", "wrong arch", "truncated", "unsupported"]],
                  "the audit log")


def update_refusals(a, s, run, wait_serial, serial):
    """Two test guests run; every bad image is refused with its own error, the good one
    verifies; both guests are still alive afterwards (one answers the power button)."""
    ok = True
    good, bad = update_images(a, s)
    ok &= start_polite_and_deaf(a, run, wait_serial)
    ok &= refuse_each(bad, run, wait_serial, ("polite", "deaf"))
    out = run("update", good, "--verify-only")
    ok &= f"update: verified: 0.1.0, security version 1, handover 6..{ABI}" in out
    out = run("update", a.failing, "--verify-only")
    ok &= "(test image: fails its health check)" in out
    # The rollback (docs/handover.md §4.6): the test image adopts everything, fails its health
    # check before any vCPU ran on it and hands back; every core goes back, both guests
    # resume on the outgoing image, the answer says why.
    ok &= failing_handed_back(a, run, wait_serial)
    listing = run("list")
    if "polite\trunning" not in listing or "deaf\trunning" not in listing:
        print("FAIL: a VM stopped running after the rollback")
        ok = False
    # Apply of the good image: every vCPU parks, the record is written and checked, the new
    # image adopts every object of it, takes every core over, resumes both vCPUs, continues
    # the mailbox session and answers this Apply itself.
    base = [int(b) for b in re.findall(r"baseline now (\d+) MiB", serial())][-1]
    slot = run_slot(serial)
    out = apply_update(run, good)
    m = re.search(APPLIED_RE, out)
    ok &= m is not None and m.group(1) == "2" and m.group(2) == "2" and m.group(3) == "1"
    ok &= check_swap(serial, 0, "0.1.0", "0.1.0", 2, 2, slot)
    # The new image's page-table engine read both stage-2 roots in place (§4 step 4).
    for vm in (1, 2):
        ok &= re.search(rf"handover: vm {vm} stage-2 root 0x[0-9a-f]+ read in place: [1-9]\d* of 2 "
                        r"blocks mapped, each to its own RAM", serial()) is not None
    seen = re.findall(rf"handover: record checked: abi {ABI}, update 1, \d+ B, 2 VMs, 2 vCPUs, pool \d+ runs, "
                      r"(\d+) MiB free, outgoing Keel 0.1.0", serial())
    if not seen or int(seen[-1]) != base - 8:
        print(f"FAIL: the record's free pool runs: {seen}, baseline {base}")
        ok = False
    # The incoming image's own pool built from those runs (§4 step 4): the same free MiB, the
    # two guests' 4 MiB each as VM RAM, the old image's block, the 4 MiB update region (which
    # holds the incoming image) and the 2 MiB of stage-2 tables as the hypervisor's.
    adopted = re.findall(r"handover: pool adopted from the record: \d+ runs in \d+ regions, (\d+) MiB free, "
                         r"(\d+) MiB of VM RAM, (\d+) MiB hypervisor \(this image inside it\)", serial())
    if not adopted or int(adopted[-1][0]) != base - 8 or int(adopted[-1][1]) != 8 or int(adopted[-1][2]) < 2 + 4:
        print(f"FAIL: the incoming image's adopted pool: {adopted[-1:]}, baseline {base}")
        ok = False
    # Each VM in the incoming image's own manager, from its Vm record over the adopted pool:
    # the cores and RAM keelctl asked for above, vCPU 0 on the core the old image ran it on.
    for vm, cpus in ((1, "0x2"), (2, "0x4")):
        ran = re.search(rf"vm {vm}: vcpu 0 running on cpu (\d+)", serial())
        if not ran or not re.search(rf"handover: vm {vm} adopted: running, cores {cpus}, 4 MiB at "
                                    rf"0x[0-9a-f]+, vCPU 0 on cpu {ran.group(1)}\n", serial()):
            print(f"FAIL: vm {vm} not adopted by the incoming image's manager as created")
            ok = False
    # The device tree the old image booted with, from the record: the 2 MiB block the old
    # image's pool left out between two of its free runs at boot (pool_init reserves it).
    dt = re.search(r"handover: device tree at (0x[0-9a-f]+), \d+ B, header checked, platform read\n", serial())
    runs = [(int(b, 16), int(e, 16)) for b, e in re.findall(r"pool: free (0x[0-9a-f]+)-(0x[0-9a-f]+)", serial())]
    if not dt or not any(e + 1 == int(dt.group(1), 16) for _, e in runs) or \
            not any(b == int(dt.group(1), 16) + 0x200000 for b, _ in runs):
        print(f"FAIL: the record's device tree {dt and dt.group(0)} is not the block the boot pool left out: {runs}")
        ok = False
    ok &= "destroyed" not in serial()
    # Alive and managed by the new image: the button guest answers a polite STOP, the deaf
    # one is forced; their memory goes back to the new image's pool.
    ok &= stop_polite_and_deaf(run, wait_serial)
    log_out = run("log")
    ok &= "audit chain verified" in log_out
    for want in ["update rolled back: health check failed", "update adopted: 0.1.0",
                 "update committed: floor 1, 4 MiB back"]:
        if want not in log_out:
            print(f"FAIL: no audit record '{want}'")
            ok = False
    ok &= refusals_audited(log_out)
    return ok


def gaps_answer(run, serial, round_, names, vms):
    """The x86 test guests `names` (keel.guest=gaps; VM ids `vms`) answer a 'g' typed into
    their consoles with their longest TSC gap so far: they run."""
    seen = len(re.findall(r"guest: gaps: longest \d+ TSC ticks", serial()))
    for name in names:
        run("console", name, "--write", "g")
    end = time.time() + 60
    while time.time() < end:
        got = re.findall(r"\[vm (\d)\] guest: gaps: longest \d+ TSC ticks", serial())
        if len(got) >= seen + len(vms) and set(vms) <= set(got[seen:]):
            return True
        time.sleep(0.2)
    print(f"FAIL: the guests did not answer ({round_})")
    return False


def update_refusals_x86(a, s, run, wait_serial, serial):
    """x86_64 (docs/handover.md §5.1): UPDATE stages and verifies an incoming keel.img as on
    arm64, each bad one refused with its own error and audited, while two test guests watch
    their TSC; the good one verifies. Apply of the newer image parks both vCPUs, writes the
    record with both VMs and enters the image, which runs relocated from the run slot,
    checks the record and hands back; both vCPUs resume and the guests answer on their
    consoles, their longest TSC gap printed. With no VM the same Apply hands back too; the
    mailbox, its session and the audit chain go on, and VMs run afterwards."""
    ok = True
    good, bad = update_images(a, s)
    region = re.search(rf"mailbox: update region (\d+) KiB at (0x[0-9a-f]+), floor 1, handover abi {ABI}, "
                       r"swap: quiesce and record, enter the new image, which adopts every VM and core and "
                       r"stays until the controller's Commit, or rolls back", serial())
    if not region:
        print("FAIL: no update region announced")
        return False
    slot = int(region.group(2), 16) - 0x400000  # the 4 MiB run slot precedes the staged file
    base = run("--json", "info")

    def start_two():
        run("create", "a", "--cpus", "1", "--mem", "4M", "--kernel", a.guest, "--cmdline", "keel.guest=gaps")
        run("create", "b", "--cpus", "2", "--mem", "4M", "--kernel", a.guest, "--cmdline", "keel.guest=gaps")
        run("start", "a"); run("start", "b")

    def answers(round_, vms=("1", "2")):
        return gaps_answer(run, serial, round_, ("a", "b"), vms)

    def stop_all():
        for name in ("a", "b"):
            run("stop", name, "--force")
        for name in ("a", "b"):
            run("destroy", name)

    start_two()
    ok &= wait_serial("[vm 1] guest: gaps: watching the counter", 60)
    ok &= wait_serial("[vm 2] guest: gaps: watching the counter", 60)
    ok &= answers("before")
    ok &= refuse_each(bad, run, wait_serial, ("a", "b"))
    # An image larger than the region is refused at Begin, before any chunk.
    big = os.path.join(s.workdir, "big.img")
    with open(big, "wb") as f:
        f.write(open(good, "rb").read())
        f.truncate(int(region.group(1)) * 1024 + 4096)
    out = run("update", big, expect_rc=1, both=True)
    ok &= all_in(out, ["does not fit the update region"], "the oversized image")
    out = run("update", good, "--verify-only")
    ok &= all_in(out, [f"update: verified: 0.1.0, security version 1, handover 6..{ABI}"], "the good image")
    def enter_and_back(vms, parked):
        """Apply of the test image that fails its health check: every running vCPU parks, the
        record is written, the image runs relocated from the run slot, checks the record (its
        free pool runs exactly the pool's free memory), adopts everything into its own memory,
        takes every core over, sends them back and hands back; the answer says why."""
        fine = True
        free = json.loads(run("--json", "info"))["pool_free_mib"]
        since = len(serial())
        out = apply_update(run, a.failing, expect_rc=1)
        m = re.search(ROLLED_BACK_RE, out)
        if not m or m.group(1) != str(parked) or m.group(3) != "health check failed":
            print(f"FAIL: the failing image was not entered and handed back ({vms} VMs): {out.strip()}")
            fine = False
        text = serial()[since:]
        entered = re.search(r"handover: Keel 0\.1\.0 \(incoming image\) running at "
                            r"(0x[0-9a-f]+), linked at 0x200000 \((\d+) relocations\), record at 0x[0-9a-f]+\n", text)
        if not entered or int(entered.group(1), 16) != slot or int(entered.group(2)) == 0:
            print(f"FAIL: the incoming image did not run relocated at the run slot {slot:#x}: "
                  f"{entered and entered.group(0)}")
            fine = False
        seen = re.search(rf"handover: record checked: abi {ABI}, update 1, \d+ B, {vms} VMs, {parked} vCPUs, "
                         r"pool \d+ runs, (\d+) MiB free, outgoing Keel 0.1.0\n", text)
        if not seen or int(seen.group(1)) != free:
            print(f"FAIL: the record checked: {seen and seen.group(0)}, the pool has {free} MiB free")
            fine = False
        fine &= adopted_in_memory_x86(text, {1: 1, 2: 1} if vms else {},
                                      "health check failed (this image fails it on purpose: a test image)")
        return fine

    # Both guests running: each vCPU parks, then resumes as it parked after the hand-back.
    ok &= enter_and_back(2, 2)
    listing = run("list")
    ok &= all_in(listing, ["a\trunning", "b\trunning"], "the VMs after the hand-back")
    ok &= answers("after the hand-back")
    print("  longest TSC gaps since the last ask (the park and the swap's round trip): " +
          ", ".join(re.findall(r"\[vm \d\] guest: gaps: longest \d+ TSC ticks", serial())[-2:]))
    # The newer image stays: it answers this Apply itself, both guests run on under it.
    since = len(serial())
    out = apply_update(run, a.newer)
    m = re.search(APPLIED_RE, out)
    if not m or m.groups()[:3] != ("2", "2", "1"):
        print(f"FAIL: the newer image did not stay with 2 VMs and 2 vCPUs: {out.strip()}")
        ok = False
    ok &= check_swap_x86(serial, since, 0, NEWER_VERSION, "0.1.0", {1: 1, 2: 1}, slot)
    ok &= all_in(run("list"), ["a\trunning", "b\trunning"], "the VMs under the new image")
    ok &= answers("under the new image")
    print("  longest TSC gaps since the last ask (the swap that stayed): " +
          ", ".join(re.findall(r"\[vm \d\] guest: gaps: longest \d+ TSC ticks", serial())[-2:]))
    ok &= "destroyed" not in serial()
    stop_all()
    ok &= wait_serial("vm 1: destroyed (stopped by the controller)") and \
        wait_serial("vm 2: destroyed (stopped by the controller)")
    # No VM: nothing to park; 0.1.0 comes back in and stays all the same.
    slot2 = run_slot_x86(serial)
    since = len(serial())
    out = apply_update(run, good)
    m = re.search(APPLIED_RE, out)
    if not m or m.groups()[:3] != ("0", "0", "2"):
        print(f"FAIL: 0.1.0 did not stay with no VM: {out.strip()}")
        ok = False
    ok &= check_swap_x86(serial, since, 1, "0.1.0", NEWER_VERSION, {}, slot2)
    # The image that stayed goes on: the same session, new VMs.
    since = len(serial())
    start_two()
    end = time.time() + 60
    while time.time() < end and len(re.findall(r"\[vm \d\] guest: gaps: watching", serial()[since:])) < 2:
        time.sleep(0.2)
    ids = tuple(re.findall(r"\[vm (\d)\] guest: gaps: watching", serial()[since:]))
    if len(ids) != 2:
        print(f"FAIL: the VMs created after the updates did not start: {ids}")
        ok = False
    ok &= answers("after the second update", ids)
    stop_all()
    info = json.loads(run("--json", "info"))
    if info["pool_free_mib"] < json.loads(base)["pool_free_mib"]:
        print(f"FAIL: the pool has less free than at the baseline: {info} vs {base}")
        ok = False
    log_out = run("log")
    ok &= "audit chain verified" in log_out
    for want in ["update rolled back: health check failed", f"update adopted: {NEWER_VERSION}",
                 "update adopted: 0.1.0"]:
        if want not in log_out:
            print(f"FAIL: no audit record '{want}'")
            ok = False
    if log_out.count("update committed: floor 1") != 2:
        print("FAIL: expected two commits ('update committed: floor 1') in the audit log")
        ok = False
    ok &= refusals_audited(log_out)
    return ok


def alternating_update(a, good, run, serial, n, vms, vcpus):
    """Live update n + 1 of a series alternating 0.2.0-next (first) and 0.1.0 with 256 MiB
    Linux guests running: the Apply answered by the new image, which adopted `vms` VMs and
    `vcpus` vCPUs, the swap's lines in the serial log (check_swap), a Linux VM's stage-2 root
    read in place. True if all of it holds."""
    ok = True
    image, new = (a.newer, NEWER_VERSION) if n % 2 == 0 else (good, "0.1.0")
    old = "0.1.0" if n % 2 == 0 else NEWER_VERSION
    slot = run_slot(serial)
    out = apply_update(run, image)
    m = re.search(APPLIED_RE, out)
    if not m or m.groups()[:3] != (str(vms), str(vcpus), str(n + 1)):
        print(f"FAIL: update {n + 1}: not applied with {vms} VMs and {vcpus} vCPUs: {out.strip()}")
        ok = False
    else:
        print(f"  update {n + 1}: Keel {new}; vCPUs back {m.group(4)} ns after the quiesce (TCG: not a performance figure)")
    ok &= check_swap(serial, n, new, old, vms, vcpus, slot)
    if re.search(r"handover: vm \d+ stage-2 root 0x[0-9a-f]+ read in place: [1-9]\d* of 128 blocks mapped, "
                 r"each to its own RAM", serial()) is None:
        print(f"FAIL: update {n + 1}: the stage-2 roots were not read in place as recorded")
        ok = False
    return ok


def guests_checked(run, ring, wait_ring, names=("one", "two")):
    """The Linux guests' own view across the swaps (tests/guest/linux/init `check`): their
    8 MiB of random bytes unchanged, and the longest gap their clock loop saw (TCG on a
    shared host: a loose bound; a vCPU left parked or a lost timer interrupt would show as
    seconds)."""
    ok = True
    for vm, name in enumerate(names, 1):
        mark = ring(vm)[0]
        run("console", name, "--write", "check")
        ok &= wait_ring(vm, mark, " ms", 60)  # the check line, whole
        m = re.search(r"KEEL-GUEST: check: memory (\S+), longest clock gap (\d+) ms", ring(vm)[1])
        if not m or m.group(1) != "same" or int(m.group(2)) > 5000:
            print(f"FAIL: vm {vm}'s own check after the updates: {m and m.group(0)}")
            ok = False
        else:
            print(f"  vm {vm}: memory checksum unchanged, longest clock gap {m.group(2)} ms (TCG)")
    return ok


def start_two_linux(run, ring, wait_ring, initrd, kernel, t):
    """Linux VMs "one" (1 vCPU, core 1) and "two" (2 vCPUs, cores 2-3) that echo console
    lines: the console rings' marks at their start, and whether both came up."""
    lx = ["--kernel", kernel, "--initrd", initrd]
    marks = {i: ring(i)[0] for i in (1, 2)}
    run("create", "one", "--cpus", "1", "--mem", "256M", *lx, "--cmdline", "quiet keel.guest=echo")
    run("create", "two", "--cpus", "2-3", "--mem", "256M", *lx, "--cmdline", "quiet keel.guest=echo")
    run("start", "one"); run("start", "two")
    ok = wait_ring(1, marks[1], "KEEL-GUEST: echo ready", t)
    ok &= wait_ring(2, marks[2], "KEEL-GUEST: echo ready", t)
    ok &= wait_ring(2, marks[2], "KEEL-GUEST: nproc 2", 5)
    return marks, ok


def adopted_in_memory_x86(text, vcpus, hand_back=None):
    """The x86 incoming image's adoption in its own memory (docs/handover.md §5.1), from its
    lines in `text`: the platform read from the ACPI tables the record names (all 4 CPUs, each
    online one among them), the pool taken from the record, and for each VM id in `vcpus` (its vCPU
    count) its NPT read in place with every block mapped to its own RAM, the VM adopted, its
    VMCBs, devices and local APICs taken, and every one of its records (vCPUs + devices)
    described again byte for byte identical; every other core of the machine (3: two or three
    with a parked vCPU, the rest idle) coming over through the doorbell; then either all of
    them going back with `hand_back` (the reason's words) or the image staying. True if all of
    it holds."""
    ok = True
    if not re.search(r"handover: ACPI tables from RSDP 0x[0-9a-f]+, platform read: 4 cpus, the 4 online "
                     r"among them\n", text):
        print("FAIL: the incoming x86 image did not read the platform from the recorded RSDP")
        ok = False
    if not re.search(r"handover: pool adopted from the record: \d+ runs in \d+ regions, \d+ MiB free, "
                     r"\d+ MiB of VM RAM, \d+ MiB hypervisor \(this image inside it\)\n", text):
        print("FAIL: the incoming x86 image did not adopt the pool from the record")
        ok = False
    for vm, n in vcpus.items():
        tree = re.search(rf"handover: vm {vm} stage-2 root 0x[0-9a-f]+ read in place: (\d+) of (\d+) "
                         r"blocks mapped, each to its own RAM\n", text)
        if not tree or tree.group(1) != tree.group(2) or tree.group(1) == "0":
            print(f"FAIL: vm {vm}'s NPT was not read in place whole: {tree and tree.group(0)}")
            ok = False
        took = re.search(rf"handover: vm {vm} arch state adopted: nCR3 0x[0-9a-f]+ kept, ([1-9]\d*) table "
                         rf"pages claimed, {n} vCPUs, {n} live; (\d+) of (\d+) records described again "
                         r"identical\n", text)
        if not took or took.group(2) != took.group(3) or int(took.group(3)) != n + 1:
            print(f"FAIL: vm {vm} ({n} vCPUs) was not adopted and described again identical: "
                  f"{took and took.group(0)}")
            ok = False
    if "NOT" in "".join(re.findall(r"handover: .*\n", text)):
        print("FAIL: the incoming image refused part of the record: " +
              " | ".join(l for l in re.findall(r"handover: .*", text) if "NOT" in l))
        ok = False
    last = (f"handover: 3 of 3 cores went back; {hand_back}: handing back to the outgoing image\n"
            if hand_back else f"handover: {len(vcpus)} VMs adopted, 3 cores came over: staying\n")
    ok &= all_in(text, ["handover: 3 of 3 cores came over (each on its own stack here, on the flat map)\n",
                        last], "the incoming image's lines")
    return ok


def run_slot_x86(serial):
    """x86_64's run slot: the first 4 MiB of the running Keel's update region (the last one it
    announced), the staged file after it."""
    regions = re.findall(r"mailbox: update region \d+ KiB at (0x[0-9a-f]+)", serial())
    return int(regions[-1], 16) - 0x400000 if regions else None


def check_swap_x86(serial, since, n, version, old_version, vcpus, slot, commit_ms=10000, abi=ABI):
    """The serial log from `since` after x86's (n+1)th Apply that stayed (docs/handover.md
    §5.1): the new image ran from the run slot (relocated unless the slot is its link
    address), checked a record of update n+1 with the VMs of `vcpus` (VM id: vCPUs), adopted
    them into its own memory (adopted_in_memory_x86), took every core over and stayed; every
    parked vCPU re-entered its guest; Keel <version> carried on, on trial until keelctl's
    Commit (docs/handover.md §4.7), then committed, the outgoing image's memory back in the
    pool. The record was of version `abi`: from 8 it carries the clock rates (X86Clock), which
    the new image then takes instead of measuring them; with 7 it measures both."""
    ok = True
    deadline = time.time() + 15  # the commit comes after the Apply's answer
    committed = rf"update: committed: Keel {re.escape(version)}, security floor 1, ([1-9]\d*) MiB of the outgoing image back in the pool"
    while not re.search(committed, serial()[since:]) and time.time() < deadline:
        time.sleep(0.1)
    text = serial()[since:]
    entered = re.search(rf"handover: Keel {re.escape(version)} \(incoming image\) running at (0x[0-9a-f]+), "
                        r"linked at 0x200000 \((\d+) relocations\)", text)
    if not entered or slot is None or int(entered.group(1), 16) != slot or \
            (int(entered.group(2)) == 0) != (slot == 0x200000):
        print(f"FAIL: update {n + 1}: the new image did not run relocated at the run slot "
              f"{slot and hex(slot)}: {entered and entered.group(0)}")
        ok = False
    vms, total = len(vcpus), sum(vcpus.values())
    for c in [rf"handover: record checked: abi {abi}, update {n + 1}, \d+ B, {vms} VMs, {total} vCPUs, pool \d+ runs, "
              rf"\d+ MiB free, outgoing Keel {re.escape(old_version)}\n",
              rf"handover: {total} of {total} vCPUs re-entered their guests, \d+ ns after the quiesce began \(counter \d+\)\n",
              rf"Keel hypervisor {re.escape(version)} \(x86_64\), live update {n + 1} from Keel "
              rf"{re.escape(old_version)}: every VM adopted\n",
              rf"update: Keel {re.escape(version)} not committed: UPDATE Commit within {commit_ms} ms, or Keel "
              rf"{re.escape(old_version)} comes back\n",
              committed]:
        if not re.search(c, text):
            print(f"FAIL: update {n + 1}: serial line not seen: {c}")
            ok = False
    # The clock rates came in the record (ABI 8, X86Clock): the TSC's is the one the first
    # boot measured, and neither is measured again inside the blackout.
    booted = re.search(r"x86_64: TSC (\d+) kHz \(([^)]*)\)", serial())
    clock = re.search(r"handover: TSC (\d+) kHz \(([^,]*), carried in the record\), local APIC timer rate "
                      r"carried in the record\n" if abi >= 8 else
                      r"handover: TSC (\d+) kHz \(([^,]*), measured again\), local APIC timer rate "
                      r"measured once staying\n", text)
    # Measured again against the PIT, the rate may differ from the boot's in its last digits.
    if not booted or not clock or clock.group(2) != booted.group(2) or \
            (abi >= 8 and clock.group(1) != booted.group(1)) or \
            abs(int(clock.group(1)) - int(booted.group(1))) > int(booted.group(1)) // 100:
        print(f"FAIL: update {n + 1}: the clock rates were not {'carried over' if abi >= 8 else 'measured again'}: boot "
              f"{booted and booted.group(0)}, incoming {clock and clock.group(0)}")
        ok = False
    ok &= adopted_in_memory_x86(text, vcpus)
    return ok


def update_linux_x86(a, s, run, wait_serial, serial, ring, wait_ring):
    """x86_64 (docs/handover.md §5.1): two Debian amd64 Linux VMs (1 and 2 vCPUs) echo
    console lines while three live updates alternate a visibly newer image (0.2.0-next) and
    0.1.0: each parks all three vCPUs (in the guest or in Linux's idle HLT), writes the
    record, enters the new image, which adopts both VMs, takes every core over, stays,
    answers the Apply and commits; every vCPU re-enters its guest under it and both guests
    echo after each; at the end each guest's own check finds its memory unchanged and reports
    its longest clock gap, and no kernel died."""
    ok = True
    good, _ = update_images(a, s)
    marks, started = start_two_linux(run, ring, wait_ring, initrd_with_current_init(a, s), a.linux, 240)
    ok &= started
    versions = ["0.1.0", NEWER_VERSION, "0.1.0", NEWER_VERSION]
    for n in range(3):
        slot = run_slot_x86(serial)
        since = len(serial())
        out = apply_update(run, a.newer if n % 2 == 0 else good)
        m = re.search(APPLIED_RE, out)
        if not m or m.groups()[:3] != ("2", "3", str(n + 1)):
            print(f"FAIL: update {n + 1}: not applied with 2 VMs and 3 vCPUs: {out.strip()}")
            ok = False
        else:
            print(f"  update {n + 1}: Keel {versions[n + 1]}, both VMs adopted; vCPUs back {m.group(4)} ns "
                  "after the quiesce (TCG: not a performance figure)")
        ok &= check_swap_x86(serial, since, n, versions[n + 1], versions[n], {1: 1, 2: 2}, slot)
        for vm in (1, 2):
            run("console", ["one", "two"][vm - 1], "--write", f"alive {n}")
            ok &= wait_ring(vm, marks[vm], f"echo: alive {n}", 60)
    ok &= guests_checked(run, ring, wait_ring)
    ok &= all_in(run("list"), ["one\trunning", "two\trunning"], "the VMs after the updates")
    ok &= kernel_alive(serial()) and "destroyed" not in serial()
    log_out = run("log")
    ok &= "audit chain verified" in log_out
    if log_out.count("update committed: floor 1") != 3:
        print("FAIL: expected three commits ('update committed: floor 1') in the audit log")
        ok = False
    return ok


def update_linux(a, s, run, wait_serial, serial, ring, wait_ring):
    """Two Linux VMs (1 and 2 vCPUs) that echo console lines; five live updates alternating a
    visibly newer image (0.2.0-next) and 0.1.0: each time every vCPU parks, the record is
    written and checked, the new image adopts the VMs and stays, both guests run on under it
    (Linux uses FP/SIMD: a clobbered register would show) and still echo; the mailbox session
    and the audit chain continue across every swap."""
    ok = True
    good, _ = update_images(a, s)
    marks, started = start_two_linux(run, ring, wait_ring, a.initrd, a.linux, 150)
    ok &= started
    for n in range(5):
        ok &= alternating_update(a, good, run, serial, n, 2, 3)
        for vm in (1, 2):
            run("console", ["one", "two"][vm - 1], "--write", f"alive {n}")
            ok &= wait_ring(vm, marks[vm], f"echo: alive {n}", 30)
    ok &= guests_checked(run, ring, wait_ring)
    out = run("list")
    ok &= "one\trunning" in out and "two\trunning" in out
    ok &= "destroyed" not in serial() and "unhandled" not in serial()
    log_out = run("log")
    ok &= "audit chain verified" in log_out
    if log_out.count("update committed: floor 1") != 5 or len(re.findall(r"session \d+ established", log_out)) != 1:
        print("FAIL: expected five committed updates in one session in the audit log")
        ok = False
    return ok


# The figures of the Linux guest's I/O loop (tests/guest/linux/init: iostat, iostop).
IO_RE = r"(\d+) rounds, (\d+) errors, longest round (\d+) ms"
# The incoming image's account of the I/O state it took over (SMMU streams, ITS mappings,
# VFs); "(1 owned)": the VF still belongs to its VM.
IO_ADOPTED = "handover: I/O adopted: "


class VfMachine:
    """What update_vf's machine is on each arch (mailbox_e2e.py's hotplug machines): the VF the
    Linux VM owns, its IOMMU and MSI controller as the adoption line names them, the
    quarantine line, the test guest beside it (its start line, and how it ends)."""

    def __init__(self, arch):
        x86 = arch == "x86_64"
        self.arch = arch
        self.vf = "00:03.1" if x86 else "00:02.1"
        # Two functions translating (the PF's admin queue pages and the VF), one device's
        # MSI routes (the VF's), both VFs known, one of them still vm 1's.
        self.adopted = (r"VT-d unit at 0x[0-9a-f]+ with 2 streams translating, interrupt remapping with 1 "
                        r"devices mapped, 2 VFs \(1 owned\)" if x86 else
                        r"SMMU at 0x[0-9a-f]+ with 2 streams translating, ITS with 1 devices mapped, "
                        r"2 VFs \(1 owned\)")
        self.quarantined = (f"vm 1: VF {self.vf} detached: FLR done, stream " +
                            ("0x19 quarantined (context entry cleared" if x86 else "0x11 quarantined"))
        self.polite = ["keel.guest=gaps"] if x86 else ["keel.guest=button"]
        self.polite_up = "[vm 2] guest: gaps: watching the counter" if x86 else \
            "[vm 2] guest: button: waiting for the power button"


def vf_update(a, good, run, serial, n, mach):
    """Update n + 1 of update_vf's series (0.2.0-next first): applied with both VMs (one vCPU
    each), the swap's lines (check_swap / check_swap_x86), and the I/O state adopted as `m`
    says. True if all of it holds."""
    if mach.arch != "x86_64":
        ok = alternating_update(a, good, run, serial, n, 2, 2)
    else:
        image, new = (a.newer, NEWER_VERSION) if n % 2 == 0 else (good, "0.1.0")
        old = "0.1.0" if n % 2 == 0 else NEWER_VERSION
        slot = run_slot_x86(serial)
        since = len(serial())
        out = apply_update(run, image)
        got = re.search(APPLIED_RE, out)
        ok = bool(got) and got.groups()[:3] == ("2", "2", str(n + 1))
        if not ok:
            print(f"FAIL: update {n + 1}: not applied with 2 VMs and 2 vCPUs: {out.strip()}")
        ok &= check_swap_x86(serial, since, n, new, old, {1: 1, 2: 1}, slot, 8000)
    adopted = re.findall(re.escape(IO_ADOPTED) + r"[^\n]*", serial())
    if not adopted or not re.search(mach.adopted, adopted[-1]):
        print(f"FAIL: update {n + 1}: the new image's I/O line is not '{mach.adopted}': {adopted[-1:]}")
        ok = False
    else:
        print(f"  update {n + 1}: {adopted[-1].strip()}")
    if "I/O NOT adopted" in serial():
        print(f"FAIL: update {n + 1}: 'I/O NOT adopted' in the serial log")
        ok = False
    return ok


def update_vf(a, s, run, wait_serial, serial, ring, wait_ring, wait_state, disk):
    """An update while a VF does DMA loses no I/O (issue 14): a Linux VM owns VF 00:02.1
    (arm64: behind the SMMUv3, its MSIs through the ITS; x86_64: VF 00:03.1 behind the VT-d
    unit, its MSIs through interrupt remapping, VfMachine) and writes, reads back and
    compares 4 KiB blocks of its namespace in a loop while three committed live updates
    alternate 0.2.0-next and 0.1.0, a test guest beside it. Each new image adopts the I/O
    state with the VMs (the VF's stream still translating, its MSI routes, the VF still vm
    1's); the loop goes on under it with no error and no round near the nvme driver's 30 s
    timeout (what a lost MSI or a lost DMA would be). The test image that fails its health
    check adopts all of it too and hands back: the running image goes on with the VF as it
    was. A fourth update is not committed: at its deadline it rolls back, the I/O state going
    back with the VMs, and the loop goes on through that too (keel.update_commit_ms=8000).
    Under the last image the VF is detached (FLR, the adopted stream quarantined) and
    hot-plugged again with I/O, and at the VM's end it is reset before the memory goes back;
    every write of the loop is on the disk."""
    ok = True
    mach = VfMachine(a.arch)
    good, _ = update_images(a, s)
    lx = ["--kernel", a.linux, "--initrd", initrd_with_current_init(a, s)]
    mark = ring(1)[0]
    # The disk is there at boot: nvme_io finds it at once, then the guest echoes.
    out = run("create", "io", "--cpus", "1", "--mem", "256M", *lx,
              "--cmdline", "quiet keel.guest=nvme-hotplug keel.tag=upd", "--vf", mach.vf)
    ok &= f"VF {mach.vf} attached" in out
    run("create", "polite", "--cpus", "2", "--mem", "4M", "--kernel", a.guest, "--cmdline", *mach.polite)
    run("start", "io"); run("start", "polite")
    ok &= wait_ring(1, mark, "KEEL-GUEST: nvme: wrote 4096 bytes, read them back: match", 240)
    ok &= wait_ring(1, mark, "KEEL-GUEST: echo ready", 60)
    ok &= wait_serial(mach.polite_up)
    if not ok:
        return False  # without the guest's disk nothing below means anything

    def io(cmd, prefix=""):
        """cmd on vm 1's console; the loop's figures in its answer: (rounds, errors, longest
        round in ms), or None."""
        nonlocal ok
        since = ring(1)[0]
        run("console", "io", "--write", cmd)
        want = re.escape("KEEL-GUEST: io: " + prefix) + IO_RE
        end = time.monotonic() + 150  # iostop waits up to 120 s for a round in flight
        while time.monotonic() < end:
            prod, text = ring(1)
            m = re.search(want, text[max(0, len(text) - (prod - since)):])
            if m:
                print(f"  vm 1: {m.group(0)}")
                return tuple(int(g) for g in m.groups())
            time.sleep(0.2)
        print(f"FAIL: no answer to '{cmd}' on vm 1's console; ring tail:\n{ring(1)[1][-600:]}")
        ok = False
        return None

    def goes_on(what, last):
        """Right after a swap and again 3 s later: rounds completed under the image now running
        (a round stuck on a lost completion would hold the count still), no error. Returns the
        later reading (or `last` without one)."""
        nonlocal ok
        now = io("iostat")
        time.sleep(3)
        later = io("iostat")
        if not now or not later or not last[0] <= now[0] < later[0] or later[1] != 0:
            print(f"FAIL: the I/O loop {what} did not go on without errors: before {last}, "
                  f"after {now}, 3 s later {later}")
            ok = False
        return later or last

    run("console", "io", "--write", "ioloop")
    ok &= wait_ring(1, mark, "KEEL-GUEST: io: looping on", 30)
    time.sleep(3)
    last = io("iostat")
    if not last or last[0] == 0 or last[1] != 0:
        print(f"FAIL: the I/O loop before any update: {last}")
        return False
    for n in range(3):
        ok &= vf_update(a, good, run, serial, n, mach)
        if len(re.findall(re.escape(IO_ADOPTED), serial())) != n + 1:
            print(f"FAIL: update {n + 1}: not one I/O adoption per update")
            ok = False
        last = goes_on(f"after update {n + 1}", last)
    # The test image that adopts everything, the I/O state with it, then fails its health
    # check and hands back (docs/handover.md §4.6): it wrote nothing of the IOMMU's or the
    # MSI controller's, so the running image resumes with its VF translating and its MSIs
    # routed as they were, and the loop goes on. The update counter does not move.
    ok &= failing_handed_back(a, run, wait_serial)
    adopted = [line for line in re.findall(re.escape(IO_ADOPTED) + r"[^\n]*", serial()) if re.search(mach.adopted, line)]
    if len(adopted) != 4:
        print(f"FAIL: the failing image did not adopt the I/O state before it handed back ({len(adopted)} of 4)")
        ok = False
    last = goes_on("across the hand-back", last)
    # A fourth update the controller does not commit: at its deadline the new image rolls
    # back to the one before it, which adopts the I/O state the new image recorded (its
    # own, handed back) and stays; the loop goes on through both swaps.
    rollbacks_before = serial().count("rolled back by live update")
    out = apply_update_args(run, good, "--no-commit")
    m = re.search(APPLIED_RE, out)
    if not m or m.groups()[:3] != ("2", "2", "4") or "; commit within 8000 ms" not in out:
        print(f"FAIL: the uncommitted update 4: {out.strip()}")
        ok = False
    ok &= wait_serial(f"update: no Commit within 8000 ms: rolling back to Keel {NEWER_VERSION}", 30)
    ok &= wait_serial(f"Keel hypervisor {NEWER_VERSION} ({a.arch}), rolled back by live update 5 from Keel 0.1.0: "
                      "every VM adopted", 30)
    ok &= wait_serial(f"update: committed: Keel {NEWER_VERSION} again, security floor 1, ", 10)
    text = serial()
    adopted = [line for line in re.findall(re.escape(IO_ADOPTED) + r"[^\n]*", text) if re.search(mach.adopted, line)]
    if text.count("rolled back by live update") != rollbacks_before + 1 or len(adopted) != 6 or \
            "I/O NOT adopted" in text:
        print(f"FAIL: the rollback did not carry the I/O state back: {len(adopted)} adoptions of 6")
        ok = False
    last = goes_on("across the rollback", last)
    time.sleep(5)
    final = io("iostat")
    stopped = io("iostop", "stopped: ")
    for what, got in (("after the updates", final), ("stopped", stopped)):
        # Under TCG a round takes well under a second; the blackout of an update adds less
        # than that. 10 s is far from both and far below the driver's 30 s timeout.
        if not got or got[0] <= last[0] or got[1] != 0 or got[2] >= 10000:
            print(f"FAIL: the I/O loop {what}: {got} (rounds beyond {last[0]}, 0 errors, longest under 10000 ms)")
            ok = False
    # The guest's own log of its disk (pci_report's nvme lines): no command timed out, failed
    # or was aborted, no oops. The second line is only echoed: it comes after the whole report.
    since = ring(1)[0]
    run("console", "io", "--write", "pci")
    run("console", "io", "--write", "pci done")
    ok &= wait_ring(1, since, "echo: pci done", 60)
    prod, text = ring(1)
    for where, got in (("vm 1's console", text[max(0, len(text) - (prod - since)):]), ("the serial log", serial())):
        bad = [line.strip() for line in got.splitlines() if "nvme" in line.lower() and "timeout" in line.lower()]
        bad += [b for b in ("I/O error", "Kernel panic", "Call trace", "Unable to handle") if b in got]
        if bad:
            print(f"FAIL: {where} shows {bad}")
            ok = False
    listing = run("list")
    ok &= "io\trunning" in listing and "polite\trunning" in listing
    ok &= "destroyed" not in serial() and "unhandled" not in serial()
    # The audit ring holds 256 records: pulled here and at the end.
    log_out = run("log")
    ok &= "audit chain verified" in log_out

    # The adopted VF under the last image, for the hypervisor's own operations: a surprise
    # removal (FLR, the adopted stream's domain detached and quarantined) the guest lives
    # through, then a hot-add with I/O.
    ok &= "owner vm 1" in run("vfs")
    mark = ring(1)[0]
    ok &= "detached (reset, DMA quarantined)" in run("detach-vf", "io", mach.vf)
    ok &= wait_serial("vm 1: slot 1 (root port 00:01.0, bus 1): card removed, hot-plug event")
    ok &= wait_serial(mach.quarantined)
    ok &= "owner 0" in run("vfs")
    time.sleep(5)  # pciehp's removal runs in the guest meanwhile
    run("console", "io", "--write", "pci")
    ok &= wait_ring(1, mark, "Slot(1): Card not present", 60)
    run("console", "io", "--write", "still here")
    ok &= wait_ring(1, mark, "echo: still here", 60)
    mark = ring(1)[0]
    ok &= f"VF {mach.vf} attached" in run("attach-vf", "io", mach.vf)
    run("console", "io", "--write", "io upd2")
    ok &= wait_ring(1, mark, "KEEL-GUEST: nvme: wrote 4096 bytes, read them back: match", 120)
    ok &= "owner vm 1" in run("vfs")

    # The end: the VF is reset and quarantined before the Linux VM's memory goes back; the
    # test guest answers a polite STOP (arm64's button guest) or is stopped (x86's gaps guest).
    run("console", "io", "--write", "bye")
    ok &= wait_ring(1, mark, "KEEL-GUEST: power off", 60)
    ok &= wait_state("io", "stopped", 60)
    ok &= wait_serial("vm 1: destroyed (guest power-off)")
    text = serial()
    if text.count(mach.quarantined) != 2 or text.rfind(mach.quarantined) > text.find("vm 1: destroyed (guest power-off)"):
        print(f"FAIL: at vm 1's end its VF must be quarantined before its memory goes back "
              f"({text.count(mach.quarantined)} quarantines in all)")
        ok = False
    if a.arch == "x86_64":
        run("stop", "polite", "--force")
        ok &= wait_serial("vm 2: destroyed (stopped by the controller)")
    else:
        run("stop", "polite", "--timeout", "30000")
        ok &= wait_serial("vm 2: destroyed (guest power-off)")
    run("destroy", "io"); run("destroy", "polite")
    ok &= "owner 0" in run("vfs")
    pulled = run("log")
    ok &= "audit chain verified" in pulled
    log_out += pulled
    commits = log_out.count("update committed: floor 1")
    if commits != 3 or len(re.findall(r"session \d+ established", log_out)) != 1:
        print(f"FAIL: expected three committed updates in one session in the audit log, not {commits}")
        ok = False
    ok &= all_in(log_out, [f"detach-vf {mach.vf}: ok", f"attach-vf {mach.vf}: ok", "update rolled back: no commit in time",
                           "rollback committed: floor 1"], "audit log")
    ok &= kernel_alive(serial())
    # The disk: the hot-plug's pattern at block 0, and every block of the loop (64 + n % 64)
    # holding the last round written there: no write of it was lost.
    with open(disk, "rb") as f:
        data = f.read()
    if not data.startswith(b"KEEL-LINUX-NVME upd2 1000"):
        print(f"FAIL: namespace 1 does not hold the hot-plug's pattern: {data[:40]!r}")
        ok = False
    if stopped:
        rounds = stopped[0]
        lost = [n for n in (j + 64 * ((rounds - 1 - j) // 64) for j in range(min(rounds, 64)))
                if not data[(64 + n % 64) * 4096:].startswith(f"KEEL-IOLOOP {n}\n".encode())]
        if lost:
            print(f"FAIL: the loop's rounds {lost[:8]} are not on the disk")
            ok = False
    return ok


def update_many(a, s, run, wait_serial, serial):
    """Two test guests run while a.rounds live updates alternate between two versions
    (0.2.0-next and 0.1.0): each new image adopts the VMs and stays; the pool's free memory is
    the same after every commit; the guests are alive at the end (arm64: one answers the power
    button; x86_64: both gaps guests answer on their consoles), the keelctl session is the one
    it started with, and the audit chain verifies across all of it."""
    ok = True
    x86 = a.arch == "x86_64"
    good, _ = update_images(a, s)
    ok &= two_gaps_guests(a, run, wait_serial, serial) if x86 else start_polite_and_deaf(a, run, wait_serial)
    log_out = ""
    version = "0.1.0"
    free = []
    for n in range(a.rounds):
        image, new = (a.newer, NEWER_VERSION) if n % 2 == 0 else (good, "0.1.0")
        slot = run_slot_x86(serial) if x86 else run_slot(serial)
        since = len(serial())
        out = apply_update(run, image)
        m = re.search(APPLIED_RE, out)
        swapped = check_swap_x86(serial, since, n, new, version, {1: 1, 2: 1}, slot) if x86 else \
            check_swap(serial, n, new, version, 2, 2, slot)
        if not m or m.groups()[:3] != ("2", "2", str(n + 1)) or not swapped:
            print(f"FAIL: update {n + 1}: expected Keel {new} to adopt and stay: {out.strip()}")
            return False
        version = new
        free.append(re.findall(r"update: committed: .* \((\d+) MiB free\)", serial())[-1])
        if n % 5 == 4:
            # Pulled and verified as the chain grows (the audit ring holds 256 records and
            # each update writes one per chunk besides Begin, Verify and Apply).
            pulled = run("log")
            ok &= "audit chain verified" in pulled
            log_out += pulled
            if x86:
                ok &= gaps_answer(run, serial, f"after update {n + 1}", ("a", "b"), ("1", "2"))
    print(f"  {a.rounds} live updates, versions alternating; pool free after each: {' '.join(free)} MiB")
    if len(set(free)) != 1:
        print("FAIL: the pool's free memory changed across updates (an image's memory not given back)")
        ok = False
    listing = run("list")
    if x86:
        ok &= "a\trunning" in listing and "b\trunning" in listing
        for name in ("a", "b"):
            run("stop", name, "--force")
        for vm in (1, 2):
            ok &= wait_serial(f"vm {vm}: destroyed (stopped by the controller)")
    else:
        ok &= "polite\trunning" in listing and "deaf\trunning" in listing
        ok &= stop_polite_and_deaf(run, wait_serial)
    pulled = run("log")
    ok &= "audit chain verified" in pulled
    log_out += pulled
    commits = log_out.count("update committed: floor 1")
    sessions = re.findall(r"session \d+ established", log_out)
    if commits != a.rounds or len(sessions) != 1:
        print(f"FAIL: {commits} audit records of a committed update (expected {a.rounds}), sessions {sessions} "
              "(expected one throughout)")
        ok = False
    return ok


def update_bench(a, s, run, wait_serial, serial):
    """Under -icount (bench/update_bench.sh): two test guests watch their virtual counter
    (keel.guest=gaps); a.rounds live updates (the same image each time), each answered by the
    new image with its figure from the quiesce request to the last vCPU back in its guest
    under it (record written and checked, the jump, adoption, every core moved over); around
    each, each guest's longest counter gap (the blackout as the guest saw it). Prints a table.
    arm64: the guests read CNTVCT and give its rate; x86_64: they read the TSC (offset 0
    under Keel), whose rate is Keel's own measurement (`TSC N kHz`, the last one printed)."""
    ok = True
    good, _ = update_images(a, s)
    run("create", "a", "--cpus", "1", "--mem", "4M", "--kernel", a.guest, "--cmdline", "keel.guest=gaps")
    run("create", "b", "--cpus", "2", "--mem", "4M", "--kernel", a.guest, "--cmdline", "keel.guest=gaps")
    run("start", "a"); run("start", "b")
    ok &= wait_serial("[vm 1] guest: gaps: watching the counter", 120)
    ok &= wait_serial("[vm 2] guest: gaps: watching the counter", 120)
    x86 = a.arch == "x86_64"
    gap_re = (r"\[vm (\d)\] guest: gaps in TSC ticks, part 7:((?: \d+@\d+){2})" if x86 else
              r"\[vm (\d)\] guest: gaps at (\d+) Hz, part 3:((?: \d+@\d+){4})")

    def gaps():
        """Asks both guests for their longest gaps since the last ask: {vm: (hz, [(len, end)])}
        from the four lines each prints (part 0..3)."""
        seen = len(re.findall(gap_re, serial()))
        for name in ("a", "b"):
            run("console", name, "--write", "g")
        deadline = time.time() + 60
        while len(re.findall(gap_re, serial())) < seen + 2 and time.time() < deadline:
            time.sleep(0.1)
        out = {}
        for vm in (1, 2):
            if x86:
                khz = re.findall(r"TSC (\d+) kHz", serial())
                parts = [(int(khz[-1]) * 1000 if khz else 0, gs) for gs in
                         re.findall(rf"\[vm {vm}\] guest: gaps in TSC ticks, part \d:((?: \d+@\d+){{2}})", serial())[-8:]]
            else:
                parts = re.findall(rf"\[vm {vm}\] guest: gaps at (\d+) Hz, part \d:((?: \d+@\d+){{4}})", serial())[-4:]
            if len(parts) == (8 if x86 else 4) and int(parts[0][0]) != 0:
                out[vm] = (int(parts[0][0]), [tuple(map(int, g.split("@"))) for _, gs in parts for g in gs.split()])
        return out

    ns, seen_by_guest, after_request, shorter, other_gap, vcpus = [], [], [], [], [], None
    steps = {"copies": [], "checked": [], "placed": [], "committed": [], "total": []}
    for _ in range(a.rounds):
        gaps()  # afresh: what the console round trips cost is not the update's
        out = run("update", good, both=True)
        m = re.search(APPLIED_RE, out)
        if not m or "update: committed: " not in out:
            print(f"FAIL: an Apply did not adopt, stay and commit: {out.strip()}")
            return False
        vcpus = int(m.group(2))
        ns.append(int(m.group(4)))
        # Keel's own work for this update, step by step (its "update: timing:" lines; the
        # commit's comes from the new image once Commit arrived).
        deadline = time.time() + 15
        while len(re.findall(r"update: timing: committed in", serial())) < len(ns) and time.time() < deadline:
            time.sleep(0.1)
        text = serial()
        staged = re.findall(r"update: timing: \d+ B staged in \d+ chunks \(copies (\d+) ns\), checked in (\d+) ns", text)
        placed = re.findall(r"update: timing: placed in (\d+) ns", text)
        committed = re.findall(r"update: timing: committed in (\d+) ns", text)
        if not staged or not placed or len(committed) < len(ns):
            print("FAIL: Keel's update timing lines are missing")
            return False
        one = {"copies": int(staged[-1][0]), "checked": int(staged[-1][1]), "placed": int(placed[-1]),
               "committed": int(committed[-1])}
        for k, val in one.items():
            steps[k].append(val)
        steps["total"].append(sum(one.values()) + ns[-1])
        g = gaps()
        # The gap of each guest that spans the quiesce (the counter value the new image
        # printed): its park and resume. Under -icount its other long gaps are the boot
        # core's long computations (verification, the crypto self-check) holding the one
        # emulation thread, which cores running side by side on hardware do not see.
        quiesce = re.findall(r"vCPUs re-entered their guests, (\d+) ns after the quiesce began \(counter (\d+)\)", serial())
        if len(g) != 2 or not quiesce:
            print(f"FAIL: the guests did not report their counter gaps: {g}")
            return False
        # Its part from the quiesce request on is what the swap itself cost the guest: before
        # it, under one emulation thread, the guest waited for the boot core's turn (the
        # image laid out and hashed), which a core of its own does not on hardware.
        # Like with like: the same guest's longest other gap in the same window, while no
        # quiesce was asked (the boot core verifying and placing the image).
        q = int(quiesce[-1][1])
        spans = []
        for hz, kept in g.values():
            span = [(length, end) for length, end in kept if end - length <= q <= end]
            other = [length for length, end in kept if not end - length <= q <= end]
            if span:
                length, end = span[0]
                spans.append((length * 10**9 // hz, (end - q) * 10**9 // hz, max(other, default=0) * 10**9 // hz))
        if len(spans) != 2:
            print(f"FAIL: not both guests saw a gap spanning the quiesce at counter {q}: {g}")
            return False
        spans.sort()
        seen_by_guest.append(spans[-1][0])
        after_request.append(spans[-1][1])
        shorter.append(spans[0][0])
        other_gap.append(spans[-1][2])
    sizes = re.findall(r"handover: record checked: abi \d+, update \d+, (\d+) B", serial())
    ok &= "a\trunning" in run("list") and "b\trunning" in run("list")
    ns.sort()
    for figures in (seen_by_guest, after_request, shorter, other_gap):
        figures.sort()
    size = int(sizes[-1]) if sizes else 0
    print("| figure (virtual ns = instructions under -icount shift=0) | median | min | max |")
    print("|---|---|---|---|")
    print(f"| Apply: quiesce request -> every vCPU back in its guest under the new image ({vcpus} vCPUs) | {ns[len(ns) // 2]} | {ns[0]} | {ns[-1]} |")
    print(f"| guest-observed blackout: the longer of the two guests' counter gaps spanning the quiesce | "
          f"{seen_by_guest[len(seen_by_guest) // 2]} | {seen_by_guest[0]} | {seen_by_guest[-1]} |")
    rows = [("guest-observed blackout: the shorter of the two guests' gaps spanning the quiesce", shorter),
            ("the longer one's part after the quiesce request", after_request),
            ("the longer one's guest: its longest other gap in the same window (no quiesce asked)", other_gap)]
    for label, v in rows:
        print(f"| {label} | {v[len(v) // 2]} | {v[0]} | {v[-1]} |")
    print(f"| handover record bytes (2 VMs) | {size} | {size} | {size} |")
    for k in steps:
        steps[k].sort()
    labels = [("copies", "staging: the chunks' copies from the bulk window into the update region"),
              ("checked", "Verify: signature, segment hashes, note (the boot stage's checks)"),
              ("placed", "Apply before the quiesce: the image laid out in the run slot and hashed again"),
              ("committed", "Commit: the outgoing image's memory back, a new update region"),
              ("total", "total: Keel's work for one update (the rows above and the blackout)")]
    for k, label in labels:
        v = steps[k]
        print(f"| {label} | {v[len(v) // 2]} | {v[0]} | {v[-1]} |")
    # x86_64: the incoming boot core's own steps, each when it ended after the quiesce began
    # (its "handover: timing:" line: arch/x86_64/handover_stay.hpp mark_step).
    marks = [dict((k, int(v)) for k, v in re.findall(r"([A-Za-z][A-Za-z ]*?) (\d+)", line))
             for line in re.findall(r"handover: timing: ns after the quiesce began: (.*)", serial())]
    for k in (marks[-1] if marks else {}):
        v = sorted(m[k] for m in marks if k in m)
        print(f"| the incoming image's step '{k}' done, after the quiesce began | {v[len(v) // 2]} | {v[0]} | {v[-1]} |")
    return ok


def apply_uncommitted(run, wait_serial, image):
    """keelctl update --no-commit IMAGE with two running vCPUs in two VMs
    (keel.update_commit_ms=8000): the new image adopts them and stays on trial, and says so."""
    ok = True
    out = apply_update_args(run, image, "--no-commit")
    m = re.search(APPLIED_RE, out)
    if not m or m.groups()[:3] != ("2", "2", "1") or "; commit within 8000 ms" not in out or \
            "update: not committed: the new image rolls back at its deadline" not in out:
        print(f"FAIL: the uncommitted Apply: {out.strip()}")
        ok = False
    ok &= wait_serial(f"update: Keel {NEWER_VERSION} not committed: UPDATE Commit within 8000 ms, or Keel 0.1.0 "
                      "comes back", 10)
    return ok


def refused_in_trial(run, image):
    """During the trial nothing new is staged: an update is refused with the time left."""
    out = run("update", image, expect_rc=1, both=True)
    if "update 1 is not committed: Commit it, or it rolls back in " not in out:
        print(f"FAIL: an update during the trial was not refused: {out.strip()}")
        return False
    return True


def rollback_audited(log_out, freed_mib):
    """keelctl log after a rollback and a later committed update: the chain verifies, one
    session throughout, with the adoption, the rollback, its commit (`freed_mib` back), the
    controller's Commit and the update's commit in it."""
    ok = "audit chain verified" in log_out
    for want in [f"update adopted: {NEWER_VERSION}", "update rolled back: no commit in time",
                 f"rollback committed: floor 1, {freed_mib} MiB back", "update commit: ok",
                 "update committed: floor 1"]:
        if want not in log_out:
            print(f"FAIL: no audit record '{want}'")
            ok = False
    if len(re.findall(r"session \d+ established", log_out)) != 1:
        print("FAIL: the session did not continue across the rollback")
        ok = False
    return ok


def update_rollback(a, s, run, wait_serial, serial):
    """The trial (docs/handover.md §4.7) with keel.update_commit_ms=8000: an Apply of
    0.2.0-next that the controller does not commit. The new image adopts everything and the
    guests run on it; until its deadline it refuses a new update but serves the rest (a third
    VM is created and started on it); then it rolls back by itself: the old image, put back as
    it was loaded where it first ran, adopts the record the new image wrote (all three guests
    as they are now) and stays, committed at once, the floor unchanged and no memory lost. The
    guests never notice (the button guest still powers off on a polite STOP), the session and
    the audit chain go on, and a later update commits."""
    ok = True
    good, _ = update_images(a, s)
    ok &= start_polite_and_deaf(a, run, wait_serial)
    base = [int(b) for b in re.findall(r"baseline now (\d+) MiB", serial())][-1]
    first = re.search(r"boot: source arm64 Image \(direct\), image (0x[0-9a-f]+) ", serial())
    ok &= apply_uncommitted(run, wait_serial, a.newer)
    ok &= refused_in_trial(run, good)
    # A VM the new image creates and starts: the rollback carries it back too.
    run("create", "late", "--cpus", "3", "--mem", "4M", "--kernel", a.guest, "--cmdline", "keel.guest=deaf")
    run("start", "late")
    ok &= wait_serial("[vm 3] guest: deaf: ignoring everything", 10)
    listing = run("list")
    ok &= all(f"{vm}\trunning" in listing for vm in ("polite", "deaf", "late"))
    # The deadline: back to 0.1.0, which adopts the guests as they are now.
    ok &= wait_serial("update: no Commit within 8000 ms: rolling back to Keel 0.1.0 (3 vCPUs parked)", 30)
    ok &= wait_serial("Keel hypervisor 0.1.0 (arm64), rolled back by live update 2 from Keel "
                      f"{NEWER_VERSION}: every VM adopted", 30)
    ok &= wait_serial("update: committed: Keel 0.1.0 again, security floor 1, ", 10)
    text = serial()
    back = re.findall(r"handover: Keel 0\.1\.0 \(incoming image\) running at (0x[0-9a-f]+), linked at "
                      r"0x40200000 \((\d+) relocations\)", text)
    if not first or not back or back[-1][0] != first.group(1):
        print(f"FAIL: the old image did not run again where it first ran ({first and first.group(1)}): {back}")
        ok = False
    checks = [rf"handover: record checked: abi {ABI}, update 2, \d+ B, 3 VMs, 3 vCPUs, pool \d+ runs, \d+ MiB free, "
              rf"outgoing Keel {re.escape(NEWER_VERSION)}\n",
              r"handover: vm 3 adopted: running, cores 0x8, 4 MiB at 0x[0-9a-f]+, vCPU 0 on cpu 3\n",
              r"handover: 3 VMs adopted, 3 cores came over: staying\n",
              r"handover: 3 of 3 vCPUs re-entered their guests, \d+ ns after the quiesce began"]
    for c in checks:
        if not re.search(c, text):
            print(f"FAIL: rollback: serial line not seen: {c}")
            ok = False
    free = re.findall(r"update: committed: Keel 0\.1\.0 again, security floor 1, \d+ MiB of the outgoing image "
                      r"back in the pool \((\d+) MiB free\)", text)
    if not free or int(free[-1]) != base - 12:
        print(f"FAIL: after the rollback the pool has {free[-1:]} MiB free, not the baseline {base} less 12")
        ok = False
    listing = run("list")
    ok &= all(f"{vm}\trunning" in listing for vm in ("polite", "deaf", "late"))
    # The image that came back updates like any: this time committed.
    slot = run_slot(serial)
    out = apply_update(run, a.newer)
    ok &= re.search(APPLIED_RE, out) is not None and f"update: committed: Keel {NEWER_VERSION}, floor 1" in out
    ok &= check_swap(serial, 2, NEWER_VERSION, "0.1.0", 3, 3, slot, late=1, uncommitted=1)
    run("stop", "late", "--force")
    ok &= wait_serial("vm 3: destroyed (stopped by the controller)")
    ok &= stop_polite_and_deaf(run, wait_serial)
    ok &= "destroyed" not in text
    ok &= rollback_audited(run("log"), 4)
    return ok


def update_rollback_x86(a, s, run, wait_serial, serial):
    """x86_64's trial and rollback (docs/handover.md §4.7, §5.1) with
    keel.update_commit_ms=8000: two test guests watch their TSC (VMs a and b, one vCPU each)
    while an Apply of 0.2.0-next is not committed. The new image adopts both and stays; until
    its deadline it refuses another update but serves the rest (a third VM is created and
    started on it); then it puts 0.1.0 back from its pristine copy and enters it where it first
    ran (0x200000, no relocation), with a record of the three guests as they are now. 0.1.0
    adopts them in its own memory, takes every core over, stays and commits at once, the floor
    unchanged and the pool as before the Apply. The guests answer throughout, the session and
    the audit chain go on, and a later update (committed by keelctl) adopts all three."""
    ok = True
    good, _ = update_images(a, s)
    first = re.search(rf"mailbox: update region \d+ KiB at (0x[0-9a-f]+), floor 1, handover abi {ABI}, swap: .* "
                      r"stays until the controller's Commit, or rolls back", serial())
    if not first:
        print("FAIL: no update region announced with the trial")
        return False
    ok &= two_gaps_guests(a, run, wait_serial, serial)
    free_before = json.loads(run("--json", "info"))["pool_free_mib"]
    since = len(serial())
    ok &= apply_uncommitted(run, wait_serial, a.newer)
    ok &= adopted_in_memory_x86(serial()[since:], {1: 1, 2: 1})
    ok &= refused_in_trial(run, good)
    # A VM the new image creates and starts: the rollback carries it back too.
    run("create", "late", "--cpus", "3", "--mem", "4M", "--kernel", a.guest, "--cmdline", "keel.guest=gaps")
    run("start", "late")
    ok &= wait_serial("[vm 3] guest: gaps: watching the counter", 30)
    ok &= gaps_answer(run, serial, "on the new image", ("a", "b", "late"), ("1", "2", "3"))
    # The deadline: back to 0.1.0, which adopts the guests as they are now.
    since = len(serial())
    ok &= wait_serial("update: no Commit within 8000 ms: rolling back to Keel 0.1.0 (3 vCPUs parked)", 30)
    ok &= wait_serial("Keel hypervisor 0.1.0 (x86_64), rolled back by live update 2 from Keel "
                      f"{NEWER_VERSION}: every VM adopted", 30)
    ok &= wait_serial("update: committed: Keel 0.1.0 again, security floor 1, ", 10)
    text = serial()[since:]
    back = re.search(r"handover: Keel 0\.1\.0 \(incoming image\) running at (0x[0-9a-f]+), linked at "
                     r"0x200000 \((\d+) relocations\)", text)
    if not back or back.groups() != ("0x200000", "0"):
        print(f"FAIL: 0.1.0 did not run again where it first ran, unrelocated: {back and back.group(0)}")
        ok = False
    for c in [rf"handover: record checked: abi {ABI}, update 2, \d+ B, 3 VMs, 3 vCPUs, pool \d+ runs, \d+ MiB free, "
              rf"outgoing Keel {re.escape(NEWER_VERSION)}\n",
              r"handover: 3 of 3 vCPUs re-entered their guests, \d+ ns after the quiesce began"]:
        if not re.search(c, text):
            print(f"FAIL: rollback: serial line not seen: {c}")
            ok = False
    ok &= adopted_in_memory_x86(text, {1: 1, 2: 1, 3: 1})
    info = json.loads(run("--json", "info"))
    if info["pool_free_mib"] != free_before - 4:
        print(f"FAIL: after the rollback the pool has {info['pool_free_mib']} MiB free, not {free_before} "
              "less the late VM's 4")
        ok = False
    listing = run("list")
    ok &= all_in(listing, ["a\trunning", "b\trunning", "late\trunning"], "the VMs after the rollback")
    ok &= gaps_answer(run, serial, "after the rollback", ("a", "b", "late"), ("1", "2", "3"))
    print("  longest TSC gaps across the trial and the rollback: " +
          ", ".join(re.findall(r"\[vm \d\] guest: gaps: longest \d+ TSC ticks", serial())[-3:]))
    # The image that came back updates like any: this time committed.
    ok &= committed_after_rollback(a, run, serial, {1: 1, 2: 1, 3: 1}, ABI)
    ok &= gaps_answer(run, serial, "after the committed update", ("a", "b", "late"), ("1", "2", "3"))
    for name in ("a", "b", "late"):
        run("stop", name, "--force")
    for vm in (1, 2, 3):
        ok &= wait_serial(f"vm {vm}: destroyed (stopped by the controller)")
    ok &= rollback_audited(run("log"), 8)
    return ok


def older_abi_image(path, workdir, abi):
    """A copy of the boot image `path` whose note says it reads handover records up to `abi`
    and writes `abi` (docs/handover.md §5.1): Keel honours its note (own_handover_range), so
    it acts, for the record, as an image of that older ABI."""
    data = bytearray(open(path, "rb").read())
    note = b"KEELNOTE" + struct.pack("<I", 1)
    at = data.find(note)
    if at < 0 or data.find(note, at + 1) >= 0:
        raise SystemExit(f"{path}: no single image note")
    data[at + 16:at + 24] = struct.pack("<II", abi, abi)  # handover_max, handover_written
    out = os.path.join(workdir, f"keel-abi{abi}.bin")
    open(out, "wb").write(bytes(data))
    return out


def committed_after_rollback(a, run, serial, vcpus, abi):
    """After a rollback to 0.1.0 (update 2), update 3 to 0.2.0-next, committed by keelctl, with
    the VMs of `vcpus` (VM id: vCPUs) adopted from a record of version `abi`."""
    slot = run_slot_x86(serial)
    since = len(serial())
    out = apply_update(run, a.newer)
    m = re.search(APPLIED_RE, out)
    n = str(len(vcpus))
    ok = bool(m) and m.groups()[:3] == (n, str(sum(vcpus.values())), "3") and \
        f"update: committed: Keel {NEWER_VERSION}, floor 1" in out
    if not ok:
        print(f"FAIL: the update after the rollback was not applied and committed: {out.strip()}")
    return check_swap_x86(serial, since, 2, NEWER_VERSION, "0.1.0", vcpus, slot, 8000, abi=abi) and ok


def two_gaps_guests(a, run, wait_serial, serial):
    """VMs a (core 1) and b (core 2), one vCPU each, running the x86 test guest's keel.guest=gaps,
    both watching their TSC and answering."""
    for name, core in (("a", "1"), ("b", "2")):
        run("create", name, "--cpus", core, "--mem", "4M", "--kernel", a.guest, "--cmdline", "keel.guest=gaps")
        run("start", name)
    ok = wait_serial("[vm 1] guest: gaps: watching the counter", 60)
    ok &= wait_serial("[vm 2] guest: gaps: watching the counter", 60)
    return gaps_answer(run, serial, "before", ("a", "b"), ("1", "2")) and ok


def abi7_swap_seen(text, n, old_version, what):
    """A swap with a record of version 7 (two VMs of one vCPU each, update n): checked, the
    clock rates measured again by the image entered, every vCPU back."""
    ok = True
    for c in [rf"handover: record checked: abi 7, update {n}, \d+ B, 2 VMs, 2 vCPUs, pool \d+ runs, \d+ MiB free, "
              rf"outgoing Keel {re.escape(old_version)}\n",
              r"handover: TSC \d+ kHz \(measured against the PIT, measured again\), local APIC timer rate "
              r"measured once staying\n",
              r"handover: 2 of 2 vCPUs re-entered their guests, \d+ ns after the quiesce began"]:
        if not re.search(c, text):
            print(f"FAIL: {what}: serial line not seen: {c}")
            ok = False
    return ok


def update_rollback_abi7_x86(a, s, run, wait_serial, serial):
    """An update from an image of the previous handover ABI (7: no clock rates in the record)
    and the rollback to it (docs/handover.md §2.1, §4.7), with keel.update_commit_ms=8000.
    The booted image's note says it reads 6..7 and writes 7 (older_abi_image). Two test guests
    run; an Apply of 0.2.0-next (ABI 8) is not committed: the new image adopts a record of 7,
    measures the TSC and the local APIC timer itself, and stays. At its deadline it writes
    the rollback record in 7, the version the old image wrote, which that image adopts and
    commits. The guests answer throughout, and a later committed update works the same way."""
    ok = True
    update_images(a, s)
    if not re.search(r"mailbox: update region \d+ KiB at 0x[0-9a-f]+, floor 1, handover abi 7, ", serial()):
        print("FAIL: the booted image does not say it writes handover records of version 7")
        return False
    ok &= two_gaps_guests(a, run, wait_serial, serial)
    since = len(serial())
    ok &= apply_uncommitted(run, wait_serial, a.newer)
    text = serial()[since:]
    ok &= abi7_swap_seen(text, 1, "0.1.0", "the update from ABI 7")
    ok &= adopted_in_memory_x86(text, {1: 1, 2: 1})
    ok &= gaps_answer(run, serial, "on the new image", ("a", "b"), ("1", "2"))
    since = len(serial())
    ok &= wait_serial("update: no Commit within 8000 ms: rolling back to Keel 0.1.0 (2 vCPUs parked)", 30)
    ok &= wait_serial("Keel hypervisor 0.1.0 (x86_64), rolled back by live update 2 from Keel "
                      f"{NEWER_VERSION}: every VM adopted", 30)
    ok &= wait_serial("update: committed: Keel 0.1.0 again, security floor 1, ", 10)
    ok &= abi7_swap_seen(serial()[since:], 2, NEWER_VERSION, "the rollback to ABI 7")
    ok &= gaps_answer(run, serial, "after the rollback", ("a", "b"), ("1", "2"))
    # The image of ABI 7 that came back updates like any: this time committed.
    ok &= committed_after_rollback(a, run, serial, {1: 1, 2: 1}, 7)
    ok &= gaps_answer(run, serial, "after the committed update", ("a", "b"), ("1", "2"))
    for name in ("a", "b"):
        run("stop", name, "--force")
    for vm in (1, 2):
        ok &= wait_serial(f"vm {vm}: destroyed (stopped by the controller)")
    ok &= rollback_audited(run("log"), 8)
    return ok
