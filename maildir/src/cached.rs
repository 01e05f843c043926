//! Reads that never wait for the disk: a message file's bytes, if the page
//! cache holds them all.
//!
//! Why: an IMAP server spends most of a FETCH handing the read to a
//! thread pool and back (two wake-ups and two context switches per
//! message), while the read itself — a file Dovecot or we wrote moments
//! ago, or read a moment ago — is a copy from the page cache. Linux's
//! `preadv2(.., RWF_NOWAIT)` (4.14) reads only what is cached and fails
//! with `EAGAIN` otherwise, so a caller on an event loop can try the read
//! in place and hand only the misses to its blocking pool (issue "IMAP
//! performance"). Elsewhere, or where the filesystem refuses the flag
//! (`EOPNOTSUPP`), every read is a miss and takes the pool, as before.

use std::fs::File;
use std::io::{self, IoSliceMut};

/// The first `len` bytes of `file` (from offset 0), if every one of them is
/// in the page cache; `None` when any is not, or when the kernel cannot
/// tell (the caller reads it the blocking way). Never waits for the disk.
/// Fewer than `len` bytes when the file is shorter.
///
/// # Errors
/// IO errors other than "not cached".
pub fn read_if_cached(file: &File, len: usize) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        let slice = &mut buf[filled..];
        match rustix::io::preadv2(
            file,
            &mut [IoSliceMut::new(slice)],
            filled as u64,
            rustix::io::ReadWriteFlags::NOWAIT,
        ) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            // Not (all) cached, or no RWF_NOWAIT on this kernel/filesystem.
            Err(
                rustix::io::Errno::AGAIN | rustix::io::Errno::OPNOTSUPP | rustix::io::Errno::NOSYS,
            )
            | Err(rustix::io::Errno::INVAL) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
    buf.truncate(filled);
    Ok(Some(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_just_written_is_read_from_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m");
        std::fs::write(&path, b"Subject: cached\r\n\r\nbody\r\n").unwrap();
        let file = File::open(&path).unwrap();
        // ext4, xfs, btrfs and tmpfs support RWF_NOWAIT (Linux >= 4.14):
        // a file just written is in the page cache.
        let bytes = read_if_cached(&file, 64).unwrap();
        assert_eq!(
            bytes.as_deref(),
            Some(&b"Subject: cached\r\n\r\nbody\r\n"[..])
        );
        // A prefix only.
        let head = read_if_cached(&file, 8).unwrap();
        assert_eq!(head.as_deref(), Some(&b"Subject:"[..]));
        // An empty file.
        std::fs::write(&path, b"").unwrap();
        let file = File::open(&path).unwrap();
        assert_eq!(read_if_cached(&file, 10).unwrap(), Some(Vec::new()));
    }
}
