#!/usr/bin/env python3
"""keel-run's log watcher against a fake emulator (no emulator runs): the emulator exits
right after the watcher read the log, and its last bytes (two markers or more) land a
moment later. The watcher must find them, in order; markers that never come still fail,
and so do markers that come out of order."""
import importlib.machinery
import importlib.util
import os
import sys
import tempfile
import time
import types

here = os.path.dirname(os.path.abspath(__file__))
tools = os.path.join(here, "..", "..", "tools")
sys.path.insert(0, tools)  # keel-run's own modules (keel_scratch)
loader = importlib.machinery.SourceFileLoader("keel_run", os.path.join(tools, "keel-run"))
spec = importlib.util.spec_from_loader("keel_run", loader)
keel_run = importlib.util.module_from_spec(spec)
loader.exec_module(keel_run)


class LateTail:
    """An emulator that has exited when first polled, and whose tail lands on that poll."""

    def __init__(self, log, tail):
        self.log, self.tail, self.returncode = log, tail, 1

    def poll(self):
        if self.tail is not None:
            with open(self.log, "a") as f:
                f.write(self.tail)
            self.tail = None
        return self.returncode


def run(head, tail, expect):
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "serial.log")
        with open(log, "w") as f:
            f.write(head)
        a = types.SimpleNamespace(expect=expect, wait_exit=True, exit_code=1, timeout=5)
        return keel_run.watch(a, LateTail(log, tail), log, ["FAIL"], time.monotonic())


failures = 0


def check(ok, what):
    global failures
    print(("ok    " if ok else "FAIL  ") + what)
    failures += 0 if ok else 1


markers = ["first", "second", "third"]
ok, why = run("first\n", "second\nthird\n", markers)
check(ok, f"two markers landing after the exit are found ({why})")
ok, why = run("first\n", "second\n", markers)
check(not ok and "'third'" in why, f"a marker that never comes fails ({why})")
ok, why = run("first\n", "third\nsecond\n", markers)
check(not ok, f"markers out of order fail ({why})")
sys.exit(1 if failures else 0)
