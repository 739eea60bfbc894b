//! Micro-benchmarks of the wire codec: the command parser against imap-codec on the same
//! corpus of real client commands (`corpus.txt`), and the response encoder on a realistic
//! SELECT + FETCH answer.
//!
//! Run: `cargo bench -p tidings-engine --bench codec` (add `-- --warm-up-time 1
//! --measurement-time 3` for a quicker run). Each parser produces its full AST for every
//! command; the corpus is checked first: both must accept every command in it.
//!
//! `parse`: `tidings` and `imap-codec` decode the whole corpus as one stream (`stream`) or one
//! command per read (`per-command`); `imap-codec-owned` adds imap-codec's `into_static`, as
//! our commands own their strings. `encode`: a SELECT answer, a FETCH (FLAGS) resync and
//! FETCH summaries with ENVELOPE and BODYSTRUCTURE for 100 messages.
//!
//! On a busy machine wall-clock times wander; instruction counts do not:
//! `valgrind --tool=callgrind <bench binary> --bench --profile-time 1 parse/tidings/stream`,
//! then `callgrind_annotate --inclusive=yes --tree=caller` gives the instructions per call
//! of `codec::tidings_parse` (one call is one pass over the corpus).

use std::hint::black_box;
use std::io::Write as _;

use bounded_static::IntoBoundedStatic as _;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use imap_codec::decode::Decoder as _;
use imap_codec::CommandCodec;
use tidings_engine::codec::{Decoded, Decoder, Limits};
use tidings_engine::command::Command;
use tidings_engine::mime::{normalize_line_endings, ParsedMessage};
use tidings_engine::response::{write_status, write_untagged, Status};
use tidings_engine::types::{DateTime, Flag};

/// The corpus as a client sends it: comment lines dropped, every line ended by CRLF.
fn corpus() -> Vec<u8> {
    let mut wire = Vec::new();
    for line in include_str!("corpus.txt").lines() {
        if !line.starts_with('#') {
            wire.extend_from_slice(line.as_bytes());
            wire.extend_from_slice(b"\r\n");
        }
    }
    wire
}

/// The corpus split into its commands (each with its literals), for per-command feeding.
fn commands(wire: &[u8]) -> Vec<&[u8]> {
    let codec = CommandCodec::default();
    let mut out = Vec::new();
    let mut rest = wire;
    while !rest.is_empty() {
        let (next, _) = codec.decode(rest).expect("imap-codec accepts the corpus");
        out.push(&rest[..rest.len() - next.len()]);
        rest = next;
    }
    out
}

/// Tidings: decodes a whole stream, returning the commands (a literal's `+` is implied).
fn tidings_parse(dec: &mut Decoder, wire: &[u8]) -> usize {
    dec.feed(wire);
    let mut n = 0;
    while let Some(item) = dec.next() {
        match item {
            Decoded::Command(cmd) => {
                black_box(cmd);
                n += 1;
            }
            Decoded::NeedContinuation => {}
            other => panic!("tidings refused a corpus command: {other:?}"),
        }
    }
    n
}

/// imap-codec: decodes a whole stream.
fn imap_codec_parse(codec: &CommandCodec, wire: &[u8]) -> usize {
    let mut rest = wire;
    let mut n = 0;
    while !rest.is_empty() {
        let (next, cmd) = codec.decode(rest).expect("imap-codec accepts the corpus");
        black_box(cmd);
        rest = next;
        n += 1;
    }
    n
}

/// imap-codec, turning each command into an owned (`'static`) one as ours is: the same
/// allocations, for a like-for-like comparison.
fn imap_codec_parse_owned(codec: &CommandCodec, wire: &[u8]) -> usize {
    let mut rest = wire;
    let mut n = 0;
    while !rest.is_empty() {
        let (next, cmd) = codec.decode(rest).expect("imap-codec accepts the corpus");
        black_box(cmd.into_static());
        rest = next;
        n += 1;
    }
    n
}

/// Both parsers accept every command, and see the same commands (by tag).
fn check_corpus(wire: &[u8], commands: &[&[u8]]) {
    let codec = CommandCodec::default();
    for cmd in commands {
        let text = String::from_utf8_lossy(cmd);
        let mut dec = Decoder::new(Limits::default());
        dec.feed(cmd);
        let ours: Vec<Command> = std::iter::from_fn(|| dec.next())
            .filter(|i| *i != Decoded::NeedContinuation)
            .map(|i| match i {
                Decoded::Command(c) => c,
                other => panic!("tidings: {text:?} gave {other:?}"),
            })
            .collect();
        let theirs = match codec.decode(cmd) {
            Ok((b"", c)) => c,
            other => panic!("imap-codec: {text:?} gave {other:?}"),
        };
        assert_eq!(ours.len(), 1, "{text:?}");
        assert_eq!(ours[0].tag, theirs.tag.inner(), "{text:?}");
    }
    let n = commands.len();
    assert_eq!(tidings_parse(&mut Decoder::new(Limits::default()), wire), n);
    assert_eq!(imap_codec_parse(&codec, wire), n);
}

fn parse(c: &mut Criterion) {
    let wire = corpus();
    let cmds = commands(&wire);
    check_corpus(&wire, &cmds);
    eprintln!(
        "parse corpus: {} commands, {} bytes",
        cmds.len(),
        wire.len()
    );
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    // The whole corpus arrives at once (a pipelining client, or a big read).
    g.bench_function("tidings/stream", |b| {
        b.iter_batched_ref(
            || Decoder::new(Limits::default()),
            |dec| tidings_parse(dec, black_box(&wire)),
            BatchSize::SmallInput,
        )
    });
    let codec = CommandCodec::default();
    g.bench_function("imap-codec/stream", |b| {
        b.iter(|| imap_codec_parse(&codec, black_box(&wire)))
    });
    g.bench_function("imap-codec-owned/stream", |b| {
        b.iter(|| imap_codec_parse_owned(&codec, black_box(&wire)))
    });
    // One command per read, through one long-lived decoder (an interactive client).
    let mut dec = Decoder::new(Limits::default());
    g.bench_function("tidings/per-command", |b| {
        b.iter(|| {
            cmds.iter()
                .map(|cmd| tidings_parse(&mut dec, black_box(cmd)))
                .sum::<usize>()
        })
    });
    g.bench_function("imap-codec/per-command", |b| {
        b.iter(|| {
            cmds.iter()
                .map(|cmd| imap_codec_parse(&codec, black_box(cmd)))
                .sum::<usize>()
        })
    });
    g.finish();
}

/// A message as the FETCH writer sees it: view data plus the stored parse.
struct Message {
    uid: u32,
    flags: Vec<Flag>,
    date: DateTime,
    parsed: ParsedMessage,
}

/// Messages for the encoder: the seed's Thunderbird mail, the RFC 3501 APPEND example and a
/// multipart/alternative one, in turn.
fn mailbox(n: u32) -> Vec<Message> {
    let multipart = "From: Dave <dave@example.org>\nTo: team@example.org, \"Eve E.\" <eve@example.org>\n\
        Cc: Frank <frank@example.net>\nSubject: Standup notes\nDate: Tue, 25 Nov 2025 08:00:00 +0000\n\
        Message-ID: <notes-1@example.org>\nIn-Reply-To: <agenda-7@example.org>\nMIME-Version: 1.0\n\
        Content-Type: multipart/alternative; boundary=\"b1\"\n\n--b1\n\
        Content-Type: text/plain; charset=us-ascii\n\n- parser benchmarks\n- FETCH encoder\n--b1\n\
        Content-Type: text/html; charset=us-ascii\nContent-Transfer-Encoding: quoted-printable\n\n\
        <ul><li>parser benchmarks</li></ul>\n--b1--\n";
    let rfc3501 = "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\nFrom: Fred Foobar <foobar@Blurdybloop.COM>\n\
        Subject: afternoon meeting\nTo: mooch@owatagu.siam.edu\nMessage-Id: <B27397-0100000@Blurdybloop.COM>\n\
        MIME-Version: 1.0\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\n\n\
        Hello Joe, do you think we can meet at 3:30 tomorrow?\n";
    let raws: [&[u8]; 3] = [
        include_bytes!("../tests/fixtures/seed-work.eml"),
        rfc3501.as_bytes(),
        multipart.as_bytes(),
    ];
    let parsed: Vec<ParsedMessage> = raws
        .iter()
        .map(|raw| ParsedMessage::parse(&normalize_line_endings(raw)))
        .collect();
    let flag_sets = [
        vec![Flag::Seen],
        vec![],
        vec![
            Flag::Seen,
            Flag::Answered,
            Flag::Keyword("$Forwarded".into()),
        ],
        vec![Flag::Flagged, Flag::Seen],
    ];
    (0..n)
        .map(|i| Message {
            uid: 4000 + i * 3,
            flags: flag_sets[i as usize % flag_sets.len()].clone(),
            date: DateTime::from_unix(1_764_000_000 + i as i64 * 3600, 60),
            parsed: parsed[i as usize % parsed.len()].clone(),
        })
        .collect()
}

fn write_flags(out: &mut Vec<u8>, flags: &[Flag]) {
    out.push(b'(');
    for (i, f) in flags.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(f.as_str().as_bytes());
    }
    out.push(b')');
}

/// The answer to SELECT: what `Session` writes, through the same response calls.
fn encode_select(out: &mut Vec<u8>, exists: usize) {
    let flags = "\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $Junk";
    write_untagged(out, &format!("FLAGS ({flags})"));
    let perm = format!("PERMANENTFLAGS ({flags} \\*)");
    write_status(out, None, Status::Ok, Some(&perm), "Flags permitted.");
    write_untagged(out, &format!("{exists} EXISTS"));
    write_untagged(out, "0 RECENT");
    write_status(
        out,
        None,
        Status::Ok,
        Some("UIDVALIDITY 1764000000"),
        "UIDs valid",
    );
    write_status(
        out,
        None,
        Status::Ok,
        Some("UIDNEXT 4500"),
        "Predicted next UID",
    );
    write_status(out, None, Status::Ok, Some("HIGHESTMODSEQ 912"), "Highest");
    write_status(
        out,
        Some("1.7"),
        Status::Ok,
        Some("READ-WRITE"),
        "Select completed.",
    );
}

/// `UID FETCH 1:* (UID FLAGS)`: a client's flag resync.
fn encode_flags(out: &mut Vec<u8>, msgs: &[Message]) {
    for (i, m) in msgs.iter().enumerate() {
        let _ = write!(out, "* {} FETCH (UID {} FLAGS ", i + 1, m.uid);
        write_flags(out, &m.flags);
        out.extend_from_slice(b")\r\n");
    }
    write_status(out, Some("44"), Status::Ok, None, "Fetch completed.");
}

/// `UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)`: a message
/// list's first load, written as `session::fetch` writes each item.
fn encode_summaries(out: &mut Vec<u8>, msgs: &[Message]) {
    for (i, m) in msgs.iter().enumerate() {
        let _ = write!(out, "* {} FETCH (UID {} FLAGS ", i + 1, m.uid);
        write_flags(out, &m.flags);
        let _ = write!(out, " RFC822.SIZE {}", m.parsed.size);
        out.extend_from_slice(format!(" INTERNALDATE \"{}\"", m.date.to_imap()).as_bytes());
        out.extend_from_slice(b" ENVELOPE ");
        m.parsed.envelope().write(out);
        out.extend_from_slice(b" BODYSTRUCTURE ");
        m.parsed.body_structure(true).write(out);
        out.extend_from_slice(b")\r\n");
    }
    write_status(out, Some("e6"), Status::Ok, None, "Fetch completed.");
}

fn encode(c: &mut Criterion) {
    let msgs = mailbox(100);
    let mut g = c.benchmark_group("encode");
    type Encoder = fn(&mut Vec<u8>, &[Message]);
    let cases: [(&str, Encoder); 3] = [
        ("select", |out, msgs| encode_select(out, msgs.len())),
        ("fetch-flags", encode_flags),
        ("fetch-summaries", encode_summaries),
    ];
    for (name, f) in cases {
        let mut out = Vec::new();
        f(&mut out, &msgs);
        eprintln!(
            "encode {name}: {} bytes for {} messages",
            out.len(),
            msgs.len()
        );
        g.throughput(Throughput::Bytes(out.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                f(&mut out, black_box(&msgs));
                out.len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, parse, encode);
criterion_main!(benches);
