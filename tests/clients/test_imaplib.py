"""Python's stdlib imaplib (a client we did not write) against a real `tidings serve`.

Covers login, list, create, append, select, search, fetch (flags, headers, BODY[],
BODYSTRUCTURE, ENVELOPE), store, copy, move, expunge, status, IDLE push from a second
connection, STARTTLS, implicit TLS and a wrong password.
"""

import imaplib
import os
import socket
import ssl
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from server import Server  # noqa: E402

USER, PASSWORD = "demo", "demo"
MESSAGE = (b"From: Alice <alice@example.com>\r\nTo: demo@example.com\r\n"
           b"Subject: Hello from imaplib\r\nDate: Mon, 23 Jun 2025 09:06:36 -1000\r\n"
           b"Message-ID: <imaplib-1@example.com>\r\n"
           b"Content-Type: text/plain; charset=UTF-8\r\n\r\nwork to do\r\n")


def setUpModule():
    global SERVER
    SERVER = Server().start()


def tearDownModule():
    SERVER.cleanup()


def connect():
    imap = imaplib.IMAP4("127.0.0.1", SERVER.ports["imap"], timeout=20)
    imap.login(USER, PASSWORD)
    return imap


def tls_context():
    ctx = ssl.create_default_context(cafile=SERVER.cert)
    ctx.check_hostname = True
    return ctx


class ImaplibTest(unittest.TestCase):
    def test_wrong_password_is_refused(self):
        imap = imaplib.IMAP4("127.0.0.1", SERVER.ports["imap"], timeout=20)
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            imap.login(USER, "not-the-password")
        self.assertIn(b"AUTHENTICATIONFAILED", str(cm.exception).encode())
        imap.logout()

    def test_list_shows_special_use_folders(self):
        imap = connect()
        typ, data = imap.list()
        self.assertEqual(typ, "OK")
        lines = [d.decode() for d in data]
        self.assertIn('(\\HasNoChildren) "/" INBOX', lines)
        self.assertIn('(\\HasNoChildren \\Trash) "/" Trash', lines)
        imap.logout()

    def test_create_rename_delete_status(self):
        imap = connect()
        self.assertEqual(imap.create("Projects/Tidings")[0], "OK")
        self.assertEqual(imap.rename("Projects", "Work")[0], "OK")
        typ, data = imap.list('""', "Work/*")
        self.assertEqual([d.decode() for d in data], ['(\\HasNoChildren) "/" Work/Tidings'])
        typ, data = imap.status("Work/Tidings", "(MESSAGES UIDNEXT)")
        self.assertEqual(data[0].decode(), "Work/Tidings (MESSAGES 0 UIDNEXT 1)")
        self.assertEqual(imap.delete("Work/Tidings")[0], "OK")
        self.assertEqual(imap.delete("Work")[0], "OK")
        typ, data = imap.select("Nope")
        self.assertEqual(typ, "NO")
        imap.logout()

    def test_append_select_search_fetch_store_copy_move_expunge(self):
        imap = connect()
        imap.create("Box1")
        typ, data = imap.append("Box1", "(\\Flagged)", None, MESSAGE)
        self.assertEqual(typ, "OK")
        self.assertIn(b"APPENDUID", data[0])
        typ, data = imap.select("Box1")
        self.assertEqual((typ, data), ("OK", [b"1"]))
        self.assertEqual(imap.search(None, "SUBJECT", "imaplib"), ("OK", [b"1"]))
        self.assertEqual(imap.search(None, "BODY", "nothing-like-this"), ("OK", [b""]))
        typ, data = imap.fetch("1", "(FLAGS)")
        self.assertIn(b"\\Flagged", data[0])
        self.assertNotIn(b"\\Seen", data[0])
        typ, data = imap.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(data[0][1], b"Subject: Hello from imaplib\r\n\r\n")
        typ, data = imap.fetch("1", "(ENVELOPE BODYSTRUCTURE)")
        text = data[0].decode()
        self.assertIn('"Hello from imaplib" (("Alice" NIL "alice" "example.com"))', text)
        self.assertIn('BODYSTRUCTURE ("text" "plain" ("charset" "UTF-8") NIL NIL "7bit" 12 1', text)
        typ, data = imap.fetch("1", "(BODY[])")
        self.assertEqual(data[0][1], MESSAGE)
        self.assertIn(b"\\Seen", data[0][0] + data[1])  # BODY[] (not PEEK) set \Seen
        typ, data = imap.store("1", "+FLAGS", "(\\Answered $Done)")
        self.assertIn(b"\\Answered", data[0])
        self.assertIn(b"$Done", data[0])
        typ, data = imap.uid("COPY", "1", "Archive")
        self.assertEqual(typ, "OK")
        typ, data = imap.uid("MOVE", "1", "Trash")
        self.assertEqual(typ, "OK")
        self.assertEqual(imap.select("Box1")[1], [b"0"])
        imap.select("Archive")
        typ, data = imap.fetch("1:*", "(FLAGS)")
        self.assertIn(b"$Done", data[-1])
        imap.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
        typ, data = imap.expunge()
        self.assertEqual(typ, "OK")
        self.assertTrue(data[0])  # the expunged sequence numbers
        imap.close()
        imap.delete("Box1")
        imap.logout()

    def test_fetching_every_body_of_a_big_folder(self):
        # 48 x 100 KiB: the server sends the answer in parts (it pauses each MiB); the
        # client must get every message whole, in order, then the tagged OK, and a command
        # sent right behind it answered after it.
        imap = connect()
        imap.create("Big")
        bodies = []
        for i in range(48):
            head = f"Subject: big {i}\r\nMessage-ID: <big-{i}@example.com>\r\n\r\n".encode()
            body = head + (f"line {i} of a long message\r\n".encode() * 3700)
            self.assertEqual(imap.append("Big", None, None, body)[0], "OK")
            bodies.append(body)
        imap.select("Big", readonly=True)
        typ, data = imap.fetch("1:*", "(UID BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        got = [d for d in data if isinstance(d, tuple)]
        self.assertEqual(len(got), 48)
        for i, (meta, body) in enumerate(got):
            self.assertIn(f"{i + 1} (UID {i + 1} BODY[] {{{len(bodies[i])}}}".encode(), meta)
            self.assertEqual(body, bodies[i])
        self.assertEqual(imap.noop()[0], "OK")
        imap.close()
        imap.delete("Big")
        imap.logout()

    def test_idle_push_from_a_second_connection(self):
        watcher = connect()
        watcher.create("Watched")
        watcher.select("Watched")
        tag = watcher._new_tag().decode()
        watcher.send(f"{tag} IDLE\r\n".encode())
        self.assertTrue(watcher.readline().startswith(b"+"))
        writer = connect()
        writer.append("Watched", None, None, MESSAGE)
        watcher.sock.settimeout(10)
        pushed = [watcher.readline(), watcher.readline()]
        self.assertEqual(pushed, [b"* 1 EXISTS\r\n", b"* 1 RECENT\r\n"])
        watcher.send(b"DONE\r\n")
        self.assertTrue(watcher.readline().startswith(f"{tag} OK".encode()))
        writer.logout()
        watcher.logout()

    def test_starttls_then_login(self):
        imap = imaplib.IMAP4("127.0.0.1", SERVER.ports["imap"], timeout=20)
        self.assertIn("STARTTLS", imap.capabilities)
        typ, _ = imap.starttls(ssl_context=tls_context())
        self.assertEqual(typ, "OK")
        self.assertNotIn("STARTTLS", imap.capabilities)
        imap.login(USER, PASSWORD)
        self.assertEqual(imap.select("INBOX")[0], "OK")
        imap.logout()

    def test_implicit_tls(self):
        imap = imaplib.IMAP4_SSL("localhost", SERVER.ports["imaps"], ssl_context=tls_context(), timeout=20)
        imap.login(USER, PASSWORD)
        self.assertEqual(imap.noop()[0], "OK")
        imap.logout()

    def test_garbage_gets_bad_and_the_session_survives(self):
        s = socket.create_connection(("127.0.0.1", SERVER.ports["imap"]), timeout=10)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"a1 FROBNICATE\r\n\x00\xff\r\na2 NOOP\r\n")
        replies = [f.readline(), f.readline(), f.readline()]
        self.assertTrue(replies[0].startswith(b"a1 BAD"), replies)
        self.assertTrue(replies[1].startswith(b"* BAD"), replies)
        self.assertTrue(replies[2].startswith(b"a2 OK"), replies)
        s.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
