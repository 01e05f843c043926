//! `imapload fill`: APPEND many messages of one size.

use super::*;

// ---------------------------------------------------------------- fill

/// Appends `count` messages on one connection; returns (ok, refused, error).
pub(super) fn fill_connection(
    a: &FillArgs,
    conn: usize,
    count: usize,
) -> (usize, usize, Option<String>) {
    let mut c = match a.common.login(64 * 1024) {
        Ok(c) => c,
        Err(e) => return (0, 0, Some(format!("connection {conn}: {e}"))),
    };
    let Some(mailbox) = quoted(&a.mailbox) else {
        return (0, 0, Some("mailbox cannot be quoted".into()));
    };
    let (mut ok, mut refused) = (0usize, 0usize);
    let mut first_refusal = None;
    let mut account = |done: Completion, first: &mut Option<String>| {
        if done.is_ok() {
            ok += 1;
        } else {
            refused += 1;
            first.get_or_insert_with(|| done.tagged.lossy());
        }
    };
    let pipelined = c.nonsync.allows(a.size);
    let mut in_flight: VecDeque<String> = VecDeque::new();
    let result = (|| -> io::Result<()> {
        for i in 0..count {
            let Some(message) = build_message(
                a.size,
                "imapload@example.org",
                &a.common.user,
                &message_id(&conn.to_string(), i),
            ) else {
                return Err(io::Error::other(format!(
                    "--size {} is below the header size",
                    a.size
                )));
            };
            if pipelined {
                if in_flight.len() >= a.window.max(1)
                    && let Some(tag) = in_flight.pop_front()
                {
                    let done = c.wait_tagged(&tag, |_| {})?;
                    account(done, &mut first_refusal);
                }
                let tag = c.next_tag();
                c.send(&Client::append_nonsync(&tag, &mailbox, &message))?;
                in_flight.push_back(tag);
            } else {
                let done = c.append(&a.mailbox, &message)?;
                account(done, &mut first_refusal);
            }
        }
        while let Some(tag) = in_flight.pop_front() {
            let done = c.wait_tagged(&tag, |_| {})?;
            account(done, &mut first_refusal);
        }
        let _ = c.command("LOGOUT");
        Ok(())
    })();
    let error = match result {
        Err(e) => Some(format!("connection {conn}: {e}")),
        Ok(()) => first_refusal.map(|r| format!("connection {conn}: refused: {r}")),
    };
    (ok, refused, error)
}

pub(super) fn fill(a: FillArgs) -> ExitCode {
    let connections = a.connections.max(1);
    if !a.mailbox.eq_ignore_ascii_case("INBOX") {
        let created = a.common.login(16 * 1024).and_then(|mut c| {
            let m = quoted(&a.mailbox).ok_or_else(|| io::Error::other("bad mailbox"))?;
            // An existing mailbox answers NO [ALREADYEXISTS]: fine.
            let _ = c.command(&format!("CREATE {m}"))?;
            c.command("LOGOUT")
        });
        if let Err(e) = created {
            eprintln!("imapload: {e}");
            return ExitCode::FAILURE;
        }
    }
    let a = Arc::new(a);
    let start = Instant::now();
    let handles: Vec<_> = (0..connections)
        .map(|i| {
            let a = Arc::clone(&a);
            let n = a.count / connections + usize::from(i < a.count % connections);
            thread::spawn(move || fill_connection(&a, i, n))
        })
        .collect();
    let (mut ok, mut refused, mut errors) = (0, 0, Vec::new());
    for h in handles {
        match h.join() {
            Ok((o, r, e)) => {
                ok += o;
                refused += r;
                errors.extend(e);
            }
            Err(_) => errors.push("a connection thread panicked".into()),
        }
    }
    let secs = start.elapsed().as_secs_f64().max(f64::EPSILON);
    for e in &errors {
        eprintln!("error: {e}");
    }
    let rate = ok as f64 / secs;
    let mbps = (ok * a.size) as f64 / secs / 1e6;
    println!(
        "fill {} {}  connections {connections}  size {} B  window {}",
        a.common.server, a.mailbox, a.size, a.window
    );
    println!(
        "appended {ok}  refused {refused}  elapsed {secs:.3} s  {rate:.1} msg/s  {mbps:.3} MB/s"
    );
    println!(
        "{{\"mode\":\"fill\",\"server\":\"{}\",\"mailbox\":\"{}\",\"connections\":{connections},\"size\":{},\
         \"appended\":{ok},\"refused\":{refused},\"elapsed_s\":{secs:.6},\"msgs_per_s\":{rate:.3},\"mb_per_s\":{mbps:.6}}}",
        json_str(&a.common.server),
        json_str(&a.mailbox),
        a.size
    );
    if errors.is_empty() && ok == a.count {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
