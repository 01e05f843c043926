//! The API token of `[http] auth = "token"`: `[http] token` if set, else
//! `data_dir/api-token`, generated once (32 random bytes from the OS, hex)
//! and written 0600 like the other secrets under `data_dir`.

use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The file name under `data_dir`.
pub const TOKEN_FILE: &str = "api-token";

/// Loads the token from `data_dir/api-token`, creating it first if needed.
///
/// # Errors
/// IO errors; an empty token file.
pub fn load_or_create(data_dir: &Path) -> io::Result<String> {
    let path = data_dir.join(TOKEN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let token = text.trim().to_owned();
            if token.is_empty() {
                return Err(io::Error::other(format!("{} is empty", path.display())));
            }
            return Ok(token);
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut random = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut random)?;
    let token: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = data_dir.join(format!(".{TOKEN_FILE}.tmp"));
    {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        writeln!(file, "{token}")?;
        file.sync_all()?;
    }
    // Two servers starting on one data_dir: the first rename wins and both
    // read the same file back.
    std::fs::rename(&tmp, &path)?;
    std::fs::File::open(data_dir)?.sync_all()?;
    let text = std::fs::read_to_string(&path)?;
    Ok(text.trim().to_owned())
}

/// Compares a presented token with the expected one in time independent of
/// where they differ.
#[must_use]
pub fn matches(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_once_0600() {
        let dir = tempfile::tempdir().unwrap();
        let a = super::load_or_create(dir.path()).unwrap();
        let b = super::load_or_create(dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        let mode = std::fs::metadata(dir.path().join("api-token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(super::matches(&a, &b));
        assert!(!super::matches("x", &b));
    }
}
