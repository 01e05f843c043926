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
# The 1,000-connection test raises its own RLIMIT_NOFILE to the hard limit
# and fails if that is below 2100.
# A test whose tool is missing is reported as ignored (server-smol/build.rs);
# .ci/run fails when any test is ignored.
# The hardening tests (server-smol/tests/hardening_*.rs) need nothing more:
# python3 (asyncio, imaplib, socket) from the list below, sh's `ulimit -n`,
# /proc, and Linux's 127.0.0.0/8 loopback (clients bind 127.0.0.2-.32 to be
# distinct sources).
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
# Outbound and checks tests (server-smol/tests/outbound_*.rs):
# - dnsmasq-base: the dnsmasq binary (no system service) as a real DNS
#   server on a free loopback port, serving MX/TXT/A records.
# - dkimpy (pip): an independent DKIM verifier for our signatures.
apt-get install -y --no-install-recommends dnsmasq-base
command -v dnsmasq >/dev/null
python3 -m pip install dkimpy || python3 -m pip install --break-system-packages dkimpy
python3 -c "import dkim"
# Pipeline end-to-end tests (server-smol/tests/pipeline_*.rs, lmtp.rs);
# python3 (http.server receiver for webhooks and the pre-receive hook) comes
# from the list above.
# - redis-server: `type = "redis"` handlers, started by the tests on free ports.
# - postfix: a private instance per test (own config/queue dirs, loopback
#   ports) relays to the [lmtp] listener; "No configuration" keeps the
#   system instance unconfigured.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get install -y --no-install-recommends redis-server postfix
command -v redis-server >/dev/null && command -v postfix >/dev/null
# Storage hardening (server-smol/tests/hardening_storage.rs): the full-disk
# test mounts a small tmpfs as data_dir (as root; elsewhere it fails unless
# SANSMAIL_SKIP_ROOT_TESTS=1) with mount/umount from util-linux (mount).
apt-get install -y --no-install-recommends mount
command -v mount >/dev/null && command -v umount >/dev/null
# Outbound delivery tests (server-smol/tests/outbound_transaction.rs):
# - postfix: for /usr/sbin/smtp-sink, the receiving end of the byte-exact,
#   DSN-parameter and per-RCPT 4xx/5xx tests. Installed without starting a
#   mail system (Debian asks no questions with DEBIAN_FRONTEND=noninteractive).
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
apt-get install -y --no-install-recommends postfix
test -x /usr/sbin/smtp-sink
# HTTP API end-to-end tests (server-smol/tests/http_*.rs); curl and python3
# (urllib, smtplib) come from the lists above.
# - prometheus-client (pip): its Prometheus and OpenMetrics text parsers
#   read /metrics.
# - openapi-spec-validator (pip): validates /openapi.json.
python3 -m pip install prometheus-client openapi-spec-validator \
    || python3 -m pip install --break-system-packages prometheus-client openapi-spec-validator
python3 -c "import prometheus_client, openapi_spec_validator"
# Web UI tests (server-smol/tests/webui.rs): headless Chromium through
# WebDriver (Debian's chromium + chromium-driver) and Selenium from PyPI.
apt-get install -y --no-install-recommends chromium chromium-driver
command -v chromium >/dev/null && command -v chromedriver >/dev/null
python3 -m pip install selenium || python3 -m pip install --break-system-packages selenium
python3 -c "import selenium"
# IPv6 per-/64 connection limit (server-smol/tests/hardening_ipv6.rs):
# - iproute2: `ip -6 addr add fd00:5a::1/64 dev lo nodad` (the test runs as
#   root, adds its addresses to lo and removes them afterwards).
apt-get install -y --no-install-recommends iproute2
command -v ip >/dev/null
