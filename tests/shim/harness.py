"""Shared bits of the shim tests: build/find the `tidings` binary, start `tidings shim` on
free ports and read its `listening ...` lines, and a tiny pass/fail counter.
"""

import os
import queue
import subprocess
import sys
import threading
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def tidings_bin():
    """The `tidings` binary: $TIDINGS_BIN, else target/debug/tidings built by cargo."""
    path = os.environ.get("TIDINGS_BIN")
    if path:
        return path
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    subprocess.run(["cargo", "build", "-q", "-p", "tidings-host"], cwd=ROOT, check=True)
    return os.path.join(target, "debug", "tidings")


class Shim:
    """A running `tidings shim`; `imap`, `imaps` are (host, port), `url` the page's URL."""

    def __init__(self, extra_args=(), web_root=None, timeout=20.0):
        args = [tidings_bin(), "shim", "--imap", "127.0.0.1:0", "--http", "127.0.0.1:0"]
        if web_root:
            args += ["--web-root", web_root]
        args += list(extra_args)
        env = dict(os.environ, TIDINGS_LOG=os.environ.get("TIDINGS_LOG", "warn"))
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, text=True)
        self.lines = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._collect, daemon=True).start()
        self.imap = self.imaps = self.url = None
        deadline = time.monotonic() + timeout
        while self.url is None or self.imap is None:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                raise RuntimeError("shim did not print its addresses; stderr:\n" + "".join(self.stderr))
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError("shim exited; stderr:\n" + "".join(self.stderr))
            parts = line.split()
            if parts[:2] == ["listening", "imap"]:
                self.imap = _addr(parts[2])
            elif parts[:2] == ["listening", "imaps"]:
                self.imaps = _addr(parts[2])
            elif parts[:2] == ["listening", "http"]:
                self.url = parts[2]
        rest = self.url.split("//", 1)[1].rstrip("/")
        self.http = _addr(rest)

    @staticmethod
    def _pump(stream, q):
        for line in stream:
            q.put(line.rstrip("\n"))
        q.put(None)

    def _collect(self):
        for line in self.proc.stderr:
            self.stderr.append(line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def _addr(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


class Results:
    """Runs named checks, prints each outcome and the closing `N passed, N failed` line."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, fn, *args):
        started = time.monotonic()
        try:
            fn(*args)
        except Exception:
            self.failed += 1
            print(f"FAIL {name}")
            traceback.print_exc(file=sys.stdout)
        else:
            self.passed += 1
            print(f"ok   {name} ({time.monotonic() - started:.2f}s)")
        sys.stdout.flush()

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed or not self.passed else 0)
