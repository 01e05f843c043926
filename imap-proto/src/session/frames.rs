//! Frames from the framer: a line continues the exchange in progress
//! (SASL, IDLE, an APPEND's tail) or is a command; literal data streams
//! into an APPEND; a discarded frame (over a limit) is answered with its
//! command's tag and the exchange it interrupted ends.

use super::{Event, ServerSession, Wait};
use crate::framer::Frame;
use crate::response::{Code, RespText, Response, Status};
use crate::types::Tag;

impl ServerSession {
    pub(super) fn handle_frame(&mut self, frame: Frame) {
        match frame {
            Frame::Complete(bytes) => match std::mem::replace(&mut self.wait, Wait::Nothing) {
                Wait::Sasl { tag, step } => self.sasl_line(tag, step, &bytes),
                Wait::Idle { tag } => self.idle_line(tag, &bytes),
                Wait::Appending => {
                    self.wait = Wait::Appending;
                    self.append_complete(bytes);
                }
                other => {
                    self.wait = other;
                    self.command(&bytes);
                }
            },
            Frame::LiteralAnnounced {
                tag,
                command_so_far,
                size,
                mode,
                ..
            } => self.literal_announced(tag, &command_so_far, size, mode),
            Frame::LiteralData(data) => {
                if matches!(self.wait, Wait::Appending) {
                    self.append_data(data);
                }
            }
            Frame::Discarded { tag, reason } => self.discarded(tag, reason),
        }
    }

    pub(super) fn discarded(&mut self, tag: Option<Tag>, reason: crate::framer::DiscardReason) {
        use crate::framer::DiscardReason as R;
        match std::mem::replace(&mut self.wait, Wait::Nothing) {
            Wait::Appending => {
                // The framer skipped the rest of the command already.
                if let Some(a) = self.appending.as_mut() {
                    a.announced = None;
                }
                let text = match reason {
                    R::LiteralTooLarge { .. } | R::NonSyncLiteralTooLarge { .. } => {
                        RespText::with_code(
                            Code::Unit(crate::response::UnitCode::TooBig),
                            "Literal too large",
                        )
                    }
                    _ => RespText::plain("APPEND aborted: command too long"),
                };
                self.append_fail(crate::response::Condition::Bad, text);
                if let R::NonSyncLiteralTooLarge { size } = reason
                    && size > self.config.limits.max_command_size as u64
                {
                    self.close();
                }
                return;
            }
            // An over-long line ends the exchange it interrupts.
            Wait::Sasl { tag, .. } => {
                self.bad(tag, "SASL response too long");
                return;
            }
            Wait::Idle { tag } => {
                self.events.push_back(Event::IdleDone);
                self.bad(tag, "Expected DONE");
                return;
            }
            other => self.wait = other,
        }
        if let Some(answer) = self.discard_answer.take() {
            if let Status::Tagged {
                condition, text, ..
            } = answer
                && let Some(tag) = tag.clone()
            {
                self.tagged(tag, condition, text);
            }
            return;
        }
        let text = match reason {
            R::LineTooLong => RespText::plain("Line too long"),
            R::CommandTooLarge => RespText::plain("Command too long"),
            R::LiteralTooLarge { .. } | R::NonSyncLiteralTooLarge { .. } => RespText::with_code(
                Code::Unit(crate::response::UnitCode::TooBig),
                "Literal too large",
            ),
            R::LiteralRejected { .. } => RespText::plain("Literal refused"),
        };
        let status = match tag {
            Some(tag) => Status::Tagged {
                tag,
                condition: crate::response::Condition::Bad,
                text,
            },
            None => Status::Untagged {
                condition: crate::response::Condition::Bad,
                text,
            },
        };
        match status {
            Status::Tagged {
                tag,
                condition,
                text,
            } => self.tagged(tag, condition, text),
            other => {
                self.bad_commands += 1;
                self.send(&Response::Status(other));
            }
        }
        // The framer swallows the rest of the stream after a
        // non-synchronising literal too large to skip: end the session.
        if let R::NonSyncLiteralTooLarge { size } = reason
            && size > self.config.limits.max_command_size as u64
        {
            self.close();
        }
    }
}
