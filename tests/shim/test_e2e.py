#!/usr/bin/env python3
"""End to end: `tidings shim` + the demo page (real wasm engine, IndexedDB) in headless
Chromium + Python's imaplib as the IMAP client. Also reloads the page to check that the mail
persisted, and saves a screenshot mid-session to test-artifacts/.

Needs: web-demo/pkg (web-demo/setup.sh && web-demo/build.sh), node_modules/playwright-core
(npm ci), /usr/bin/chromium. Run: python3 tests/shim/test_e2e.py
Env: TIDINGS_WEB_ROOT (default web-demo/), TIDINGS_BIN, CHROMIUM.
"""

import imaplib
import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ROOT, Results, Shim  # noqa: E402

WEB_ROOT = os.environ.get("TIDINGS_WEB_ROOT", os.path.join(ROOT, "web-demo"))
ARTIFACTS = os.path.join(ROOT, "test-artifacts")
TIMEOUT = 20

MSG1 = (b"From: Alice <alice@example.org>\r\nTo: demo@localhost\r\nSubject: First via the shim\r\n"
        b"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\nMessage-ID: <one@e2e>\r\n\r\n"
        b"Hello through TCP, a WebSocket and wasm.\r\n")
MSG2 = (b"From: Bob <bob@example.org>\r\nTo: demo@localhost\r\nSubject: To be moved\r\n"
        b"Date: Wed, 25 Nov 2026 11:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\n"
        b"part one\r\n--XX\r\nContent-Type: text/plain\r\n\r\npart two\r\n--XX--\r\n")
MSG3 = (b"From: Carol <carol@example.org>\r\nSubject: Pushed to the idler\r\n\r\nwake up\r\n")


class Driver:
    """The page in Chromium, via tests/shim/page_driver.mjs (JSON lines over pipes)."""

    def __init__(self, url):
        self.proc = subprocess.Popen(
            ["node", os.path.join(ROOT, "tests", "shim", "page_driver.mjs"), url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        first = self._read(60)
        assert first.get("started"), first

    def _read(self, timeout):
        box = {}
        t = threading.Thread(target=lambda: box.setdefault("line", self.proc.stdout.readline()), daemon=True)
        t.start()
        t.join(timeout)
        line = box.get("line")
        if not line:
            raise AssertionError("page driver gave no answer (timed out or exited)")
        return json.loads(line)

    def cmd(self, line, timeout=60):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self._read(timeout)
        if not reply.get("ok"):
            raise AssertionError(f"page driver: {line}: {reply}")
        return reply.get("value")

    def eval(self, js):
        return self.cmd("eval " + js.replace("\n", " "))

    def wait_for(self, js, what, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.eval(js):
                return
            time.sleep(0.1)
        raise AssertionError(f"page never showed {what}")

    def stop(self):
        try:
            if self.proc.poll() is None:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=20)
        except Exception:  # noqa: BLE001
            pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def connect(shim):
    m = imaplib.IMAP4(*shim.imap, timeout=TIMEOUT)
    typ, _ = m.login("demo", "demo")
    assert typ == "OK"
    return m


def ok(resp):
    typ, data = resp
    assert typ == "OK", (typ, data)
    return data


def literal_of(data):
    """The bytes of the first literal in an imaplib FETCH answer."""
    for item in data:
        if isinstance(item, tuple):
            return item[0], item[1]
    raise AssertionError(f"no literal in {data!r}")


class E2E:
    def __init__(self, shim, page):
        self.shim, self.page = shim, page
        self.c1 = self.c2 = None
        self.uidvalidity = None

    def login_list_select(self):
        self.c1 = connect(self.shim)
        names = [l.decode() for l in ok(self.c1.list())]
        for want in ["INBOX", "Archive", "Sent", "Trash"]:
            assert any(n.endswith(f'"/" {want}') for n in names), names
        count = int(ok(self.c1.select("INBOX"))[0])
        assert count == 0, f"fresh profile should start empty, INBOX has {count}"
        self.uidvalidity = self.c1.untagged_responses.get("UIDVALIDITY", [b"?"])[0]

    def append(self):
        d1 = ok(self.c1.append("INBOX", r"(\Flagged)", None, MSG1))
        d2 = ok(self.c1.append("INBOX", None, None, MSG2))
        assert b"APPENDUID" in d1[0] and b"APPENDUID" in d2[0], (d1, d2)
        # imaplib sends the NOOP that lets the selected view see the new messages.
        ok(self.c1.noop())
        typ, data = self.c1.search(None, "ALL")
        assert data[0].split() == [b"1", b"2"], data

    def fetch(self):
        data = ok(self.c1.fetch("1", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
        head, lit = literal_of(data)
        assert lit == b"Subject: First via the shim\r\n\r\n", lit
        assert b"\\Flagged" in head and b"\\Seen" not in head, head
        head, body = literal_of(ok(self.c1.fetch("1", "(BODY[])")))
        assert body == MSG1, body
        head, part = literal_of(ok(self.c1.fetch("1", "(BODY[]<6.5>)")))
        assert b"BODY[]<6>" in head and part == MSG1[6:11], (head, part)
        flags = ok(self.c1.fetch("1", "(FLAGS)"))[0]
        assert b"\\Seen" in flags, f"BODY[] must set \\Seen: {flags!r}"
        head, p2 = literal_of(ok(self.c1.fetch("2", "(BODY.PEEK[2])")))
        assert p2 == b"part two", p2
        head, hdr = literal_of(ok(self.c1.fetch("2", "(BODY.PEEK[HEADER])")))
        assert hdr.startswith(b"From: Bob") and hdr.endswith(b"\r\n\r\n"), hdr

    def store(self):
        data = ok(self.c1.store("1", "+FLAGS", r"(\Answered)"))
        assert b"\\Answered" in data[0] and b"\\Flagged" in data[0], data
        # The page's message list follows (engine.onChange).
        self.page.wait_for(
            "[...document.querySelectorAll('#messages tbody tr')].some(r => r.dataset.uid === '1' "
            "&& r.querySelector('.flags').textContent.includes('\\\\Answered'))",
            "\\Answered on UID 1 in the message list")

    def uid_move(self):
        uid2 = re.search(rb"UID (\d+)", ok(self.c1.fetch("2", "(UID)"))[0]).group(1).decode()
        typ, data = self.c1.uid("MOVE", uid2, "Archive")
        assert typ == "OK", (typ, data)
        expunged = self.c1.untagged_responses.get("EXPUNGE", [])
        assert b"2" in expunged, f"MOVE must expunge seq 2 from the view: {expunged}"
        typ, data = self.c1.search(None, "ALL")
        assert data[0].split() == [b"1"], data
        typ, data = self.c1.status("Archive", "(MESSAGES)")
        assert b"MESSAGES 1" in data[0], data
        self.page.wait_for(
            "[...document.querySelectorAll('#mailboxes li')].some(li => li.dataset.name === 'Archive' "
            "&& li.querySelector('.count').textContent.trim().endsWith('1'))",
            "Archive with 1 message in the mailbox list")

    def idle_push(self):
        self.c2 = connect(self.shim)
        ok(self.c2.select("INBOX"))
        self.c2.sock.settimeout(TIMEOUT)
        tag = self.c2._new_tag()
        self.c2.send(tag + b" IDLE\r\n")
        assert self.c2.readline().startswith(b"+"), "no continuation for IDLE"
        # Another client appends: the idler hears EXISTS without asking.
        ok(self.c1.append("INBOX", None, None, MSG3))
        line = self.c2.readline()
        while b"EXISTS" not in line:
            assert line, "connection closed while idling"
            line = self.c2.readline()
        assert line == b"* 2 EXISTS\r\n", line
        # The page's form appends too (what a person watching would do).
        self.page.eval("document.getElementById('add-subject').value = 'Added on the page'")
        self.page.eval("document.getElementById('add-submit').click()")
        line = self.c2.readline()
        while b"EXISTS" not in line:
            assert line, "connection closed while idling"
            line = self.c2.readline()
        assert line == b"* 3 EXISTS\r\n", line
        self.c2.send(b"DONE\r\n")
        line = self.c2.readline()
        while not line.startswith(tag):
            line = self.c2.readline()
        assert line.startswith(tag + b" OK"), line

    def two_connections_on_page(self):
        # Both clients are open at once, each with its own engine Connection on the page.
        n = self.page.eval("[...window.tidings.conns.values()].filter(c => c.open && c.key.startsWith('s')).length")
        assert n == 2, n
        ok(self.c1.noop())
        ok(self.c2.noop())
        # The transcript puts new rows on screen in batches (a few times a second).
        wanted = {
            "client IDLE line": lambda r: "client" in r and "IDLE" in r,
            "continuation line": lambda r: "cont" in r,
            "untagged EXISTS": lambda r: "untagged" in r and "EXISTS" in r,
            "tagged OK": lambda r: "tagged-ok" in r,
            "literal": lambda r: "literal" in r and "Hello through TCP" in r,
        }
        deadline = time.monotonic() + TIMEOUT
        while True:
            rows = self.page.eval(
                "[...document.querySelectorAll('#transcript .line')].map(r => r.className + '|' + r.textContent)")
            missing = [what for what, seen in wanted.items() if not any(seen(r) for r in rows)]
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert not missing, f"not in the transcript: {missing}"

    def console(self):
        self.page.cmd("console LOGIN demo demo")
        self.page.cmd("console STATUS INBOX (MESSAGES UNSEEN)")
        self.page.wait_for(
            "document.getElementById('console-log').textContent.includes('* STATUS INBOX (MESSAGES 3')",
            "STATUS answer in the console")

    def screenshot(self):
        self.page.eval("document.querySelector('#mailboxes li[data-name=\"INBOX\"]').click()")
        time.sleep(0.3)
        path = os.path.join(ARTIFACTS, "shim-e2e.png")
        self.page.cmd(f"screenshot {path}")
        assert os.path.getsize(path) > 10000

    def logout(self):
        for c in (self.c1, self.c2):
            typ, _ = c.logout()
            assert typ == "BYE", typ
        self.page.wait_for(
            "[...window.tidings.conns.values()].filter(c => c.open && c.key.startsWith('s')).length === 0",
            "both connections closed on the page")

    def other_clients(self):
        # Implicit TLS ends at the shim; the engine sees a plain byte stream.
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        m = imaplib.IMAP4_SSL(*self.shim.imaps, ssl_context=ctx, timeout=TIMEOUT)
        ok(m.login("demo", "demo"))
        assert ok(m.select("INBOX"))[0] == b"3"
        m.logout()
        # curl, a client written by other people, fetches a message by UID.
        if shutil.which("curl"):
            out = subprocess.run(
                ["curl", "-sS", "--max-time", "15", "-u", "demo:demo",
                 "imap://%s:%d/INBOX;UID=1" % self.shim.imap],
                capture_output=True, timeout=30)
            assert out.returncode == 0, out.stderr
            assert out.stdout == MSG1, out.stdout

    def seed_transcript(self):
        """The seed's Thunderbird session (AUTHENTICATE PLAIN, ID, SELECT, UID FETCH, IDLE with
        a pushed EXISTS/RECENT, header peek, BODY.PEEK[], partial, STORE, UID MOVE to Trash)
        through the shim into the page. INBOX is in use by the steps above, so it runs in an
        empty mailbox of its own."""
        import unittest
        sys.path.insert(0, os.path.join(ROOT, "tests", "clients"))
        from test_seed_tcp import replay_seed

        class Asserts(unittest.TestCase):
            def runTest(self):
                pass

        c = connect(self.shim)
        ok(c.create("Seed"))
        c.logout()
        replay_seed(Asserts(), self.shim.imap[1], "demo", "demo", mailbox="Seed")

    def reload_persists(self):
        # A client connected while the tab reloads loses its session: the shim says BYE.
        stranded = connect(self.shim)
        ok(stranded.select("INBOX"))
        self.page.cmd("reload")
        stranded.sock.settimeout(TIMEOUT)
        line = stranded.readline()
        assert line.startswith(b"* BYE ") and b"went away" in line, line
        assert stranded.readline() == b"", "the shim closes the stranded client"
        c = connect(self.shim)
        count = int(ok(c.select("INBOX"))[0])
        assert count == 3, count
        assert c.untagged_responses.get("UIDVALIDITY", [b"?"])[0] == self.uidvalidity
        flags = ok(c.fetch("1", "(FLAGS)"))[0]
        for f in (b"\\Seen", b"\\Flagged", b"\\Answered"):
            assert f in flags, flags
        _, body = literal_of(ok(c.fetch("1", "(BODY.PEEK[])")))
        assert body == MSG1
        ok(c.select("Archive"))
        _, body = literal_of(ok(c.fetch("1", "(BODY.PEEK[])")))
        assert body == MSG2
        c.logout()
        subjects = self.page.eval(
            "[...document.querySelectorAll('#messages td.subject')].map(td => td.textContent)")
        assert "First via the shim" in subjects and "Added on the page" in subjects, subjects


def main():
    results = Results()
    if not os.path.exists(os.path.join(WEB_ROOT, "pkg", "tidings_web.js")):
        print(f"{WEB_ROOT}/pkg is missing: run web-demo/setup.sh && web-demo/build.sh")
        results.failed += 1
        results.finish()
    if not os.path.isdir(os.path.join(ROOT, "node_modules", "playwright-core")):
        print("node_modules/playwright-core is missing: run npm ci")
        results.failed += 1
        results.finish()
    shim = Shim(["--imaps", "127.0.0.1:0", "--data-dir", tempfile.mkdtemp(prefix="shim-e2e-")],
                web_root=WEB_ROOT)
    page = None
    try:
        page = Driver(shim.url)
        results.check("page loads the engine and connects to the shim", page.cmd, "wait-ready")
        e = E2E(shim, page)
        steps = [
            ("login, list, select", e.login_list_select),
            ("append (with flags), APPENDUID", e.append),
            ("fetch headers, BODY[], partial, section, \\Seen", e.fetch),
            ("store, page list follows", e.store),
            ("UID MOVE to Archive, page mailbox list follows", e.uid_move),
            ("IDLE push from another client and from the page's form", e.idle_push),
            ("two client connections at once, transcript line kinds", e.two_connections_on_page),
            ("in-page console", e.console),
            ("screenshot mid-session", e.screenshot),
            ("logout closes both on the page", e.logout),
            ("implicit TLS via the shim, and curl", e.other_clients),
            ("reload: stranded client gets BYE; mail, flags, UIDVALIDITY persisted", e.reload_persists),
            ("the seed's Thunderbird session through the shim", e.seed_transcript),
        ]
        for name, fn in steps:
            results.check(name, fn)
        if results.failed:
            print("page log:", json.dumps(page.cmd("log"), indent=1))
    finally:
        if page:
            page.stop()
        shim.stop()
    if results.failed:
        print("shim stderr:\n" + "".join(shim.stderr[-40:]))
    results.finish()


if __name__ == "__main__":
    main()
