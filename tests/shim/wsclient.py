"""A minimal WebSocket client (RFC 6455) on the standard library, for the shim's tests.

Just enough to play the page: handshake with a subprotocol, masked binary frames out,
fragmented/unfragmented binary frames in, ping/pong and close. No extensions.
"""

import base64
import hashlib
import os
import socket
import struct

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class HandshakeError(Exception):
    def __init__(self, status, body):
        super().__init__(f"handshake refused: {status} {body!r}")
        self.status = status
        self.body = body


class Closed(Exception):
    def __init__(self, code=None, reason=b""):
        super().__init__(f"closed: {code} {reason!r}")
        self.code = code
        self.reason = reason


class WebSocket:
    def __init__(self, host, port, path="/shim", protocols=("tidings-shim.v1",),
                 origin=None, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if protocols:
            lines.append("Sec-WebSocket-Protocol: " + ", ".join(protocols))
        if origin:
            lines.append(f"Origin: {origin}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            head += chunk
        head, _, rest = head.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n")[0].decode(errors="replace")
        status = int(status_line.split()[1]) if len(status_line.split()) > 1 else 0
        if status != 101:
            body = rest
            try:
                while True:
                    chunk = self.sock.recv(4096)
                    if not chunk:
                        break
                    body += chunk
            except OSError:
                pass
            self.sock.close()
            raise HandshakeError(status, body)
        headers = {}
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != want:
            raise HandshakeError(status, b"bad Sec-WebSocket-Accept")
        self.protocol = headers.get("sec-websocket-protocol")
        self.buf = rest
        self.closed = False

    def _read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed(None, b"eof")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send_frame(self, opcode, payload):
        head = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def send_binary(self, payload):
        self._send_frame(0x2, bytes(payload))

    def send_text(self, text):
        self._send_frame(0x1, text.encode())

    def recv(self):
        """Next data message as (opcode, bytes); raises Closed on a close frame or EOF."""
        message, msg_op = b"", None
        while True:
            b0, b1 = self._read_exact(2)
            fin, opcode, n = b0 & 0x80, b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read_exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read_exact(8))[0]
            if b1 & 0x80:
                mask = self._read_exact(4)
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(self._read_exact(n)))
            else:
                payload = self._read_exact(n)
            if opcode == 0x9:
                self._send_frame(0xA, payload)
                continue
            if opcode == 0xA:
                continue
            if opcode == 0x8:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                if not self.closed:
                    try:
                        self._send_frame(0x8, payload[:2])
                    except OSError:
                        pass
                self.closed = True
                raise Closed(code, payload[2:])
            if opcode in (0x1, 0x2):
                msg_op = opcode
            message += payload
            if fin:
                return msg_op, message

    def close(self, code=1000):
        if not self.closed:
            self.closed = True
            try:
                self._send_frame(0x8, struct.pack(">H", code))
            except OSError:
                pass
        try:
            self.sock.close()
        except OSError:
            pass
