//! QUOTA (RFC 9208): GETQUOTA, GETQUOTAROOT and SETQUOTA over one quota
//! root per account, named `""` (as in the RFC's examples), with the
//! STORAGE (in KiB) and MESSAGE resources. The adapter reports usage and
//! limits ([`QuotaAnswer`]); a resource without a limit is not listed, and
//! an account without any limit has no quota root. Limits come from the
//! server's configuration, so SETQUOTA is refused (QUOTASET is not offered).

use super::pending::Pending;
use super::{Event, QuotaAnswer, RequestId, ServerSession};
use crate::response::{Code, Data, QuotaResource, RespText, Response, UnitCode};
use crate::types::{AString, Atom, Mailbox, Tag};

/// The one quota root of an account.
const ROOT: &str = "";

impl QuotaAnswer {
    /// The resources with a limit, as RFC 9208 §5.1 lists them.
    fn resources(&self) -> Vec<QuotaResource> {
        let mut out = Vec::new();
        let atom = |s: &str| Atom::try_from(s).unwrap_or_else(|_| unreachable!());
        if let Some(limit) = self.storage_limit {
            // STORAGE counts units of 1024 octets (RFC 9208 §5.1); usage
            // rounds up so that a non-empty account never shows 0.
            out.push(QuotaResource {
                name: atom("STORAGE"),
                usage: self.storage_used.div_ceil(1024),
                limit: limit / 1024,
            });
        }
        if let Some(limit) = self.message_limit {
            out.push(QuotaResource {
                name: atom("MESSAGE"),
                usage: self.messages_used,
                limit,
            });
        }
        out
    }
}

impl ServerSession {
    /// GETQUOTA: only the root `""` exists.
    pub(super) fn get_quota(&mut self, tag: Tag, root: AString) {
        if root.as_bytes() != ROOT.as_bytes() {
            let text = RespText::with_code(Code::Unit(UnitCode::NonExistent), "No such quota root");
            self.no(tag, text);
            return;
        }
        self.ask(
            |id| Event::Quota { id, mailbox: None },
            Pending::Quota { tag, mailbox: None },
        );
    }

    /// GETQUOTAROOT: the adapter checks that the mailbox exists.
    pub(super) fn get_quota_root(&mut self, tag: Tag, mailbox: Mailbox) {
        let Some(name) = self.valid_name(&tag, &mailbox) else {
            return;
        };
        self.ask(
            |id| Event::Quota {
                id,
                mailbox: Some(name),
            },
            Pending::Quota {
                tag,
                mailbox: Some(mailbox),
            },
        );
    }

    /// SETQUOTA: limits are the server's configuration (RFC 9208 §4.1
    /// lets a server refuse; QUOTASET is not advertised).
    pub(super) fn set_quota(&mut self, tag: Tag) {
        let text = RespText::with_code(
            Code::Unit(UnitCode::NoPerm),
            "Quota limits are set in the server configuration",
        );
        self.no(tag, text);
    }

    /// Answers an [`Event::Quota`]: usage and limits of the account, or
    /// a refusal (for GETQUOTAROOT of a mailbox that does not exist).
    pub fn respond_quota(
        &mut self,
        id: RequestId,
        answer: Result<QuotaAnswer, RespText>,
    ) -> Result<(), Result<QuotaAnswer, RespText>> {
        let Some(Pending::Quota { tag, mailbox }) =
            self.take_pending(id, |p| matches!(p, Pending::Quota { .. }))
        else {
            return Err(answer);
        };
        let a = match answer {
            Ok(a) => a,
            Err(text) => {
                self.no(tag, text);
                return Ok(());
            }
        };
        let resources = a.resources();
        let root = AString::from_bytes(ROOT.as_bytes()).unwrap_or_else(|_| unreachable!());
        match mailbox {
            Some(mailbox) => {
                let roots = if resources.is_empty() {
                    vec![]
                } else {
                    vec![root.clone()]
                };
                self.send(&Response::Data(Data::QuotaRoot { mailbox, roots }));
                if !resources.is_empty() {
                    self.send(&Response::Data(Data::Quota { root, resources }));
                }
                self.complete(tag, true, None, "GETQUOTAROOT completed");
            }
            None if resources.is_empty() => {
                let text =
                    RespText::with_code(Code::Unit(UnitCode::NonExistent), "No such quota root");
                self.no(tag, text);
            }
            None => {
                self.send(&Response::Data(Data::Quota { root, resources }));
                self.complete(tag, true, None, "GETQUOTA completed");
            }
        }
        Ok(())
    }
}
