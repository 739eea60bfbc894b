//! Feeds arbitrary bytes to the command decoder in arbitrary chunks, driving it the way a
//! session does (raw lines after IDLE/AUTHENTICATE, refusing some literals). Asserts: no
//! panic; the buffer stays within the limits; the same bytes fed whole give the same items.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use tidings_engine::codec::{Decoded, Decoder, Limits};
use tidings_engine::command::CommandBody;

#[derive(Arbitrary, Debug)]
struct Input {
    max_line: u8,
    max_literal: u16,
    max_small_literal: u8,
    max_depth: u8,
    /// Where to cut the input into chunks.
    cuts: Vec<u16>,
    data: Vec<u8>,
}

/// Runs a session-like driver over the chunks; returns every item.
fn drive<'a>(limits: Limits, chunks: impl Iterator<Item = &'a [u8]>) -> Vec<Decoded> {
    let bound = limits.max_line + limits.max_small_literal + limits.max_literal + 64;
    let mut dec = Decoder::new(limits);
    let mut items = Vec::new();
    for chunk in chunks {
        dec.feed(chunk);
        while let Some(item) = dec.next() {
            match &item {
                Decoded::Command(c) if matches!(c.body, CommandBody::Idle | CommandBody::Authenticate { .. }) => {
                    dec.expect_line()
                }
                // A session refusing every odd-sized literal (e.g. the wrong state).
                Decoded::NeedContinuation if dec.pending_literal().is_some_and(|p| p.size % 2 == 1) => {
                    assert!(dec.refuse_literal().is_some() || dec.pending_literal().is_none());
                }
                _ => {}
            }
            items.push(item);
        }
        assert!(dec.buffered() <= bound, "buffered {} > {}", dec.buffered(), bound);
    }
    items
}

fuzz_target!(|input: Input| {
    let limits = Limits {
        max_line: input.max_line as usize + 1,
        max_literal: input.max_literal as usize,
        max_small_literal: input.max_small_literal as usize,
        max_depth: (input.max_depth % 16) as usize,
    };
    let data = &input.data[..];
    let mut cuts: Vec<usize> = input.cuts.iter().map(|&c| c as usize % (data.len() + 1)).collect();
    cuts.push(0);
    cuts.push(data.len());
    cuts.sort_unstable();
    let chunked = drive(limits, cuts.windows(2).map(|w| &data[w[0]..w[1]]));
    let whole = drive(limits, std::iter::once(data));
    assert_eq!(chunked, whole);
});
