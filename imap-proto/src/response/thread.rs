//! `thread-data` of RFC 5256 §4: the [`Thread`] tree, its encoder and its
//! parser. Both walk the tree with an explicit stack, so a deep thread (from
//! a crafted mailbox or a hostile server) cannot exhaust the call stack.

use crate::core::{PResult, fail, nz_number, sp};
use crate::encode::Encoder;
use nom::Parser;
use nom::bytes::complete::tag;
use std::num::NonZeroU32;

/// One `thread-list` (RFC 5256 §4):
/// `thread-list = "(" (thread-members / thread-nested) ")"`,
/// `thread-members = nz-number *(SP nz-number) [SP thread-nested]`,
/// `thread-nested = 2*thread-list`.
///
/// `members` is a chain: each message is the parent of the next. The last
/// member (or, when `members` is empty, a missing "dummy" parent) has the
/// threads of `children` as its replies, two or more of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Thread {
    /// Messages, each the parent of the next (empty for a dummy parent).
    pub members: Vec<NonZeroU32>,
    /// The branches under the last member: none, or at least two.
    pub children: Vec<Thread>,
}

/// Writes `thread-list`.
pub(crate) fn encode_thread(enc: &mut Encoder, root: &Thread) {
    // Each entry: the children still to write for an open thread-list.
    let mut stack: Vec<std::slice::Iter<'_, Thread>> = Vec::new();
    let open = |enc: &mut Encoder, t: &Thread| {
        enc.put(b"(");
        for (n, id) in t.members.iter().enumerate() {
            if n > 0 {
                enc.put(b" ");
            }
            enc.put_num(id);
        }
        if !t.members.is_empty() && !t.children.is_empty() {
            enc.put(b" ");
        }
    };
    open(enc, root);
    stack.push(root.children.iter());
    while let Some(it) = stack.last_mut() {
        match it.next() {
            Some(child) => {
                open(enc, child);
                stack.push(child.children.iter());
            }
            None => {
                enc.put(b")");
                stack.pop();
            }
        }
    }
}

/// `thread-list`, nested at most `depth` deep.
pub(crate) fn thread_list(i: &[u8], depth: usize) -> PResult<'_, Thread> {
    // The path from the root to the thread-list being read.
    let mut path: Vec<Thread> = Vec::new();
    let (mut r, _) = tag(&b"("[..]).parse(i)?;
    path.push(Thread::default());
    loop {
        if let Ok((r2, _)) = tag::<_, _, nom::error::Error<&[u8]>>(&b"("[..]).parse(r) {
            if path.len() >= depth.max(1) {
                return Err(fail(r));
            }
            path.push(Thread::default());
            r = r2;
            continue;
        }
        if let Ok((r2, _)) = tag::<_, _, nom::error::Error<&[u8]>>(&b")"[..]).parse(r) {
            r = r2;
            let Some(done) = path.pop() else {
                return Err(fail(r));
            };
            // thread-nested needs two lists; a list needs some content.
            if done.children.len() == 1 || (done.members.is_empty() && done.children.is_empty()) {
                return Err(fail(r));
            }
            match path.last_mut() {
                Some(parent) => parent.children.push(done),
                None => return Ok((r, done)),
            }
            continue;
        }
        let Some(cur) = path.last_mut() else {
            return Err(fail(r));
        };
        // Members come before any nested list, separated by SP.
        if !cur.children.is_empty() {
            return Err(fail(r));
        }
        let r2 = if cur.members.is_empty() { r } else { sp(r)?.0 };
        if cur.members.is_empty() || !r2.starts_with(b"(") {
            let (r3, n) = nz_number(r2)?;
            cur.members.push(n);
            r = r3;
        } else {
            r = r2;
        }
    }
}

/// `thread-data = "THREAD" [SP 1*thread-list]` after the name.
pub(crate) fn thread_data(i: &[u8], depth: usize) -> PResult<'_, Vec<Thread>> {
    let mut out = Vec::new();
    let Ok((mut r, _)) = sp(i) else {
        return Ok((i, out));
    };
    while r.starts_with(b"(") {
        let (r2, t) = thread_list(r, depth)?;
        out.push(t);
        r = r2;
    }
    if out.is_empty() {
        return Err(fail(i));
    }
    Ok((r, out))
}
