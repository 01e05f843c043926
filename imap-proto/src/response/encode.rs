//! Encoding of responses.

use super::{
    Condition, Continue, Data, Delimiter, ESearchItem, ListItem, NamespaceDescr, RespText,
    Response, Status, StatusItem,
};
use crate::encode::{Encode, Encoder, Version, paren, sp_sep};
use crate::types::MailboxAttribute;

impl Encode for RespText {
    fn encode(&self, enc: &mut Encoder) {
        if let Some(c) = &self.code {
            enc.put(b"[");
            c.encode(enc);
            enc.put(b"]");
            if !self.text.as_str().is_empty() {
                enc.put(b" ");
            }
        }
        enc.put_str(self.text.as_str());
    }
}

impl Encode for Condition {
    fn encode(&self, enc: &mut Encoder) {
        enc.put(match self {
            Condition::Ok => b"OK",
            Condition::No => b"NO",
            Condition::Bad => b"BAD",
        });
    }
}

impl Encode for Delimiter {
    fn encode(&self, enc: &mut Encoder) {
        let mut buf = [0u8; 4];
        let s = self.get().encode_utf8(&mut buf);
        enc.put(b"\"");
        if s == "\"" || s == "\\" {
            enc.put(b"\\");
        }
        enc.put_str(s);
        enc.put(b"\"");
    }
}

fn encode_delimiter(enc: &mut Encoder, d: &Option<Delimiter>) {
    match d {
        Some(d) => d.encode(enc),
        None => enc.put(b"NIL"),
    }
}

impl Encode for ListItem {
    fn encode(&self, enc: &mut Encoder) {
        paren(enc, &self.attributes);
        enc.put(b" ");
        encode_delimiter(enc, &self.delimiter);
        enc.put(b" ");
        self.mailbox.encode(enc);
        if !self.extended.is_empty() {
            enc.put(b" (");
            for (n, (t, v)) in self.extended.iter().enumerate() {
                if n > 0 {
                    enc.put(b" ");
                }
                t.encode(enc);
                enc.put(b" ");
                v.encode(enc);
            }
            enc.put(b")");
        }
    }
}

impl Encode for StatusItem {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            StatusItem::Messages(n) => {
                enc.put(b"MESSAGES ");
                enc.put_num(n)
            }
            StatusItem::Recent(n) => {
                enc.put(b"RECENT ");
                enc.put_num(n)
            }
            StatusItem::UidNext(n) => {
                enc.put(b"UIDNEXT ");
                enc.put_num(n)
            }
            StatusItem::UidValidity(n) => {
                enc.put(b"UIDVALIDITY ");
                enc.put_num(n)
            }
            StatusItem::Unseen(n) => {
                enc.put(b"UNSEEN ");
                enc.put_num(n)
            }
            StatusItem::Deleted(n) => {
                enc.put(b"DELETED ");
                enc.put_num(n)
            }
            StatusItem::Size(n) => {
                enc.put(b"SIZE ");
                enc.put_num(n)
            }
            StatusItem::DeletedStorage(n) => {
                enc.put(b"DELETED-STORAGE ");
                enc.put_num(n)
            }
            StatusItem::HighestModSeq(n) => {
                enc.put(b"HIGHESTMODSEQ ");
                enc.put_num(n)
            }
            StatusItem::MailboxId(id) => {
                enc.put(b"MAILBOXID (");
                id.encode(enc);
                enc.put(b")");
            }
            StatusItem::AppendLimit(n) => {
                enc.put(b"APPENDLIMIT ");
                match n {
                    Some(n) => enc.put_num(n),
                    None => enc.put(b"NIL"),
                }
            }
        }
    }
}

impl Encode for ESearchItem {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            ESearchItem::Min(n) => {
                enc.put(b"MIN ");
                enc.put_num(n)
            }
            ESearchItem::Max(n) => {
                enc.put(b"MAX ");
                enc.put_num(n)
            }
            ESearchItem::All(s) => {
                enc.put(b"ALL ");
                s.encode(enc)
            }
            ESearchItem::Count(n) => {
                enc.put(b"COUNT ");
                enc.put_num(n)
            }
            ESearchItem::ModSeq(n) => {
                enc.put(b"MODSEQ ");
                enc.put_num(n)
            }
            ESearchItem::Partial { range, results } => {
                enc.put(b"PARTIAL (");
                range.encode(enc);
                enc.put(b" ");
                match results {
                    Some(s) => s.encode(enc),
                    None => enc.put(b"NIL"),
                }
                enc.put(b")");
            }
            ESearchItem::AddTo(pairs) => {
                enc.put(b"ADDTO ");
                encode_positions(enc, pairs);
            }
            ESearchItem::RemoveFrom(pairs) => {
                enc.put(b"REMOVEFROM ");
                encode_positions(enc, pairs);
            }
        }
    }
}

/// `"(" context-position SP sequence-set *(SP context-position SP sequence-set) ")"`
fn encode_positions(enc: &mut Encoder, pairs: &[(u32, crate::types::SequenceSet)]) {
    enc.put(b"(");
    for (n, (pos, set)) in pairs.iter().enumerate() {
        if n > 0 {
            enc.put(b" ");
        }
        enc.put_num(pos);
        enc.put(b" ");
        set.encode(enc);
    }
    enc.put(b")");
}

fn encode_namespace(enc: &mut Encoder, ns: &Option<Vec<NamespaceDescr>>) {
    let Some(v) = ns else {
        enc.put(b"NIL");
        return;
    };
    enc.put(b"(");
    for d in v {
        enc.put(b"(");
        d.prefix.encode(enc);
        enc.put(b" ");
        encode_delimiter(enc, &d.delimiter);
        for (k, vals) in &d.extensions {
            enc.put(b" ");
            k.encode(enc);
            enc.put(b" ");
            paren(enc, vals);
        }
        enc.put(b")");
    }
    enc.put(b")");
}

impl Encode for Data {
    fn encode(&self, enc: &mut Encoder) {
        match self {
            Data::Capability(v) => {
                enc.put(b"CAPABILITY ");
                sp_sep(enc, v);
            }
            Data::Enabled(v) => {
                enc.put(b"ENABLED");
                for c in v {
                    enc.put(b" ");
                    c.encode(enc);
                }
            }
            Data::Flags(v) => {
                enc.put(b"FLAGS ");
                paren(enc, v);
            }
            Data::List(l) => {
                enc.put(b"LIST ");
                l.encode(enc);
            }
            // IMAP4rev2 has no LSUB (RFC 9051 §6.3.9 folds it into
            // LIST (SUBSCRIBED)); the same mailbox goes out as LIST with
            // \Subscribed.
            Data::Lsub(l) if enc.version() == Version::Rev2 => {
                enc.put(b"LIST ");
                let mut l = l.clone();
                if !l.attributes.contains(&MailboxAttribute::Subscribed) {
                    l.attributes.push(MailboxAttribute::Subscribed);
                }
                l.encode(enc);
            }
            Data::Lsub(l) => {
                enc.put(b"LSUB ");
                l.encode(enc);
            }
            Data::Search { ids, mod_seq } => {
                enc.put(b"SEARCH");
                for n in ids {
                    enc.put(b" ");
                    enc.put_num(n);
                }
                if let Some(m) = mod_seq {
                    enc.put(b" (MODSEQ ");
                    enc.put_num(m);
                    enc.put(b")");
                }
            }
            Data::ESearch {
                correlator,
                uid,
                items,
            } => {
                enc.put(b"ESEARCH");
                if let Some(t) = correlator {
                    enc.put(b" (TAG \"");
                    t.encode(enc);
                    enc.put(b"\")");
                }
                if *uid {
                    enc.put(b" UID");
                }
                for it in items {
                    enc.put(b" ");
                    it.encode(enc);
                }
            }
            Data::Sort { ids, mod_seq } => {
                enc.put(b"SORT");
                for n in ids {
                    enc.put(b" ");
                    enc.put_num(n);
                }
                if let Some(m) = mod_seq {
                    enc.put(b" (MODSEQ ");
                    enc.put_num(m);
                    enc.put(b")");
                }
            }
            Data::Thread(threads) => {
                enc.put(b"THREAD");
                if !threads.is_empty() {
                    enc.put(b" ");
                }
                for t in threads {
                    super::thread::encode_thread(enc, t);
                }
            }
            Data::Quota { root, resources } => {
                enc.put(b"QUOTA ");
                root.encode(enc);
                enc.put(b" (");
                for (n, r) in resources.iter().enumerate() {
                    if n > 0 {
                        enc.put(b" ");
                    }
                    r.name.encode(enc);
                    enc.put(b" ");
                    enc.put_num(r.usage);
                    enc.put(b" ");
                    enc.put_num(r.limit);
                }
                enc.put(b")");
            }
            Data::QuotaRoot { mailbox, roots } => {
                enc.put(b"QUOTAROOT ");
                mailbox.encode(enc);
                for r in roots {
                    enc.put(b" ");
                    r.encode(enc);
                }
            }
            Data::Status { mailbox, items } => {
                enc.put(b"STATUS ");
                mailbox.encode(enc);
                enc.put(b" ");
                // STATUS RECENT does not exist in IMAP4rev2 (RFC 9051 Appendix E).
                let items: Vec<StatusItem> = items
                    .iter()
                    .filter(|i| {
                        enc.version() == Version::Rev1 || !matches!(i, StatusItem::Recent(_))
                    })
                    .cloned()
                    .collect();
                paren(enc, &items);
            }
            Data::Exists(n) => {
                enc.put_num(n);
                enc.put(b" EXISTS");
            }
            Data::Recent(n) => {
                enc.put_num(n);
                enc.put(b" RECENT");
            }
            Data::Expunge(n) => {
                enc.put_num(n);
                enc.put(b" EXPUNGE");
            }
            Data::Fetch { seq, items } => {
                enc.put_num(seq);
                enc.put(b" FETCH ");
                paren(enc, items);
            }
            Data::Namespace {
                personal,
                other,
                shared,
            } => {
                enc.put(b"NAMESPACE ");
                encode_namespace(enc, personal);
                enc.put(b" ");
                encode_namespace(enc, other);
                enc.put(b" ");
                encode_namespace(enc, shared);
            }
            Data::Id(p) => {
                enc.put(b"ID ");
                crate::command::encode_id_params(enc, p);
            }
            Data::GenUrlAuth(urls) => {
                enc.put(b"GENURLAUTH");
                for u in urls {
                    enc.put(b" ");
                    u.encode(enc);
                }
            }
            Data::UrlFetch(items) => {
                enc.put(b"URLFETCH");
                for (u, data) in items {
                    enc.put(b" ");
                    u.encode(enc);
                    enc.put(b" ");
                    data.encode(enc);
                }
            }
            Data::Vanished { earlier, uids } => {
                enc.put(b"VANISHED ");
                if *earlier {
                    enc.put(b"(EARLIER) ");
                }
                uids.encode(enc);
            }
        }
    }
}

impl Encode for Response {
    fn encode(&self, enc: &mut Encoder) {
        // `* n RECENT` does not exist in IMAP4rev2 (RFC 9051 Appendix E):
        // nothing is written.
        if enc.version() == Version::Rev2 && matches!(self, Response::Data(Data::Recent(_))) {
            return;
        }
        match self {
            Response::Continue(Continue(t)) => {
                enc.put(b"+ ");
                t.encode(enc);
            }
            Response::Data(d) => {
                enc.put(b"* ");
                d.encode(enc);
            }
            Response::Status(Status::Tagged {
                tag,
                condition,
                text,
            }) => {
                tag.encode(enc);
                enc.put(b" ");
                condition.encode(enc);
                enc.put(b" ");
                text.encode(enc);
            }
            Response::Status(Status::Untagged { condition, text }) => {
                enc.put(b"* ");
                condition.encode(enc);
                enc.put(b" ");
                text.encode(enc);
            }
            Response::Status(Status::PreAuth(t)) => {
                enc.put(b"* PREAUTH ");
                t.encode(enc);
            }
            Response::Status(Status::Bye(t)) => {
                enc.put(b"* BYE ");
                t.encode(enc);
            }
        }
        enc.put(b"\r\n");
    }
}
