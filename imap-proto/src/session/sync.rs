//! The changes of this session's own writes, announced before its tagged
//! answer: after APPEND, COPY and MOVE the session asks the adapter
//! ([`Event::Sync`]) to hand in what the store published, so that the new
//! messages of the selected mailbox arrive as EXISTS before the tagged OK
//! (RFC 9051 §6.3.12 and §6.4.7) and NOTIFY (RFC 5465) hears of the
//! mailboxes written to. The answer waits meanwhile, whatever its outcome.

use super::ServerSession;
use super::pending::{AfterSync, Pending};
use super::types::{Event, RequestId};

impl ServerSession {
    /// Asks for the changes, then completes with `then`.
    pub(super) fn sync_then(&mut self, then: AfterSync) {
        self.ask(|id| Event::Sync { id }, Pending::Sync(then));
    }

    /// Answers an [`Event::Sync`]: the changes published so far are in
    /// (handed in with [`mailbox_changed`](Self::mailbox_changed) and the
    /// `notify_*` calls); the command's answer follows. `Err(())` when `id`
    /// is not the question waited on.
    #[allow(clippy::result_unit_err)]
    pub fn respond_sync(&mut self, id: RequestId) -> Result<(), ()> {
        let Some(Pending::Sync(then)) = self.take_pending(id, |p| matches!(p, Pending::Sync(_)))
        else {
            return Err(());
        };
        match then {
            AfterSync::AppendEnd { tag, answer } => self.finish_append_end(tag, answer),
            AfterSync::Copy {
                tag,
                uid,
                is_move,
                answer,
            } => self.finish_copy(tag, uid, is_move, answer),
        }
        Ok(())
    }
}
