"""Debian's isync (mbsync), an independent client, two-way syncing a Maildir with a real
`tidings serve` over STARTTLS: download, upload, flag changes both ways, expunge, new folders.
"""

import glob
import imaplib
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from server import Server  # noqa: E402


def msg(subject):
    return f"From: a@example.com\r\nSubject: {subject}\r\nMessage-ID: <{subject}@mbsync>\r\n\r\nbody of {subject}\r\n".encode()


@unittest.skipUnless(shutil.which("mbsync"), "mbsync (Debian package isync) is not installed")
class MbsyncTest(unittest.TestCase):
    def test_two_way_sync(self):
        server = Server().start()
        work = tempfile.TemporaryDirectory(prefix="tidings-mbsync-")
        try:
            local = os.path.join(work.name, "mail")
            os.makedirs(os.path.join(local, "INBOX", "cur"))
            os.makedirs(os.path.join(local, "INBOX", "new"))
            os.makedirs(os.path.join(local, "INBOX", "tmp"))
            with open(os.path.join(local, "INBOX", "new", "100.local.host"), "wb") as f:
                f.write(msg("written-locally"))
            rc = os.path.join(work.name, "mbsyncrc")
            with open(rc, "w") as f:
                f.write(f"""IMAPAccount tidings
Host 127.0.0.1
Port {server.ports['imap']}
User demo
Pass demo
SSLType STARTTLS
CertificateFile {server.cert}

IMAPStore remote
Account tidings

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns INBOX Work
Create Both
Expunge Both
SyncState *
Sync All
""")
            imap = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=20)
            imap.login("demo", "demo")
            imap.create("Work")
            imap.append("INBOX", "(\\Flagged)", None, msg("on-server-flagged"))
            imap.append("INBOX", None, None, msg("on-server-plain"))
            imap.append("Work", "(\\Seen)", None, msg("in-work"))

            def sync():
                res = subprocess.run(["mbsync", "-c", rc, "-a"], capture_output=True, timeout=120)
                self.assertEqual(res.returncode, 0, res.stdout + res.stderr)

            sync()
            files = sorted(glob.glob(os.path.join(local, "INBOX", "*", "*")))
            self.assertEqual(len(files), 3, files)
            flagged = [f for f in files if open(f, "rb").read().find(b"on-server-flagged") >= 0]
            self.assertEqual(len(flagged), 1)
            self.assertIn(":2,F", flagged[0])
            work_files = glob.glob(os.path.join(local, "Work", "cur", "*"))
            self.assertEqual(len(work_files), 1)
            self.assertTrue(work_files[0].endswith(":2,S"), work_files)
            imap.select("INBOX")
            self.assertEqual(imap.search(None, "SUBJECT", "written-locally"), ("OK", [b"3"]))

            # Two-way: mark the plain one read locally; expunge the flagged one on the server.
            plain = [f for f in files if open(f, "rb").read().find(b"on-server-plain") >= 0][0]
            base = os.path.basename(plain).split(":2,")[0]
            os.rename(plain, os.path.join(local, "INBOX", "cur", base + ":2,S"))
            imap.store("1", "+FLAGS", "(\\Deleted)")
            imap.expunge()
            sync()
            _, data = imap.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            text = b" ".join(d[0] + d[1] if isinstance(d, tuple) else d for d in data)
            self.assertIn(b"on-server-plain", text)
            self.assertRegex(text, rb"FLAGS \([^)]*\\Seen[^)]*\) BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{\d+\}Subject: on-server-plain")
            left = sorted(glob.glob(os.path.join(local, "INBOX", "*", "*")))
            self.assertEqual(len(left), 2, left)
            self.assertFalse(any(b"on-server-flagged" in open(f, "rb").read() for f in left))
            imap.logout()
        finally:
            server.cleanup()
            work.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
