#!/usr/bin/env bash
# Two sansmail builds (or two configs) A/B under imaptest, in one run:
#
#   IMAPTEST=/path/to/imaptest benches/imap-ab.sh --a DIR_A --b DIR_B \
#     [--pairs 4] [--seconds 15] [--users 100] [--clients 10] [--mode persistent|login-heavy] \
#     [--cpu]
#
# DIR_A and DIR_B each hold a `sansmail` binary (a release build of each
# commit). Each server gets its own data directory, the same users
# (stressNNN@localhost / secret) and a 5 s login-heavy warm-up; then the
# measured runs go A B B A, A B B A ... (ABBA, so neither build always runs
# first: on a small VM the run after a quiet spell is faster). Prints c/s
# per run (imaptest's Totals row over the seconds), the error count from
# imaptest's state tracking, and the means. `--cpu` also prints the CPU
# seconds (user+system, from /proc/PID/stat) each server used per run and
# per 1,000 commands. Each run also shows the machine's steal share (CPU
# time the hypervisor gave to other guests): compare runs with like
# steal. Root is not needed. The comparison of one build with itself
# (`--a D --b D`) shows this machine's noise.
set -euo pipefail
cd "$(dirname "$0")/.."
a="" b="" pairs=4 seconds=15 users=100 clients=10 mode=persistent cpu=0
while [ $# -gt 0 ]; do
  case "$1" in
    --a) a=$2; shift 2 ;;
    --b) b=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --users) users=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --mode) mode=$2; shift 2 ;;
    --cpu) cpu=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$a/sansmail" ] && [ -x "$b/sansmail" ] || { echo "--a DIR and --b DIR must hold a sansmail binary" >&2; exit 2; }
imaptest=${IMAPTEST:-$(command -v imaptest || true)}
[ -x "$imaptest" ] || { echo "needs imaptest on PATH or IMAPTEST=/path (benches/build-imaptest.sh)" >&2; exit 2; }
mbox=$(dirname "$imaptest")/tests/default.mbox
export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/usr/lib/dovecot

work=$(mktemp -d /tmp/imap-ab.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
. benches/sansmail-imap-lib.sh

declare -A port pid
for side in A B; do
  dir=$a; [ $side = B ] && dir=$b
  port[$side]=$(free_port)
  sansmail_imap_start "$work/$side" "$dir" "${port[$side]}" "$users"
  pid[$side]=$sansmail_pid
  pids+=("$sansmail_pid")
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# All-CPU (total, steal) ticks from /proc/stat: on a shared VM the
# hypervisor can take a third of the machine for a whole run ("steal"),
# which is what makes one run of the same build half as fast as the next.
machine_ticks() { awk '/^cpu /{t=0; for(i=2;i<=NF;i++) t+=$i; print t, $9}' /proc/stat; }
run() { # side mode secs seed -> prints "c/s errors cpu_s commands steal_%"
  local side=$1 m=$2 secs=$3 seed=$4 mix="" out="$work/out" t0 t1
  [ "$m" = persistent ] && mix=logout=0
  t0=$(cpu_ticks "${pid[$side]}")
  read -r m0 st0 < <(machine_ticks)
  timeout $((secs + 60)) "$imaptest" host=127.0.0.1 port="${port[$side]}" user='stress%03d@localhost' \
    users="$users" pass=secret mbox="$mbox" clients="$clients" secs="$secs" seed="$seed" \
    $mix >"$out" 2>&1 || true
  t1=$(cpu_ticks "${pid[$side]}")
  read -r m1 st1 < <(machine_ticks)
  python3 - "$out" "$secs" $((t1 - t0)) "$(getconf CLK_TCK)" $((m1 - m0)) $((st1 - st0)) <<'PY'
import re, sys
lines = open(sys.argv[1], errors="replace").read().splitlines()
total = 0
if "Totals:" in lines:
    rows = [l for l in lines[lines.index("Totals:"):] if re.fullmatch(r"\s*\d+(\s+\d+)*\s*", l)]
    total = sum(int(n) for n in rows[0].split()) if rows else 0
errors = sum(1 for l in lines if "Error:" in l)
steal = 100 * int(sys.argv[6]) / max(int(sys.argv[5]), 1)
print(f"{total / float(sys.argv[2]):.1f} {errors} {int(sys.argv[3]) / int(sys.argv[4]):.2f} {total} {steal:.0f}")
PY
}

echo "warming up (5 s login-heavy each) ..."
run A login-heavy 5 0 >/dev/null
run B login-heavy 5 0 >/dev/null

declare -A sum=([A]=0 [B]=0) cpus=([A]=0 [B]=0) cmds=([A]=0 [B]=0)
errs=0 seed=1
for p in $(seq "$pairs"); do
  order="A B"; [ $((p % 2)) = 0 ] && order="B A"
  line="pair $p:"
  for side in $order; do
    read -r cs e c n st < <(run "$side" "$mode" "$seconds" "$seed")
    seed=$((seed + 1))
    sum[$side]=$(python3 -c "print(${sum[$side]} + $cs)")
    cpus[$side]=$(python3 -c "print(${cpus[$side]} + $c)")
    cmds[$side]=$((cmds[$side] + n))
    errs=$((errs + e))
    line="$line $side $cs c/s (err $e, steal ${st}%)"
    [ "$cpu" = 1 ] && line="$line cpu ${c}s"
  done
  echo "$line"
done
python3 - "${sum[A]}" "${sum[B]}" "$pairs" "${cpus[A]}" "${cpus[B]}" "${cmds[A]}" "${cmds[B]}" "$cpu" <<'PY'
import sys
sa, sb, n, ca, cb, na, nb, cpu = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), sys.argv[8] == "1"
print(f"mean A {sa / n:.1f} c/s, B {sb / n:.1f} c/s, B/A {sb / sa:.3f}")
if cpu:
    print(f"cpu per 1,000 commands: A {1000 * ca / max(na, 1):.3f} s, B {1000 * cb / max(nb, 1):.3f} s")
PY
echo "imaptest errors (both builds): $errs"
