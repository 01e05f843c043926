#!/usr/bin/env bash
# Two sansmail builds (or configs) A/B on the outbound path, in one run:
#
#   benches/outbound-ab.sh DIR_A SIGN_A DIR_B SIGN_B PAIRS MESSAGES
#
# DIR_A/DIR_B each hold `sansmail` and `loadgen` (release builds);
# SIGN_A/SIGN_B are `true` or `false` for `[dkim] sign`. Both servers share
# one smtp-sink and one dnsmasq (outbound-vs-postfix.sh's setup, without
# Postfix): MESSAGES messages of 5 KB over 10 submission connections per
# run, after one unmeasured run each, then PAIRS pairs in ABBA order.
# Prints per run the submission and end-to-end rates, the server's CPU
# per message (/proc/PID/stat) and the machine's busy and steal shares:
# compare runs with like steal. `PERF=FILE [PERFSIDE=A|B]` first records
# one extra run of that side with `perf record --call-graph dwarf`.
# Needs root (smtp-sink drops to nobody), smtp-sink, dnsmasq, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/postfix-bench-lib.sh
[ $# -eq 6 ] || { echo "usage: $0 DIR_A SIGN_A DIR_B SIGN_B PAIRS MESSAGES" >&2; exit 2; }
require_tools smtp-sink dnsmasq python3
binA=$(cd "$1" && pwd) signA=$2 binB=$(cd "$3" && pwd) signB=$4 pairs=$5 messages=$6 connections=10 size=5120
per_conn=$((messages/connections))
work=$(mktemp -d /tmp/ob-ab.XXXXXX); chmod 755 $work; chattr +T $work 2>/dev/null || true
read -r sinkport dnsport portA portB < <(free_ports 4)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; wait 2>/dev/null; rm -rf $work' EXIT
smtp-sink -c -u nobody "127.0.0.1:$sinkport" 1024 > "$work/sink.out" 2>&1 & pids+=($!)
sink_count() { tail -c 300 "$work/sink.out" | tr '\r' '\n' | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -1; }
dnsmasq --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null --pid-file= \
  --listen-address=127.0.0.1 --bind-interfaces --local=/test/ --port="$dnsport" --user=root \
  --mx-host=remote.test,mx.remote.test,10 --host-record=mx.remote.test,127.0.0.1 & pids+=($!)
declare -A port pid bin
port[A]=$portA port[B]=$portB bin[A]=$binA bin[B]=$binB
for side in A B; do
  sign=$signA; [ $side = B ] && sign=$signB
  mkdir -p $work/$side
  { bench_toml submission "${port[$side]}" "$dnsport"
    printf 'mx_port = %s\n[dkim]\nsign = %s\n' "$sinkport" "$sign"
  } > "$work/$side/sansmail.toml"
  (cd "$work/$side" && echo secret | "${bin[$side]}/sansmail" --config sansmail.toml user add alice@localhost --password-stdin >/dev/null 2>&1)
  (cd "$work/$side" && exec "${bin[$side]}/sansmail" --config sansmail.toml serve > log 2>&1) & pid[$side]=$!; pids+=(${pid[$side]})
  wait_port "${port[$side]}" sansmail-$side "$work/$side/log"
done
wait_port "$sinkport" smtp-sink "$work/sink.out"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
machine_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8, $9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
run() {
  local side=$1 base target t0 t1 out c0 c1
  base=$(sink_count); base=${base:-0}; target=$((base+messages))
  c0=$(cpu_ticks ${pid[$side]}); read -r b0 s0 a0 < <(machine_ticks)
  t0=$(date +%s.%N)
  out=$("${bin[$side]}/loadgen" --server "127.0.0.1:${port[$side]}" --connections $connections --messages $per_conn \
        --size $size --to bob@remote.test --from alice@localhost --auth alice@localhost:secret | tail -1)
  for _ in $(seq 1 6000); do [ "$(sink_count)" -ge "$target" ] 2>/dev/null && break; sleep 0.05; done
  t1=$(date +%s.%N)
  c1=$(cpu_ticks ${pid[$side]}); read -r b1 s1 a1 < <(machine_ticks)
  got=$(sink_count); [ "${got:-0}" -ge "$target" ] || { echo "only $((got-base)) reached"; tail -5 $work/$side/log; exit 1; }
  python3 -c "
import json,sys; o=json.loads(sys.argv[1]); m=$messages
print(f'{o[\"msgs_per_s\"]:.0f} sub, {m/($t1-$t0):.0f} e2e, cpu {($c1-$c0)/100/m*1e3:.2f} ms/msg, busy {($b1-$b0)/($a1-$a0)*100:.0f}% steal {($s1-$s0)/($a1-$a0)*100:.0f}%')" "$out"
}
echo "warmup"; run A >/dev/null; run B >/dev/null
if [ -n "${PERF:-}" ]; then
  perf record -F 999 --call-graph dwarf,16384 -q -o "$PERF" -p ${pid[${PERFSIDE:-A}]} 2>/dev/null & pp=$!
  echo "perf ${PERFSIDE:-A}: $(run ${PERFSIDE:-A})"; kill -INT $pp; wait $pp || true
fi
for p in $(seq $pairs); do
  order="A B"; [ $((p%2)) = 0 ] && order="B A"
  for s in $order; do echo "pair $p $s: $(run $s)"; done
done
