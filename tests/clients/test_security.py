"""Account isolation and cleartext-login policy against a real `tidings serve`: a user can never
reach another user's mail whatever the mailbox name says, and with loopback not trusted the
server advertises LOGINDISABLED until STARTTLS.
"""

import imaplib
import os
import ssl
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from server import BIN, Server  # noqa: E402

SECRET = b"From: alice@example.com\r\nSubject: alice only\r\n\r\nthe secret of alice\r\n"

HOSTILE_NAMES = [
    "../alice/INBOX", "../alice", "/alice/INBOX", "~alice/INBOX", "~alice", "alice/INBOX",
    "/", "~", "..", "../../", "INBOX/../../alice/INBOX", "#users/alice/INBOX",
    "&AC4ALg-/alice/INBOX",  # "../" spelled in modified UTF-7 (not canonical: refused)
    "%2e%2e/alice/INBOX", "\\alice\\INBOX",
]


def add_user(data_dir, name, password):
    res = subprocess.run([BIN, "user", "add", name, "--password-stdin", "--data-dir", data_dir],
                         input=password.encode() + b"\n", capture_output=True, timeout=60)
    assert res.returncode == 0, res.stderr


def quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class IsolationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="tidings-sec-")
        add_user(cls.tmp.name, "alice", "alice-pw")
        add_user(cls.tmp.name, "bob", "bob-pw")
        cls.server = Server(data_dir=cls.tmp.name).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.tmp.cleanup()

    def login(self, user, pw):
        imap = imaplib.IMAP4("127.0.0.1", self.server.ports["imap"], timeout=20)
        imap.login(user, pw)
        return imap

    def test_bob_cannot_reach_alice_by_any_name(self):
        alice = self.login("alice", "alice-pw")
        alice.append("INBOX", None, None, SECRET)
        bob = self.login("bob", "bob-pw")
        for name in HOSTILE_NAMES:
            q = quote(name)
            for cmd, args in [("SELECT", (q,)), ("EXAMINE", (q,)), ("STATUS", (q, "(MESSAGES)")),
                              ("DELETE", (q,)), ("RENAME", (q, "Stolen"))]:
                try:
                    typ, data = bob._simple_command(cmd, *args)
                except imaplib.IMAP4.error as e:  # BAD: refused as a malformed name
                    typ, data = "BAD", [str(e)]
                self.assertNotEqual(typ, "OK", f"{cmd} {name} -> {typ} {data}")
            # APPEND may only ever land in bob's own account; it must not reach alice.
            try:
                bob.append(q, None, None, b"Subject: spam\r\n\r\nspam\r\n")
            except imaplib.IMAP4.error:
                pass
        bob.select("INBOX")
        # Everything bob can list, he can open: none of it holds alice's message.
        typ, boxes = bob.list('""', "*")
        for line in boxes:
            name = line.decode().rsplit(' "/" ', 1)[1].strip('"')
            if bob.select(quote(name))[0] == "OK":
                typ, hits = bob.search(None, "BODY", "secret")
                self.assertEqual(hits, [b""], f"alice's mail visible in bob's {name}")
        # Alice still has exactly her one message, and nothing was appended or renamed away.
        self.assertEqual(alice.select("INBOX")[1], [b"1"])
        typ, names = alice.list('""', "*")
        self.assertEqual(len(names), 6, names)
        alice.logout()
        bob.logout()


class LoginDisabledTest(unittest.TestCase):
    def test_cleartext_login_needs_starttls_when_loopback_is_not_trusted(self):
        tmp = tempfile.TemporaryDirectory(prefix="tidings-ld-")
        cfg = os.path.join(tmp.name, "tidings.toml")
        with open(cfg, "w") as f:
            f.write("plaintext_auth_on_loopback = false\n")
        server = Server(extra_args=["--config", cfg]).start()
        try:
            imap = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=20)
            self.assertIn("LOGINDISABLED", imap.capabilities)
            self.assertNotIn("AUTH=PLAIN", imap.capabilities)
            with self.assertRaises(imaplib.IMAP4.error):
                imap.login("demo", "demo")
            ctx = ssl.create_default_context(cafile=server.cert)
            imap.starttls(ssl_context=ctx)
            self.assertNotIn("LOGINDISABLED", imap.capabilities)
            self.assertEqual(imap.login("demo", "demo")[0], "OK")
            imap.logout()
        finally:
            server.cleanup()
            tmp.cleanup()



class LimitsTest(unittest.TestCase):
    def test_connection_limit_per_address_and_preauth_timeout(self):
        tmp = tempfile.TemporaryDirectory(prefix="tidings-lim-")
        cfg = os.path.join(tmp.name, "tidings.toml")
        with open(cfg, "w") as f:
            f.write("max_connections_per_ip = 2\npreauth_timeout_secs = 1\n")
        server = Server(extra_args=["--config", cfg]).start()
        try:
            import socket
            import time
            first = socket.create_connection(("127.0.0.1", server.ports["imap"]), timeout=10)
            second = socket.create_connection(("127.0.0.1", server.ports["imap"]), timeout=10)
            self.assertTrue(first.makefile("rb").readline().startswith(b"* OK"))
            f2 = second.makefile("rb")
            self.assertTrue(f2.readline().startswith(b"* OK"))
            third = socket.create_connection(("127.0.0.1", server.ports["imap"]), timeout=10)
            self.assertEqual(third.makefile("rb").readline(), b"* BYE Too many connections from your address.\r\n")
            third.close()
            # Nobody logged in: after the pre-auth timeout the server says BYE and closes.
            self.assertTrue(f2.readline().startswith(b"* BYE"))
            self.assertEqual(f2.readline(), b"")
            first.close()
            second.close()
            # The slots are free again.
            again = socket.create_connection(("127.0.0.1", server.ports["imap"]), timeout=10)
            self.assertTrue(again.makefile("rb").readline().startswith(b"* OK"))
            again.close()
        finally:
            server.cleanup()
            tmp.cleanup()



class ShutdownTest(unittest.TestCase):
    def test_sigterm_says_bye_to_clients_and_exits_cleanly(self):
        import socket
        server = Server().start()
        try:
            idle = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=20)
            idle.login("demo", "demo")
            idle.select("INBOX")
            tag = idle._new_tag().decode()
            idle.send(f"{tag} IDLE\r\n".encode())
            self.assertTrue(idle.readline().startswith(b"+"))
            raw = socket.create_connection(("127.0.0.1", server.ports["imap"]), timeout=10)
            rf = raw.makefile("rb")
            rf.readline()
            self.assertEqual(server.stop(), 0)
            self.assertEqual(idle.readline(), b"* BYE Server shutting down.\r\n")
            self.assertEqual(rf.readline(), b"* BYE Server shutting down.\r\n")
            raw.close()
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
