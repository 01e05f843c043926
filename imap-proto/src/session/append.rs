//! APPEND (RFC 9051 §6.3.12): the head is read from the literal
//! announcement, the adapter accepts or refuses before `+`, the message
//! streams as chunks (docs/DESIGN.md §2), and the end is answered with
//! APPENDUID (RFC 4315).

use super::dispatch::Pending;
use super::{AppendAnswer, Event, RequestId, ServerSession, SessionState, Wait};
use crate::response::{Code, Condition, RespText, Response, Status, UnitCode};
use crate::types::{LiteralMode, SequenceSet, Tag};

impl ServerSession {
    /// An APPEND literal was announced (`tag APPEND box ... {N}`).
    pub(super) fn literal_announced(
        &mut self,
        tag: Option<Tag>,
        so_far: &[u8],
        size: u64,
        mode: LiteralMode,
        binary: bool,
    ) {
        let refuse = |s: &mut Self, text: RespText, condition: Condition| {
            let _ = s.framer.reject_literal();
            let Some(tag) = tag.clone() else {
                return;
            };
            match mode {
                // The client waits for `+`: answer now.
                LiteralMode::Sync => s.tagged(tag, condition, text),
                // The octets are coming: answer once they are skipped.
                LiteralMode::NonSync => s.refuse_non_sync(tag, condition, text, size),
            }
        };
        match std::mem::replace(&mut self.wait, Wait::Nothing) {
            Wait::Nothing => {}
            Wait::AppendData { id, tag: t, .. } => {
                // A second message (MULTIAPPEND, RFC 3502) is not offered.
                self.events.push_back(Event::AppendAbort { id });
                let _ = t;
                refuse(
                    self,
                    RespText::plain("MULTIAPPEND not supported"),
                    Condition::Bad,
                );
                return;
            }
            Wait::Sasl { tag: t, .. } | Wait::Idle { tag: t } => {
                let _ = self.framer.reject_literal();
                if mode == LiteralMode::NonSync {
                    let text = RespText::plain("Unexpected literal");
                    self.refuse_non_sync(t, Condition::Bad, text, size);
                } else {
                    self.bad(t, "Unexpected literal");
                }
                return;
            }
            other => {
                self.wait = other;
                let _ = self.framer.reject_literal();
                return;
            }
        }
        if let Ok(head) = crate::command::AppendHead::parse(so_far) {
            if self.state == SessionState::NotAuthenticated {
                refuse(self, RespText::plain("Log in first"), Condition::Bad);
                return;
            }
            if head.utf8 && !self.enabled.utf8 {
                // RFC 6855 §4: the UTF8 data item exists once enabled.
                refuse(
                    self,
                    RespText::plain("UTF8 APPEND needs ENABLE UTF8=ACCEPT"),
                    Condition::Bad,
                );
                return;
            }
            if size > self.config.limits.max_message_size {
                let text = RespText::with_code(Code::Unit(UnitCode::TooBig), "Message too large");
                refuse(self, text, Condition::No);
                return;
            }
            let Some(name) = self.name_of(&head.mailbox).filter(|n| !n.is_empty()) else {
                refuse(
                    self,
                    RespText::plain("Invalid mailbox name"),
                    Condition::Bad,
                );
                return;
            };
            self.ask(
                |id| Event::AppendBegin {
                    id,
                    mailbox: name,
                    flags: head.flags.unwrap_or_default(),
                    date: head.date,
                    size,
                    binary,
                },
                Pending::AppendBegin {
                    tag: head.tag,
                    announced: Some(mode),
                    inline: None,
                    utf8: head.utf8,
                },
            );
            return;
        }
        if size <= self.config.limits.codec.max_literal_size && self.framer.accept_literal().is_ok()
        {
            if mode == LiteralMode::Sync {
                self.send(&Response::Continue(crate::response::Continue(
                    RespText::plain("Ready"),
                )));
            }
            return;
        }
        let text = RespText::with_code(Code::Unit(UnitCode::TooBig), "Literal too large");
        refuse(self, text, Condition::Bad);
    }

    /// Answers a refused non-synchronising literal (`{N+}`, RFC 7888).
    /// Its octets are already on their way: one no larger than
    /// [`skip_limit`](Self::skip_limit) is read and dropped in bounded
    /// chunks by the framer, then `condition` is sent, so the connection
    /// survives. A larger one (a `{9223372036854775807+}`) would keep the
    /// client waiting for an answer that only comes after it sent all of
    /// it: it is answered at once and the connection closed (RFC 7888 §4
    /// allows closing after a refused non-synchronising literal).
    pub(super) fn refuse_non_sync(
        &mut self,
        tag: Tag,
        condition: Condition,
        text: RespText,
        size: u64,
    ) {
        if size <= self.skip_limit() {
            self.discard_answer = Some(Status::Tagged {
                tag,
                condition,
                text,
            });
        } else {
            self.tagged(tag, condition, text);
            self.close();
        }
    }

    /// Largest refused non-synchronising literal that is skipped rather
    /// than ending the connection: twice the APPEND limit (a client that
    /// misjudged the limit keeps its session), at least one command.
    pub(super) fn skip_limit(&self) -> u64 {
        let l = &self.config.limits;
        l.max_message_size
            .saturating_mul(2)
            .max(l.codec.max_command_size as u64)
    }

    /// Answers an [`Event::AppendBegin`]: `Ok(())` sends `+` and the
    /// message follows as [`Event::AppendChunk`]s; `Err(text)` refuses
    /// (`[TRYCREATE]`, `[OVERQUOTA]`, `[TOOBIG]` ...).
    pub fn respond_append_begin(
        &mut self,
        id: RequestId,
        answer: Result<(), RespText>,
    ) -> Result<(), Result<(), RespText>> {
        let Some(Pending::AppendBegin {
            tag,
            announced,
            inline,
            utf8,
        }) = self.take_pending(id, |p| matches!(p, Pending::AppendBegin { .. }))
        else {
            return Err(answer);
        };
        match (answer, announced) {
            (Ok(()), Some(mode)) => {
                if self.framer.accept_literal_streaming().is_err() {
                    self.bad(tag, "APPEND failed");
                    return Ok(());
                }
                if mode == LiteralMode::Sync {
                    self.send(&Response::Continue(crate::response::Continue(
                        RespText::plain("Ready for literal data"),
                    )));
                }
                self.wait = Wait::AppendData { id, tag, utf8 };
            }
            (Ok(()), None) => {
                if let Some(data) = inline {
                    self.events.push_back(Event::AppendChunk { id, data });
                }
                self.events.push_back(Event::AppendEnd { id });
                self.wait = Wait::Answer {
                    id,
                    pending: Pending::AppendEnd { tag },
                };
            }
            (Err(text), Some(mode)) => {
                let _ = self.framer.reject_literal();
                match mode {
                    LiteralMode::Sync => self.no(tag, text),
                    LiteralMode::NonSync => {
                        self.discard_answer = Some(Status::Tagged {
                            tag,
                            condition: Condition::No,
                            text,
                        })
                    }
                }
            }
            (Err(text), None) => self.no(tag, text),
        }
        Ok(())
    }

    /// The rest of an APPEND after its streamed message: only CRLF may
    /// follow (no MULTIAPPEND), or `)` CRLF after a `UTF8 (` literal.
    pub(super) fn append_tail(&mut self, id: RequestId, tag: Tag, utf8: bool, command: &[u8]) {
        // A NUL octet in a plain streamed literal is, strictly, not
        // `CHAR8` (RFC 9051 §9), but real mail carries them and clients
        // that copy such a message between servers (mbsync, imapsync)
        // send it in a plain literal: it is stored as sent, like any
        // other octet (Postel; a literal8 is the clean way, RFC 3516).
        let last_line = match command[..command.len().saturating_sub(1)]
            .iter()
            .rposition(|b| *b == b'\n')
        {
            Some(p) => &command[p + 1..],
            None => command,
        };
        let last_line = match (utf8, last_line.split_first()) {
            (true, Some((b')', rest))) => rest,
            (true, _) => b"x",
            (false, _) => last_line,
        };
        if last_line == b"\r\n" || last_line == b"\n" {
            self.events.push_back(Event::AppendEnd { id });
            self.wait = Wait::Answer {
                id,
                pending: Pending::AppendEnd { tag },
            };
        } else {
            self.events.push_back(Event::AppendAbort { id });
            self.bad(tag, "Unexpected data after the message");
        }
    }

    /// Answers an [`Event::AppendEnd`]: `Ok(answer)` sends `OK
    /// [APPENDUID ...]`, `Err(text)` sends `NO`.
    pub fn respond_append_end(
        &mut self,
        id: RequestId,
        answer: Result<AppendAnswer, RespText>,
    ) -> Result<(), Result<AppendAnswer, RespText>> {
        let Some(Pending::AppendEnd { tag }) =
            self.take_pending(id, |p| matches!(p, Pending::AppendEnd { .. }))
        else {
            return Err(answer);
        };
        match answer {
            Ok(a) => {
                let code = Code::AppendUid {
                    uid_validity: a.uid_validity,
                    uids: SequenceSet::single(a.uid),
                };
                self.complete(tag, true, Some(code), "APPEND completed");
            }
            Err(text) => self.no(tag, text),
        }
        Ok(())
    }
}
