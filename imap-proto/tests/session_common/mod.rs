//! A canned-answer adapter for the session tests: an in-memory store that
//! answers every event, and a driver that feeds input in chunks.
#![allow(dead_code)]

use bytes::BytesMut;
use imap_proto::command::StoreAction;
use imap_proto::response::{Code, RespText, UnitCode};
use imap_proto::session::{
    AppendAnswer, ContentNeed, CopyAnswer, Event, MailboxInfo, MailboxOp, MessageContent,
    SelectAnswer, ServerConfig, ServerSession, StatusAnswer, StoreAnswer,
};
use imap_proto::types::{Date, DateTime, Flag, FlagPerm, MailboxAttribute};
use imap_proto::view::{FlagUpdate, MailboxChange, MessageSummary};
use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

pub fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

#[derive(Clone, Debug)]
pub struct Msg {
    pub bytes: Vec<u8>,
    pub flags: Vec<Flag>,
    pub mod_seq: u64,
    pub recent: bool,
}

#[derive(Clone, Debug)]
pub struct Mbox {
    pub uid_validity: u32,
    pub uid_next: u32,
    pub mod_seq: u64,
    pub messages: BTreeMap<u32, Msg>,
    pub attributes: Vec<MailboxAttribute>,
    /// Numbers the canned MAILBOXID (`M<id>`, RFC 8474); kept by RENAME.
    pub id: u32,
}

impl Mbox {
    fn new(attributes: Vec<MailboxAttribute>) -> Self {
        Mbox {
            uid_validity: 1_700_000_000,
            uid_next: 1,
            mod_seq: 1,
            messages: BTreeMap::new(),
            attributes,
            id: 0,
        }
    }

    /// The canned MAILBOXID.
    pub fn mailbox_id(&self) -> Option<imap_proto::types::ObjectId> {
        imap_proto::types::ObjectId::try_from(format!("M{}", self.id).as_str()).ok()
    }
}

pub fn date() -> DateTime {
    DateTime::new(Date::new(2024, 3, 5).unwrap(), 10, 20, 30, 60).unwrap()
}

/// The in-memory store.
#[derive(Clone, Debug)]
pub struct Store {
    pub mailboxes: BTreeMap<String, Mbox>,
    pub subscribed: BTreeSet<String>,
    /// (bytes, messages) limits reported for QUOTA; `None` is unlimited.
    pub quota: (Option<u64>, Option<u64>),
    /// Report MAILBOXIDs (RFC 8474) in SELECT, STATUS and CREATE answers.
    pub object_ids: bool,
}

impl Default for Store {
    fn default() -> Self {
        let mut mailboxes = BTreeMap::new();
        mailboxes.insert("INBOX".into(), Mbox::new(vec![]));
        mailboxes.insert("Drafts".into(), Mbox::new(vec![MailboxAttribute::Drafts]));
        mailboxes.insert("Sent".into(), Mbox::new(vec![MailboxAttribute::Sent]));
        mailboxes.insert("Trash".into(), Mbox::new(vec![MailboxAttribute::Trash]));
        for (n, m) in mailboxes.values_mut().enumerate() {
            m.id = n as u32 + 1;
        }
        let subscribed = ["INBOX", "Sent"].iter().map(|s| s.to_string()).collect();
        Store {
            mailboxes,
            subscribed,
            quota: (None, None),
            object_ids: false,
        }
    }
}

impl Store {
    pub fn add(&mut self, mailbox: &str, bytes: &[u8], flags: Vec<Flag>) -> MessageSummary {
        let mb = self.mailboxes.get_mut(mailbox).unwrap();
        let uid = mb.uid_next;
        mb.uid_next += 1;
        mb.mod_seq += 1;
        let msg = Msg {
            bytes: bytes.to_vec(),
            flags,
            mod_seq: mb.mod_seq,
            recent: true,
        };
        let s = summary(uid, &msg);
        mb.messages.insert(uid, msg);
        s
    }
}

pub fn summary(uid: u32, m: &Msg) -> MessageSummary {
    MessageSummary {
        uid: nz(uid),
        flags: m.flags.clone(),
        mod_seq: m.mod_seq,
        internal_date: date(),
        size: m.bytes.len() as u64,
        recent: m.recent,
        // A canned EMAILID and save date, so transcripts can show them.
        email_id: imap_proto::types::ObjectId::try_from(format!("E{uid}").as_str()).ok(),
        save_date: Some(date()),
    }
}

/// A message of an APPEND in progress: its flags and octets so far.
type AppendedMsg = (Vec<Flag>, Vec<u8>);

/// Drives a session against a [`Store`], answering every event.
pub struct Harness {
    pub session: ServerSession,
    pub store: Store,
    pub out: Vec<u8>,
    /// Events, with streamed chunks merged so that the log does not depend
    /// on how the input was split.
    pub log: Vec<String>,
    pub selected: Option<String>,
    pub now: Instant,
    /// The APPEND in progress: its mailbox and its messages so far.
    appending: Option<(String, Vec<AppendedMsg>)>,
    /// Answer `Offsets` reads with the whole message instead.
    pub no_offsets: bool,
    /// A transport switch happened: bytes read but not fed are dropped, as
    /// the adapter must (RFC 9051 §6.2.1).
    switched: bool,
    /// A transport switch happened during the current `run`: the rest of
    /// that plaintext input would reach the TLS handshake, never the new
    /// session, so it is dropped (whatever the chunking).
    switched_in_run: bool,
}

impl Harness {
    pub fn new(config: ServerConfig) -> Self {
        let now = Instant::now();
        Self::with_store(config, Store::default(), now)
    }

    pub fn with_store(config: ServerConfig, store: Store, now: Instant) -> Self {
        let mut h = Harness {
            session: ServerSession::new(config, now),
            store,
            out: Vec::new(),
            log: Vec::new(),
            selected: None,
            now,
            appending: None,
            no_offsets: false,
            switched: false,
            switched_in_run: false,
        };
        h.drain();
        h
    }

    /// Feeds `input` in pieces of `chunk` octets, answering everything.
    pub fn run(&mut self, input: &[u8], chunk: usize) {
        let mut pending: Vec<u8> = Vec::new();
        self.switched_in_run = false;
        for piece in input.chunks(chunk.max(1)) {
            if self.switched_in_run {
                return;
            }
            pending.extend_from_slice(piece);
            self.pump(&mut pending);
        }
        self.pump(&mut pending);
    }

    /// Feeds `input` split at the given points.
    pub fn run_split(&mut self, input: &[u8], splits: &[usize]) {
        let mut pending: Vec<u8> = Vec::new();
        let mut last = 0;
        self.switched_in_run = false;
        for &s in splits.iter().chain(std::iter::once(&input.len())) {
            if self.switched_in_run {
                return;
            }
            let s = s.min(input.len()).max(last);
            pending.extend_from_slice(&input[last..s]);
            last = s;
            self.pump(&mut pending);
        }
    }

    pub fn pump(&mut self, pending: &mut Vec<u8>) {
        loop {
            self.drain();
            if std::mem::take(&mut self.switched) {
                pending.clear();
            }
            if self.session.is_closed() || pending.is_empty() {
                return;
            }
            let n = self.session.feed(pending);
            pending.drain(..n);
            if n == 0 {
                self.drain();
                let n = self.session.feed(pending);
                pending.drain(..n);
                if n == 0 {
                    return;
                }
            }
        }
    }

    /// Drains output and answers events until nothing is left.
    pub fn drain(&mut self) {
        loop {
            let mut progress = false;
            let mut buf = BytesMut::new();
            while self.session.poll_transmit(&mut buf) {
                progress = true;
            }
            self.out.extend_from_slice(&buf);
            if let Some(ev) = self.session.poll_event() {
                progress = true;
                self.answer(ev);
            }
            if !progress {
                return;
            }
        }
    }

    pub fn take_output(&mut self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut self.out)).into_owned()
    }

    /// Another session delivers a message to `mailbox`.
    pub fn deliver(&mut self, mailbox: &str, bytes: &[u8]) -> u32 {
        let s = self.store.add(mailbox, bytes, vec![]);
        let uid = s.uid.get();
        if self.selected.as_deref() == Some(mailbox) {
            self.session.mailbox_changed(MailboxChange::Added(vec![s]));
        }
        self.drain();
        uid
    }

    /// Another session expunges `uid` from `mailbox`.
    pub fn expunge_other(&mut self, mailbox: &str, uid: u32) {
        self.store
            .mailboxes
            .get_mut(mailbox)
            .unwrap()
            .messages
            .remove(&uid);
        if self.selected.as_deref() == Some(mailbox) {
            self.session
                .mailbox_changed(MailboxChange::Expunged(vec![nz(uid)]));
        }
        self.drain();
    }

    /// Another session sets flags.
    pub fn flags_other(&mut self, mailbox: &str, uid: u32, flags: Vec<Flag>) {
        let mb = self.store.mailboxes.get_mut(mailbox).unwrap();
        mb.mod_seq += 1;
        let ms = mb.mod_seq;
        let m = mb.messages.get_mut(&uid).unwrap();
        m.flags = flags.clone();
        m.mod_seq = ms;
        if self.selected.as_deref() == Some(mailbox) {
            self.session
                .mailbox_changed(MailboxChange::Flags(vec![FlagUpdate {
                    uid: nz(uid),
                    flags,
                    mod_seq: ms,
                }]));
        }
        self.drain();
    }

    /// A message of an APPEND begins: accepted when the mailbox exists.
    fn append_message(
        &mut self,
        id: imap_proto::session::RequestId,
        mailbox: String,
        flags: Vec<Flag>,
    ) {
        if self.store.mailboxes.contains_key(&mailbox) {
            let a = self
                .appending
                .get_or_insert_with(|| (mailbox.clone(), Vec::new()));
            a.1.push((flags, Vec::new()));
            self.session.respond_append_begin(id, Ok(())).unwrap();
        } else {
            self.session
                .respond_append_begin(
                    id,
                    Err(RespText::with_code(Code::TryCreate, "No such mailbox")),
                )
                .unwrap();
        }
    }

    /// What a CATENATE URL names in the canned store (relative URLs).
    fn resolve_url(&self, url: &str) -> Option<Vec<u8>> {
        let u = imap_proto::url::MessageUrl::parse(url).ok()?;
        let mb = self.store.mailboxes.get(&u.mailbox)?;
        if u.uid_validity.is_some_and(|v| v.get() != mb.uid_validity) {
            return None;
        }
        let m = mb.messages.get(&u.uid.get())?;
        let root = imap_proto::message::PartOffsets::parse(&m.bytes);
        let section = u.section_spec().ok()?;
        match imap_proto::message::UrlSection::resolve(
            &root,
            m.bytes.len() as u64,
            section.as_ref(),
            u.partial,
        ) {
            imap_proto::message::UrlSection::Range(r) => {
                Some(m.bytes[r.start as usize..r.end as usize].to_vec())
            }
            imap_proto::message::UrlSection::Fields {
                header,
                names,
                not,
                partial,
            } => Some(imap_proto::message::UrlSection::filter(
                &m.bytes[header.start as usize..header.end as usize],
                &names,
                not,
                partial,
            )),
            imap_proto::message::UrlSection::Missing => None,
        }
    }

    fn answer(&mut self, ev: Event) {
        let s = &mut self.session;
        match ev {
            Event::Authenticate {
                id,
                mechanism,
                authzid,
                username,
                password,
            } => {
                self.log
                    .push(format!("Authenticate {mechanism:?} {authzid:?} {username}"));
                let ok = username == "alice" && password.expose() == "secret";
                let answer = if ok {
                    Ok(())
                } else {
                    Err(RespText::with_code(
                        Code::Unit(UnitCode::AuthenticationFailed),
                        "Invalid credentials",
                    ))
                };
                s.respond_authenticate(id, answer).unwrap();
            }
            Event::Select {
                id,
                mailbox,
                read_only,
                qresync,
            } => {
                self.log
                    .push(format!("Select {mailbox} {read_only} {qresync:?}"));
                let answer = match self.store.mailboxes.get_mut(&mailbox) {
                    Some(mb) => {
                        let messages = mb.messages.iter().map(|(u, m)| summary(*u, m)).collect();
                        for m in mb.messages.values_mut() {
                            m.recent = false;
                        }
                        self.selected = Some(mailbox);
                        Ok(SelectAnswer {
                            uid_validity: nz(mb.uid_validity),
                            uid_next: nz(mb.uid_next),
                            highest_mod_seq: Some(mb.mod_seq),
                            flags: vec![
                                Flag::Answered,
                                Flag::Flagged,
                                Flag::Deleted,
                                Flag::Seen,
                                Flag::Draft,
                            ],
                            permanent_flags: vec![
                                FlagPerm::Flag(Flag::Answered),
                                FlagPerm::Flag(Flag::Flagged),
                                FlagPerm::Flag(Flag::Deleted),
                                FlagPerm::Flag(Flag::Seen),
                                FlagPerm::Flag(Flag::Draft),
                                FlagPerm::Asterisk,
                            ],
                            read_only: false,
                            messages,
                            vanished: vec![],
                            mailbox_id: mb.mailbox_id().filter(|_| self.store.object_ids),
                        })
                    }
                    None => {
                        self.selected = None;
                        Err(RespText::with_code(
                            Code::Unit(UnitCode::NonExistent),
                            "No such mailbox",
                        ))
                    }
                };
                s.respond_select(id, answer).unwrap();
            }
            Event::Mailbox { id, op } => {
                self.log.push(format!("Mailbox {op:?}"));
                let st = &mut self.store;
                let next_id = st.mailboxes.values().map(|m| m.id).max().unwrap_or(0) + 1;
                let answer = match op {
                    MailboxOp::Create { name, special_use } => {
                        let answer = match st.mailboxes.entry(name) {
                            std::collections::btree_map::Entry::Occupied(_) => {
                                Err(RespText::with_code(
                                    Code::Unit(UnitCode::AlreadyExists),
                                    "Mailbox exists",
                                ))
                            }
                            std::collections::btree_map::Entry::Vacant(v) => {
                                let mut mb = Mbox::new(special_use);
                                mb.id = next_id;
                                let with_id = st.object_ids;
                                Ok(v.insert(mb).mailbox_id().filter(|_| with_id))
                            }
                        };
                        // RFC 8474 §4.1: CREATE reports the new MAILBOXID.
                        s.respond_create(id, answer).unwrap();
                        return;
                    }
                    MailboxOp::Delete { name } => match st.mailboxes.remove(&name) {
                        Some(_) => Ok(()),
                        None => Err(RespText::with_code(
                            Code::Unit(UnitCode::NonExistent),
                            "No such mailbox",
                        )),
                    },
                    MailboxOp::Rename { from, to } => match st.mailboxes.remove(&from) {
                        Some(m) => {
                            st.mailboxes.insert(to, m);
                            Ok(())
                        }
                        None => Err(RespText::with_code(
                            Code::Unit(UnitCode::NonExistent),
                            "No such mailbox",
                        )),
                    },
                    MailboxOp::Subscribe { name } => {
                        st.subscribed.insert(name);
                        Ok(())
                    }
                    MailboxOp::Unsubscribe { name } => {
                        st.subscribed.remove(&name);
                        Ok(())
                    }
                    other => panic!("unexpected {other:?}"),
                };
                s.respond_mailbox(id, answer).unwrap();
            }
            Event::List { id } => {
                self.log.push("List".into());
                let list = self
                    .store
                    .mailboxes
                    .iter()
                    .map(|(n, m)| MailboxInfo {
                        name: n.clone(),
                        attributes: m.attributes.clone(),
                        subscribed: self.store.subscribed.contains(n),
                    })
                    .collect();
                s.respond_list(id, Ok(list)).unwrap();
            }
            Event::Status { id, mailbox } => {
                self.log.push(format!("Status {mailbox}"));
                let answer = match self.store.mailboxes.get(&mailbox) {
                    Some(mb) => Ok(StatusAnswer {
                        messages: mb.messages.len() as u32,
                        recent: mb.messages.values().filter(|m| m.recent).count() as u32,
                        uid_next: nz(mb.uid_next),
                        uid_validity: nz(mb.uid_validity),
                        unseen: mb
                            .messages
                            .values()
                            .filter(|m| !m.flags.contains(&Flag::Seen))
                            .count() as u32,
                        deleted: 0,
                        size: mb.messages.values().map(|m| m.bytes.len() as u64).sum(),
                        highest_mod_seq: mb.mod_seq,
                        append_limit: None,
                        deleted_storage: 0,
                        mailbox_id: mb.mailbox_id().filter(|_| self.store.object_ids),
                    }),
                    None => Err(RespText::with_code(
                        Code::Unit(UnitCode::NonExistent),
                        "No such mailbox",
                    )),
                };
                s.respond_status(id, answer).unwrap();
            }
            Event::AppendBegin {
                id,
                mailbox,
                flags,
                date: _,
                binary: _,
                size,
            } => {
                self.log
                    .push(format!("AppendBegin {mailbox} {flags:?} {size}"));
                self.append_message(id, mailbox, flags);
            }
            Event::AppendMessage {
                id,
                mailbox,
                flags,
                date: _,
                binary: _,
                size,
            } => {
                self.log
                    .push(format!("AppendMessage {mailbox} {flags:?} {size:?}"));
                self.append_message(id, mailbox, flags);
            }
            Event::AppendUrl { id, url } => {
                self.log.push(format!("AppendUrl {url}"));
                let answer = match self.resolve_url(&url) {
                    Some(bytes) => {
                        if let Some((_, msgs)) = self.appending.as_mut()
                            && let Some(m) = msgs.last_mut()
                        {
                            m.1.extend_from_slice(&bytes);
                        }
                        Ok(())
                    }
                    None => Err(RespText::with_code(
                        Code::Other {
                            name: imap_proto::types::Atom::try_from("BADURL").unwrap(),
                            text: Some(url.clone()),
                        },
                        "Bad URL",
                    )),
                };
                self.session.respond_append_url(id, answer).unwrap();
            }
            Event::AppendChunk { data, .. } => {
                if let Some((_, msgs)) = self.appending.as_mut()
                    && let Some(m) = msgs.last_mut()
                {
                    m.1.extend_from_slice(&data);
                }
            }
            Event::AppendEnd { id } => {
                let (mailbox, msgs) = self.appending.take().unwrap();
                let sizes: Vec<String> = msgs.iter().map(|m| m.1.len().to_string()).collect();
                self.log
                    .push(format!("AppendEnd {mailbox} {}", sizes.join(" ")));
                let mut added = Vec::new();
                for (flags, data) in msgs {
                    added.push(self.store.add(&mailbox, &data, flags));
                }
                let validity = self.store.mailboxes[&mailbox].uid_validity;
                // Feeding the change first lets the session announce the
                // new message before the tagged OK.
                if self.selected.as_deref() == Some(mailbox.as_str()) {
                    s.mailbox_changed(MailboxChange::Added(added.clone()));
                }
                if added.len() == 1 {
                    s.respond_append_end(
                        id,
                        Ok(AppendAnswer {
                            uid_validity: nz(validity),
                            uid: added[0].uid,
                        }),
                    )
                    .unwrap();
                } else {
                    s.respond_append_uids(
                        id,
                        Ok(imap_proto::session::AppendUids {
                            uid_validity: nz(validity),
                            uids: added.iter().map(|m| m.uid).collect(),
                        }),
                    )
                    .unwrap();
                }
            }
            Event::AppendAbort { .. } => {
                self.log.push("AppendAbort".into());
                self.appending = None;
            }
            Event::ReadMessage { id, uid, need } => {
                self.log.push(format!("Read {uid} {need:?}"));
                let mb = &self.store.mailboxes[self.selected.as_ref().unwrap()];
                let content = match mb.messages.get(&uid.get()) {
                    None => MessageContent::Gone,
                    Some(m) if need == ContentNeed::Stream => {
                        // The store's offsets, then the octets in chunks
                        // of 7, as the server streams a file.
                        let o = imap_proto::message::PartOffsets::parse(&m.bytes);
                        s.message_begin(id, o).unwrap();
                        for c in m.bytes.chunks(7) {
                            s.message_chunk(id, c).unwrap();
                        }
                        MessageContent::Streamed
                    }
                    Some(m) => match need {
                        ContentNeed::Offsets if !self.no_offsets => MessageContent::Offsets(
                            imap_proto::message::PartOffsets::parse(&m.bytes),
                        ),
                        ContentNeed::Header => {
                            let o = imap_proto::message::PartOffsets::parse(&m.bytes);
                            MessageContent::Header(bytes::Bytes::copy_from_slice(
                                &m.bytes[..o.body_start as usize],
                            ))
                        }
                        _ => MessageContent::Message {
                            bytes: bytes::Bytes::copy_from_slice(&m.bytes),
                            offsets: None,
                        },
                    },
                };
                s.respond_message(id, content).unwrap();
            }
            Event::WriteExternal { id, uid, range } => {
                self.log.push(format!("WriteExternal {uid} {range:?}"));
                let mb = &self.store.mailboxes[self.selected.as_ref().unwrap()];
                let m = &mb.messages[&uid.get()];
                let data = &m.bytes[range.start as usize..range.end as usize];
                for c in data.chunks(7) {
                    s.send_external_chunk(id, c).unwrap();
                    let mut buf = BytesMut::new();
                    while s.poll_transmit(&mut buf) {}
                    self.out.extend_from_slice(&buf);
                }
                s.finish_external(id).unwrap();
            }
            Event::Store {
                id,
                uids,
                action,
                flags,
                unchanged_since,
            } => {
                self.log.push(format!(
                    "Store {uids:?} {action:?} {flags:?} {unchanged_since:?}"
                ));
                let mb = self
                    .store
                    .mailboxes
                    .get_mut(self.selected.as_ref().unwrap())
                    .unwrap();
                let mut answer = StoreAnswer::default();
                for u in uids {
                    let Some(m) = mb.messages.get_mut(&u.get()) else {
                        continue;
                    };
                    if unchanged_since.is_some_and(|n| m.mod_seq > n) {
                        answer.modified.push(u);
                        continue;
                    }
                    match action {
                        StoreAction::Replace => m.flags = flags.clone(),
                        StoreAction::Add => {
                            for f in &flags {
                                if !m.flags.contains(f) {
                                    m.flags.push(f.clone());
                                }
                            }
                        }
                        StoreAction::Remove => m.flags.retain(|f| !flags.contains(f)),
                    }
                    mb.mod_seq += 1;
                    m.mod_seq = mb.mod_seq;
                    answer.updated.push(FlagUpdate {
                        uid: u,
                        flags: m.flags.clone(),
                        mod_seq: m.mod_seq,
                    });
                }
                s.respond_store(id, Ok(answer)).unwrap();
            }
            Event::Copy {
                id,
                uids,
                mailbox,
                is_move,
            } => {
                self.log.push(format!("Copy {uids:?} {mailbox} {is_move}"));
                if !self.store.mailboxes.contains_key(&mailbox) {
                    s.respond_copy(
                        id,
                        Err(RespText::with_code(Code::TryCreate, "No such mailbox")),
                    )
                    .unwrap();
                    return;
                }
                let src = self.selected.clone().unwrap();
                let mut source = Vec::new();
                let mut destination = Vec::new();
                for u in uids {
                    let Some(m) = self.store.mailboxes[&src].messages.get(&u.get()).cloned() else {
                        continue;
                    };
                    let sm = self.store.add(&mailbox, &m.bytes, m.flags.clone());
                    source.push(u);
                    destination.push(sm.uid);
                    if is_move {
                        self.store
                            .mailboxes
                            .get_mut(&src)
                            .unwrap()
                            .messages
                            .remove(&u.get());
                    }
                }
                let validity = self.store.mailboxes[&mailbox].uid_validity;
                s.respond_copy(
                    id,
                    Ok(CopyAnswer {
                        uid_validity: nz(validity),
                        source,
                        destination,
                    }),
                )
                .unwrap();
            }
            Event::Expunge { id, uids } => {
                self.log.push(format!("Expunge {uids:?}"));
                let mb = self
                    .store
                    .mailboxes
                    .get_mut(self.selected.as_ref().unwrap())
                    .unwrap();
                let mut gone = Vec::new();
                for u in uids {
                    if mb.messages.remove(&u.get()).is_some() {
                        gone.push(u);
                    }
                }
                s.respond_expunge(id, Ok(gone)).unwrap();
            }
            Event::Quota { id, mailbox } => {
                self.log.push(format!("Quota {mailbox:?}"));
                let answer = match mailbox {
                    Some(m) if !self.store.mailboxes.contains_key(&m) => Err(RespText::with_code(
                        Code::Unit(UnitCode::NonExistent),
                        "No such mailbox",
                    )),
                    _ => {
                        let all = || {
                            self.store
                                .mailboxes
                                .values()
                                .flat_map(|b| b.messages.values())
                        };
                        Ok(imap_proto::session::QuotaAnswer {
                            storage_used: all().map(|m| m.bytes.len() as u64).sum(),
                            storage_limit: self.store.quota.0,
                            messages_used: all().count() as u64,
                            message_limit: self.store.quota.1,
                        })
                    }
                };
                s.respond_quota(id, answer).unwrap();
            }
            // The store's changes were handed in with the write itself
            // (AppendEnd above); not logged, so that transcripts show the
            // store calls only.
            Event::Sync { id } => s.respond_sync(id).unwrap(),
            Event::IdleStarted => self.log.push("IdleStarted".into()),
            Event::IdleDone => self.log.push("IdleDone".into()),
            Event::SwitchTransport { kind, leftover } => {
                self.log.push(format!("Switch {kind:?} {}", leftover.len()));
                s.transport_switched(self.now);
                self.switched = true;
                self.switched_in_run = true;
            }
            other => panic!("unexpected event {other:?}"),
        }
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.session.handle_timeout(self.now);
        self.drain();
    }
}

/// The messages used by the transcripts.
pub const MSG1: &[u8] = b"From: Fred Foobar <foobar@Blurdybloop.example>\r\nSubject: afternoon meeting\r\nTo: mooch@owatagu.siam.edu.example\r\nMessage-Id: <B27397-0100000@Blurdybloop.example>\r\nMIME-Version: 1.0\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\nHello Joe, do you think we can meet at 3:30 tomorrow?\r\n";
pub const MSG2: &[u8] = b"From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: Lunch\r\nDate: Tue, 5 Mar 2024 10:20:30 +0100\r\n\r\nNoon?\r\n";

/// A store with INBOX holding MSG1 (seen) and MSG2.
pub fn store_with_two() -> Store {
    let mut st = Store::default();
    st.add("INBOX", MSG1, vec![Flag::Seen]);
    st.add("INBOX", MSG2, vec![]);
    for m in st.mailboxes.get_mut("INBOX").unwrap().messages.values_mut() {
        m.recent = false;
    }
    st
}
