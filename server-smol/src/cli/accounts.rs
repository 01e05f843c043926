//! `sansmail user add|passwd|del|list`: account changes, applied through a
//! running server's control socket or directly on the store.

use std::time::{Duration, Instant};

use maildir::{Store, StoreConfig, StoreError};

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
