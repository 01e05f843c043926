//! One mail transaction of the client: MAIL, RCPT, DATA or BDAT, and the
//! per-recipient outcomes (RFC 5321 §3.3, RFC 2920, RFC 3030, RFC 2033).

use bytes::BytesMut;

use super::{
    ClientEvent, ClientLimits, ClientSession, Envelope, Expect, Outcome, Phase, TransactionResult,
};
use crate::{BodyType, Command, DotStuffer, MailParams, RcptParams, Reply, xtext_encode};

/// How the body goes out.
#[derive(Debug)]
enum Body {
    /// DATA, dot-stuffed as it streams.
    Data(DotStuffer),
    /// BDAT: the chunk being filled, and BDAT commands whose reply is due.
    Bdat {
        chunk: BytesMut,
        in_flight: usize,
        /// `end_body` was called; the last chunk waits until it may go.
        last_pending: bool,
    },
}

/// The client's side of one transaction.
#[derive(Debug)]
pub(super) struct Transaction {
    /// RCPT commands not sent yet (without PIPELINING, one per reply).
    pending_rcpts: std::vec::IntoIter<Command>,
    outcomes: Vec<Option<Outcome>>,
    /// Indices of recipients the server accepted, in RCPT order.
    accepted: Vec<usize>,
    /// MAIL FROM was accepted.
    mail_ok: bool,
    /// MAIL FROM's refusal, which every recipient inherits.
    mail_refusal: Option<Reply>,
    /// BDAT instead of DATA.
    bdat: bool,
    /// DATA was sent in the pipeline with MAIL and RCPT.
    data_sent: bool,
    body: Option<Body>,
    /// The server answered the end of data: its transaction is over.
    data_done: bool,
    dsn: bool,
}

/// True when `s` needs SMTPUTF8 (RFC 6531 §3.2).
fn non_ascii(s: &str) -> bool {
    !s.is_ascii()
}

impl Transaction {
    fn set(&mut self, index: usize, outcome: Outcome) {
        if let Some(slot @ None) = self.outcomes.get_mut(index) {
            *slot = Some(outcome);
        }
    }

    /// Every accepted recipient without an outcome gets one from `reply`.
    fn settle_accepted(&mut self, make: impl Fn(Reply) -> Outcome, reply: &Reply) {
        for i in self.accepted.clone() {
            self.set(i, make(reply.clone()));
        }
    }

    /// The result; recipients still open get `fallback` as a temporary or
    /// permanent failure (or a 451 if there is none).
    pub(super) fn finish(self, fallback: Option<Reply>) -> TransactionResult {
        let fallback =
            fallback.unwrap_or_else(|| Reply::new(451, "4.5.0", "no reply for this recipient"));
        TransactionResult {
            outcomes: self
                .outcomes
                .into_iter()
                .map(|o| o.unwrap_or_else(|| Outcome::failure(fallback.clone())))
                .collect(),
            dsn: self.dsn,
        }
    }

    /// Takes body bytes; see [`ClientSession::send_body`].
    pub(super) fn send_body(
        &mut self,
        data: &[u8],
        out: &mut BytesMut,
        limits: &ClientLimits,
    ) -> usize {
        match self.body.as_mut() {
            Some(Body::Data(stuffer)) => {
                let room = limits.max_pending_output.saturating_sub(out.len());
                let take = room.min(data.len());
                stuffer.encode(data.get(..take).unwrap_or_default(), out);
                take
            }
            Some(Body::Bdat { chunk, .. }) => {
                if chunk.len() >= limits.bdat_chunk_size.max(1) {
                    // The full chunk waits for its turn (flush_chunk).
                    return 0;
                }
                let room = limits.bdat_chunk_size.max(1) - chunk.len();
                let take = room.min(data.len());
                chunk.extend_from_slice(data.get(..take).unwrap_or_default());
                take
            }
            None => 0,
        }
    }

    /// Sends a full BDAT chunk when it may go: output has room, and without
    /// PIPELINING the previous chunk was answered (RFC 3030 §4.2).
    pub(super) fn flush_chunk(
        &mut self,
        out: &mut BytesMut,
        limits: &ClientLimits,
        pipelining: bool,
    ) -> Option<Expect> {
        let Some(Body::Bdat {
            chunk,
            in_flight,
            last_pending: false,
        }) = self.body.as_mut()
        else {
            return None;
        };
        let full = chunk.len() >= limits.bdat_chunk_size.max(1);
        let may = out.len() < limits.max_pending_output && (pipelining || *in_flight == 0);
        if !(full && may) {
            return None;
        }
        let size = chunk.len() as u64;
        Command::Bdat { size, last: false }.encode(out);
        out.extend_from_slice(chunk);
        chunk.clear();
        *in_flight += 1;
        Some(Expect::Bdat)
    }

    /// The end of the body: `.` CRLF, or `BDAT n LAST` once allowed. Returns
    /// the replies now due.
    pub(super) fn end_body(
        &mut self,
        out: &mut BytesMut,
        lmtp: bool,
        pipelining: bool,
    ) -> Vec<Expect> {
        match self.body.as_mut() {
            Some(Body::Data(stuffer)) => {
                stuffer.finish(out);
                self.data_end_expects(lmtp)
            }
            Some(Body::Bdat { last_pending, .. }) => {
                *last_pending = true;
                self.flush_last(out, lmtp, pipelining)
            }
            None => Vec::new(),
        }
    }

    /// Sends the last BDAT chunk if `end_body` was called and it may go.
    fn flush_last(&mut self, out: &mut BytesMut, lmtp: bool, pipelining: bool) -> Vec<Expect> {
        let Some(Body::Bdat {
            chunk,
            in_flight,
            last_pending: true,
        }) = self.body.as_mut()
        else {
            return Vec::new();
        };
        if !pipelining && *in_flight > 0 {
            return Vec::new();
        }
        let size = chunk.len() as u64;
        Command::Bdat { size, last: true }.encode(out);
        out.extend_from_slice(chunk);
        self.body = None;
        self.data_end_expects(lmtp)
    }

    /// SMTP: one reply for the message; LMTP: one per accepted recipient.
    fn data_end_expects(&self, lmtp: bool) -> Vec<Expect> {
        if lmtp && !self.accepted.is_empty() {
            self.accepted
                .iter()
                .map(|&i| Expect::DataEnd(Some(i)))
                .collect()
        } else {
            vec![Expect::DataEnd(None)]
        }
    }
}

impl ClientSession {
    /// A refusal the client makes itself, before MAIL, for requirements the
    /// server cannot meet.
    fn requirement_refusal(&self, envelope: &Envelope, smtputf8: bool) -> Option<Reply> {
        let ext = self.extensions.clone().unwrap_or_default();
        // RFC 6152 §3 lets a client either convert an 8-bit body to 7 bits
        // or return it as undeliverable. We return it: conversion would
        // change the bytes (and break DKIM signatures) while every receiving
        // MTA of the last twenty years offers 8BITMIME.
        if envelope.body == BodyType::EightBitMime && !ext.eight_bit_mime {
            return Some(Reply::new(
                554,
                "5.6.3",
                "Conversion required: the message has 8-bit content and the server does not offer 8BITMIME",
            ));
        }
        if envelope.body == BodyType::BinaryMime && !(ext.binary_mime && ext.chunking) {
            return Some(Reply::new(
                554,
                "5.6.3",
                "Conversion required: the message is binary and the server does not offer BINARYMIME and CHUNKING",
            ));
        }
        // RFC 6531 §3.2: without SMTPUTF8 at the server, an internationalized
        // envelope or header cannot be relayed.
        if smtputf8 && !ext.smtputf8 {
            return Some(Reply::new(
                553,
                "5.6.7",
                "The message needs SMTPUTF8 and the server does not offer it",
            ));
        }
        if let Some(max) = ext.size.filter(|&m| m > 0 && envelope.size > m) {
            return Some(Reply::new(
                552,
                "5.3.4",
                &format!(
                    "Message size {} exceeds the server's fixed limit {max}",
                    envelope.size
                ),
            ));
        }
        None
    }

    pub(super) fn start_transaction(&mut self, envelope: Envelope) {
        let ext = self.extensions.clone().unwrap_or_default();
        let smtputf8 = envelope.smtputf8
            || envelope.reverse_path.as_deref().is_some_and(non_ascii)
            || envelope
                .recipients
                .iter()
                .any(|r| non_ascii(&r.forward_path));
        let count = envelope.recipients.len();
        if let Some(reply) = self.requirement_refusal(&envelope, smtputf8) {
            let outcomes = (0..count)
                .map(|_| Outcome::Permanent(reply.clone()))
                .collect();
            self.events
                .push_back(ClientEvent::TransactionDone(TransactionResult {
                    outcomes,
                    dsn: ext.dsn,
                }));
            self.ready();
            return;
        }
        let params = MailParams {
            size: ext.size.map(|_| envelope.size),
            body: match envelope.body {
                BodyType::SevenBit => None,
                other => Some(other),
            },
            smtputf8,
            ret: envelope.ret.filter(|_| ext.dsn),
            envid: envelope
                .envid
                .as_deref()
                .filter(|_| ext.dsn)
                .map(xtext_encode),
            auth: None,
        };
        let rcpts: Vec<Command> = envelope
            .recipients
            .into_iter()
            .map(|r| Command::Rcpt {
                forward_path: r.forward_path,
                params: if ext.dsn {
                    RcptParams {
                        notify: r.notify,
                        orcpt: r.orcpt,
                    }
                } else {
                    RcptParams::default()
                },
            })
            .collect();
        let bdat = ext.chunking && (self.config.chunking || envelope.body == BodyType::BinaryMime);
        let mail = Command::Mail {
            reverse_path: envelope.reverse_path,
            params,
        };
        self.command(&mail, Expect::Mail);
        let mut tx = Transaction {
            pending_rcpts: rcpts.into_iter(),
            outcomes: vec![None; count],
            accepted: Vec::new(),
            mail_ok: false,
            mail_refusal: None,
            bdat,
            data_sent: false,
            body: None,
            data_done: false,
            dsn: ext.dsn,
        };
        if ext.pipelining {
            // RFC 2920 §3.1: MAIL, the RCPTs and DATA in one group; BDAT
            // waits for the RCPT replies so no body goes to nobody.
            for (index, rcpt) in tx.pending_rcpts.by_ref().enumerate() {
                rcpt.encode(&mut self.out);
                self.expect.push_back(Expect::Rcpt(index));
            }
            if !bdat {
                Command::Data.encode(&mut self.out);
                self.expect.push_back(Expect::Data);
                tx.data_sent = true;
            }
        }
        self.transaction = Some(tx);
    }

    /// Sends the next RCPT without PIPELINING; after the last, DATA or BDAT.
    fn next_step(&mut self, next_rcpt: usize) {
        let Some(tx) = self.transaction.as_mut() else {
            return;
        };
        if let Some(rcpt) = tx.pending_rcpts.next() {
            self.command(&rcpt, Expect::Rcpt(next_rcpt));
            return;
        }
        let rcpt_replies_due = self.expect.iter().any(|e| matches!(e, Expect::Rcpt(_)));
        if rcpt_replies_due || tx.accepted.is_empty() || tx.data_sent {
            return;
        }
        if tx.bdat {
            tx.body = Some(Body::Bdat {
                chunk: BytesMut::new(),
                in_flight: 0,
                last_pending: false,
            });
            self.phase = Phase::Body;
            self.events.push_back(ClientEvent::SendBody);
        } else {
            tx.data_sent = true;
            self.command(&Command::Data, Expect::Data);
        }
    }

    pub(super) fn transaction_reply(&mut self, expect: Expect, reply: Reply) {
        let lmtp = self.config.mode == crate::Mode::Lmtp;
        let pipelining = self.pipelining();
        let Some(tx) = self.transaction.as_mut() else {
            return self.fail(super::ClientError::UnexpectedReply(reply));
        };
        match expect {
            Expect::Mail if reply.is_positive() => {
                tx.mail_ok = true;
                self.next_step(0);
            }
            Expect::Mail => {
                // Every recipient inherits the refusal; under PIPELINING the
                // RCPT replies that follow (503s) change nothing.
                for i in 0..tx.outcomes.len() {
                    tx.set(i, Outcome::failure(reply.clone()));
                }
                tx.mail_refusal = Some(reply);
            }
            Expect::Rcpt(index) => {
                let outcome = match &tx.mail_refusal {
                    Some(refusal) => Some(Outcome::failure(refusal.clone())),
                    None if reply.is_positive() => {
                        tx.accepted.push(index);
                        None
                    }
                    None => Some(Outcome::failure(reply.clone())),
                };
                if let Some(outcome) = outcome {
                    tx.set(index, outcome);
                }
                self.events
                    .push_back(ClientEvent::RcptReply { index, reply });
                if tx.mail_ok {
                    self.next_step(index + 1);
                }
            }
            Expect::Data if reply.code == 354 => {
                let mut stuffer = DotStuffer::new();
                if tx.accepted.is_empty() || !tx.mail_ok {
                    // RFC 2920 §3.1: every RCPT failed but DATA was accepted
                    // anyway; send an empty message's end and move on.
                    stuffer.finish(&mut self.out);
                    self.expect.push_back(Expect::DataEnd(None));
                } else {
                    tx.body = Some(Body::Data(stuffer));
                    self.phase = Phase::Body;
                    self.events.push_back(ClientEvent::SendBody);
                }
            }
            Expect::Data => {
                let refusal = tx.mail_refusal.clone().unwrap_or(reply);
                tx.settle_accepted(Outcome::failure, &refusal);
            }
            Expect::Bdat => {
                if let Some(Body::Bdat { in_flight, .. }) = tx.body.as_mut() {
                    *in_flight = in_flight.saturating_sub(1);
                }
                if reply.is_positive() {
                    let limits = self.config.limits.clone();
                    if let Some(e) = tx.flush_chunk(&mut self.out, &limits, pipelining) {
                        self.expect.push_back(e);
                    }
                    let ends = tx.flush_last(&mut self.out, lmtp, pipelining);
                    self.expect.extend(ends);
                } else {
                    // RFC 3030 §2: a refused chunk ends the transaction; no
                    // more chunks go out.
                    tx.settle_accepted(Outcome::failure, &reply);
                    tx.body = None;
                    if self.phase == Phase::Body {
                        self.phase = Phase::Talking;
                    }
                }
            }
            Expect::DataEnd(index) => {
                match index {
                    Some(i) => tx.set(i, Outcome::final_reply(reply)),
                    None => tx.settle_accepted(Outcome::final_reply, &reply),
                }
                if !self.expect.iter().any(|e| matches!(e, Expect::DataEnd(_))) {
                    tx.data_done = true;
                }
            }
            Expect::Rset => {
                tx.data_done = true;
                tx.mail_ok = false;
            }
            _ => {}
        }
        self.settle();
    }

    /// With nothing in flight and nothing more to send, the transaction is
    /// over: RSET first if the server still has it open (RFC 5321 §4.1.1.5).
    fn settle(&mut self) {
        if !self.expect.is_empty() || self.phase != Phase::Talking {
            return;
        }
        let Some(tx) = self.transaction.as_ref() else {
            return;
        };
        if tx.mail_ok && !tx.data_done {
            self.command(&Command::Rset, Expect::Rset);
            return;
        }
        if let Some(tx) = self.transaction.take() {
            self.events
                .push_back(ClientEvent::TransactionDone(tx.finish(None)));
        }
        self.ready();
    }
}
