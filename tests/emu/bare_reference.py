#!/usr/bin/env python3
"""Keel against the bare machine: runs the arm64 test guest in one mode twice, once on bare
QEMU virt at EL1 (no hypervisor: tests/guest/arm64/bare_shim.S enters it) and once as a VM
under Keel (keel.vm=cpus:1,mem:4M,guest:MODE), and requires the guest to print the same
"guest: " lines in both, and at least the --expect lines. Mode button runs on the bare
machine only: QEMU's power button (monitor system_powerdown) is pressed once the guest
waits for it; under Keel the button is a controller STOP (mailbox_e2e.py button checks the
same --expect lines there). What the guest prints are the
architectural values it observed (syndromes, addresses, PSTATE, timer and interrupt
behaviour): the bare machine is the reference, not Keel.

  bare_reference.py --image keel-arm64-test.bin --guest keel-test-guest.bin \\
                    --shim keel-bare-shim.bin --mode fetch [--expect LINE ...]
Exit status: 0 pass, 1 fail.
"""
import argparse, os, signal, socket, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from keel_scratch import Interrupted, Scratch  # noqa: E402

MODES = {"fetch": 5, "ptimer": 6, "debug": 7, "button": 8}  # vm_def.hpp GuestMode
QEMU = ["qemu-system-aarch64", "-cpu", "max,pauth=off", "-display", "none", "-monitor", "none",
        "-nic", "none", "-no-reboot"]


def run_until_exit(s, cmd, log, timeout, press=None):
    """Runs cmd with the serial console in log; returns the log's text once QEMU exits.
    press: (marker, monitor socket): system_powerdown once the marker is in the log."""
    open(log, "w").close()  # there before QEMU opens it: polled from the start
    proc = s.spawn(cmd + ["-serial", "file:" + log], stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    end = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < end:
        time.sleep(0.1)
        if press:
            with open(log, errors="replace") as f:
                if press[0] not in f.read():
                    continue
            with socket.socket(socket.AF_UNIX) as m:
                m.connect(press[1])
                m.sendall(b"system_powerdown\n")
                time.sleep(0.5)
            press = None
    if proc.poll() is None:
        print(f"FAIL: QEMU still running after {timeout} s: {' '.join(cmd[:4])} ...")
    with open(log, errors="replace") as f:
        return f.read()


def guest_lines(text, prefix):
    return [l[len(prefix):].rstrip() for l in text.splitlines() if l.startswith(prefix + "guest: ")]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--image", required=True)
    p.add_argument("--guest", required=True)
    p.add_argument("--shim", required=True)
    p.add_argument("--mode", required=True, choices=sorted(MODES))
    p.add_argument("--expect", action="append", default=[])
    p.add_argument("--timeout", type=float, default=30)
    a = p.parse_args()
    try:
        with Scratch("keel-bare-") as s:
            signal.alarm(int(2 * a.timeout) + 30)
            bare_log, keel_log = os.path.join(s.workdir, "bare.log"), os.path.join(s.workdir, "keel.log")
            mon = os.path.join(s.workdir, "monitor.sock")
            button = a.mode == "button"
            qemu = list(QEMU)
            if button:  # the monitor is how the bare machine's button is pressed
                qemu[qemu.index("-monitor") + 1] = f"unix:{mon},server=on,wait=off"
            bare = run_until_exit(s, qemu + [
                "-M", "virt,gic-version=3", "-m", "4M",
                "-device", f"loader,file={a.guest},addr=0x40200000,force-raw=on",
                "-device", f"loader,file={a.shim},addr=0x40300000,force-raw=on",
                "-device", f"loader,addr=0x40310000,data={MODES[a.mode]},data-len=8",
                "-device", "loader,addr=0x40300000,cpu-num=0"], bare_log, a.timeout,
                press=("waiting for the power button", mon) if button else None)
            keel = "" if button else run_until_exit(s, QEMU + [
                "-M", "virt,virtualization=on,gic-version=3", "-smp", "2", "-m", "1G",
                "-kernel", a.image, "-append", f"keel.vm=cpus:1,mem:4M,guest:{a.mode}"],
                keel_log, a.timeout)
    except Interrupted as e:
        print(f"bare_reference: FAIL: interrupted by {e}; emulators stopped")
        return 1
    b, k = guest_lines(bare, ""), guest_lines(keel, "[vm 1] ")
    print("bare QEMU:\n  " + "\n  ".join(b))
    if a.mode == "button":
        k = b  # under Keel: arm64.mailbox_button
    else:
        print("under Keel:\n  " + "\n  ".join(k))
    ok = True
    if not b or b != k:
        print("FAIL: the guest saw something else under Keel than on the bare machine")
        ok = False
    for e in a.expect:
        if not any(e in line for line in b):
            print(f"FAIL: expected line missing on the bare machine: {e}")
            ok = False
    for bad in ("ERROR", "KEEL PANIC", "KEEL EXCEPTION"):
        if bad in bare or bad in keel:
            print(f"FAIL: '{bad}' in a log")
            ok = False
    if not ok:
        print("---- Keel serial tail ----\n" + "".join(keel.splitlines(True)[-20:]))
    print("bare_reference: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
