"""Crash safety of `tidings serve`: concurrent APPEND / STORE / EXPUNGE / MOVE clients, the
server killed with SIGKILL at random moments, restarted, and every acknowledged effect checked.

Run as a test (a few kills) via test_crash.py, or for longer runs:
    python3 tests/clients/crash.py --rounds 300 --seed 7
It prints its counts and exits non-zero on the first violated guarantee.
"""

import argparse
import imaplib
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from server import BIN, Server  # noqa: E402

PASSWORD = "crash-pw"


class Msg:
    """What the clients know about one message they appended (acknowledged effects only)."""

    def __init__(self, mid, raw):
        self.mid = mid
        self.raw = raw
        self.where = None          # (mailbox, uid) once acknowledged
        self.flagged = False       # acknowledged \Flagged
        self.flag_uncertain = False
        self.gone = False          # acknowledged expunge
        self.maybe_gone = False    # expunge in flight at the kill
        self.move_uncertain = False


class Ledger:
    def __init__(self):
        self.lock = threading.Lock()
        self.msgs = {}
        self.pending_appends = {}  # mid -> Msg whose APPEND had no answer
        self.uidvalidity = {}
        self.used = {}             # (user, mailbox) -> UIDs ever seen assigned
        self.floor = {}            # (user, mailbox) -> highest UID known before the last kill
        self.counts = dict(appends=0, stores=0, expunges=0, moves=0, kills=0, errors_seen=0)


def worker(port, wid, ledger, stop, rng):
    try:
        imap = imaplib.IMAP4("127.0.0.1", port, timeout=5)
        imap.login(f"user{wid % 2}", PASSWORD)
        imap.select("INBOX")
    except Exception:
        return
    mine = []
    seq = 0
    while not stop.is_set():
        op = rng.random()
        try:
            if op < 0.45 or not mine:
                seq += 1
                mid = f"<w{wid}-{time.time_ns()}-{seq}@crash>"
                raw = (f"Message-ID: {mid}\r\nSubject: crash {seq}\r\n\r\n".encode()
                       + os.urandom(rng.randint(10, 3000)).hex().encode() + b"\r\n")
                m = Msg(mid, raw)
                with ledger.lock:
                    ledger.pending_appends[mid] = m
                typ, data = imap.append("INBOX", None, None, raw)
                uv, uid = re.search(rb"APPENDUID (\d+) (\d+)", data[0]).groups()
                with ledger.lock:
                    del ledger.pending_appends[mid]
                    check_uid(ledger, f"user{wid % 2}", "INBOX", int(uv), int(uid))
                    m.where = ("INBOX", int(uid))
                    ledger.msgs[mid] = m
                    ledger.counts["appends"] += 1
                mine.append(m)
            elif op < 0.7:
                m = rng.choice(mine)
                if m.where[0] != "INBOX":
                    continue
                m.flag_uncertain = True
                typ, _ = imap.uid("STORE", str(m.where[1]), "+FLAGS", "(\\Flagged)")
                if typ == "OK":
                    m.flagged, m.flag_uncertain = True, False
                    ledger.counts["stores"] += 1
            elif op < 0.85:
                m = rng.choice(mine)
                if m.where[0] != "INBOX":
                    continue
                m.maybe_gone = True
                m.flag_uncertain = True
                imap.uid("STORE", str(m.where[1]), "+FLAGS.SILENT", "(\\Deleted)")
                typ, _ = imap.uid("EXPUNGE", str(m.where[1]))
                if typ == "OK":
                    m.gone = True
                    mine.remove(m)
                    ledger.counts["expunges"] += 1
            else:
                m = rng.choice(mine)
                if m.where[0] != "INBOX":
                    continue
                m.move_uncertain = True
                typ, data = imap.uid("MOVE", str(m.where[1]), "Archive")
                code = " ".join(x.decode() for x in (imap.untagged_responses.pop("COPYUID", []) or []))
                mm = re.match(r"(\d+) (\d+) (\d+)", code)
                if typ == "OK" and mm:
                    with ledger.lock:
                        check_uid(ledger, f"user{wid % 2}", "Archive", int(mm.group(1)), int(mm.group(3)))
                    m.where = ("Archive", int(mm.group(3)))
                    m.move_uncertain = False
                    mine.remove(m)
                    ledger.counts["moves"] += 1
        except Exception:
            return  # the server died under us: whatever was in flight stays uncertain


def check_uid(ledger, user, box, uv, uid):
    key = (user, box)
    old = ledger.uidvalidity.setdefault(key, uv)
    if old != uv:
        raise SystemExit(f"UIDVALIDITY of {key} changed: {old} -> {uv}")
    used = ledger.used.setdefault(key, set())
    if uid in used:
        raise SystemExit(f"UID {uid} in {key} given to two messages")
    if uid <= ledger.floor.get(key, 0):
        # New UIDs must exceed every UID handed out before the crash.
        raise SystemExit(f"UID {uid} in {key} not above {ledger.floor[key]}, the highest before the kill")
    used.add(uid)


def verify(port, ledger):
    found = {}
    for user in ("user0", "user1"):
        imap = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        imap.login(user, PASSWORD)
        for box in ("INBOX", "Archive"):
            typ, data = imap.select(box)
            if typ != "OK":
                raise SystemExit(f"cannot select {box}: {data}")
            uv = int(imap.untagged_responses["UIDVALIDITY"][-1])
            if ledger.uidvalidity.setdefault((user, box), uv) != uv:
                raise SystemExit(f"UIDVALIDITY of {user}/{box} changed after restart")
            if int(data[0]) == 0:
                continue
            typ, data = imap.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
            for item in data:
                if not isinstance(item, tuple):
                    continue
                head, body = item
                uid = int(re.search(rb"UID (\d+)", head).group(1))
                flags = re.search(rb"FLAGS \(([^)]*)\)", head).group(1).decode()
                mid = re.search(rb"Message-ID: (<[^>]+>)", body).group(1).decode()
                if mid in found:
                    raise SystemExit(f"{mid} present twice: {found[mid][:2]} and {(box, uid)}")
                found[mid] = (box, uid, flags, body)
        imap.logout()
    for mid, m in ledger.msgs.items():
        got = found.get(mid)
        if m.gone:
            if got:
                raise SystemExit(f"acknowledged expunge of {mid} lost: still at {got[:2]}")
            continue
        if got is None:
            if m.maybe_gone:
                m.gone = True
                continue
            raise SystemExit(f"acknowledged APPEND of {mid} lost (expected at {m.where})")
        box, uid, flags, body = got
        if body != m.raw:
            raise SystemExit(f"{mid} not byte-identical")
        if not m.move_uncertain and (box, uid) != m.where:
            raise SystemExit(f"{mid} at {(box, uid)}, acknowledged at {m.where}")
        m.where = (box, uid)
        m.move_uncertain = False
        if m.flagged and "\\Flagged" not in flags:
            raise SystemExit(f"acknowledged \\Flagged on {mid} lost")
        if "\\Deleted" in flags:
            m.maybe_gone = True  # an expunge in flight set \Deleted; it may be repeated later
        m.flag_uncertain = False
    # Appends in flight at a kill may or may not have landed; adopt those that did.
    for mid, m in list(ledger.pending_appends.items()):
        got = found.get(mid)
        if got:
            if got[3] != m.raw:
                raise SystemExit(f"unacknowledged {mid} stored corrupted")
            m.where = got[:2]
            ledger.msgs[mid] = m
            user = "user" + re.search(r"<w(\d+)-", mid).group(1)
            user = f"user{int(user[4:]) % 2}"
            ledger.used.setdefault((user, got[0]), set()).add(got[1])
        del ledger.pending_appends[mid]
    return len(found)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--max-seconds", type=float, default=120.0)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    tmp = tempfile.TemporaryDirectory(prefix="tidings-crash-")
    for i in (0, 1):
        subprocess.run([BIN, "user", "add", f"user{i}", "--password-stdin", "--data-dir", tmp.name],
                       input=(PASSWORD + "\n").encode(), check=True, capture_output=True, timeout=60)
    ledger = Ledger()
    started = time.time()
    stored = 0
    try:
        for rnd in range(args.rounds):
            if time.time() - started > args.max_seconds:
                print(f"stopping after {rnd} rounds: time budget spent")
                break
            server = Server(data_dir=tmp.name).start()
            port = server.ports["imap"]
            stop = threading.Event()
            threads = [threading.Thread(target=worker, args=(port, w, ledger, stop, random.Random(rng.random())))
                       for w in range(args.workers)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.2, 1.2))
            server.stop(signal.SIGKILL)
            ledger.counts["kills"] += 1
            stop.set()
            for t in threads:
                t.join(timeout=20)
            with ledger.lock:
                for key, used in ledger.used.items():
                    ledger.floor[key] = max(used, default=0)
            server = Server(data_dir=tmp.name).start()
            try:
                stored = verify(server.ports["imap"], ledger)
            finally:
                server.stop()
        c = ledger.counts
        print(f"crash: seed {args.seed}, {c['kills']} kills, acknowledged {c['appends']} appends, "
              f"{c['stores']} flag changes, {c['expunges']} expunges, {c['moves']} moves; "
              f"{stored} messages verified byte-identical after the last restart")
        print("1 passed, 0 failed")
        return 0
    except SystemExit as e:
        print(f"crash: VIOLATION (seed {args.seed}): {e}")
        print("0 passed, 1 failed")
        return 1
    finally:
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
