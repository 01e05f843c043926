//! [`BeneathFs`]: the real filesystem with every path below the data
//! directory resolved one component at a time, never through a symbolic
//! link (docs/DESIGN.md §3: "nothing under `data_dir` is reached through a
//! symlink").
//!
//! Checking with `lstat` and then using the path is a race: a local user
//! who can write into a Maildir swaps `cur/` or `.Folder` for a link
//! between the check and the use, and the server (often root) reads,
//! creates, renames or deletes files wherever the link points. Here the
//! data directory is opened once, when first used (following links: the
//! administrator chose it; replacing the directory under a running server
//! needs a restart, as with any server holding its store open), and the
//! components below it are resolved by one `openat2(root, "a/b/c",
//! RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH)` (Linux 5.6; the kernel walks the
//! path and fails with `ELOOP` at any link). Where `openat2` is missing
//! (an older kernel, or a seccomp filter refusing it) each component is
//! opened in turn with `openat(dirfd, name, O_DIRECTORY | O_NOFOLLOW)`,
//! which refuses the same links with a syscall per component (the store
//! resolves a few paths per IMAP command, so this is its hottest code
//! under load: issue "IMAP performance"). The final operation is
//! the `*at` call on the last directory (`openat(.., O_NOFOLLOW)`,
//! `renameat`, `linkat` without `AT_SYMLINK_FOLLOW`, `unlinkat`,
//! `mkdirat`, `statat(.., AT_SYMLINK_NOFOLLOW)`). A link anywhere below
//! the root therefore fails with `ELOOP` (or `ENOTDIR`) at use time, which
//! the store reports as [`StoreError::Symlink`](crate::StoreError). `..`
//! components are refused.
//!
//! [`rustix`] provides these calls as safe functions (this crate forbids
//! `unsafe`; `libc` would need it for every call and for `fdopendir`).
//! Paths outside the root (none in the store's layout) fall back to
//! [`RealFs`].

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};

use crate::fs::{DIR_MODE, FILE_MODE, FileStat, Fs, FsFile, RealFs};

/// The real filesystem, resolving every path beneath `root` without
/// following a symbolic link. See the module docs.
#[derive(Clone, Debug)]
pub struct BeneathFs {
    root: PathBuf,
    /// The data directory, opened at first use.
    root_fd: Arc<OnceLock<OwnedFd>>,
    /// `openat2` failed with `ENOSYS` or `EPERM` once: walk instead.
    no_openat2: Arc<AtomicBool>,
}

/// A directory to operate in: the data directory itself (borrowed from the
/// cache) or one opened below it.
enum DirFd<'a> {
    Root(BorrowedFd<'a>),
    Below(OwnedFd),
}

impl AsFd for DirFd<'_> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            DirFd::Root(fd) => *fd,
            DirFd::Below(fd) => fd.as_fd(),
        }
    }
}

/// `names` joined with `/` (each is a plain component: no `/`, no `..`).
fn relative(names: &[&OsStr]) -> OsString {
    let mut out = OsString::new();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push("/");
        }
        out.push(name);
    }
    out
}

impl BeneathFs {
    /// Operations on paths below `root` (the data directory) never follow
    /// a symbolic link below it.
    pub fn new(root: impl Into<PathBuf>) -> BeneathFs {
        BeneathFs {
            root: root.into(),
            root_fd: Arc::new(OnceLock::new()),
            no_openat2: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The components of `path` below the root, or `None` when it is not
    /// below it. `..` is refused.
    fn below<'p>(&self, path: &'p Path) -> io::Result<Option<Vec<&'p std::ffi::OsStr>>> {
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for c in rel.components() {
            match c {
                Component::Normal(n) => out.push(n),
                Component::CurDir => {}
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("path leaves the data directory: {}", path.display()),
                    ));
                }
            }
        }
        Ok(Some(out))
    }

    /// The data directory, opened (following links) at first use and kept.
    fn open_root(&self) -> io::Result<BorrowedFd<'_>> {
        if let Some(fd) = self.root_fd.get() {
            return Ok(fd.as_fd());
        }
        let root = if self.root.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &self.root
        };
        let fd = rustix::fs::open(
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        // Two threads may race here; one fd wins, the other is closed.
        Ok(self.root_fd.get_or_init(|| fd).as_fd())
    }

    /// `openat2(root, names, flags, RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH)`,
    /// or `None` when this kernel cannot (the caller walks instead).
    fn open_beneath(
        &self,
        root: BorrowedFd<'_>,
        names: &[&OsStr],
        flags: OFlags,
    ) -> Option<io::Result<OwnedFd>> {
        if self.no_openat2.load(Ordering::Relaxed) {
            return None;
        }
        match rustix::fs::openat2(
            root,
            relative(names).as_os_str(),
            flags | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::NO_SYMLINKS | ResolveFlags::BENEATH,
        ) {
            Ok(fd) => Some(Ok(fd)),
            // No openat2 here (kernel < 5.6, or a seccomp filter).
            Err(rustix::io::Errno::NOSYS | rustix::io::Errno::PERM) => {
                self.no_openat2.store(true, Ordering::Relaxed);
                None
            }
            // A concurrent rename the kernel could not rule out: walk.
            Err(rustix::io::Errno::AGAIN) => None,
            Err(e) => Some(Err(e.into())),
        }
    }

    /// Opens the directory `names` lead to from the root, without
    /// following a link; with `create`, missing ones are made (`0700`).
    fn open_dirs(&self, names: &[&OsStr], create: bool) -> io::Result<DirFd<'_>> {
        let root = match self.open_root() {
            // A new data directory: made like any other (0700).
            Err(e) if create && e.kind() == io::ErrorKind::NotFound => {
                RealFs.create_dir_all(&self.root)?;
                self.open_root()?
            }
            other => other?,
        };
        if names.is_empty() {
            return Ok(DirFd::Root(root));
        }
        match self.open_beneath(root, names, OFlags::RDONLY | OFlags::DIRECTORY) {
            Some(Ok(fd)) => return Ok(DirFd::Below(fd)),
            // Missing components are made one at a time below.
            Some(Err(e)) if !(create && e.kind() == io::ErrorKind::NotFound) => return Err(e),
            _ => {}
        }
        let mut dir = DirFd::Root(root);
        for name in names {
            dir = match open_dir_at(&dir, name) {
                Err(e) if create && e.kind() == io::ErrorKind::NotFound => {
                    match rustix::fs::mkdirat(&dir, *name, Mode::from_raw_mode(DIR_MODE)) {
                        Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                    let d = open_dir_at(&dir, name)?;
                    // The umask applied to mkdirat.
                    rustix::fs::fchmod(&d, Mode::from_raw_mode(DIR_MODE))?;
                    DirFd::Below(d)
                }
                other => DirFd::Below(other?),
            };
        }
        Ok(dir)
    }

    /// The directory holding `path`'s last component, and that name; `None`
    /// for a path outside the root (or the root itself).
    fn parent(&self, path: &Path) -> io::Result<Option<(DirFd<'_>, OsString)>> {
        let Some(names) = self.below(path)? else {
            return Ok(None);
        };
        let Some((last, dirs)) = names.split_last() else {
            return Ok(None);
        };
        Ok(Some((self.open_dirs(dirs, false)?, (*last).to_owned())))
    }

    /// `path` itself opened as a directory, or `None` outside the root.
    fn dir(&self, path: &Path) -> io::Result<Option<DirFd<'_>>> {
        match self.below(path)? {
            Some(names) => Ok(Some(self.open_dirs(&names, false)?)),
            None => Ok(None),
        }
    }

    /// The file at `path` opened read-only without following a link
    /// anywhere below the root (one `openat2` where available), or `None`
    /// outside the root.
    fn open_file(&self, path: &Path) -> io::Result<Option<File>> {
        let Some(names) = self.below(path)? else {
            return Ok(None);
        };
        if names.is_empty() {
            return Ok(None);
        }
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW;
        if let Some(fd) = self.open_beneath(self.open_root()?, &names, flags) {
            return Ok(Some(File::from(fd?)));
        }
        let Some((dir, name)) = self.parent(path)? else {
            return Ok(None);
        };
        Ok(Some(File::from(rustix::fs::openat(
            &dir,
            name.as_os_str(),
            flags | OFlags::CLOEXEC,
            Mode::empty(),
        )?)))
    }
}

fn open_dir_at(dir: &impl AsFd, name: &OsStr) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

struct BeneathFile(File);

impl FsFile for BeneathFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        io::Write::write_all(&mut self.0, buf)
    }
    fn sync_all(&mut self) -> io::Result<()> {
        self.0.sync_all()
    }
}

fn create_at(dir: &impl AsFd, name: &OsString, flags: OFlags) -> io::Result<File> {
    let fd = rustix::fs::openat(
        dir,
        name.as_os_str(),
        OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC | flags,
        Mode::from_raw_mode(FILE_MODE),
    )?;
    // The umask applied at creation; an existing file is repaired too.
    if rustix::fs::fstat(&fd)?.st_mode & 0o7777 != FILE_MODE {
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(FILE_MODE))?;
    }
    Ok(File::from(fd))
}

fn time(secs: i64, nsecs: u64) -> SystemTime {
    let d = Duration::new(secs.unsigned_abs(), u32::try_from(nsecs).unwrap_or(0));
    if secs >= 0 {
        SystemTime::UNIX_EPOCH + d
    } else {
        SystemTime::UNIX_EPOCH - d
    }
}

// `st_mtime_nsec`'s type differs between platforms and rustix backends.
#[allow(clippy::unnecessary_cast)]
fn file_stat(st: &rustix::fs::Stat) -> FileStat {
    let kind = FileType::from_raw_mode(st.st_mode);
    FileStat {
        size: u64::try_from(st.st_size).unwrap_or(0),
        modified: time(st.st_mtime, st.st_mtime_nsec as u64),
        is_dir: kind == FileType::Directory,
        is_symlink: kind == FileType::Symlink,
    }
}

impl Fs for BeneathFs {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        match self.parent(path)? {
            Some((dir, name)) => Ok(Box::new(BeneathFile(create_at(&dir, &name, OFlags::EXCL)?))),
            None => RealFs.create_new(path),
        }
    }
    fn open_truncate(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        match self.parent(path)? {
            Some((dir, name)) => {
                let fd = rustix::fs::openat(
                    &dir,
                    name.as_os_str(),
                    OFlags::WRONLY | OFlags::TRUNC | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                Ok(Box::new(BeneathFile(File::from(fd))))
            }
            None => RealFs.open_truncate(path),
        }
    }
    fn write_file(&self, path: &Path, contents: &[u8]) -> io::Result<()> {
        match self.parent(path)? {
            Some((dir, name)) => {
                let mut f = create_at(&dir, &name, OFlags::TRUNC)?;
                io::Write::write_all(&mut f, contents)
            }
            None => RealFs.write_file(path, contents),
        }
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        match (self.parent(from)?, self.parent(to)?) {
            (Some((fd, fname)), Some((td, tname))) => Ok(rustix::fs::renameat(
                &fd,
                fname.as_os_str(),
                &td,
                tname.as_os_str(),
            )?),
            _ => RealFs.rename(from, to),
        }
    }
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        match (self.parent(from)?, self.parent(to)?) {
            // No AT_SYMLINK_FOLLOW: a link is linked, never its target.
            (Some((fd, fname)), Some((td, tname))) => Ok(rustix::fs::linkat(
                &fd,
                fname.as_os_str(),
                &td,
                tname.as_os_str(),
                AtFlags::empty(),
            )?),
            _ => RealFs.hard_link(from, to),
        }
    }
    fn fsync_dir(&self, path: &Path) -> io::Result<()> {
        match self.dir(path)? {
            Some(d) => Ok(rustix::fs::fsync(&d)?),
            None => RealFs.fsync_dir(path),
        }
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
        let Some(d) = self.dir(path)? else {
            return RealFs.read_dir(path);
        };
        let mut out = Vec::new();
        for entry in rustix::fs::Dir::read_from(&d)? {
            let entry = entry?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let name = std::ffi::OsStr::from_bytes(name).to_owned();
            let link = match entry.file_type() {
                FileType::Symlink => true,
                FileType::Unknown => {
                    let st = rustix::fs::statat(&d, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW)?;
                    FileType::from_raw_mode(st.st_mode) == FileType::Symlink
                }
                _ => false,
            };
            if link {
                tracing::warn!(path = %path.join(&name).display(), "refusing a symbolic link in a Maildir; skipped");
                continue;
            }
            out.push(name);
        }
        Ok(out)
    }
    fn open_read(&self, path: &Path) -> io::Result<File> {
        match self.open_file(path)? {
            Some(file) => Ok(file),
            None => RealFs.open_read(path),
        }
    }
    fn open_index(&self, path: &Path) -> Result<redb::Database, redb::DatabaseError> {
        // redb opens by path: the index sits directly in the root, whose
        // last component RealFs opens with O_NOFOLLOW.
        RealFs.open_index(path)
    }
    fn secure_tree(&self, root: &Path) -> io::Result<u64> {
        RealFs.secure_tree(root)
    }
    fn stat(&self, path: &Path) -> io::Result<FileStat> {
        let Some((dir, name)) = self.parent(path)? else {
            return RealFs.stat(path);
        };
        Ok(file_stat(&rustix::fs::statat(
            &dir,
            name.as_os_str(),
            AtFlags::SYMLINK_NOFOLLOW,
        )?))
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        match self.parent(path)? {
            Some((dir, name)) => Ok(rustix::fs::unlinkat(
                &dir,
                name.as_os_str(),
                AtFlags::empty(),
            )?),
            None => RealFs.remove_file(path),
        }
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        match self.below(path)? {
            Some(names) => self.open_dirs(&names, true).map(drop),
            None => RealFs.create_dir_all(path),
        }
    }
    fn find_link(&self, root: &Path, dir: &Path, subs: &[&str]) -> io::Result<Option<PathBuf>> {
        // The common case, no link: one openat2 of `dir` and a statat per
        // sub. Anything else (a link, a missing or odd component, no
        // openat2) is looked at component by component.
        let fast = || -> Option<bool> {
            if !root.starts_with(&self.root) {
                return None;
            }
            let names = self.below(dir).ok()??;
            if names.is_empty() {
                return None;
            }
            let fd = self
                .open_beneath(
                    self.open_root().ok()?,
                    &names,
                    OFlags::PATH | OFlags::DIRECTORY,
                )?
                .ok()?;
            for sub in subs {
                match rustix::fs::statat(&fd, *sub, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => {
                        return Some(false);
                    }
                    Ok(_) | Err(rustix::io::Errno::NOENT) => {}
                    Err(_) => return Some(false),
                }
            }
            Some(true)
        };
        match fast() {
            Some(true) => Ok(None),
            _ => crate::fs::find_link_by_stat(self, root, dir, subs),
        }
    }
    fn refuses_links_at_use(&self) -> bool {
        true
    }
    fn stat_in(&self, dir: &Path, names: &[&str]) -> Vec<io::Result<FileStat>> {
        let Ok(Some(fd)) = self.dir(dir) else {
            return names.iter().map(|n| self.stat(&dir.join(n))).collect();
        };
        names
            .iter()
            .map(|n| {
                Ok(file_stat(&rustix::fs::statat(
                    &fd,
                    *n,
                    AtFlags::SYMLINK_NOFOLLOW,
                )?))
            })
            .collect()
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        let Some((dir, name)) = self.parent(path)? else {
            return RealFs.remove_dir_all(path);
        };
        // The verified parent through /proc (Linux): std's remove_dir_all
        // does not follow links inside the tree nor a link at `name`.
        use std::os::fd::AsRawFd;
        let via = PathBuf::from(format!("/proc/self/fd/{}", dir.as_fd().as_raw_fd())).join(&name);
        std::fs::remove_dir_all(via)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    /// Both ways of resolving: `openat2`, and the walk used where the
    /// kernel has no `openat2`.
    fn both(root: &Path) -> [BeneathFs; 2] {
        let walking = BeneathFs::new(root);
        walking.no_openat2.store(true, Ordering::Relaxed);
        [BeneathFs::new(root), walking]
    }

    fn setup() -> (tempfile::TempDir, PathBuf, BeneathFs) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("data");
        std::fs::create_dir_all(root.join("mail/x/cur")).unwrap();
        std::fs::write(root.join("mail/x/cur/m"), b"mine").unwrap();
        std::fs::create_dir_all(dir.path().join("elsewhere/cur")).unwrap();
        std::fs::write(dir.path().join("elsewhere/cur/m"), b"ROOT").unwrap();
        let fs = BeneathFs::new(&root);
        (dir, root, fs)
    }

    #[test]
    fn round_trip_beneath_the_root() {
        for walk in [false, true] {
            let (_d, root, fs) = setup();
            fs.no_openat2.store(walk, Ordering::Relaxed);
            round_trip(&root, &fs);
        }
    }

    fn round_trip(root: &Path, fs: &BeneathFs) {
        let cur = root.join("mail/x/cur");
        let mut f = fs.create_new(&cur.join("n")).unwrap();
        f.write_all(b"new").unwrap();
        f.sync_all().unwrap();
        drop(f);
        assert_eq!(
            std::fs::metadata(cur.join("n"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
        fs.hard_link(&cur.join("n"), &cur.join("l")).unwrap();
        fs.rename(&cur.join("l"), &cur.join("r")).unwrap();
        fs.fsync_dir(&cur).unwrap();
        let mut names = fs.read_dir(&cur).unwrap();
        names.sort();
        assert_eq!(names, vec![OsString::from("m"), "n".into(), "r".into()]);
        assert_eq!(fs.stat(&cur.join("r")).unwrap().size, 3);
        assert!(fs.stat(&cur).unwrap().is_dir);
        fs.remove_file(&cur.join("r")).unwrap();
        assert_eq!(
            fs.stat(&cur.join("r")).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        fs.create_dir_all(&root.join("mail/y/.Sub/new")).unwrap();
        assert_eq!(
            std::fs::metadata(root.join("mail/y/.Sub"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        fs.remove_dir_all(&root.join("mail/y")).unwrap();
        assert!(!root.join("mail/y").exists());
        let mut s = String::new();
        io::Read::read_to_string(&mut fs.open_read(&cur.join("m")).unwrap(), &mut s).unwrap();
        assert_eq!(s, "mine");
        assert!(fs.open_read(&root.join("mail/../mail/x/cur/m")).is_err());
    }

    #[test]
    fn a_directory_swapped_for_a_link_after_the_scan_is_not_followed() {
        for walk in [false, true] {
            let (d, root, fs) = setup();
            fs.no_openat2.store(walk, Ordering::Relaxed);
            swapped_for_a_link(&d, &root, &fs);
        }
    }

    #[test]
    fn find_link_names_the_link_either_way() {
        let (d, root, _) = setup();
        let mail = root.join("mail");
        for fs in both(&root) {
            assert_eq!(
                fs.find_link(&mail, &mail.join("x"), &["cur", "new"])
                    .unwrap(),
                None
            );
            // Missing components are not links.
            assert_eq!(
                fs.find_link(&mail, &mail.join("y/z"), &["cur"]).unwrap(),
                None
            );
        }
        symlink(d.path().join("elsewhere/cur"), mail.join("x/new")).unwrap();
        for fs in both(&root) {
            assert_eq!(
                fs.find_link(&mail, &mail.join("x"), &["cur", "new"])
                    .unwrap(),
                Some(mail.join("x/new"))
            );
        }
        std::fs::rename(mail.join("x"), root.join("x.old")).unwrap();
        symlink(d.path().join("elsewhere"), mail.join("x")).unwrap();
        for fs in both(&root) {
            assert_eq!(
                fs.find_link(&mail, &mail.join("x"), &["cur"]).unwrap(),
                Some(mail.join("x"))
            );
            let stats = fs.stat_in(&mail, &["x", "nothing"]);
            assert!(stats[0].as_ref().unwrap().is_symlink);
            assert_eq!(
                stats[1].as_ref().unwrap_err().kind(),
                io::ErrorKind::NotFound
            );
        }
    }

    fn swapped_for_a_link(d: &tempfile::TempDir, root: &Path, fs: &BeneathFs) {
        let cur = root.join("mail/x/cur");
        // The scan sees a real directory and its file...
        assert_eq!(fs.read_dir(&cur).unwrap(), vec![OsString::from("m")]);
        assert!(!fs.stat(&cur).unwrap().is_symlink);
        // ...then the directory becomes a link to another one holding a
        // file of the same name and size.
        std::fs::rename(&cur, root.join("mail/x/cur.old")).unwrap();
        symlink(d.path().join("elsewhere/cur"), &cur).unwrap();
        let loops = |e: io::Error| {
            assert!(
                matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)),
                "{e:?}"
            );
        };
        loops(fs.open_read(&cur.join("m")).unwrap_err());
        loops(fs.read_dir(&cur).unwrap_err());
        loops(fs.remove_file(&cur.join("m")).map(|_| ()).unwrap_err());
        loops(fs.create_new(&cur.join("planted")).map(|_| ()).unwrap_err());
        loops(
            fs.rename(&cur.join("m"), &root.join("mail/x/stolen"))
                .unwrap_err(),
        );
        loops(fs.create_dir_all(&cur.join("sub")).unwrap_err());
        assert!(fs.stat(&cur).unwrap().is_symlink);
        // A link higher up (the account directory) is refused the same way.
        std::fs::remove_file(&cur).unwrap();
        std::fs::rename(root.join("mail/x/cur.old"), &cur).unwrap();
        std::fs::rename(root.join("mail/x"), root.join("mail/x.old")).unwrap();
        symlink(d.path().join("elsewhere"), root.join("mail/x")).unwrap();
        loops(fs.open_read(&cur.join("m")).unwrap_err());
        // The target was never touched.
        assert_eq!(
            std::fs::read(d.path().join("elsewhere/cur/m")).unwrap(),
            b"ROOT"
        );
        assert!(!d.path().join("elsewhere/cur/planted").exists());
    }

    #[test]
    fn the_root_itself_may_be_a_link() {
        let (d, root, _) = setup();
        let alias = d.path().join("alias");
        symlink(&root, &alias).unwrap();
        let fs = BeneathFs::new(&alias);
        assert!(fs.open_read(&alias.join("mail/x/cur/m")).is_ok());
    }
}
