//! Limits under the default configuration: search nesting fits a 512 KiB stack even in a
//! debug build (release needs far less), deeper is BAD,
//! and a command built to make the decoder work hard (thousands of literals) stays cheap.

mod codec_support;

use codec_support::*;
use tidings_engine::codec::{DecodeErrorKind, Decoded, Decoder, Limits};

fn nested(levels: usize) -> String {
    // Each "(OR ALL NOT " opens three levels.
    let reps = levels / 3;
    format!(
        "a SEARCH {}ALL{}\r\n",
        "(OR ALL NOT ".repeat(reps),
        ")".repeat(reps)
    )
}

#[test]
fn default_depth_fits_a_small_stack() {
    let max = Limits::default().max_depth;
    let ok = nested(max - max % 3);
    let too_deep = nested(max + 3);
    let result = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || {
            let a = decode_chunks(Limits::default(), [ok.as_bytes()]);
            let b = decode_chunks(Limits::default(), [too_deep.as_bytes()]);
            (a, b)
        })
        .unwrap()
        .join()
        .unwrap();
    assert!(
        matches!(&result.0[..], [Decoded::Command(_)]),
        "{:?}",
        result.0
    );
    assert!(matches!(&result.1[..], [Decoded::Error(e)] if e.kind == DecodeErrorKind::TooDeep));
}

#[test]
fn many_synchronizing_literals_stay_cheap() {
    // As many literals as the line budget allows; each one is prefix-checked before its `+`.
    let mut input = b"a SEARCH".to_vec();
    let mut announced = 0;
    while input.len() + 40 < Limits::default().max_line {
        input.extend_from_slice(b" TEXT {1}\r\nx");
        announced += 1;
    }
    input.extend_from_slice(b"\r\n");
    let start = std::time::Instant::now();
    let mut dec = Decoder::default();
    dec.feed(&input);
    let mut continuations = 0;
    let mut command = None;
    while let Some(item) = dec.next() {
        match item {
            Decoded::NeedContinuation => continuations += 1,
            Decoded::Command(c) => command = Some(c),
            other => panic!("{other:?}"),
        }
    }
    let elapsed = start.elapsed();
    assert_eq!(continuations, announced);
    assert!(command.is_some());
    eprintln!("{announced} literals in {elapsed:?}");
    assert!(
        elapsed.as_secs() < 2,
        "{announced} literals took {elapsed:?}"
    );
}
