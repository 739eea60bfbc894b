"""Mail in: LMTP from Python's smtplib (an independent client), `tidings deliver` through the
running server and directly into a stopped store, each waking or reaching IMAP sessions.
"""

import imaplib
import os
import smtplib
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from server import BIN, Server  # noqa: E402

MSG = (b"From: Postfix Tester <pt@example.com>\r\nTo: demo@example.com\r\n"
       b"Subject: via LMTP\r\nMessage-ID: <lmtp-1@example.com>\r\n\r\n"
       b".leading dot survives dot-stuffing\r\nbye\r\n")


def idle_start(imap):
    tag = imap._new_tag().decode()
    imap.send(f"{tag} IDLE\r\n".encode())
    assert imap.readline().startswith(b"+")
    imap.sock.settimeout(10)
    return tag


class DeliveryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def login(self):
        imap = imaplib.IMAP4("127.0.0.1", self.server.ports["imap"], timeout=20)
        imap.login("demo", "demo")
        return imap

    def test_lmtp_delivery_wakes_idle_and_refuses_unknown_users(self):
        imap = self.login()
        _, data = imap.select("INBOX")
        before = int(data[0])
        tag = idle_start(imap)
        lmtp = smtplib.LMTP("127.0.0.1", self.server.ports["lmtp"], timeout=20)
        refused = lmtp.sendmail("pt@example.com", ["demo@example.com", "nobody@example.com"], MSG)
        lmtp.quit()
        self.assertEqual(list(refused), ["nobody@example.com"])
        self.assertEqual(refused["nobody@example.com"][0], 550)
        self.assertEqual(imap.readline(), f"* {before + 1} EXISTS\r\n".encode())
        imap.send(b"DONE\r\n")
        while not imap.readline().startswith(tag.encode()):
            pass
        _, data = imap.fetch(str(before + 1), "(BODY.PEEK[])")
        body = data[0][1]
        self.assertTrue(body.startswith(b"Return-Path: <pt@example.com>\r\nDelivered-To: demo@example.com\r\n"))
        self.assertTrue(body.endswith(MSG), body)
        imap.logout()

    def test_deliver_command_goes_through_the_running_server(self):
        imap = self.login()
        _, data = imap.select("INBOX")
        before = int(data[0])
        tag = idle_start(imap)
        lmtp = f"127.0.0.1:{self.server.ports['lmtp']}"
        res = subprocess.run([BIN, "deliver", "--user", "demo", "--lmtp", lmtp, "--data-dir", self.server.data_dir],
                             input=MSG, capture_output=True, timeout=30)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(imap.readline(), f"* {before + 1} EXISTS\r\n".encode())
        imap.send(b"DONE\r\n")
        while not imap.readline().startswith(tag.encode()):
            pass
        res = subprocess.run([BIN, "deliver", "--user", "nobody", "--lmtp", lmtp], input=MSG,
                             capture_output=True, timeout=30)
        self.assertEqual(res.returncode, 67, res.stderr)  # EX_NOUSER
        res = subprocess.run([BIN, "deliver", "--user", "demo", "--lmtp", lmtp], input=b"",
                             capture_output=True, timeout=30)
        self.assertEqual(res.returncode, 65, res.stderr)  # EX_DATAERR
        imap.logout()


class DirectDeliveryTest(unittest.TestCase):
    def test_deliver_without_a_running_server_opens_the_store(self):
        server = Server().start()
        try:
            server.stop()
            data_dir = server.data_dir
            free_port = "127.0.0.1:9"  # discard port: nothing listens there
            res = subprocess.run([BIN, "deliver", "--user", "demo", "--lmtp", free_port, "--data-dir", data_dir],
                                 input=MSG, capture_output=True, timeout=30)
            self.assertEqual(res.returncode, 0, res.stderr)
            res = subprocess.run([BIN, "deliver", "--user", "ghost", "--lmtp", free_port, "--data-dir", data_dir],
                                 input=MSG, capture_output=True, timeout=30)
            self.assertEqual(res.returncode, 67, res.stderr)
            again = Server(data_dir=data_dir).start()
            try:
                imap = imaplib.IMAP4("127.0.0.1", again.ports["imap"], timeout=20)
                imap.login("demo", "demo")
                _, data = imap.select("INBOX")
                self.assertEqual(data, [b"1"])
                self.assertEqual(imap.search(None, "SUBJECT", "LMTP"), ("OK", [b"1"]))
                imap.logout()
            finally:
                again.stop()
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
