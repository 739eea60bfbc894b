"""Start and stop a real `tidings serve` on loopback for client tests.

The server binds port 0 and prints `listening imap HOST:PORT` lines; we read the real ports
from them. Every server started here is stopped (SIGTERM, then SIGKILL) by the caller.
"""

import os
import re
import signal
import subprocess
import tempfile
import threading
import time

BIN = os.environ.get("TIDINGS_BIN", os.path.join(os.path.dirname(__file__), "../../target/debug/tidings"))


class Server:
    """A running `tidings serve` with its data dir and listening ports."""

    def __init__(self, data_dir=None, extra_args=()):
        self.tmp = None
        if data_dir is None:
            self.tmp = tempfile.TemporaryDirectory(prefix="tidings-test-")
            data_dir = self.tmp.name
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.proc = None
        self.ports = {}
        self.lines = []

    def start(self, timeout=30):
        args = [BIN, "serve", "--data-dir", self.data_dir,
                "--imap", "127.0.0.1:0", "--imaps", "127.0.0.1:0", "--lmtp", "127.0.0.1:0",
                *self.extra_args]
        env = dict(os.environ, TIDINGS_LOG=os.environ.get("TIDINGS_LOG", "warn"))
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env)
        deadline = time.time() + timeout
        want = {"imap", "imaps", "lmtp"}
        while want - set(self.ports):
            if time.time() > deadline:
                self.stop()
                raise RuntimeError(f"server did not start: {self.lines}")
            line = self.proc.stdout.readline()
            if not line:
                err = self.proc.stderr.read()
                raise RuntimeError(f"server exited: {self.lines} {err}")
            self.lines.append(line.rstrip())
            m = re.match(r"listening (\w+) ([\d.]+):(\d+)", line)
            if m:
                self.ports[m.group(1)] = int(m.group(3))
        # Keep draining both pipes so the server never blocks on a full pipe.
        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=_drain, args=(stream, self.lines), daemon=True).start()
        return self

    @property
    def cert(self):
        return os.path.join(self.data_dir, "tls", "dev-cert.pem")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            for stream in (self.proc.stdout, self.proc.stderr):
                try:
                    stream.close()
                except Exception:
                    pass
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        self.stop()
        if self.tmp:
            self.tmp.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()


def _drain(stream, sink):
    for line in stream:
        sink.append(line.rstrip())
