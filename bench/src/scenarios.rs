//! The benchmark scenarios: mixed Thunderbird-like load, connection setup and IDLE push,
//! big mailbox, APPEND one by one, APPEND then FETCH back, and large-message FETCH (plain or
//! TLS).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::imap::{fetch_flags, fetch_item, quote, shorten, Answer, Client, Target};
use crate::msg::{self, Rng, Spec};
use crate::procstat::{Probe, Usage};
use crate::stats::{metric, Stats};
use crate::Common;

/// Thunderbird's header fetch (from the seed transcript).
const HEADER_FIELDS: &str = "From To Cc Bcc Subject Date Message-ID Priority X-Priority \
                             References Newsgroups In-Reply-To Content-Type Reply-To";

/// A per-run number so that generated ids and mailbox names never collide across runs.
fn run_id() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
        ^ ((std::process::id() as u64) << 44)
}

fn plain(c: &Common) -> Target {
    Target::plain(&c.addr, c.timeout())
}

fn tls(c: &Common) -> Result<Target> {
    let addr = c
        .tls_addr
        .as_deref()
        .ok_or_else(|| anyhow!("--tls needs --tls-addr"))?;
    let ca = c.ca.as_deref().ok_or_else(|| anyhow!("--tls needs --ca"))?;
    Target::tls(addr, ca, &c.tls_name, c.timeout())
}

/// Prints the server's CPU and memory for a phase; `per` divides the CPU (per command,
/// per connection...).
fn report_usage(prefix: &str, usage: Option<Usage>, per: Option<(f64, &str)>) {
    let Some(u) = usage else {
        return;
    };
    println!(
        "server: {:.2} CPU s, memory {:.1} MiB at start, {:.1} MiB peak, {:.1} MiB at end \
         (PSS, all processes)",
        u.cpu_s,
        u.mem_start as f64 / 1048576.0,
        u.mem_peak as f64 / 1048576.0,
        u.mem_end as f64 / 1048576.0
    );
    println!("load generator: {:.2} CPU s", u.client_cpu_s);
    metric(&format!("{prefix}.server_cpu"), u.cpu_s, "s");
    metric(&format!("{prefix}.client_cpu"), u.client_cpu_s, "s");
    metric(
        &format!("{prefix}.server_mem_peak"),
        u.mem_peak as f64 / 1048576.0,
        "MiB",
    );
    if let Some((n, unit)) = per {
        if n > 0.0 {
            metric(
                &format!("{prefix}.server_cpu_per_{unit}"),
                u.cpu_s * 1e3 / n,
                "ms",
            );
        }
    }
}

/// Times one command into `stats`; an error is counted and returned.
async fn timed<T>(
    stats: &Stats,
    name: &'static str,
    fut: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    stats.pace().await;
    let t = Instant::now();
    match fut.await {
        Ok(v) => {
            stats.ok(name, t.elapsed());
            Ok(v)
        }
        Err(e) => {
            stats.err(name, &e);
            Err(e)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Mixed load
// ---------------------------------------------------------------------------------------

/// N clients, each its own user, each running Thunderbird-like sessions until the deadline.
pub async fn mixed(c: &Common, clients: usize, seconds: u64, rate: f64) -> Result<u64> {
    let stats = Arc::new(Stats::paced(rate));
    let target = plain(c);
    let base = run_id();
    let paced = if rate > 0.0 {
        format!(", paced at {rate:.0} commands/s")
    } else {
        String::new()
    };
    println!(
        "mixed: {clients} clients for {seconds} s against {}{paced}",
        c.addr
    );
    // Warm-up outside the timed window: every user's INBOX gets at least 20 messages.
    let mut prep = Vec::new();
    for i in 0..clients {
        let (c, target) = (c.clone(), target.clone());
        prep.push(tokio::spawn(async move {
            prepare_inbox(&c, &target, i + 1, base ^ ((i as u64) << 32)).await
        }));
    }
    for p in prep {
        p.await.map_err(|e| anyhow!("prepare task: {e}"))??;
    }
    let probe = Probe::start(c.server_pid);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for i in 0..clients {
        let (c, target, stats) = (c.clone(), target.clone(), stats.clone());
        let seed = base ^ ((i as u64 + 1) << 40);
        tasks.push(tokio::spawn(async move {
            mixed_client(&c, &target, i + 1, seed, deadline, &stats).await
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let secs = start.elapsed().as_secs_f64();
    let usage = probe.map(Probe::finish);
    let total = stats.total_ok();
    let errors = stats.total_errors();
    stats.report("mixed", secs);
    println!(
        "mixed: {total} commands in {secs:.1} s = {:.0} commands/s, {errors} errors",
        total as f64 / secs
    );
    metric("mixed.cmds_per_s", total as f64 / secs, "cmd/s");
    metric("mixed.errors", errors as f64, "n");
    report_usage("mixed", usage, Some((total as f64 / 1000.0, "1000cmd")));
    Ok(errors)
}

/// Makes sure user `n`'s INBOX has at least 20 messages (untimed set-up).
async fn prepare_inbox(c: &Common, target: &Target, n: usize, seed: u64) -> Result<()> {
    let mut cl = Client::connect(target).await?;
    cl.login(&c.user(n), &c.password).await?;
    let exists = cl.select(&c.mailbox).await?;
    if exists < 20 {
        let mb = c.mailbox.clone();
        cl.append_pipelined(&mb, 20 - exists as usize, 8, |i| {
            msg::build(
                seed + i as u64,
                Spec {
                    size: 1500 + 200 * i,
                    ..Spec::default()
                },
            )
        })
        .await
        .context("populating INBOX")?;
    }
    cl.logout().await
}

/// One simulated Thunderbird: sessions of up to 50 operations, until the deadline.
async fn mixed_client(
    c: &Common,
    target: &Target,
    n: usize,
    seed: u64,
    deadline: Instant,
    stats: &Stats,
) {
    let mut rng = Rng::new(seed);
    let mut next_id = seed;
    // Bounded: each pass ends at the deadline; failures back off briefly.
    while Instant::now() < deadline {
        if mixed_session(c, target, n, &mut rng, &mut next_id, deadline, stats)
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn mixed_session(
    c: &Common,
    target: &Target,
    n: usize,
    rng: &mut Rng,
    next_id: &mut u64,
    deadline: Instant,
    stats: &Stats,
) -> Result<()> {
    let mut cl = timed(stats, "connect", Client::connect(target)).await?;
    let user = c.user(n);
    timed(
        stats,
        "authenticate",
        cl.authenticate_plain(&user, &c.password),
    )
    .await?;
    timed(
        stats,
        "id",
        check_id(cl.ok("ID (\"name\" \"Thunderbird\" \"version\" \"139.0.2\")")),
    )
    .await?;
    let exists = timed(stats, "select", cl.select(&c.mailbox)).await?;
    let mut uids = timed(stats, "fetch_flags", fetch_all_flags(&mut cl, exists)).await?;
    for _ in 0..50 {
        if Instant::now() >= deadline {
            break;
        }
        let pick = rng.below(100);
        let uid = if uids.is_empty() {
            None
        } else {
            Some(uids[rng.below(uids.len() as u64) as usize])
        };
        match (pick, uid) {
            (0..=24, _) => {
                timed(stats, "noop", cl.ok("NOOP")).await?;
                let from = uids.last().map(|u| u + 1).unwrap_or(1);
                let a = timed(
                    stats,
                    "fetch_new_flags",
                    cl.ok(&format!("UID FETCH {from}:* (FLAGS)")),
                )
                .await?;
                check_flags_answer(&a).map_err(|e| count(stats, "fetch_new_flags", e))?;
            }
            (25..=44, Some(uid)) => {
                let cmd = format!(
                    "UID FETCH {uid} (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})])"
                );
                let a = timed(stats, "fetch_headers", cl.ok(&cmd)).await?;
                check_headers(&a, uid).map_err(|e| count(stats, "fetch_headers", e))?;
            }
            (45..=59, Some(uid)) => {
                let cmd = format!("UID FETCH {uid} (UID RFC822.SIZE BODY.PEEK[])");
                let a = timed(stats, "fetch_body", cl.ok(&cmd)).await?;
                check_body(&a, uid).map_err(|e| count(stats, "fetch_body", e))?;
            }
            (60..=66, Some(uid)) => {
                let cmd = format!(
                    "UID FETCH {uid} (UID BODY.PEEK[HEADER.FIELDS (Content-Type Content-Transfer-Encoding)] BODY.PEEK[TEXT]<0.2048>)"
                );
                let a = timed(stats, "fetch_preview", cl.ok(&cmd)).await?;
                check_preview(&a, uid).map_err(|e| count(stats, "fetch_preview", e))?;
            }
            (67..=78, Some(uid)) => {
                let a = timed(
                    stats,
                    "store_seen",
                    cl.ok(&format!("UID STORE {uid} +FLAGS (\\Seen)")),
                )
                .await?;
                check_store(&a, uid).map_err(|e| count(stats, "store_seen", e))?;
            }
            (79..=86, _) => {
                *next_id += 1;
                let size = if rng.below(20) == 0 {
                    40_000 + rng.below(40_000) as usize
                } else {
                    1000 + rng.below(6000) as usize
                };
                let m = msg::build(
                    *next_id,
                    Spec {
                        size,
                        ..Spec::default()
                    },
                );
                let uid = timed(stats, "append", cl.append(&c.mailbox, "\\Seen", &m)).await?;
                match uid {
                    Some(u) if uids.last().is_none_or(|&l| u > l) => uids.push(u),
                    Some(u) => {
                        return Err(count(
                            stats,
                            "append",
                            anyhow!("APPENDUID {u} is not above the last UID"),
                        ))
                    }
                    // No UIDPLUS: learn the new UID from a FLAGS resync.
                    None => {
                        let ex = cl.select(&c.mailbox).await?;
                        uids = fetch_all_flags(&mut cl, ex).await?;
                    }
                }
            }
            (87..=93, Some(uid)) if uids.len() > 10 => {
                let a = timed(
                    stats,
                    "move",
                    cl.ok(&format!("UID MOVE {uid} {}", quote(&c.trash))),
                )
                .await?;
                if a.numbered("EXPUNGE").count() + vanished(&a) != 1 {
                    return Err(count(
                        stats,
                        "move",
                        anyhow!("UID MOVE {uid}: expected one EXPUNGE, got {:?}", lines(&a)),
                    ));
                }
                uids.retain(|&u| u != uid);
            }
            _ => {
                let t = Instant::now();
                let (tag, _) = cl.idle_start().await.map_err(|e| count(stats, "idle", e))?;
                stats.ok("idle", t.elapsed());
                tokio::time::sleep(Duration::from_millis(rng.below(20))).await;
                timed(stats, "idle_done", cl.idle_done(&tag)).await?;
            }
        }
    }
    timed(stats, "logout", cl.logout()).await
}

/// Counts a verification failure found after a command's OK.
fn count(stats: &Stats, name: &'static str, e: anyhow::Error) -> anyhow::Error {
    stats.err(name, &e);
    e
}

fn lines(a: &Answer) -> Vec<String> {
    a.untagged
        .iter()
        .take(4)
        .map(|r| shorten(&r.line()))
        .collect()
}

fn vanished(a: &Answer) -> usize {
    a.untagged
        .iter()
        .filter(|r| r.text.starts_with(b"* VANISHED"))
        .count()
}

async fn check_id(f: impl std::future::Future<Output = Result<Answer>>) -> Result<()> {
    let a = f.await?;
    if !a.untagged.iter().any(|r| r.text.starts_with(b"* ID ")) {
        bail!("ID: no * ID response");
    }
    Ok(())
}

/// `UID FETCH 1:* (FLAGS)`: one FETCH with UID and FLAGS per message; returns the UIDs.
async fn fetch_all_flags(cl: &mut Client, exists: u32) -> Result<Vec<u32>> {
    let a = cl.ok("UID FETCH 1:* (FLAGS)").await?;
    let mut uids = Vec::with_capacity(exists as usize);
    for (_, r) in a.numbered("FETCH") {
        let line = r.line();
        let uid = fetch_item(&line, "UID")
            .and_then(|u| u.parse().ok())
            .ok_or_else(|| anyhow!("FETCH without UID: {}", shorten(&line)))?;
        fetch_flags(&line).ok_or_else(|| anyhow!("FETCH without FLAGS: {}", shorten(&line)))?;
        uids.push(uid);
    }
    if uids.len() != exists as usize {
        bail!(
            "UID FETCH 1:* (FLAGS): {} FETCH responses for {exists} messages",
            uids.len()
        );
    }
    uids.sort_unstable();
    Ok(uids)
}

fn check_flags_answer(a: &Answer) -> Result<()> {
    for (_, r) in a.numbered("FETCH") {
        let line = r.line();
        if fetch_item(&line, "UID").is_none() || fetch_flags(&line).is_none() {
            bail!("FETCH without UID or FLAGS: {}", shorten(&line));
        }
    }
    Ok(())
}

/// The single FETCH response for `uid` in an answer.
fn the_fetch(a: &Answer, uid: u32) -> Result<&crate::imap::Resp> {
    let mut found = None;
    for (_, r) in a.numbered("FETCH") {
        let line = r.line();
        if fetch_item(&line, "UID").and_then(|u| u.parse::<u32>().ok()) == Some(uid) {
            if found.is_some() {
                bail!("two FETCH responses for UID {uid}");
            }
            found = Some(r);
        }
    }
    found.ok_or_else(|| anyhow!("no FETCH response for UID {uid}: {:?}", lines(a)))
}

fn check_headers(a: &Answer, uid: u32) -> Result<()> {
    let r = the_fetch(a, uid)?;
    let line = r.line();
    if fetch_item(&line, "RFC822.SIZE")
        .and_then(|s| s.parse::<u64>().ok())
        .is_none()
    {
        bail!("no RFC822.SIZE: {}", shorten(&line));
    }
    fetch_flags(&line).ok_or_else(|| anyhow!("no FLAGS: {}", shorten(&line)))?;
    let hdr = r.lits.first().ok_or_else(|| anyhow!("no header literal"))?;
    let text = String::from_utf8_lossy(hdr);
    if !text.contains("Subject: load test") || !text.ends_with("\r\n\r\n") {
        bail!("header fields wrong: {}", shorten(&text));
    }
    if text.contains("Return-Path") {
        bail!("header fields include an unrequested header");
    }
    Ok(())
}

fn check_body(a: &Answer, uid: u32) -> Result<()> {
    let r = the_fetch(a, uid)?;
    let line = r.line();
    let size: usize = fetch_item(&line, "RFC822.SIZE")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("no RFC822.SIZE: {}", shorten(&line)))?;
    let body = r.lits.first().ok_or_else(|| anyhow!("no BODY[] literal"))?;
    if body.len() != size {
        bail!("BODY[] is {} bytes, RFC822.SIZE says {size}", body.len());
    }
    msg::verify(body).map_err(|e| anyhow!("BODY[] content: {e}"))
}

fn check_preview(a: &Answer, uid: u32) -> Result<()> {
    let r = the_fetch(a, uid)?;
    if r.lits.len() != 2 {
        bail!("expected 2 literals, got {}", r.lits.len());
    }
    let h = String::from_utf8_lossy(&r.lits[0]);
    if !h.starts_with("Content-Type: text/plain") {
        bail!("header fields wrong: {}", shorten(&h));
    }
    if r.lits[1].is_empty() || r.lits[1].len() > 2048 {
        bail!("BODY[TEXT]<0.2048> is {} bytes", r.lits[1].len());
    }
    Ok(())
}

fn check_store(a: &Answer, uid: u32) -> Result<()> {
    // A server may skip the FETCH when nothing changed; when it sends one, \Seen is in it.
    for (_, r) in a.numbered("FETCH") {
        let line = r.line();
        if fetch_item(&line, "UID").and_then(|u| u.parse::<u32>().ok()) == Some(uid) {
            let flags = fetch_flags(&line).unwrap_or("");
            if !flags.split(' ').any(|f| f.eq_ignore_ascii_case("\\Seen")) {
                bail!("STORE +FLAGS (\\Seen): flags now ({flags})");
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Connection setup and IDLE push
// ---------------------------------------------------------------------------------------

/// A connection sitting in IDLE.
struct Watcher {
    cl: Client,
    tag: String,
    exists: u32,
}

async fn open_watcher(c: &Common, target: &Target, user: &str) -> Result<Watcher> {
    let mut cl = Client::connect(target).await?;
    cl.login(user, &c.password).await?;
    let exists = cl.select(&c.mailbox).await?;
    let (tag, _) = cl.idle_start().await?;
    Ok(Watcher { cl, tag, exists })
}

/// Waits until the watcher has seen `* n EXISTS` with n >= `want`; returns when.
async fn await_exists(w: &mut Watcher, want: u32, limit: Duration) -> Result<Instant> {
    let end = Instant::now() + limit;
    // Bounded by `limit`.
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!("no * {want} EXISTS within {limit:?}");
        }
        let Some(r) = w.cl.read_resp_within(left).await? else {
            continue;
        };
        let line = r.line();
        let mut it = line.split(' ');
        if it.next() == Some("*") {
            if let (Some(Ok(n)), Some(word)) = (it.next().map(str::parse::<u32>), it.next()) {
                if word.trim_end().eq_ignore_ascii_case("EXISTS") {
                    w.exists = n;
                    if n >= want {
                        return Ok(Instant::now());
                    }
                }
            }
        }
    }
}

/// Opens `conns` IDLE connections, pushes `rounds` APPENDs to user 1, closes everything.
pub async fn idle(
    c: &Common,
    conns: usize,
    parallel: usize,
    users: usize,
    rounds: usize,
    name: &str,
    over_tls: bool,
) -> Result<u64> {
    let target = if over_tls { tls(c)? } else { plain(c) };
    let stats = Arc::new(Stats::default());
    let users = users.max(1);
    println!(
        "{name}: {conns} connections (LOGIN, SELECT, IDLE; {parallel} at a time) over {users} user(s)"
    );
    let probe = Probe::start(c.server_pid);
    let start = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
    let mut tasks = Vec::with_capacity(conns);
    for i in 0..conns {
        let (c, target, sem, stats) = (c.clone(), target.clone(), sem.clone(), stats.clone());
        let user = c.user(i % users + 1);
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await.ok()?;
            let t = Instant::now();
            match open_watcher(&c, &target, &user).await {
                Ok(w) => {
                    stats.ok("setup", t.elapsed());
                    Some((i % users == 0, w))
                }
                Err(e) => {
                    stats.err("setup", &e);
                    None
                }
            }
        }));
    }
    let mut watchers = Vec::with_capacity(conns);
    let mut others = Vec::new();
    for t in tasks {
        match t.await {
            Ok(Some((true, w))) => watchers.push(w),
            Ok(Some((false, w))) => others.push(w),
            _ => {}
        }
    }
    let setup_s = start.elapsed().as_secs_f64();
    let usage = probe.map(Probe::finish);
    let open = watchers.len() + others.len();
    println!(
        "{name}: {open} of {conns} connections idle after {setup_s:.2} s ({:.0} setups/s)",
        open as f64 / setup_s
    );
    metric(
        &format!("{name}.setup_per_s"),
        open as f64 / setup_s,
        "conn/s",
    );
    if let Some(p) = stats.percentile_ms("setup", 50.0) {
        metric(&format!("{name}.setup_p50"), p, "ms");
    }
    if let Some(u) = &usage {
        metric(
            &format!("{name}.server_mem_per_conn"),
            (u.mem_end.saturating_sub(u.mem_start)) as f64 / 1024.0 / open.max(1) as f64,
            "KiB",
        );
    }
    report_usage(name, usage, Some((open as f64, "conn")));

    // Push rounds: APPEND to user 1's mailbox, time until every watcher saw EXISTS.
    if rounds > 0 && !watchers.is_empty() {
        let mut appender = Client::connect(&target).await?;
        appender.login(&c.user(1), &c.password).await?;
        let probe = Probe::start(c.server_pid);
        let mut lat = Vec::new();
        let base = run_id();
        for r in 0..rounds {
            let want = watchers.iter().map(|w| w.exists).max().unwrap_or(0) + 1;
            let m = msg::build(
                base + r as u64,
                Spec {
                    size: 2000,
                    ..Spec::default()
                },
            );
            let limit = Duration::from_secs(60);
            let mut waits = Vec::with_capacity(watchers.len());
            for mut w in watchers.drain(..) {
                waits.push(tokio::spawn(async move {
                    let r = await_exists(&mut w, want, limit).await;
                    (w, r)
                }));
            }
            let t0 = Instant::now();
            let ap = appender.append(&c.mailbox, "", &m).await;
            let mut last = t0;
            let mut missing = 0;
            for h in waits {
                let Ok((w, s)) = h.await else {
                    missing += 1;
                    continue;
                };
                watchers.push(w);
                match s {
                    Ok(t) => last = last.max(t),
                    Err(e) => {
                        missing += 1;
                        stats.err("push", &e);
                    }
                }
            }
            if let Err(e) = ap {
                stats.err("push_append", &e);
                continue;
            }
            let ms = last.duration_since(t0).as_secs_f64() * 1e3;
            println!(
                "{name}: push {}: last of {} watchers saw EXISTS after {ms:.1} ms ({missing} missed)",
                r + 1,
                watchers.len()
            );
            lat.push((ms * 1000.0) as u32);
            // Let the mailbox settle (Dovecot may coalesce); bounded pause.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let usage = probe.map(Probe::finish);
        if let Some(p) = crate::stats::percentile(&mut lat.clone(), 50.0) {
            metric(&format!("{name}.push_last_p50"), p, "ms");
        }
        if let Some(p) = crate::stats::percentile(&mut lat, 100.0) {
            metric(&format!("{name}.push_last_max"), p, "ms");
        }
        // CPU per watcher per push: what one notification costs each side, wherever the
        // time until the last watcher goes (both share the same cores).
        let notified = (rounds * watchers.len()) as f64;
        if let Some(u) = usage.as_ref().filter(|_| notified > 0.0) {
            let us = |s: f64| s * 1e6 / notified;
            metric(
                &format!("{name}.push_server_us_per_watcher"),
                us(u.cpu_s),
                "us",
            );
            metric(
                &format!("{name}.push_client_us_per_watcher"),
                us(u.client_cpu_s),
                "us",
            );
        }
        report_usage(&format!("{name}.push"), usage, None);
        let _ = appender.logout().await;
    }

    // Tear down: DONE + LOGOUT everywhere, a bounded number at a time.
    let t = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = Vec::new();
    for mut w in watchers.into_iter().chain(others) {
        let (sem, stats) = (sem.clone(), stats.clone());
        tasks.push(tokio::spawn(async move {
            let _p = sem.acquire().await.ok()?;
            let r = async {
                // Drain pushes that arrived since; DONE's answer may follow them.
                w.cl.idle_done(&w.tag).await?;
                w.cl.logout().await
            }
            .await;
            if let Err(e) = r {
                stats.err("teardown", &e);
            }
            Some(())
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    println!("{name}: closed in {:.1} s", t.elapsed().as_secs_f64());
    let errors = stats.total_errors();
    stats.report(name, setup_s);
    metric(&format!("{name}.errors"), errors as f64, "n");
    Ok(errors)
}

// ---------------------------------------------------------------------------------------
// Big mailbox, APPEND one by one, big FETCH
// ---------------------------------------------------------------------------------------

/// Connects as user 1 and creates a fresh mailbox named `prefix-<run id>`.
async fn fresh_mailbox(c: &Common, target: &Target, prefix: &str) -> Result<(Client, String)> {
    let mut cl = Client::connect(target).await?;
    cl.login(&c.user(1), &c.password).await?;
    let name = format!("{prefix}-{}", run_id() % 1_000_000_000);
    cl.ok(&format!("CREATE {}", quote(&name))).await?;
    Ok((cl, name))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Big mailbox: populate, then time the whole-mailbox commands.
pub async fn big(
    c: &Common,
    messages: usize,
    repeat: usize,
    size: usize,
    reuse: Option<&str>,
) -> Result<u64> {
    let target = plain(c);
    let (mut cl, mbox, base) = match reuse {
        // A named mailbox: populated on the first run only, its ids derived from the name.
        Some(name) => {
            let mut cl = Client::connect(&target).await?;
            cl.login(&c.user(1), &c.password).await?;
            let _ = cl.cmd(&format!("CREATE {}", quote(name))).await?;
            let base = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
            }) >> 20
                << 16;
            (cl, name.to_string(), base)
        }
        None => {
            let (cl, mbox) = fresh_mailbox(c, &target, "big").await?;
            (cl, mbox, run_id() << 16)
        }
    };
    let spec = |i: usize| Spec {
        size: size + (i % 7) * 100,
        subject_word: (i % 100 == 0).then_some("zebra"),
        body_word: (i % 100 == 50).then_some("quokka"),
    };
    let sizes: Vec<usize> = (0..messages)
        .map(|i| msg::build(base + i as u64, spec(i)).len())
        .collect();
    let already = cl.select(&mbox).await?;
    if already as usize == messages && reuse.is_some() {
        println!("big: {mbox} already holds {messages} messages");
    } else if already != 0 {
        bail!("{mbox} holds {already} messages, expected 0 or {messages}");
    } else {
        println!("big: populating {mbox} with {messages} messages (pipelined APPEND)");
        let probe = Probe::start(c.server_pid);
        let t = Instant::now();
        cl.append_pipelined(&mbox, messages, 32, |i| {
            msg::build(base + i as u64, spec(i))
        })
        .await?;
        let pop = t.elapsed().as_secs_f64();
        println!(
            "big: populated in {pop:.1} s ({:.0} msg/s)",
            messages as f64 / pop
        );
        metric("big.populate_per_s", messages as f64 / pop, "msg/s");
        report_usage("big.populate", probe.map(Probe::finish), None);
    }
    let exists = cl.select(&mbox).await?;
    if exists as usize != messages {
        bail!("SELECT {mbox}: {exists} EXISTS, expected {messages}");
    }
    let want_subject = (0..messages).filter(|i| i % 100 == 0).count();
    let want_text = (0..messages).filter(|i| i % 100 == 50).count();
    let mut errors = 0u64;
    let probe = Probe::start(c.server_pid);
    let cmds: [(&str, String); 4] = [
        ("fetch_flags", "UID FETCH 1:* (FLAGS)".into()),
        (
            "search_subject",
            "UID SEARCH HEADER Subject \"zebra\"".into(),
        ),
        ("search_text", "UID SEARCH TEXT \"quokka\"".into()),
        ("fetch_sizes", "FETCH 1:* (UID RFC822.SIZE)".into()),
    ];
    for (name, cmd) in cmds {
        let mut times = Vec::new();
        for _ in 0..repeat.max(1) {
            let t = Instant::now();
            let a = cl.ok(&cmd).await?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            let check = match name {
                "fetch_flags" => check_count(&a, messages),
                "fetch_sizes" => check_sizes(&a, &sizes),
                "search_subject" => check_search(&a, want_subject),
                _ => check_search(&a, want_text),
            };
            if let Err(e) = check {
                errors += 1;
                println!("error: big {name}: {e:#}");
            }
        }
        let first = times[0];
        let med = median(&mut times);
        println!("big: {cmd}: first {first:.1} ms, median {med:.1} ms");
        metric(&format!("big.{name}"), med, "ms");
        metric(&format!("big.{name}.first"), first, "ms");
    }
    report_usage("big.queries", probe.map(Probe::finish), None);
    let _ = cl.logout().await;
    metric("big.errors", errors as f64, "n");
    Ok(errors)
}

fn check_count(a: &Answer, want: usize) -> Result<()> {
    let n = a.numbered("FETCH").count();
    if n != want {
        bail!("{n} FETCH responses, expected {want}");
    }
    Ok(())
}

fn check_sizes(a: &Answer, sizes: &[usize]) -> Result<()> {
    check_count(a, sizes.len())?;
    for (seq, r) in a.numbered("FETCH") {
        let line = r.line();
        let size: usize = fetch_item(&line, "RFC822.SIZE")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("no RFC822.SIZE: {}", shorten(&line)))?;
        fetch_item(&line, "UID").ok_or_else(|| anyhow!("no UID: {}", shorten(&line)))?;
        let want = (seq as usize).checked_sub(1).and_then(|i| sizes.get(i));
        if want != Some(&size) {
            bail!("message {seq}: RFC822.SIZE {size}, appended {want:?}");
        }
    }
    Ok(())
}

fn check_search(a: &Answer, want: usize) -> Result<()> {
    let mut n = None;
    for r in &a.untagged {
        let line = r.line();
        if let Some(rest) = line.strip_prefix("* SEARCH") {
            n = Some(rest.split_whitespace().count());
        }
    }
    match n {
        Some(n) if n == want => Ok(()),
        Some(n) => bail!("SEARCH found {n}, expected {want}"),
        None => bail!("no * SEARCH response"),
    }
}

/// APPEND `count` × `size` bytes, each waiting for its OK.
pub async fn append(c: &Common, count: usize, size: usize) -> Result<u64> {
    let target = plain(c);
    let (mut cl, mbox) = fresh_mailbox(c, &target, "app").await?;
    let stats = Stats::default();
    let base = run_id() << 16;
    println!("append: {count} × {size} bytes into {mbox}, one at a time");
    let probe = Probe::start(c.server_pid);
    let t = Instant::now();
    for i in 0..count {
        let m = msg::build(
            base + i as u64,
            Spec {
                size,
                ..Spec::default()
            },
        );
        if timed(&stats, "append", cl.append(&mbox, "", &m))
            .await
            .is_err()
        {
            break;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let usage = probe.map(Probe::finish);
    let n = stats.total_ok();
    println!("append: {n} in {secs:.2} s = {:.0}/s", n as f64 / secs);
    stats.report("append", secs);
    metric("append.total", secs, "s");
    metric("append.per_s", n as f64 / secs, "msg/s");
    report_usage("append", usage, Some((n as f64, "msg")));
    // Check they are all there.
    let exists = cl.select(&mbox).await?;
    let mut errors = stats.total_errors();
    if exists as usize != count {
        println!("error: append: {exists} EXISTS, expected {count}");
        errors += 1;
    }
    let _ = cl.logout().await;
    metric("append.errors", errors as f64, "n");
    Ok(errors)
}

/// Store `count` × `size` messages, then fetch each whole (plain or TLS) and check it.
pub async fn fetch_big(c: &Common, count: usize, size: usize, over_tls: bool) -> Result<u64> {
    let name = if over_tls {
        "fetch_big_tls"
    } else {
        "fetch_big"
    };
    let fetch_target = if over_tls { tls(c)? } else { plain(c) };
    let (mut cl, mbox) = fresh_mailbox(c, &plain(c), "big1m").await?;
    let base = run_id() << 16;
    let spec = Spec {
        size,
        ..Spec::default()
    };
    cl.append_pipelined(&mbox, count, 4, |i| msg::build(base + i as u64, spec))
        .await?;
    let _ = cl.logout().await;
    let mut cl = Client::connect(&fetch_target).await?;
    cl.login(&c.user(1), &c.password).await?;
    let exists = cl.select(&mbox).await?;
    let uids = fetch_all_flags(&mut cl, exists).await?;
    if uids.len() != count {
        bail!("{mbox}: {} messages, expected {count}", uids.len());
    }
    let stats = Stats::default();
    println!(
        "{name}: fetching {count} × {size} bytes one by one{}",
        if over_tls { " over TLS" } else { "" }
    );
    let probe = Probe::start(c.server_pid);
    let mut bytes = 0usize;
    // Only the FETCHes are timed: checking each 1 MiB body against the message rebuilt from
    // its Message-ID costs the load generator more than the transfer itself.
    let mut fetching = Duration::ZERO;
    for &uid in &uids {
        let cmd = format!("UID FETCH {uid} (UID RFC822.SIZE BODY.PEEK[])");
        let t = Instant::now();
        let Ok(a) = timed(&stats, "fetch_body", cl.ok(&cmd)).await else {
            break;
        };
        fetching += t.elapsed();
        bytes += the_fetch(&a, uid)
            .map(|r| r.lits.iter().map(Vec::len).sum())
            .unwrap_or(0);
        if let Err(e) = check_body(&a, uid) {
            stats.err("verify", &e);
        }
    }
    let secs = fetching.as_secs_f64();
    let usage = probe.map(Probe::finish);
    println!(
        "{name}: {:.1} MiB in {secs:.3} s of FETCHes = {:.0} MiB/s",
        bytes as f64 / 1048576.0,
        bytes as f64 / 1048576.0 / secs
    );
    stats.report(name, secs);
    metric(&format!("{name}.total"), secs, "s");
    metric(
        &format!("{name}.mib_per_s"),
        bytes as f64 / 1048576.0 / secs,
        "MiB/s",
    );
    report_usage(name, usage, None);
    let _ = cl.logout().await;
    let errors = stats.total_errors();
    metric(&format!("{name}.errors"), errors as f64, "n");
    Ok(errors)
}

/// One connection as `user`: APPEND `count` × `size` bytes one by one (each waiting for its
/// OK), then fetch them all back with one `UID FETCH 1:* (UID RFC822.SIZE BODY.PEEK[])` (what
/// a client syncing a folder for offline use sends) and compare every byte.
pub async fn append_fetch(c: &Common, user: &str, count: usize, size: usize) -> Result<u64> {
    let mut cl = Client::connect(&plain(c)).await?;
    cl.login(user, &c.password).await?;
    let mbox = format!("appfetch-{}", run_id() % 1_000_000_000);
    cl.ok(&format!("CREATE {}", quote(&mbox))).await?;
    let stats = Stats::default();
    let base = run_id() << 16;
    let spec = Spec {
        size,
        ..Spec::default()
    };
    println!("append_fetch: {count} × {size} bytes into {mbox} as {user}, one at a time");
    let probe = Probe::start(c.server_pid);
    let start = Instant::now();
    let t = start;
    for i in 0..count {
        let m = msg::build(base + i as u64, spec);
        if timed(&stats, "append", cl.append(&mbox, "", &m))
            .await
            .is_err()
        {
            break;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let n = stats.total_ok();
    println!(
        "append_fetch: {n} APPENDs in {secs:.2} s = {:.0}/s",
        n as f64 / secs
    );
    metric("append_fetch.append.total", secs, "s");
    metric("append_fetch.append.per_s", n as f64 / secs, "msg/s");
    report_usage("append_fetch.append", probe.map(Probe::finish), None);

    let exists = cl.select(&mbox).await?;
    if exists as usize != count {
        stats.err("select", &anyhow!("{exists} EXISTS, expected {count}"));
    }
    let probe = Probe::start(c.server_pid);
    let t = Instant::now();
    let fetched = timed(
        &stats,
        "fetch_all",
        cl.ok("UID FETCH 1:* (UID RFC822.SIZE BODY.PEEK[])"),
    )
    .await;
    let secs = t.elapsed().as_secs_f64();
    let usage = probe.map(Probe::finish);
    let mut bytes = 0usize;
    if let Ok(a) = &fetched {
        match check_all_bodies(a, count) {
            Ok(b) => bytes = b,
            Err(e) => stats.err("verify", &e),
        }
    }
    let mib = bytes as f64 / 1048576.0;
    println!(
        "append_fetch: fetched {mib:.1} MiB in {secs:.2} s = {:.0} MiB/s",
        mib / secs
    );
    stats.report("append_fetch", start.elapsed().as_secs_f64());
    metric("append_fetch.fetch.total", secs, "s");
    metric("append_fetch.fetch.mib_per_s", mib / secs, "MiB/s");
    report_usage("append_fetch.fetch", usage, None);
    let _ = cl.logout().await;
    let errors = stats.total_errors();
    metric("append_fetch.errors", errors as f64, "n");
    Ok(errors)
}

/// Every message of a whole-mailbox body FETCH: `want` responses, distinct UIDs, each body
/// as long as its RFC822.SIZE and equal to the message appended. Returns the body bytes.
fn check_all_bodies(a: &Answer, want: usize) -> Result<usize> {
    check_count(a, want)?;
    let mut uids = std::collections::HashSet::new();
    let mut bytes = 0;
    for (seq, r) in a.numbered("FETCH") {
        let line = r.line();
        let uid: u32 = fetch_item(&line, "UID")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("message {seq}: no UID: {}", shorten(&line)))?;
        if !uids.insert(uid) {
            bail!("two FETCH responses for UID {uid}");
        }
        let size: usize = fetch_item(&line, "RFC822.SIZE")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("UID {uid}: no RFC822.SIZE: {}", shorten(&line)))?;
        let body = r
            .lits
            .first()
            .ok_or_else(|| anyhow!("UID {uid}: no BODY[]"))?;
        if body.len() != size {
            bail!(
                "UID {uid}: BODY[] is {} bytes, RFC822.SIZE says {size}",
                body.len()
            );
        }
        msg::verify(body).map_err(|e| anyhow!("UID {uid}: BODY[] content: {e}"))?;
        bytes += body.len();
    }
    Ok(bytes)
}
