//! The `sansmail` command line of docs/DESIGN.md §4, behind the `cli`
//! feature so that embedders do not compile clap, rpassword, signal-hook
//! and tracing-subscriber. The binary (`src/main.rs`) only calls [`main`].

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::accounts::AccountRequest;
use clap::{Parser, Subcommand};

mod accounts;
mod queue;
use crate::{Config, Server};

/// A mail server (SMTP, IMAP, POP3) for small sites and test rigs.
#[derive(Parser)]
#[command(name = "sansmail", version, about)]
struct Cli {
    /// Configuration file (TOML); without it the embedded defaults are used.
    #[arg(long, global = true, env = "SANSMAIL_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve until SIGINT or SIGTERM (the default).
    #[command(after_help = serve_help())]
    Serve,
    /// Manage accounts (also while the server runs).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Inspect and change the outbound queue (also while the server runs).
    Queue {
        #[command(subcommand)]
        command: QueueCommand,
    },
    /// Print the DNS records to publish for a local domain (MX, SPF, DKIM,
    /// DMARC), generating its DKIM key on first use.
    Dns {
        /// The domain, e.g. example.com.
        domain: String,
    },
    /// Print the effective configuration as TOML: every key with its
    /// value, defaults filled in, usable as a config file. Secrets
    /// ([http] token, [outbound] smarthost_password, [handlers.*] secret)
    /// are left out with a comment saying they are set.
    #[command(name = "config")]
    PrintConfig {
        /// Print the secrets too, so the output is a complete copy.
        #[arg(long)]
        show_secrets: bool,
    },
}

#[derive(Subcommand)]
enum QueueCommand {
    /// One line per queued recipient: id, sender, recipient, state,
    /// attempts, next attempt (RFC 3339), last error.
    List,
    /// Attempt delivery now: one message, or every message without ID.
    Retry {
        /// The message's queue id (from `queue list`).
        id: Option<String>,
    },
    /// Drop a message without delivering it (no DSN).
    Delete {
        /// The message's queue id.
        id: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account.
    Add {
        /// Full address, e.g. alice@localhost.
        address: String,
        /// Read the password from one line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change an account's password.
    Passwd {
        /// Full address.
        address: String,
        /// Read the password from one line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Delete an account and its mail. When standard input is a terminal
    /// and the account has mail, asks first (scripts are never asked).
    Del {
        /// Full address.
        address: String,
        /// Do not ask, even on a terminal.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// List accounts, one address per line.
    List,
}

/// `sansmail serve --help`: the configuration keys with their defaults,
/// and where the rest are documented.
fn serve_help() -> String {
    format!(
        "Configuration (--config FILE or SANSMAIL_CONFIG; every key is optional).\n\
         Without a file these embedded defaults apply; a key missing from a file\n\
         takes the value shown:\n\n{}\n\n\
         [tls] cert/key (default: a self-signed certificate generated once into\n\
         data_dir), [auth] failure_delay_ms, penalty_max_ms, cache_ttl_ms, [limits],\n\
         [lmtp], [http], [outbound], [dkim], [checks], [hooks], [testing],\n\
         [[rules]], [[routes]] and [handlers.*]: see docs/DESIGN.md sections 4 and 5\n\
         (the defaults are listed there); `sansmail config` prints them all.\n\n\
         Logging: SANSMAIL_LOG, else RUST_LOG (e.g. `debug`, `sansmail=debug,info`);\n\
         `info` when neither is set. `debug` includes the protocol trace (target\n\
         sansmail::trace: each command and reply line, bodies by size only,\n\
         passwords and SASL data as ***). Logs go to stderr; `listening <name> <addr>`\n\
         lines also go to stdout.",
        crate::config::DEFAULT_CONFIG.trim_end()
    )
}

/// Parses the command line and runs it; the binary's whole `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let (config, warnings) = match &cli.config {
        Some(path) => match Config::load(path) {
            Ok(loaded) => loaded,
            Err(e) => return fail(&e.to_string()),
        },
        None => (Config::default(), Vec::new()),
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config, warnings),
        Command::User { command } => {
            if let UserCommand::Del {
                address,
                yes: false,
            } = &command
                && std::io::stdin().is_terminal()
                && !accounts::confirm_delete(&config, address)
            {
                return fail(&format!("{address} not deleted"));
            }
            let request = match user_request(command) {
                Ok(r) => r,
                Err(e) => return fail(&e),
            };
            match accounts::run(&config, &request) {
                Ok(lines) => {
                    let mut out = std::io::stdout().lock();
                    for l in &lines {
                        let _ = writeln!(out, "{l}");
                    }
                    // What was done, on stderr: stdout stays the data
                    // (`user list` prints only addresses, for scripts).
                    eprintln!(
                        "sansmail: {}",
                        accounts::done(&config, &request, lines.len())
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Queue { command } => {
            use crate::outbound::queue_cli::QueueRequest;
            let request = match command {
                QueueCommand::List => QueueRequest::List,
                QueueCommand::Retry { id } => QueueRequest::Retry(id),
                QueueCommand::Delete { id } => QueueRequest::Delete(id),
            };
            print_lines(queue::run(&config, &request))
        }
        Command::Dns { domain } => dns_records(&config, &domain),
        Command::PrintConfig { show_secrets } => {
            // The file's unknown-key warnings go to stderr as comments
            // would be lost: stdout stays a valid config file.
            for w in warnings {
                eprintln!("sansmail: warning: {w}");
            }
            let secrets = if show_secrets {
                crate::config::Secrets::Show
            } else {
                crate::config::Secrets::Omit
            };
            match config.to_toml(secrets) {
                Ok(text) => {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(text.as_bytes());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.to_string()),
            }
        }
    }
}

/// `sansmail dns DOMAIN` (docs/DESIGN.md §5.2). Works while the server runs:
/// the key file is shared through the filesystem, not the index.
fn dns_records(config: &Config, domain: &str) -> ExitCode {
    use crate::outbound::dkim::{DkimKey, zone_lines};
    let local = config.domains.iter().any(|d| {
        d.trim_end_matches('.')
            .eq_ignore_ascii_case(domain.trim_end_matches('.'))
    });
    if !local {
        eprintln!(
            "sansmail: warning: {domain} is not in `domains`; its mail is not signed until it is"
        );
    }
    let lines = DkimKey::load_or_generate(&config.data_dir, domain)
        .and_then(|key| zone_lines(domain, &config.hostname, &config.dkim.selector, &key));
    print_lines(lines)
}

/// A command's result: its lines on stdout, or its one-line error.
/// Runs a `user` or `queue` command on the store of `config.data_dir`
/// when no server answers there (the caller asked `ask` first). A server
/// starting up holds the index before its control socket answers, so while
/// the store is locked, `ask` is tried again for up to 10 s.
fn on_store_or_server(
    config: &Config,
    ask: impl Fn() -> Result<Option<Vec<String>>, String>,
    run: impl FnOnce(&maildir::Store) -> Result<Vec<String>, String>,
) -> Result<Vec<String>, String> {
    use std::time::{Duration, Instant};
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("cannot create data_dir {}: {e}", config.data_dir.display()))?;
    let store_config = maildir::StoreConfig {
        data_dir: config.data_dir.clone(),
        hostname: config.hostname.clone(),
        password_hashing: Default::default(),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match maildir::Store::open(store_config.clone()) {
            Ok(store) => return run(&store),
            Err(maildir::StoreError::Locked) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
                if let Some(lines) = ask()? {
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

fn print_lines(result: Result<Vec<String>, String>) -> ExitCode {
    match result {
        Ok(lines) => {
            let mut out = std::io::stdout().lock();
            for l in lines {
                let _ = writeln!(out, "{l}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("sansmail: {message}");
    ExitCode::FAILURE
}

fn user_request(command: UserCommand) -> Result<AccountRequest, String> {
    Ok(match command {
        UserCommand::Add {
            address,
            password_stdin,
        } => AccountRequest::Add {
            password: read_password(password_stdin)?,
            address,
        },
        UserCommand::Passwd {
            address,
            password_stdin,
        } => AccountRequest::Passwd {
            password: read_password(password_stdin)?,
            address,
        },
        UserCommand::Del { address, .. } => AccountRequest::Del { address },
        UserCommand::List => AccountRequest::List,
    })
}

/// `--password-stdin` reads one line (its line ending is not part of the
/// password); otherwise the terminal is asked twice, without echo.
fn read_password(from_stdin: bool) -> Result<String, String> {
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password: {e}"))?;
        let line = line.strip_suffix('\n').unwrap_or(&line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        return Ok(line.to_string());
    }
    let first = rpassword::prompt_password("Password: ")
        .map_err(|e| format!("cannot read the password: {e}"))?;
    let again = rpassword::prompt_password("Password again: ")
        .map_err(|e| format!("cannot read the password: {e}"))?;
    if first != again {
        return Err("the passwords do not match".into());
    }
    Ok(first)
}

fn serve(config: Config, warnings: Vec<String>) -> ExitCode {
    // Signals first, so a SIGTERM during start-up is not lost.
    let mut signals = match signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ]) {
        Ok(s) => s,
        Err(e) => return fail(&format!("cannot install signal handlers: {e}")),
    };
    // Logging starts before the server, so what start-up logs (index
    // rescans, warnings) is kept; it is held back until the start
    // succeeded, so a failed start prints only its one error line.
    init_logging();
    for w in warnings {
        tracing::warn!("{w}");
    }
    // A failed start leaves no data_dir behind that it created itself.
    let data_dir = config.data_dir.clone();
    let created = !data_dir.exists();
    let server = match Server::start(config) {
        Ok(s) => s,
        Err(e) => {
            startup_log::discard();
            if created {
                let _ = std::fs::remove_dir_all(&data_dir);
            }
            return fail(&e.to_string());
        }
    };
    startup_log::release();
    {
        // The contract's readiness lines: plain on stdout for scripts, and
        // in the log on stderr.
        let mut out = std::io::stdout().lock();
        for l in server.listeners() {
            let _ = writeln!(out, "listening {} {}", l.name, l.addr);
            tracing::info!("listening {} {}", l.name, l.addr);
        }
        let _ = out.flush();
    }
    if let Some(signal) = signals.forever().next() {
        let name = match signal {
            signal_hook::consts::SIGTERM => "SIGTERM",
            signal_hook::consts::SIGINT => "SIGINT",
            _ => "signal",
        };
        tracing::info!("{name}: shutting down");
    }
    server.stop();
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

fn init_logging() {
    // SANSMAIL_LOG first, then the usual RUST_LOG (e.g. `debug`,
    // `sansmail=debug,info`); `info` when neither is set.
    let filter = tracing_subscriber::EnvFilter::try_from_env("SANSMAIL_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_env("RUST_LOG"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(startup_log::Writer::default)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

/// The log's writer: stderr, except that lines written before the server is
/// up are held (up to [`startup_log::MAX_HELD`] bytes) until
/// [`release`](startup_log::release) prints them or
/// [`discard`](startup_log::discard) drops them.
mod startup_log {
    use std::io::Write;
    use std::sync::Mutex;

    /// At most this much start-up log is held; beyond it lines go to
    /// stderr at once.
    pub const MAX_HELD: usize = 1 << 20;

    static HELD: Mutex<Option<Vec<u8>>> = Mutex::new(Some(Vec::new()));

    fn held() -> std::sync::MutexGuard<'static, Option<Vec<u8>>> {
        HELD.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The server is up: print what was held, then write straight through.
    pub fn release() {
        if let Some(buf) = held().take() {
            let _ = std::io::stderr().write_all(&buf);
        }
    }

    /// The start failed: drop what was held.
    pub fn discard() {
        held().take();
    }

    /// One log line's writer.
    #[derive(Default)]
    pub struct Writer;

    impl Write for Writer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            let mut held = held();
            match held.as_mut() {
                Some(buf) if buf.len() + bytes.len() <= MAX_HELD => {
                    buf.extend_from_slice(bytes);
                    Ok(bytes.len())
                }
                _ => {
                    drop(held);
                    std::io::stderr().write(bytes)
                }
            }
        }

        fn flush(&mut self) -> std::io::Result<()> {
            std::io::stderr().flush()
        }
    }
}
