//! `sansmail user add|passwd|del|list`: account changes, applied through a
//! running server's control socket or directly on the store.

use std::time::{Duration, Instant};

use maildir::{AccountError, Store, StoreConfig, StoreError};

use crate::config::Config;

/// One account operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountRequest {
    /// Create an account; fails if it exists.
    Add {
        /// Full address, `alice@localhost`.
        address: String,
        /// The new password.
        password: String,
    },
    /// Change an existing account's password.
    Passwd {
        /// Full address.
        address: String,
        /// The new password.
        password: String,
    },
    /// Delete an existing account and its mail.
    Del {
        /// Full address.
        address: String,
    },
    /// List every account, one address per line.
    List,
}

/// Applies `req` to an open store; the lines to print, or a one-line error.
pub fn apply(store: &Store, req: &AccountRequest) -> Result<Vec<String>, String> {
    let describe = |address: &str, e: AccountError| match e {
        AccountError::AlreadyExists => format!("account {address} already exists"),
        AccountError::NotFound => format!("no account {address}"),
        other => format!("{address}: {other}"),
    };
    match req {
        AccountRequest::Add { address, password } => {
            check_password(password)?;
            store
                .add_user(address, password)
                .map_err(|e| describe(address, e))?;
            Ok(vec![])
        }
        AccountRequest::Passwd { address, password } => {
            check_password(password)?;
            store
                .set_password(address, password)
                .map_err(|e| describe(address, e))?;
            Ok(vec![])
        }
        AccountRequest::Del { address } => {
            store
                .delete_user(address)
                .map_err(|e| describe(address, e))?;
            Ok(vec![])
        }
        AccountRequest::List => store.list_users().map_err(|e| e.to_string()),
    }
}

fn check_password(password: &str) -> Result<(), String> {
    if password.is_empty() {
        return Err("the password must not be empty".into());
    }
    if password.contains(['\r', '\n', '\0']) {
        return Err("the password must not contain CR, LF or NUL".into());
    }
    Ok(())
}

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
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("cannot create data_dir {}: {e}", config.data_dir.display()))?;
    let store_config = StoreConfig {
        data_dir: config.data_dir.clone(),
        hostname: config.hostname.clone(),
        password_hashing: Default::default(),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Store::open(store_config.clone()) {
            Ok(store) => return apply(&store, req),
            // A server starting up holds the index before its control socket
            // answers; ask it once it does.
            Err(StoreError::Locked) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
                if let Some(lines) = crate::control::send(&config.data_dir, req)? {
                    return Ok(lines);
                }
            }
            Err(e) => {
                return Err(format!(
                    "cannot open the store in {}: {e}",
                    config.data_dir.display()
                ));
            }
        }
    }
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
