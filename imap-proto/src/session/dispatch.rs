//! Command dispatch: state checks, the commands the session answers
//! itself, and the events and answers of the storage commands.

use super::messages::deleted_uids;
use super::pending::{ListRequest, Pending};
use super::{Event, MailboxOp, ServerSession, SessionState, Wait};
use crate::response::{
    Code, Data, Delimiter, NamespaceDescr, RespText, Response, Status, UnitCode,
};
use crate::types::{Capability, IString, Mailbox, NString, SequenceSet, Tag};
use crate::{Command, CommandBody, Version};
use std::num::NonZeroU32;

impl ServerSession {
    /// Ends a command with OK after sending pending updates.
    /// A live context (RFC 5267 §4.3) may first read the messages this
    /// flush announced ([`context_read_next`](Self::context_read_next)).
    pub(super) fn complete(&mut self, tag: Tag, expunge: bool, code: Option<Code>, text: &str) {
        self.flush_updates(expunge);
        let done = super::pending::Completion {
            tag,
            expunge,
            code,
            text: text.to_owned(),
        };
        if let Err(done) = self.context_read_next(0, done) {
            self.ok(done.tag, done.code, &done.text);
        }
    }

    /// A name from the wire as UTF-8 (modified UTF-7 decoded for
    /// IMAP4rev1 unless UTF8=ACCEPT is enabled).
    pub(super) fn name_of(&self, m: &Mailbox) -> Option<String> {
        m.to_utf8(self.names())
    }

    /// How mailbox names travel on this connection: [`Version::Rev2`]
    /// means UTF-8, for IMAP4rev2 (RFC 9051 §5.1) and for an IMAP4rev1
    /// session that ENABLEd UTF8=ACCEPT (RFC 6855 §3).
    pub(super) fn names(&self) -> Version {
        if self.enabled.utf8 {
            Version::Rev2
        } else {
            self.version
        }
    }

    pub(super) fn command(&mut self, bytes: &[u8]) {
        if super::append::is_append(bytes) {
            self.append_start(bytes.to_vec(), None);
            return;
        }
        match Command::parse_with_limits(bytes, &self.config.limits) {
            Ok(cmd) => self.dispatch(cmd),
            Err(e) => match e.tag {
                Some(tag) => self.bad(tag, "Syntax error in command"),
                None => {
                    self.bad_commands += 1;
                    self.send(&Response::Status(Status::bad(
                        None,
                        None,
                        "Missing or invalid tag",
                    )));
                    if self.bad_commands >= self.config.limits.max_bad_commands {
                        self.send(&Response::Status(Status::bye(
                            None,
                            "Too many invalid commands",
                        )));
                        self.close();
                    }
                }
            },
        }
    }

    fn dispatch(&mut self, cmd: Command) {
        use CommandBody as B;
        let tag = cmd.tag;
        let authed = self.state != SessionState::NotAuthenticated;
        let selected = self.selected.is_some();
        // RFC 9051 §3: commands valid only in some states.
        let needs_auth = !matches!(
            cmd.body,
            B::Capability
                | B::Noop
                | B::Logout
                | B::StartTls
                | B::Authenticate { .. }
                | B::Login { .. }
                | B::Id { .. }
        );
        let needs_selected = matches!(
            cmd.body,
            B::Check
                | B::Close
                | B::Unselect
                | B::Expunge
                | B::UidExpunge { .. }
                | B::Search { .. }
                | B::Sort { .. }
                | B::CancelUpdate { .. }
                | B::Thread { .. }
                | B::Fetch { .. }
                | B::Store { .. }
                | B::Copy { .. }
                | B::Move { .. }
        );
        if needs_auth && !authed {
            self.bad(tag, "Log in first");
            return;
        }
        if needs_selected && !selected {
            self.bad(tag, "No mailbox selected");
            return;
        }
        match cmd.body {
            B::Capability => {
                let caps = self.capabilities();
                self.send(&Response::Data(Data::Capability(caps)));
                self.complete(tag, true, None, "CAPABILITY completed");
            }
            B::Noop => self.complete(tag, true, None, "NOOP completed"),
            B::Check => self.complete(tag, true, None, "CHECK completed"),
            B::Logout => {
                self.send(&Response::Status(Status::bye(None, "Logging out")));
                self.ok(tag, None, "LOGOUT completed");
                self.selected = None;
                self.close();
            }
            B::StartTls => {
                if authed || self.tls_active || !self.offers(&Capability::StartTls) {
                    self.bad(tag, "STARTTLS not available");
                    return;
                }
                self.ok(tag, None, "Begin TLS negotiation now");
                // RFC 9051 §6.2.1: nothing pipelined after STARTTLS is
                // read (command injection); the framer forgets it all.
                self.framer =
                    crate::framer::Framer::new(crate::framer::Role::Server, self.config.limits);
                self.wait = Wait::Switch {
                    emitted: false,
                    kind: super::TransportKind::StartTls,
                };
            }
            B::Login { username, password } => {
                if authed {
                    self.bad(tag, "Already authenticated");
                    return;
                }
                let pass = password.into_inner();
                self.login_command(tag, username.as_bytes(), pass.as_bytes());
            }
            B::Authenticate {
                mechanism,
                initial_response,
            } => {
                if authed {
                    self.bad(tag, "Already authenticated");
                    return;
                }
                self.authenticate_command(tag, &mechanism, initial_response);
            }
            B::Id { .. } => {
                let params = self.config.id.as_ref().map(|v| {
                    v.iter()
                        .filter_map(|(k, v)| {
                            Some((
                                IString::from_bytes(k.as_bytes()).ok()?,
                                NString::String(IString::from_bytes(v.as_bytes()).ok()?),
                            ))
                        })
                        .collect()
                });
                self.send(&Response::Data(Data::Id(params)));
                self.complete(tag, true, None, "ID completed");
            }
            B::Enable { capabilities } => self.enable(tag, capabilities),
            B::Compress { algorithm } => self.compress(tag, &algorithm),
            B::GenUrlAuth { urls } if self.offers(&Capability::UrlAuth) => {
                self.genurlauth(tag, urls)
            }
            B::ResetKey {
                mailbox,
                mechanisms,
            } if self.offers(&Capability::UrlAuth) => self.resetkey(tag, mailbox, mechanisms),
            B::UrlFetch { urls } if self.offers(&Capability::UrlAuth) => self.urlfetch(tag, urls),
            B::GenUrlAuth { .. } | B::ResetKey { .. } | B::UrlFetch { .. } => {
                self.bad(tag, "URLAUTH not available")
            }
            B::Namespace => {
                let personal = NamespaceDescr {
                    prefix: IString::from_bytes(b"").unwrap_or_else(|_| unreachable!()),
                    delimiter: Delimiter::new(self.config.delimiter),
                    extensions: Vec::new(),
                };
                self.send(&Response::Data(Data::Namespace {
                    personal: Some(vec![personal]),
                    other: None,
                    shared: None,
                }));
                self.complete(tag, true, None, "NAMESPACE completed");
            }
            B::Select {
                mailbox,
                parameters,
            } => self.select(tag, &mailbox, parameters, false),
            B::Examine {
                mailbox,
                parameters,
            } => self.select(tag, &mailbox, parameters, true),
            B::Unselect => {
                self.selected = None;
                self.state = SessionState::Authenticated;
                self.ok(tag, None, "UNSELECT completed");
            }
            B::Close => {
                let Some(sel) = self.selected.as_ref() else {
                    return;
                };
                let uids = if sel.read_only {
                    Vec::new()
                } else {
                    deleted_uids(&sel.view, None)
                };
                if uids.is_empty() {
                    self.selected = None;
                    self.state = SessionState::Authenticated;
                    self.ok(tag, None, "CLOSE completed");
                    return;
                }
                self.ask(
                    |id| Event::Expunge { id, uids },
                    Pending::Expunge {
                        tag,
                        close: true,
                        uid: false,
                    },
                );
            }
            B::Expunge => self.expunge(tag, None),
            B::UidExpunge { sequence_set } => self.expunge(tag, Some(sequence_set)),
            B::Create {
                mailbox,
                special_use,
            } => {
                let Some(mut name) = self.new_name(&tag, &mailbox) else {
                    return;
                };
                // RFC 9051 §6.3.4: a trailing hierarchy delimiter declares
                // that children will follow; this store needs no such
                // declaration, so it creates the name without it.
                if name.len() > self.config.delimiter.len_utf8()
                    && let Some(stripped) = name.strip_suffix(self.config.delimiter)
                {
                    name = stripped.to_owned();
                }
                let op = MailboxOp::Create {
                    name,
                    special_use: special_use.unwrap_or_default(),
                };
                self.ask(|id| Event::Mailbox { id, op }, Pending::Mailbox { tag });
            }
            B::Delete { mailbox } => {
                self.mailbox_op(tag, &mailbox, |name| MailboxOp::Delete { name })
            }
            B::Subscribe { mailbox } => {
                self.mailbox_op(tag, &mailbox, |name| MailboxOp::Subscribe { name })
            }
            B::Unsubscribe { mailbox } => {
                self.mailbox_op(tag, &mailbox, |name| MailboxOp::Unsubscribe { name })
            }
            B::Rename { from, to } => {
                let Some(from) = self.valid_name(&tag, &from) else {
                    return;
                };
                let Some(to) = self.new_name(&tag, &to) else {
                    return;
                };
                self.ask(
                    |id| Event::Mailbox {
                        id,
                        op: MailboxOp::Rename { from, to },
                    },
                    Pending::Mailbox { tag },
                );
            }
            B::List {
                selection,
                reference,
                patterns,
                return_options,
            } => {
                let request = ListRequest::list(
                    self,
                    selection.unwrap_or_default(),
                    &reference,
                    &patterns,
                    return_options.unwrap_or_default(),
                );
                match request {
                    Ok(request) => self.start_list(tag, request),
                    Err(text) => self.bad(tag, text),
                }
            }
            B::Lsub { reference, pattern } => {
                let request = ListRequest::lsub(self, &reference, &pattern);
                self.start_list(tag, request);
            }
            B::Status {
                mailbox,
                attributes,
            } => {
                let Some(name) = self.valid_name(&tag, &mailbox) else {
                    return;
                };
                self.ask(
                    |id| Event::Status { id, mailbox: name },
                    Pending::Status {
                        tag,
                        mailbox,
                        attributes,
                    },
                );
            }
            // APPEND is read item by item before parsing (`append.rs`):
            // a parsed one cannot get here.
            B::Append { .. } => self.bad(tag, "Syntax error in command"),
            B::Idle => {
                self.flush_updates(true);
                self.send(&Response::Continue(crate::response::Continue(
                    RespText::plain("idling"),
                )));
                self.events.push_back(Event::IdleStarted);
                self.wait = Wait::Idle { tag };
            }
            B::Fetch {
                uid,
                sequence_set,
                attributes,
                modifiers,
            } => self.start_fetch(tag, uid, &sequence_set, attributes, modifiers),
            // RFC 6855 §3: after ENABLE UTF8=ACCEPT a SEARCH must not name
            // a charset; such a SEARCH is answered BAD.
            B::Search {
                charset: Some(_), ..
            } if self.enabled.utf8 => {
                self.bad(tag, "No CHARSET after ENABLE UTF8=ACCEPT");
            }
            B::Search {
                uid,
                return_options,
                charset,
                criteria,
            } => self.start_search(
                tag,
                uid,
                super::pending::Report::Search(return_options),
                charset,
                criteria,
            ),
            B::GetQuota { root } => self.get_quota(tag, root),
            B::GetQuotaRoot { mailbox } => self.get_quota_root(tag, mailbox),
            B::SetQuota { .. } => self.set_quota(tag),
            B::Sort {
                uid,
                return_options,
                criteria,
                charset,
                search,
            } => self.start_search(
                tag,
                uid,
                super::pending::Report::Sort(criteria, return_options),
                Some(charset),
                search,
            ),
            B::CancelUpdate { tags } => self.cancel_update(tag, &tags),
            B::Notify(args) => self.notify_command(tag, args),
            B::Thread {
                uid,
                algorithm,
                charset,
                search,
            } => self.start_search(
                tag,
                uid,
                super::pending::Report::Thread(algorithm),
                Some(charset),
                search,
            ),
            B::Store {
                uid,
                sequence_set,
                unchanged_since,
                action,
                silent,
                flags,
            } => self.store(
                tag,
                uid,
                &sequence_set,
                unchanged_since,
                action,
                silent,
                flags,
            ),
            B::Copy {
                uid,
                sequence_set,
                mailbox,
            } => self.copy(tag, uid, &sequence_set, &mailbox, false),
            B::Move {
                uid,
                sequence_set,
                mailbox,
            } => self.copy(tag, uid, &sequence_set, &mailbox, true),
        }
    }

    /// The UTF-8 name of a mailbox the command names as existing. A name
    /// that is syntactically valid but cannot name a mailbox (empty, or
    /// not valid modified UTF-7 such as an atom with a stray `&`) is
    /// answered `NO [NONEXISTENT]`: the command was well-formed, so BAD
    /// would be wrong (RFC 9051 §7.1).
    pub(super) fn valid_name(&mut self, tag: &Tag, m: &Mailbox) -> Option<String> {
        match self.name_of(m) {
            Some(n) if !n.is_empty() => Some(n),
            _ => {
                let text =
                    RespText::with_code(Code::Unit(UnitCode::NonExistent), "No such mailbox");
                self.no(tag.clone(), text);
                None
            }
        }
    }

    /// The UTF-8 name for a mailbox to be created (CREATE, RENAME's
    /// target): `NO [CANNOT]` when no mailbox can have it.
    pub(super) fn new_name(&mut self, tag: &Tag, m: &Mailbox) -> Option<String> {
        match self.name_of(m) {
            Some(n) if !n.is_empty() => Some(n),
            _ => {
                let text =
                    RespText::with_code(Code::Unit(UnitCode::Cannot), "Invalid mailbox name");
                self.no(tag.clone(), text);
                None
            }
        }
    }

    pub(super) fn mailbox_op(
        &mut self,
        tag: Tag,
        m: &Mailbox,
        op: impl FnOnce(String) -> MailboxOp,
    ) {
        let Some(name) = self.valid_name(&tag, m) else {
            return;
        };
        let op = op(name);
        self.ask(|id| Event::Mailbox { id, op }, Pending::Mailbox { tag });
    }

    fn enable(&mut self, tag: Tag, caps: Vec<Capability>) {
        let mut enabled = Vec::new();
        for c in caps {
            let offered = self.offers(&c);
            if !offered {
                continue;
            }
            match c {
                Capability::CondStore if !self.enabled.condstore => {
                    self.enabled.condstore = true;
                    enabled.push(c);
                }
                Capability::QResync if !self.enabled.qresync => {
                    // RFC 7162 §3.2.3: QRESYNC implies CONDSTORE.
                    self.enabled.qresync = true;
                    self.enabled.condstore = true;
                    enabled.push(c);
                }
                Capability::Imap4Rev2 if self.version != Version::Rev2 => {
                    enabled.push(c);
                }
                // RFC 6855 §3: from now on names travel in UTF-8, also
                // under IMAP4rev1.
                Capability::Utf8Accept if !self.enabled.utf8 => {
                    self.enabled.utf8 = true;
                    enabled.push(c);
                }
                _ => {}
            }
        }
        // ENABLED goes out in the old encoding; IMAP4rev2 applies after.
        self.send(&Response::Data(Data::Enabled(enabled.clone())));
        if enabled.contains(&Capability::Imap4Rev2) {
            self.version = Version::Rev2;
        }
        self.complete(tag, true, None, "ENABLE completed");
    }

    /// A line while idling: `DONE` ends IDLE (RFC 2177 §3).
    pub(super) fn idle_line(&mut self, tag: Tag, line: &[u8]) {
        self.events.push_back(Event::IdleDone);
        if crate::command::is_idle_done(line) || line.eq_ignore_ascii_case(b"DONE\n") {
            self.complete(tag, true, None, "IDLE terminated");
        } else {
            self.bad(tag, "Expected DONE");
        }
    }

    /// The UIDs a sequence set names, `$` resolved to the saved result.
    pub(super) fn resolve(
        &mut self,
        tag: &Tag,
        set: &SequenceSet,
        uid: bool,
    ) -> Option<Vec<(NonZeroU32, NonZeroU32)>> {
        let sel = self.selected.as_ref()?;
        if set.is_search_result() {
            let saved = &self.saved_search;
            return Some(
                sel.view
                    .iter()
                    .filter(|(_, m)| saved.binary_search(&m.uid).is_ok())
                    .map(|(s, m)| (s, m.uid))
                    .collect(),
            );
        }
        match sel.view.resolve(set, uid) {
            Ok(v) => Some(v),
            Err(_) => {
                self.bad(tag.clone(), "Invalid message sequence number");
                None
            }
        }
    }
}
