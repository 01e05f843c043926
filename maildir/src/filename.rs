//! Maildir file names (<https://cr.yp.to/proto/maildir.html>, Maildir++ `S=`).
//!
//! We write `<secs>.M<usecs>P<pid>Q<counter>.<host>` in `tmp/`, and move it
//! into `new/` as `<that>,S=<size>` where size is the stored file's size in
//! bytes. Files in `new/` carry no `:2,` info part (the Maildir spec: info
//! is only meaningful in `cur/`); a reader that moves a message into `cur/`
//! appends `:2,<flags>`. The *base name* (everything before `:`) is what the
//! index stores and is stable for the life of the message.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Makes the host part safe: the spec replaces `/` by `\057` and `:` by
/// `\072`; we also replace `,` (Maildir++ field separator) by `\054` and
/// drop control characters.
#[must_use]
pub fn sanitize_host(host: &str) -> String {
    let mut out = String::with_capacity(host.len());
    for c in host.chars() {
        match c {
            '/' => out.push_str("\\057"),
            ':' => out.push_str("\\072"),
            ',' => out.push_str("\\054"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    if out.is_empty() {
        out.push_str("localhost");
    }
    out
}

/// Generates unique names for one process: time, pid and a counter.
#[derive(Debug)]
pub struct UniqueNames {
    host: String,
    pid: u32,
    counter: AtomicU64,
}

impl UniqueNames {
    /// A generator for `host` (sanitised here).
    #[must_use]
    pub fn new(host: &str) -> UniqueNames {
        UniqueNames {
            host: sanitize_host(host),
            pid: std::process::id(),
            counter: AtomicU64::new(0),
        }
    }

    /// A fresh `tmp/` name, `<secs>.M<usecs>P<pid>Q<counter>.<host>`.
    pub fn next(&self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let q = self.counter.fetch_add(1, Ordering::Relaxed);
        format!(
            "{}.M{}P{}Q{}.{}",
            now.as_secs(),
            now.subsec_micros(),
            self.pid,
            q,
            self.host
        )
    }
}

/// The `new/` base name for a `tmp/` name and the stored size.
#[must_use]
pub fn with_size(tmp_name: &str, size: u64) -> String {
    format!("{tmp_name},S={size}")
}

/// A Maildir file name split into its base and its `:2,` info.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedName<'a> {
    /// Everything before the first `:`.
    pub base: &'a str,
    /// Everything from the first `:` on (empty when there is none).
    pub suffix: &'a str,
    /// The letters after `:2,` (empty when there is no info part, or when it
    /// is not the "2," kind).
    pub info: &'a str,
}

/// Splits a file name; `None` for names a Maildir reader must skip (dot
/// files, which include editors' and our own temporary names).
#[must_use]
pub fn parse_name(name: &str) -> Option<ParsedName<'_>> {
    if name.is_empty() || name.starts_with('.') {
        return None;
    }
    let (base, suffix, info) = match name.find(':') {
        Some(i) => {
            let (base, suffix) = name.split_at(i);
            let info = suffix.strip_prefix(":2,").unwrap_or("");
            (base, suffix, info)
        }
        None => (name, "", ""),
    };
    if base.is_empty() {
        return None;
    }
    Some(ParsedName { base, suffix, info })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_is_sanitized() {
        assert_eq!(sanitize_host("mx/1:2,3"), "mx\\0571\\0722\\0543");
        assert_eq!(sanitize_host("\n"), "localhost");
    }

    #[test]
    fn unique_names_differ_and_have_the_shape() {
        let g = UniqueNames::new("host.example");
        let a = g.next();
        let b = g.next();
        assert_ne!(a, b);
        let pid = std::process::id();
        assert!(a.ends_with(&format!("P{pid}Q0.host.example")), "{a}");
        assert!(b.ends_with(&format!("P{pid}Q1.host.example")), "{b}");
        assert_eq!(with_size("1.M2P3Q4.h", 99), "1.M2P3Q4.h,S=99");
    }

    #[test]
    fn parses_names() {
        assert_eq!(
            parse_name("1.M2P3Q4.h,S=9:2,FS"),
            Some(ParsedName {
                base: "1.M2P3Q4.h,S=9",
                suffix: ":2,FS",
                info: "FS"
            })
        );
        assert_eq!(
            parse_name("1.M2P3Q4.h,S=9"),
            Some(ParsedName {
                base: "1.M2P3Q4.h,S=9",
                suffix: "",
                info: ""
            })
        );
        assert_eq!(
            parse_name("x:1,foo"),
            Some(ParsedName {
                base: "x",
                suffix: ":1,foo",
                info: ""
            })
        );
        assert_eq!(parse_name(".nfs0001"), None);
        assert_eq!(parse_name(":2,S"), None);
        assert_eq!(parse_name(""), None);
    }
}
