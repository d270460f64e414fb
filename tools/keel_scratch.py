"""What one emulator run makes, gone again on every exit path (pass, fail, timeout, Ctrl-C,
SIGTERM, SIGHUP): a temporary folder under $TMPDIR, /dev/shm files, and the process groups of
the emulators and helpers it started. Shared by tools/keel-run and tests/emu/mailbox_e2e.py.

    with Scratch("keel-run-") as s:               # s.workdir: the folder
        proc = s.spawn(cmd, stdout=...)           # its own session; SIGKILLed as a group at exit
        run = s.spawn(keel_run_cmd, graceful=True)  # SIGTERM first: it cleans up after itself
        shm = s.shm_file("keel-mbox", 4 << 20)    # /dev/shm/keel-mbox-PID, removed at exit

While a Scratch is held, SIGINT, SIGTERM, SIGHUP and SIGALRM (a script's own deadline, see
signal.alarm) raise Interrupted in the main thread, so the caller's own finally blocks run too.
A signal that comes while something is being made and recorded is held until it is recorded,
so nothing slips between the two. Signals the parent set to be ignored stay ignored. Only
SIGKILL (nothing can catch it; ctest's TIMEOUT sends it) leaves the folder behind, so a script
under ctest ends by its own timeout first.
"""
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM)
GRACE_S = 30  # how long a graceful child has to clean up after SIGTERM


class Interrupted(Exception):
    """A SIGINT/SIGTERM/SIGHUP that ends the run; str() is the signal's name."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Scratch:
    def __init__(self, prefix, keep=False):
        self.prefix = prefix
        self.keep = keep  # leave the folder (not the processes or /dev/shm files) for debugging
        self.workdir = None
        self._procs = []  # (process, graceful)
        self._paths = []
        self._holding = False
        self._pending = None
        self._saved = {}

    def _on_signal(self, signum, _frame):
        if self._holding:
            self._pending = signum
        else:
            raise Interrupted(signum)

    @contextlib.contextmanager
    def _hold(self):
        """Defers the signals while a resource is made and recorded."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False
        if self._pending is not None:
            raise Interrupted(self._pending)

    def __enter__(self):
        for s in SIGNALS:
            if signal.getsignal(s) is not signal.SIG_IGN:  # e.g. nohup's SIGHUP stays ignored
                self._saved[s] = signal.signal(s, self._on_signal)
        try:
            with self._hold():
                self.workdir = tempfile.mkdtemp(prefix=self.prefix)
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *_):
        self.cleanup()
        return False

    def spawn(self, cmd, graceful=False, **kw):
        """subprocess.Popen in a new session, i.e. its own process group, killed with the scratch:
        SIGKILL to the group, or with graceful (a child that cleans up after itself, such as
        keel-run) SIGTERM to the child and GRACE_S seconds before that."""
        with self._hold():
            proc = subprocess.Popen(cmd, start_new_session=True, **kw)
            self._procs.append((proc, graceful))
        return proc

    def shm_file(self, name, size):
        """A zero-filled /dev/shm/NAME-PID of size bytes; returns its path."""
        path = f"/dev/shm/{name}-{os.getpid()}"
        with self._hold():
            self._paths.append(path)
            with open(path, "wb") as f:
                f.truncate(size)
        return path

    def stop(self):
        """Stops every process spawned here (see spawn) and reaps it (idempotent)."""
        for proc, graceful in self._procs:
            if graceful and proc.returncode is None:
                proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(GRACE_S)
            if proc.returncode is None:  # not reaped yet: its pid is still its group's id
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def cleanup(self):
        # A second Ctrl-C must not cut the clean-up short; a pending deadline ends here.
        for s in self._saved:
            signal.signal(s, signal.SIG_IGN)
        signal.alarm(0)
        self.stop()
        for path in self._paths:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        if self.workdir and not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
        for s, handler in self._saved.items():
            signal.signal(s, handler)
