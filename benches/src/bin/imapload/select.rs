//! `imapload select`: time SELECT and `UID FETCH 1:* (FLAGS)`.

use super::*;

// ---------------------------------------------------------------- select

pub(super) fn select(a: SelectArgs) -> ExitCode {
    match select_run(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imapload: {e}");
            ExitCode::FAILURE
        }
    }
}

pub(super) fn select_run(a: &SelectArgs) -> io::Result<()> {
    let mut c = a.common.login(64 * 1024)?;
    let mut selects = Vec::with_capacity(a.repeat);
    let mut fetches = Vec::with_capacity(a.repeat);
    let (mut exists, mut fetched, mut octets) = (0u64, 0usize, 0u64);
    for _ in 0..a.repeat.max(1) {
        let t = Instant::now();
        let (done, n) = c.select(&a.mailbox)?;
        selects.push(t.elapsed());
        if !done.is_ok() {
            return Err(io::Error::other(format!("SELECT: {}", done.tagged.lossy())));
        }
        exists = n;
        if !a.no_fetch && n > 0 {
            let t = Instant::now();
            let done = c.command("UID FETCH 1:* (FLAGS)")?;
            fetches.push(t.elapsed());
            if !done.is_ok() {
                return Err(io::Error::other(format!("FETCH: {}", done.tagged.lossy())));
            }
            fetched = done.untagged;
            octets = done.octets;
        }
        c.command_ok("UNSELECT")?;
    }
    let _ = c.command("LOGOUT");
    let first_select = selects.first().copied().unwrap_or_default();
    let first_fetch = fetches.first().copied().unwrap_or_default();
    let s = Percentiles::of(&mut selects);
    let f = Percentiles::of(&mut fetches);
    println!(
        "select {} {}  exists {exists}  rounds {}",
        a.common.server,
        a.mailbox,
        selects.len()
    );
    println!(
        "first SELECT {:.3} ms  first FETCH {:.3} ms  FETCH responses {fetched}  {octets} octets",
        ms(first_select),
        ms(first_fetch)
    );
    print_pct("SELECT", &s, selects.len());
    print_pct("UID FETCH 1:*", &f, fetches.len());
    println!(
        "{{\"mode\":\"select\",\"server\":\"{}\",\"mailbox\":\"{}\",\"exists\":{exists},\"rounds\":{},\
         \"fetch_responses\":{fetched},\"fetch_octets\":{octets},\"first_select_ms\":{:.3},\
         \"first_fetch_ms\":{:.3},\"select_ms\":{},\"fetch_ms\":{}}}",
        json_str(&a.common.server),
        json_str(&a.mailbox),
        selects.len(),
        ms(first_select),
        ms(first_fetch),
        json_pct(&s),
        json_pct(&f)
    );
    Ok(())
}
