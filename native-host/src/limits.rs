//! Protection against password guessing: failed logins from one address slow down that
//! address's later attempts (doubling delay, capped), forgotten after a success or a while.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Per-address failed-login bookkeeping.
#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

/// First delay after a failure; doubles per further failure.
const BASE: Duration = Duration::from_millis(250);
/// Longest delay.
const CAP: Duration = Duration::from_secs(15);
/// Failures older than this are forgotten.
const FORGET: Duration = Duration::from_secs(15 * 60);

impl Throttle {
    /// Records a failure from `ip` and returns how long to stall that connection.
    pub fn failed(&self, ip: IpAddr) -> Duration {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        map.retain(|_, (_, at)| now.duration_since(*at) < FORGET);
        let entry = map.entry(ip).or_insert((0, now));
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
        let factor = 1u32 << (entry.0 - 1).min(10);
        (BASE * factor).min(CAP)
    }

    /// A successful login from `ip` clears its record.
    pub fn succeeded(&self, ip: IpAddr) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_per_address_and_reset_on_success() {
        let t = Throttle::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(t.failed(a), BASE);
        assert_eq!(t.failed(a), BASE * 2);
        assert_eq!(t.failed(b), BASE, "other addresses are not slowed");
        t.succeeded(a);
        assert_eq!(t.failed(a), BASE);
        for _ in 0..20 {
            t.failed(a);
        }
        assert_eq!(t.failed(a), CAP);
    }
}
