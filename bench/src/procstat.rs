//! The server's cost, read from `/proc`: CPU seconds and memory of a process and all its
//! descendants (Dovecot is many processes, Tidings one), sampled while a scenario runs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Clock ticks per second for `/proc/PID/stat` times.
fn clk_tck() -> f64 {
    static TCK: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TCK.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// `(ppid, utime+stime+cutime+cstime in ticks)` from `/proc/PID/stat`.
fn stat(pid: u32) -> Option<(u32, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ppid = f.get(1)?.parse().ok()?;
    let mut t = 0u64;
    for i in 11..=14 {
        t += f.get(i)?.parse::<u64>().ok()?;
    }
    Some((ppid, t))
}

/// `pid` and every live descendant, with their CPU ticks.
fn tree(pid: u32) -> Vec<(u32, u64)> {
    let mut all: HashMap<u32, (u32, u64)> = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            if let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) {
                if let Some(st) = stat(p) {
                    all.insert(p, st);
                }
            }
        }
    }
    let mut out = Vec::new();
    let Some(&(_, t)) = all.get(&pid) else {
        return out;
    };
    out.push((pid, t));
    let mut i = 0;
    while i < out.len() {
        let parent = out[i].0;
        for (&p, &(pp, t)) in &all {
            if pp == parent && p != pid {
                out.push((p, t));
            }
        }
        i += 1;
    }
    out
}

/// CPU seconds used so far by `pid` and its descendants (exited children that were waited
/// for are included through the parent's `cutime`/`cstime`).
pub fn cpu_seconds(pid: u32) -> f64 {
    tree(pid).iter().map(|&(_, t)| t).sum::<u64>() as f64 / clk_tck()
}

/// CPU seconds used so far by this process (all threads).
fn own_cpu_seconds() -> f64 {
    stat(std::process::id()).map_or(0.0, |(_, t)| t as f64 / clk_tck())
}

/// Proportional set size (kB) of one process, or its RSS when smaps_rollup is unreadable.
fn pss_kb(pid: u32) -> u64 {
    let field = |path: String, name: &str| -> Option<u64> {
        let s = std::fs::read_to_string(path).ok()?;
        let line = s.lines().find(|l| l.starts_with(name))?;
        line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    field(format!("/proc/{pid}/smaps_rollup"), "Pss:")
        .or_else(|| field(format!("/proc/{pid}/status"), "VmRSS:"))
        .unwrap_or(0)
}

/// Memory of the whole tree in bytes (sum of PSS, so shared pages are counted once).
pub fn mem_bytes(pid: u32) -> u64 {
    tree(pid).iter().map(|&(p, _)| pss_kb(p)).sum::<u64>() * 1024
}

/// Watches a server while a scenario runs: CPU at start, peak memory by sampling.
pub struct Probe {
    pid: u32,
    cpu0: f64,
    self_cpu0: f64,
    mem0: u64,
    peak: Arc<Mutex<u64>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// What a probe saw.
pub struct Usage {
    pub cpu_s: f64,
    /// CPU seconds this load generator used meanwhile (it shares the machine).
    pub client_cpu_s: f64,
    pub mem_start: u64,
    pub mem_peak: u64,
    /// Memory when the probe was finished (steady state after the phase).
    pub mem_end: u64,
}

impl Probe {
    /// Starts sampling `pid` (no-op when `None`).
    pub fn start(pid: Option<u32>) -> Option<Probe> {
        let pid = pid?;
        let cpu0 = cpu_seconds(pid);
        let self_cpu0 = own_cpu_seconds();
        let mem0 = mem_bytes(pid);
        let peak = Arc::new(Mutex::new(mem0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p2, s2) = (peak.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            // Bounded: stops when asked, or after a day at the latest.
            for _ in 0..(24 * 3600 * 2) {
                if s2.load(Ordering::Relaxed) {
                    break;
                }
                let m = mem_bytes(pid);
                if let Ok(mut g) = p2.lock() {
                    *g = (*g).max(m);
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        });
        Some(Probe {
            pid,
            cpu0,
            self_cpu0,
            mem0,
            peak,
            stop,
            thread: Some(thread),
        })
    }

    /// Stops sampling and returns the totals.
    pub fn finish(mut self) -> Usage {
        let mem_end = mem_bytes(self.pid);
        if let Ok(mut g) = self.peak.lock() {
            *g = (*g).max(mem_end);
        }
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        Usage {
            cpu_s: cpu_seconds(self.pid) - self.cpu0,
            client_cpu_s: own_cpu_seconds() - self.self_cpu0,
            mem_start: self.mem0,
            mem_peak: self.peak.lock().map(|g| *g).unwrap_or(0),
            mem_end,
        }
    }
}
