#!/usr/bin/env python3
"""Entropy for the mailbox nonce, end to end (docs/mailbox.md §4.1): boots Keel's product
image under QEMU arm64 with an ivshmem mailbox, once or twice, and checks what it says and
publishes from outside (serial log, the header in shared memory).

  entropy_e2e.py --image keel-arm64.bin refuse
      -cpu cortex-a57 (no FEAT_RNG) and dtb-randomness=off (no /chosen/rng-seed): the
      mailbox must refuse ("mailbox: refused: no entropy source") and never publish a header.
  entropy_e2e.py --image keel-arm64.bin twice --cpu cortex-a57|max [--no-dtb-seed]
      two boots with identical inputs under -icount shift=0,align=off,sleep=off: both attach
      and the nonces (serial and header bytes 16..31) differ.
  entropy_e2e.py --image keel.img --uefi disk.img --keel-run tools/keel-run uefi-rng
      the UEFI path on cortex-a57 with dtb-randomness=off and a virtio-rng-pci device: the
      boot stage takes 32 bytes from EFI_RNG_PROTOCOL (AAVMF's VirtioRngDxe) and the
      persistent boot counter, the mailbox attaches on them; two boots of one machine (one
      variable store): counter 1 then 2, different nonces.
  entropy_e2e.py ... uefi-refuse
      the same without the virtio-rng device: no EFI_RNG_PROTOCOL, the mailbox refuses.
Every emulator, /dev/shm file and work folder is removed on every exit (keel_scratch.py).
Exit status: 0 pass, 1 fail.
"""
import argparse, os, signal, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from keel_scratch import Interrupted, Scratch  # noqa: E402

MAGIC = b"KEELBOX1"


def boot(a, s, n, cpu, dtb_seed):
    """One boot; returns (serial text, header bytes) once the mailbox attached or refused."""
    shm = s.shm_file(f"keel-ent{n}", 4 * 1024 * 1024)
    log = os.path.join(s.workdir, f"serial{n}.log")
    open(log, "w").close()
    machine = "virt,virtualization=on,gic-version=3" + ("" if dtb_seed else ",dtb-randomness=off")
    cpu_opt = cpu + (",pauth=off" if cpu == "max" else "")
    cmd = ["qemu-system-aarch64", "-M", machine, "-cpu", cpu_opt, "-smp", "2", "-m", "512M",
           "-display", "none", "-monitor", "none", "-nic", "none", "-no-reboot",
           "-serial", "file:" + log, "-kernel", a.image,
           "-icount", "shift=0,align=off,sleep=off",
           "-object", f"memory-backend-file,id=mbox,share=on,mem-path={shm},size=4M",
           "-device", "ivshmem-plain,memdev=mbox"]
    proc = s.spawn(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    end = time.monotonic() + a.timeout
    text = ""
    while time.monotonic() < end:
        with open(log, errors="replace") as f:
            text = f.read()
        if "mailbox: ready" in text or "mailbox: refused" in text or "KEEL PANIC" in text:
            break
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    time.sleep(0.5)  # a header written just before "ready" is visible by now
    with open(shm, "rb") as f:
        header = f.read(256)
    proc.kill()
    proc.wait()
    return text, header


def uefi_boot(a, s, n, rng, expect, vars_file=None):
    """One UEFI boot through keel-run (cortex-a57, no DTB randomness); returns the serial text.
    vars_file: a firmware variable store kept across boots (the boot counter lives there)."""
    shm = s.shm_file(f"keel-entu{n}", 4 * 1024 * 1024)
    log = os.path.join(s.workdir, f"uefi{n}.log")
    cmd = [a.keel_run, "--machine", "qemu-arm64", "--uefi", a.uefi, "--cpu", "cortex-a57",
           "--machine-opts", ",dtb-randomness=off", "--timeout", str(int(a.timeout)), "--log", log]
    if vars_file:
        cmd += ["--vars", vars_file]
    for m in expect:
        cmd += ["--expect", m]
    cmd += ["--"] + (["-device", "virtio-rng-pci"] if rng else []) + [
        "-object", f"memory-backend-file,id=mbox,share=on,mem-path={shm},size=4M",
        "-device", "ivshmem-plain,memdev=mbox"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    print(r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "(keel-run said nothing)")
    with open(log, errors="replace") as f:
        text = f.read()
    print("\n".join(l for l in text.splitlines() if "entropy" in l or "counter" in l or l.startswith("mailbox")))
    return r.returncode == 0, text


def nonce_line(text):
    for line in text.splitlines():
        if line.startswith("mailbox: nonce "):
            return line.split()[2].rstrip(",")
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--image", required=True)
    p.add_argument("--timeout", type=float, default=90)
    p.add_argument("--cpu", default="cortex-a57")
    p.add_argument("--no-dtb-seed", action="store_true")
    p.add_argument("--uefi", help="boot disk (uefi-* scenarios)")
    p.add_argument("--keel-run", help="tools/keel-run (uefi-* scenarios)")
    p.add_argument("scenario", choices=["refuse", "twice", "uefi-rng", "uefi-refuse"])
    a = p.parse_args()
    ok = True

    def check(cond, what):
        nonlocal ok
        print(("ok: " if cond else "FAIL: ") + what)
        ok &= bool(cond)

    try:
        with Scratch("keel-entropy-") as s:
            signal.alarm(int(2 * a.timeout) + 60)
            if a.scenario == "uefi-rng":
                nonces = []
                vars_file = os.path.join(s.workdir, "vars.fd")  # one machine: its NV store persists
                for n in range(2):
                    passed, text = uefi_boot(a, s, n, True, [
                        "keel-boot: entropy: 32 bytes from EFI_RNG_PROTOCOL", f"keel-boot: boot counter {n + 1}",
                        "mailbox: entropy from boot-stage EFI_RNG_PROTOCOL", f"boot counter {n + 1}",
                        "mailbox: ready"], vars_file)
                    check(passed, f"boot {n + 1}: EFI_RNG_PROTOCOL entropy and boot counter {n + 1} reached the mailbox")
                    nonces.append(nonce_line(text))
                check(None not in nonces and nonces[0] != nonces[1], f"nonces differ: {nonces}")
            elif a.scenario == "uefi-refuse":
                passed, text = uefi_boot(a, s, 0, False, [
                    "keel-boot: entropy: no EFI_RNG_PROTOCOL", "mailbox: refused: no entropy source"])
                check(passed, "no RNG anywhere: the mailbox refused")
                check("mailbox: ready" not in text and "mailbox: nonce" not in text, "no nonce, never ready")
            elif a.scenario == "refuse":
                text, header = boot(a, s, 0, "cortex-a57", False)
                print("\n".join(l for l in text.splitlines() if l.startswith("mailbox")))
                check("mailbox: refused: no entropy source" in text, "the mailbox refused for lack of entropy")
                check("mailbox: ready" not in text, "it never said ready")
                check(header[:8] != MAGIC, "no header was published in shared memory")
                check("mailbox: nonce" not in text, "no nonce was printed")
            else:
                seen = []
                for n in range(2):
                    text, header = boot(a, s, n, a.cpu, not a.no_dtb_seed)
                    print(f"-- boot {n + 1}: " + " | ".join(l for l in text.splitlines() if l.startswith("mailbox")))
                    check("mailbox: ready" in text, f"boot {n + 1} attached")
                    nl = nonce_line(text)
                    check(header[:8] == MAGIC and nl == header[16:32].hex(),
                          f"boot {n + 1}: header nonce {header[16:32].hex()} matches the serial line")
                    seen.append(header[16:32])
                check(seen[0] != seen[1], "the two boots' nonces differ")
                check(all(x != bytes(16) for x in seen), "no all-zero nonce")
    except Interrupted as e:
        print(f"entropy_e2e: FAIL: interrupted ({e})")
        return 1
    print("entropy_e2e: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
