//! LOGIN and AUTHENTICATE (RFC 9051 §6.2.2, §6.2.3; SASL PLAIN RFC 4616,
//! SASL LOGIN, SASL-IR RFC 4959).

use super::pending::Pending;
use super::{AuthMechanism, Event, RequestId, ServerSession, SessionState, Wait};
use crate::command::AuthenticateData;
use crate::response::{Code, Continue, RespText, Response, UnitCode};
use crate::types::{Atom, Capability, Secret, Tag};

/// A SASL exchange waiting for the client's next line.
#[derive(Debug)]
pub(super) enum SaslStep {
    Plain,
    LoginUsername,
    LoginPassword { username: String },
}

fn privacy_required() -> RespText {
    RespText::with_code(
        Code::Unit(UnitCode::PrivacyRequired),
        "Authentication requires TLS",
    )
}

impl ServerSession {
    pub(super) fn login_command(&mut self, tag: Tag, username: &[u8], password: &[u8]) {
        if !self.plaintext_ok() {
            self.no(tag, privacy_required());
            return;
        }
        let (Ok(user), Ok(pass)) = (std::str::from_utf8(username), std::str::from_utf8(password))
        else {
            self.bad(tag, "User name and password must be UTF-8");
            return;
        };
        self.ask_authenticate(tag, AuthMechanism::Login, None, user.into(), pass.into());
    }

    pub(super) fn authenticate_command(
        &mut self,
        tag: Tag,
        mechanism: &Atom,
        initial: Option<Secret<Vec<u8>>>,
    ) {
        if !self.plaintext_ok() {
            self.no(tag, privacy_required());
            return;
        }
        let offered = |s: &ServerSession, m: &str| {
            s.capabilities()
                .iter()
                .any(|c| matches!(c, Capability::Auth(a) if a.as_str().eq_ignore_ascii_case(m)))
        };
        let name = mechanism.as_str();
        let step = if name.eq_ignore_ascii_case("PLAIN") && offered(self, "PLAIN") {
            SaslStep::Plain
        } else if name.eq_ignore_ascii_case("LOGIN") && offered(self, "LOGIN") {
            SaslStep::LoginUsername
        } else {
            self.no(tag, RespText::plain("Unsupported authentication mechanism"));
            return;
        };
        if let Some(data) = initial {
            if !self.offers(&Capability::SaslIr) {
                self.bad(tag, "SASL-IR not supported");
                return;
            }
            self.sasl_data(tag, step, data.expose());
            return;
        }
        let challenge = match step {
            SaslStep::LoginUsername => Continue::base64(b"Username:"),
            _ => Continue(RespText::plain("")),
        };
        self.send(&Response::Continue(challenge));
        self.wait = Wait::Sasl { tag, step };
    }

    /// One client line of the exchange.
    pub(super) fn sasl_line(&mut self, tag: Tag, step: SaslStep, line: &[u8]) {
        if line.len() > self.config.limits.max_sasl_line {
            self.bad(tag, "SASL response too long");
            return;
        }
        match AuthenticateData::parse(line) {
            Ok(AuthenticateData::Cancel) => self.bad(tag, "Authentication cancelled"),
            Ok(AuthenticateData::Continue(data)) => self.sasl_data(tag, step, data.expose()),
            Err(_) => self.bad(tag, "Invalid base64 in SASL response"),
        }
    }

    fn sasl_data(&mut self, tag: Tag, step: SaslStep, data: &[u8]) {
        match step {
            SaslStep::Plain => {
                // authzid NUL authcid NUL passwd (RFC 4616 §2)
                let mut parts = data.split(|b| *b == 0);
                let (Some(authzid), Some(user), Some(pass), None) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    self.bad(tag, "Malformed PLAIN response");
                    return;
                };
                let (Ok(authzid), Ok(user), Ok(pass)) = (
                    std::str::from_utf8(authzid),
                    std::str::from_utf8(user),
                    std::str::from_utf8(pass),
                ) else {
                    self.bad(tag, "PLAIN response must be UTF-8");
                    return;
                };
                let authzid = (!authzid.is_empty()).then(|| authzid.to_owned());
                self.ask_authenticate(tag, AuthMechanism::Plain, authzid, user.into(), pass.into());
            }
            SaslStep::LoginUsername => match std::str::from_utf8(data) {
                Ok(u) => {
                    self.send(&Response::Continue(Continue::base64(b"Password:")));
                    self.wait = Wait::Sasl {
                        tag,
                        step: SaslStep::LoginPassword { username: u.into() },
                    };
                }
                Err(_) => self.bad(tag, "User name must be UTF-8"),
            },
            SaslStep::LoginPassword { username } => match std::str::from_utf8(data) {
                Ok(p) => {
                    self.ask_authenticate(tag, AuthMechanism::SaslLogin, None, username, p.into())
                }
                Err(_) => self.bad(tag, "Password must be UTF-8"),
            },
        }
    }

    fn ask_authenticate(
        &mut self,
        tag: Tag,
        mechanism: AuthMechanism,
        authzid: Option<String>,
        username: String,
        password: String,
    ) {
        let id = self.next_request_id();
        self.events.push_back(Event::Authenticate {
            id,
            mechanism,
            authzid,
            username: username.clone(),
            password: Secret::new(password),
        });
        self.wait = Wait::Answer {
            id,
            pending: Pending::Auth { tag, username },
        };
    }

    /// Answers an [`Event::Authenticate`]: `Ok(())` logs in (the session
    /// sends `OK [CAPABILITY ...]`), `Err(text)` is sent as `NO`; use
    /// `[AUTHENTICATIONFAILED]` for bad credentials (the session adds it
    /// when the text has no code). Hands the answer back if `id` is not
    /// the pending authentication.
    pub fn respond_authenticate(
        &mut self,
        id: RequestId,
        answer: Result<(), RespText>,
    ) -> Result<(), Result<(), RespText>> {
        let Some(Pending::Auth { tag, username }) =
            self.take_pending(id, |p| matches!(p, Pending::Auth { .. }))
        else {
            return Err(answer);
        };
        match answer {
            Ok(()) => {
                self.state = SessionState::Authenticated;
                self.user = Some(username);
                self.update_literal_plus();
                let caps = self.capabilities();
                self.ok(tag, Some(Code::Capability(caps)), "Logged in");
            }
            Err(mut text) => {
                if text.code.is_none() {
                    text.code = Some(Code::Unit(UnitCode::AuthenticationFailed));
                }
                self.no(tag, text);
                self.auth_failures += 1;
                if self.auth_failures >= self.config.limits.max_auth_failures {
                    self.send(&Response::Status(crate::response::Status::bye(
                        None,
                        "Too many failed logins",
                    )));
                    self.close();
                }
            }
        }
        Ok(())
    }
}
