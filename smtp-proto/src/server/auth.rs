//! SMTP AUTH (RFC 4954) with the PLAIN (RFC 4616) and LOGIN mechanisms.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::{Event, Mechanism, Reply, Secret};

use super::{AuthStep, Pending, Phase, ServerSession};

/// `334` challenges of LOGIN: base64 of "Username:" and "Password:".
const LOGIN_USERNAME: &str = "VXNlcm5hbWU6";
const LOGIN_PASSWORD: &str = "UGFzc3dvcmQ6";

/// Decodes a SASL response; `=` is the empty initial response (RFC 4954 §4).
fn decode(response: &str) -> Option<Vec<u8>> {
    if response == "=" {
        return Some(Vec::new());
    }
    STANDARD.decode(response).ok()
}

/// `message = [authzid] UTF8NUL authcid UTF8NUL passwd` (RFC 4616 §2).
fn plain_message(bytes: &[u8]) -> Option<(Option<String>, String, String)> {
    let mut parts = bytes.split(|&b| b == 0);
    let authzid = std::str::from_utf8(parts.next()?).ok()?;
    let authcid = std::str::from_utf8(parts.next()?).ok()?;
    let passwd = std::str::from_utf8(parts.next()?).ok()?;
    if parts.next().is_some() || authcid.is_empty() {
        return None;
    }
    let authzid = (!authzid.is_empty()).then(|| authzid.to_owned());
    Some((authzid, authcid.to_owned(), passwd.to_owned()))
}

impl ServerSession {
    /// `AUTH mechanism [initial-response]` (RFC 4954 §4).
    pub(super) fn auth(&mut self, mechanism: &str, initial_response: Option<String>) {
        if !self.esmtp {
            return self.error(503, "5.5.1", "Error: send EHLO first");
        }
        if self.authenticated.is_some() {
            return self.error(503, "5.5.1", "Error: already authenticated");
        }
        if self.transaction.is_some() {
            return self.error(
                503,
                "5.5.1",
                "Error: AUTH not allowed during a mail transaction",
            );
        }
        if self.config.auth_mechanisms.is_empty() {
            return self.error(502, "5.5.1", "Error: authentication not enabled");
        }
        if !self.auth_offered() {
            return self.error(
                538,
                "5.7.11",
                "Encryption required for requested authentication mechanism",
            );
        }
        let Some(mechanism) =
            Mechanism::from_name(mechanism).filter(|m| self.config.auth_mechanisms.contains(m))
        else {
            return self.error(504, "5.5.4", "Unrecognized authentication type");
        };
        match (mechanism, initial_response) {
            (Mechanism::Plain, None) => self.challenge("", AuthStep::PlainResponse),
            (Mechanism::Plain, Some(ir)) => self.plain(&ir),
            (Mechanism::Login, None) => self.challenge(LOGIN_USERNAME, AuthStep::LoginUsername),
            (Mechanism::Login, Some(ir)) => self.login_username(&ir),
        }
    }

    fn challenge(&mut self, text: &str, step: AuthStep) {
        self.send(Reply::new(334, "", text));
        self.phase = Phase::AuthResponse(step);
    }

    /// A response line after a `334` (RFC 4954 §4): base64, or `*` to cancel.
    pub(super) fn auth_response(&mut self, step: AuthStep, line: &[u8]) {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Ok(response) = std::str::from_utf8(line) else {
            return self.malformed();
        };
        if response == "*" {
            return self.error(501, "5.0.0", "Authentication cancelled");
        }
        // An empty line is the empty response; `=` is only for initial responses.
        let response = if response.is_empty() { "=" } else { response };
        if response == "=" && line.first() == Some(&b'=') {
            return self.malformed();
        }
        match step {
            AuthStep::PlainResponse => self.plain(response),
            AuthStep::LoginUsername => self.login_username(response),
            AuthStep::LoginPassword { username } => {
                let Some(password) = decode(response).and_then(|p| String::from_utf8(p).ok())
                else {
                    return self.malformed();
                };
                self.ask_auth(Mechanism::Login, None, username, password);
            }
        }
    }

    fn plain(&mut self, response: &str) {
        match decode(response).as_deref().and_then(plain_message) {
            Some((authzid, authcid, password)) => {
                self.ask_auth(Mechanism::Plain, authzid, authcid, password)
            }
            None => self.malformed(),
        }
    }

    fn login_username(&mut self, response: &str) {
        match decode(response)
            .and_then(|u| String::from_utf8(u).ok())
            .filter(|u| !u.is_empty())
        {
            Some(username) => self.challenge(LOGIN_PASSWORD, AuthStep::LoginPassword { username }),
            None => self.malformed(),
        }
    }

    /// RFC 4954 §4: "501 5.5.2 Cannot Base64-decode Client responses" (or
    /// undecodable PLAIN message); counts as a failed attempt.
    fn malformed(&mut self) {
        self.error(501, "5.5.2", "Cannot decode response");
        if !matches!(self.phase, Phase::Closing) {
            self.auth_failed();
        }
    }

    fn ask_auth(
        &mut self,
        mechanism: Mechanism,
        authzid: Option<String>,
        authcid: String,
        password: String,
    ) {
        let event_authcid = authcid.clone();
        self.await_answer(
            move |id| Event::Auth {
                id,
                mechanism,
                authzid,
                username: event_authcid,
                password: Secret::new(password),
            },
            Pending::Auth { authcid },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_message_known_answers() {
        assert_eq!(
            plain_message(b"\0tim\0tanstaaftanstaaf"),
            Some((None, "tim".into(), "tanstaaftanstaaf".into()))
        );
        assert_eq!(
            plain_message(b"Ursel\0Kurt\0xipj3plmq"),
            Some((Some("Ursel".into()), "Kurt".into(), "xipj3plmq".into()))
        );
        assert_eq!(plain_message(b"\0\0pw"), None);
        assert_eq!(plain_message(b"a\0b"), None);
        assert_eq!(plain_message(b"a\0b\0c\0d"), None);
        assert_eq!(decode("="), Some(vec![]));
        assert_eq!(
            decode("AHRpbQB0YW5zdGFhZnRhbnN0YWFm").as_deref(),
            Some(&b"\0tim\0tanstaaftanstaaf"[..])
        );
        assert_eq!(decode("!!"), None);
    }
}
