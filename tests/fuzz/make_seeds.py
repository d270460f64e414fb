#!/usr/bin/env python3
"""Seed inputs for tests/fuzz/mailbox_fuzz.cpp's authenticated mode (first byte odd): 8
480-byte command parts (the harness adds session id, sequence and MAC) then the bulk window.
One seed walks a VM through create, load, start, console-write, metrics, stop, destroy,
list; others hold one command each, so every handler is reached from the first run; one
stages a 1,024-byte "image" through UPDATE (Begin, Chunk, Verify, Apply) for the verifier.
  make_seeds.py DIR"""
import hashlib, os, struct, sys

KERNEL = b"KEELKRNL"


def part(op, vm=0, payload=b""):
    head = struct.pack("<QIHHIIQ", 0, 0, op, 0, len(payload), vm, 0)
    return head + payload.ljust(448, b"\0")


def create(name=b"a"):
    return part(2, 0, name.ljust(16, b"\0") + struct.pack("<QQQQ", 2, 2 << 20, len(KERNEL), 0)
                + hashlib.sha256(KERNEL).digest() + bytes(32) + b"quiet".ljust(256, b"\0"))


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    load = part(3, 1, struct.pack("<IIQQQ", 0, 0, 0, 0, len(KERNEL)))
    start, stop = part(4, 1), part(5, 1, struct.pack("<II", 0, 0))
    console = part(10, 1, struct.pack("<II", 5, 0) + b"hello")
    walk = [create(), load, start, console, part(9, 1), stop, part(6, 1), part(7)]
    seeds = {"walk": walk}
    upd = lambda step, size=0, off=0, length=0: part(12, 0, struct.pack("<IIQQQQ", step, 0, size, off, 0, length))
    seeds["update"] = [upd(1, 1024), upd(2, 0, 0, 1024), upd(3), upd(4)] + [part(7)] * 4
    for i, p in enumerate([create(b"b-2"), load, start, stop, part(6, 1), part(7), part(8, 1), part(9, 1), console, part(1)]):
        seeds[f"one{i}"] = [p]
    for name, parts in seeds.items():
        data = b"\x01" + b"".join(parts)
        if name == "update":
            data += b"KIMG" + bytes(1020)
        elif len(parts) == 8:
            data += KERNEL
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
