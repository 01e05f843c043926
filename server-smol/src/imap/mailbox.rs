//! SELECT / EXAMINE, CREATE / DELETE / RENAME / (UN)SUBSCRIBE, LIST,
//! STATUS and GETQUOTA(ROOT): one store read or write each, translated to
//! the session's answer types.

use std::num::NonZeroU32;

use imap_proto::response::{RespText, UnitCode};
use imap_proto::session::{
    MailboxInfo, MailboxOp, QuotaAnswer, SelectAnswer, StatusAnswer, StatusMessage,
};
use maildir::{Flags, StoreError};

use super::ImapHandler;
use super::convert::*;

/// STATUS of a mailbox with at most this many messages is counted on the
/// connection's thread.
pub(super) const INLINE_STATUS_MAX: u32 = 4096;

impl ImapHandler {
    pub(super) async fn select(
        &mut self,
        mailbox: String,
        read_only: bool,
        qresync_since: Option<u64>,
    ) -> Result<SelectAnswer, RespText> {
        // Notices queued before this SELECT describe the old view.
        self.reset_changes();
        // Content-cache reads go by the id of the mailbox selected now
        // (the name may have been renamed away and reused since).
        self.cache_box = None;
        let name = mailbox.clone();
        let result = self
            .with_store(move |store, account| {
                // On a full disk the mailbox is still readable: picking
                // up outside changes and claiming \Recent are writes, and
                // are skipped (docs/DESIGN.md §3: a full disk is temporary).
                let full = |e: &StoreError| matches!(e, StoreError::NoSpace(_));
                match store.refresh(account, &mailbox) {
                    Ok(_) => {}
                    Err(e) if full(&e) => tracing::warn!("imap: SELECT without rescan: {e}"),
                    Err(e) => return Err(e),
                }
                // RFC 3501 §2.3.2: the first session to see a message in
                // new/ gets it as \Recent; claiming moves it to cur/.
                let claimed = if read_only {
                    Vec::new()
                } else {
                    match store.claim_recent(account, &mailbox) {
                        Err(e) if full(&e) => {
                            tracing::warn!("imap: SELECT without \\Recent: {e}");
                            Vec::new()
                        }
                        other => other?,
                    }
                };
                let mut claimed = claimed;
                claimed.sort_unstable();
                // Mapped to the session's type as they are read (on two
                // threads for a large mailbox: see `message_summaries_with`).
                let (status, mut messages) =
                    store.message_summaries_with(account, &mailbox, session_summary)?;
                if !read_only {
                    // A message delivered into new/ between the claim and
                    // this read is not this session's yet: claim it now,
                    // or leave it to the session that did, so that it is
                    // \Recent in exactly one session (RFC 3501 §2.3.2;
                    // imaptest's checkpoint runs caught "\Recent flag in
                    // multiple sessions" when it was shown unclaimed).
                    let late: Vec<u32> = messages
                        .iter()
                        .filter(|m| m.recent && claimed.binary_search(&m.uid.get()).is_err())
                        .map(|m| m.uid.get())
                        .collect();
                    if !late.is_empty() {
                        let set = maildir::UidSet::from(late.as_slice());
                        match store.claim_recent_uids(account, &mailbox, &set) {
                            Ok(more) => {
                                claimed.extend(more);
                                claimed.sort_unstable();
                            }
                            Err(e) if full(&e) => {
                                tracing::warn!("imap: SELECT without \\Recent: {e}")
                            }
                            Err(e) => return Err(e),
                        }
                    }
                    for m in &mut messages {
                        m.recent = claimed.binary_search(&m.uid.get()).is_ok();
                    }
                }
                let vanished = match qresync_since {
                    Some(since) => store.changes_since(account, &mailbox, since)?.expunged,
                    None => Vec::new(),
                };
                Ok((status, messages, vanished))
            })
            .await;
        let (status, messages, vanished) = result.map_err(|e| store_refusal(&e))?;
        self.cache_box = Some((name, status.id));
        let (flags, permanent_flags) = SelectAnswer::system_flags();
        Ok(SelectAnswer {
            uid_validity: nz(status.uidvalidity).unwrap_or(NonZeroU32::MIN),
            uid_next: nz(status.uidnext).unwrap_or(NonZeroU32::MIN),
            highest_mod_seq: Some(status.highestmodseq),
            flags,
            permanent_flags,
            read_only,
            messages,
            vanished: vanished.into_iter().filter_map(nz).collect(),
            mailbox_id: mailbox_id(&status),
        })
    }

    /// A mailbox operation; a CREATE answers the new MAILBOXID (RFC 8474
    /// §4.1), the others `None`.
    pub(super) async fn mailbox_op(
        &mut self,
        op: MailboxOp,
    ) -> Result<Option<imap_proto::types::ObjectId>, RespText> {
        let result = self
            .with_store(move |store, account| match op {
                MailboxOp::Create {
                    name,
                    special_use: su,
                } => store
                    .create_mailbox(account, &name, special_use(&su))
                    .map(|status| mailbox_id(&status)),
                MailboxOp::Delete { name } => store.delete_mailbox(account, &name).map(|()| None),
                MailboxOp::Rename { from, to } => {
                    store.rename_mailbox(account, &from, &to).map(|()| None)
                }
                MailboxOp::Subscribe { name } => {
                    store.subscribe_mailbox(account, &name).map(|()| None)
                }
                MailboxOp::Unsubscribe { name } => {
                    store.unsubscribe_mailbox(account, &name).map(|()| None)
                }
                _ => Err(StoreError::NotAllowed("unsupported operation".into())),
            })
            .await;
        result.map_err(|e| store_refusal(&e))
    }

    pub(super) async fn list(&mut self) -> Result<Vec<MailboxInfo>, RespText> {
        // Two index reads, as long as the account's list of mailboxes: on
        // this thread (see `with_index`).
        let result = self.with_index(|store, account| {
            let boxes = store.mailboxes(account)?;
            let subscribed = store.subscriptions(account)?;
            Ok((boxes, subscribed))
        });
        let (boxes, subscriptions) = result.map_err(|e| store_refusal(&e))?;
        let mut out: Vec<MailboxInfo> = boxes
            .into_iter()
            .map(|b| MailboxInfo {
                attributes: b.special_use.and_then(attribute).into_iter().collect(),
                subscribed: b.subscribed,
                name: b.name,
            })
            .collect();
        MailboxInfo::add_subscriptions(&mut out, subscriptions);
        Ok(out)
    }

    pub(super) async fn status(&mut self, mailbox: String) -> Result<StatusAnswer, RespText> {
        let max = self.shared.config.limits.max_message_size;
        // The counts need every message's summary: one index scan, on
        // this thread for a mailbox of up to INLINE_STATUS_MAX messages
        // (well under a millisecond), on the pool for larger ones.
        let small = self
            .with_index(|store, account| store.mailbox_status(account, &mailbox))
            .is_ok_and(|s| s.messages <= INLINE_STATUS_MAX);
        let result = if small {
            self.with_index(|store, account| store.message_summaries(account, &mailbox))
        } else {
            self.with_store(move |store, account| store.message_summaries(account, &mailbox))
                .await
        };
        let (status, messages) = result.map_err(|e| store_refusal(&e))?;
        let mut answer = StatusAnswer::new(
            nz(status.uidvalidity).unwrap_or(NonZeroU32::MIN),
            nz(status.uidnext).unwrap_or(NonZeroU32::MIN),
            status.highestmodseq,
        );
        for m in &messages {
            answer.count(StatusMessage {
                seen: m.flags.contains(Flags::SEEN),
                deleted: m.flags.contains(Flags::DELETED),
                recent: m.recent,
                size: m.size,
            });
        }
        answer.append_limit = u32::try_from(max).ok();
        answer.mailbox_id = mailbox_id(&status);
        Ok(answer)
    }

    /// GETQUOTA / GETQUOTAROOT (RFC 9208): the account's usage from the
    /// index and the `[limits] quota_bytes` / `quota_messages` in force.
    pub(super) async fn quota(&mut self, mailbox: Option<String>) -> Result<QuotaAnswer, RespText> {
        let usage = self
            .with_store(move |store, account| {
                if let Some(m) = &mailbox {
                    store.mailbox_status(account, m)?;
                }
                store.quota_usage(account)
            })
            .await
            .map_err(|e| match e {
                StoreError::NoSuchMailbox(_) => {
                    no_code(UnitCode::NonExistent, "Mailbox does not exist")
                }
                other => store_refusal(&other),
            })?;
        Ok(QuotaAnswer {
            storage_used: usage.bytes,
            storage_limit: usage.limit.max_bytes,
            messages_used: usage.messages,
            message_limit: usage.limit.max_messages,
        })
    }
}
