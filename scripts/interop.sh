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
[http]
listen = []
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
smtp_status=$?

# --- POP3 (curl, Python poplib, fetchmail, getmail6) against a second server
# with the POP3 listeners on. Same style: PASS/FAIL lines, then a summary.
pop3_work=$work/pop3
mkdir -p "$pop3_work"
sed -e '/^\[pop3\]/,/^\[/ s/^listen = \[\]/listen = ["127.0.0.1:0"]/' \
    -e '/^\[pop3\]/,/^\[/ s/^listen_tls = \[\]/listen_tls = ["127.0.0.1:0"]/' \
    -e '/^\[submission\]/,/^\[/ s/^listen\(_tls\)\{0,1\} = .*/listen\1 = []/' \
    -e '/^\[smtp\]/,/^\[/ s/^listen_tls = .*/listen_tls = []/' \
    "$work/sansmail.toml" > "$pop3_work/sansmail.toml"
pop3_pid=
pop3_cleanup() {
    [ -n "$pop3_pid" ] && kill "$pop3_pid" 2>/dev/null && wait "$pop3_pid" 2>/dev/null
    cleanup
}
trap pop3_cleanup EXIT INT TERM
cd "$pop3_work" || exit 1
printf 'alice-secret\n' | "$bin" --config sansmail.toml user add alice@localhost --password-stdin || exit 1
"$bin" serve --config sansmail.toml > server.out 2> server.err &
pop3_pid=$!
i=0
while [ -z "$(port_of pop3s)" ] || [ -z "$(port_of pop3)" ] || [ -z "$(port_of smtp)" ]; do
    i=$((i + 1))
    if [ $i -gt 300 ] || ! kill -0 "$pop3_pid" 2>/dev/null; then
        echo "POP3 server did not start:"; cat server.err; exit 1
    fi
    sleep 0.1
done
p_smtp=$(port_of smtp); pop3=$(port_of pop3); pop3s=$(port_of pop3s)
echo "sansmail (POP3): smtp $p_smtp pop3 $pop3 pop3s $pop3s"
pass=0; fail=0
inbox=data/mail/localhost/alice
deliver() {
    curl -sS smtp://127.0.0.1:"$p_smtp"/client.test --mail-from sender@example.org \
        --mail-rcpt alice@localhost --upload-file "$work/msg.eml"
}
if command -v curl >/dev/null; then
    deliver && deliver
    check pop3-curl-retr sh -c "curl -sS pop3://127.0.0.1:$pop3/1 -u alice@localhost:alice-secret \
        > retr1.eml && cat retr1.eml && for f in $inbox/new/* $inbox/cur/*; do \
        cmp -s retr1.eml \"\$f\" && exit 0; done; echo 'not byte-identical to a stored file'; exit 1"
    check pop3-curl-stls sh -c "curl -sS --ssl-reqd -k pop3://127.0.0.1:$pop3/ \
        -u alice@localhost:alice-secret | grep -c . | grep -qx 2"
    check pop3-curl-pop3s curl -sS -k pop3s://127.0.0.1:"$pop3s"/2 -u alice@localhost:alice-secret
else
    skip pop3-curl curl
fi
if command -v python3 >/dev/null; then
    mkdir -p poplib
    check pop3-poplib-stls python3 "$root/server-smol/tests/interop/pop3_client.py" \
        fetch stls 127.0.0.1 "$pop3" alice@localhost alice-secret poplib 2
    check pop3-poplib-ssl python3 "$root/server-smol/tests/interop/pop3_client.py" \
        fetch ssl 127.0.0.1 "$pop3s" alice@localhost alice-secret poplib 2
    check pop3-stls-inject python3 "$root/server-smol/tests/interop/pop3_stls_inject.py" \
        127.0.0.1 "$pop3" alice@localhost alice-secret
else
    skip pop3-poplib python3
fi
if command -v getmail >/dev/null; then
    mkdir -p gm gm-dest/Maildir/cur gm-dest/Maildir/new gm-dest/Maildir/tmp
    chmod 755 "$work" "$pop3_work" gm-dest; chmod 777 gm-dest/Maildir gm-dest/Maildir/*
    as_user=; [ "$(id -u)" = 0 ] && as_user="user = nobody"
    cat > gm/getmailrc <<GETMAIL
[retriever]
type = SimplePOP3SSLRetriever
server = 127.0.0.1
port = $pop3s
username = alice@localhost
password = alice-secret
[destination]
type = Maildir
path = $pop3_work/gm-dest/Maildir/
$as_user
[options]
read_all = true
delete = false
received = false
GETMAIL
    check pop3-getmail-ssl sh -c "getmail --getmaildir gm --rcfile $pop3_work/gm/getmailrc \
        && ls gm-dest/Maildir/new | wc -l | grep -qx 2"
else
    skip pop3-getmail getmail6
fi
if command -v fetchmail >/dev/null; then
    mkdir -p fm fm-out && chmod 700 fm
    printf '#!/bin/sh\ncat > "%s/fm-out/msg.$(ls %s/fm-out | wc -l)"\n' "$pop3_work" "$pop3_work" > fm/mda.sh
    chmod 755 fm/mda.sh
    printf 'set no bouncemail\nset invisible\npoll 127.0.0.1 service %s protocol pop3 auth password\n  user "alice@localhost" there with password "alice-secret"\n  sslproto %s nokeep fetchall no rewrite\n  mda "%s"\n' \
        "$pop3" "''" "$pop3_work/fm/mda.sh" > fm/rc
    chmod 600 fm/rc
    check pop3-fetchmail-nokeep sh -c "FETCHMAILHOME=$pop3_work/fm fetchmail -f fm/rc -v --nosyslog --pidfile $pop3_work/fm/pid \
        && ls fm-out | wc -l | grep -qx 2 && find $inbox/new $inbox/cur -type f | wc -l | grep -qx 0"
else
    skip pop3-fetchmail fetchmail
fi
echo "summary (POP3): $pass passed, $fail failed"
[ "$smtp_status" -eq 0 ] && [ "$fail" -eq 0 ]
pop3_status=$?

# --- IMAP (curl, Python imaplib and imapclient, mbsync) against a third
# server with the IMAP listeners on. Same style: PASS/FAIL lines, a summary.
imap_work=$work/imap
mkdir -p "$imap_work"
sed -e '/^\[imap\]/,/^\[/ s/^listen = \[\]/listen = ["127.0.0.1:0"]/' \
    -e '/^\[imap\]/,/^\[/ s/^listen_tls = \[\]/listen_tls = ["127.0.0.1:0"]/' \
    -e '/^\[submission\]/,/^\[/ s/^listen\(_tls\)\{0,1\} = .*/listen\1 = []/' \
    -e '/^\[smtp\]/,/^\[/ s/^listen_tls = .*/listen_tls = []/' \
    "$work/sansmail.toml" > "$imap_work/sansmail.toml"
imap_pid=
imap_cleanup() {
    [ -n "$imap_pid" ] && kill "$imap_pid" 2>/dev/null && wait "$imap_pid" 2>/dev/null
    pop3_cleanup
}
trap imap_cleanup EXIT INT TERM
cd "$imap_work" || exit 1
printf 'alice-secret\n' | "$bin" --config sansmail.toml user add alice@localhost --password-stdin || exit 1
"$bin" serve --config sansmail.toml > server.out 2> server.err &
imap_pid=$!
i=0
while [ -z "$(port_of imaps)" ] || [ -z "$(port_of imap)" ] || [ -z "$(port_of smtp)" ]; do
    i=$((i + 1))
    if [ $i -gt 300 ] || ! kill -0 "$imap_pid" 2>/dev/null; then
        echo "IMAP server did not start:"; cat server.err; exit 1
    fi
    sleep 0.1
done
i_smtp=$(port_of smtp); imap=$(port_of imap); imaps=$(port_of imaps)
echo "sansmail (IMAP): smtp $i_smtp imap $imap imaps $imaps"
pass=0; fail=0
py=$root/server-smol/tests/interop
if command -v curl >/dev/null; then
    # APPEND with curl's upload, then the same bytes back by UID.
    check imap-curl-append-fetch sh -c "curl -sS -T '$work/msg.eml' imap://127.0.0.1:$imap/INBOX \
        -u alice@localhost:alice-secret && curl -sS 'imap://127.0.0.1:$imap/INBOX;UID=1' \
        -u alice@localhost:alice-secret > uid1.eml && cmp uid1.eml '$work/msg.eml'"
    check imap-curl-list sh -c "curl -sS imap://127.0.0.1:$imap/ -u alice@localhost:alice-secret \
        | tee list.out && grep -q '^\* LIST (.*\\\\Sent.*) \"/\" Sent' list.out"
    check imap-curl-starttls sh -c "curl -sS --ssl-reqd -k 'imap://127.0.0.1:$imap/INBOX;UID=1' \
        -u alice@localhost:alice-secret | cmp - '$work/msg.eml'"
    check imap-curl-imaps sh -c "curl -sS -k 'imaps://127.0.0.1:$imaps/INBOX;UID=1' \
        -u alice@localhost:alice-secret | cmp - '$work/msg.eml'"
else
    skip imap-curl curl
fi
if command -v python3 >/dev/null; then
    for s in mailboxes messages expunge examine auth tls; do
        check "imap-imaplib-$s" python3 "$py/imap_imaplib.py" "$s" 127.0.0.1 "$imap" "$imaps" \
            alice@localhost alice-secret
    done
    if python3 -c 'import imapclient' 2>/dev/null; then
        printf 'alice-secret\n' | "$bin" --config sansmail.toml user add carol@localhost --password-stdin >/dev/null
        check imap-imapclient python3 "$py/imap_imapclient.py" 127.0.0.1 "$imap" "$imaps" "$i_smtp" \
            carol@localhost alice-secret
    else
        skip imap-imapclient "python3 imapclient"
    fi
else
    skip imap-python python3
fi
if command -v mbsync >/dev/null; then
    mkdir -p mb/local
    cat > mb/rc <<MBSYNC
IMAPAccount sansmail
Host 127.0.0.1
Port $imaps
User alice@localhost
Pass alice-secret
SSLType IMAPS
CertificateFile $imap_work/data/tls-cert.pem

IMAPStore remote
Account sansmail

MaildirStore local
Path $imap_work/mb/local/
Inbox $imap_work/mb/local/INBOX

Channel sync
Far :remote:
Near :local:
Patterns INBOX
Create Both
SyncState *
MBSYNC
    printf 'Subject: from mbsync\n\nup\n' > mb/up.eml
    check imap-mbsync-imaps sh -c "mbsync -c mb/rc -a -V && mkdir -p mb/local/INBOX/new \
        && cp mb/up.eml mb/local/INBOX/new/1700000000.up.host && mbsync -c mb/rc -a -V \
        && curl -sS -k 'imaps://127.0.0.1:$imaps/INBOX' -u alice@localhost:alice-secret \
           -X 'UID SEARCH SUBJECT \"from mbsync\"' | grep -q '^\* SEARCH [0-9]'"
else
    skip imap-mbsync isync
fi
echo "summary (IMAP): $pass passed, $fail failed"
[ "$pop3_status" -eq 0 ] && [ "$fail" -eq 0 ]
