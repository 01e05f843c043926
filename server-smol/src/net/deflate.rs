//! COMPRESS=DEFLATE (RFC 4978) as a stream layer, switched in after the
//! session's `OK DEFLATE active` the way STARTTLS switches in TLS.
//!
//! Both directions are raw DEFLATE (RFC 1951: no zlib header, RFC 4978 §3)
//! through `flate2` with its pure-Rust `miniz_oxide` backend. Output is
//! compressed as it is written and ends in a sync flush (RFC 1951 empty
//! stored block) at every [`AsyncWrite::poll_flush`]: the pump flushes
//! after each write batch, so the client can decode every response
//! without waiting for more (RFC 4978 §4 asks for this).
//!
//! # Memory
//!
//! The DEFLATE state is the bound: `miniz_oxide`'s compressor keeps its
//! 32 KiB window plus hash chains and a code buffer, the decompressor its
//! 32 KiB window and tables: 362,622 bytes (354 KiB) in all, measured by
//! `tests/deflate_memory.rs` ([`DeflateCodec::STATE_BYTES`]). Beyond that a connection holds
//! at most one socket read of compressed input ([`READ_CHUNK`]) and the
//! compressed form of one write batch, both freed once used. Inflating is
//! pull-based: the pump asks for at most its read buffer's size, so a
//! small input that inflates hugely (a "zip bomb") costs no memory, only
//! the session's usual backpressure.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use futures_lite::{AsyncRead, AsyncWrite};

use super::Stream;

/// How many compressed octets one read from the socket may bring in.
pub const READ_CHUNK: usize = 16 * 1024;

/// Compressed output queued beyond this is written to the socket before
/// more is compressed, so a long write cannot grow the queue without end.
const WRITE_HIGH_WATER: usize = 64 * 1024;

/// Output buffers larger than this are freed once drained, so an idle
/// connection does not keep the memory of its largest response.
const KEEP_CAPACITY: usize = 16 * 1024;

/// The sans-IO half: raw DEFLATE in both directions with bounded queues.
/// `DeflateStream` (in this module) drives it over a `net::Stream`.
pub struct DeflateCodec {
    inflate: Decompress,
    deflate: Compress,
    /// Compressed octets read from the peer and not inflated yet.
    input: Vec<u8>,
    input_pos: usize,
    /// The last inflate filled the caller's buffer: the inflater may hold
    /// more decoded octets even without new input.
    more_out: bool,
    /// The peer ended its DEFLATE stream (a final block): reads end.
    finished: bool,
    /// Compressed octets for the peer, not written yet.
    output: Vec<u8>,
    output_pos: usize,
    /// Octets were compressed since the last sync flush.
    unflushed: bool,
}

impl Default for DeflateCodec {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

impl DeflateCodec {
    /// Approximate heap bytes of the compressor and decompressor state
    /// (`miniz_oxide` 0.9: 362,622 bytes, any level), as measured by
    /// `tests/deflate_memory.rs`; the queues come on top while in use.
    pub const STATE_BYTES: usize = 360 * 1024;

    /// A codec whose first input is `pending`: octets the peer sent after
    /// its COMPRESS command, already compressed (RFC 4978 §3).
    pub fn new(pending: Vec<u8>) -> Self {
        DeflateCodec {
            // `false`: raw DEFLATE, no zlib header (RFC 4978 §3).
            inflate: Decompress::new(false),
            deflate: Compress::new(Compression::default(), false),
            input: pending,
            input_pos: 0,
            more_out: false,
            finished: false,
            output: Vec::new(),
            output_pos: 0,
            unflushed: false,
        }
    }

    /// Whether [`DeflateCodec::inflate`] may produce octets without new
    /// input from the peer.
    pub fn has_pending_input(&self) -> bool {
        !self.finished && (self.input_pos < self.input.len() || self.more_out)
    }

    /// Whether the peer ended its compressed stream.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Takes compressed octets from the peer; only call when
    /// [`DeflateCodec::has_pending_input`] is false.
    pub fn receive(&mut self, compressed: Vec<u8>) {
        debug_assert!(self.input_pos >= self.input.len());
        self.input = compressed;
        self.input_pos = 0;
    }

    /// A buffer of [`READ_CHUNK`] octets for the next socket read, reusing
    /// the spent input buffer.
    fn read_buffer(&mut self) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.input);
        self.input_pos = 0;
        buf.clear();
        buf.resize(READ_CHUNK, 0);
        buf
    }

    /// Inflates pending input into `out`; returns the octets written
    /// (0: more input is needed, or the stream ended).
    pub fn inflate(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() || self.finished {
            return Ok(0);
        }
        loop {
            let before_in = self.inflate.total_in();
            let before_out = self.inflate.total_out();
            let status = self
                .inflate
                .decompress(&self.input[self.input_pos..], out, FlushDecompress::None)
                .map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidData, format!("bad DEFLATE data: {e}"))
                })?;
            let used = (self.inflate.total_in() - before_in) as usize;
            let produced = (self.inflate.total_out() - before_out) as usize;
            self.input_pos += used;
            if self.input_pos >= self.input.len() && self.input.capacity() > READ_CHUNK {
                self.input = Vec::new();
                self.input_pos = 0;
            }
            self.more_out = produced == out.len();
            if status == Status::StreamEnd {
                self.finished = true;
            }
            if produced > 0 || self.finished {
                return Ok(produced);
            }
            if self.input_pos >= self.input.len() {
                // Everything given was taken into the inflater's state:
                // wait for more input.
                self.more_out = false;
                return Ok(0);
            }
            if used == 0 {
                // Never drop input silently: a stream that cannot move is
                // broken.
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "DEFLATE stream does not progress",
                ));
            }
        }
    }

    /// Compresses `data` into the output queue (no flush).
    pub fn deflate(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        self.unflushed = true;
        self.compress(data, FlushCompress::None)
    }

    /// Ends the compressed output written so far with a sync flush, once
    /// per batch: the peer can then decode all of it.
    pub fn sync_flush(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.unflushed) {
            self.compress(&[], FlushCompress::Sync)?;
        }
        Ok(())
    }

    fn compress(&mut self, mut data: &[u8], flush: FlushCompress) -> io::Result<()> {
        loop {
            // Room for the compressed form (rarely larger than the input)
            // plus the flush marker.
            self.output.reserve(data.len().max(1024) + 64);
            let before_in = self.deflate.total_in();
            let spare = self.output.capacity() - self.output.len();
            let before_len = self.output.len();
            self.deflate
                .compress_vec(data, &mut self.output, flush)
                .map_err(|e| io::Error::other(format!("DEFLATE failed: {e}")))?;
            let used = (self.deflate.total_in() - before_in) as usize;
            data = &data[used..];
            let filled = self.output.len() - before_len == spare;
            // A flush is complete when it did not run out of room.
            if data.is_empty() && (flush == FlushCompress::None || !filled) {
                return Ok(());
            }
        }
    }

    /// Compressed octets waiting for the socket.
    pub fn pending_output(&self) -> &[u8] {
        &self.output[self.output_pos..]
    }

    /// `n` octets of [`DeflateCodec::pending_output`] were written.
    pub fn output_written(&mut self, n: usize) {
        self.output_pos += n;
        if self.output_pos >= self.output.len() {
            self.output_pos = 0;
            if self.output.capacity() > KEEP_CAPACITY {
                self.output = Vec::new();
            } else {
                self.output.clear();
            }
        }
    }
}

/// A [`Stream`] with COMPRESS=DEFLATE on: reads inflate, writes deflate,
/// flushes end in a sync flush. TLS, if any, stays underneath (RFC 4978
/// §3 allows COMPRESS after STARTTLS; the data is compressed, then
/// encrypted).
pub struct DeflateStream {
    inner: Stream,
    codec: DeflateCodec,
}

impl DeflateStream {
    /// Wraps `inner`; `pending` are octets read after the COMPRESS command
    /// but not fed to the session (compressed by the client already).
    pub fn new(inner: Stream, pending: Vec<u8>) -> Self {
        DeflateStream {
            inner,
            codec: DeflateCodec::new(pending),
        }
    }

    /// The stream underneath.
    pub fn inner(&self) -> &Stream {
        &self.inner
    }

    /// Whether a read can make progress without the socket.
    pub fn has_pending_input(&self) -> bool {
        self.codec.has_pending_input() || self.codec.is_finished()
    }

    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.codec.pending_output().is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, self.codec.pending_output()))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.codec.output_written(n);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for DeflateStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            if this.codec.is_finished() {
                return Poll::Ready(Ok(0));
            }
            if this.codec.has_pending_input() {
                let n = this.codec.inflate(buf)?;
                if n > 0 || this.codec.is_finished() {
                    return Poll::Ready(Ok(n));
                }
            }
            let mut compressed = this.codec.read_buffer();
            match Pin::new(&mut this.inner).poll_read(cx, &mut compressed) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Ok(0)),
                Poll::Ready(Ok(n)) => {
                    compressed.truncate(n);
                    this.codec.receive(compressed);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                // Nothing held while waiting: an idle connection keeps no
                // read buffer.
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl AsyncWrite for DeflateStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.codec.pending_output().len() >= WRITE_HIGH_WATER {
            ready!(this.poll_drain(cx))?;
        }
        this.codec.deflate(buf)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.codec.sync_flush()?;
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.codec.sync_flush()?;
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inflates everything `codec` produced, as a client would.
    fn client_inflate(client: &mut Decompress, compressed: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(compressed.len() * 20 + 1024);
        client
            .decompress_vec(compressed, &mut out, FlushDecompress::Sync)
            .unwrap();
        out
    }

    fn client_deflate(client: &mut Compress, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + 1024);
        client
            .compress_vec(data, &mut out, FlushCompress::Sync)
            .unwrap();
        out
    }

    #[test]
    fn each_flush_is_decodable_on_its_own() {
        let mut codec = DeflateCodec::default();
        let mut client = Decompress::new(false);
        for (i, text) in ["* 1 EXISTS\r\n", "a1 OK done\r\n"].iter().enumerate() {
            codec.deflate(text.as_bytes()).unwrap();
            codec.sync_flush().unwrap();
            let wire = codec.pending_output().to_vec();
            // The sync flush marker: an empty stored block.
            assert!(wire.ends_with(&[0, 0, 0xff, 0xff]), "batch {i}: {wire:?}");
            codec.output_written(wire.len());
            assert_eq!(client_inflate(&mut client, &wire), text.as_bytes());
        }
        // A flush with nothing new adds nothing.
        codec.sync_flush().unwrap();
        assert!(codec.pending_output().is_empty());
    }

    #[test]
    fn inflates_in_small_reads_and_across_inputs() {
        let mut client = Compress::new(Compression::default(), false);
        let text: Vec<u8> = (0..2000)
            .flat_map(|i| format!("a{i} NOOP\r\n").into_bytes())
            .collect();
        let wire = client_deflate(&mut client, &text);
        let (first, second) = wire.split_at(wire.len() / 3);
        let mut codec = DeflateCodec::new(first.to_vec());
        let mut got = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            let n = codec.inflate(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert!(!codec.has_pending_input());
        codec.receive(second.to_vec());
        while codec.has_pending_input() {
            let n = codec.inflate(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, text);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut codec = DeflateCodec::new(vec![0xff; 64]);
        let mut buf = [0u8; 64];
        let r = codec.inflate(&mut buf);
        assert_eq!(r.unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn a_bomb_inflates_only_as_far_as_asked() {
        // 16 MiB of zeros compress to a few KiB; each call yields at most
        // the caller's buffer.
        let mut client = Compress::new(Compression::best(), false);
        let zeros = vec![0u8; 16 << 20];
        let mut wire = Vec::with_capacity(1 << 20);
        client
            .compress_vec(&zeros, &mut wire, FlushCompress::Sync)
            .unwrap();
        assert!(wire.len() < 64 * 1024, "{}", wire.len());
        let mut codec = DeflateCodec::new(wire);
        let mut buf = vec![0u8; 4096];
        assert_eq!(codec.inflate(&mut buf).unwrap(), 4096);
        assert!(codec.has_pending_input());
    }
}
