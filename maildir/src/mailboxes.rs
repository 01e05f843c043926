//! Mailbox administration: CREATE (with parents, CREATE-SPECIAL-USE),
//! DELETE, RENAME (with children; INBOX specially), subscriptions.
//!
//! Directory changes go through intents (`journal.rs`): the index change
//! and the intent commit together, then the directories are renamed or
//! removed, so a crash in between is finished at the next open.

use std::io;
use std::path::Path;

use crate::address::Address;
use crate::codec::MailboxRecord;
use crate::error::StoreError;
use crate::index::{self, MAILBOXES, MESSAGES, SUBSCRIPTIONS};
use crate::journal::{self, Step};
use crate::layout::{INBOX, SpecialUse, canonical_mailbox_name, parents};
use crate::notify::{Change, Notice};
use crate::rescan::{ensure_maildir, rescan_one};
use crate::store::{MailboxStatus, Store};

fn status(r: &MailboxRecord) -> MailboxStatus {
    MailboxStatus {
        id: r.id,
        uidvalidity: r.uidvalidity,
        uidnext: r.uidnext,
        highestmodseq: r.highestmodseq,
        messages: r.messages,
    }
}

impl Store {
    fn parse_account(&self, address: &str) -> Result<Address, StoreError> {
        let address = Address::parse(address).map_err(StoreError::InvalidAddress)?;
        if self.inner.account(&address)?.is_none() {
            return Err(StoreError::NoSuchAccount(address.display()));
        }
        Ok(address)
    }

    /// The path of `dir` relative to the mail root, for intents.
    fn relative(&self, dir: &Path) -> Result<String, StoreError> {
        dir.strip_prefix(self.inner.layout.mail_root())
            .ok()
            .and_then(Path::to_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                StoreError::Corrupt(format!("{} is outside the mail root", dir.display()))
            })
    }

    /// Creates a mailbox and any missing parents (as Dovecot does), with an
    /// optional RFC 6154 special use (CREATE-SPECIAL-USE, RFC 6154 §3).
    /// Each new mailbox gets a fresh UIDVALIDITY, never used before. A
    /// directory already on disk under that name (left by another Maildir
    /// tool) is adopted and its messages indexed.
    ///
    /// # Errors
    /// [`StoreError::MailboxExists`], [`StoreError::InvalidMailbox`],
    /// [`StoreError::NoSuchAccount`], IO and index errors.
    pub fn create_mailbox(
        &self,
        address: &str,
        mailbox: &str,
        special_use: Option<SpecialUse>,
    ) -> Result<MailboxStatus, StoreError> {
        let address = self.parse_account(address)?;
        let name = canonical_mailbox_name(mailbox).map_err(StoreError::InvalidMailbox)?;
        let key = address.key();
        let inner = &self.inner;
        let _guard = inner.lock_maildirs();
        // Finish any earlier rename/delete whose directory step failed.
        journal::recover(inner)?;
        let txn = inner.db.begin_write()?;
        let mut created = Vec::new();
        {
            let mut mailboxes = txn.open_table(MAILBOXES)?;
            if index::get_mailbox(&mailboxes, &key, &name)?.is_some() {
                return Err(StoreError::MailboxExists(name));
            }
            let mut levels: Vec<String> =
                parents(&name).into_iter().filter(|p| p != INBOX).collect();
            levels.push(name.clone());
            for level in &levels {
                if index::get_mailbox(&mailboxes, &key, level)?.is_some() {
                    continue;
                }
                let dir = inner.layout.mailbox_dir(&address, level);
                ensure_maildir(inner.fs.as_ref(), &inner.layout.mail_root(), &dir, true)?;
                inner.fs.fsync_dir(&dir)?;
                let su = if *level == name { special_use } else { None };
                let record = index::new_mailbox(&txn, su)?;
                index::put_mailbox(&mut mailboxes, &key, level, &record)?;
                created.push((level.clone(), record.uidvalidity));
            }
            inner.fs.fsync_dir(&inner.layout.account_dir(&address))?;
        }
        let mut notices: Vec<Notice> = created
            .iter()
            .map(|(n, v)| Notice {
                mailbox: n.clone(),
                uidvalidity: *v,
                change: Change::MailboxCreated,
            })
            .collect();
        let (_, adopted) = rescan_one(inner, &txn, &address, &name)?;
        notices.extend(adopted);
        let record = {
            let mailboxes = txn.open_table(MAILBOXES)?;
            index::get_mailbox(&mailboxes, &key, &name)?
                .ok_or_else(|| StoreError::NoSuchMailbox(name.clone()))?
        };
        txn.commit()?;
        inner.notifier.publish(&key, notices);
        Ok(status(&record))
    }

    /// Deletes a mailbox and its messages (RFC 9051 §6.3.5). Its children
    /// stay (they are separate Maildir++ folders). INBOX cannot be deleted.
    ///
    /// # Errors
    /// [`StoreError::NotAllowed`] for INBOX, [`StoreError::NoSuchMailbox`],
    /// IO and index errors.
    pub fn delete_mailbox(&self, address: &str, mailbox: &str) -> Result<(), StoreError> {
        let address = self.parse_account(address)?;
        let name = canonical_mailbox_name(mailbox).map_err(StoreError::InvalidMailbox)?;
        if name == INBOX {
            return Err(StoreError::NotAllowed("INBOX cannot be deleted".to_owned()));
        }
        let key = address.key();
        let inner = &self.inner;
        let _guard = inner.lock_maildirs();
        // Finish any earlier rename/delete whose directory step failed.
        journal::recover(inner)?;
        let dir = inner.layout.mailbox_dir(&address, &name);
        let intent = vec![Step::RemoveDir {
            dir: self.relative(&dir)?,
        }];
        let txn = inner.db.begin_write()?;
        let uidvalidity;
        {
            let mut mailboxes = txn.open_table(MAILBOXES)?;
            let Some(record) = index::get_mailbox(&mailboxes, &key, &name)? else {
                return Err(StoreError::NoSuchMailbox(name));
            };
            uidvalidity = record.uidvalidity;
            let mut messages = txn.open_table(MESSAGES)?;
            index::remove_mailbox_rows(&txn, &mut messages, record.id)?;
            mailboxes.remove((key.as_str(), name.as_str()))?;
        }
        let id = journal::record(&txn, &intent)?;
        txn.commit()?;
        inner.forget_stamp(&dir);
        journal::complete(inner, id, &intent);
        inner.notifier.publish(
            &key,
            vec![Notice {
                mailbox: name,
                uidvalidity,
                change: Change::MailboxDeleted,
            }],
        );
        Ok(())
    }

    /// Renames a mailbox and all its children (RFC 9051 §6.3.6); missing
    /// parents of the new name are created. Renaming INBOX moves its
    /// messages into the new mailbox (which takes over INBOX's UIDVALIDITY
    /// and UIDs) and leaves INBOX empty with a new UIDVALIDITY; INBOX's
    /// children are not renamed. Subscriptions are left as they are.
    ///
    /// # Errors
    /// [`StoreError::NoSuchMailbox`], [`StoreError::MailboxExists`] when the
    /// new name (or a renamed child's) exists, [`StoreError::NotAllowed`] for
    /// a rename into itself or to INBOX, IO and index errors.
    pub fn rename_mailbox(&self, address: &str, from: &str, to: &str) -> Result<(), StoreError> {
        let address = self.parse_account(address)?;
        let from = canonical_mailbox_name(from).map_err(StoreError::InvalidMailbox)?;
        let to = canonical_mailbox_name(to).map_err(StoreError::InvalidMailbox)?;
        if to == INBOX {
            return Err(StoreError::MailboxExists(to));
        }
        if to == from || to.starts_with(&format!("{from}/")) {
            return Err(StoreError::NotAllowed(format!(
                "cannot rename {from:?} into itself"
            )));
        }
        let key = address.key();
        let inner = &self.inner;
        let layout = &inner.layout;
        let _guard = inner.lock_maildirs();
        // Finish any earlier rename/delete whose directory step failed.
        journal::recover(inner)?;
        let txn = inner.db.begin_write()?;
        let mut notices = Vec::new();
        let mut intent = Vec::new();
        let mut dirs = Vec::new();
        {
            let mut mailboxes = txn.open_table(MAILBOXES)?;
            let all = index::account_mailboxes(&mailboxes, &key)?;
            let Some((_, record)) = all.iter().find(|(n, _)| *n == from) else {
                return Err(StoreError::NoSuchMailbox(from));
            };
            // (old name, new name, record)
            let mut moves = vec![(from.clone(), to.clone(), record.clone())];
            if from != INBOX {
                let prefix = format!("{from}/");
                for (n, r) in &all {
                    if let Some(rest) = n.strip_prefix(&prefix) {
                        moves.push((n.clone(), format!("{to}/{rest}"), r.clone()));
                    }
                }
            }
            for (_, new, _) in &moves {
                let exists_on_disk = match inner.fs.stat(&layout.mailbox_dir(&address, new)) {
                    Ok(_) => true,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => false,
                    Err(e) => return Err(e.into()),
                };
                if all.iter().any(|(n, _)| n == new) || exists_on_disk {
                    return Err(StoreError::MailboxExists(new.clone()));
                }
            }
            // Missing parents of the new name.
            for parent in parents(&to) {
                if parent == INBOX || all.iter().any(|(n, _)| *n == parent) {
                    continue;
                }
                let dir = layout.mailbox_dir(&address, &parent);
                ensure_maildir(inner.fs.as_ref(), &inner.layout.mail_root(), &dir, true)?;
                inner.fs.fsync_dir(&dir)?;
                let r = index::new_mailbox(&txn, None)?;
                index::put_mailbox(&mut mailboxes, &key, &parent, &r)?;
                notices.push(Notice {
                    mailbox: parent,
                    uidvalidity: r.uidvalidity,
                    change: Change::MailboxCreated,
                });
            }
            for (old, new, r) in &moves {
                mailboxes.remove((key.as_str(), old.as_str()))?;
                index::put_mailbox(&mut mailboxes, &key, new, r)?;
                let (od, nd) = (
                    layout.mailbox_dir(&address, old),
                    layout.mailbox_dir(&address, new),
                );
                if old == INBOX {
                    // RFC 9051 §6.3.6: INBOX stays, empty, as a new mailbox.
                    ensure_maildir(inner.fs.as_ref(), &inner.layout.mail_root(), &nd, true)?;
                    inner.fs.fsync_dir(&nd)?;
                    let fresh = index::new_mailbox(&txn, None)?;
                    index::put_mailbox(&mut mailboxes, &key, INBOX, &fresh)?;
                    intent.push(Step::MoveFiles {
                        from: self.relative(&od)?,
                        to: self.relative(&nd)?,
                    });
                } else {
                    intent.push(Step::RenameDir {
                        from: self.relative(&od)?,
                        to: self.relative(&nd)?,
                    });
                }
                dirs.push(od);
                notices.push(Notice {
                    mailbox: old.clone(),
                    uidvalidity: r.uidvalidity,
                    change: Change::MailboxRenamed { to: new.clone() },
                });
            }
            inner.fs.fsync_dir(&layout.account_dir(&address))?;
        }
        let id = journal::record(&txn, &intent)?;
        txn.commit()?;
        for d in &dirs {
            inner.forget_stamp(d);
        }
        journal::complete(inner, id, &intent);
        inner.notifier.publish(&key, notices);
        Ok(())
    }

    /// Subscribes to a name (RFC 9051 §6.3.7); it need not exist.
    ///
    /// # Errors
    /// Invalid names, [`StoreError::NoSuchAccount`], index errors.
    pub fn subscribe_mailbox(&self, address: &str, mailbox: &str) -> Result<(), StoreError> {
        self.set_subscribed(address, mailbox, true)
    }

    /// Removes a subscription (RFC 9051 §6.3.8); not subscribed is no error.
    ///
    /// # Errors
    /// Invalid names, [`StoreError::NoSuchAccount`], index errors.
    pub fn unsubscribe_mailbox(&self, address: &str, mailbox: &str) -> Result<(), StoreError> {
        self.set_subscribed(address, mailbox, false)
    }

    fn set_subscribed(&self, address: &str, mailbox: &str, on: bool) -> Result<(), StoreError> {
        let address = self.parse_account(address)?;
        let name = canonical_mailbox_name(mailbox).map_err(StoreError::InvalidMailbox)?;
        let key = address.key();
        let txn = self.inner.db.begin_write()?;
        {
            let mut subs = txn.open_table(SUBSCRIPTIONS)?;
            if on {
                subs.insert((key.as_str(), name.as_str()), 0)?;
            } else {
                subs.remove((key.as_str(), name.as_str()))?;
            }
        }
        txn.commit()?;
        // IMAP NOTIFY's SubscriptionChange (RFC 5465 §5.5) reads this.
        self.inner.notifier.publish(
            &key,
            vec![Notice {
                mailbox: name,
                uidvalidity: 0,
                change: Change::Subscription { subscribed: on },
            }],
        );
        Ok(())
    }

    /// The subscribed names of an account, sorted (LSUB, LIST
    /// (SUBSCRIBED)); they may name mailboxes that do not exist.
    ///
    /// # Errors
    /// [`StoreError::NoSuchAccount`], index errors.
    pub fn subscriptions(&self, address: &str) -> Result<Vec<String>, StoreError> {
        let address = self.parse_account(address)?;
        let txn = self.inner.db.begin_read()?;
        let subs = txn.open_table(SUBSCRIPTIONS)?;
        index::subscriptions(&subs, &address.key())
    }
}
