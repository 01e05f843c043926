"""Verifies the DKIM signatures of a message file with dkimpy (an
independent implementation), fetching keys from the DNS server at
127.0.0.1:PORT (the test's dnsmasq). Prints `dkim<TAB>pass` or
`dkim<TAB>fail`, and the signing domain and selector found.

usage: dkim_verify.py PORT MESSAGE_FILE
"""
import sys

import dkim
import dns.resolver


def main():
    port = int(sys.argv[1])
    with open(sys.argv[2], "rb") as f:
        message = f.read()
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = port

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        answer = resolver.resolve(name, "TXT", lifetime=timeout)
        return b"".join(b"".join(rr.strings) for rr in answer)

    d = dkim.DKIM(message)
    try:
        ok = d.verify(dnsfunc=dnsfunc)
        reason = ""
    except dkim.DKIMException as e:
        # e.g. "body hash mismatch": a verification failure, not a crash.
        ok = False
        reason = str(e)
    print("dkim\t" + ("pass" if ok else "fail"))
    print("reason\t" + reason.replace("\r", " ").replace("\n", " ").replace("\t", " "))
    print("domain\t" + (d.domain or b"").decode())
    print("selector\t" + (d.selector or b"").decode())


main()
