//! `tidings import`: brings an existing Maildir (with Maildir++ subfolders) or mbox file into
//! an account, keeping flags and dates, with a progress bar. Runs while the server is stopped.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use tidings_engine::command::MailboxName;
use tidings_engine::store::{Account, NewMessage, Store, StoreError};
use tidings_engine::types::{DateTime, Flag};
use tidings_host::store::FileStore;

/// One message found in the source.
struct Item {
    mailbox: String,
    path: Option<PathBuf>,
    bytes: Option<Vec<u8>>,
    flags: Vec<Flag>,
    date: i64,
}

/// Imports everything; returns how many messages were stored.
pub async fn run(
    store: &FileStore,
    user: &str,
    maildir: Option<&Path>,
    mbox: Option<&Path>,
    into: &str,
) -> Result<usize> {
    if !store
        .list_users()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .iter()
        .any(|u| u == user)
    {
        bail!("no such user: {user} (create it with `tidings user add {user}`)");
    }
    let items = match (maildir, mbox) {
        (Some(dir), None) => scan_maildir(dir, into)?,
        (None, Some(file)) => scan_mbox(file, into)?,
        _ => bail!("give exactly one of --maildir DIR or --mbox FILE"),
    };
    let account = Account {
        name: user.to_string(),
    };
    let bar = ProgressBar::new(items.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} messages {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut stored = 0;
    for item in items {
        let name = MailboxName::new(item.mailbox.clone());
        let bytes = match (&item.bytes, &item.path) {
            (Some(b), _) => b.clone(),
            (None, Some(p)) => {
                std::fs::read(p).with_context(|| format!("reading {}", p.display()))?
            }
            (None, None) => continue,
        };
        if bytes.is_empty() {
            bar.inc(1);
            continue;
        }
        let msg = NewMessage::from_raw(&bytes, item.flags, DateTime::from_unix(item.date, 0));
        let result = match store.append(&account, &name, msg.clone()).await {
            Err(StoreError::NoSuchMailbox) => {
                store
                    .create_mailbox(&account, &name, None)
                    .await
                    .map_err(|e| anyhow::anyhow!("creating {}: {e}", name.as_str()))?;
                store.append(&account, &name, msg).await
            }
            other => other,
        };
        result.map_err(|e| anyhow::anyhow!("storing into {}: {e}", name.as_str()))?;
        stored += 1;
        bar.inc(1);
    }
    bar.finish_with_message("done");
    Ok(stored)
}

/// Maildir flags (the letters after `:2,`) as IMAP flags.
fn maildir_flags(file_name: &str) -> Vec<Flag> {
    let Some((_, info)) = file_name.rsplit_once(":2,") else {
        return Vec::new();
    };
    let mut flags = Vec::new();
    for c in info.chars() {
        flags.push(match c {
            'D' => Flag::Draft,
            'F' => Flag::Flagged,
            'P' => Flag::Keyword("$Forwarded".into()),
            'R' => Flag::Answered,
            'S' => Flag::Seen,
            'T' => Flag::Deleted,
            _ => continue,
        });
    }
    flags
}

fn mtime(path: &Path) -> i64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The messages of a Maildir: `cur/` and `new/` of the root go to `into`, Maildir++ folders
/// `.A.B` to `A/B`. Sorted by name within a folder, which keeps delivery order for the usual
/// `time.unique.host` names.
fn scan_maildir(dir: &Path, into: &str) -> Result<Vec<Item>> {
    if !dir.join("cur").is_dir() && !dir.join("new").is_dir() {
        bail!("{} is not a Maildir (no cur/ or new/)", dir.display());
    }
    let mut folders = vec![(dir.to_path_buf(), into.to_string())];
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(sub) = name.strip_prefix('.') {
            if !sub.is_empty() && entry.path().is_dir() && sub != "." {
                folders.push((entry.path(), sub.replace('.', "/")));
            }
        }
    }
    let mut items = Vec::new();
    for (path, mailbox) in folders {
        for part in ["cur", "new"] {
            let d = path.join(part);
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            let mut files: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            for f in files {
                let name = f
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                items.push(Item {
                    mailbox: mailbox.clone(),
                    flags: maildir_flags(&name),
                    date: mtime(&f),
                    path: Some(f),
                    bytes: None,
                });
            }
        }
    }
    Ok(items)
}

/// The messages of an mbox file (mboxo/mboxrd): split at `From ` lines, `>From` unescaped,
/// flags from `Status:`/`X-Status:`, INTERNALDATE from the `From ` line's date.
fn scan_mbox(file: &Path, into: &str) -> Result<Vec<Item>> {
    let data = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    if !data.starts_with(b"From ") {
        bail!(
            "{} is not an mbox file (it does not start with \"From \")",
            file.display()
        );
    }
    let mut items = Vec::new();
    let mut current: Option<(i64, Vec<u8>)> = None;
    for line in data.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"From ") {
            if let Some((date, body)) = current.take() {
                items.push(mbox_item(into, date, body));
            }
            current = Some((from_line_date(line).unwrap_or(0), Vec::new()));
            continue;
        }
        if let Some((_, body)) = current.as_mut() {
            // mboxrd: ">From " (with any number of '>') loses one '>'.
            let unescaped = if line.starts_with(b">")
                && line
                    .iter()
                    .skip_while(|&&b| b == b'>')
                    .take(5)
                    .eq(b"From ".iter())
            {
                &line[1..]
            } else {
                line
            };
            body.extend_from_slice(unescaped);
        }
    }
    if let Some((date, body)) = current.take() {
        items.push(mbox_item(into, date, body));
    }
    Ok(items)
}

fn mbox_item(into: &str, date: i64, mut body: Vec<u8>) -> Item {
    // The blank line before the next "From " belongs to the mbox format, not the message.
    if body.ends_with(b"\n\n") {
        body.pop();
    } else if body.ends_with(b"\r\n\r\n") {
        body.truncate(body.len() - 2);
    }
    let mut flags = Vec::new();
    let find = |pat: &[u8]| body.windows(pat.len()).position(|w| w == pat);
    let header_end = find(b"\r\n\r\n")
        .into_iter()
        .chain(find(b"\n\n"))
        .min()
        .unwrap_or(body.len());
    for line in body[..header_end].split(|&b| b == b'\n') {
        let text = String::from_utf8_lossy(line);
        let lower = text.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("status:") {
            if v.contains('r') {
                flags.push(Flag::Seen);
            }
        } else if let Some(v) = lower.strip_prefix("x-status:") {
            for (c, f) in [
                ('a', Flag::Answered),
                ('f', Flag::Flagged),
                ('t', Flag::Draft),
                ('d', Flag::Deleted),
            ] {
                if v.contains(c) {
                    flags.push(f);
                }
            }
        }
    }
    Item {
        mailbox: into.to_string(),
        path: None,
        bytes: Some(body),
        flags,
        date: if date > 0 {
            date
        } else {
            crate::conn::now().unix_seconds()
        },
    }
}

/// The asctime date of `From sender Sat Jan  3 01:05:34 1996`.
fn from_line_date(line: &[u8]) -> Option<i64> {
    let text = String::from_utf8_lossy(line);
    let words: Vec<&str> = text.split_whitespace().collect();
    // From, sender, weekday, month, day, time, year
    let n = words.len();
    if n < 7 {
        return None;
    }
    let (month, day, time, year) = (words[n - 4], words[n - 3], words[n - 2], words[n - 1]);
    let month = tidings_engine::types::MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(month))? as u8
        + 1;
    let day: u8 = day.parse().ok()?;
    let year: u16 = year.parse().ok()?;
    let mut hms = time.split(':').map(|p| p.parse::<u8>().ok());
    let (h, m, s) = (
        hms.next()??,
        hms.next()??,
        hms.next().flatten().unwrap_or(0),
    );
    let dt = DateTime {
        date: tidings_engine::types::Date { year, month, day },
        hour: h,
        minute: m,
        second: s,
        zone_minutes: 0,
    };
    Some(dt.unix_seconds())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maildir_info_letters_become_flags() {
        assert_eq!(
            maildir_flags("123.abc.host:2,FRS"),
            vec![Flag::Flagged, Flag::Answered, Flag::Seen]
        );
        assert_eq!(maildir_flags("123.abc.host"), vec![]);
        assert_eq!(maildir_flags("1.x:2,T"), vec![Flag::Deleted]);
    }

    #[test]
    fn mbox_from_line_dates() {
        let d = from_line_date(b"From alice@example.com Sat Jan  3 01:05:34 1996\n");
        assert_eq!(d, Some(820_631_134));
        assert_eq!(from_line_date(b"From x\n"), None);
    }
}
