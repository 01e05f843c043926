# Shared by the Postfix side-by-side and the A/B benches (sourced, not run):
# tool checks, the binaries, free ports, waiting for a listener, the inbound
# benches' dnsmasq and sansmail config, a private Postfix instance in a
# directory of its own, and the rate line of one measured run.

# require_tools TOOL...: exits unless every TOOL is on the PATH.
require_tools() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$tool is required (scripts/ci-deps.sh)" >&2; exit 1; }
  done
}

# bench_bin [DIR]: the absolute directory holding sansmail and loadgen:
# DIR when given, else target/release after a release build of both.
bench_bin() {
  local dir=${1:-}
  if [ -z "$dir" ]; then
    cargo build --release -q -p server-smol -p sansmail-benches --bin sansmail --bin loadgen
    dir=target/release
  fi
  (cd "$dir" && pwd)
}

# inbound_dnsmasq PORT: starts (in the background) the inbound benches'
# dnsmasq on 127.0.0.1:PORT: SPF `v=spf1 ip4:127.0.0.1 -all` for
# sender.test and DMARC `p=none` for _dmarc.sender.test, with TTL 0 unless
# DNS_TTL=SECS (dnsmasq's --local-ttl). The caller takes its pid from $!.
inbound_dnsmasq() {
  dnsmasq --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null --pid-file= \
    --listen-address=127.0.0.1 --bind-interfaces --local=/test/ --port="$1" --user=root ${DNS_TTL:+--local-ttl=$DNS_TTL} \
    "--txt-record=sender.test,v=spf1 ip4:127.0.0.1 -all" "--txt-record=_dmarc.sender.test,v=DMARC1; p=none" &
}

# bench_toml LISTENER PORT DNS_PORT: the start of a bench server's
# sansmail.toml on standard output: LISTENER (`smtp` or `submission`) on
# 127.0.0.1:PORT and no other listener, ending inside `[outbound]` with the
# resolver at 127.0.0.1:DNS_PORT, so the caller may add `[outbound]` keys
# (mx_port) and further tables.
bench_toml() {
  local smtp="" submission=""
  case "$1" in
    smtp) smtp="\"127.0.0.1:$2\"" ;;
    submission) submission="\"127.0.0.1:$2\"" ;;
    *) echo "bench_toml: unknown listener $1" >&2; return 2 ;;
  esac
  cat <<CONF
data_dir = "data"
hostname = "mx.bench.test"
domains = ["localhost"]
[smtp]
listen = [$smtp]
listen_tls = []
[submission]
listen = [$submission]
listen_tls = []
[imap]
listen = []
listen_tls = []
[pop3]
listen = []
listen_tls = []
[http]
listen = []
[outbound]
resolvers = ["127.0.0.1:$3"]
CONF
}

# inbound_toml SMTP_PORT DNS_PORT CHECKS: an inbound bench server's
# sansmail.toml: plain SMTP on 127.0.0.1:SMTP_PORT, and with CHECKS `off`
# SPF, DKIM and DMARC turned off (else their defaults: all on).
inbound_toml() {
  bench_toml smtp "$1" "$2"
  if [ "$3" = off ]; then
    printf '[checks]\nspf = false\ndkim = false\ndmarc = false\n'
  fi
}

# N distinct ports free for TCP and UDP (dnsmasq binds both), all held
# open while picked so none repeats, from below the kernel's ephemeral range
# (32768 and up): on a busy machine a port the kernel just handed out and
# released is soon taken again by some outgoing connection.
free_ports() {
  python3 - "$1" <<'PY'
import random, socket, sys
n, held, ports = int(sys.argv[1]), [], []
while len(ports) < n:
    p = random.randint(20000, 32000)
    if p in ports:
        continue
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            held.append(s)
            s.bind(("127.0.0.1", p))
    except OSError:
        continue
    ports.append(p)
print(" ".join(map(str, ports)))
PY
}

# wait_port PORT [NAME LOG]: waits up to 60 s until something accepts
# connections on 127.0.0.1:PORT. On failure it names the server and shows
# the end of its log (a server that exited, e.g. on a port taken between
# free_ports and its bind, says so there), instead of only the port.
wait_port() {
  for _ in $(seq 1 600); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1${2:+ ($2)}" >&2
  if [ -n "${3:-}" ] && [ -f "$3" ]; then
    echo "--- last lines of $3:" >&2
    tail -20 "$3" >&2
  fi
  exit 1
}

# postfix_start DIR PORT MAIN_CF_LINES [SERVICE...]: a private Postfix
# (config, queue and log under DIR, smtpd on 127.0.0.1:PORT, otherwise
# Postfix's defaults) with MAIN_CF_LINES appended to main.cf and each
# SERVICE line added to master.cf's standard services. Needs root.
postfix_start() {
  local pf=$1 port=$2 extra=$3; shift 3
  mkdir -p "$pf/etc" "$pf/queue" "$pf/data"
  chown postfix "$pf/data"
  cat > "$pf/etc/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
maillog_file = $pf/maillog
maillog_file_prefixes = $pf
myhostname = relay.bench.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
smtputf8_enable = no
$extra
CONF
  {
    echo "127.0.0.1:$port inet n - n - - smtpd"
    for s in "pickup fifo n - n 60 1 pickup" "cleanup unix n - n - 0 cleanup" "qmgr unix n - n 300 1 qmgr" \
             "rewrite unix - - n - - trivial-rewrite" "bounce unix - - n - 0 bounce" "defer unix - - n - 0 bounce" \
             "trace unix - - n - 0 bounce" "verify unix - - n - 1 verify" "flush unix n - n 1000? 0 flush" \
             "proxymap unix - - n - - proxymap" "smtp unix - - n - - smtp" "relay unix - - n - - smtp" \
             "$@" "error unix - - n - - error" "retry unix - - n - - error" "discard unix - - n - - discard" \
             "anvil unix - - n - 1 anvil" "scache unix - - n - 1 scache" "showq unix n - n - - showq" \
             "postlog unix-dgram n - n - 1 postlogd"; do
      echo "$s"
    done
  } > "$pf/etc/master.cf"
  postfix -c "$pf/etc" start >/dev/null
}

# postfix_stop DIR: stops the instance of postfix_start (if it runs).
postfix_stop() { postfix -c "$1/etc" stop >/dev/null 2>&1 || true; }

# rates LOADGEN_JSON T0 T1 MESSAGES: "<accept msg/s> <end-to-end msg/s>",
# failing unless loadgen had every message accepted without errors.
rates() {
  python3 - "$@" <<'PY'
import json, sys
o = json.loads(sys.argv[1])
if o["errors"] or o["accepted"] != int(sys.argv[4]):
    sys.exit(f"loadgen: {o['accepted']} accepted, {o['errors']} errors")
print(f"{o['msgs_per_s']:.1f} {int(sys.argv[4]) / (float(sys.argv[3]) - float(sys.argv[2])):.1f}")
PY
}
