//! `sansmail user add|passwd|del|list`: account changes, applied through a
//! running server's control socket or directly on the store.

use maildir::{AccountError, Store};

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
