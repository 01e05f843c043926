//! Command handling of the server session (RFC 5321 §4.1, §4.3.2 sequencing).

use crate::{BdatReceiver, BodyType, Command, DataReceiver, Event, Mode, ParseError, Reply};

use super::{BdatOutcome, Pending, Phase, ServerSession};

impl ServerSession {
    /// `max_message_size`, with 0 meaning no limit.
    pub(super) fn max_size(&self) -> u64 {
        match self.config.limits.max_message_size {
            0 => u64::MAX,
            n => n,
        }
    }

    /// The EHLO/LHLO reply (RFC 5321 §4.1.1.1), extensions in a fixed order.
    fn ehlo_reply(&self) -> Reply {
        let mut lines = vec![
            self.config.hostname.clone(),
            "PIPELINING".to_owned(),
            format!("SIZE {}", self.config.limits.max_message_size),
            "8BITMIME".to_owned(),
            "SMTPUTF8".to_owned(),
            "ENHANCEDSTATUSCODES".to_owned(),
            "CHUNKING".to_owned(),
        ];
        if self.config.starttls && !self.tls_active {
            lines.push("STARTTLS".to_owned());
        }
        if self.auth_offered() {
            let names: Vec<&str> = self
                .config
                .auth_mechanisms
                .iter()
                .map(|m| m.as_str())
                .collect();
            lines.push(format!("AUTH {}", names.join(" ")));
        }
        if let Some(burl) = self.burl_keyword() {
            lines.push(burl);
        }
        Reply {
            code: 250,
            enhanced: None,
            lines,
        }
    }

    /// AUTH is advertised: mechanisms exist and TLS is on or not required.
    pub(super) fn auth_offered(&self) -> bool {
        !self.config.auth_mechanisms.is_empty() && (self.tls_active || self.config.allow_plaintext)
    }

    fn parse_error(&mut self, error: ParseError) {
        match error {
            ParseError::UnknownCommand => self.error(500, "5.5.2", "Error: command not recognized"),
            ParseError::Syntax(what) => self.error(501, "5.5.4", &format!("Syntax: {what}")),
            ParseError::InvalidReversePath => self.error(501, "5.1.7", "Bad sender address syntax"),
            ParseError::InvalidForwardPath => {
                self.error(501, "5.1.3", "Bad recipient address syntax")
            }
            ParseError::UnknownParameter(p) => {
                self.error(555, "5.5.4", &format!("Unsupported parameter {p}"))
            }
            ParseError::InvalidParameter(p) => {
                self.error(501, "5.5.4", &format!("Invalid parameter {p}"))
            }
            ParseError::InvalidUtf8 => self.error(501, "5.5.4", "Syntax: invalid UTF-8"),
            _ => self.error(500, "5.5.2", "Error: command not recognized"),
        }
    }

    /// Handles one complete command line.
    pub(super) fn command(&mut self, line: &[u8]) {
        let command = match Command::parse(line) {
            Ok(command) => command,
            Err(error) => return self.parse_error(error),
        };
        let lmtp = self.config.mode == Mode::Lmtp;
        match command {
            // RFC 2033 §4.1: LMTP has LHLO instead of HELO/EHLO.
            Command::Helo(_) | Command::Ehlo(_) if lmtp => {
                self.error(500, "5.5.2", "Error: command not recognized")
            }
            Command::Lhlo(_) if !lmtp => self.error(500, "5.5.2", "Error: command not recognized"),
            Command::Helo(domain) => {
                // RFC 5321 §4.1.4: HELO/EHLO in a session resets the transaction.
                self.reset_transaction();
                self.helo = Some(domain);
                self.esmtp = false;
                let host = self.config.hostname.clone();
                self.reply(250, "", &host);
            }
            Command::Ehlo(domain) | Command::Lhlo(domain) => {
                self.reset_transaction();
                self.helo = Some(domain);
                self.esmtp = true;
                let reply = self.ehlo_reply();
                self.send(reply);
            }
            Command::Mail {
                reverse_path,
                params,
            } => self.mail(reverse_path, params),
            Command::Rcpt {
                forward_path,
                params,
            } => self.rcpt(forward_path, params),
            Command::Data => self.data(),
            Command::Bdat { size, last } => self.bdat(size, last),
            Command::Burl { url, last } => self.burl(url, last),
            Command::Rset => {
                self.transaction = None;
                self.events.push_back(Event::Reset);
                self.reply(250, "2.0.0", "OK");
            }
            Command::Noop(_) => self.reply(250, "2.0.0", "OK"),
            Command::Quit => {
                self.reply(221, "2.0.0", "Bye");
                self.close();
            }
            // RFC 5321 §3.5.3: 252 when we will not say whether a user exists.
            Command::Vrfy(_) => self.reply(
                252,
                "2.5.0",
                "Cannot VRFY user, but will accept message and attempt delivery",
            ),
            Command::Expn(_) => self.reply(502, "5.5.1", "EXPN not supported"),
            Command::Help(_) => self.reply(
                214,
                "2.0.0",
                "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH",
            ),
            Command::StartTls => self.starttls(),
            Command::Auth {
                mechanism,
                initial_response,
            } => self.auth(&mechanism, initial_response),
        }
    }

    fn mail(&mut self, reverse_path: Option<String>, params: crate::MailParams) {
        if self.helo.is_none() {
            return self.error(503, "5.5.1", "Error: send HELO/EHLO first");
        }
        if self.transaction.is_some() {
            return self.error(503, "5.5.1", "Error: nested MAIL command");
        }
        if self.config.require_auth && self.authenticated.is_none() {
            return self.error(530, "5.7.0", "Authentication required");
        }
        if params.body == Some(BodyType::BinaryMime) {
            return self.error(555, "5.5.4", "Unsupported parameter BODY=BINARYMIME");
        }
        // RFC 1870 §6.2: refuse at once a message declared too big.
        if params.size.is_some_and(|size| size > self.max_size()) {
            return self.reply(
                552,
                "5.3.4",
                "Message size exceeds fixed maximum message size",
            );
        }
        // RFC 6531 §3.5: a non-ASCII address needs the SMTPUTF8 parameter.
        if !params.smtputf8 && reverse_path.as_deref().is_some_and(|p| !p.is_ascii()) {
            return self.reply(553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
        }
        let (event_path, event_params) = (reverse_path.clone(), params.clone());
        self.await_answer(
            move |id| Event::MailFrom {
                id,
                reverse_path: event_path,
                params: event_params,
            },
            Pending::MailFrom {
                reverse_path,
                params,
            },
        );
    }

    fn rcpt(&mut self, forward_path: String, params: crate::RcptParams) {
        let Some(tx) = &self.transaction else {
            return self.error(503, "5.5.1", "Error: need MAIL command");
        };
        if tx.body_started {
            return self.error(503, "5.5.1", "Error: RCPT after BDAT");
        }
        if !tx.params.smtputf8 && !forward_path.is_ascii() {
            return self.reply(553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
        }
        // RFC 5321 §4.5.3.1.10: 452 for too many recipients.
        if tx.recipients >= self.config.limits.max_recipients {
            return self.reply(452, "4.5.3", "Too many recipients");
        }
        self.await_answer(
            move |id| Event::RcptTo {
                id,
                forward_path,
                params,
            },
            Pending::RcptTo,
        );
    }

    fn data(&mut self) {
        let Some(tx) = &self.transaction else {
            return self.error(503, "5.5.1", "Error: need MAIL command");
        };
        if tx.bdat {
            return self.error(503, "5.5.1", "Error: DATA after BDAT");
        }
        if tx.recipients == 0 {
            return self.reply(554, "5.5.1", "Error: no valid recipients");
        }
        self.reply(354, "", "End data with <CR><LF>.<CR><LF>");
        self.events.push_back(Event::DataStart);
        self.phase = Phase::Data(DataReceiver::new(self.max_size()));
    }

    /// RFC 3030 §2: the chunk is always read (and maybe discarded) before the
    /// reply, so a refused BDAT never lets its octets be read as commands.
    fn bdat(&mut self, size: u64, last: bool) {
        let max = self.max_size();
        let outcome = match self.transaction.as_mut() {
            None => BdatOutcome::Refuse(Reply::new(503, "5.5.1", "Error: need MAIL command")),
            Some(tx) if tx.recipients == 0 => {
                BdatOutcome::Refuse(Reply::new(554, "5.5.1", "Error: no valid recipients"))
            }
            Some(tx) => {
                tx.bdat = true;
                let started = tx.body_started;
                tx.body_started = true;
                let total = tx.bdat_size.saturating_add(size);
                tx.bdat_size = total;
                if !started {
                    self.events.push_back(Event::DataStart);
                }
                if total > max {
                    BdatOutcome::TooLarge
                } else {
                    BdatOutcome::Accept
                }
            }
        };
        let discard = !matches!(outcome, BdatOutcome::Accept);
        self.phase = Phase::Bdat {
            receiver: BdatReceiver::new(size, discard),
            size,
            last,
            outcome,
        };
        if size == 0 {
            self.finish_bdat();
        }
    }

    fn starttls(&mut self) {
        if !self.config.starttls {
            return self.error(502, "5.5.1", "Error: STARTTLS not available");
        }
        if self.tls_active {
            return self.error(503, "5.5.1", "Error: TLS already active");
        }
        if self.transaction.is_some() {
            return self.error(503, "5.5.1", "Error: STARTTLS in a mail transaction");
        }
        self.reply(220, "2.0.0", "Ready to start TLS");
        // RFC 3207 §5 (and CVE-2011-0411): bytes pipelined after STARTTLS are
        // dropped, never carried over into the TLS session.
        self.line.clear();
        self.discarding_line = false;
        self.phase = Phase::StartTls;
    }
}
