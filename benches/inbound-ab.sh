#!/usr/bin/env bash
# Two sansmail builds A/B on the inbound path with the checks on, in one run:
#
#   benches/inbound-ab.sh DIR_A DIR_B PAIRS MESSAGES
#
# DIR_A/DIR_B each hold `sansmail` and `loadgen` (release builds). Both
# servers share one dnsmasq with inbound-checks-vs-postfix.sh's records
# (SPF `ip4:127.0.0.1 -all` and DMARC `p=none` for sender.test, TTL 0
# unless `DNS_TTL=SECS`), and take MESSAGES messages of 5 KB from
# bench@sender.test to alice@localhost over 10 plain SMTP connections per
# run: one unmeasured run each, then PAIRS pairs in ABBA order. Prints per
# run the end-to-end rate (loadgen start until every message is a file in
# the Maildir), the server's CPU per message (utime + stime from
# /proc/PID/stat, which swings less than the rate on a noisy VM) and the
# machine's busy and steal shares. `CHECKS=off` turns SPF/DKIM/DMARC off
# on both. `PERF=FILE [PERFSIDE=A|B]` first records one extra run of that
# side with `perf record --call-graph dwarf`. Needs dnsmasq and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/postfix-bench-lib.sh
[ $# -eq 4 ] || { echo "usage: $0 DIR_A DIR_B PAIRS MESSAGES" >&2; exit 2; }
require_tools dnsmasq python3
binA=$(cd "$1" && pwd) binB=$(cd "$2" && pwd) pairs=$3 messages=$4 connections=10 size=5120
per_conn=$((messages/connections)); messages=$((per_conn*connections))
work=$(mktemp -d /tmp/in-ab.XXXXXX); chmod 755 "$work"; chattr +T "$work" 2>/dev/null || true
read -r dnsport portA portB < <(free_ports 3)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT
inbound_dnsmasq "$dnsport"; pids+=($!)
declare -A port pid bin
port[A]=$portA port[B]=$portB bin[A]=$binA bin[B]=$binB
for side in A B; do
  mkdir -p "$work/$side"
  inbound_toml "${port[$side]}" "$dnsport" "${CHECKS:-on}" > "$work/$side/sansmail.toml"
  (cd "$work/$side" && echo secret | "${bin[$side]}/sansmail" --config sansmail.toml user add alice@localhost --password-stdin >/dev/null 2>&1)
  (cd "$work/$side" && exec "${bin[$side]}/sansmail" --config sansmail.toml serve > log 2>&1) & pid[$side]=$!; pids+=(${pid[$side]})
  wait_port "${port[$side]}" "sansmail-$side" "$work/$side/log"
done
count() { { find "$work/$1/data/mail/localhost/alice" -type f -path '*/new/*' 2>/dev/null || true; } | wc -l; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
machine_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8, $9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
run() {
  local side=$1 base target t0 t1 c0 c1 got
  base=$(count "$side"); target=$((base+messages))
  c0=$(cpu_ticks "${pid[$side]}"); read -r b0 s0 a0 < <(machine_ticks)
  t0=$(date +%s.%N)
  "${bin[$side]}/loadgen" --server "127.0.0.1:${port[$side]}" --connections $connections --messages $per_conn \
    --size $size --from bench@sender.test --to alice@localhost >/dev/null
  for _ in $(seq 1 6000); do [ "$(count "$side")" -ge "$target" ] && break; sleep 0.02; done
  t1=$(date +%s.%N)
  c1=$(cpu_ticks "${pid[$side]}"); read -r b1 s1 a1 < <(machine_ticks)
  got=$(count "$side"); [ "$got" -ge "$target" ] || { echo "only $((got-base)) delivered"; tail -5 "$work/$side/log"; exit 1; }
  python3 -c "
m=$messages
print(f'{m/($t1-$t0):.0f} e2e msg/s, cpu {($c1-$c0)/100/m*1e3:.3f} ms/msg, busy {($b1-$b0)/($a1-$a0)*100:.0f}% steal {($s1-$s0)/($a1-$a0)*100:.0f}%')"
}
echo "warmup"; run A >/dev/null; run B >/dev/null
if [ -n "${PERF:-}" ]; then
  perf record -F 999 --call-graph dwarf,16384 -q -o "$PERF" -p "${pid[${PERFSIDE:-A}]}" 2>/dev/null & pp=$!
  echo "perf ${PERFSIDE:-A}: $(run "${PERFSIDE:-A}")"; kill -INT $pp; wait $pp || true
fi
for p in $(seq "$pairs"); do
  order="A B"; [ $((p%2)) = 0 ] && order="B A"
  for s in $order; do echo "pair $p $s: $(run $s)"; done
done
