//! GENURLAUTH and URLFETCH (RFC 4467): URL checks and reads live in
//! [`super::urlauth`]; this turns their outcome into the session's answers.

use bytes::Bytes;
use imap_proto::response::{RespText, UnitCode};

use super::convert::{no, no_code};
use super::{ImapHandler, urlauth};

impl ImapHandler {
    /// GENURLAUTH: one authorized URL per rump, or the first refusal.
    pub(super) async fn genurlauth(
        &self,
        urls: Vec<imap_proto::url::ImapUrl>,
    ) -> Result<Vec<String>, RespText> {
        let Some(account) = self.account.clone() else {
            return Err(no("Log in first"));
        };
        let store = self.shared.store.clone();
        let result = blocking::unblock(move || {
            urls.iter()
                .map(|u| urlauth::generate(&store, &account, u))
                .collect::<Result<Vec<_>, _>>()
        })
        .await;
        result.map_err(|r| match r {
            urlauth::Refusal::NotAuthorized(t) => no_code(UnitCode::NoPerm, &t),
            urlauth::Refusal::BadUrl(t) => no_code(UnitCode::NonExistent, &t),
            urlauth::Refusal::Temporary(t) => {
                tracing::warn!("imap: GENURLAUTH failed: {t}");
                no_code(UnitCode::Unavailable, "Try again later")
            }
        })
    }

    /// URLFETCH: each URL checked for this user (RFC 4467 §6.3); what it
    /// names is read into memory, up to `[limits] max_message_size`.
    pub(super) async fn urlfetch(&self, urls: Vec<String>) -> Vec<Option<Bytes>> {
        let Some(account) = self.account.clone() else {
            return Vec::new();
        };
        let store = self.shared.store.clone();
        let max = self.shared.config.limits.max_message_size;
        blocking::unblock(move || {
            urls.iter()
                .map(|u| {
                    let read = urlauth::verify(&store, u, urlauth::Requester::Imap(&account))
                        .and_then(|a| urlauth::read(&store, &a, max));
                    match read {
                        Ok(bytes) => Some(Bytes::from(bytes)),
                        Err(r) => {
                            let (urlauth::Refusal::BadUrl(why)
                            | urlauth::Refusal::NotAuthorized(why)
                            | urlauth::Refusal::Temporary(why)) = &r;
                            tracing::debug!("imap: URLFETCH refused: {why}");
                            None
                        }
                    }
                })
                .collect()
        })
        .await
    }
}
