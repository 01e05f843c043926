//! Encoding of commands.

use super::{AppendData, Command, CommandBody, StoreAction};
use crate::encode::{Encode, Encoder, paren, sp_sep};
use crate::types::{IString, NString};

impl Encode for Command {
    fn encode(&self, enc: &mut Encoder) {
        self.tag.encode(enc);
        enc.put(b" ");
        self.body.encode(enc);
        enc.put(b"\r\n");
    }
}

fn uid(enc: &mut Encoder, uid: bool) {
    if uid {
        enc.put(b"UID ");
    }
}

/// Writes `id_params_list`.
pub(crate) fn encode_id_params(enc: &mut Encoder, p: &Option<Vec<(IString, NString)>>) {
    match p {
        None => enc.put(b"NIL"),
        Some(v) => {
            enc.put(b"(");
            for (n, (k, val)) in v.iter().enumerate() {
                if n > 0 {
                    enc.put(b" ");
                }
                k.encode(enc);
                enc.put(b" ");
                val.encode(enc);
            }
            enc.put(b")");
        }
    }
}

impl Encode for AppendData {
    fn encode(&self, enc: &mut Encoder) {
        if self.utf8 {
            // RFC 6855 §4: `"UTF8" SP "(" literal8 ")"`.
            enc.put(b"UTF8 (");
            enc.literal(self.literal.data(), self.literal.mode(), true);
            enc.put(b")");
        } else {
            enc.literal(self.literal.data(), self.literal.mode(), self.binary);
        }
    }
}

impl Encode for CommandBody {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            CommandBody::Capability => enc.put(b"CAPABILITY"),
            CommandBody::Noop => enc.put(b"NOOP"),
            CommandBody::Logout => enc.put(b"LOGOUT"),
            CommandBody::StartTls => enc.put(b"STARTTLS"),
            CommandBody::Namespace => enc.put(b"NAMESPACE"),
            CommandBody::Idle => enc.put(b"IDLE"),
            CommandBody::Check => enc.put(b"CHECK"),
            CommandBody::Close => enc.put(b"CLOSE"),
            CommandBody::Unselect => enc.put(b"UNSELECT"),
            CommandBody::Expunge => enc.put(b"EXPUNGE"),
            CommandBody::Authenticate {
                mechanism,
                initial_response,
            } => {
                enc.put(b"AUTHENTICATE ");
                mechanism.encode(enc);
                if let Some(ir) = initial_response {
                    enc.put(b" ");
                    let data = ir.expose();
                    if data.is_empty() {
                        enc.put(b"=");
                    } else {
                        enc.put_str(&crate::core::encode_base64(data));
                    }
                }
            }
            CommandBody::Login { username, password } => {
                enc.put(b"LOGIN ");
                username.encode(enc);
                enc.put(b" ");
                password.expose().encode(enc);
            }
            CommandBody::Enable { capabilities } => {
                enc.put(b"ENABLE ");
                sp_sep(enc, capabilities);
            }
            CommandBody::Select {
                mailbox,
                parameters,
            }
            | CommandBody::Examine {
                mailbox,
                parameters,
            } => {
                enc.put(if matches!(self, CommandBody::Select { .. }) {
                    b"SELECT "
                } else {
                    b"EXAMINE "
                });
                mailbox.encode(enc);
                if !parameters.is_empty() {
                    enc.put(b" ");
                    paren(enc, parameters);
                }
            }
            CommandBody::Create {
                mailbox,
                special_use,
            } => {
                enc.put(b"CREATE ");
                mailbox.encode(enc);
                if let Some(attrs) = special_use {
                    enc.put(b" (USE ");
                    paren(enc, attrs);
                    enc.put(b")");
                }
            }
            CommandBody::Delete { mailbox } => {
                enc.put(b"DELETE ");
                mailbox.encode(enc);
            }
            CommandBody::Subscribe { mailbox } => {
                enc.put(b"SUBSCRIBE ");
                mailbox.encode(enc);
            }
            CommandBody::Unsubscribe { mailbox } => {
                enc.put(b"UNSUBSCRIBE ");
                mailbox.encode(enc);
            }
            CommandBody::Rename { from, to } => {
                enc.put(b"RENAME ");
                from.encode(enc);
                enc.put(b" ");
                to.encode(enc);
            }
            CommandBody::List {
                selection,
                reference,
                patterns,
                return_options,
            } => {
                enc.put(b"LIST ");
                if let Some(sel) = selection {
                    paren(enc, sel);
                    enc.put(b" ");
                }
                reference.encode(enc);
                enc.put(b" ");
                match patterns.as_slice() {
                    [one] => one.encode(enc),
                    many => paren(enc, many),
                }
                if let Some(ret) = return_options {
                    enc.put(b" RETURN ");
                    paren(enc, ret);
                }
            }
            CommandBody::Lsub { reference, pattern } => {
                enc.put(b"LSUB ");
                reference.encode(enc);
                enc.put(b" ");
                pattern.encode(enc);
            }
            CommandBody::Status {
                mailbox,
                attributes,
            } => {
                enc.put(b"STATUS ");
                mailbox.encode(enc);
                enc.put(b" ");
                paren(enc, attributes);
            }
            CommandBody::Append {
                mailbox,
                flags,
                date,
                message,
            } => {
                enc.put(b"APPEND ");
                mailbox.encode(enc);
                enc.put(b" ");
                if let Some(f) = flags {
                    paren(enc, f);
                    enc.put(b" ");
                }
                if let Some(d) = date {
                    d.encode(enc);
                    enc.put(b" ");
                }
                message.encode(enc);
            }
            CommandBody::UidExpunge { sequence_set } => {
                enc.put(b"UID EXPUNGE ");
                sequence_set.encode(enc);
            }
            CommandBody::Search {
                uid: u,
                return_options,
                charset,
                criteria,
            } => {
                uid(enc, *u);
                enc.put(b"SEARCH ");
                if let Some(r) = return_options {
                    enc.put(b"RETURN ");
                    paren(enc, r);
                    enc.put(b" ");
                }
                if let Some(c) = charset {
                    enc.put(b"CHARSET ");
                    c.encode(enc);
                    enc.put(b" ");
                }
                sp_sep(enc, criteria);
            }
            CommandBody::GetQuota { root } => {
                enc.put(b"GETQUOTA ");
                root.encode(enc);
            }
            CommandBody::GetQuotaRoot { mailbox } => {
                enc.put(b"GETQUOTAROOT ");
                mailbox.encode(enc);
            }
            CommandBody::SetQuota { root, limits } => {
                enc.put(b"SETQUOTA ");
                root.encode(enc);
                enc.put(b" (");
                for (n, (name, limit)) in limits.iter().enumerate() {
                    if n > 0 {
                        enc.put(b" ");
                    }
                    name.encode(enc);
                    enc.put(b" ");
                    enc.put_num(limit);
                }
                enc.put(b")");
            }
            CommandBody::Sort {
                uid: u,
                return_options,
                criteria,
                charset,
                search,
            } => {
                uid(enc, *u);
                enc.put(b"SORT ");
                if let Some(r) = return_options {
                    enc.put(b"RETURN ");
                    paren(enc, r);
                    enc.put(b" ");
                }
                paren(enc, criteria);
                enc.put(b" ");
                charset.encode(enc);
                enc.put(b" ");
                sp_sep(enc, search);
            }
            CommandBody::Notify(args) => {
                enc.put(b"NOTIFY ");
                args.encode(enc);
            }
            CommandBody::CancelUpdate { tags } => {
                enc.put(b"CANCELUPDATE");
                for t in tags {
                    enc.put(b" ");
                    t.encode(enc);
                }
            }
            CommandBody::Thread {
                uid: u,
                algorithm,
                charset,
                search,
            } => {
                uid(enc, *u);
                enc.put(b"THREAD ");
                algorithm.encode(enc);
                enc.put(b" ");
                charset.encode(enc);
                enc.put(b" ");
                sp_sep(enc, search);
            }
            CommandBody::Fetch {
                uid: u,
                sequence_set,
                attributes,
                modifiers,
            } => {
                uid(enc, *u);
                enc.put(b"FETCH ");
                sequence_set.encode(enc);
                enc.put(b" ");
                attributes.encode(enc);
                if !modifiers.is_empty() {
                    enc.put(b" ");
                    paren(enc, modifiers);
                }
            }
            CommandBody::Store {
                uid: u,
                sequence_set,
                unchanged_since,
                action,
                silent,
                flags,
            } => {
                uid(enc, *u);
                enc.put(b"STORE ");
                sequence_set.encode(enc);
                if let Some(n) = unchanged_since {
                    enc.put(b" (UNCHANGEDSINCE ");
                    enc.put_num(n);
                    enc.put(b")");
                }
                enc.put(match action {
                    StoreAction::Replace => b" FLAGS",
                    StoreAction::Add => b" +FLAGS",
                    StoreAction::Remove => b" -FLAGS",
                });
                if *silent {
                    enc.put(b".SILENT");
                }
                enc.put(b" ");
                paren(enc, flags);
            }
            CommandBody::Copy {
                uid: u,
                sequence_set,
                mailbox,
            }
            | CommandBody::Move {
                uid: u,
                sequence_set,
                mailbox,
            } => {
                uid(enc, *u);
                enc.put(if matches!(self, CommandBody::Copy { .. }) {
                    b"COPY "
                } else {
                    b"MOVE "
                });
                sequence_set.encode(enc);
                enc.put(b" ");
                mailbox.encode(enc);
            }
            CommandBody::Id { parameters } => {
                enc.put(b"ID ");
                encode_id_params(enc, parameters);
            }
            CommandBody::Compress { algorithm } => super::compress::encode_compress(enc, algorithm),
            CommandBody::GenUrlAuth { urls } => super::urlauth::encode_genurlauth(enc, urls),
            CommandBody::ResetKey {
                mailbox,
                mechanisms,
            } => super::urlauth::encode_resetkey(enc, mailbox, mechanisms),
            CommandBody::UrlFetch { urls } => super::urlauth::encode_urlfetch(enc, urls),
        }
    }
}
