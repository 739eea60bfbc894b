"""The seed's Thunderbird session sent over a real TCP socket to `tidings serve`: same client
lines, same untagged data, codes and tagged results as Dovecot gave (human text may differ).
"""

import os
import re
import socket
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from server import BIN, Server  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = open(os.path.join(HERE, "../../engine/tests/fixtures/seed-work.eml"), "rb").read()
FIRST = b"From: alice <alice@localdomain>\r\nSubject: Hello\r\n\r\nhello\r\n"


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.f = self.sock.makefile("rb")
        self.greeting = self.f.readline()

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def until(self, tag):
        """Every line up to and including the tagged reply (literals kept inline)."""
        out = b""
        while True:
            line = self.f.readline()
            if not line:
                raise AssertionError(f"connection closed; got {out!r}")
            out += line
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if m:
                out += self.f.read(int(m.group(1)))
                continue
            if line.startswith(tag.encode() + b" "):
                return out

    def cmd(self, tag, text):
        self.send(f"{tag} {text}\r\n")
        return self.until(tag)


def check(test, got, expected):
    lines = got.decode("latin-1").split("\r\n")[:-1]
    test.assertEqual(len(lines), len(expected), got)
    for line, want in zip(lines, expected):
        pattern = re.escape(want).replace("<n>", r"\d+").replace("<any>", ".*")
        if re.fullmatch(r"\S+ (OK|NO|BAD|BYE)( \[.*\])?", want):
            pattern += "( .*)?"
        test.assertRegex(line, "^" + pattern + "$")


def replay_seed(test, port, user, password, mailbox="INBOX"):
    """Replays the seed's Thunderbird session against an IMAP server at 127.0.0.1:`port`.

    `mailbox` must exist and be empty (the seed uses INBOX). `test` supplies the asserts.
    """
    import base64
    q = f'"{mailbox}"'
    pre = Conn(port)
    pre.cmd("p1", f"LOGIN {user} {password}")
    pre.send(f"p2 APPEND {q} (\\Seen) {{{len(FIRST)}+}}\r\n".encode() + FIRST + b"\r\n")
    pre.until("p2")
    pre.cmd("p3", f"SELECT {q}")
    pre.cmd("p4", "LOGOUT")

    tb = Conn(port)
    test.assertRegex(tb.greeting.decode(),
                     r"^\* OK \[CAPABILITY IMAP4rev1 SASL-IR ID ENABLE IDLE LITERAL\+( STARTTLS)? AUTH=PLAIN AUTH=LOGIN\] ")
    tb.send("41 authenticate PLAIN\r\n")
    test.assertEqual(tb.f.readline(), b"+ \r\n")
    tb.send(base64.b64encode(f"\0{user}\0{password}".encode()) + b"\r\n")
    check(test, tb.until("41"), ["41 OK [CAPABILITY <any>]"])
    check(test, tb.cmd("42", 'ID ("name" "Thunderbird" "version" "139.0.2")'),
          ['* ID ("name" "Tidings<any>" "version" "<any>")', "42 OK"])
    check(test, tb.cmd("43", f"select {q}"), [
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)]",
        "* 1 EXISTS", "* 0 RECENT", "* OK [UIDVALIDITY <n>]", "* OK [UIDNEXT 2]",
        "43 OK [READ-WRITE]"])
    check(test, tb.cmd("44", "UID fetch 1:* (FLAGS)"), ["* 1 FETCH (UID 1 FLAGS (\\Seen))", "44 OK"])
    tb.send("45 IDLE\r\n")
    test.assertEqual(tb.f.readline(), b"+ idling\r\n")
    tb.send("DONE\r\n")
    check(test, tb.until("45"), ["45 OK"])
    check(test, tb.cmd("46", "noop"), ["46 OK"])

    tb.send("51 IDLE\r\n")
    test.assertEqual(tb.f.readline(), b"+ idling\r\n")
    mta = Conn(port)
    mta.cmd("m1", f"LOGIN {user} {password}")
    mta.send(f"m2 APPEND {q} {{{len(WORK)}}}\r\n")
    test.assertTrue(mta.f.readline().startswith(b"+ "))
    mta.send(WORK + b"\r\n")
    mta.until("m2")
    test.assertEqual([tb.f.readline(), tb.f.readline()], [b"* 2 EXISTS\r\n", b"* 1 RECENT\r\n"])
    tb.send("DONE\r\n")
    check(test, tb.until("51"), ["51 OK"])
    check(test, tb.cmd("52", "noop"), ["52 OK"])
    check(test, tb.cmd("53", "UID fetch 2:* (FLAGS)"), ["* 2 FETCH (UID 2 FLAGS (\\Recent))", "53 OK"])
    got = tb.cmd("54", "UID fetch 2 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc "
                       "Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To "
                       "Content-Type Reply-To)])")
    test.assertTrue(got.startswith(
        b"* 2 FETCH (UID 2 RFC822.SIZE 621 FLAGS (\\Recent) BODY[HEADER.FIELDS (FROM TO CC BCC SUBJECT "
        b"DATE MESSAGE-ID PRIORITY X-PRIORITY REFERENCES NEWSGROUPS IN-REPLY-TO CONTENT-TYPE REPLY-TO)] "
        b"{230}\r\nMessage-ID: <157dc58f-fa68-4420-a6ee-5df03682db72@localdomain>\r\n"), got)
    got = tb.cmd("55", "UID fetch 2 (UID RFC822.SIZE BODY.PEEK[])")
    test.assertTrue(got.startswith(b"* 2 FETCH (UID 2 RFC822.SIZE 621 BODY[] {621}\r\n" + WORK + b")\r\n"), got)
    got = tb.cmd("56", "UID fetch 2 (UID BODY.PEEK[HEADER.FIELDS (Content-Type Content-Transfer-Encoding)] "
                       "BODY.PEEK[TEXT]<0.2048>)")
    test.assertIn(b"Content-Transfer-Encoding: 7bit\r\n\r\n BODY[TEXT]<0> {8}\r\nwork\r\n\r\n)\r\n", got)
    check(test, tb.cmd("59", "UID fetch 3:* (FLAGS)"), ["* 2 FETCH (UID 2 FLAGS (\\Recent))", "59 OK"])
    check(test, tb.cmd("60", "uid store 2 +Flags (\\Seen)"),
          ["* 2 FETCH (UID 2 FLAGS (\\Seen \\Recent))", "60 OK"])
    # The delete flow: UID MOVE to Trash, as Thunderbird deletes.
    got = tb.cmd("61", 'uid move 2 "Trash"')
    test.assertRegex(got.decode("latin-1"), r"^\* OK \[COPYUID \d+ 2 \d+\][^\r]*\r\n\* 2 EXPUNGE\r\n61 OK")
    tb.send("62 IDLE\r\n")
    test.assertEqual(tb.f.readline(), b"+ idling\r\n")
    tb.send("DONE\r\n")
    tb.until("62")
    check(test, tb.cmd("63", "logout"), ["* BYE", "63 OK"])
    mta.cmd("m3", "LOGOUT")


class SeedOverTcp(unittest.TestCase):
    def test_thunderbird_session(self):
        tmp = tempfile.TemporaryDirectory(prefix="tidings-seed-")
        subprocess.run([BIN, "user", "add", "bob", "--password-stdin", "--data-dir", tmp.name],
                       input=b"00000000\n", check=True, capture_output=True, timeout=60)
        server = Server(data_dir=tmp.name).start()
        try:
            replay_seed(self, server.ports["imap"], "bob", "00000000")
        finally:
            server.cleanup()
            tmp.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
