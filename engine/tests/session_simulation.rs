//! Randomised conversations: three sessions of one account send seeded random sequences of
//! commands (valid and broken) in random chunks. Every command must get exactly one tagged
//! answer, nothing may panic, and each session's view must agree with the store after NOOP.

mod support;

use support::store_with;
use tidings_engine::harness::Harness;

/// xorshift64*: small, seeded, good enough to pick commands.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const BOXES: &[&str] = &[
    "INBOX",
    "Trash",
    "Archive",
    "Work",
    "Work/Sub",
    "\"a b\"",
    "&ZeVnLIqe-",
    "Nope",
];
const FLAGS: &[&str] = &[
    "\\Seen",
    "\\Flagged",
    "\\Deleted",
    "\\Answered",
    "\\Draft",
    "$Junk",
    "Project-X",
];
const SETS: &[&str] = &["1", "1:*", "*", "2,4", "3:1", "1:2", "5", "100", "$"];
const ITEMS: &[&str] = &[
    "FLAGS",
    "(UID FLAGS)",
    "(ENVELOPE BODYSTRUCTURE)",
    "BODY.PEEK[HEADER]",
    "BODY[TEXT]<0.5>",
    "(RFC822.SIZE INTERNALDATE)",
    "BODY.PEEK[1.MIME]",
    "(BINARY.PEEK[1] MODSEQ)",
    "FAST",
    "(FOO)",
];

fn command(rng: &mut Rng, tag: &str) -> String {
    let mb = rng.pick(BOXES);
    let flag = rng.pick(FLAGS);
    let set = rng.pick(SETS);
    let uid = if rng.below(2) == 0 { "UID " } else { "" };
    match rng.below(22) {
        0 => format!("{tag} SELECT {mb}\r\n"),
        1 => format!("{tag} EXAMINE {mb}\r\n"),
        2 => format!("{tag} CREATE {mb}\r\n"),
        3 => format!("{tag} DELETE {mb}\r\n"),
        4 => format!("{tag} RENAME {mb} {}\r\n", rng.pick(BOXES)),
        5 => format!("{tag} STATUS {mb} (MESSAGES UIDNEXT UNSEEN RECENT)\r\n"),
        6 | 7 => {
            let body = format!(
                "Subject: sim {}\r\nFrom: s@x\r\n\r\nbody {}\r\n",
                rng.next(),
                rng.next()
            );
            format!(
                "{tag} APPEND {mb} ({flag}) {{{}+}}\r\n{body}\r\n",
                body.len()
            )
        }
        8 | 9 => format!("{tag} {uid}FETCH {set} {}\r\n", rng.pick(ITEMS)),
        10 | 11 => format!(
            "{tag} {uid}STORE {set} {}FLAGS ({flag})\r\n",
            rng.pick(&["+", "-", ""])
        ),
        12 => format!("{tag} {uid}COPY {set} {mb}\r\n"),
        13 => format!("{tag} {uid}MOVE {set} {mb}\r\n"),
        14 => format!("{tag} EXPUNGE\r\n"),
        15 => format!(
            "{tag} {uid}SEARCH {}\r\n",
            rng.pick(&[
                "ALL",
                "UNSEEN",
                "OR SEEN FLAGGED",
                "SUBJECT sim",
                "BODY body NOT DELETED",
                "FOO"
            ])
        ),
        16 => format!("{tag} NOOP\r\n"),
        17 => format!(
            "{tag} LIST \"\" {}\r\n",
            rng.pick(&["*", "%", "Work/%", "\"\""])
        ),
        18 => format!("{tag} CLOSE\r\n"),
        19 => format!("{tag} UNSELECT\r\n"),
        20 => format!("{tag} UID EXPUNGE {set}\r\n"),
        _ => format!(
            "{tag} {}\r\n",
            rng.pick(&[
                "CHECK",
                "NAMESPACE",
                "CAPABILITY",
                "ENABLE CONDSTORE",
                "BOGUS",
                "FETCH"
            ])
        ),
    }
}

/// Tagged answers for `tag` in `out`.
fn tagged(out: &str, tag: &str) -> usize {
    out.split("\r\n")
        .filter(|l| l.starts_with(&format!("{tag} ")))
        .count()
}

fn run(seed: u64) {
    let mut rng = Rng(seed | 1);
    let mut h = Harness::new(store_with(&[("sim", "pw")]));
    let login = |h: &mut Harness<_>| {
        let (c, _) = h.connect();
        assert!(h.send(c, "L LOGIN sim pw\r\n").starts_with("L OK"));
        c
    };
    let mut conns: Vec<usize> = (0..3).map(|_| login(&mut h)).collect();
    for step in 0..200 {
        let slot = rng.below(3) as usize;
        if h.session(conns[slot]).is_closed() {
            // Its selected mailbox was deleted by another session (BYE, as Dovecot): a client
            // reconnects.
            conns[slot] = login(&mut h);
        }
        let c = conns[slot];
        let tag = format!("t{step}");
        let cmd = command(&mut rng, &tag);
        // Random chunking: the answer must not depend on it.
        let bytes = cmd.as_bytes();
        let mut out = String::new();
        let mut at = 0;
        while at < bytes.len() {
            let n = 1 + rng.below(24) as usize;
            let end = (at + n).min(bytes.len());
            out.push_str(&h.send(c, &bytes[at..end]));
            at = end;
        }
        if std::env::var("SIM_TRACE").is_ok() {
            eprintln!("conn {c} >> {cmd:?}\n<< {out:?}");
        }
        if h.session(c).is_closed() {
            // The only way a command ends a session here: its mailbox vanished under it.
            assert!(
                out.contains("* BYE Selected mailbox was deleted"),
                "seed {seed} step {step}: {cmd:?} got\n{out}"
            );
            assert_eq!(
                tagged(&out, &tag),
                0,
                "nothing after BYE: seed {seed} step {step}: {out}"
            );
        } else {
            assert_eq!(
                tagged(&out, &tag),
                1,
                "seed {seed} step {step}: {cmd:?} got\n{out}"
            );
        }
    }
    // After NOOP every session that has INBOX selected shows the store's message count.
    let status = h.send(conns[0], "z1 STATUS INBOX (MESSAGES)\r\n");
    let n: u32 = status
        .split("MESSAGES ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("seed {seed}: {status}"));
    for &c in &conns {
        let c = if h.session(c).is_closed() {
            login(&mut h)
        } else {
            c
        };
        h.send(c, "z2 SELECT INBOX\r\n");
        h.send(c, "z3 NOOP\r\n");
        let out = h.send(c, "z4 SEARCH ALL\r\n");
        let count = out
            .lines()
            .next()
            .map_or(0, |l| l.split(' ').count().saturating_sub(2));
        assert_eq!(
            count as u32, n,
            "seed {seed}: view of conn {c} disagrees with STATUS: {out}"
        );
    }
}

#[test]
fn random_conversations_keep_every_session_consistent() {
    for seed in 1..=60u64 {
        run(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    }
}
