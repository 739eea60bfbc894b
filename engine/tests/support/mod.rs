//! Helpers shared by the engine's conversation tests: a MemoryStore with users, and
//! line-by-line response matching that ignores only the human text after a status.
#![allow(dead_code)]

use tidings_engine::harness::Harness;
use tidings_engine::store::MemoryStore;

/// A store with the given users (name, password).
pub fn store_with(users: &[(&str, &str)]) -> MemoryStore {
    let store = MemoryStore::new();
    for (u, p) in users {
        store.add_user(u, p).expect("add user");
    }
    store
}

/// Appends `msg` to `mailbox` through a throwaway logged-in connection.
pub fn append(
    h: &mut Harness<MemoryStore>,
    user: &str,
    pass: &str,
    mailbox: &str,
    flags: &str,
    msg: &[u8],
) {
    let (c, _) = h.connect();
    assert!(h
        .send(c, format!("x1 LOGIN {user} {pass}\r\n"))
        .starts_with("x1 OK"));
    let mut cmd = format!("x2 APPEND {mailbox} ({flags}) {{{}+}}\r\n", msg.len()).into_bytes();
    cmd.extend_from_slice(msg);
    cmd.extend_from_slice(b"\r\n");
    let out = h.send(c, cmd);
    assert!(out.contains("x2 OK [APPENDUID"), "append failed: {out}");
    h.send(c, "x3 LOGOUT\r\n");
}

/// Asserts that `output` is exactly `expected`, line by line. In an expected line, `<n>`
/// matches a number and `<any>` any text. A status line (`tag OK ...`, `* NO [...] ...`)
/// in the expected list that ends right after its status or code matches any human text.
pub fn expect(output: &str, expected: &[&str]) {
    let lines: Vec<&str> = output.split_terminator("\r\n").collect();
    assert_eq!(
        lines.len(),
        expected.len(),
        "line count differs\n--- got:\n{output}\n--- expected:\n{}",
        expected.join("\n")
    );
    for (got, want) in lines.iter().zip(expected) {
        assert!(
            line_matches(got, want),
            "line differs\n  got:  {got}\n  want: {want}\n--- whole output:\n{output}"
        );
    }
}

fn line_matches(got: &str, want: &str) -> bool {
    if glob(want, got) {
        return true;
    }
    // `tag OK [CODE]` / `* OK` without text: accept any trailing human text.
    let words: Vec<&str> = want.split(' ').collect();
    let is_status = words.len() >= 2
        && matches!(words[1], "OK" | "NO" | "BAD" | "BYE" | "PREAUTH")
        && (words.len() == 2 || want.ends_with(']'));
    is_status && glob(&format!("{want} <any>"), got)
}

/// Minimal matcher for `<n>` (digits) and `<any>` (anything) placeholders.
fn glob(pattern: &str, text: &str) -> bool {
    if let Some(rest) = pattern.strip_prefix("<any>") {
        return (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .any(|i| glob(rest, &text[i..]));
    }
    if let Some(rest) = pattern.strip_prefix("<n>") {
        let digits = text.bytes().take_while(u8::is_ascii_digit).count();
        return digits > 0 && glob(rest, &text[digits..]);
    }
    match (pattern.chars().next(), text.chars().next()) {
        (None, None) => true,
        (Some(p), Some(t)) if p == t => glob(&pattern[p.len_utf8()..], &text[t.len_utf8()..]),
        _ => false,
    }
}
