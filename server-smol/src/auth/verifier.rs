//! Password checks on at most two dedicated threads, served fairly.
//!
//! argon2 allocates its whole memory cost (19 MiB by default) for every
//! check. Run on the blocking pool, each of its many threads ends up with
//! its own malloc arena holding such a block, so a burst of logins left
//! hundreds of megabytes resident (measured with 5,000 IMAP logins). Two
//! long-lived threads bound that to two blocks, and two cores cannot hash
//! faster in parallel anyway. A thread reuses its block (the store keeps it
//! in a thread-local) while checks keep coming, frees it after
//! [`RELEASE_AFTER`] without one, and ends after [`IDLE_EXIT`]; the next
//! check starts a thread again, which costs far less than one argon2 run.
//!
//! Fair queuing: a single FIFO let 300 connections sending wrong passwords
//! push a correct login back by 13–16 s. Checks now wait in one queue per
//! source (the client's [`crate::net::source_key`]), and the threads take
//! one check per source in turn, so a source with 300 pending checks gets
//! no more turns than a source with one. Sources are in two classes:
//! those without recent failed logins are served before those with them
//! ([`super`] decides), so a flood that has already failed cannot
//! delay a login from anywhere else by more than the checks in progress.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use maildir::Store;
use smol::channel::{Sender, bounded};

/// How many threads check passwords at most.
const THREADS: usize = 2;

/// A checking thread with nothing to do for this long ends, freeing its
/// argon2 working memory.
pub const IDLE_EXIT: Duration = Duration::from_secs(10);

/// A checking thread with no check for this long frees its argon2
/// working memory (19 MiB with the default parameters): a burst of logins
/// reuses it, and an idle server does not keep it. Long enough to span
/// the gap between two logins of a burst (a round trip, a TLS handshake),
/// short against the 10 s the thread itself lives on.
pub const RELEASE_AFTER: Duration = Duration::from_millis(200);

/// Whom a check is for, for fair queuing: the client's source, or `None`
/// for checks that come from no network client.
pub type Source = Option<IpAddr>;

/// How soon a check is served relative to others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A source without recent failed logins: served first.
    Clean,
    /// A source that recently failed: served when no clean source waits.
    Suspect,
}

struct Job {
    address: String,
    password: String,
    reply: Sender<bool>,
}

#[derive(Default)]
struct State {
    /// Pending checks per source, oldest first.
    queues: HashMap<Source, VecDeque<Job>>,
    /// Sources with pending checks, in turn order: `[Clean, Suspect]`.
    turns: [VecDeque<Source>; 2],
    /// Pending checks over all sources.
    queued: usize,
    /// Threads running (busy or waiting for work).
    live: usize,
    /// Threads waiting for work.
    idle: usize,
    /// The checker was dropped: threads end once the queues are empty.
    closed: bool,
}

impl State {
    /// The next check: one from the first source in turn, whose remaining
    /// checks then wait for its next turn.
    fn next_job(&mut self) -> Option<Job> {
        for turns in &mut self.turns {
            while let Some(source) = turns.pop_front() {
                let Some(queue) = self.queues.get_mut(&source) else {
                    continue;
                };
                let job = queue.pop_front();
                if job.is_some() {
                    self.queued -= 1;
                }
                if queue.is_empty() {
                    self.queues.remove(&source);
                } else {
                    turns.push_back(source);
                }
                if job.is_some() {
                    return job;
                }
            }
        }
        None
    }
}

struct Queue {
    state: Mutex<State>,
    work: Condvar,
    store: Store,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Hands password checks to the dedicated threads.
pub struct PasswordChecker {
    queue: Arc<Queue>,
}

impl PasswordChecker {
    /// A checker for `store`; threads start on demand and end when idle or
    /// when the checker is dropped.
    pub fn new(store: Store) -> std::io::Result<Self> {
        Ok(PasswordChecker {
            queue: Arc::new(Queue {
                state: Mutex::default(),
                work: Condvar::new(),
                store,
            }),
        })
    }

    /// Whether `password` is `address`'s (false for unknown accounts and on
    /// store errors), queued fairly for `source` in `class`.
    pub async fn verify_from(
        &self,
        source: Source,
        class: Class,
        address: &str,
        password: &str,
    ) -> bool {
        let (reply, answer) = bounded(1);
        let job = Job {
            address: address.to_string(),
            password: password.to_string(),
            reply,
        };
        if !self.submit(source, class, job) {
            return false;
        }
        answer.recv().await.unwrap_or(false)
    }

    /// Queues `job`, starting a thread when none is free; false when no
    /// thread could be started at all.
    fn submit(&self, source: Source, class: Class, job: Job) -> bool {
        let mut state = self.queue.lock();
        let queue = state.queues.entry(source).or_default();
        let first = queue.is_empty();
        queue.push_back(job);
        state.queued += 1;
        if first {
            let turns = match class {
                Class::Clean => 0,
                Class::Suspect => 1,
            };
            state.turns[turns].push_back(source);
        }
        // More checks waiting than threads waiting for them: another
        // thread, if allowed (a waiting thread may not have woken yet for
        // the previous check, so `idle == 0` alone would undercount).
        if state.idle < state.queued && state.live < THREADS {
            let n = state.live;
            let queue = self.queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("sansmail-auth-{n}"))
                .spawn(move || worker(queue));
            match spawned {
                Ok(_) => state.live += 1,
                Err(e) => {
                    tracing::warn!("cannot start a password thread: {e}");
                    if state.live == 0 {
                        // Nobody would ever answer: refuse everything queued.
                        state.queues.clear();
                        state.turns = Default::default();
                        state.queued = 0;
                        return false;
                    }
                }
            }
        }
        drop(state);
        self.queue.work.notify_one();
        true
    }

    /// Moves `source`'s pending checks behind every clean source: it has
    /// just failed a login, so the checks it queued before that failure
    /// must not keep their place ahead of other sources either.
    pub fn demote(&self, source: Source) {
        let mut state = self.queue.lock();
        if !state.queues.contains_key(&source) {
            return;
        }
        let before = state.turns[0].len();
        state.turns[0].retain(|s| *s != source);
        if state.turns[0].len() != before {
            state.turns[1].push_back(source);
        }
    }
}

impl Drop for PasswordChecker {
    fn drop(&mut self) {
        self.queue.lock().closed = true;
        self.queue.work.notify_all();
    }
}

fn worker(queue: Arc<Queue>) {
    // Whether this thread holds argon2 working memory from a check.
    let mut holding = false;
    let mut state = queue.lock();
    loop {
        if let Some(job) = state.next_job() {
            drop(state);
            let ok = queue
                .store
                .verify_password(&job.address, &job.password)
                .unwrap_or_else(|e| {
                    tracing::warn!("password check failed: {e}");
                    false
                });
            // The client may have gone away meanwhile; nobody to tell then.
            let _ = job.reply.try_send(ok);
            holding = true;
            state = queue.lock();
            continue;
        }
        if state.closed {
            break;
        }
        // Hold the working memory only while checks keep coming: after
        // RELEASE_AFTER without one, it goes back to the system, and the
        // thread itself ends after IDLE_EXIT.
        let wait = if holding { RELEASE_AFTER } else { IDLE_EXIT };
        state.idle += 1;
        let (next, timeout) = queue
            .work
            .wait_timeout(state, wait)
            .unwrap_or_else(|e| e.into_inner());
        state = next;
        state.idle -= 1;
        if timeout.timed_out() && state.queues.is_empty() {
            if holding {
                drop(state);
                release_memory();
                holding = false;
                state = queue.lock();
            } else {
                break;
            }
        }
    }
    state.live -= 1;
    drop(state);
    if holding {
        release_memory();
    }
}

/// Frees this thread's argon2 block and hands free heap pages back to
/// the system.
///
/// Dropping the block may not be enough with glibc: once a 19 MiB block
/// was unmapped, glibc raises its mmap threshold above that size, so
/// later blocks come from this thread's malloc arena, where free memory
/// below the top can stay resident. `malloc_trim(0)` returns the free
/// pages of every arena (glibc 2.8+).
fn release_memory() {
    maildir::release_password_memory();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: malloc_trim only walks glibc's own arenas under their locks;
    // it takes no pointers from us and is documented as callable at any
    // time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> (Job, smol::channel::Receiver<bool>) {
        let (reply, answer) = bounded(1);
        let job = Job {
            address: String::new(),
            password: String::new(),
            reply,
        };
        (job, answer)
    }

    fn push(state: &mut State, source: Source, class: Class, tag: &str) {
        let (mut j, _) = job();
        j.address = tag.to_string();
        let queue = state.queues.entry(source).or_default();
        if queue.is_empty() {
            state.turns[class as usize].push_back(source);
        }
        queue.push_back(j);
        state.queued += 1;
    }

    #[test]
    fn sources_take_turns_and_clean_ones_go_first() {
        let flood: Source = Some("192.0.2.1".parse().unwrap());
        let other: Source = Some("192.0.2.2".parse().unwrap());
        let good: Source = Some("198.51.100.7".parse().unwrap());
        let mut state = State::default();
        for i in 0..3 {
            push(&mut state, flood, Class::Suspect, &format!("f{i}"));
        }
        push(&mut state, other, Class::Suspect, "o0");
        push(&mut state, good, Class::Clean, "g0");
        let order: Vec<String> = std::iter::from_fn(|| state.next_job())
            .map(|j| j.address)
            .collect();
        assert_eq!(order, ["g0", "f0", "o0", "f1", "f2"]);
        assert!(state.queues.is_empty());
    }

    #[test]
    fn a_demoted_source_goes_behind_clean_ones() {
        let store_dir = tempfile::tempdir().unwrap();
        let store = Store::open(maildir::StoreConfig {
            data_dir: store_dir.path().to_path_buf(),
            hostname: "localhost".into(),
            password_hashing: Default::default(),
        })
        .unwrap();
        let checker = PasswordChecker::new(store).unwrap();
        let flood: Source = Some("192.0.2.1".parse().unwrap());
        let good: Source = Some("198.51.100.7".parse().unwrap());
        {
            let mut state = checker.queue.lock();
            push(&mut state, flood, Class::Clean, "f0");
            push(&mut state, good, Class::Clean, "g0");
        }
        checker.demote(flood);
        checker.demote(good.map(|_| "203.0.113.1".parse().unwrap()));
        let mut state = checker.queue.lock();
        let order: Vec<String> = std::iter::from_fn(|| state.next_job())
            .map(|j| j.address)
            .collect();
        assert_eq!(order, ["g0", "f0"]);
    }
}
