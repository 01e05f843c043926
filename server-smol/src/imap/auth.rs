//! LOGIN / AUTHENTICATE: the shared `Authenticator` (authzid rule, password
//! check, penalty, the `imap login failed` log line), then the per-account
//! session slot and the account's change subscription.

use imap_proto::response::{Code, RespText, UnitCode};
use imap_proto::session::refusal;

use super::ImapHandler;
use super::convert::no_code;

impl ImapHandler {
    pub(super) async fn authenticate(
        &mut self,
        authzid: Option<String>,
        username: String,
        password: String,
    ) -> Result<(), RespText> {
        let ticket = self
            .shared
            .auth
            .authenticate("imap", &self.peer, authzid.as_deref(), &username, &password)
            .await;
        let Some(ticket) = ticket else {
            return Err(no_code(
                UnitCode::AuthenticationFailed,
                "Authentication failed",
            ));
        };
        let Some(slot) = self.shared.per_account.acquire(&username) else {
            tracing::info!(peer = %self.peer, user = %username, "imap: too many sessions");
            return Err(refusal(
                Some(Code::Unit(UnitCode::Limit)),
                "Too many sessions for this account",
            ));
        };
        self.slot = Some(slot);
        let store = self.shared.store.clone();
        let user = username.clone();
        match blocking::unblock(move || store.subscribe(&user)).await {
            Ok(sub) => self.changes = Some(sub),
            Err(e) => {
                tracing::warn!("imap: cannot subscribe to changes of {username}: {e}");
                return Err(no_code(UnitCode::Unavailable, "Mailbox store unavailable"));
            }
        }
        crate::auth::log_login("imap", &self.peer, &username);
        self.account = Some(username);
        self.login = Some(ticket);
        Ok(())
    }
}
