//! BURL (RFC 4468): message data by reference, in the same transaction
//! sequence as BDAT (RFC 3030), which it may be mixed with.

use crate::{Event, Reply};

use super::{Pending, ServerSession};

impl ServerSession {
    /// The EHLO keyword: `BURL imap` once authenticated (the URLs are IMAP
    /// URLAUTH URLs, RFC 4468 §3), bare `BURL` before (§3: a client must
    /// authenticate to learn the schemes).
    pub(super) fn burl_keyword(&self) -> Option<String> {
        if !self.config.burl {
            return None;
        }
        Some(if self.authenticated.is_some() {
            "BURL imap".to_owned()
        } else {
            "BURL".to_owned()
        })
    }

    /// `BURL url [LAST]`: asks the adapter to fetch the URL.
    pub(super) fn burl(&mut self, url: String, last: bool) {
        if !self.config.burl {
            return self.error(500, "5.5.2", "Error: command not recognized");
        }
        if self.authenticated.is_none() {
            // RFC 4468 §3: the URLAUTH access is checked for the
            // authenticated submitter.
            return self.error(530, "5.7.0", "Authentication required");
        }
        let Some(tx) = self.transaction.as_mut() else {
            return self.error(503, "5.5.1", "Error: need MAIL command");
        };
        if tx.recipients == 0 {
            return self.reply(554, "5.5.1", "Error: no valid recipients");
        }
        // Like BDAT: no DATA afterwards, no RCPT once the body began.
        tx.bdat = true;
        if !std::mem::replace(&mut tx.body_started, true) {
            self.events.push_back(Event::DataStart);
        }
        self.await_answer(
            move |id| Event::Burl { id, url, last },
            Pending::Burl { last },
        );
    }

    /// The adapter's answer to [`Event::Burl`].
    pub(super) fn burl_answered(&mut self, reply: Reply, last: bool) {
        if !reply.is_positive() {
            // The message is incomplete: the transaction cannot go on.
            self.send(reply);
            self.reset_transaction();
            return;
        }
        if last {
            self.await_answer(|id| Event::DataEnd { id }, Pending::DataEnd);
        } else {
            self.send(reply);
        }
    }
}
