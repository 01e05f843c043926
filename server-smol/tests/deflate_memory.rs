//! The per-connection memory of COMPRESS=DEFLATE: heap bytes held by one
//! [`DeflateCodec`] (the compressor and decompressor state of
//! `miniz_oxide`), measured with a counting allocator, stay within
//! [`DeflateCodec::STATE_BYTES`]; the queues are freed once drained.

use sansmail::internals::DeflateCodec;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

#[allow(unsafe_code)]
// SAFETY: forwards to the system allocator and only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::SeqCst);
        // SAFETY: same layout as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::SeqCst);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn codec_state_is_bounded_and_queues_are_freed() {
    let before = LIVE.load(Ordering::SeqCst);
    let mut codec = DeflateCodec::default();
    let state = LIVE.load(Ordering::SeqCst) - before;
    // One large write batch, then everything written out.
    let batch: Vec<u8> = (0..20_000)
        .flat_map(|i| format!("* {i} FETCH (FLAGS (\\Seen))\r\n").into_bytes())
        .collect();
    codec.deflate(&batch).unwrap();
    codec.sync_flush().unwrap();
    let n = codec.pending_output().len();
    codec.output_written(n);
    drop(batch);
    let idle = LIVE.load(Ordering::SeqCst) - before;
    println!(
        "DEFLATE state: {state} bytes after new(), {idle} bytes idle after a {n}-octet batch \
         (limit {})",
        DeflateCodec::STATE_BYTES
    );
    assert!(state > 0, "nothing allocated?");
    assert!(
        idle as usize <= DeflateCodec::STATE_BYTES,
        "{idle} > {}",
        DeflateCodec::STATE_BYTES
    );
    drop(codec);
    // Everything the codec held is freed. A few hundred octets of slack:
    // the test harness's own output capture allocates on this thread too
    // (the `println!` above).
    let left = LIVE.load(Ordering::SeqCst) - before;
    assert!(left.abs() < 4096, "{left} octets still held after drop");
}
