//! Chunking never changes what the decoder yields, every proper prefix of a command is
//! "Partial", and memory stays bounded, whatever the input.

mod codec_support;

use codec_support::*;
use proptest::prelude::*;
use tidings_engine::codec::{Decoded, Decoder, Limits};

/// Small limits, so that random input reaches every limit.
const SMALL: Limits = Limits {
    max_line: 40,
    max_literal: 60,
    max_small_literal: 20,
    max_depth: 3,
};

/// Splits `input` at the given points (as fractions of its length).
fn split<'a>(input: &'a [u8], points: &[prop::sample::Index]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = points.iter().map(|p| p.index(input.len() + 1)).collect();
    cuts.push(0);
    cuts.push(input.len());
    cuts.sort_unstable();
    cuts.windows(2).map(|w| &input[w[0]..w[1]]).collect()
}

/// IMAP-flavoured noise: tokens that exercise literals, quoting, nesting and line ends.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(valid_corpus()),
        prop::sample::select(
            INVALID
                .iter()
                .map(|s| s.as_bytes().to_vec())
                .collect::<Vec<_>>()
        ),
        prop::sample::select(vec![
            b"{3}\r\n".to_vec(),
            b"{2+}\r\n".to_vec(),
            b"~{4}\r\n".to_vec(),
            b"{99}\r\n".to_vec(),
            b"{999999+}\r\n".to_vec(),
            b"\r\n".to_vec(),
            b"\n".to_vec(),
            b"a ".to_vec(),
            b"SEARCH ".to_vec(),
            b"APPEND x ".to_vec(),
            b"LOGIN ".to_vec(),
            b"((((".to_vec(),
            b"NOT NOT NOT NOT ".to_vec(),
            b"\"q\\\"".to_vec(),
            b"x".repeat(45),
            // Over SMALL.max_line, then a long announcement: skipped lines keep their end.
            [&b"a SEARCH TEXT "[..], &[b'y'; 40], b" {12345+}\r\n"].concat(),
            [&b"a LOGIN "[..], &[b'z'; 38], b" {7}\r\n"].concat(),
            [
                &b"a LOGIN "[..],
                &[b'z'; 38],
                b" {0000000000000000000000007+}\r\n"
            ]
            .concat(),
            b"q APPEND INBOX {123456789+}\r\n".to_vec(),
            b"q APPEND INBOX {61}\r\n".to_vec(),
        ]),
        prop::collection::vec(any::<u8>(), 0..12),
    ]
}

fn both_limits() -> impl Strategy<Value = Limits> {
    prop_oneof![Just(SMALL), Just(Limits::default())]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn any_chunking_gives_the_same_items(
        fragments in prop::collection::vec(fragment(), 1..10),
        points in prop::collection::vec(any::<prop::sample::Index>(), 0..24),
        limits in both_limits(),
    ) {
        let input: Vec<u8> = fragments.concat();
        let whole = decode_chunks(limits, [&input[..]]);
        let bytewise = decode_chunks(limits, input.chunks(1));
        let random = decode_chunks(limits, split(&input, &points));
        prop_assert_eq!(&whole, &bytewise);
        prop_assert_eq!(&whole, &random);
    }

    #[test]
    fn buffer_stays_bounded(
        fragments in prop::collection::vec(fragment(), 1..10),
        points in prop::collection::vec(any::<prop::sample::Index>(), 0..24),
    ) {
        let input: Vec<u8> = fragments.concat();
        let bound = SMALL.max_line + SMALL.max_small_literal + SMALL.max_literal + 32;
        let mut dec = Decoder::new(SMALL);
        for chunk in split(&input, &points) {
            dec.feed(chunk);
            while dec.next().is_some() {}
            prop_assert!(dec.buffered() <= bound, "{} > {}", dec.buffered(), bound);
        }
    }
}

/// The offsets (bytes fed) at which each NeedContinuation appears, feeding byte by byte,
/// and the items at the end.
fn continuation_points(cmd: &[u8]) -> (Vec<usize>, Vec<Decoded>) {
    let mut dec = Decoder::default();
    let mut points = Vec::new();
    let mut items = Vec::new();
    for (i, b) in cmd.iter().enumerate() {
        dec.feed(std::slice::from_ref(b));
        for item in drain(&mut dec) {
            if item == Decoded::NeedContinuation {
                points.push(i + 1);
            } else {
                items.push(item);
            }
        }
    }
    (points, items)
}

#[test]
fn every_proper_prefix_is_partial() {
    for cmd in valid_corpus() {
        let (points, items) = continuation_points(&cmd);
        assert!(
            matches!(&items[..], [Decoded::Command(_)]),
            "{:?}: {items:?}",
            String::from_utf8_lossy(&cmd)
        );
        for k in 0..cmd.len() {
            let mut dec = Decoder::default();
            dec.feed(&cmd[..k]);
            let got = drain(&mut dec);
            // Only the continuations for literals announced within the prefix, nothing else.
            let expected = points.iter().filter(|&&p| p <= k).count();
            assert!(
                got.iter().all(|i| *i == Decoded::NeedContinuation) && got.len() == expected,
                "prefix {k} of {:?} gave {got:?}",
                String::from_utf8_lossy(&cmd)
            );
        }
    }
}

#[test]
fn non_synchronizing_prefixes_are_silent() {
    for cmd in [
        &b"a LOGIN {3+}\r\nbob {6+}\r\nsecret\r\n"[..],
        b"a APPEND INBOX (\\Seen) ~{5+}\r\nhe\0lo\r\n",
        b"a UID fetch 2 (UID BODY.PEEK[HEADER.FIELDS (Content-Type)] BODY.PEEK[TEXT]<0.2048>)\r\n",
    ] {
        for k in 0..cmd.len() {
            let mut dec = Decoder::default();
            dec.feed(&cmd[..k]);
            assert_eq!(dec.next(), None, "prefix {k}");
        }
        let mut dec = Decoder::default();
        dec.feed(cmd);
        assert!(matches!(dec.next(), Some(Decoded::Command(_))));
    }
}

#[test]
fn whole_corpus_in_one_stream_in_sync() {
    let mut input = Vec::new();
    let mut expected = 0;
    for (i, cmd) in valid_corpus().iter().enumerate() {
        input.extend_from_slice(cmd);
        expected += 1;
        // Interleave the refused ones: each must be answered and not disturb the next.
        let bad = INVALID[i % INVALID.len()];
        input.extend_from_slice(bad.as_bytes());
    }
    let items: Vec<_> = decode_chunks(Limits::default(), input.chunks(7))
        .into_iter()
        .filter(|i| *i != Decoded::NeedContinuation)
        .collect();
    let commands = items
        .iter()
        .filter(|i| matches!(i, Decoded::Command(_)))
        .count();
    let errors = items
        .iter()
        .filter(|i| matches!(i, Decoded::Error(_)))
        .count();
    assert_eq!(commands, expected, "{items:#?}");
    assert_eq!(errors, expected);
}
