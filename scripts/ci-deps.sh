#!/bin/sh
# System packages the end-to-end tests (server-smol/tests) need on Debian 12.
# CI runs this as root before `cargo test --workspace`:
#
#   apt-get update
#   apt-get install -y --no-install-recommends \
#       python3 swaks libnet-ssleay-perl libio-socket-ssl-perl curl openssl ca-certificates
#
# - python3: the smtplib/ssl/email client scripts in server-smol/tests/interop
#   (standard library only; no pip packages).
# - swaks, plus libnet-ssleay-perl and libio-socket-ssl-perl for `swaks --tls`
#   (Debian only recommends them; `swaks --support` must say "TLS supported").
# - curl: smtp:// and smtps:// uploads (built with OpenSSL on Debian).
# - openssl: `openssl s_client` compares the served certificate with the stored one.
#
# The 1,000-connection test needs RLIMIT_NOFILE >= 2100 (`ulimit -n 4096`);
# it prints "SKIP: RLIMIT_NOFILE ..." otherwise.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
    python3 swaks libnet-ssleay-perl libio-socket-ssl-perl curl openssl ca-certificates
swaks --support 2>&1 | grep -q "TLS supported"
# POP3 end-to-end tests (server-smol/tests/pop3_*.rs); python3 (poplib) and
# curl (pop3://, pop3s://) come from the list above.
# - fetchmail: plain POP3 and `ssl` to an MDA script, `nokeep`.
# - getmail6: SimplePOP3Retriever and SimplePOP3SSLRetriever into a Maildir
#   (it refuses to deliver as root, so as root the test delivers as nobody).
apt-get install -y --no-install-recommends fetchmail getmail6
command -v fetchmail >/dev/null && command -v getmail >/dev/null
# IMAP end-to-end tests (server-smol/tests/imap_*.rs); python3 (imaplib) and
# curl (imap://, imaps://) come from the lists above.
# - isync: mbsync syncing both ways with a local Maildir (plain and IMAPS).
# - mutt, offlineimap: for manual checks (scripts/interop.sh); optional.
# - imapclient (pip): a realistic client session with IDLE.
apt-get install -y --no-install-recommends isync mutt offlineimap python3-pip
command -v mbsync >/dev/null
python3 -m pip install imapclient || python3 -m pip install --break-system-packages imapclient
python3 -c "import imapclient"
# HTTP API end-to-end tests (server-smol/tests/http_*.rs); curl and python3
# (urllib, smtplib) come from the lists above.
# - prometheus-client (pip): its Prometheus and OpenMetrics text parsers
#   read /metrics.
# - openapi-spec-validator (pip): validates /openapi.json.
python3 -m pip install prometheus-client openapi-spec-validator \
    || python3 -m pip install --break-system-packages prometheus-client openapi-spec-validator
python3 -c "import prometheus_client, openapi_spec_validator"
