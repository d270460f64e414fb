#!/usr/bin/env python3
"""SR-IOV VFs given to VMs at boot, with each namespace backed by a file this script makes
(docs/sriov.md "Assignment"): runs tools/keel-run with the arguments after `--`, where
`@NSn@` stands for namespace n's file, then checks what the guests left on the disks:
`--holds N:TEXT` means namespace N's first and last 32-byte line of LBA 0 start with TEXT,
`--starts N:TEXT` that LBA 0 starts with TEXT, `--times N:TEXT` that the serial log holds
TEXT at least N times, `--zero N:LBA` means that 4 KiB at that LBA (512-byte blocks) is all zero (a transfer whose data lay
outside the guest's RAM wrote nothing). Files live in a scratch folder removed on every exit.

  sriov_disks.py --namespaces 2 --holds "1:KEEL-VF-PATTERN vm 1" --zero 1:8 -- <keel-run args>
Exit status: 0 pass, 1 fail.
"""
import argparse, os, signal, subprocess, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from keel_scratch import Interrupted, Scratch  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--namespaces", type=int, default=2)
    p.add_argument("--holds", action="append", default=[])
    p.add_argument("--zero", action="append", default=[])
    p.add_argument("--starts", action="append", default=[], help="N:TEXT: namespace N's LBA 0 starts with TEXT")
    p.add_argument("--times", action="append", default=[],
                   help="N:TEXT: the serial log (keel-run's --log) holds TEXT at least N times, in any order "
                        "(for lines of VMs running side by side, which keel-run's ordered markers cannot check)")
    p.add_argument("--timeout", type=int, default=150)
    p.add_argument("run", nargs=argparse.REMAINDER)
    a = p.parse_args()
    args = a.run[1:] if a.run[:1] == ["--"] else a.run
    keel_run = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "keel-run")
    try:
        with Scratch("keel-sriov-") as s:
            signal.alarm(a.timeout + 60)
            disks = {}
            for n in range(1, a.namespaces + 1):
                disks[n] = os.path.join(s.workdir, f"ns{n}.img")
                with open(disks[n], "wb") as f:
                    f.truncate(1024 * 1024)
            args = [sub(x, disks) for x in args]
            rc = s.spawn([sys.executable, keel_run, "--timeout", str(a.timeout), *args], graceful=True).wait()
            ok = rc == 0
            for h in a.holds:
                n, text = h.split(":", 1)
                with open(disks[int(n)], "rb") as f:
                    lba0 = f.read(4096)
                good = lba0.startswith(text.encode()) and lba0[4064:].startswith(text.encode())
                print(f"sriov_disks: namespace {n} LBA 0 {'holds' if good else 'does NOT hold'} '{text}': "
                      f"{lba0[:32]!r}")
                ok &= good
            for h in a.starts:
                n, text = h.split(":", 1)
                with open(disks[int(n)], "rb") as f:
                    good = f.read(len(text)) == text.encode()
                print(f"sriov_disks: namespace {n} {'starts' if good else 'does NOT start'} with '{text}'")
                ok &= good
            log = next((args[i + 1] for i, x in enumerate(args[:-1]) if x == "--log"), None)
            text = open(log, errors="replace").read() if log and os.path.exists(log) else ""
            for t in a.times:
                n, want = t.split(":", 1)
                seen = text.count(want)
                print(f"sriov_disks: log holds '{want}' {seen} times (want {n})")
                ok &= seen >= int(n)
            for z in a.zero:
                n, lba = (int(v) for v in z.split(":"))
                with open(disks[n], "rb") as f:
                    f.seek(lba * 512)
                    block = f.read(4096)
                good = block == bytes(4096)
                print(f"sriov_disks: namespace {n} LBA {lba}: {'all zero' if good else 'NOT zero'}")
                ok &= good
            print("sriov_disks: " + ("PASS" if ok else "FAIL"))
            return 0 if ok else 1
    except Interrupted as e:
        print(f"sriov_disks: FAIL: interrupted by {e}")
        return 1


def sub(x, disks):
    for n, d in disks.items():
        x = x.replace(f"@NS{n}@", d)
    return x


if __name__ == "__main__":
    sys.exit(main())
