//! Latency samples per command and error counts, shared by all clients of a run, and the
//! `metric NAME VALUE UNIT` lines that `bench/run.sh` turns into its table.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Samples kept per command (beyond it, reservoir sampling keeps percentiles honest).
const MAX_SAMPLES: usize = 200_000;
/// Error messages kept for printing.
const MAX_ERROR_SAMPLES: usize = 20;

#[derive(Default)]
struct Inner {
    lat: BTreeMap<&'static str, Series>,
    errors: BTreeMap<&'static str, u64>,
    samples: Vec<String>,
}

#[derive(Default)]
struct Series {
    count: u64,
    micros: Vec<u32>,
}

/// Thread-safe collector.
#[derive(Default)]
pub struct Stats {
    inner: Mutex<Inner>,
    pacer: Option<Pacer>,
}

/// Spaces the commands of all clients evenly at a fixed rate (open-loop offered load), so
/// latency can be compared between servers at the same load rather than at each one's
/// saturation point.
struct Pacer {
    interval: Duration,
    next: Mutex<tokio::time::Instant>,
}

impl Stats {
    /// A collector whose [`Stats::pace`] lets `rate` commands a second start, all clients
    /// together; `rate` 0 means no pacing.
    pub fn paced(rate: f64) -> Stats {
        let pacer = (rate > 0.0).then(|| Pacer {
            interval: Duration::from_secs_f64(1.0 / rate),
            next: Mutex::new(tokio::time::Instant::now()),
        });
        Stats {
            inner: Mutex::default(),
            pacer,
        }
    }

    /// Waits for the next free start slot (returns at once when not paced). A client that
    /// falls behind starts at once; slots are not saved up.
    pub async fn pace(&self) {
        let Some(p) = &self.pacer else {
            return;
        };
        let slot = {
            let Ok(mut next) = p.next.lock() else {
                return;
            };
            let slot = (*next).max(tokio::time::Instant::now());
            *next = slot + p.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// Records one successful command and how long it took.
    pub fn ok(&self, cmd: &'static str, took: Duration) {
        let us = took.as_micros().min(u32::MAX as u128) as u32;
        let Ok(mut g) = self.inner.lock() else {
            return;
        };
        let s = g.lat.entry(cmd).or_default();
        s.count += 1;
        if s.micros.len() < MAX_SAMPLES {
            s.micros.push(us);
        } else {
            // Cheap deterministic reservoir: replace a slot chosen from the count.
            let slot = (s.count.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize % MAX_SAMPLES;
            s.micros[slot] = us;
        }
    }

    /// Records a failed command (wrong or missing answer, or a broken connection).
    pub fn err(&self, cmd: &'static str, what: &anyhow::Error) {
        let Ok(mut g) = self.inner.lock() else {
            return;
        };
        *g.errors.entry(cmd).or_default() += 1;
        if g.samples.len() < MAX_ERROR_SAMPLES {
            g.samples.push(format!("{cmd}: {what:#}"));
        }
    }

    /// Total successful commands.
    pub fn total_ok(&self) -> u64 {
        self.inner
            .lock()
            .map(|g| g.lat.values().map(|s| s.count).sum())
            .unwrap_or(0)
    }

    /// Total errors.
    pub fn total_errors(&self) -> u64 {
        self.inner
            .lock()
            .map(|g| g.errors.values().sum())
            .unwrap_or(0)
    }

    /// Percentile (0..=100) of one command's latency, in milliseconds.
    pub fn percentile_ms(&self, cmd: &str, p: f64) -> Option<f64> {
        let g = self.inner.lock().ok()?;
        let s = g.lat.get(cmd)?;
        let mut v = s.micros.clone();
        percentile(&mut v, p)
    }

    /// Prints a per-command table and the error samples; emits metric lines with `prefix`.
    pub fn report(&self, prefix: &str, seconds: f64) {
        let Ok(g) = self.inner.lock() else {
            return;
        };
        println!(
            "{:<14} {:>9} {:>10} {:>10} {:>10} {:>7}",
            "command", "count", "per sec", "p50 ms", "p99 ms", "errors"
        );
        let mut names: Vec<&'static str> = g.lat.keys().copied().collect();
        for e in g.errors.keys() {
            if !names.contains(e) {
                names.push(e);
            }
        }
        for name in names {
            let (count, mut v) = match g.lat.get(name) {
                Some(s) => (s.count, s.micros.clone()),
                None => (0, Vec::new()),
            };
            let p50 = percentile(&mut v, 50.0);
            let p99 = percentile(&mut v, 99.0);
            let errs = g.errors.get(name).copied().unwrap_or(0);
            println!(
                "{:<14} {:>9} {:>10.1} {:>10} {:>10} {:>7}",
                name,
                count,
                count as f64 / seconds.max(1e-9),
                fmt_opt(p50),
                fmt_opt(p99),
                errs
            );
            if let Some(p) = p50 {
                metric(&format!("{prefix}.{name}.p50"), p, "ms");
            }
            if let Some(p) = p99 {
                metric(&format!("{prefix}.{name}.p99"), p, "ms");
            }
        }
        for s in &g.samples {
            println!("error: {s}");
        }
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into())
}

/// Percentile of microsecond samples, in milliseconds (sorts `v`).
pub fn percentile(v: &mut [u32], p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let rank = ((p / 100.0) * (v.len() as f64 - 1.0)).round() as usize;
    Some(v[rank.min(v.len() - 1)] as f64 / 1000.0)
}

/// Prints one machine-readable result line.
pub fn metric(name: &str, value: f64, unit: &str) {
    println!("metric {name} {value:.4} {unit}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let mut v: Vec<u32> = (1..=100).map(|x| x * 1000).collect();
        assert_eq!(percentile(&mut v, 50.0), Some(51.0));
        assert_eq!(percentile(&mut v, 99.0), Some(99.0));
        assert_eq!(percentile(&mut [], 50.0), None);
    }
}
