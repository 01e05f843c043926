//! LIST and LSUB (RFC 9051 §6.3.9, RFC 3501 §6.3.9) with LIST-EXTENDED
//! (RFC 5258), LIST-STATUS (RFC 5819), SPECIAL-USE (RFC 6154) and CHILDREN
//! (RFC 3348): the adapter lists every mailbox, the session matches and
//! formats.

use super::answers::status_items;
use super::pending::{ListRequest, ListStatusRest, Pending};
use super::{Event, MailboxInfo, RequestId, ServerSession, StatusAnswer};
use crate::Version;
use crate::command::{ListReturnOption, ListSelectOption};
use crate::response::{Data, Delimiter, ListItem, RespText, Response};
use crate::types::{ListMailbox, Mailbox, MailboxAttribute, Tag, decode_mutf7};
use std::collections::VecDeque;

fn wire_to_utf8(bytes: &[u8], version: Version) -> String {
    let s = String::from_utf8_lossy(bytes).into_owned();
    match version {
        Version::Rev1 => decode_mutf7(&s).unwrap_or(s),
        Version::Rev2 => s,
    }
}

impl ListRequest {
    pub(super) fn list(
        s: &ServerSession,
        selection: Vec<ListSelectOption>,
        reference: &Mailbox,
        patterns: &[ListMailbox],
        returns: Vec<ListReturnOption>,
    ) -> Result<ListRequest, &'static str> {
        // RFC 5258 §3: an option the server does not know is an error, and
        // RECURSIVEMATCH only modifies another selection option (alone, or
        // with only REMOTE, it is BAD). REMOTE asks for remote mailboxes
        // too: this server has none, so it changes nothing.
        if selection
            .iter()
            .any(|o| matches!(o, ListSelectOption::Other(_)))
        {
            return Err("Unknown LIST selection option");
        }
        if returns
            .iter()
            .any(|o| matches!(o, ListReturnOption::Other(_)))
        {
            return Err("Unknown LIST return option");
        }
        let recursive_match = selection.contains(&ListSelectOption::RecursiveMatch);
        let base = selection.iter().any(|o| {
            matches!(
                o,
                ListSelectOption::Subscribed | ListSelectOption::SpecialUse
            )
        });
        if recursive_match && !base {
            return Err("RECURSIVEMATCH needs another selection option");
        }
        let reference = wire_to_utf8(reference.as_bytes(), s.names());
        let delimiter_query =
            patterns.len() == 1 && patterns.iter().all(|p| p.as_bytes().is_empty());
        let subscribed_only = selection.contains(&ListSelectOption::Subscribed);
        let mut status = None;
        for r in &returns {
            if let ListReturnOption::Status(a) = r {
                status = Some(a.clone());
            }
        }
        Ok(ListRequest {
            patterns: patterns
                .iter()
                .map(|p| {
                    let full = format!("{reference}{}", wire_to_utf8(p.as_bytes(), s.names()));
                    normalise_inbox(full.chars().collect())
                })
                .collect(),
            lsub: false,
            subscribed_only,
            special_use_only: selection.contains(&ListSelectOption::SpecialUse),
            // RFC 5258 §3.1: SUBSCRIBED selection implies the attribute.
            return_subscribed: subscribed_only || returns.contains(&ListReturnOption::Subscribed),
            return_children: true,
            status,
            delimiter_query,
            recursive_match: recursive_match && subscribed_only,
        })
    }

    pub(super) fn lsub(
        s: &ServerSession,
        reference: &Mailbox,
        pattern: &ListMailbox,
    ) -> ListRequest {
        let reference = wire_to_utf8(reference.as_bytes(), s.names());
        let full = format!("{reference}{}", wire_to_utf8(pattern.as_bytes(), s.names()));
        ListRequest {
            patterns: vec![normalise_inbox(full.chars().collect())],
            lsub: true,
            subscribed_only: true,
            special_use_only: false,
            return_subscribed: false,
            return_children: false,
            status: None,
            delimiter_query: false,
            recursive_match: false,
        }
    }
}

/// Longest pattern matched (in characters, after collapsing wildcards);
/// longer patterns match nothing. Matching costs pattern × name length per
/// mailbox, so this bounds the work a LIST can ask for.
const MAX_PATTERN: usize = 1024;

/// `INBOX` is case-insensitive (RFC 9051 §5.1): a pattern starting with it
/// in any case is written in upper case, as the adapter names INBOX. Runs
/// of wildcards collapse (`**`, `*%`, `%*` are `*`; `%%` is `%`).
fn normalise_inbox(p: Vec<char>) -> Vec<char> {
    let mut out: Vec<char> = Vec::with_capacity(p.len());
    for c in p {
        match (out.last().copied(), c) {
            (Some('*'), '*' | '%') => {}
            (Some('%'), '*') => {
                out.pop();
                out.push('*');
            }
            (Some('%'), '%') => {}
            _ => out.push(c),
        }
    }
    let mut p = out;
    let head: String = p.iter().take(5).collect();
    if head.eq_ignore_ascii_case("INBOX") {
        for (c, u) in p.iter_mut().zip("INBOX".chars()) {
            *c = u;
        }
    }
    p
}

/// RFC 9051 §6.3.9: `*` matches zero or more characters, `%` the same
/// without the hierarchy delimiter. Dynamic programming over the pattern,
/// so no input makes it exponential.
pub(super) fn matches(pattern: &[char], name: &str, delimiter: char) -> bool {
    let m = pattern.len();
    if m > MAX_PATTERN {
        return false;
    }
    let mut row = vec![false; m + 1];
    row[0] = true;
    let close = |row: &mut Vec<bool>| {
        for j in 0..m {
            if row[j] && matches!(pattern[j], '*' | '%') {
                row[j + 1] = true;
            }
        }
    };
    close(&mut row);
    for c in name.chars() {
        let mut next = vec![false; m + 1];
        for j in 0..m {
            if !row[j] {
                continue;
            }
            match pattern[j] {
                '*' => next[j] = true,
                '%' if c != delimiter => next[j] = true,
                '%' => {}
                p if p == c => next[j + 1] = true,
                _ => {}
            }
        }
        close(&mut next);
        if !next.iter().any(|b| *b) {
            return false;
        }
        row = next;
    }
    row[m]
}

fn is_special_use(a: &MailboxAttribute) -> bool {
    matches!(
        a,
        MailboxAttribute::All
            | MailboxAttribute::Archive
            | MailboxAttribute::Drafts
            | MailboxAttribute::Flagged
            | MailboxAttribute::Junk
            | MailboxAttribute::Sent
            | MailboxAttribute::Trash
    )
}

/// Parents that exist only as a level of hierarchy ("a" of "a/b" when
/// there is no "a"). RFC 9051 §6.3.9: when `%` stops at such a level it is
/// listed with `\NonExistent` (`\Noselect` for IMAP4rev1). A parent is
/// added only for patterns that match it but no real mailbox below it.
fn implied_parents(
    all: &[MailboxInfo],
    patterns: &[Vec<char>],
    d: char,
    version: Version,
) -> Vec<MailboxInfo> {
    let mut out: Vec<MailboxInfo> = Vec::new();
    for info in all {
        let mut parent = String::new();
        let parts: Vec<&str> = info.name.split(d).collect();
        for part in parts.iter().take(parts.len().saturating_sub(1)) {
            if !parent.is_empty() {
                parent.push(d);
            }
            parent.push_str(part);
            if all.iter().any(|o| o.name == parent) || out.iter().any(|o| o.name == parent) {
                continue;
            }
            let prefix = format!("{parent}{d}");
            let wanted = patterns.iter().any(|p| {
                matches(p, &parent, d)
                    && !all
                        .iter()
                        .any(|o| o.name.starts_with(&prefix) && matches(p, &o.name, d))
            });
            if wanted {
                let attribute = match version {
                    Version::Rev1 => MailboxAttribute::NoSelect,
                    Version::Rev2 => MailboxAttribute::NonExistent,
                };
                out.push(MailboxInfo {
                    name: parent.clone(),
                    attributes: vec![attribute],
                    subscribed: false,
                });
            }
        }
    }
    out
}

impl ServerSession {
    pub(super) fn start_list(&mut self, tag: Tag, request: ListRequest) {
        if request.delimiter_query {
            // RFC 9051 §6.3.9: an empty pattern asks for the delimiter.
            let item = ListItem {
                attributes: vec![MailboxAttribute::NoSelect],
                delimiter: Delimiter::new(self.config.delimiter),
                mailbox: Mailbox::from_wire(crate::types::AString::String(
                    crate::types::IString::from_bytes(b"").unwrap_or_else(|_| unreachable!()),
                )),
                extended: Vec::new(),
            };
            self.send(&Response::Data(Data::List(item)));
            self.complete(tag, true, None, "LIST completed");
            return;
        }
        self.ask(|id| Event::List { id }, Pending::List { tag, request });
    }

    /// Answers an [`Event::List`] with every mailbox of the user.
    pub fn respond_list(
        &mut self,
        id: RequestId,
        answer: Result<Vec<MailboxInfo>, RespText>,
    ) -> Result<(), Result<Vec<MailboxInfo>, RespText>> {
        if let Some(Pending::NotifyList { tag }) =
            self.take_pending(id, |p| matches!(p, Pending::NotifyList { .. }))
        {
            match answer {
                Ok(list) => self.notify_list_answer(tag, list),
                // The NOTIFY itself is in place; only its STATUS failed.
                Err(text) => self.no(tag, text),
            }
            return Ok(());
        }
        let Some(Pending::List { tag, request }) =
            self.take_pending(id, |p| matches!(p, Pending::List { .. }))
        else {
            return Err(answer);
        };
        let all = match answer {
            Ok(v) => v,
            Err(text) => {
                self.no(tag, text);
                return Ok(());
            }
        };
        let d = self.config.delimiter;
        let mut all = all;
        if request.lsub {
            // RFC 3501 §6.3.9: when `%` stops at a level above a
            // subscribed mailbox whose parent is not subscribed, LSUB
            // lists that parent with `\Noselect`.
            let subscribed: Vec<MailboxInfo> =
                all.iter().filter(|m| m.subscribed).cloned().collect();
            let parents = implied_parents(&subscribed, &request.patterns, d, Version::Rev1);
            all.retain(|m| m.subscribed);
            all.extend(parents.into_iter().map(|mut p| {
                p.subscribed = true;
                p
            }));
        } else {
            all.extend(implied_parents(&all, &request.patterns, d, self.version));
        }
        let matched = |name: &str| request.patterns.iter().any(|p| matches(p, name, d));
        let mut queue = VecDeque::new();
        for info in &all {
            if !matched(&info.name) {
                continue;
            }
            // RFC 5258 §3.5: with RECURSIVEMATCH a mailbox with a
            // subscribed descendant the patterns do not reach is listed
            // (even unsubscribed) with CHILDINFO ("SUBSCRIBED").
            let prefix = format!("{}{d}", info.name);
            let child_info = request.recursive_match
                && all
                    .iter()
                    .any(|o| o.subscribed && o.name.starts_with(&prefix) && !matched(&o.name));
            if request.subscribed_only && !info.subscribed && !child_info {
                continue;
            }
            if request.special_use_only && !info.attributes.iter().any(is_special_use) {
                continue;
            }
            let mut attributes = info.attributes.clone();
            if request.return_children && !request.lsub {
                let prefix = format!("{}{d}", info.name);
                let has = all.iter().any(|o| o.name.starts_with(&prefix));
                attributes.retain(|a| {
                    !matches!(
                        a,
                        MailboxAttribute::HasChildren | MailboxAttribute::HasNoChildren
                    )
                });
                attributes.push(if has {
                    MailboxAttribute::HasChildren
                } else {
                    MailboxAttribute::HasNoChildren
                });
            }
            if request.return_subscribed && info.subscribed {
                attributes.push(MailboxAttribute::Subscribed);
            }
            let Ok(mailbox) = Mailbox::from_utf8(&info.name, Version::Rev2) else {
                continue;
            };
            let mut extended = Vec::new();
            if child_info {
                let word = |w: &[u8]| {
                    crate::types::AString::String(
                        crate::types::IString::from_bytes(w).unwrap_or_else(|_| unreachable!()),
                    )
                };
                extended.push((
                    word(b"CHILDINFO"),
                    crate::command::TaggedExtValue::Comp(vec![
                        crate::command::OptionValue::String(word(b"SUBSCRIBED")),
                    ]),
                ));
            }
            let item = ListItem {
                attributes,
                delimiter: Delimiter::new(d),
                mailbox,
                extended,
            };
            queue.push_back((item, info.name.clone()));
        }
        if let Some(attributes) = request.status.clone() {
            let rest = super::pending::ListStatusRest { queue, attributes };
            self.list_status_next(tag, rest);
            return Ok(());
        }
        for (item, _) in queue {
            let data = if request.lsub {
                Data::Lsub(item)
            } else {
                Data::List(item)
            };
            self.send(&Response::Data(data));
        }
        let text = if request.lsub {
            "LSUB completed"
        } else {
            "LIST completed"
        };
        self.complete(tag, true, None, text);
        Ok(())
    }

    /// Sends the next LIST line of a LIST-STATUS and asks for its STATUS.
    pub(super) fn list_status_next(&mut self, tag: Tag, mut rest: ListStatusRest) {
        let Some((item, name)) = rest.queue.pop_front() else {
            self.complete(tag, true, None, "LIST completed");
            return;
        };
        let selectable = !item.attributes.iter().any(|a| {
            matches!(
                a,
                MailboxAttribute::NoSelect | MailboxAttribute::NonExistent
            )
        });
        let mailbox = item.mailbox.clone();
        self.send(&Response::Data(Data::List(item)));
        if !selectable {
            self.list_status_next(tag, rest);
            return;
        }
        self.ask(
            |id| Event::Status { id, mailbox: name },
            Pending::ListStatus { tag, mailbox, rest },
        );
    }

    /// The STATUS part of a LIST-STATUS (errors are skipped: RFC 5819 §2).
    pub(super) fn list_status_answer(
        &mut self,
        tag: Tag,
        mailbox: Mailbox,
        rest: ListStatusRest,
        answer: Result<StatusAnswer, RespText>,
    ) {
        if let Ok(a) = answer {
            let items = status_items(&a, &rest.attributes, self.version);
            self.send(&Response::Data(Data::Status { mailbox, items }));
        }
        self.list_status_next(tag, rest);
    }
}

#[cfg(test)]
mod tests {
    use super::{matches, normalise_inbox};

    fn m(p: &str, n: &str) -> bool {
        matches(&p.chars().collect::<Vec<_>>(), n, '/')
    }

    #[test]
    fn wildcards() {
        assert!(m("*", "a/b/c"));
        assert!(m("%", "Sent"));
        assert!(!m("%", "a/b"));
        assert!(m("a/%", "a/b"));
        assert!(!m("a/%", "a/b/c"));
        assert!(m("a/*", "a/b/c"));
        assert!(m("*b*", "abc"));
        assert!(!m("x*", "abc"));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("%/%", "a/b"));
        assert!(m(&"*".repeat(500), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"));
        assert!(!m(&"a".repeat(2000), &"a".repeat(2000)));
        let p = normalise_inbox("inbox/%%*%x**".chars().collect());
        assert_eq!(p.iter().collect::<String>(), "INBOX/*x*");
    }
}
