//! The on-disk layout under `data_dir` (docs/DESIGN.md §3, `docs/design.md`):
//!
//! ```text
//! data_dir/index.redb                      the redb index
//! data_dir/mail/<domain>/<local>/          Maildir++ root = INBOX (cur/ new/ tmp/)
//! data_dir/mail/<domain>/<local>/.Sent/    sub-folder: cur/ new/ tmp/ maildirfolder
//! ```
//!
//! Mailbox names use `/` as hierarchy separator on the wire and `.` on disk
//! (Maildir++), so a name component may not contain `.`.

use std::path::{Path, PathBuf};

use crate::address::Address;

/// The name of the inbox; matched case-insensitively (RFC 9051 §5.1).
pub const INBOX: &str = "INBOX";

/// The three Maildir sub-directories.
pub const SUBDIRS: [&str; 3] = ["cur", "new", "tmp"];

/// Special-use mailbox attributes (RFC 6154 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SpecialUse {
    /// `\Drafts`
    Drafts,
    /// `\Sent`
    Sent,
    /// `\Trash`
    Trash,
    /// `\Junk`
    Junk,
    /// `\Archive`
    Archive,
}

impl SpecialUse {
    /// The attribute as written in IMAP LIST responses (RFC 6154 §2).
    #[must_use]
    pub fn attribute(self) -> &'static str {
        match self {
            SpecialUse::Drafts => "\\Drafts",
            SpecialUse::Sent => "\\Sent",
            SpecialUse::Trash => "\\Trash",
            SpecialUse::Junk => "\\Junk",
            SpecialUse::Archive => "\\Archive",
        }
    }

    /// The index encoding (0 means "none").
    pub(crate) fn code(self) -> u8 {
        match self {
            SpecialUse::Drafts => 1,
            SpecialUse::Sent => 2,
            SpecialUse::Trash => 3,
            SpecialUse::Junk => 4,
            SpecialUse::Archive => 5,
        }
    }

    /// From the index encoding; unknown codes read as "none".
    pub(crate) fn from_code(code: u8) -> Option<SpecialUse> {
        match code {
            1 => Some(SpecialUse::Drafts),
            2 => Some(SpecialUse::Sent),
            3 => Some(SpecialUse::Trash),
            4 => Some(SpecialUse::Junk),
            5 => Some(SpecialUse::Archive),
            _ => None,
        }
    }
}

/// The mailboxes every new account gets, with their special use.
pub const DEFAULT_MAILBOXES: [(&str, Option<SpecialUse>); 6] = [
    (INBOX, None),
    ("Drafts", Some(SpecialUse::Drafts)),
    ("Sent", Some(SpecialUse::Sent)),
    ("Trash", Some(SpecialUse::Trash)),
    ("Junk", Some(SpecialUse::Junk)),
    ("Archive", Some(SpecialUse::Archive)),
];

/// Paths under one `data_dir`.
#[derive(Clone, Debug)]
pub struct Layout {
    data_dir: PathBuf,
}

impl Layout {
    /// The layout rooted at `data_dir`.
    #[must_use]
    pub fn new(data_dir: PathBuf) -> Layout {
        Layout { data_dir }
    }

    /// `data_dir/index.redb`.
    #[must_use]
    pub fn index_path(&self) -> PathBuf {
        self.data_dir.join("index.redb")
    }

    /// `data_dir/queue`: the outbound queue's message files.
    #[must_use]
    pub fn queue_dir(&self) -> PathBuf {
        self.data_dir.join("queue")
    }

    /// `data_dir/recycle`: emptied files kept for reuse as new spool
    /// files (`recycle.rs`); never holds a message.
    #[must_use]
    pub fn recycle_dir(&self) -> PathBuf {
        self.data_dir.join("recycle")
    }

    /// `data_dir/mail`.
    #[must_use]
    pub fn mail_root(&self) -> PathBuf {
        self.data_dir.join("mail")
    }

    /// `data_dir/mail/<domain>`.
    #[must_use]
    pub fn domain_dir(&self, address: &Address) -> PathBuf {
        self.mail_root().join(address.domain())
    }

    /// The account's Maildir++ root, `data_dir/mail/<domain>/<local>`.
    #[must_use]
    pub fn account_dir(&self, address: &Address) -> PathBuf {
        self.domain_dir(address).join(address.local_key())
    }

    /// The Maildir of a (validated, canonical) mailbox name.
    #[must_use]
    pub fn mailbox_dir(&self, address: &Address, mailbox: &str) -> PathBuf {
        mailbox_dir_in(&self.account_dir(address), mailbox)
    }
}

/// The Maildir of `mailbox` under an account root: the root itself for
/// INBOX, `.A.B` for `A/B` (Maildir++).
#[must_use]
pub fn mailbox_dir_in(account_dir: &Path, mailbox: &str) -> PathBuf {
    if mailbox == INBOX {
        account_dir.to_path_buf()
    } else {
        account_dir.join(format!(".{}", mailbox.replace('/', ".")))
    }
}

/// Validates a wire mailbox name and returns its canonical form (`INBOX`
/// upper-cased, RFC 9051 §5.1; other names as given).
///
/// # Errors
/// A reason when a component is empty, holds `.` (the on-disk separator),
/// `\`, control characters, or starts with `~` (Dovecot's escape marker).
pub fn canonical_mailbox_name(name: &str) -> Result<String, String> {
    if name.eq_ignore_ascii_case(INBOX) {
        return Ok(INBOX.to_owned());
    }
    // The on-disk directory is `.` + the name with `/` → `.`, one path
    // component: keep it well under NAME_MAX (255).
    if name.len() > MAX_MAILBOX_NAME {
        return Err(format!("longer than {MAX_MAILBOX_NAME} bytes"));
    }
    // `INBOX/x` in any case names a child of INBOX (RFC 9051 §5.1).
    let name = match name.split_once('/') {
        Some((first, rest)) if first.eq_ignore_ascii_case(INBOX) => format!("{INBOX}/{rest}"),
        _ => name.to_owned(),
    };
    for component in name.split('/') {
        if component.is_empty() {
            return Err(format!("{name:?} has an empty hierarchy level"));
        }
        if component.starts_with('~') {
            return Err(format!("{name:?} has a level starting with '~'"));
        }
        if let Some(c) = component
            .chars()
            .find(|&c| c == '.' || c == '\\' || c.is_control())
        {
            return Err(format!("{name:?} contains {c:?}"));
        }
    }
    Ok(name)
}

/// Longest mailbox name accepted, in bytes.
pub const MAX_MAILBOX_NAME: usize = 200;

/// The parent names of a canonical mailbox name, outermost first
/// (`a/b/c` → `a`, `a/b`).
#[must_use]
pub fn parents(name: &str) -> Vec<String> {
    name.match_indices('/')
        .map(|(i, _)| name[..i].to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let layout = Layout::new(PathBuf::from("/d"));
        let a = Address::parse("Bob@Example.org").unwrap();
        assert_eq!(layout.index_path(), PathBuf::from("/d/index.redb"));
        assert_eq!(
            layout.account_dir(&a),
            PathBuf::from("/d/mail/example.org/bob")
        );
        assert_eq!(
            layout.mailbox_dir(&a, INBOX),
            PathBuf::from("/d/mail/example.org/bob")
        );
        assert_eq!(
            layout.mailbox_dir(&a, "Lists/rust"),
            PathBuf::from("/d/mail/example.org/bob/.Lists.rust")
        );
    }

    #[test]
    fn mailbox_names() {
        assert_eq!(canonical_mailbox_name("inbox").unwrap(), "INBOX");
        assert_eq!(canonical_mailbox_name("Sent").unwrap(), "Sent");
        assert_eq!(canonical_mailbox_name("a/b").unwrap(), "a/b");
        assert_eq!(
            canonical_mailbox_name("..").unwrap_err(),
            "\"..\" contains '.'"
        );
        assert_eq!(
            canonical_mailbox_name("a//b").unwrap_err(),
            "\"a//b\" has an empty hierarchy level"
        );
        assert_eq!(
            canonical_mailbox_name("/etc").unwrap_err(),
            "\"/etc\" has an empty hierarchy level"
        );
        assert_eq!(
            canonical_mailbox_name("~x").unwrap_err(),
            "\"~x\" has a level starting with '~'"
        );
    }

    #[test]
    fn inbox_prefix_and_parents() {
        assert_eq!(canonical_mailbox_name("inbox/Sub").unwrap(), "INBOX/Sub");
        assert_eq!(canonical_mailbox_name("Inboxes").unwrap(), "Inboxes");
        assert_eq!(parents("a/b/c"), vec!["a".to_owned(), "a/b".to_owned()]);
        assert!(parents("a").is_empty());
        assert_eq!(
            canonical_mailbox_name(&"x".repeat(201)).unwrap_err(),
            "longer than 200 bytes"
        );
    }

    #[test]
    fn special_use_codes_round_trip() {
        for (_, su) in DEFAULT_MAILBOXES {
            if let Some(su) = su {
                assert_eq!(SpecialUse::from_code(su.code()), Some(su));
            }
        }
        assert_eq!(SpecialUse::from_code(0), None);
        assert_eq!(SpecialUse::Junk.attribute(), "\\Junk");
    }
}
