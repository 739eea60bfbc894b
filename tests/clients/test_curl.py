"""`curl imap://` and `imaps://` (libcurl's IMAP client, which we did not write) against a
real `tidings serve`: list, upload, fetch by UID and section, search.
"""

import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from server import Server  # noqa: E402

MESSAGE = (b"From: Carol <carol@example.com>\r\nTo: demo@example.com\r\n"
           b"Subject: curl upload\r\nMessage-ID: <curl-1@example.com>\r\n\r\n"
           b"Uploaded by curl.\r\n")


def setUpModule():
    global SERVER
    SERVER = Server().start()


def tearDownModule():
    SERVER.cleanup()


def curl(url, *args, data=None):
    cmd = ["curl", "--silent", "--show-error", "--max-time", "20", "--user", "demo:demo",
           "--cacert", SERVER.cert, *args, url]
    res = subprocess.run(cmd, input=data, capture_output=True, timeout=30)
    if res.returncode != 0:
        raise AssertionError(f"curl failed ({res.returncode}): {res.stderr.decode()} {cmd}")
    return res.stdout


def imap(path=""):
    return f"imap://127.0.0.1:{SERVER.ports['imap']}/{path}"


def imaps(path=""):
    return f"imaps://localhost:{SERVER.ports['imaps']}/{path}"


class CurlTest(unittest.TestCase):
    def test_1_list(self):
        out = curl(imap()).decode()
        self.assertIn('* LIST (\\HasNoChildren) "/" INBOX', out)
        self.assertIn("Trash", out)

    def test_2_upload_fetch_search_over_plain_and_tls(self):
        with tempfile.NamedTemporaryFile(suffix=".eml") as f:
            f.write(MESSAGE)
            f.flush()
            curl(imap("Drafts"), "-T", f.name)
        body = curl(imap("Drafts;UID=1"))
        self.assertEqual(body, MESSAGE)
        section = curl(imap("Drafts;UID=1;SECTION=HEADER.FIELDS%20(SUBJECT)"))
        self.assertEqual(section, b"Subject: curl upload\r\n\r\n")
        text = curl(imap("Drafts;UID=1;SECTION=TEXT"))
        self.assertEqual(text, b"Uploaded by curl.\r\n")
        found = curl(imap("Drafts?SUBJECT%20curl")).decode()
        self.assertIn("* SEARCH 1", found)
        # The same over implicit TLS, verified against the dev certificate.
        self.assertEqual(curl(imaps("Drafts;UID=1")), MESSAGE)
        # And with STARTTLS required on the plain port.
        self.assertEqual(curl(imap("Drafts;UID=1"), "--ssl-reqd"), MESSAGE)


if __name__ == "__main__":
    unittest.main(verbosity=2)
