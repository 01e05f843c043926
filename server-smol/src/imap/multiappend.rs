//! MULTIAPPEND (RFC 3502) and CATENATE (RFC 4469) glue: the messages of
//! one APPEND go into one [`maildir::MultiAppend`] (all or none, one
//! index commit, consecutive UIDs); a command with a single literal keeps
//! the group-committed [`maildir::Append`] and turns into a MULTIAPPEND
//! when a second message arrives. A CATENATE `URL` part is copied from
//! the store in [`COPY_CHUNK`] pieces, never held whole.

use std::io::{Read, Seek, SeekFrom};

use imap_proto::message::UrlSection;
use imap_proto::response::{Code, RespText, UnitCode};
use imap_proto::session::{AppendUids, RequestId};
use imap_proto::types::{Atom, DateTime, Flag};
use imap_proto::url::MessageUrl;
use maildir::{MultiAppend, StoreError};

use super::convert::{no, no_code, nz, store_flags, store_refusal};
use super::spool::{PendingAppend, Spool};
use super::{ImapHandler, urlauth};

/// A URL part is copied in reads of this size.
const COPY_CHUNK: usize = 64 * 1024;

/// `[BADURL url]` (RFC 4469 §6); a URL that cannot be written inside a
/// response code is left out of it.
fn bad_url(url: &str, text: &str) -> RespText {
    let printable =
        url.len() <= 1024 && url.bytes().all(|b| (b' '..0x7f).contains(&b) && b != b']');
    RespText::with_code(
        Code::Other {
            name: Atom::try_from("BADURL").unwrap_or_else(|_| unreachable!()),
            text: printable.then(|| url.to_owned()),
        },
        text,
    )
}

/// A URL part that cannot be used: why, for the client.
enum UrlRefusal {
    Bad(&'static str),
    TooBig,
    Store(StoreError),
}

/// Appends what `url` names, from `account`'s own mailboxes (a relative
/// URL, or an absolute one naming `account`) or through URLAUTH (RFC 4467
/// §3), to the current message of `spool`, which holds `len` octets and
/// may grow to `max`. Returns the octets added.
fn copy_url(
    store: &maildir::Store,
    account: &str,
    spool: &mut MultiAppend,
    url: &str,
    len: u64,
    max: u64,
) -> Result<u64, UrlRefusal> {
    let parsed = MessageUrl::parse(url).map_err(|_| UrlRefusal::Bad("Malformed URL"))?;
    let (owner, mailbox, uid, uid_validity) = match &parsed.urlauth {
        Some(_) => {
            let a = urlauth::verify(store, url, urlauth::Requester::Imap(account))
                .map_err(|_| UrlRefusal::Bad("URL not authorized"))?;
            (a.owner, a.mailbox, a.uid, None)
        }
        None => {
            if parsed
                .user
                .as_deref()
                .is_some_and(|u| !u.eq_ignore_ascii_case(account))
            {
                return Err(UrlRefusal::Bad("Not your mailbox"));
            }
            (
                account.to_owned(),
                parsed.mailbox.clone(),
                parsed.uid,
                parsed.uid_validity,
            )
        }
    };
    let section = parsed
        .section_spec()
        .map_err(|_| UrlRefusal::Bad("Malformed section"))?;
    let refuse = |e: StoreError| match e {
        StoreError::NoSuchMailbox(_)
        | StoreError::NoSuchAccount(_)
        | StoreError::InvalidMailbox(_)
        | StoreError::InvalidAddress(_) => UrlRefusal::Bad("No such mailbox"),
        other => UrlRefusal::Store(other),
    };
    let status = store.mailbox_status(&owner, &mailbox).map_err(refuse)?;
    if uid_validity.is_some_and(|v| v.get() != status.uidvalidity) {
        return Err(UrlRefusal::Bad("UIDVALIDITY has changed"));
    }
    let uid = uid.get();
    if store
        .message(&owner, &mailbox, uid)
        .map_err(refuse)?
        .is_none()
    {
        return Err(UrlRefusal::Bad("No such message"));
    }
    let mut file = store.open_message(&owner, &mailbox, uid).map_err(refuse)?;
    let size = file
        .metadata()
        .map_err(|e| UrlRefusal::Store(e.into()))?
        .len();
    let root = match store.mime_parts(&owner, &mailbox, uid).map_err(refuse)? {
        Some(r) => r,
        None => {
            // A message adopted by a rescan has no stored offsets.
            let mut bytes = Vec::new();
            (&mut file)
                .take(max.saturating_add(1))
                .read_to_end(&mut bytes)
                .map_err(|e| UrlRefusal::Store(e.into()))?;
            imap_proto::message::PartOffsets::parse(&bytes)
        }
    };
    let (range, fields) = match UrlSection::resolve(&root, size, section.as_ref(), parsed.partial) {
        UrlSection::Range(r) => (r, None),
        UrlSection::Fields {
            header,
            names,
            not,
            partial,
        } => (header, Some((names, not, partial))),
        UrlSection::Missing => return Err(UrlRefusal::Bad("No such section")),
    };
    let want = range.end - range.start;
    if fields.is_none() && len.saturating_add(want) > max {
        return Err(UrlRefusal::TooBig);
    }
    if want > max {
        return Err(UrlRefusal::TooBig);
    }
    file.seek(SeekFrom::Start(range.start))
        .map_err(|e| UrlRefusal::Store(e.into()))?;
    let mut reader = file.take(want);
    if let Some((names, not, partial)) = fields {
        // A header, filtered (RFC 5092 §3 HEADER.FIELDS); bounded by `max`.
        let mut header = Vec::new();
        reader
            .read_to_end(&mut header)
            .map_err(|e| UrlRefusal::Store(e.into()))?;
        let out = UrlSection::filter(&header, &names, not, partial);
        if len.saturating_add(out.len() as u64) > max {
            return Err(UrlRefusal::TooBig);
        }
        spool.write(&out).map_err(UrlRefusal::Store)?;
        return Ok(out.len() as u64);
    }
    let mut buf = vec![
        0u8;
        COPY_CHUNK
            .min(usize::try_from(want).unwrap_or(COPY_CHUNK))
            .max(1)
    ];
    let mut copied = 0u64;
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| UrlRefusal::Store(e.into()))?;
        if n == 0 {
            break;
        }
        spool.write(&buf[..n]).map_err(UrlRefusal::Store)?;
        copied += n as u64;
    }
    if copied != want {
        // The file was cut short behind our back.
        return Err(UrlRefusal::Store(StoreError::Corrupt(
            "message file shorter than indexed".to_owned(),
        )));
    }
    Ok(copied)
}

impl ImapHandler {
    /// Ends the current message's literal8 conversion (RFC 3516): its
    /// last base64 line goes into the buffer.
    fn append_finish_binary(&mut self) {
        if let Some(p) = self.append.as_mut()
            && let Some(c) = p.binary.take()
        {
            c.finish(&mut p.buffer);
        }
    }

    /// [`imap_proto::session::Event::AppendMessage`]: the next message of
    /// an APPEND (MULTIAPPEND), or a CATENATE message.
    pub(super) async fn append_message(
        &mut self,
        id: RequestId,
        mailbox: String,
        flags: Vec<Flag>,
        date: Option<DateTime>,
        size: Option<u64>,
        binary: bool,
    ) -> Result<(), RespText> {
        if size.is_some_and(|s| s > self.shared.config.limits.max_message_size) {
            return Err(no_code(UnitCode::TooBig, "Message too large"));
        }
        let zone = date.as_ref().map_or(0, DateTime::zone_minutes);
        let date = date.as_ref().map(DateTime::unix_seconds);
        // The previous message is complete: the end of its literal8
        // conversion goes in before the next one starts.
        self.append_finish_binary();
        self.append_flush().await;
        match self.append.as_mut() {
            Some(p) if p.id == id => {
                if let Some(e) = p.error.take() {
                    return Err(store_refusal(&e));
                }
                let Some(spool) = p.append.take() else {
                    return Err(no("No APPEND in progress"));
                };
                let spool = spool.into_inner().unwrap_or_else(|e| e.into_inner());
                let result =
                    blocking::unblock(move || spool.next_message(&flags, date, zone, size)).await;
                match result {
                    Ok(many) => {
                        p.append = Some(std::sync::Mutex::new(Spool::Many(many)));
                        p.len = 0;
                        p.binary = binary.then(mime_scan::BinaryToBase64::new);
                        Ok(())
                    }
                    Err(e) => Err(store_refusal(&e)),
                }
            }
            _ => {
                // A CATENATE first message: the command is a MULTIAPPEND
                // from its start.
                let result = self
                    .with_store(move |store, account| {
                        let mut m = store.begin_multiappend(account, &mailbox)?;
                        let (bits, keywords) = store_flags(&flags);
                        m.begin_message(bits, &keywords, date)?;
                        m.set_internal_zone(zone);
                        Ok(m)
                    })
                    .await;
                match result {
                    Ok(m) => {
                        self.append = Some(PendingAppend {
                            id,
                            append: Some(std::sync::Mutex::new(Spool::Many(m))),
                            buffer: Vec::new(),
                            error: None,
                            len: 0,
                            too_big: false,
                            binary: binary.then(mime_scan::BinaryToBase64::new),
                            to_selected: false,
                        });
                        Ok(())
                    }
                    Err(e) => Err(store_refusal(&e)),
                }
            }
        }
    }

    /// [`imap_proto::session::Event::AppendUrl`]: a CATENATE `URL` part.
    pub(super) async fn append_url(&mut self, id: RequestId, url: String) -> Result<(), RespText> {
        self.append_flush().await;
        let Some(account) = self.account.clone() else {
            return Err(no("Log in first"));
        };
        let max = self.shared.config.limits.max_message_size;
        let store = self.shared.store.clone();
        let Some(p) = self.append.as_mut().filter(|p| p.id == id) else {
            return Err(no("No APPEND in progress"));
        };
        if let Some(e) = p.error.take() {
            return Err(store_refusal(&e));
        }
        let Some(spool) = p.append.take() else {
            return Err(no("No APPEND in progress"));
        };
        let spool = spool.into_inner().unwrap_or_else(|e| e.into_inner());
        let Spool::Many(mut many) = spool else {
            // A URL part only comes inside CATENATE, which always spools
            // as a MULTIAPPEND.
            p.append = Some(std::sync::Mutex::new(spool));
            return Err(no_code(UnitCode::ServerBug, "URL outside CATENATE"));
        };
        let len = p.len;
        let url_for_copy = url.clone();
        let (many, result) = blocking::unblock(move || {
            let r = copy_url(&store, &account, &mut many, &url_for_copy, len, max);
            (many, r)
        })
        .await;
        p.append = Some(std::sync::Mutex::new(Spool::Many(many)));
        match result {
            Ok(n) => {
                p.len = p.len.saturating_add(n);
                Ok(())
            }
            Err(UrlRefusal::Bad(why)) => Err(bad_url(&url, why)),
            Err(UrlRefusal::TooBig) => Err(no_code(UnitCode::TooBig, "Message too large")),
            Err(UrlRefusal::Store(e)) => Err(store_refusal(&e)),
        }
    }

    /// Commits an APPEND's messages: the `APPENDUID` answer.
    pub(super) async fn append_commit(&mut self) -> Result<AppendUids, RespText> {
        self.append_finish_binary();
        let Some(mut p) = self.append.take() else {
            return Err(no("No APPEND in progress"));
        };
        if let Some(e) = p.error.take() {
            return Err(store_refusal(&e));
        }
        let Some(spool) = p.append.take() else {
            return Err(no("No APPEND in progress"));
        };
        let mut spool = spool.into_inner().unwrap_or_else(|e| e.into_inner());
        if p.too_big {
            blocking::unblock(move || spool.abort()).await;
            return Err(no_code(UnitCode::TooBig, "Message too large"));
        }
        // The buffered tail and the commit in one trip to the blocking pool
        // (most messages fit the buffer whole): each trip is a thread
        // wake-up, which a loaded machine makes cost milliseconds.
        let tail = p.buffer;
        let to_selected = p.to_selected;
        let committed = blocking::unblock(move || {
            if !tail.is_empty() {
                spool.write(&tail)?;
            }
            spool.commit(to_selected)
        });
        match committed.await {
            Ok((uidvalidity, uids, taken)) => {
                if taken {
                    // Shown \Recent when its EXISTS is announced
                    // (`changes.rs`), before this command's tagged OK.
                    self.claimed.extend(uids.iter().copied());
                }
                let uids: Option<Vec<_>> = uids.into_iter().map(nz).collect();
                match (nz(uidvalidity), uids) {
                    (Some(uid_validity), Some(uids)) if !uids.is_empty() => {
                        Ok(AppendUids { uid_validity, uids })
                    }
                    _ => Err(no_code(UnitCode::ServerBug, "Invalid UID")),
                }
            }
            Err(e) => Err(store_refusal(&e)),
        }
    }
}
