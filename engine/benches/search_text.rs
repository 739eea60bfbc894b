//! `SEARCH TEXT` over a mailbox of generated ~3 KB messages, shaped like tidings-load's `big`
//! scenario (`bench/src/msg.rs`): single-part `text/plain; charset=UTF-8`, 7bit, one message
//! in 100 with the term in its body. This is the engine's share of `UID SEARCH TEXT`
//! (everything after the store has read the bytes).
//!
//! Run: `cargo bench -p tidings-engine --bench search_text`. Instruction counts (stable on a
//! noisy machine): `SEARCH_TEXT_ONCE=10000 valgrind --tool=callgrind <bench binary>` runs
//! one search over that many messages and exits; divide the total by the count.

use std::hint::black_box;

use criterion::{criterion_group, Criterion, Throughput};
use tidings_engine::command::SearchKey;
use tidings_engine::search::{matches, MessageView};
use tidings_engine::types::{Date, DateTime};

/// xorshift64*, as the load generator uses.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Message `i` of the `big` scenario (3,000 bytes plus up to 600).
fn message(i: usize) -> Vec<u8> {
    let size = 3000 + (i % 7) * 100;
    let subject = if i % 100 == 0 {
        format!("load test {i} zebra")
    } else {
        format!("load test {i}")
    };
    let mut out = format!(
        "Return-Path: <sender@example.test>\r\n\
         Message-ID: <load-{i}-{size}-none-none@example.test>\r\n\
         Date: Mon, 23 Jun 2025 09:06:36 -1000\r\n\
         MIME-Version: 1.0\r\n\
         User-Agent: tidings-load\r\n\
         To: bob@example.test\r\n\
         From: alice <alice@example.test>\r\n\
         Subject: {subject}\r\n\
         Content-Type: text/plain; charset=UTF-8; format=flowed\r\n\
         Content-Transfer-Encoding: 7bit\r\n\r\n"
    )
    .into_bytes();
    if i % 100 == 50 {
        out.extend_from_slice(b"The secret word is quokka.\r\n");
    }
    const WORDS: [&str; 16] = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliett", "kilo", "lima", "mike", "november", "oscar", "papa",
    ];
    let mut rng = Rng::new(i as u64 ^ 0x5eed);
    let mut line_len = 0;
    while out.len() + 2 < size {
        let w = WORDS[rng.below(16) as usize];
        out.extend_from_slice(w.as_bytes());
        line_len += w.len();
        if line_len > 66 {
            out.extend_from_slice(b"\r\n");
            line_len = 0;
        } else {
            out.push(b' ');
            line_len += 1;
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// How many of `mailbox` match `key`.
fn search(key: &SearchKey, mailbox: &[Vec<u8>]) -> usize {
    let date = DateTime {
        date: Date {
            year: 2025,
            month: 6,
            day: 23,
        },
        hour: 9,
        minute: 6,
        second: 36,
        zone_minutes: -600,
    };
    let max = mailbox.len() as u32;
    mailbox
        .iter()
        .enumerate()
        .filter(|(i, raw)| {
            let view = MessageView {
                seq: *i as u32 + 1,
                uid: *i as u32 + 1,
                flags: &[],
                recent: false,
                size: raw.len() as u64,
                internal_date: date,
                raw,
                fields: None,
                max_seq: max,
                max_uid: max,
            };
            matches(key, &view)
        })
        .count()
}

fn bench(c: &mut Criterion) {
    let mailbox: Vec<Vec<u8>> = (0..1000).map(message).collect();
    let bytes: usize = mailbox.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("search_text");
    group.throughput(Throughput::Bytes(bytes as u64));
    for term in ["quokka", "QUOKKA", "zebra", "grüße"] {
        let key = SearchKey::Text(term.to_string());
        group.bench_function(format!("1000/{term}"), |b| {
            b.iter(|| search(black_box(&key), black_box(&mailbox)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    if let Some(n) = std::env::var("SEARCH_TEXT_ONCE")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
    {
        let mailbox: Vec<Vec<u8>> = (0..n).map(message).collect();
        let hits = search(&SearchKey::Text("quokka".into()), black_box(&mailbox));
        assert_eq!(hits, (n + 49) / 100);
        println!("{hits} of {n} messages match");
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
