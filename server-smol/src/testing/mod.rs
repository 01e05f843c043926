//! Test rigs (docs/DESIGN.md §5.6): `[testing] fixtures`, loaded at start and on
//! `POST /api/v1/reset`.
//!
//! Layout, relative to the working directory like `data_dir`:
//!
//! ```text
//! fixtures/
//!   alice@localhost/            an account (created; password = the address)
//!     INBOX/
//!       001-welcome.eml         stored byte-exact, in file-name order
//!       001-welcome.eml.json    optional: {"flags":["\\Seen"],
//!                               "internal_date":"01-Jan-2024 00:00:00 +0000"}
//!     Work/2024/                a nested directory is mailbox `Work/2024`
//!       report.eml
//! ```
//!
//! A mailbox that does not exist is created. Flags use IMAP spellings
//! (`\Seen`, `\Answered`, `\Flagged`, `\Deleted`, `\Draft`); any other
//! word is a keyword. `internal_date` is an IMAP date-time (RFC 9051 §9
//! `date-time`). A broken fixture is an error naming the file: at start
//! the server refuses to start, on reset the API answers 500.

pub mod imap_date;

use std::path::{Path, PathBuf};

use maildir::{Flags, Store, StoreError};
use serde::Deserialize;

use crate::config::Config;
use crate::http::inject::{Injection, MessageBytes, inject};
use crate::metrics::Metrics;

/// The `.eml.json` beside a fixture.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureMeta {
    #[serde(default)]
    flags: Vec<String>,
    internal_date: Option<String>,
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("fixtures: cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    out.sort();
    Ok(out)
}

fn flags_of(names: &[String], file: &Path) -> Result<(Flags, Vec<String>), String> {
    let mut flags = Flags::empty();
    let mut keywords = Vec::new();
    for n in names {
        let f = match n.to_ascii_lowercase().as_str() {
            "\\seen" => Flags::SEEN,
            "\\answered" => Flags::ANSWERED,
            "\\flagged" => Flags::FLAGGED,
            "\\deleted" => Flags::DELETED,
            "\\draft" => Flags::DRAFT,
            "$forwarded" => Flags::FORWARDED,
            "\\recent" => {
                return Err(format!(
                    "fixtures: {}: \\Recent cannot be set",
                    file.display()
                ));
            }
            _ if n.starts_with('\\') => {
                return Err(format!(
                    "fixtures: {}: unknown system flag {n}",
                    file.display()
                ));
            }
            _ => {
                keywords.push(n.clone());
                continue;
            }
        };
        flags = flags.union(f);
    }
    Ok((flags, keywords))
}

/// Loads every mailbox directory under `dir` (recursively) for `address`.
fn load_mailbox(
    store: &Store,
    config: &Config,
    metrics: &Metrics,
    address: &str,
    mailbox: &str,
    dir: &Path,
) -> Result<usize, String> {
    match store.create_mailbox(address, mailbox, None) {
        Ok(_) | Err(StoreError::MailboxExists(_)) => {}
        Err(e) => {
            return Err(format!(
                "fixtures: {}: mailbox {mailbox}: {e}",
                dir.display()
            ));
        }
    }
    let mut loaded = 0;
    for path in sorted_entries(dir)? {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            let child = format!("{mailbox}/{name}");
            loaded += load_mailbox(store, config, metrics, address, &child, &path)?;
            continue;
        }
        if !name.ends_with(".eml") {
            continue;
        }
        let bytes = std::fs::read(&path)
            .map_err(|e| format!("fixtures: cannot read {}: {e}", path.display()))?;
        let meta_path = path.with_file_name(format!("{name}.json"));
        let meta: FixtureMeta = match std::fs::read(&meta_path) {
            Ok(json) => serde_json::from_slice(&json)
                .map_err(|e| format!("fixtures: {}: {e}", meta_path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FixtureMeta::default(),
            Err(e) => {
                return Err(format!(
                    "fixtures: cannot read {}: {e}",
                    meta_path.display()
                ));
            }
        };
        let (flags, keywords) = flags_of(&meta.flags, &meta_path)?;
        let internal_date = match &meta.internal_date {
            Some(text) => Some(imap_date::parse(text).ok_or_else(|| {
                format!(
                    "fixtures: {}: internal_date `{text}` is not like \"01-Jan-2024 00:00:00 +0000\"",
                    meta_path.display()
                )
            })?),
            None => None,
        };
        let what = Injection {
            recipients: vec![address.to_owned()],
            mailbox: mailbox.to_owned(),
            flags,
            keywords,
            internal_date,
            exact: true,
            create_accounts: true,
            ..Injection::default()
        };
        inject(
            store,
            config,
            metrics,
            "http",
            &what,
            MessageBytes::Whole(&bytes),
        )
        .map_err(|e| format!("fixtures: {}: {e}", path.display()))?;
        loaded += 1;
    }
    Ok(loaded)
}

/// Loads `[testing] fixtures` (nothing when unset) into every fixture
/// account that does not exist yet: at start on a fresh `data_dir` that is
/// all of them, after a restart on a used one none (so nothing is loaded
/// twice), after a reset all again. Returns the number of messages loaded.
///
/// # Errors
/// A one-line description naming the broken file or directory.
pub fn load_fixtures(store: &Store, config: &Config, metrics: &Metrics) -> Result<usize, String> {
    let Some(root) = &config.testing.fixtures else {
        return Ok(0);
    };
    let mut loaded = 0;
    for account_dir in sorted_entries(root)? {
        if !account_dir.is_dir() {
            continue;
        }
        let Some(address) = account_dir.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        match store.add_user(address, address) {
            Ok(()) => {}
            Err(maildir::AccountError::AlreadyExists) => continue,
            Err(e) => {
                return Err(format!(
                    "fixtures: {}: account {address}: {e}",
                    account_dir.display()
                ));
            }
        }
        for mailbox_dir in sorted_entries(&account_dir)? {
            if !mailbox_dir.is_dir() {
                continue;
            }
            let Some(mailbox) = mailbox_dir.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            loaded += load_mailbox(store, config, metrics, address, mailbox, &mailbox_dir)?;
        }
    }
    Ok(loaded)
}

/// Deletes every account with its mail, then loads the fixtures again.
///
/// # Errors
/// Storage errors and broken fixtures, as one line.
pub fn reset(store: &Store, config: &Config, metrics: &Metrics) -> Result<(), String> {
    for user in store.list_users().map_err(|e| e.to_string())? {
        match store.delete_user(&user) {
            Ok(()) | Err(maildir::AccountError::NotFound) => {}
            Err(e) => return Err(format!("reset: {user}: {e}")),
        }
    }
    load_fixtures(store, config, metrics).map(|_| ())
}
