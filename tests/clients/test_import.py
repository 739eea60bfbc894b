"""`tidings import` of a sample Maildir (flags in file names, Maildir++ subfolders, mtimes as
INTERNALDATE) and a sample mbox (mboxrd escaping, Status/X-Status flags, From-line dates),
checked afterwards through imaplib against the server.
"""

import imaplib
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from server import BIN, Server  # noqa: E402


def msg(subject, body="hello"):
    return f"From: a@example.com\r\nSubject: {subject}\r\n\r\n{body}\r\n".encode()


MBOX = (b"From alice@example.com Sat Jan  3 01:05:34 1996\n"
        b"From: alice@example.com\nSubject: first\nStatus: RO\nX-Status: A\n\n"
        b"line one\n>From the escaped line\n\n"
        b"From bob@example.com Mon Feb 12 10:00:00 2024\n"
        b"From: bob@example.com\nSubject: second\nStatus: O\nX-Status: F\n\nsecond body\n\n")


class ImportTest(unittest.TestCase):
    def test_maildir_and_mbox_import(self):
        work = tempfile.TemporaryDirectory(prefix="tidings-import-")
        md = os.path.join(work.name, "Maildir")
        for d in ["cur", "new", "tmp", ".Work.Projects/cur", ".Work.Projects/new"]:
            os.makedirs(os.path.join(md, d))
        files = {
            "cur/1000.a.host:2,S": msg("seen"),
            "cur/1001.b.host:2,FR": msg("flagged answered"),
            "new/1002.c.host": msg("new one"),
            ".Work.Projects/cur/1003.d.host:2,ST": msg("project"),
        }
        for name, data in files.items():
            path = os.path.join(md, name)
            with open(path, "wb") as f:
                f.write(data)
            os.utime(path, (1700000000, 1700000000))
        mbox = os.path.join(work.name, "old.mbox")
        with open(mbox, "wb") as f:
            f.write(MBOX)

        server = Server().start()  # creates the store and the demo user
        server.stop()
        try:
            for args in (["--maildir", md], ["--mbox", mbox, "--mailbox", "Old"]):
                res = subprocess.run([BIN, "import", "--user", "demo", "--data-dir", server.data_dir, *args],
                                     capture_output=True, timeout=60)
                self.assertEqual(res.returncode, 0, res.stderr)
            res = subprocess.run([BIN, "import", "--user", "ghost", "--data-dir", server.data_dir, "--mbox", mbox],
                                 capture_output=True, timeout=60)
            self.assertNotEqual(res.returncode, 0)
            self.assertIn(b"no such user", res.stderr)

            again = Server(data_dir=server.data_dir).start()
            try:
                imap = imaplib.IMAP4("127.0.0.1", again.ports["imap"], timeout=20)
                imap.login("demo", "demo")
                self.assertEqual(imap.select("INBOX")[1], [b"3"])
                _, data = imap.fetch("1:3", "(FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
                text = b" ".join(d[0] if isinstance(d, tuple) else d for d in data).decode()
                self.assertIn('FLAGS (\\Seen \\Recent) INTERNALDATE "14-Nov-2023 22:13:20 +0000"', text)
                self.assertIn("FLAGS (\\Answered \\Flagged \\Recent)", text)
                self.assertIn(r"3 (FLAGS (\Recent) INTERNALDATE", text)
                self.assertEqual(imap.select("Work/Projects")[1], [b"1"])
                _, data = imap.fetch("1", "(FLAGS)")
                self.assertIn(b"\\Deleted \\Seen", data[0])
                self.assertEqual(imap.select("Old")[1], [b"2"])
                _, data = imap.fetch("1", "(FLAGS INTERNALDATE BODY.PEEK[TEXT])")
                self.assertIn(b'FLAGS (\\Answered \\Seen \\Recent) INTERNALDATE "03-Jan-1996 01:05:34 +0000"', data[0][0])
                self.assertEqual(data[0][1], b"line one\r\nFrom the escaped line\r\n")
                _, data = imap.fetch("2", "(FLAGS)")
                self.assertIn(b"(\\Flagged \\Recent)", data[0])
                imap.logout()
            finally:
                again.stop()
        finally:
            server.cleanup()
            work.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
