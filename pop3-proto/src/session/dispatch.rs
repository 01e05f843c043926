//! Command handling for each RFC 1939 state, CAPA, and the SASL exchange.

use bytes::BufMut;

use super::sasl::{
    self, LOGIN_PASSWORD_CHALLENGE, LOGIN_USERNAME_CHALLENGE, SaslError, decode_login_field,
    decode_plain, decode_response,
};
use super::{AuthMechanism, Event, Maildrop, Protocol, SaslStep, ServerSession, Waiting};
use crate::response::strip_line_end;
use crate::{Command, Continuation, ParseError, Response, ResponseCode, Secret};

/// The SASL mechanisms offered (RFC 5034 §4), in CAPA order.
const MECHANISMS: [&str; 2] = ["PLAIN", "LOGIN"];

impl ServerSession {
    pub(super) fn handle_line(&mut self, line: &[u8]) {
        let line = strip_line_end(line);
        if let Waiting::Sasl(step) = std::mem::replace(&mut self.waiting, Waiting::Nothing) {
            self.handle_sasl_line(step, line);
            return;
        }
        match Command::parse(line) {
            Ok(command) => self.handle_command(command),
            Err(ParseError::UnknownCommand | ParseError::Empty) => {
                self.bad_command(Response::err("Unknown command"));
            }
            Err(ParseError::MissingArgument) => {
                self.bad_command(Response::err("Missing argument"));
            }
            Err(ParseError::TooManyArguments) => {
                self.bad_command(Response::err("Too many arguments"));
            }
            Err(_) => self.bad_command(Response::err("Invalid argument")),
        }
    }

    /// An over-long line was skipped (RFC 2449 §4: 255 octets).
    pub(super) fn line_too_long(&mut self) {
        if let Waiting::Sasl(_) = self.waiting {
            self.waiting = Waiting::Nothing;
        }
        self.bad_command(Response::err("Line too long"));
    }

    /// Answers a bad command; too many of them close the session.
    fn bad_command(&mut self, response: Response) {
        self.bad_commands += 1;
        if self.bad_commands >= self.config.limits.max_bad_commands {
            self.queue(&Response::err("Too many bad commands, closing connection"));
            self.closing = true;
        } else {
            self.queue(&response);
        }
    }

    fn wrong_state(&mut self) {
        self.bad_command(Response::err("Command not valid in this state"));
    }

    /// Whether USER/PASS and AUTH may be used now.
    fn login_allowed(&self) -> bool {
        self.tls_active || self.config.allow_plaintext
    }

    fn refuse_plaintext(&mut self) {
        self.bad_command(Response::err_with_code(
            ResponseCode::Auth,
            "Plaintext authentication disallowed on non-secure connection",
        ));
    }

    fn handle_command(&mut self, command: Command) {
        match command {
            Command::Capa => self.capa(),
            Command::Noop => match self.protocol {
                Protocol::Transaction(_) => self.queue(&Response::ok("")),
                _ => self.wrong_state(),
            },
            Command::Quit => self.quit(),
            Command::User(name) => self.user(name),
            Command::Pass(password) => self.pass(password),
            Command::Apop { .. } => match self.protocol {
                Protocol::Authorization { .. } => {
                    self.bad_command(Response::err("APOP not supported"));
                }
                _ => self.wrong_state(),
            },
            Command::Auth {
                mechanism,
                initial_response,
            } => self.auth(mechanism, initial_response),
            Command::Stls => self.stls(),
            Command::Stat
            | Command::List(_)
            | Command::Retr(_)
            | Command::Dele(_)
            | Command::Rset
            | Command::Top { .. }
            | Command::Uidl(_) => self.transaction_command(command),
            // `Command` is non_exhaustive for callers, not for this crate.
        }
    }

    /// CAPA (RFC 2449 §5); the list depends on the state and on TLS.
    fn capa(&mut self) {
        let authorization = matches!(self.protocol, Protocol::Authorization { .. });
        let login = authorization && self.login_allowed();
        let mut lines: Vec<String> = vec!["TOP".into()];
        if login {
            lines.push("USER".into());
            lines.push(format!("SASL {}", MECHANISMS.join(" ")));
        }
        lines.push("RESP-CODES".into());
        lines.push("AUTH-RESP-CODE".into());
        lines.push("PIPELINING".into());
        // Messages are never removed by server policy (RFC 2449 §6.7).
        lines.push("EXPIRE NEVER".into());
        lines.push("UIDL".into());
        lines.push("IMPLEMENTATION sansmail".into());
        if authorization && self.config.starttls && !self.tls_active {
            lines.push("STLS".into());
        }
        self.queue(&Response::ok("Capability list follows"));
        for line in lines {
            self.output.put_slice(line.as_bytes());
            self.output.put_slice(b"\r\n");
        }
        self.output.put_slice(b".\r\n");
    }

    fn quit(&mut self) {
        match &self.protocol {
            Protocol::Authorization { .. } => {
                let bye = format!("{} POP3 server signing off", self.config.hostname);
                self.queue(&Response::ok(bye));
                self.closing = true;
            }
            Protocol::Transaction(maildrop) => {
                let deleted: Vec<usize> = maildrop
                    .deleted
                    .iter()
                    .enumerate()
                    .filter_map(|(index, deleted)| deleted.then_some(index))
                    .collect();
                let remaining = maildrop.entries.len() - deleted.len();
                let id = self.next_request_id();
                self.protocol = Protocol::Update { remaining };
                self.waiting = Waiting::Update(id);
                self.events.push_back(Event::Update { id, deleted });
            }
            Protocol::Update { .. } => self.wrong_state(),
        }
    }

    fn user(&mut self, name: String) {
        if !matches!(self.protocol, Protocol::Authorization { .. }) {
            return self.wrong_state();
        }
        if !self.login_allowed() {
            return self.refuse_plaintext();
        }
        // The reply does not tell whether the user exists (RFC 1939 §13).
        self.protocol = Protocol::Authorization { user: Some(name) };
        self.queue(&Response::ok("send PASS"));
    }

    fn pass(&mut self, password: Secret<String>) {
        let Protocol::Authorization { user } = &self.protocol else {
            return self.wrong_state();
        };
        if !self.login_allowed() {
            return self.refuse_plaintext();
        }
        let Some(user) = user.clone() else {
            return self.bad_command(Response::err("USER first"));
        };
        self.ask_authenticate(AuthMechanism::UserPass, None, user, password);
    }

    fn ask_authenticate(
        &mut self,
        mechanism: AuthMechanism,
        authzid: Option<String>,
        user: String,
        password: Secret<String>,
    ) {
        let id = self.next_request_id();
        // Kept so that `authenticated()` can report it after success.
        self.protocol = Protocol::Authorization {
            user: Some(user.clone()),
        };
        self.waiting = Waiting::Authenticate(id);
        self.events.push_back(Event::Authenticate {
            id,
            mechanism,
            authzid,
            username: user,
            password,
        });
    }

    /// AUTH (RFC 5034 §4).
    fn auth(&mut self, mechanism: Option<String>, initial: Option<Secret<String>>) {
        if !matches!(self.protocol, Protocol::Authorization { .. }) {
            return self.wrong_state();
        }
        let Some(mechanism) = mechanism else {
            // The RFC 1734 form still sent by some clients: list mechanisms.
            self.queue(&Response::ok(""));
            for name in MECHANISMS {
                self.output.put_slice(name.as_bytes());
                self.output.put_slice(b"\r\n");
            }
            self.output.put_slice(b".\r\n");
            return;
        };
        if !self.login_allowed() {
            return self.refuse_plaintext();
        }
        match (mechanism.as_str(), initial) {
            ("PLAIN", None) => {
                // An empty challenge asks for the response (RFC 5034 §4).
                Continuation(String::new()).encode(&mut self.output);
                self.waiting = Waiting::Sasl(SaslStep::PlainResponse);
            }
            ("PLAIN", Some(initial)) => {
                self.handle_sasl_line(SaslStep::PlainResponse, initial.expose().as_bytes());
            }
            ("LOGIN", None) => {
                Continuation(LOGIN_USERNAME_CHALLENGE.into()).encode(&mut self.output);
                self.waiting = Waiting::Sasl(SaslStep::LoginUsername);
            }
            ("LOGIN", Some(initial)) => {
                self.handle_sasl_line(SaslStep::LoginUsername, initial.expose().as_bytes());
            }
            _ => self.bad_command(Response::err("Unsupported authentication mechanism")),
        }
    }

    /// One client response of a SASL exchange.
    fn handle_sasl_line(&mut self, step: SaslStep, line: &[u8]) {
        let decoded = match decode_response(line) {
            Ok(decoded) => decoded,
            Err(SaslError::Cancelled) => {
                // RFC 5034 §4: a "*" line MUST be answered with -ERR.
                return self.queue(&Response::err("Authentication cancelled"));
            }
            Err(SaslError::Malformed) => {
                return self.bad_command(Response::err("Invalid base64 response"));
            }
        };
        let result = match step {
            SaslStep::PlainResponse => decode_plain(&decoded).map(|credentials| {
                self.ask_authenticate(
                    AuthMechanism::Plain,
                    credentials.authzid,
                    credentials.authcid,
                    credentials.password,
                );
            }),
            SaslStep::LoginUsername => decode_login_field(decoded).map(|user| {
                Continuation(LOGIN_PASSWORD_CHALLENGE.into()).encode(&mut self.output);
                self.waiting = Waiting::Sasl(SaslStep::LoginPassword { user });
            }),
            SaslStep::LoginPassword { user } => decode_login_field(decoded).map(|password| {
                self.ask_authenticate(AuthMechanism::Login, None, user, Secret::new(password));
            }),
        };
        if let Err(sasl::SaslError::Malformed | sasl::SaslError::Cancelled) = result {
            self.bad_command(Response::err("Invalid SASL response"));
        }
    }

    /// STLS (RFC 2595 §4).
    fn stls(&mut self) {
        if !matches!(self.protocol, Protocol::Authorization { .. }) {
            return self.wrong_state();
        }
        if !self.config.starttls || self.tls_active {
            return self.bad_command(Response::err("STLS not available"));
        }
        self.queue(&Response::ok("Begin TLS negotiation"));
        // Anything pipelined after STLS is dropped: it was sent in clear
        // text and must not be read as if it came over TLS.
        self.input.clear();
        self.discarding = false;
        self.waiting = Waiting::Switch { emitted: false };
    }

    /// STAT, LIST, RETR, DELE, RSET, TOP, UIDL (RFC 1939 §§5, 7).
    fn transaction_command(&mut self, command: Command) {
        let Protocol::Transaction(maildrop) = &mut self.protocol else {
            return self.wrong_state();
        };
        let response = match command {
            Command::Stat => {
                let (count, octets) = maildrop.totals();
                Response::ok(format!("{count} {octets}"))
            }
            Command::List(None) => {
                let (count, octets) = maildrop.totals();
                let response = Response::ok(format!("{count} messages ({octets} octets)"));
                response.encode(&mut self.output);
                maildrop.scan_listing(&mut self.output, |entry| entry.size.to_string());
                return;
            }
            Command::Uidl(None) => {
                Response::ok("").encode(&mut self.output);
                maildrop.scan_listing(&mut self.output, |entry| sanitize_uid(&entry.uid));
                return;
            }
            Command::List(Some(msg)) => match maildrop.lookup(msg) {
                Ok(index) => Response::ok(format!("{msg} {}", maildrop.entries[index].size)),
                Err(response) => response,
            },
            Command::Uidl(Some(msg)) => match maildrop.lookup(msg) {
                Ok(index) => Response::ok(format!(
                    "{msg} {}",
                    sanitize_uid(&maildrop.entries[index].uid)
                )),
                Err(response) => response,
            },
            Command::Dele(msg) => match maildrop.lookup(msg) {
                Ok(index) => {
                    maildrop.deleted[index] = true;
                    Response::ok(format!("message {msg} deleted"))
                }
                Err(response) => response,
            },
            Command::Rset => {
                maildrop.deleted.fill(false);
                Response::ok(maildrop.summary())
            }
            Command::Retr(msg) => return self.retrieve(msg, None),
            Command::Top { msg, lines } => return self.retrieve(msg, Some(lines)),
            _ => return self.wrong_state(),
        };
        self.queue(&response);
    }

    fn retrieve(&mut self, msg: u64, top_lines: Option<u64>) {
        let Protocol::Transaction(maildrop) = &self.protocol else {
            return self.wrong_state();
        };
        match maildrop.lookup(msg) {
            Ok(index) => {
                let id = self.next_request_id();
                self.waiting = Waiting::Retrieve {
                    id,
                    index,
                    top_lines,
                };
                self.events.push_back(Event::Retrieve {
                    id,
                    index,
                    top_lines,
                });
            }
            Err(response) => self.queue(&response),
        }
    }
}

impl Maildrop {
    /// The 0-based index of message number `msg`, or the `-ERR` to send
    /// (RFC 1939 §5: a deleted message may not be referred to).
    fn lookup(&self, msg: u64) -> Result<usize, Response> {
        let index = usize::try_from(msg)
            .ok()
            .and_then(|msg| msg.checked_sub(1))
            .filter(|index| *index < self.entries.len());
        match index {
            Some(index) if self.deleted.get(index) == Some(&true) => {
                Err(Response::err(format!("message {msg} already deleted")))
            }
            Some(index) => Ok(index),
            // The wording of the RFC 1939 §5 LIST example.
            None => Err(Response::err(format!(
                "no such message, only {} messages in maildrop",
                self.entries.len()
            ))),
        }
    }

    /// The `msg value` lines of a LIST or UIDL listing, skipping deleted
    /// messages, and the terminating `.`.
    fn scan_listing(
        &self,
        out: &mut bytes::BytesMut,
        value: impl Fn(&super::MaildropEntry) -> String,
    ) {
        for (index, entry) in self.entries.iter().enumerate() {
            if self.deleted.get(index) == Some(&true) {
                continue;
            }
            out.put_slice(format!("{} {}\r\n", index + 1, value(entry)).as_bytes());
        }
        out.put_slice(b".\r\n");
    }
}

/// A unique-id may hold only 0x21..=0x7E (RFC 1939 §7); anything else is
/// sent as `_` so that an odd value cannot break the listing.
fn sanitize_uid(uid: &str) -> String {
    uid.chars()
        .map(|c| {
            if ('\x21'..='\x7e').contains(&c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}
