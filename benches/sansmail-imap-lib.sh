# Shared by the IMAP benches (imap-vs-dovecot.sh, imap-ab.sh): a private
# sansmail serving IMAP only, with imaptest's users. Source it from a
# script that has `set -euo pipefail`.

# free_port: a port the kernel has free on 127.0.0.1 now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# sansmail_imap_start DIR BIN PORT USERS [FLAG_SYNC]: writes
# DIR/sansmail.toml (data in DIR/data, IMAP on 127.0.0.1:PORT and nothing
# else, no per-IP connection cap; `[imap] flag_sync = FLAG_SYNC` if
# given), starts `BIN/sansmail serve` with its log in DIR/log, waits until
# it listens, and adds stress001@localhost ... stressUSERS@localhost with
# the password `secret` (imaptest's `user=stress%03d@localhost`). The
# server's pid is left in `sansmail_pid`.
sansmail_imap_start() {
  local dir=$1 bin=$2 port=$3 users=$4 flagsync=${5:-} n
  mkdir -p "$dir"
  cat > "$dir/sansmail.toml" <<CONF
data_dir = "$dir/data"
domains = ["localhost"]
[smtp]
listen = []
[submission]
listen = []
listen_tls = []
[imap]
listen = ["127.0.0.1:$port"]
listen_tls = []
${flagsync:+flag_sync = \"$flagsync\"}
[pop3]
listen = []
listen_tls = []
[http]
listen = []
[limits]
max_connections_per_ip = 100000
CONF
  "$bin/sansmail" serve --config "$dir/sansmail.toml" >"$dir/log" 2>&1 &
  sansmail_pid=$!
  for _ in $(seq 100); do grep -q "listening imap" "$dir/log" && break; sleep 0.1; done
  for n in $(seq -f %03g 1 "$users"); do
    echo secret | "$bin/sansmail" --config "$dir/sansmail.toml" user add "stress$n@localhost" --password-stdin >/dev/null
  done
}
