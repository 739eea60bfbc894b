//! Protection of the server from its clients: failed logins slow down that address's later
//! attempts, and connection counts are capped globally and per address.

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

/// Counts open connections, globally and per client address.
pub struct ConnLimits {
    max_total: usize,
    max_per_ip: usize,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// Holds one connection slot; dropping it frees the slot.
pub struct ConnSlot {
    limits: std::sync::Arc<ConnLimits>,
    ip: IpAddr,
}

impl ConnLimits {
    pub fn new(max_total: usize, max_per_ip: usize) -> ConnLimits {
        ConnLimits {
            max_total,
            max_per_ip,
            open: Mutex::new((0, HashMap::new())),
        }
    }

    /// Takes a slot for `ip`, or says which limit is reached.
    pub fn acquire(self: &std::sync::Arc<Self>, ip: IpAddr) -> Result<ConnSlot, &'static str> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.0 >= self.max_total {
            return Err("Too many connections to this server, try again later.");
        }
        let per = open.1.entry(ip).or_insert(0);
        if *per >= self.max_per_ip {
            return Err("Too many connections from your address.");
        }
        *per += 1;
        open.0 += 1;
        Ok(ConnSlot {
            limits: self.clone(),
            ip,
        })
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().unwrap_or_else(|p| p.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.1.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_limits_free_slots_on_drop() {
        let l = std::sync::Arc::new(ConnLimits::new(3, 2));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let s1 = l.acquire(a).unwrap();
        let _s2 = l.acquire(a).unwrap();
        assert!(l.acquire(a).is_err(), "per-address limit");
        let _s3 = l.acquire(b).unwrap();
        assert!(l.acquire(b).is_err(), "global limit");
        drop(s1);
        assert!(l.acquire(a).is_ok());
    }

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
