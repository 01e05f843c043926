#!/usr/bin/env bash
# Inbound SMTP with the checks on receipt side by side (issue 12): N
# messages of 5 KB from sender.test to alice@localhost over plain SMTP;
# sansmail on `[smtp]` with SPF, DKIM and DMARC on (`[checks]` defaults;
# a private dnsmasq answers `v=spf1 ip4:127.0.0.1 -all` for sender.test and
# `v=DMARC1; p=none` for _dmarc.sender.test; the messages carry no
# DKIM-Signature, so DKIM is `none` and costs no key lookup), next to a
# private Postfix 3.7 instance delivering locally (virtual(8) into a
# Maildir, no checks: Postfix has none built in).
#
#   benches/inbound-checks-vs-postfix.sh [--messages 2000] [--connections 10] [--size 5120]
#                                        [--rounds 3] [--bin-dir DIR] [--checks on|off]
#
# `--checks off` turns SPF/DKIM/DMARC off (`[checks]` all false): plain
# durable delivery through the pipeline to `local` (issue 11's figure).
# `DNS_TTL=SECS` gives dnsmasq's answers that TTL (`--local-ttl`). Its
# default is 0, so every message makes sansmail query SPF and DMARC
# again; real records carry minutes to hours.
#
# Each round runs sansmail then Postfix and prints, per server, the SMTP
# accept rate (loadgen, first to last accepted DATA; sansmail acknowledges
# only after the Maildir file and index are durable) and the end-to-end
# rate (loadgen start until every message is a file in the Maildir), and
# the ratio sansmail/Postfix of the end-to-end rates. Needs root, postfix,
# dnsmasq.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/postfix-bench-lib.sh

messages=2000 connections=10 size=5120 rounds=3 bindir="" checks=on
while [ $# -gt 0 ]; do
  case "$1" in
    --messages) messages=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --bin-dir) bindir=$2; shift 2 ;;
    --checks) checks=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
require_tools postfix dnsmasq python3
bin=$(bench_bin "$bindir")
per_conn=$(( messages / connections ))
messages=$(( per_conn * connections ))

work=$(mktemp -d /tmp/inbound-vs-postfix.XXXXXX)
chmod 755 "$work"
# ext4 without a journal skips inodes deleted in the last 60-360 s when it
# allocates one, scanning for them (maildir/docs/design.md §10): Postfix
# deletes a queue file per message, so a sansmail round right after a
# Postfix round in the same block group pays for Postfix's deletions. +T
# (the Orlov hint) puts sm/ and pf/ in block groups of their own.
chattr +T "$work" 2>/dev/null || true
read -r dnsport smport pfport < <(free_ports 3)
cleanup() {
  [ -n "${spid:-}" ] && kill "$spid" 2>/dev/null || true
  [ -n "${dnspid:-}" ] && kill "$dnspid" 2>/dev/null || true
  postfix_stop "$work/pf"
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

inbound_dnsmasq "$dnsport"
dnspid=$!

# sansmail: [smtp] with the checks (their defaults: all on).
mkdir -p "$work/sm"
inbound_toml "$smport" "$dnsport" "$checks" > "$work/sm/sansmail.toml"
(cd "$work/sm" && echo secret | "$bin/sansmail" --config sansmail.toml user add alice@localhost --password-stdin >/dev/null)
(cd "$work/sm" && exec "$bin/sansmail" --config sansmail.toml serve > log 2>&1) &
spid=$!

# Postfix: a private instance delivering to a Maildir with virtual(8).
pf=$work/pf
mkdir -p "$pf/mail"
chown postfix "$pf/mail"
pfuid=$(id -u postfix) pfgid=$(id -g postfix)
postfix_start "$pf" "$pfport" "virtual_mailbox_domains = localhost
virtual_mailbox_base = $pf/mail
virtual_mailbox_maps = static:alice/
virtual_uid_maps = static:$pfuid
virtual_gid_maps = static:$pfgid
virtual_transport = virtual" "virtual unix - n n - - virtual"

wait_port "$smport" sansmail "$work/sm/log"
wait_port "$pfport" postfix "$pf/maillog"

# Delivered files of one server's Maildir.
count() { { find "$1" -type f -path '*/new/*' 2>/dev/null || true; } | wc -l; }

# One measured run against `port` delivering under `dir`: prints
# "<accept msg/s> <end-to-end msg/s>".
run() {
  local port=$1 dir=$2; shift 2
  local base target t0 t1 out
  base=$(count "$dir")
  target=$(( base + messages ))
  t0=$(date +%s.%N)
  out=$("$bin/loadgen" --server "127.0.0.1:$port" --connections "$connections" --messages "$per_conn" \
        --size "$size" --from bench@sender.test --to alice@localhost "$@" | tail -1)
  for _ in $(seq 1 6000); do
    [ "$(count "$dir")" -ge "$target" ] && break
    sleep 0.05
  done
  t1=$(date +%s.%N)
  local got; got=$(count "$dir")
  if [ "$got" -lt "$target" ]; then
    echo "only $(( got - base )) of $messages were delivered under $dir" >&2; exit 1
  fi
  rates "$out" "$t0" "$t1" "$messages"
}

echo "messages $messages  connections $connections  size $size B  (sansmail $(cd "$bin" && ls -la sansmail | awk '{print $6, $7, $8}'))"
smdir=$work/sm/data/mail/localhost/alice
pfdir=$pf/mail/alice
run "$smport" "$smdir" >/dev/null
run "$pfport" "$pfdir" >/dev/null
printf '%5s %16s %16s %16s %16s %7s\n' round "sansmail accept" "sansmail e2e" "postfix accept" "postfix e2e" ratio
for r in $(seq 1 "$rounds"); do
  read -r ss se < <(run "$smport" "$smdir")
  read -r ps pe < <(run "$pfport" "$pfdir")
  ratio=$(python3 -c "print(f'{$se / $pe:.2f}')")
  printf '%5s %14s/s %14s/s %14s/s %14s/s %6sx\n' "$r" "$ss" "$se" "$ps" "$pe" "$ratio"
done
