//! `sansmail user add|passwd|del|list`: account changes, applied through a
//! running server's control socket or directly on the store.

use crate::accounts::{AccountRequest, apply};
use crate::config::Config;

/// Refuses to create an account outside the local domains: no mail could
/// ever reach it (`[smtp]` only delivers locally for `domains`). With
/// `[testing] catch_all` every domain is delivered locally, so any goes.
/// Every way of adding accounts (the CLI, an HTTP API) should ask this.
pub fn check_local_domain(config: &Config, address: &str) -> Result<(), String> {
    let Some((_, domain)) = address.rsplit_once('@') else {
        return Err(format!(
            "cannot add {address}: an account is a full address such as alice@{}",
            config.domains.first().map_or("localhost", String::as_str)
        ));
    };
    if config.is_local_domain(domain) || config.testing.catch_all {
        return Ok(());
    }
    // docs/DESIGN.md §5.7: a `[[routes]]` entry that delivers `local` makes
    // recipients of another domain local too; they need accounts.
    let routed_local = config.routes.iter().any(|r| {
        r.to.iter().any(|t| t == "local")
            && r.recipient
                .as_deref()
                .is_none_or(|g| crate::pipeline::rules::glob_match(g, address))
    });
    if routed_local {
        return Ok(());
    }
    Err(format!(
        "cannot add {address}: {domain} is not one of the local domains ({}); add it to `domains` in the configuration first",
        config.domains.join(", ")
    ))
}

/// Runs `req` for the `user` commands: through the running server if one
/// answers on `data_dir`, else on the store directly.
pub fn run(config: &Config, req: &AccountRequest) -> Result<Vec<String>, String> {
    if let AccountRequest::Add { address, .. } = req {
        check_local_domain(config, address)?;
    }
    if let Some(lines) = crate::control::send(&config.data_dir, req)? {
        return Ok(lines);
    }
    // Reading creates nothing: no data_dir means no accounts yet.
    if *req == AccountRequest::List && !config.data_dir.exists() {
        return Ok(Vec::new());
    }
    super::on_store_or_server(
        config,
        || crate::control::send(&config.data_dir, req),
        |store| apply(store, req),
    )
}

/// The confirmation `user` prints on stderr after `req` succeeded.
pub fn done(config: &Config, req: &AccountRequest, listed: usize) -> String {
    let dir = config.data_dir.display();
    match req {
        AccountRequest::Add { address, .. } => format!("added {address} in {dir}"),
        AccountRequest::Passwd { address, .. } => {
            format!("changed the password of {address} in {dir}")
        }
        AccountRequest::Del { address } => format!("deleted {address} and its mail from {dir}"),
        AccountRequest::List if !config.data_dir.exists() => {
            format!("no accounts: {dir} does not exist yet")
        }
        AccountRequest::List => format!("{listed} account(s) in {dir}"),
    }
}

/// Messages stored for `address` (every mailbox), from the Maildir files, so
/// it also works while a server holds the index.
fn stored_messages(config: &Config, address: &str) -> usize {
    let Ok(address) = maildir::Address::parse(address) else {
        return 0;
    };
    let root = maildir::Layout::new(config.data_dir.clone()).account_dir(&address);
    let count = |dir: std::path::PathBuf| {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .count()
        })
    };
    let mut folders = vec![root.clone()];
    if let Ok(entries) = std::fs::read_dir(&root) {
        folders.extend(
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path()),
        );
    }
    folders
        .into_iter()
        .map(|f| count(f.join("cur")) + count(f.join("new")))
        .sum()
}

/// `user del` on a terminal: an account with mail is deleted only after
/// the person at the terminal says yes (`--yes` skips this; scripts, whose
/// standard input is not a terminal, are never asked).
pub fn confirm_delete(config: &Config, address: &str) -> bool {
    use std::io::{BufRead, Write};
    let messages = stored_messages(config, address);
    if messages == 0 {
        return true;
    }
    eprint!(
        "{address} has {messages} message(s) in {}. Delete the account and its mail? [y/N] ",
        config.data_dir.display()
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_only_in_local_domains_unless_catch_all() {
        let mut config = Config::default();
        assert!(check_local_domain(&config, "a@LocalHost").is_ok());
        assert_eq!(
            check_local_domain(&config, "a@example.com").unwrap_err(),
            "cannot add a@example.com: example.com is not one of the local domains (localhost); \
             add it to `domains` in the configuration first"
        );
        assert!(check_local_domain(&config, "nodomain").is_err());
        config.testing.catch_all = true;
        assert!(check_local_domain(&config, "a@example.com").is_ok());
    }
}
