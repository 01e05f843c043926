//! Account administration: add, delete, change password, verify password.
//!
//! Passwords are stored as argon2id PHC strings (default parameters of the
//! argon2 crate: m=19 MiB, t=2, p=1, OWASP's recommendation). Hashing and
//! verifying take tens of milliseconds on purpose: call these methods from
//! a blocking thread.
//!
//! Deleting an account removes it from the index *and removes its mail
//! directory* (like GreenMail; Dovecot's doveadm would leave mail alone).
//! A test rig expects `user del` + `user add` to give an empty mailbox.

use std::io;
use std::sync::OnceLock;

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
};
use redb::ReadableTable;

use crate::address::Address;
use crate::codec::AccountRecord;
use crate::core::PasswordHashing;
use crate::error::{AccountError, StoreError};
use crate::index::{self, ACCOUNTS, MAILBOXES, MESSAGES, SUBSCRIPTIONS};
use crate::layout::{DEFAULT_MAILBOXES, INBOX};
use crate::rescan::{ensure_maildir, rescan_account};
use crate::store::Store;

fn hasher(cost: PasswordHashing) -> Result<Argon2<'static>, AccountError> {
    Ok(match cost {
        PasswordHashing::Standard => Argon2::default(),
        PasswordHashing::Fast => {
            // The smallest memory cost argon2 allows for one lane (8 KiB).
            let params = Params::new(8, 1, 1, None)
                .map_err(|e| AccountError::InvalidPassword(e.to_string()))?;
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        }
    })
}

fn hash_password(password: &str, cost: PasswordHashing) -> Result<String, AccountError> {
    hasher(cost)?
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AccountError::InvalidPassword(e.to_string()))
}

/// A hash to verify against when the user does not exist, so that the
/// answer for an unknown user takes as long as for a wrong password
/// (no user enumeration by timing). Of the store's own cost, so that a
/// test rig's failed logins stay fast too.
fn dummy_hash(cost: PasswordHashing) -> &'static str {
    static STANDARD: OnceLock<String> = OnceLock::new();
    static FAST: OnceLock<String> = OnceLock::new();
    let cell = match cost {
        PasswordHashing::Fast => &FAST,
        _ => &STANDARD,
    };
    cell.get_or_init(|| hash_password("sansmail timing equaliser", cost).unwrap_or_default())
}

fn parse(address: &str) -> Result<Address, AccountError> {
    Address::parse(address).map_err(AccountError::InvalidAddress)
}

impl Store {
    /// Creates an account with INBOX, Drafts, Sent, Trash, Junk and Archive
    /// (the last five with their RFC 6154 special-use attributes).
    ///
    /// If a mail directory for the address already exists (left behind by
    /// a crash, or prepared by hand), its messages are adopted and indexed.
    ///
    /// # Errors
    /// [`AccountError::AlreadyExists`] (the account is left unchanged),
    /// [`AccountError::InvalidAddress`], storage errors.
    pub fn add_user(&self, address: &str, password: &str) -> Result<(), AccountError> {
        let address = parse(address)?;
        if self.inner.account(&address)?.is_some() {
            return Err(AccountError::AlreadyExists);
        }
        let password_hash = hash_password(password, self.inner.password_hashing)?;
        let inner = &self.inner;
        let _guard = inner.lock_maildirs();
        let txn = inner.db.begin_write()?;
        let key = address.key();
        {
            let mut accounts = txn.open_table(ACCOUNTS)?;
            // Checked again under the lock: another add_user may have won.
            if accounts.get(key.as_str())?.is_some() {
                return Err(AccountError::AlreadyExists);
            }
            let fs = inner.fs.as_ref();
            for (name, _) in DEFAULT_MAILBOXES {
                ensure_maildir(
                    fs,
                    &inner.layout.mail_root(),
                    &inner.layout.mailbox_dir(&address, name),
                    name != INBOX,
                )?;
            }
            // Make the new directory entries durable before the index names them.
            fs.fsync_dir(&inner.layout.account_dir(&address))?;
            fs.fsync_dir(&inner.layout.domain_dir(&address))?;
            fs.fsync_dir(&inner.layout.mail_root())?;
            let record = AccountRecord {
                display: address.display(),
                password_hash,
                created: index::now_secs(),
            };
            accounts.insert(key.as_str(), record.encode().as_slice())?;
            let mut mailboxes = txn.open_table(MAILBOXES)?;
            for (name, special_use) in DEFAULT_MAILBOXES {
                let record = index::new_mailbox(&txn, special_use)?;
                index::put_mailbox(&mut mailboxes, &key, name, &record)?;
            }
        }
        {
            let mut subs = txn.open_table(SUBSCRIPTIONS)?;
            for (name, _) in DEFAULT_MAILBOXES {
                subs.insert((key.as_str(), name), 0)?;
            }
        }
        let (report, _) = rescan_account(inner, &txn, &address)?;
        txn.commit()?;
        if report.added > 0 {
            tracing::info!(account = %address, adopted = report.added, "adopted existing messages");
        }
        Ok(())
    }

    /// Replaces an account's password.
    ///
    /// # Errors
    /// [`AccountError::NotFound`], [`AccountError::InvalidAddress`], storage errors.
    pub fn set_password(&self, address: &str, password: &str) -> Result<(), AccountError> {
        let address = parse(address)?;
        if self.inner.account(&address)?.is_none() {
            return Err(AccountError::NotFound);
        }
        let password_hash = hash_password(password, self.inner.password_hashing)?;
        let txn = self.inner.db.begin_write()?;
        {
            let mut accounts = txn.open_table(ACCOUNTS)?;
            let key = address.key();
            let mut record = match accounts.get(key.as_str())? {
                Some(v) => AccountRecord::decode(v.value())?,
                None => return Err(AccountError::NotFound),
            };
            record.password_hash = password_hash;
            accounts.insert(key.as_str(), record.encode().as_slice())?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Deletes an account: its index entries, then its mail directory.
    ///
    /// The index commit comes first; if removing the directory then fails
    /// (or the process dies), the directory stays behind and is adopted by
    /// a later `add_user` of the same address. That failure is logged, not
    /// returned: the account is gone.
    ///
    /// # Errors
    /// [`AccountError::NotFound`], [`AccountError::InvalidAddress`], storage errors.
    pub fn delete_user(&self, address: &str) -> Result<(), AccountError> {
        let address = parse(address)?;
        let inner = &self.inner;
        let _guard = inner.lock_maildirs();
        let txn = inner.db.begin_write()?;
        let key = address.key();
        {
            let mut accounts = txn.open_table(ACCOUNTS)?;
            if accounts.remove(key.as_str())?.is_none() {
                return Err(AccountError::NotFound);
            }
            let mut mailboxes = txn.open_table(MAILBOXES)?;
            let mut messages = txn.open_table(MESSAGES)?;
            for (name, record) in index::account_mailboxes(&mailboxes, &key)? {
                index::remove_mailbox_rows(&txn, &mut messages, record.id)?;
                mailboxes.remove((key.as_str(), name.as_str()))?;
            }
            let mut subs = txn.open_table(SUBSCRIPTIONS)?;
            let names: Vec<String> = index::subscriptions(&subs, &key)?;
            for name in names {
                subs.remove((key.as_str(), name.as_str()))?;
            }
        }
        txn.commit()?;
        let dir = inner.layout.account_dir(&address);
        match inner.fs.remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "account deleted but its mail directory remains");
            }
        }
        Ok(())
    }

    /// Checks a password. Unknown users get `false` after the same argon2
    /// work as a wrong password.
    ///
    /// # Errors
    /// Index errors, or [`StoreError::Corrupt`] for an unreadable stored hash.
    pub fn verify_password(&self, address: &str, password: &str) -> Result<bool, StoreError> {
        let stored = match Address::parse(address) {
            Ok(address) => self.inner.account(&address)?.map(|r| r.password_hash),
            Err(_) => None,
        };
        let (hash, known) = match &stored {
            Some(h) => (h.as_str(), true),
            None => (dummy_hash(self.inner.password_hashing), false),
        };
        let parsed = PasswordHash::new(hash)
            .map_err(|e| StoreError::Corrupt(format!("stored password hash: {e}")))?;
        match verify_reusing_memory(password.as_bytes(), &parsed) {
            Some(matches) => Ok(matches && known),
            // Parameters this path does not handle: the library's verifier.
            None => match Argon2::default().verify_password(password.as_bytes(), &parsed) {
                Ok(()) => Ok(known),
                Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
                Err(e) => Err(StoreError::Corrupt(format!("stored password hash: {e}"))),
            },
        }
    }
}

thread_local! {
    /// argon2's working memory (19 MiB with the default parameters), kept
    /// per thread and reused: allocating it for every login left hundreds
    /// of megabytes resident in malloc's arenas after a burst of logins.
    static ARGON2_BLOCKS: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Frees this thread's argon2 working memory (kept by
/// [`Store::verify_password`] for the next check on the same thread). A
/// caller that checks passwords on dedicated threads calls it when its
/// burst of checks is over, so 19 MiB per thread do not stay resident
/// while nobody logs in.
pub fn release_password_memory() {
    ARGON2_BLOCKS.with(|blocks| *blocks.borrow_mut() = Vec::new());
}

/// Verifies `password` against a PHC argon2 hash with this thread's reused
/// working memory; the comparison is constant-time (`phc::Output`'s
/// `PartialEq`). `None` when the hash is not one this path understands.
fn verify_reusing_memory(password: &[u8], hash: &PasswordHash) -> Option<bool> {
    let algorithm = Algorithm::try_from(hash.algorithm.as_str()).ok()?;
    let version = match hash.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(hash).ok()?;
    let salt = hash.salt.as_ref()?;
    let expected = hash.hash.as_ref()?;
    let mut out = vec![0u8; expected.as_bytes().len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    ARGON2_BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        if blocks.len() != params.block_count() {
            blocks.clear();
            blocks.resize(params.block_count(), Block::default());
        }
        argon2
            .hash_password_into_with_memory(password, salt, &mut out, blocks.as_mut_slice())
            .ok()
    })?;
    let computed = argon2::password_hash::phc::Output::new(&out).ok()?;
    Some(computed == *expected)
}
