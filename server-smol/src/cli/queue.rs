//! `sansmail queue ...`: through a running server's control socket, or on
//! the store directly when no server runs (like `sansmail user`). The
//! requests and what they do are `outbound::queue_cli`'s.

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
    super::on_store_or_server(
        config,
        || crate::control::send_line(&config.data_dir, &line),
        |store| apply(store, req),
    )
}
