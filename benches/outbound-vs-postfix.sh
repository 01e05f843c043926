#!/usr/bin/env bash
# Outbound throughput side by side (issue 12): N messages of 5 KB submitted
# to a remote recipient until all are accepted by Postfix's `smtp-sink` on
# loopback; sansmail (submission with AUTH, MX delivery: a private dnsmasq
# names the sink as the MX of remote.test, `[outbound] mx_port` = the
# sink's port) next to a private Postfix 3.7 instance (smtpd relaying for
# mynetworks, `relayhost = [127.0.0.1]:<sink>`, its own config and queue
# in a temporary directory, otherwise Postfix's defaults).
#
#   benches/outbound-vs-postfix.sh [--messages 2000] [--connections 10] [--size 5120]
#                                  [--rounds 3] [--dkim off|on] [--bin-dir DIR]
#
# Each round runs sansmail then Postfix (alternating, so drift on a shared
# machine hits both) and prints, per server, the submission rate (loadgen:
# first to last accepted DATA) and the end-to-end rate (loadgen start until
# the sink counted every message), and the ratio sansmail/Postfix of the
# end-to-end rates. Needs root (Postfix), postfix, smtp-sink, dnsmasq.
#
# Differences to know: Postfix gets the load without AUTH (SASL needs a
# Dovecot or Cyrus setup; relaying is allowed for 127.0.0.0/8), and it
# reaches the sink without DNS (relayhost); sansmail resolves the MX through
# dnsmasq. `--dkim on` lets sansmail DKIM-sign every message (Postfix signs
# nothing); the default is off so both do the same work.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/postfix-bench-lib.sh

messages=2000 connections=10 size=5120 rounds=3 dkim=off bindir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --messages) messages=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --dkim) dkim=$2; shift 2 ;;
    --bin-dir) bindir=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
require_tools postfix smtp-sink dnsmasq python3
bin=$(bench_bin "$bindir")
per_conn=$(( messages / connections ))
messages=$(( per_conn * connections ))
sign=false; [ "$dkim" = on ] && sign=true

work=$(mktemp -d /tmp/outbound-vs-postfix.XXXXXX)
chmod 755 "$work"
# Spread sm/, pf/ and the sink over block groups of their own (the Orlov
# hint; see inbound-checks-vs-postfix.sh and maildir/docs/design.md §10):
# on ext4 without a journal, creating a file scans past the inodes deleted
# in its group in the last minutes, and Postfix deletes a queue file per
# message.
chattr +T "$work" 2>/dev/null || true
read -r sinkport dnsport subport pfport < <(free_ports 4)
cleanup() {
  [ -n "${spid:-}" ] && kill "$spid" 2>/dev/null || true
  [ -n "${sinkpid:-}" ] && kill "$sinkpid" 2>/dev/null || true
  [ -n "${dnspid:-}" ] && kill "$dnspid" 2>/dev/null || true
  postfix_stop "$work/pf"
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# The sink: counts every accepted message (`-c`: "msg=N" after each ".").
smtp-sink -c -u nobody "127.0.0.1:$sinkport" 1024 > "$work/sink.out" 2>&1 &
sinkpid=$!
# Only the file's end is read: it is polled every 50 ms while it grows by
# a line per message, and reading all of it each time took a share of the
# CPU both servers measure on.
sink_count() { tail -c 400 "$work/sink.out" | tr '\r' '\n' | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -1; }

dnsmasq --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null --pid-file= \
  --listen-address=127.0.0.1 --bind-interfaces --local=/test/ --port="$dnsport" --user=root \
  --mx-host=remote.test,mx.remote.test,10 --host-record=mx.remote.test,127.0.0.1 &
dnspid=$!

# sansmail: submission only, MX delivery to the sink.
mkdir -p "$work/sm"
{ bench_toml submission "$subport" "$dnsport"
  printf 'mx_port = %s\n[dkim]\nsign = %s\n' "$sinkport" "$sign"
} > "$work/sm/sansmail.toml"
(cd "$work/sm" && echo secret | "$bin/sansmail" --config sansmail.toml user add alice@localhost --password-stdin >/dev/null)
(cd "$work/sm" && exec "$bin/sansmail" --config sansmail.toml serve > log 2>&1) &
spid=$!

# Postfix: a private instance relaying to the sink.
pf=$work/pf
postfix_start "$pf" "$pfport" "relayhost = [127.0.0.1]:$sinkport"

wait_port "$subport" sansmail "$work/sm/log"
wait_port "$pfport" postfix "$pf/maillog"
wait_port "$sinkport" smtp-sink "$work/sink.out"

# One measured run against `port`: prints "<submit msg/s> <end-to-end msg/s>".
run() {
  local port=$1; shift
  local base target t0 t1 out
  base=$(sink_count); base=${base:-0}
  target=$(( base + messages ))
  t0=$(date +%s.%N)
  out=$("$bin/loadgen" --server "127.0.0.1:$port" --connections "$connections" --messages "$per_conn" \
        --size "$size" --to bob@remote.test "$@" | tail -1)
  for _ in $(seq 1 6000); do
    [ "$(sink_count)" -ge "$target" ] 2>/dev/null && break
    sleep 0.05
  done
  t1=$(date +%s.%N)
  local got; got=$(sink_count)
  if [ "${got:-0}" -lt "$target" ]; then
    echo "only $(( got - base )) of $messages reached the sink" >&2
    kill -0 "$dnspid" 2>/dev/null || echo "dnsmasq (port $dnsport) is not running" >&2
    kill -0 "$sinkpid" 2>/dev/null || echo "smtp-sink (port $sinkport) is not running" >&2
    echo "--- last lines of sansmail's log:" >&2; tail -10 "$work/sm/log" >&2
    exit 1
  fi
  rates "$out" "$t0" "$t1" "$messages"
}

echo "messages $messages  connections $connections  size $size B  dkim $dkim  (sansmail $(cd "$bin" && ls -la sansmail | awk '{print $6, $7, $8}'))"
# Warm-up (unmeasured): DKIM key generation, Postfix's first qmgr pass.
run "$subport" --from alice@localhost --auth alice@localhost:secret >/dev/null
run "$pfport" --from alice@bench.test >/dev/null
printf '%5s %16s %16s %16s %16s %7s\n' round "sansmail submit" "sansmail e2e" "postfix submit" "postfix e2e" ratio
for r in $(seq 1 "$rounds"); do
  read -r ss se < <(run "$subport" --from alice@localhost --auth alice@localhost:secret)
  read -r ps pe < <(run "$pfport" --from alice@bench.test)
  ratio=$(python3 -c "print(f'{$se / $pe:.2f}')")
  printf '%5s %14s/s %14s/s %14s/s %14s/s %6sx\n' "$r" "$ss" "$se" "$ps" "$pe" "$ratio"
done
