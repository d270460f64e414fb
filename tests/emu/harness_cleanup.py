#!/usr/bin/env python3
"""The emulator harness leaves nothing behind (tests/emu/harness.tests.cmake): each case runs
tools/keel-run or tests/emu/mailbox_e2e.py with TMPDIR pointed at a fresh empty folder, then
checks that the folder is empty again, that no process it started is left (none has the
folder in its command line or as its working directory) and that its /dev/shm file is gone.
keel-run cases: a first-light boot that passes, one that fails on a marker that never comes,
one that times out, SIGTERM and SIGINT in the middle of a run, a UEFI boot with a TPM
(firmware variable copy, swtpm state), an image that does not exist; and --keep, which must
leave exactly its work folder and print where it is. mailbox_e2e cases: a scenario that
passes, and SIGTERM once the mailbox is up.

  harness_cleanup.py --keel-run tools/keel-run --mailbox-e2e tests/emu/mailbox_e2e.py
      --image keel-arm64.bin --keelctl keelctl --guest keel-test-guest.bin --uefi-disk disk.img --log-dir DIR
Exit status: 0 pass, 1 fail.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

FAULT = ["--append", "keel.test=fault", "--no-default-fail"]  # prints, then halts: QEMU stays up
FAULT_MARK = "test: triggering a deliberate fault"


def leftovers(tmp):
    """Processes that still refer to tmp (command line, environment or working directory):
    keelctl finds its state folder through KEELCTL_STATE_DIR alone."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read().decode(errors="replace")
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if int(pid) != os.getpid() and (tmp in cmdline or cwd.startswith(tmp) or
                                         any(v.startswith("KEELCTL_") and tmp in v for v in environ.split("\0"))):
            found.append(f"{pid}: {cmdline[:120]}")
    return found


def wait_for_marker(tmp, marker, t=30):
    """Waits until a serial.log under tmp shows marker."""
    end = time.monotonic() + t
    while time.monotonic() < end:
        for root, _, files in os.walk(tmp):
            if "serial.log" in files:
                with open(os.path.join(root, "serial.log"), errors="replace") as f:
                    if marker in f.read():
                        return True
        time.sleep(0.1)
    return False


class Cases:
    def __init__(self, a, base):
        self.a, self.base, self.n, self.failed = a, base, 0, []

    def keel_run(self, name, args, rc, out_has=None, send=None, keep=False):
        """One keel-run; send: a signal to deliver once FAULT_MARK is logged."""
        self.run(name, [self.a.keel_run, "--machine", "qemu-arm64"] + args, rc, out_has,
                 (send, FAULT_MARK) if send else None, keep)

    def mailbox(self, name, scenario, rc, out_has, send=None):
        """One mailbox_e2e.py run; send: a signal to deliver once the mailbox is up."""
        self.run(name, [self.a.mailbox_e2e, "--image", self.a.image, "--keelctl", self.a.keelctl,
                        "--guest", self.a.guest, scenario], rc, out_has,
                 (send, "mailbox: ready") if send else None)

    def run(self, name, script, rc, out_has, send, keep=False):
        """script in a fresh TMPDIR; send: (signal, serial-log marker to wait for first)."""
        self.n += 1
        tmp = os.path.join(self.base, f"{self.n}-{name}")
        os.mkdir(tmp)
        p = subprocess.Popen([sys.executable] + script, env=dict(os.environ, TMPDIR=tmp),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        shm = f"/dev/shm/keel-mbox-{p.pid}"  # mailbox_e2e's (keel_scratch.Scratch.shm_file)
        problems = []
        if send is not None:
            sig, marker = send
            if not wait_for_marker(tmp, marker):
                problems.append(f"'{marker}' not seen before sending {sig.name}")
            p.send_signal(sig)
        try:
            out, _ = p.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
            problems.append("it did not end")
        if p.returncode != rc:
            problems.append(f"exit {p.returncode}, expected {rc}")
        if out_has and out_has not in out:
            problems.append(f"output lacks '{out_has}'")
        time.sleep(0.2)  # the reaped emulator's /proc entry is gone by now
        left = os.listdir(tmp)
        if keep:
            kept = [d for d in left if d.startswith("keel-run-")]
            if len(kept) != 1 or f"work folder kept: {os.path.join(tmp, kept[0])}" not in out:
                problems.append(f"--keep: expected one printed keel-run-* folder, found {left}")
            for d in kept:
                shutil.rmtree(os.path.join(tmp, d))
            left = os.listdir(tmp)
        if left:
            problems.append(f"left in TMPDIR: {left}")
        if os.path.exists(shm):
            os.unlink(shm)
            problems.append(f"{shm} left")
        procs = leftovers(tmp)
        for line in procs:
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
        if procs:
            problems.append(f"processes left: {procs}")
        print(f"harness_cleanup: {'FAIL' if problems else 'ok'}: {name}" + "".join(f"\n  {x}" for x in problems))
        if problems:
            print("---- its output ----\n" + out)
            self.failed.append(name)


def main():
    p = argparse.ArgumentParser()
    for opt in ["--keel-run", "--mailbox-e2e", "--image", "--keelctl", "--guest", "--uefi-disk", "--log-dir"]:
        p.add_argument(opt, required=True)
    a = p.parse_args()
    img = ["--image", a.image]
    log = os.path.join(a.log_dir, "harness.cleanup.log")
    with tempfile.TemporaryDirectory(prefix="keel-harness-test-") as base:
        c = Cases(a, base)
        c.keel_run("pass", img + ["--smp", "4", "--mem", "1G", "--wait-exit", "--exit-code", "0",
                                  "--expect", "keel: first light complete"], 0, "PASS")
        c.keel_run("pass-with-log", img + ["--log", log, "--expect", "keel: first light complete"], 0, "PASS")
        with open(log, errors="replace") as f:
            if "keel: first light complete" not in f.read():
                c.failed.append("the --log file was not kept")
        c.keel_run("wrong-marker", img + ["--expect", "no such marker"], 1, "before marker 'no such marker'")
        c.keel_run("timeout", img + FAULT + ["--timeout", "3", "--expect", "no such marker"], 1, "timeout after 3s")
        for sig in (signal.SIGTERM, signal.SIGINT):
            c.keel_run(sig.name.lower(), img + FAULT + ["--timeout", "60", "--expect", "no such marker"], 1,
                       f"interrupted by {sig.name}", send=sig)
        c.keel_run("uefi-tpm", ["--uefi", a.uefi_disk, "--mem", "1G", "--tpm", "--timeout", "60",
                                "--expect", "keel-boot: Keel UEFI boot stage"], 0, "PASS")
        c.keel_run("missing-image", ["--image", os.path.join(base, "none.bin")], 2)
        c.keel_run("keep", img + ["--keep", "--expect", "no such marker"], 1, "--keep: work folder", keep=True)
        c.mailbox("mailbox-pass", "logstate", 0, "mailbox_e2e: PASS")
        c.mailbox("mailbox-sigterm", "lifecycle", 1, "interrupted by SIGTERM", send=signal.SIGTERM)
    if c.failed:
        print(f"harness_cleanup: FAIL: {', '.join(c.failed)}")
        return 1
    print(f"harness_cleanup: PASS: {c.n} runs left nothing behind")
    return 0


if __name__ == "__main__":
    sys.exit(main())
