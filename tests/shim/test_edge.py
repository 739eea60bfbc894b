#!/usr/bin/env python3
"""The edge host (web-demo/edge/server.mjs: the wasm engine under Node, IMAP over `net`)
answering Python's imaplib: login, list, select, append, fetch, store, IDLE push between two
connections, and the optional JSON snapshot surviving a restart.

Needs web-demo/pkg-node (web-demo/build.sh). Run: python3 tests/shim/test_edge.py
Env: TIDINGS_PKG_NODE (default web-demo/pkg-node).
"""

import imaplib
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ROOT, Results  # noqa: E402

PKG = os.environ.get("TIDINGS_PKG_NODE", os.path.join(ROOT, "web-demo", "pkg-node"))
TIMEOUT = 15
MSG = (b"From: Edge <edge@example.org>\r\nTo: demo@localhost\r\nSubject: At the edge\r\n"
       b"Date: Wed, 25 Nov 2026 12:00:00 +0000\r\n\r\nServed by wasm under Node.\r\n")


class Edge:
    def __init__(self, *extra):
        args = ["node", os.path.join(ROOT, "web-demo", "edge", "server.mjs"), "--port", "0",
                "--pkg", PKG, *extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=dict(os.environ, TIDINGS_LOG="off"))
        lines = queue.Queue()

        def pump():
            for line in self.proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        self.addr = None
        deadline = time.monotonic() + TIMEOUT
        while self.addr is None:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("edge host did not start: " + self.proc.stderr.read())
            if line.startswith("listening imap "):
                host, _, port = line.split()[2].rpartition(":")
                self.addr = (host, int(port))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def ok(resp):
    typ, data = resp
    assert typ == "OK", (typ, data)
    return data


def login(edge):
    m = imaplib.IMAP4(*edge.addr, timeout=TIMEOUT)
    ok(m.login("demo", "demo"))
    return m


def t_session(edge):
    m = imaplib.IMAP4(*edge.addr, timeout=TIMEOUT)
    assert m.welcome.startswith(b"* OK"), m.welcome
    try:
        m.login("demo", "wrong")
        raise AssertionError("bad password accepted")
    except imaplib.IMAP4.error:
        pass
    ok(m.login("demo", "demo"))
    names = b" ".join(ok(m.list()))
    assert b"INBOX" in names and b"Sent" in names, names
    assert ok(m.select("INBOX"))[0] == b"0"
    assert b"APPENDUID" in ok(m.append("INBOX", r"(\Flagged)", None, MSG))[0]
    ok(m.noop())
    data = ok(m.fetch("1", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[]<0.4>)"))
    assert data[0][1] == b"Subject: At the edge\r\n\r\n", data
    assert data[1][1] == b"From", data
    assert b"\\Flagged" in data[0][0], data
    data = ok(m.fetch("1", "(BODY[])"))
    assert data[0][1] == MSG
    data = ok(m.store("1", "+FLAGS", r"(\Answered)"))
    assert b"\\Answered" in data[0] and b"\\Seen" in data[0], data
    assert m.logout()[0] == "BYE"


def t_idle_push(edge):
    a, b = login(edge), login(edge)
    ok(b.select("INBOX"))
    n = int(ok(a.select("INBOX"))[0])
    b.sock.settimeout(TIMEOUT)
    tag = b._new_tag()
    b.send(tag + b" IDLE\r\n")
    assert b.readline().startswith(b"+")
    ok(a.append("INBOX", None, None, MSG))
    line = b.readline()
    while b"EXISTS" not in line:
        assert line, "closed while idling"
        line = b.readline()
    assert line == b"* %d EXISTS\r\n" % (n + 1), line
    b.send(b"DONE\r\n")
    line = b.readline()
    while not line.startswith(tag):
        line = b.readline()
    assert line.startswith(tag + b" OK"), line
    a.logout()
    b.logout()


def t_snapshot_survives_restart():
    path = os.path.join(tempfile.mkdtemp(prefix="edge-snap-"), "mail.json")
    edge = Edge("--snapshot", path)
    try:
        m = login(edge)
        ok(m.create("Projects"))
        ok(m.append("Projects", r"(\Flagged \Seen)", None, MSG))
        m.logout()
        time.sleep(0.5)  # the snapshot is written shortly after a change
    finally:
        edge.stop()
    assert os.path.getsize(path) > 0
    edge = Edge("--snapshot", path)
    try:
        m = login(edge)
        assert ok(m.select("Projects"))[0] == b"1"
        data = ok(m.fetch("1", "(FLAGS BODY.PEEK[])"))
        assert data[0][1] == MSG, data
        assert b"\\Flagged" in data[0][0] and b"\\Seen" in data[0][0], data
        m.logout()
    finally:
        edge.stop()


def main():
    results = Results()
    if not os.path.exists(os.path.join(PKG, "tidings_web.js")):
        print(f"{PKG} is missing: run web-demo/setup.sh && web-demo/build.sh")
        results.failed += 1
        results.finish()
    edge = Edge()
    try:
        results.check("imaplib session: login (bad and good), list, select, append, fetch, store",
                      t_session, edge)
        results.check("IDLE push between two connections", t_idle_push, edge)
    finally:
        edge.stop()
    results.check("JSON snapshot survives a restart (mailboxes, messages, flags)",
                  t_snapshot_survives_restart)
    results.finish()


if __name__ == "__main__":
    main()
