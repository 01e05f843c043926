#!/usr/bin/env bash
# IMAP side by side: sansmail and Dovecot on this machine, in one run, under
# the same `imapload stress` workload (many users, a few concurrent clients,
# a random mix of what clients send; see benches/src/bin/imapload/stress.rs).
#
#   benches/imap-vs-dovecot.sh [--users 100] [--clients 10] [--seconds 20] [--rounds 3]
#                              [--modes "login-heavy persistent"] [--prefill 20]
#                              [--perf FILE] [--bin-dir DIR] [--flag-sync batched|durable]
#                              [--tool imapload|imaptest] [--mbox FILE] [--warmup SECS] [--cpu]
#                              [--imaptest-mix "append=0 expunge=0 ..."]
#
# Each round runs sansmail then Dovecot (alternating, so drift on a shared
# machine hits both), per mode, and prints commands/s, protocol errors and
# the ratio sansmail/Dovecot per round. Needs root (Dovecot drops privileges)
# and installs Debian's dovecot-imapd when it is missing.
#
# Both servers get the same users (stressNNN@localhost, password `secret`)
# and the same prefilled INBOXes (imap-proto/testdata messages). Dovecot
# runs with passwd-file users hashed with SHA512-CRYPT (Dovecot's default
# scheme) and its auth cache on (auth_cache_size = 10M), as a site would
# configure it; sansmail with its defaults (argon2id) from a release build.
#
# `--perf FILE` records sansmail with `perf record --call-graph dwarf` (linux-perf)
# over the measured rounds only (not the prefill); read it with
# `perf report -i FILE --no-children`. `PERF_FREQ=1000` and
# `PERF_CALLGRAPH=fp` change the sampling (fp is for a build with
# `-C force-frame-pointers=yes`: cheaper than DWARF unwinding, so the
# profile disturbs the server less). `--bin-dir DIR` takes `sansmail`
# and `imapload` from DIR instead of building them (to compare builds).
# `--flag-sync MODE` writes `[imap] flag_sync = MODE` into sansmail's
# config (default: not written, so the server's default, batched; builds
# before that key ignore it). `err/fail` columns: protocol errors / client
# failures (a connection the server closed, a timeout).
#
# `--tool imaptest` drives both servers with Dovecot's imaptest instead
# (`imaptest` on PATH, or `IMAPTEST=/path/to/imaptest`; build it with
# benches/build-imaptest.sh, it is not built
# here): its random state-tracking mix, `users=N clients=C secs=S seed=R`,
# appending messages from `--mbox` (default: `tests/default.mbox` beside the
# binary). login-heavy is imaptest's default mix (every client LOGOUTs and
# logs in again as another user); persistent adds `logout=0`, so each
# client logs in once and then loops over SELECT/FETCH/STORE/EXPUNGE/APPEND.
# cmds/s is the sum of imaptest's "Totals" row over the seconds; `err` is
# its "Error:" lines (protocol errors its state tracking found), `fail` its
# disconnections/stalls. Its full output per run goes to the summary log.
# `--warmup SECS` (imaptest only; default 0) runs an untimed login-heavy
# round per server first, so the measured rounds start with warm caches.
# `--cpu` (imaptest only) also prints, per run, the machine's steal share
# and the server's CPU milliseconds per 1,000 commands: all the machine's
# busy time over the run (user, nice, system, irq, softirq from
# /proc/stat) less imaptest's own (its rusage), so Dovecot's many
# processes (imap per session, imap-login, auth) are all counted. Other
# load on the machine counts too: run it on a quiet one. It also prints
# the disk's write and flush requests per 1,000 commands and the share of
# the run it was busy (from /sys/class/block/DEV/stat; every fsync is a
# cache flush on most disks, and a VM's flushes are serial exits).
# `--imaptest-mix "STATE=WEIGHT ..."` (imaptest only) adds imaptest state
# weights to every measured run (not the warm-up), e.g. `"append=0
# delete=0 expunge=0 store=0"` for a read-only mix or `"append=0
# delete=0 expunge=0"` for reads and STOREs: which commands carry a gap.
set -euo pipefail
cd "$(dirname "$0")/.."

users=100 clients=10 seconds=20 rounds=3 prefill=20 modes="login-heavy persistent" perf="" bindir="" flagsync="" tool=imapload mbox="" warmup=0 cpu=0 extramix=""
while [ $# -gt 0 ]; do
  case "$1" in
    --users) users=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --prefill) prefill=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --perf) perf=$2; shift 2 ;;
    --bin-dir) bindir=$2; shift 2 ;;
    --flag-sync) flagsync=$2; shift 2 ;;
    --tool) tool=$2; shift 2 ;;
    --mbox) mbox=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --cpu) cpu=1; shift ;;
    --imaptest-mix) extramix=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

case "$tool" in
  imapload) ;;
  imaptest)
    imaptest=${IMAPTEST:-$(command -v imaptest || true)}
    [ -x "$imaptest" ] || { echo "--tool imaptest needs imaptest on PATH or IMAPTEST=/path" >&2; exit 2; }
    mbox=${mbox:-$(dirname "$imaptest")/tests/default.mbox}
    [ -r "$mbox" ] || { echo "no mbox to append from: $mbox (give --mbox FILE)" >&2; exit 2; }
    # A locally built imaptest links against Dovecot's private libraries.
    export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/usr/lib/dovecot
    ;;
  *) echo "--tool is imapload or imaptest" >&2; exit 2 ;;
esac

if ! command -v dovecot >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dovecot-imapd >/dev/null
fi
if [ -n "$bindir" ]; then
  bin=$bindir
else
  cargo build --release -q -p server-smol -p sansmail-benches --bin sansmail --bin imapload
  bin=target/release
fi

work=$(mktemp -d /tmp/imap-vs-dovecot.XXXXXX)
chmod 755 "$work"
. benches/sansmail-imap-lib.sh
sport=$(free_port) dport=$(free_port)
cleanup() {
  [ -n "${ppid_perf:-}" ] && kill -INT "$ppid_perf" 2>/dev/null || true
  [ -n "${spid:-}" ] && kill "$spid" 2>/dev/null || true
  [ -n "${dpid:-}" ] && kill "$dpid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# --- sansmail ---------------------------------------------------------------
sansmail_imap_start "$work/sansmail" "$bin" "$sport" "$users" "$flagsync"
spid=$sansmail_pid

# --- Dovecot ------------------------------------------------------------------
id vmail >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin vmail
mkdir -p "$work/dovecot/run" "$work/dovecot/state" "$work/dovecot/mail"
chown vmail:vmail "$work/dovecot/mail"
hash=$(doveadm pw -s SHA512-CRYPT -p secret)
: > "$work/dovecot/passwd"
for n in $(seq -f %03g 1 "$users"); do echo "stress$n@localhost:$hash" >> "$work/dovecot/passwd"; done
cat > "$work/dovecot/dovecot.conf" <<EOF
base_dir = $work/dovecot/run
state_dir = $work/dovecot/state
log_path = $work/dovecot/log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_cache_size = 10M
auth_cache_ttl = 1 hour
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:$work/dovecot/mail/%u
passdb {
  driver = passwd-file
  args = scheme=SHA512-CRYPT username_format=%u $work/dovecot/passwd
}
userdb {
  driver = static
  args = uid=vmail gid=vmail home=$work/dovecot/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $dport
  }
  inet_listener imaps {
    port = 0
  }
}
EOF
dovecot -F -c "$work/dovecot/dovecot.conf" &
dpid=$!
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$dport) 2>/dev/null && break; sleep 0.1; done

stress() { # server-port mode seconds extra-args...
  local port=$1 mode=$2 secs=$3; shift 3
  local flag=""; [ "$mode" = login-heavy ] && flag=--login-heavy
  echo "== 127.0.0.1:$port $mode $*" >> "$sumlog"
  "$bin/imapload" stress --server "127.0.0.1:$port" --users "$users" --clients "$clients" \
    --seconds "$secs" --messages imap-proto/testdata $flag "$@" 2>"$work/stress.err" \
    | tee -a "$sumlog" | tail -1 || true
  # The first protocol errors of each run, kept for reading afterwards.
  { echo "== 127.0.0.1:$port $mode $*"; head -5 "$work/stress.err"; } >> "$errlog"
}
# imaptest: one run, printed as the same JSON fields imapload prints.
imaptest_run() { # server-port mode seconds seed
  local port=$1 mode=$2 secs=$3 seed=$4 mix=""
  [ "$mode" = persistent ] && mix=logout=0
  [ "$seed" != 0 ] && mix="$mix $extramix"
  local out="$work/imaptest.out" m0 m1
  echo "== 127.0.0.1:$port $mode imaptest seed=$seed $mix" >> "$sumlog"
  m0=$(machine_ticks) d0=$(disk_stat)
  # imaptest stops new commands after secs= and then waits for the clients
  # to log out; the timeout only bounds a server that stops answering.
  # /usr/bin/time reports timeout's children, i.e. imaptest's CPU.
  /usr/bin/time -f '%U %S' -o "$work/imaptest.rusage" \
    timeout $((secs + 60)) "$imaptest" host=127.0.0.1 port="$port" user='stress%03d@localhost' \
    users="$users" pass=secret mbox="$mbox" clients="$clients" secs="$secs" seed="$seed" \
    $mix >"$out" 2>&1 || true
  m1=$(machine_ticks) d1=$(disk_stat)
  cat "$out" >> "$sumlog"
  { echo "== 127.0.0.1:$port $mode imaptest"; grep -m5 'Error:' "$out" || true; } >> "$errlog"
  python3 - "$out" "$secs" "$m0" "$m1" "$(tail -1 "$work/imaptest.rusage")" "$(getconf CLK_TCK)" "$d0" "$d1" <<'PY'
import json, re, sys
# /sys/class/block/DEV/stat: field 5 write requests, 10 busy ms, 16 flush requests
disk = [list(map(int, a.split())) for a in sys.argv[7:9]]
def dd(i):
    return disk[1][i] - disk[0][i] if all(len(d) > i for d in disk) else 0
(b0, s0, t0), (b1, s1, t1) = (map(int, a.split()) for a in sys.argv[3:5])
client_s = sum(float(x) for x in sys.argv[5].split()[-2:])
busy_s = (b1 - b0) / int(sys.argv[6])
text = open(sys.argv[1], errors="replace").read()
lines = text.splitlines()
total = 0
if "Totals:" in lines:
    # Totals: / state names / probabilities / repeat probabilities / counts
    rows = [l for l in lines[lines.index("Totals:"):] if re.fullmatch(r"\s*\d+(\s+\d+)*\s*", l)]
    total = sum(int(n) for n in rows[0].split()) if rows else 0
errors = sum(1 for l in lines if "Error:" in l)
fails = sum(1 for l in lines if "Error:" not in l and re.search(r"(?i)disconnect|stalled", l))
print(json.dumps({"commands": total, "commands_per_s": total / float(sys.argv[2]),
                  "protocol_errors": errors, "client_failures": fails,
                  "server_cpu_ms_per_1000": 1e6 * max(busy_s - client_s, 0) / max(total, 1),
                  "client_cpu_ms_per_1000": 1e6 * client_s / max(total, 1),
                  "steal_pct": 100 * (s1 - s0) / max(t1 - t0, 1),
                  "disk_writes_per_1000": 1000 * dd(4) / max(total, 1),
                  "disk_flushes_per_1000": 1000 * dd(15) / max(total, 1),
                  "disk_busy_pct": dd(9) / (10 * float(sys.argv[2]))}))
PY
}
# machine_ticks: "busy steal total" ticks of all CPUs from /proc/stat
# (busy = user + nice + system + irq + softirq; iowait and idle are not).
# disk_stat: the block device's counters (/sys/class/block/DEV/stat) for
# the disk holding both servers' data, or nothing if it has none.
disk_stat() {
  local dev
  dev=$(df --output=source "$work" 2>/dev/null | tail -1 | sed 's#^/dev/##')
  cat "/sys/class/block/$dev/stat" 2>/dev/null || true
}
machine_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8, $9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
errlog=${ERRLOG:-/tmp/imap-vs-dovecot-errors.log}
: > "$errlog"
# Every run's full summary (per-command latencies), for reading afterwards.
sumlog=${SUMLOG:-/tmp/imap-vs-dovecot-summary.log}
: > "$sumlog"
field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d[sys.argv[2]])' "$1" "$2"; }

if [ "$tool" = imapload ]; then
  echo "prefilling $prefill messages per user in both servers ..."
  stress "$sport" persistent 0 --prefill "$prefill" >/dev/null
  stress "$dport" persistent 0 --prefill "$prefill" >/dev/null
elif [ "$warmup" -gt 0 ]; then
  # imaptest fills each INBOX itself (to msgs=30) from its mbox. Without a
  # warm-up the first round also pays each user's first login (password
  # hash, both servers' credential caches cold), as a fresh run of
  # imaptest against a fresh server does.
  echo "warming up both servers with $warmup s of imaptest login-heavy ..."
  imaptest_run "$sport" login-heavy "$warmup" 0 >/dev/null
  imaptest_run "$dport" login-heavy "$warmup" 0 >/dev/null
fi

if [ -n "$perf" ]; then
  command -v perf >/dev/null || { echo "--perf needs perf (apt-get install linux-perf)" >&2; exit 2; }
  perf record -e cpu-clock -F "${PERF_FREQ:-200}" --call-graph "${PERF_CALLGRAPH:-dwarf,8192}" -q -o "$perf" -p "$spid" 2>/dev/null &
  ppid_perf=$!
fi

printf '%-12s %5s %14s %9s %14s %9s %7s\n' mode round "sansmail c/s" "err/fail" "dovecot c/s" "err/fail" ratio
for mode in $modes; do
  for r in $(seq "$rounds"); do
    if [ "$tool" = imaptest ]; then
      s=$(imaptest_run "$sport" "$mode" "$seconds" "$r")
      d=$(imaptest_run "$dport" "$mode" "$seconds" "$r")
    else
      s=$(stress "$sport" "$mode" "$seconds" --seed "$r")
      d=$(stress "$dport" "$mode" "$seconds" --seed "$r")
    fi
    sr=$(field "$s" commands_per_s) se=$(field "$s" protocol_errors)/$(field "$s" client_failures)
    dr=$(field "$d" commands_per_s) de=$(field "$d" protocol_errors)/$(field "$d" client_failures)
    ratio=$(python3 -c "print(f'{$sr/$dr:.2f}' if $dr else 'inf')")
    printf '%-12s %5s %14.1f %9s %14.1f %9s %7s\n' "$mode" "$r" "$sr" "$se" "$dr" "$de" "$ratio"
    if [ "$cpu" = 1 ] && [ "$tool" = imaptest ]; then
      python3 - "$s" "$d" <<'PY'
import json, sys
s, d = (json.loads(a) for a in sys.argv[1:3])
print(f"{'':18} cpu ms/1000 cmds: sansmail {s['server_cpu_ms_per_1000']:.0f} (steal {s['steal_pct']:.0f}%), "
      f"dovecot {d['server_cpu_ms_per_1000']:.0f} (steal {d['steal_pct']:.0f}%), "
      f"imaptest {s['client_cpu_ms_per_1000']:.0f} / {d['client_cpu_ms_per_1000']:.0f}")
print(f"{'':18} disk per 1000 cmds: sansmail {s['disk_writes_per_1000']:.0f} writes, {s['disk_flushes_per_1000']:.0f} flushes "
      f"(busy {s['disk_busy_pct']:.0f}%), dovecot {d['disk_writes_per_1000']:.0f} writes, "
      f"{d['disk_flushes_per_1000']:.0f} flushes (busy {d['disk_busy_pct']:.0f}%)")
PY
    fi
  done
done
if [ -n "$perf" ]; then
  kill -INT "$ppid_perf"; wait "$ppid_perf" 2>/dev/null || true; ppid_perf=""
  echo "perf profile of sansmail over the measured rounds: $perf"
fi
echo "first protocol errors of each run: $errlog; summaries: $sumlog (sansmail port $sport, Dovecot port $dport)"
