//! `imapload mixed`: persistent clients with a fixed command mix.

use super::*;

/// The commands of the mixed workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Select,
    FetchFlags,
    FetchHeaders,
    Store,
    Search,
    Append,
    Noop,
}

impl Op {
    /// Relative frequencies, roughly a desktop client that syncs flags,
    /// shows a message list and marks messages read.
    const WEIGHTS: [(Op, u64); 7] = [
        (Op::Select, 5),
        (Op::FetchFlags, 25),
        (Op::FetchHeaders, 20),
        (Op::Store, 15),
        (Op::Search, 10),
        (Op::Append, 5),
        (Op::Noop, 20),
    ];

    fn name(self) -> &'static str {
        match self {
            Op::Select => "SELECT",
            Op::FetchFlags => "FETCH flags",
            Op::FetchHeaders => "FETCH headers",
            Op::Store => "STORE",
            Op::Search => "SEARCH",
            Op::Append => "APPEND",
            Op::Noop => "NOOP",
        }
    }

    fn index(self) -> usize {
        Self::WEIGHTS
            .iter()
            .position(|(o, _)| *o == self)
            .unwrap_or_default()
    }

    fn pick(r: u64) -> Op {
        let total: u64 = Self::WEIGHTS.iter().map(|(_, w)| w).sum();
        let mut x = r % total;
        for (op, w) in Self::WEIGHTS {
            if x < w {
                return op;
            }
            x -= w;
        }
        Op::Noop
    }
}

/// xorshift64* (deterministic per seed; quality is ample for picking).
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Messages a FETCH or STORE range covers.
const WINDOW: u64 = 20;

#[derive(Default)]
pub(super) struct MixedResult {
    latency: Vec<Vec<Duration>>,
    refused: Vec<usize>,
    error: Option<String>,
    first_refusal: Option<String>,
}

pub(super) fn mixed_client(a: &MixedArgs, id: usize, deadline: Instant) -> MixedResult {
    let mut res = MixedResult {
        latency: vec![Vec::new(); Op::WEIGHTS.len()],
        refused: vec![0; Op::WEIGHTS.len()],
        ..MixedResult::default()
    };
    let run = (|| -> io::Result<()> {
        let mut c = a.common.login(64 * 1024)?;
        let (done, mut exists) = c.select(&a.mailbox)?;
        if !done.is_ok() || exists == 0 {
            return Err(io::Error::other(format!(
                "{} is empty or missing ({}); run `imapload fill` first",
                a.mailbox,
                done.tagged.lossy()
            )));
        }
        let mailbox = quoted(&a.mailbox).ok_or_else(|| io::Error::other("bad mailbox"))?;
        let mut rng = Rng::new(a.seed.wrapping_add(id as u64));
        let mut appended = 0usize;
        while Instant::now() < deadline {
            let op = Op::pick(rng.next());
            let lo = 1 + rng.next() % exists;
            let hi = (lo + WINDOW - 1).min(exists);
            let line = match op {
                Op::Select => format!("SELECT {mailbox}"),
                Op::FetchFlags => format!("FETCH {lo}:{hi} (UID FLAGS)"),
                Op::FetchHeaders => format!(
                    "FETCH {lo}:{hi} (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])"
                ),
                Op::Store => {
                    let sign = if rng.next().is_multiple_of(2) {
                        '+'
                    } else {
                        '-'
                    };
                    let flag = if rng.next().is_multiple_of(4) {
                        "\\Flagged"
                    } else {
                        "\\Seen"
                    };
                    format!("STORE {lo} {sign}FLAGS.SILENT ({flag})")
                }
                Op::Search => {
                    if rng.next().is_multiple_of(2) {
                        "UID SEARCH UNSEEN".to_owned()
                    } else {
                        "UID SEARCH SINCE 1-Jan-2020 FLAGGED".to_owned()
                    }
                }
                Op::Append | Op::Noop => "NOOP".to_owned(),
            };
            let t = Instant::now();
            let done = if op == Op::Append {
                appended += 1;
                let id = message_id(&format!("m{id}"), appended);
                let msg = build_message(a.append_size, "imapload@example.org", &a.common.user, &id)
                    .ok_or_else(|| io::Error::other("--append-size is below the header size"))?;
                c.append(&a.mailbox, &msg)?
            } else {
                c.command_with(&line, |r| {
                    if let Some(n) = r.untagged_number("EXISTS") {
                        exists = n;
                    }
                })?
            };
            let took = t.elapsed();
            let k = op.index();
            if done.is_ok() {
                if let Some(v) = res.latency.get_mut(k) {
                    v.push(took);
                }
            } else {
                if let Some(n) = res.refused.get_mut(k) {
                    *n += 1;
                }
                res.first_refusal
                    .get_or_insert_with(|| format!("{}: {}", op.name(), done.tagged.lossy()));
            }
        }
        let _ = c.command("LOGOUT");
        Ok(())
    })();
    if let Err(e) = run {
        res.error = Some(format!("client {id}: {e}"));
    }
    res
}

pub(super) fn mixed(a: MixedArgs) -> ExitCode {
    let a = Arc::new(a);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(a.seconds);
    let handles: Vec<_> = (0..a.clients.max(1))
        .map(|i| {
            let a = Arc::clone(&a);
            thread::spawn(move || mixed_client(&a, i, deadline))
        })
        .collect();
    let mut all = MixedResult {
        latency: vec![Vec::new(); Op::WEIGHTS.len()],
        refused: vec![0; Op::WEIGHTS.len()],
        ..MixedResult::default()
    };
    let mut errors = Vec::new();
    for h in handles {
        match h.join() {
            Ok(r) => {
                for (dst, src) in all.latency.iter_mut().zip(r.latency) {
                    dst.extend(src);
                }
                for (dst, src) in all.refused.iter_mut().zip(r.refused) {
                    *dst += src;
                }
                errors.extend(r.error);
                if all.first_refusal.is_none() {
                    all.first_refusal = r.first_refusal;
                }
            }
            Err(_) => errors.push("a client thread panicked".into()),
        }
    }
    let secs = start.elapsed().as_secs_f64().max(f64::EPSILON);
    for e in &errors {
        eprintln!("error: {e}");
    }
    if let Some(r) = &all.first_refusal {
        eprintln!("first refusal: {r}");
    }
    let total: usize = all.latency.iter().map(Vec::len).sum();
    let refused: usize = all.refused.iter().sum();
    let rate = total as f64 / secs;
    let mut everything: Vec<Duration> = all.latency.iter().flatten().copied().collect();
    let overall = Percentiles::of(&mut everything);
    println!(
        "mixed {} {}  clients {}  elapsed {secs:.3} s",
        a.common.server, a.mailbox, a.clients
    );
    println!("commands {total}  refused {refused}  {rate:.1} commands/s");
    print_pct("all", &overall, total);
    let mut per_op = Vec::new();
    for ((op, _), lat) in Op::WEIGHTS.iter().zip(all.latency.iter_mut()) {
        let n = lat.len();
        let p = Percentiles::of(lat);
        print_pct(op.name(), &p, n);
        per_op.push(format!(
            "\"{}\":{{\"n\":{n},\"ms\":{}}}",
            op.name(),
            json_pct(&p)
        ));
    }
    println!(
        "{{\"mode\":\"mixed\",\"server\":\"{}\",\"clients\":{},\"elapsed_s\":{secs:.6},\"commands\":{total},\
         \"refused\":{refused},\"commands_per_s\":{rate:.3},\"all_ms\":{},\"ops\":{{{}}}}}",
        json_str(&a.common.server),
        a.clients,
        json_pct(&overall),
        per_op.join(",")
    );
    if errors.is_empty() && refused == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_weights() {
        // Each op is picked exactly its weight's share of 0..100.
        let mut counts = [0u64; 7];
        for r in 0..100 {
            counts[Op::pick(r).index()] += 1;
        }
        assert_eq!(counts, [5, 25, 20, 15, 10, 5, 20]);
        assert_eq!(Op::WEIGHTS.iter().map(|(_, w)| w).sum::<u64>(), 100);
    }

    #[test]
    fn rng_is_deterministic() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let x: Vec<u64> = (0..4).map(|_| a.next()).collect();
        let y: Vec<u64> = (0..4).map(|_| b.next()).collect();
        assert_eq!(x, y);
        assert_ne!(x[0], x[1]);
        assert_ne!(Rng::new(8).next(), x[0]);
    }
}
