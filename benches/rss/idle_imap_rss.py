#!/usr/bin/env python3
"""Memory per idle IMAP connection and the time to open them (issue 16).

Starts a private server -- the given `sansmail` binary, or with
`--dovecot` a private Dovecot (passwd-file users, SHA512-CRYPT, auth cache
on, as benches/imap-vs-dovecot.sh configures it) -- adds `--users` accounts
(`idleNNN@localhost`, password `secret`), reads the server's memory, opens
`--connections` IMAP connections that each LOGIN (connection i logs in as
user i mod --users, so every user logs in connections/users times: the
first login of each user runs the password hash, the others may be served
by a credential cache), SELECT INBOX and IDLE (up to `--parallel` logins in
flight at once), waits `--settle` seconds, and reads the memory again.

Memory: sansmail is one process, so VmRSS from /proc/PID/status before and
after. Dovecot forks a process per connection, so its figure is the sum of
Pss (/proc/PID/smaps_rollup: shared pages split between the processes
sharing them) over every process of the Dovecot tree, before and after.

usage: idle_imap_rss.py BINARY [--dovecot] [--connections 2000] [--users 20]
                        [--parallel 50] [--settle 12]
Prints `server<TAB>connections<TAB>users<TAB>open_s<TAB>before_kb<TAB>after_kb<TAB>kb_per_conn`.
Needs root for --dovecot (it drops privileges) and to raise RLIMIT_NOFILE.
"""
import argparse
import asyncio
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

p = argparse.ArgumentParser()
p.add_argument("binary", nargs="?", default="")
p.add_argument("--dovecot", action="store_true")
p.add_argument("--connections", type=int, default=2000)
p.add_argument("--users", type=int, default=20)
p.add_argument("--parallel", type=int, default=50)
p.add_argument("--settle", type=float, default=12.0)
args = p.parse_args()

need = args.connections * 2 + 1000
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if hard != resource.RLIM_INFINITY and hard < need:
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
    except (ValueError, OSError):
        sys.exit(f"RLIMIT_NOFILE hard limit {hard} < {need}: run as root or raise ulimit -n")
else:
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, secs=15):
    end = time.time() + secs
    while time.time() < end:
        if proc.poll() is not None:
            sys.exit(f"server exited early ({proc.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("server did not start listening")


def user(i):
    return f"idle{i % args.users + 1:03d}@localhost"


def vmrss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def tree(root):
    """root and all its descendants."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def pss_kb(root):
    total = 0
    for pid in tree(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


work = tempfile.mkdtemp(prefix="idle-imap-rss.")
os.chmod(work, 0o755)
port = free_port()
procs = []


def start_sansmail():
    binary = os.path.abspath(args.binary)
    conf = os.path.join(work, "sansmail.toml")
    with open(conf, "w") as f:
        f.write(f"""data_dir = "{work}/data"
hostname = "localhost"
domains = ["localhost"]
[smtp]
listen = []
[submission]
listen = []
listen_tls = []
[imap]
listen = ["127.0.0.1:{port}"]
listen_tls = []
[pop3]
listen = []
listen_tls = []
[lmtp]
listen = []
[http]
listen = []
[limits]
max_connections_per_ip = 100000
max_connections_per_account = 100000
""")
    for i in range(args.users):
        subprocess.run([binary, "--config", conf, "user", "add", user(i), "--password-stdin"],
                       input=b"secret\n", check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    log = open(os.path.join(work, "log"), "w")
    proc = subprocess.Popen([binary, "serve", "--config", conf], stdout=log, stderr=log)
    procs.append(proc)
    wait_port(port, proc)
    return proc, lambda: vmrss_kb(proc.pid)


def start_dovecot():
    if shutil.which("dovecot") is None:
        sys.exit("dovecot is required (apt-get install dovecot-imapd)")
    if subprocess.run(["id", "vmail"], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", "vmail"], check=True)
    d = os.path.join(work, "dovecot")
    for sub in ["run", "state", "mail"]:
        os.makedirs(os.path.join(d, sub))
    shutil.chown(os.path.join(d, "mail"), "vmail", "vmail")
    pw = subprocess.run(["doveadm", "pw", "-s", "SHA512-CRYPT", "-p", "secret"],
                        capture_output=True, check=True, text=True).stdout.strip()
    with open(os.path.join(d, "passwd"), "w") as f:
        for i in range(args.users):
            f.write(f"{user(i)}:{pw}\n")
    n = args.connections + 100
    with open(os.path.join(d, "dovecot.conf"), "w") as f:
        f.write(f"""base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_cache_size = 10M
auth_cache_ttl = 1 hour
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:{d}/mail/%u
mail_max_userip_connections = 100000
default_process_limit = {n}
default_client_limit = {n * 3}
default_vsz_limit = 0
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid=vmail gid=vmail home={d}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service imap {{
  process_limit = {n}
}}
""")
    proc = subprocess.Popen(["dovecot", "-F", "-c", os.path.join(d, "dovecot.conf")])
    procs.append(proc)
    wait_port(port, proc)
    return proc, lambda: pss_kb(proc.pid)


async def expect(reader, tag):
    """Reads lines up to the one starting with `tag`; returns it."""
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed by server")
        if line.startswith(tag):
            return line


async def open_idle(i, gate, conns):
    async with gate:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await expect(reader, b"* OK")
        writer.write(f'a LOGIN {user(i)} "secret"\r\n'.encode())
        line = await expect(reader, b"a ")
        if not line.startswith(b"a OK"):
            raise RuntimeError(f"LOGIN {user(i)}: {line!r}")
        writer.write(b"b SELECT INBOX\r\n")
        line = await expect(reader, b"b ")
        if not line.startswith(b"b OK"):
            raise RuntimeError(f"SELECT: {line!r}")
        writer.write(b"c IDLE\r\n")
        line = await expect(reader, b"+")
        conns.append((reader, writer))


async def main(measure):
    conns = []
    gate = asyncio.Semaphore(args.parallel)
    # Warm-up: one connection that only reads the greeting and logs out
    # (no LOGIN: the password hash's memory is charged to the logins), so
    # the first accept's one-time allocations are in the "before" figure.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await expect(reader, b"* OK")
    writer.write(b"z LOGOUT\r\n")
    await expect(reader, b"z ")
    writer.close()
    await asyncio.sleep(1)
    before = measure()
    t0 = time.monotonic()
    await asyncio.gather(*(open_idle(i, gate, conns) for i in range(args.connections)))
    opened = time.monotonic() - t0
    await asyncio.sleep(args.settle)
    after = measure()
    assert len(conns) == args.connections
    # Every connection is still in IDLE: DONE must get its tagged OK.
    for r, w in conns[:: max(1, len(conns) // 20)]:
        w.write(b"DONE\r\n")
        line = await expect(r, b"c ")
        if not line.startswith(b"c OK"):
            raise RuntimeError(f"IDLE ended badly: {line!r}")
    for _, w in conns:
        w.close()
    return opened, before, after


try:
    if args.dovecot:
        name = "dovecot"
        proc, measure = start_dovecot()
    else:
        if not args.binary:
            sys.exit("usage: idle_imap_rss.py BINARY | --dovecot")
        name = "sansmail"
        proc, measure = start_sansmail()
    opened, before, after = asyncio.run(main(measure))
    per = (after - before) / args.connections
    print(f"{name}\t{args.connections}\t{args.users}\t{opened:.2f}\t{before}\t{after}\t{per:.1f}")
finally:
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    shutil.rmtree(work, ignore_errors=True)
