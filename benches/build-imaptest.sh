#!/usr/bin/env bash
# Builds Dovecot's imaptest (the stress tool `imap-vs-dovecot.sh --tool
# imaptest` drives both servers with) against Debian's dovecot-dev:
#
#   benches/build-imaptest.sh [DIR]      (default /tmp/imaptest)
#   IMAPTEST=DIR/src/imaptest benches/imap-vs-dovecot.sh --tool imaptest ...
#
# Needs root for the Debian packages (dovecot-core, which has the
# libdovecot it links against, dovecot-imapd, dovecot-dev, autoconf, automake,
# libtool) and network access to github.com. Commit 924f619 is the one the
# figures in benches/README.md were taken with; Debian 12's Dovecot 2.3.19
# takes a fourth argument (params) in imap_parser_create(), which that
# commit does not pass yet, so it is patched in (NULL: the defaults).
set -euo pipefail
dir=${1:-/tmp/imaptest}
if ! dpkg -s dovecot-core dovecot-imapd dovecot-dev autoconf automake libtool >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    dovecot-core dovecot-imapd dovecot-dev autoconf automake libtool make gcc >/dev/null
fi
[ -d "$dir/.git" ] || git clone -q https://github.com/dovecot/imaptest.git "$dir"
cd "$dir"
git checkout -q 924f619
sed -i 's/imap_parser_create(\(.*\), (size_t)-1)/imap_parser_create(\1, (size_t)-1, NULL)/' \
  src/commands.c src/imap-client.c src/test-parser.c
./autogen.sh >/dev/null
./configure --with-dovecot=/usr/lib/dovecot >/dev/null
make -j"$(nproc)" >/dev/null
echo "built $dir/src/imaptest (run it with LD_LIBRARY_PATH=/usr/lib/dovecot)"
