#!/usr/bin/env python3
"""`tidings shim` relay tests with a fake page: a Python WebSocket client that answers like a
tiny canned IMAP server. Checks framing, two simultaneous clients, odd chunkings both ways,
close propagation both ways, the no-page BYE, page replacement, HTTP files and implicit TLS.

Run: python3 tests/shim/test_relay.py   (builds target/debug/tidings if needed)
"""

import json
import os
import random
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Results, Shim  # noqa: E402
from wsclient import Closed, HandshakeError, WebSocket  # noqa: E402

HELLO, OPEN, DATA, CLOSE = 0, 1, 2, 3
TIMEOUT = 10.0


def frame(kind, conn_id, payload=b""):
    return bytes([kind]) + struct.pack(">I", conn_id) + payload


def odd_chunks(data, rng):
    """Splits data into pieces of 1..7 bytes, so no frame boundary matches a line."""
    i = 0
    while i < len(data):
        n = rng.randint(1, 7)
        yield data[i:i + n]
        i += n


class FakePage:
    """Plays the page: for each connection, a canned server answering `tag ECHO x`,
    `tag BIG n` (an n-byte literal) and `tag LOGOUT` (then closes the connection)."""

    def __init__(self, shim, seed=1):
        self.ws = WebSocket(*shim.http)
        self.rng = random.Random(seed)
        self.hello = None
        self.opened = {}     # id -> info dict
        self.closed = {}     # id -> reason (client side closed)
        self.buffers = {}
        self.close_code = None
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.wait(lambda: self.hello is not None, "HELLO")

    def wait(self, pred, what, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}")
                self.cond.wait(left)

    def send_chunked(self, conn_id, data):
        for piece in odd_chunks(data, self.rng):
            self.ws.send_binary(frame(DATA, conn_id, piece))

    def _run(self):
        try:
            while True:
                _, msg = self.ws.recv()
                kind, conn_id, payload = msg[0], struct.unpack(">I", msg[1:5])[0], msg[5:]
                with self.cond:
                    if kind == HELLO:
                        self.hello = json.loads(payload)
                    elif kind == OPEN:
                        self.opened[conn_id] = json.loads(payload)
                        self.buffers[conn_id] = b""
                    elif kind == CLOSE:
                        self.closed[conn_id] = payload
                    self.cond.notify_all()
                if kind == OPEN:
                    self.send_chunked(conn_id, b"* OK fake page ready\r\n")
                elif kind == DATA:
                    self._on_data(conn_id, payload)
        except (Closed, OSError) as e:
            with self.cond:
                self.close_code = getattr(e, "code", None) or -1
                self.cond.notify_all()

    def _on_data(self, conn_id, payload):
        self.buffers[conn_id] += payload
        while b"\r\n" in self.buffers[conn_id]:
            line, _, self.buffers[conn_id] = self.buffers[conn_id].partition(b"\r\n")
            tag, _, rest = line.partition(b" ")
            cmd, _, arg = rest.partition(b" ")
            cmd = cmd.upper()
            if cmd == b"ECHO":
                self.send_chunked(conn_id, b"* ECHO " + arg + b"\r\n" + tag + b" OK ECHO done\r\n")
            elif cmd == b"BIG":
                n = int(arg)
                body = bytes(self.rng.randrange(256) for _ in range(n))
                with self.cond:
                    self.last_big = body  # before sending: the client may read it at once
                out = b"* BIG {%d}\r\n" % n + body + b"\r\n" + tag + b" OK BIG done\r\n"
                # Large pieces this time, up to 64 KiB, still not aligned to anything.
                i = 0
                while i < len(out):
                    k = self.rng.randint(1, 65536)
                    self.ws.send_binary(frame(DATA, conn_id, out[i:i + k]))
                    i += k
            elif cmd == b"LOGOUT":
                self.send_chunked(conn_id, b"* BYE logging out\r\n" + tag + b" OK LOGOUT done\r\n")
                self.ws.send_binary(frame(CLOSE, conn_id, b"logout"))
            else:
                self.send_chunked(conn_id, tag + b" BAD unknown\r\n")

    def close(self):
        self.ws.close()
        self.thread.join(timeout=TIMEOUT)


class Client:
    def __init__(self, addr, tls=False):
        sock = socket.create_connection(addr, timeout=TIMEOUT)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(sock, server_hostname="localhost")
        self.sock = sock
        self.buf = b""

    def send_chunked(self, data, rng):
        for piece in odd_chunks(data, rng):
            self.sock.sendall(piece)
            time.sleep(0.001 if rng.random() < 0.2 else 0)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"EOF while waiting for a line; have {self.buf!r}")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError("EOF inside a literal")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_to_eof(self):
        data = self.buf
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return data
            data += chunk

    def close(self):
        self.sock.close()


def make_web_root():
    d = tempfile.mkdtemp(prefix="shim-web-")
    os.makedirs(os.path.join(d, "www"))
    os.makedirs(os.path.join(d, "pkg"))
    with open(os.path.join(d, "www", "index.html"), "w") as f:
        f.write("<!doctype html><title>test page</title>")
    with open(os.path.join(d, "pkg", "tidings_web_bg.wasm"), "wb") as f:
        f.write(b"\0asm\1\0\0\0")
    return d


def get(shim, path, headers=None):
    req = urllib.request.Request(shim.url.rstrip("/") + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def raw_http(shim, request):
    with socket.create_connection(shim.http, timeout=TIMEOUT) as s:
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return data
            data += chunk


# ---------------------------------------------------------------------------------------

def t_no_page_bye(shim):
    c = Client(shim.imap)
    data = c.read_to_eof()
    assert data.startswith(b"* BYE "), data
    assert b"No Tidings page is connected" in data and shim.url.encode() in data, data
    assert data.endswith(b"\r\n")


def t_http_files(shim):
    status, headers, body = get(shim, "/")
    assert status == 200 and b"test page" in body, (status, body)
    assert headers["Content-Type"].startswith("text/html")
    status, headers, body = get(shim, "/pkg/tidings_web_bg.wasm")
    assert status == 200 and headers["Content-Type"] == "application/wasm" and body.startswith(b"\0asm")
    status, _, body = get(shim, "/pkg/tidings_web.js")
    assert status == 404 and b"build.sh" in body, (status, body)
    assert get(shim, "/nope.css")[0] == 404
    for bad in [b"/../etc/passwd", b"/%2e%2e/etc/passwd", b"/.git/config"]:
        resp = raw_http(shim, b"GET " + bad + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert resp.startswith(b"HTTP/1.1 400"), (bad, resp[:40])
    resp = raw_http(shim, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 405"), resp[:40]
    resp = raw_http(shim, b"\x16\x03\x01garbage\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 400"), resp[:40]
    resp = raw_http(shim, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 200") and resp.endswith(b"\r\n\r\n"), resp


def t_ws_refusals(shim):
    for kwargs, status in [
        (dict(protocols=()), 400),
        (dict(protocols=("tidings-shim.v0",)), 400),
        (dict(path="/other"), 404),
        (dict(origin="http://evil.example"), 403),
    ]:
        try:
            WebSocket(*shim.http, **kwargs).close()
        except HandshakeError as e:
            assert e.status == status, (kwargs, e.status, e.body)
        else:
            raise AssertionError(f"handshake with {kwargs} was accepted")
    # Same origin (what the served page sends) is fine, and the subprotocol is echoed.
    host, port = shim.http
    ws = WebSocket(host, port, origin=f"http://{host}:{port}")
    assert ws.protocol == "tidings-shim.v1", ws.protocol
    ws.close()


def t_hello(shim, page):
    assert page.hello["imap"] == "%s:%d" % shim.imap, page.hello
    assert page.ws.protocol == "tidings-shim.v1"


def t_two_clients_odd_chunks(shim, page):
    rng = random.Random(7)
    a, b = Client(shim.imap), Client(shim.imap)
    assert a.line() == b"* OK fake page ready"
    assert b.line() == b"* OK fake page ready"
    ids = sorted(page.opened)[-2:]
    assert len(set(ids)) == 2 and all(page.opened[i]["tls"] is False for i in ids)
    assert page.opened[ids[0]]["peer"].startswith("127.0.0.1:")
    # Interleave: a's command byte-by-byte-ish, b's two commands in odd pieces, in two threads.
    errors = []

    def run(client, tag, words):
        try:
            wire = b"".join(b"%s%d ECHO %s\r\n" % (tag, i, w) for i, w in enumerate(words))
            client.send_chunked(wire, random.Random(rng.random()))
            for i, w in enumerate(words):
                assert client.line() == b"* ECHO " + w
                assert client.line() == b"%s%d OK ECHO done" % (tag, i)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    ta = threading.Thread(target=run, args=(a, b"a", [b"alpha %d" % i for i in range(20)]))
    tb = threading.Thread(target=run, args=(b, b"b", [b"beta %d" % i for i in range(20)]))
    ta.start(); tb.start(); ta.join(TIMEOUT * 2); tb.join(TIMEOUT * 2)
    assert not errors, errors
    # A 300 KB literal with arbitrary bytes arrives intact while b keeps talking.
    a.sock.sendall(b"x BIG 300000\r\n")
    b.sock.sendall(b"y ECHO still here\r\n")
    assert b.line() == b"* ECHO still here"
    assert a.line() == b"* BIG {300000}"
    assert a.exact(300000) == page.last_big
    assert a.line() == b""
    assert a.line() == b"x OK BIG done"
    a.close(); b.close()


def t_client_close_reaches_page(shim, page):
    c = Client(shim.imap)
    assert c.line() == b"* OK fake page ready"
    cid = max(page.opened)
    c.sock.sendall(b"q ECHO ")  # half a command, then gone
    c.close()
    page.wait(lambda: cid in page.closed, "CLOSE from the shim")


def t_page_close_reaches_client(shim, page):
    c = Client(shim.imap)
    assert c.line() == b"* OK fake page ready"
    c.send_chunked(b"z LOGOUT\r\n", random.Random(3))
    rest = c.read_to_eof()  # the shim closes after relaying what came before CLOSE
    assert rest == b"* BYE logging out\r\nz OK LOGOUT done\r\n", rest


def t_page_gone_bye(shim):
    page = FakePage(shim, seed=11)
    c = Client(shim.imap)
    assert c.line() == b"* OK fake page ready"
    page.close()
    rest = c.read_to_eof()
    assert rest.startswith(b"* BYE ") and b"went away" in rest, rest
    # And with the page gone, new clients hear so.
    t_no_page_bye(shim)


def t_newer_page_takes_over(shim):
    old = FakePage(shim, seed=21)
    c = Client(shim.imap)
    assert c.line() == b"* OK fake page ready"
    new = FakePage(shim, seed=22)
    old.wait(lambda: old.close_code is not None, "old page closed")
    assert old.close_code == 4001, old.close_code
    assert c.read_to_eof().startswith(b"* BYE "), "client of the old page is told"
    d = Client(shim.imap)
    assert d.line() == b"* OK fake page ready"
    d.sock.sendall(b"n ECHO new page\r\n")
    assert d.line() == b"* ECHO new page"
    assert max(new.opened) not in old.opened
    d.close()
    new.close()


def t_bad_frames_ignored(shim, page):
    c = Client(shim.imap)
    assert c.line() == b"* OK fake page ready"
    cid = max(page.opened)
    page.ws.send_binary(b"\x02\x00")                     # shorter than a header
    page.ws.send_binary(frame(0x7F, cid, b"future"))     # unknown type
    page.ws.send_binary(frame(DATA, 999999, b"nobody"))  # unknown id
    page.ws.send_text("text is not part of v1")
    page.ws.send_binary(frame(DATA, cid, b"* still fine\r\n"))
    assert c.line() == b"* still fine"
    c.close()


def t_implicit_tls(web_root):
    data_dir = tempfile.mkdtemp(prefix="shim-data-")
    shim = Shim(["--imaps", "127.0.0.1:0", "--data-dir", data_dir], web_root=web_root)
    try:
        assert shim.imaps, "no `listening imaps` line"
        page = FakePage(shim, seed=31)
        c = Client(shim.imaps, tls=True)
        assert c.line() == b"* OK fake page ready"
        assert page.opened[max(page.opened)]["tls"] is True
        c.sock.sendall(b"t ECHO over tls\r\n")
        assert c.line() == b"* ECHO over tls"
        c.close()
        page.close()
    finally:
        shim.stop()


def main():
    results = Results()
    web_root = make_web_root()
    shim = Shim(web_root=web_root)
    try:
        results.check("no page: client gets * BYE with the page URL", t_no_page_bye, shim)
        results.check("http: page files, wasm type, 404/400/405, no path escapes", t_http_files, shim)
        results.check("websocket: subprotocol, path and origin checks", t_ws_refusals, shim)
        page = FakePage(shim)
        results.check("page gets HELLO with the IMAP address", t_hello, shim, page)
        results.check("two clients at once, odd chunkings both ways, 300 KB literal",
                      t_two_clients_odd_chunks, shim, page)
        results.check("client close -> CLOSE frame to the page", t_client_close_reaches_page, shim, page)
        results.check("page CLOSE -> client gets pending bytes then EOF",
                      t_page_close_reaches_client, shim, page)
        results.check("malformed/unknown frames from the page are ignored", t_bad_frames_ignored, shim, page)
        page.close()
        results.check("page goes away -> clients get * BYE", t_page_gone_bye, shim)
        results.check("a newer page takes over (close 4001 to the old one)", t_newer_page_takes_over, shim)
    finally:
        shim.stop()
    results.check("implicit TLS terminated at the shim", t_implicit_tls, web_root)
    if results.failed:
        print("shim stderr:\n" + "".join(shim.stderr[-50:]))
    results.finish()


if __name__ == "__main__":
    main()
