//! `sansmail queue ...`: through a running server's control socket, or on
//! the store directly when no server runs (like `sansmail user`). The
//! requests and what they do are `outbound::queue_cli`'s.

use std::time::{Duration, Instant};

use maildir::{Store, StoreConfig, StoreError};

use crate::config::Config;
use crate::outbound::queue_cli::{QueueRequest, apply, encode_request};

/// Runs `req` for the `queue` commands: through the running server if one
/// answers on `data_dir`, else on the store directly.
///
/// # Errors
/// A one-line message.
pub fn run(config: &Config, req: &QueueRequest) -> Result<Vec<String>, String> {
    let line = encode_request(req);
    if let Some(lines) = crate::control::send_line(&config.data_dir, &line)? {
        return Ok(lines);
    }
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("cannot create data_dir {}: {e}", config.data_dir.display()))?;
    let store_config = StoreConfig {
        data_dir: config.data_dir.clone(),
        hostname: config.hostname.clone(),
        password_hashing: Default::default(),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Store::open(store_config.clone()) {
            Ok(store) => return apply(&store, req),
            // A server starting up holds the index before its control
            // socket answers; ask it once it does.
            Err(StoreError::Locked) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
                if let Some(lines) = crate::control::send_line(&config.data_dir, &line)? {
                    return Ok(lines);
                }
            }
            Err(e) => {
                return Err(format!(
                    "cannot open the store in {}: {e}",
                    config.data_dir.display()
                ));
            }
        }
    }
}
