#!/bin/sh
# Runs the external SMTP clients (swaks, curl, Python smtplib) against a
# freshly started sansmail and prints a summary. Installs nothing: see
# scripts/ci-deps.sh. The assertions proper live in server-smol/tests; this
# is for a quick manual look (and shows the clients' transcripts).
#
#   scripts/interop.sh [path/to/sansmail]
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-}
if [ -z "$bin" ]; then
    target=${CARGO_TARGET_DIR:-$root/target}
    cargo build -q -p server-smol --bin sansmail || exit 1
    bin=$target/debug/sansmail
fi
work=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
cat > "$work/sansmail.toml" <<TOML
data_dir = "data"
hostname = "mx.sansmail.test"
domains = ["localhost"]
[smtp]
listen = ["127.0.0.1:0"]
listen_tls = ["127.0.0.1:0"]
[submission]
listen = ["127.0.0.1:0"]
listen_tls = ["127.0.0.1:0"]
[imap]
listen = []
listen_tls = []
[pop3]
listen = []
listen_tls = []
[auth]
plaintext = "loopback"
[limits]
max_message_size = 1048576
TOML
cd "$work" || exit 1
printf 'alice-secret\n' | "$bin" --config sansmail.toml user add alice@localhost --password-stdin || exit 1
printf 'bob-secret\n' | "$bin" --config sansmail.toml user add bob@localhost --password-stdin || exit 1
"$bin" serve --config sansmail.toml > server.out 2> server.err &
server_pid=$!
port_of() { sed -n "s/.*listening $1 [^ ]*:\([0-9][0-9]*\).*/\1/p" server.out server.err | head -n 1; }
i=0
while [ -z "$(port_of submissions)" ] || [ -z "$(port_of smtps)" ]; do
    i=$((i + 1))
    if [ $i -gt 300 ] || ! kill -0 "$server_pid" 2>/dev/null; then
        echo "server did not start:"; cat server.err; exit 1
    fi
    sleep 0.1
done
smtp=$(port_of smtp); smtps=$(port_of smtps); sub=$(port_of submission); subs=$(port_of submissions)
echo "sansmail: smtp $smtp smtps $smtps submission $sub submissions $subs"
printf 'From: <sender@example.org>\r\nTo: <alice@localhost>\r\nSubject: interop\r\n\r\n.dot line\r\nbody\r\n' > msg.eml

pass=0; fail=0
check() {
    name=$1; shift
    if "$@" > "log.$name" 2>&1; then
        pass=$((pass + 1)); echo "PASS $name"
    else
        fail=$((fail + 1)); echo "FAIL $name (exit $?)"; sed 's/^/    /' "log.$name" | tail -n 20
    fi
}
skip() { echo "SKIP $1: $2 not installed"; }

if command -v swaks >/dev/null; then
    check swaks-plain swaks --server 127.0.0.1:"$smtp" --from sender@example.org --to alice@localhost --data @msg.eml
    check swaks-pipeline swaks --server 127.0.0.1:"$smtp" --pipeline --from sender@example.org --to alice@localhost
    check swaks-starttls swaks --server 127.0.0.1:"$smtp" --tls --from sender@example.org --to alice@localhost
    check swaks-auth-plain swaks --server 127.0.0.1:"$sub" --auth PLAIN --auth-user bob@localhost \
        --auth-password bob-secret --from bob@localhost --to alice@localhost
    check swaks-tls-auth-login swaks --server 127.0.0.1:"$sub" --tls --auth LOGIN --auth-user bob@localhost \
        --auth-password bob-secret --from bob@localhost --to alice@localhost
    check swaks-implicit-tls swaks --server 127.0.0.1:"$subs" --tlsc --auth PLAIN --auth-user bob@localhost \
        --auth-password bob-secret --from bob@localhost --to alice@localhost
else
    skip swaks swaks
fi
if command -v curl >/dev/null; then
    check curl-plain curl -sS smtp://127.0.0.1:"$smtp"/client.test --mail-from sender@example.org \
        --mail-rcpt alice@localhost --upload-file msg.eml
    check curl-starttls curl -sS -k --ssl-reqd smtp://127.0.0.1:"$smtp"/client.test \
        --mail-from sender@example.org --mail-rcpt alice@localhost --upload-file msg.eml
    check curl-smtps curl -sS -k smtps://127.0.0.1:"$smtps"/client.test --mail-from sender@example.org \
        --mail-rcpt alice@localhost --upload-file msg.eml
    check curl-submission-auth curl -sS -k --ssl-reqd smtp://127.0.0.1:"$sub"/client.test \
        --user bob@localhost:bob-secret --mail-from bob@localhost --mail-rcpt alice@localhost --upload-file msg.eml
else
    skip curl curl
fi
if command -v python3 >/dev/null; then
    check python-starttls-inject python3 "$root/server-smol/tests/interop/starttls_inject.py" 127.0.0.1 "$smtp"
    check python-auth-plain sh -c "python3 '$root/server-smol/tests/interop/auth_check.py' \
        127.0.0.1 $sub bob@localhost bob-secret | grep '^auth.235'"
else
    skip python python3
fi
delivered=$(find data/mail/localhost/alice/new data/mail/localhost/alice/cur -type f 2>/dev/null | wc -l)
echo "summary: $pass passed, $fail failed; $delivered messages in alice's INBOX"
[ "$fail" -eq 0 ]
