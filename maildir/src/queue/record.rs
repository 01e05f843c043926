//! The queue's ids and value encodings, in the style of `codec.rs`:
//! little-endian, a version byte first, decoders ignore appended fields.
//! [`QueueId`] lives here rather than in the parent module so that the
//! queue's committer (`batch.rs`) does not import its parent.

use std::fmt;
use std::str::FromStr;

use crate::error::StoreError;

/// A queued message's id: stable while it is queued, printed in upper-case
/// hex by `sansmail queue list` and accepted back by `retry` / `delete`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueId(pub u64);

impl fmt::Display for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08X}", self.0)
    }
}

impl FromStr for QueueId {
    type Err = String;
    fn from_str(s: &str) -> Result<QueueId, String> {
        if s.is_empty() || s.len() > 16 {
            return Err(format!("not a queue id: {s:?}"));
        }
        u64::from_str_radix(s, 16)
            .map(QueueId)
            .map_err(|_| format!("not a queue id: {s:?}"))
    }
}

/// RFC 3461 §4.1 NOTIFY: which events the sender wants a DSN for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Notify {
    /// `NOTIFY=SUCCESS`.
    pub success: bool,
    /// `NOTIFY=FAILURE`.
    pub failure: bool,
    /// `NOTIFY=DELAY`.
    pub delay: bool,
}

impl Notify {
    /// `NOTIFY=NEVER`: no DSN whatever happens.
    pub const NEVER: Notify = Notify {
        success: false,
        failure: false,
        delay: false,
    };
    /// What a recipient without a NOTIFY parameter gets (RFC 3461 §4.1:
    /// "as if NOTIFY=FAILURE or NOTIFY=FAILURE,DELAY"; we send both).
    pub const DEFAULT: Notify = Notify {
        success: false,
        failure: true,
        delay: true,
    };

    fn bits(self) -> u8 {
        u8::from(self.success) | u8::from(self.failure) << 1 | u8::from(self.delay) << 2
    }

    fn from_bits(b: u8) -> Notify {
        Notify {
            success: b & 1 != 0,
            failure: b & 2 != 0,
            delay: b & 4 != 0,
        }
    }
}

/// RFC 3461 §4.3 RET: how much of the message a failure DSN returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    /// `RET=FULL`: the whole message.
    Full,
    /// `RET=HDRS`: the header only.
    Hdrs,
}

/// Where a queued recipient stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecipientState {
    /// Not yet attempted (the first attempt is immediate).
    Queued,
    /// A temporary failure (4xx or no connection): retried at `next_attempt`.
    Deferred,
    /// A permanent failure (5xx, null MX, expiry): kept until the failure
    /// DSN that reports it is queued (see [`crate::Settle`]).
    Failed,
    /// Delivered, and the sender asked for a success DSN (`NOTIFY=SUCCESS`):
    /// kept until that DSN is queued. Other delivered recipients are removed.
    Delivered,
}

impl RecipientState {
    /// The word `sansmail queue list` prints.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientState::Queued => "queued",
            RecipientState::Deferred => "deferred",
            RecipientState::Failed => "failed",
            RecipientState::Delivered => "delivered",
        }
    }

    fn code(self) -> u8 {
        match self {
            RecipientState::Queued => 0,
            RecipientState::Deferred => 1,
            RecipientState::Failed => 2,
            RecipientState::Delivered => 3,
        }
    }

    fn from_code(c: u8) -> Result<RecipientState, StoreError> {
        Ok(match c {
            0 => RecipientState::Queued,
            1 => RecipientState::Deferred,
            2 => RecipientState::Failed,
            3 => RecipientState::Delivered,
            _ => return Err(StoreError::Corrupt(format!("queue recipient state {c}"))),
        })
    }
}

/// A queued message (`queue_messages` table, keyed by the queue id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MessageRow {
    pub(crate) sender: Option<String>,
    pub(crate) envid: Option<String>,
    pub(crate) ret: Option<Ret>,
    pub(crate) is_dsn: bool,
    pub(crate) created: i64,
    pub(crate) size: u64,
}

/// A queued recipient (`queue_recipients`, keyed by (queue id, index)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RecipientRow {
    pub(crate) address: String,
    pub(crate) notify: Option<Notify>,
    pub(crate) orcpt: Option<String>,
    pub(crate) state: RecipientState,
    pub(crate) attempts: u32,
    pub(crate) next_attempt: i64,
    pub(crate) last_error: String,
    pub(crate) delay_reported: bool,
}

const VERSION: u8 = 1;

struct Writer(Vec<u8>);

impl Writer {
    fn new() -> Writer {
        Writer(vec![VERSION])
    }
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        // Fields are addresses, ids and one error line: far below 4 GiB.
        self.u32(u32::try_from(s.len()).unwrap_or(u32::MAX));
        self.0
            .extend_from_slice(&s.as_bytes()[..s.len().min(u32::MAX as usize)]);
    }
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(what: &'static str, bytes: &'a [u8]) -> Result<Reader<'a>, StoreError> {
        let mut r = Reader { bytes, what };
        let v = r.u8()?;
        if v == 0 || v > VERSION {
            return Err(StoreError::Corrupt(format!("{what}: unknown version {v}")));
        }
        Ok(r)
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if self.bytes.len() < n {
            return Err(StoreError::Corrupt(format!("{}: truncated", self.what)));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, StoreError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, StoreError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, StoreError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn i64(&mut self) -> Result<i64, StoreError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    fn str(&mut self) -> Result<String, StoreError> {
        let n = self.u32()? as usize;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec())
            .map_err(|_| StoreError::Corrupt(format!("{}: a string is not UTF-8", self.what)))
    }
    fn opt_str(&mut self) -> Result<Option<String>, StoreError> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.str()?)),
            t => Err(StoreError::Corrupt(format!(
                "{}: option tag {t}",
                self.what
            ))),
        }
    }
}

impl MessageRow {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.opt_str(self.sender.as_deref());
        w.opt_str(self.envid.as_deref());
        w.u8(match self.ret {
            None => 0,
            Some(Ret::Full) => 1,
            Some(Ret::Hdrs) => 2,
        });
        w.u8(u8::from(self.is_dsn));
        w.i64(self.created);
        w.u64(self.size);
        w.0
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<MessageRow, StoreError> {
        let mut r = Reader::new("queued message", bytes)?;
        Ok(MessageRow {
            sender: r.opt_str()?,
            envid: r.opt_str()?,
            ret: match r.u8()? {
                0 => None,
                1 => Some(Ret::Full),
                2 => Some(Ret::Hdrs),
                t => return Err(StoreError::Corrupt(format!("queued message: RET {t}"))),
            },
            is_dsn: r.u8()? != 0,
            created: r.i64()?,
            size: r.u64()?,
        })
    }
}

impl RecipientRow {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.str(&self.address);
        w.u8(self.notify.map_or(0x80, Notify::bits));
        w.opt_str(self.orcpt.as_deref());
        w.u8(self.state.code());
        w.u32(self.attempts);
        w.i64(self.next_attempt);
        w.str(&self.last_error);
        w.u8(u8::from(self.delay_reported));
        w.0
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<RecipientRow, StoreError> {
        let mut r = Reader::new("queued recipient", bytes)?;
        Ok(RecipientRow {
            address: r.str()?,
            notify: match r.u8()? {
                0x80 => None,
                b => Some(Notify::from_bits(b)),
            },
            orcpt: r.opt_str()?,
            state: RecipientState::from_code(r.u8()?)?,
            attempts: r.u32()?,
            next_attempt: r.i64()?,
            last_error: r.str()?,
            delay_reported: r.u8()? != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rcpt() -> RecipientRow {
        RecipientRow {
            address: "bob@example.net".into(),
            notify: Some(Notify::NEVER),
            orcpt: Some("rfc822;bob@example.net".into()),
            state: RecipientState::Deferred,
            attempts: 3,
            next_attempt: 1_700_000_000,
            last_error: "451 4.3.0 try later".into(),
            delay_reported: true,
        }
    }

    #[test]
    fn rows_round_trip_and_reject_truncation() {
        let m = MessageRow {
            sender: None,
            envid: Some("env-1".into()),
            ret: Some(Ret::Hdrs),
            is_dsn: true,
            created: -5,
            size: 1234,
        };
        let bytes = m.encode();
        assert_eq!(MessageRow::decode(&bytes).unwrap(), m);
        let r = rcpt();
        let rb = r.encode();
        assert_eq!(RecipientRow::decode(&rb).unwrap(), r);
        for n in 0..rb.len() {
            assert!(RecipientRow::decode(&rb[..n]).is_err(), "{n}");
        }
        for n in 0..bytes.len() {
            assert!(MessageRow::decode(&bytes[..n]).is_err(), "{n}");
        }
        let mut default = rcpt();
        default.notify = None;
        assert_eq!(
            RecipientRow::decode(&default.encode()).unwrap().notify,
            None
        );
    }

    proptest::proptest! {
        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
            let _ = RecipientRow::decode(&bytes);
            let _ = MessageRow::decode(&bytes);
        }
    }
}
