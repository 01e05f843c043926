//! `imapload idle`: hold many logged-in connections in IDLE.

use super::*;

// ---------------------------------------------------------------- idle

/// `VmRSS` in KiB from the text of `/proc/<pid>/status`.
pub(super) fn parse_vmrss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line.split_whitespace().skip(1);
    let n = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(n)
}

pub(super) fn vmrss(pid: &str) -> Option<u64> {
    parse_vmrss(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// Opens one connection and leaves it in IDLE (or just greeted).
pub(super) fn idle_open(a: &IdleArgs) -> io::Result<TcpStream> {
    // Small buffer: set-up responses are a few hundred octets.
    let mut c = Client::connect(&a.common.server, a.common.timeout(), 4096)?;
    if a.no_login {
        return Ok(c.into_stream());
    }
    c.login(&a.common.user, &a.common.pass)?;
    let (done, _) = c.select(&a.mailbox)?;
    if !done.is_ok() {
        return Err(io::Error::other(format!("SELECT: {}", done.tagged.lossy())));
    }
    let tag = c.next_tag();
    c.send(format!("{tag} IDLE\r\n").as_bytes())?;
    // RFC 2177 §3: the server answers IDLE with a continuation request.
    loop {
        let r = c.read_response()?;
        if r.is_continuation() {
            return Ok(c.into_stream());
        }
        if r.tag() == Some(tag.as_bytes()) {
            return Err(io::Error::other(format!("IDLE: {}", r.lossy())));
        }
    }
}

/// Runs `job(i)` for i in 0..n on `threads` threads.
pub(super) fn spread<T: Send + 'static>(
    n: usize,
    threads: usize,
    job: impl Fn(usize) -> T + Send + Sync + 'static,
    done: &Arc<AtomicUsize>,
) -> Vec<thread::JoinHandle<Vec<T>>> {
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    (0..threads.max(1))
        .map(|_| {
            let (next, job, done) = (Arc::clone(&next), Arc::clone(&job), Arc::clone(done));
            thread::spawn(move || {
                let mut out = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return out;
                    }
                    out.push(job(i));
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect()
}

pub(super) fn idle(a: IdleArgs) -> ExitCode {
    let a = Arc::new(a);
    let pid = a.server_pid.map(|p| p.to_string());
    let rss = || pid.as_deref().and_then(vmrss);
    if a.warmup_logins > 0 {
        let w = Arc::clone(&a);
        let counter = Arc::new(AtomicUsize::new(0));
        let handles = spread(
            a.warmup_logins,
            a.setup_threads,
            move |_| {
                w.common
                    .login(4096)
                    .and_then(|mut c| c.command("LOGOUT"))
                    .err()
                    .map(|e| e.to_string())
            },
            &counter,
        );
        for h in handles {
            for e in h.join().unwrap_or_default().into_iter().flatten() {
                eprintln!("warm-up: {e}");
            }
        }
        thread::sleep(Duration::from_secs(1));
    }
    let before = rss();
    let start = Instant::now();
    let ready = Arc::new(AtomicUsize::new(0));
    let job_args = Arc::clone(&a);
    let handles = spread(
        a.connections,
        a.setup_threads,
        move |_| idle_open(&job_args),
        &ready,
    );
    // Samples (connections set up, server VmRSS) while opening.
    let mut samples: Vec<(usize, u64)> = Vec::new();
    while handles.iter().any(|h| !h.is_finished()) {
        thread::sleep(Duration::from_millis(500));
        let n = ready.load(Ordering::Relaxed);
        if let Some(r) = rss() {
            samples.push((n, r));
            eprintln!("  {n} connections  server VmRSS {r} KiB");
        }
    }
    let mut streams = Vec::with_capacity(a.connections);
    let mut errors = Vec::new();
    for h in handles {
        for r in h.join().unwrap_or_default() {
            match r {
                Ok(s) => streams.push(s),
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    let setup = start.elapsed();
    // Let the server finish what the last connections started.
    thread::sleep(Duration::from_secs(2));
    let after = rss();
    let own = vmrss("self");
    let held = streams.len();
    errors.sort();
    errors.dedup();
    for e in errors.iter().take(10) {
        eprintln!("error: {e}");
    }
    let state = if a.no_login { "greeted" } else { "IDLE" };
    println!(
        "idle {}  {held} of {} connections in {state}  set-up {:.1} s  failures {}",
        a.common.server,
        a.connections,
        setup.as_secs_f64(),
        a.connections - held
    );
    let mut per_conn = 0.0;
    // None when the RSS fell over the second half (transient hashing
    // memory in the half-way sample): no slope to report then.
    let mut marginal: Option<f64> = None;
    if let (Some(b), Some(f)) = (before, after) {
        per_conn = (f.saturating_sub(b) as f64) / held.max(1) as f64;
        // The slope over the second half excludes fixed costs paid by the
        // first connections (thread pools, allocator arenas).
        let half = samples.iter().find(|(n, _)| *n >= held / 2);
        if let Some(&(n, r)) = half
            && held > n
            && f >= r
        {
            marginal = Some((f - r) as f64 / (held - n) as f64);
        }
        let slope = marginal.map_or_else(|| "n/a".to_owned(), |m| format!("{m:.2} KiB"));
        println!(
            "server VmRSS before {b} KiB  after {f} KiB  delta {} KiB  per connection {per_conn:.2} KiB  \
             (second-half slope {slope})",
            f.saturating_sub(b)
        );
    }
    if let Some(o) = own {
        println!("imapload VmRSS {o} KiB");
    }
    println!(
        "{{\"mode\":\"idle\",\"server\":\"{}\",\"state\":\"{state}\",\"connections\":{held},\"failures\":{},\
         \"setup_s\":{:.3},\"server_rss_before_kib\":{},\"server_rss_after_kib\":{},\
         \"kib_per_connection\":{per_conn:.3},\"kib_per_connection_second_half\":{},\
         \"imapload_rss_kib\":{}}}",
        json_str(&a.common.server),
        a.connections - held,
        setup.as_secs_f64(),
        before.unwrap_or(0),
        after.unwrap_or(0),
        marginal.map_or_else(|| "null".to_owned(), |m| format!("{m:.3}")),
        own.unwrap_or(0)
    );
    let _ = io::stdout().flush();
    match a.hold_secs {
        Some(s) => thread::sleep(Duration::from_secs(s)),
        None => {
            println!("holding; press Enter to close");
            let _ = io::stdin().lock().read_line(&mut String::new());
        }
    }
    for mut s in streams {
        // RFC 2177 §3: DONE ends IDLE; then leave politely.
        let bye: &[u8] = if a.no_login {
            b"Z LOGOUT\r\n"
        } else {
            b"DONE\r\nZ LOGOUT\r\n"
        };
        let _ = s.write_all(bye);
    }
    if held == a.connections {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

// ---------------------------------------------------------------- mixed

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmrss_line() {
        let status = "Name:\tsansmail\nVmPeak:\t  9000 kB\nVmRSS:\t   12345 kB\nThreads:\t5\n";
        assert_eq!(parse_vmrss(status), Some(12345));
        assert_eq!(parse_vmrss("VmRSS: x kB\n"), None);
        assert_eq!(parse_vmrss("Name: a\n"), None);
    }
}
