//! Other sessions' changes: the store's change notices for the selected
//! mailbox become [`MailboxChange`]s for the session; new messages are
//! claimed as `\Recent` by the first session told of them (RFC 3501
//! §2.3.2); after lost notices (the subscription overflowed) the view is
//! resynchronised from the index.

use std::collections::BTreeSet;

use imap_proto::session::{MailboxNotice, ServerSession};
use imap_proto::view::{FlagUpdate, MailboxChange, MessageSummary};
use maildir::{Change, StoreError, UidSet};

use super::ImapHandler;
use super::convert::{email_id, imap_date, imap_date_in, imap_flags, nz, session_summary};

impl ImapHandler {
    /// Takes every event already queued on the subscription without
    /// waiting: notices join `pending`; an overflow marks a resync.
    pub(super) fn collect_changes(&mut self) {
        while let Some(event) = self.changes.as_ref().and_then(|sub| sub.try_recv()) {
            self.note(event);
        }
    }

    /// Records one subscription event.
    pub(super) fn note(&mut self, event: maildir::Event) {
        match event {
            maildir::Event::Change(n) => self.pending.push(n),
            // The notices before the overflow are lost; the resync reads
            // the state they led to, so the ones still queued are moot.
            maildir::Event::Overflowed => {
                self.pending.clear();
                self.overflowed = true;
            }
        }
    }

    /// Forgets queued changes and claims (at SELECT: they describe the
    /// previous view).
    pub(super) fn reset_changes(&mut self) {
        self.collect_changes();
        self.pending.clear();
        self.overflowed = false;
        self.claimed.clear();
    }

    /// Hands the queued changes to the session: those of the selected
    /// mailbox as view changes, the others to NOTIFY when it is on.
    pub(super) async fn deliver_changes(&mut self, session: &mut ServerSession) {
        let notices = std::mem::take(&mut self.pending);
        let overflowed = std::mem::take(&mut self.overflowed);
        if session.notify_active() {
            if overflowed {
                // RFC 5465 §5.8: lost notices end NOTIFY.
                session.notify_overflow();
            } else {
                self.notify_others(session, &notices).await;
            }
        }
        let (Some((selected, read_only)), Some(account)) = (
            session.selected().map(|(n, ro)| (n.to_string(), ro)),
            self.account.clone(),
        ) else {
            return;
        };
        if overflowed {
            self.resync(session, account, selected, read_only).await;
            return;
        }
        let mut added = Vec::new();
        for notice in notices {
            if notice.mailbox != selected {
                continue;
            }
            match notice.change {
                Change::Appended { uid, .. } => added.push(uid),
                Change::Flags {
                    uid,
                    flags,
                    keywords,
                    modseq,
                } => {
                    if let Some(uid) = nz(uid) {
                        session.mailbox_changed(MailboxChange::Flags(vec![FlagUpdate {
                            uid,
                            flags: imap_flags(flags, &keywords),
                            mod_seq: modseq,
                        }]));
                    }
                }
                Change::Expunged { uids, .. } => {
                    session.mailbox_changed(MailboxChange::Expunged(
                        uids.into_iter().filter_map(nz).collect(),
                    ));
                }
                _ => {}
            }
        }
        if added.is_empty() {
            return;
        }
        // The notice carries the UID only; the summaries are one index
        // read. A read-write session claims the new messages it is told
        // of: whichever session claims a message first shows it \Recent.
        let store = self.shared.store.clone();
        let mailbox = selected.clone();
        let result = blocking::unblock(move || {
            let set = UidSet::from(added.as_slice());
            let claimed = if read_only {
                Vec::new()
            } else {
                store.claim_recent_uids(&account, &mailbox, &set)?
            };
            let infos = store.messages(&account, &mailbox, &set)?;
            Ok::<_, StoreError>((claimed, infos))
        })
        .await;
        let (claimed, infos) = match result {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!("imap: cannot read new messages of {selected}: {e}");
                return;
            }
        };
        self.claimed.extend(claimed);
        let summaries = infos
            .into_iter()
            .filter_map(|m| {
                Some(MessageSummary {
                    uid: nz(m.uid)?,
                    flags: imap_flags(m.flags, &m.keywords),
                    mod_seq: m.modseq,
                    internal_date: imap_date_in(m.internal_date, m.internal_zone),
                    size: m.size,
                    recent: self.claimed.remove(&m.uid),
                    email_id: email_id(m.email_id),
                    save_date: Some(imap_date(m.save_date)),
                })
            })
            .collect();
        session.mailbox_changed(MailboxChange::Added(summaries));
    }

    /// NOTIFY (RFC 5465) for mailboxes other than the selected one: name
    /// and subscription changes as they are, message changes as one
    /// STATUS per mailbox and batch, read after the batch.
    async fn notify_others(&mut self, session: &mut ServerSession, notices: &[maildir::Notice]) {
        let selected = session.selected().map(|(n, _)| n.to_string());
        let others: Vec<&maildir::Notice> = notices
            .iter()
            .filter(|n| Some(&n.mailbox) != selected.as_ref())
            .collect();
        if others.is_empty() {
            return;
        }
        let subscribed: BTreeSet<String> = match self
            .with_store(|store, account| store.subscriptions(account))
            .await
        {
            Ok(v) => v.into_iter().collect(),
            Err(e) => {
                tracing::warn!("imap: NOTIFY cannot read subscriptions: {e}");
                BTreeSet::new()
            }
        };
        let mut status_of: Vec<String> = Vec::new();
        for n in others {
            let sub = subscribed.contains(&n.mailbox);
            let name = n.mailbox.clone();
            // RFC 5465 §5.1-5.3: a STATUS only for the kinds of change
            // the client asked for there.
            let interest = session.notify_interest(&name, sub);
            let wanted = match &n.change {
                Change::Appended { .. } => interest.message_new,
                Change::Flags { .. } => interest.flag_change,
                Change::Expunged { .. } => interest.message_expunge,
                _ => false,
            };
            match &n.change {
                Change::Appended { .. } | Change::Flags { .. } | Change::Expunged { .. }
                    if wanted && !status_of.contains(&name) =>
                {
                    status_of.push(name);
                }
                Change::MailboxCreated => session.notify_mailbox(MailboxNotice::Created(name), sub),
                Change::MailboxDeleted => session.notify_mailbox(MailboxNotice::Deleted(name), sub),
                Change::MailboxRenamed { to } => {
                    let sub = subscribed.contains(to);
                    let to = to.clone();
                    session.notify_mailbox(MailboxNotice::Renamed { from: name, to }, sub);
                }
                Change::Subscription { subscribed } => session.notify_mailbox(
                    MailboxNotice::Subscription {
                        name,
                        subscribed: *subscribed,
                    },
                    *subscribed,
                ),
                _ => {}
            }
        }
        for name in status_of {
            match self.status(name.clone()).await {
                Ok(a) => session.notify_status(&name, subscribed.contains(&name), &a),
                Err(_) => tracing::debug!("imap: NOTIFY: no STATUS for {name}"),
            }
        }
    }

    /// Rebuilds the session's view from the index after lost notices.
    async fn resync(
        &mut self,
        session: &mut ServerSession,
        account: String,
        selected: String,
        read_only: bool,
    ) {
        tracing::warn!(
            user = %account,
            mailbox = %selected,
            "imap: change notices overflowed; resynchronising from the index"
        );
        let store = self.shared.store.clone();
        let mailbox = selected.clone();
        let result = blocking::unblock(move || {
            let claimed = if read_only {
                Vec::new()
            } else {
                store.claim_recent(&account, &mailbox)?
            };
            let (_, messages) = store.message_summaries(&account, &mailbox)?;
            Ok::<_, StoreError>((claimed, messages))
        })
        .await;
        let (claimed, messages) = match result {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!("imap: cannot resynchronise {selected}: {e}");
                return;
            }
        };
        self.claimed.extend(claimed);
        let claimed: &BTreeSet<u32> = &self.claimed;
        let summaries: Vec<MessageSummary> = messages
            .into_iter()
            .filter_map(session_summary)
            .map(|mut s| {
                s.recent = claimed.contains(&s.uid.get());
                s
            })
            .collect();
        // Every message is in the view now: the claims are spent.
        self.claimed.clear();
        session.mailbox_resync(summaries);
    }
}
