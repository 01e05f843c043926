//! The sansmail server: configuration, listeners, TLS, authentication and
//! the glue between sockets, the sans-IO protocol sessions and the store.
//!
//! Embedding it in a test suite, the way GreenMail is used from Java:
//!
//! ```no_run
//! use sansmail::{Config, Server};
//!
//! let mut config = Config::default();
//! config.data_dir = std::env::temp_dir().join("sansmail-test");
//! config.smtp.listen = vec!["127.0.0.1:0".into()];
//! config.submission = Default::default();
//! config.imap = Default::default();
//! config.pop3 = Default::default();
//! let server = Server::start(config).expect("server starts");
//! let smtp = server.addr("smtp").expect("smtp listener");
//! // ... talk SMTP to `smtp` ...
//! server.stop();
//! ```

pub mod accounts;
pub mod config;
pub mod control;
pub mod http;
pub mod imap;
pub mod metrics;
pub mod net;
pub mod passwords;
pub mod pop3;
pub mod pump;
pub mod server;
pub mod smtp;
mod test_server;
pub mod testing;
pub mod tls;

pub use config::Config;
pub use server::{BoundListener, RunningServer, Server, StartError};
pub use test_server::{ReceivedEnvelope, ReceivedMessage, TestServer, WaitTimeout};
