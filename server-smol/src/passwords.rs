//! Password checks on two dedicated threads.
//!
//! argon2 allocates its whole memory cost (19 MiB by default) for every
//! check. Run on the blocking pool, each of its many threads ends up with
//! its own malloc arena holding such a block, so a burst of logins left
//! hundreds of megabytes resident (measured with 5,000 IMAP logins). Two
//! long-lived threads bound that to two blocks, and two cores cannot hash
//! faster in parallel anyway.

use maildir::Store;
use smol::channel::{Receiver, Sender, bounded, unbounded};

/// How many threads check passwords.
const THREADS: usize = 2;

struct Job {
    address: String,
    password: String,
    reply: Sender<bool>,
}

/// Hands password checks to the dedicated threads.
pub struct PasswordChecker {
    jobs: Sender<Job>,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
}

impl PasswordChecker {
    /// Starts the threads; they end when the checker is dropped.
    pub fn new(
        store: Store,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> std::io::Result<Self> {
        let (jobs, queue) = unbounded::<Job>();
        for i in 0..THREADS {
            let queue: Receiver<Job> = queue.clone();
            let store = store.clone();
            std::thread::Builder::new()
                .name(format!("sansmail-auth-{i}"))
                .spawn(move || {
                    while let Ok(job) = queue.recv_blocking() {
                        let ok = store
                            .verify_password(&job.address, &job.password)
                            .unwrap_or_else(|e| {
                                tracing::warn!("password check failed: {e}");
                                false
                            });
                        let _ = job.reply.try_send(ok);
                    }
                })?;
        }
        Ok(PasswordChecker { jobs, metrics })
    }

    /// Whether `password` is `address`'s; false for unknown accounts and on
    /// store errors.
    pub async fn verify(&self, address: &str, password: &str) -> bool {
        let (reply, answer) = bounded(1);
        let job = Job {
            address: address.to_string(),
            password: password.to_string(),
            reply,
        };
        if self.jobs.send(job).await.is_err() {
            return false;
        }
        let ok = answer.recv().await.unwrap_or(false);
        self.metrics.login(ok);
        ok
    }
}
