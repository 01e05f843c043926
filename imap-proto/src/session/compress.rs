//! COMPRESS=DEFLATE (RFC 4978): the command's answer and the transport
//! switch it asks of the adapter.

use super::{ServerSession, TransportKind, Wait};
use crate::response::{Code, RespText, UnitCode};
use crate::types::{Atom, Capability, Tag};

impl ServerSession {
    /// `COMPRESS algorithm` (RFC 4978 §3). Valid after login (the
    /// capability is only offered then, as Dovecot does). The tagged OK is
    /// the last uncompressed octets; the session then waits for
    /// [`transport_switched`](ServerSession::transport_switched) and reads
    /// nothing more, so whatever the client sent after the command reaches
    /// the adapter's inflater.
    pub(super) fn compress(&mut self, tag: Tag, algorithm: &Atom) {
        if !self.offers(&Capability::CompressDeflate) {
            self.bad(tag, "COMPRESS not available");
            return;
        }
        if !algorithm.as_str().eq_ignore_ascii_case("DEFLATE") {
            // RFC 4978 §4 defines only DEFLATE.
            self.bad(tag, "Unknown compression algorithm");
            return;
        }
        if self.compress_active {
            // RFC 4978 §3: NO with COMPRESSIONACTIVE, naming the layer.
            self.no(
                tag,
                RespText::with_code(
                    Code::Unit(UnitCode::CompressionActive),
                    "DEFLATE active via COMPRESS",
                ),
            );
            return;
        }
        self.ok(tag, None, "DEFLATE active");
        self.wait = Wait::Switch {
            emitted: false,
            kind: TransportKind::Deflate,
        };
    }
}
