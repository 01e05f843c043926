//! URLAUTH (RFC 4467): GENURLAUTH, RESETKEY and URLFETCH.
//!
//! The session checks the syntax (each URL through [`ImapUrl::parse`],
//! the mechanism) and formats the answers; the adapter owns the mailbox
//! access keys, computes and checks the tokens, and reads the messages.
//! Only the `INTERNAL` mechanism exists (RFC 4467 §7).

use super::pending::{Pending, UrlAuthOp};
use super::{Event, RequestId, ServerSession};
use crate::response::{Data, RespText, Response};
use crate::types::{AString, Atom, IString, Mailbox, NString, Quoted, Tag};
use crate::url::ImapUrl;
use bytes::Bytes;

/// The one URL authorization mechanism (RFC 4467 §7).
fn internal(m: &Atom) -> bool {
    m.as_str().eq_ignore_ascii_case("INTERNAL")
}

/// A URL as a quoted string (as in RFC 4467's examples), a literal if it
/// cannot be quoted.
fn url_string(url: &str) -> IString {
    match Quoted::try_from(url) {
        Ok(q) => IString::Quoted(q),
        Err(_) => IString::from_bytes(url.as_bytes()).unwrap_or_else(|_| {
            IString::Quoted(Quoted::try_from("").unwrap_or_else(|_| unreachable!()))
        }),
    }
}

impl ServerSession {
    /// `GENURLAUTH` (RFC 4467 §6.1): every URL must be a rump (a
    /// `;URLAUTH=` component, no verifier yet) and every mechanism
    /// `INTERNAL`, else BAD; the adapter decides whether this user may
    /// authorize it.
    pub(super) fn genurlauth(&mut self, tag: Tag, urls: Vec<(AString, Atom)>) {
        let mut parsed = Vec::with_capacity(urls.len());
        for (url, mech) in &urls {
            if !internal(mech) {
                self.bad(tag, "Unsupported URLAUTH mechanism");
                return;
            }
            let url = match url.as_str().map(ImapUrl::parse) {
                Some(Ok(u)) if u.token.is_none() => u,
                _ => {
                    self.bad(tag, "Invalid URLAUTH rump URL");
                    return;
                }
            };
            parsed.push(url);
        }
        self.ask(
            |id| Event::GenUrlAuth { id, urls: parsed },
            Pending::UrlAuth {
                tag,
                op: UrlAuthOp::Generate,
            },
        );
    }

    /// `RESETKEY [mailbox *mechanism]` (RFC 4467 §6.2).
    pub(super) fn resetkey(&mut self, tag: Tag, mailbox: Option<Mailbox>, mechs: Vec<Atom>) {
        if !mechs.iter().all(internal) {
            self.bad(tag, "Unsupported URLAUTH mechanism");
            return;
        }
        let name = match mailbox {
            Some(m) => match self.valid_name(&tag, &m) {
                Some(n) => Some(n),
                None => return,
            },
            None => None,
        };
        self.ask(
            |id| Event::ResetKey { id, mailbox: name },
            Pending::UrlAuth {
                tag,
                op: UrlAuthOp::ResetKey,
            },
        );
    }

    /// `URLFETCH url...` (RFC 4467 §6.3): the adapter checks each URL.
    pub(super) fn urlfetch(&mut self, tag: Tag, urls: Vec<AString>) {
        let urls: Vec<String> = urls
            .iter()
            .map(|u| String::from_utf8_lossy(u.as_bytes()).into_owned())
            .collect();
        let asked = urls.clone();
        self.ask(
            |id| Event::UrlFetch { id, urls: asked },
            Pending::UrlAuth {
                tag,
                op: UrlAuthOp::Fetch(urls),
            },
        );
    }

    fn take_urlauth(
        &mut self,
        id: RequestId,
        want: fn(&UrlAuthOp) -> bool,
    ) -> Option<(Tag, UrlAuthOp)> {
        match self.take_pending(id, |p| matches!(p, Pending::UrlAuth { op, .. } if want(op))) {
            Some(Pending::UrlAuth { tag, op }) => Some((tag, op)),
            _ => None,
        }
    }

    /// Answers [`Event::GenUrlAuth`] with the authorized URLs, in the
    /// order asked (each `<rump>:internal:<token>`,
    /// [`ImapUrl::authorized`]), or a refusal (`NO`).
    pub fn respond_genurlauth(
        &mut self,
        id: RequestId,
        answer: Result<Vec<String>, RespText>,
    ) -> Result<(), Result<Vec<String>, RespText>> {
        let Some((tag, _)) = self.take_urlauth(id, |o| matches!(o, UrlAuthOp::Generate)) else {
            return Err(answer);
        };
        match answer {
            Ok(urls) if !urls.is_empty() => {
                let urls = urls
                    .iter()
                    .map(|u| AString::String(url_string(u)))
                    .collect();
                self.send(&Response::Data(Data::GenUrlAuth(urls)));
                self.complete(tag, true, None, "GENURLAUTH completed");
            }
            Ok(_) => self.no(tag, RespText::plain("No URL authorized")),
            Err(text) => self.no(tag, text),
        }
        Ok(())
    }

    /// Answers [`Event::ResetKey`].
    pub fn respond_resetkey(
        &mut self,
        id: RequestId,
        answer: Result<(), RespText>,
    ) -> Result<(), Result<(), RespText>> {
        let Some((tag, _)) = self.take_urlauth(id, |o| matches!(o, UrlAuthOp::ResetKey)) else {
            return Err(answer);
        };
        match answer {
            Ok(()) => self.complete(tag, true, None, "RESETKEY completed"),
            Err(text) => self.no(tag, text),
        }
        Ok(())
    }

    /// Answers [`Event::UrlFetch`]: per URL, in the order asked, its
    /// octets or `None` when it is invalid or not authorized for this
    /// session (sent as `NIL`, RFC 4467 §6.3).
    pub fn respond_urlfetch(
        &mut self,
        id: RequestId,
        answer: Vec<Option<Bytes>>,
    ) -> Result<(), Vec<Option<Bytes>>> {
        let Some((tag, UrlAuthOp::Fetch(urls))) =
            self.take_urlauth(id, |o| matches!(o, UrlAuthOp::Fetch(_)))
        else {
            return Err(answer);
        };
        let mut answer = answer.into_iter();
        let items = urls
            .iter()
            .map(|u| {
                let data = answer
                    .next()
                    .flatten()
                    .and_then(|b| IString::from_bytes(&b).ok())
                    .map_or(NString::Nil, NString::String);
                (AString::String(url_string(u)), data)
            })
            .collect();
        self.send(&Response::Data(Data::UrlFetch(items)));
        self.complete(tag, true, None, "URLFETCH completed");
        Ok(())
    }
}
