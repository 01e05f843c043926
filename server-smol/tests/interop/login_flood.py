"""A failed-login flood against IMAP: many connections, each bound to one of
the given loopback source addresses, sending LOGIN with wrong passwords
until the duration is over (reconnecting when the server disconnects).

    login_flood.py HOST PORT ADDRESS CONNECTIONS SECONDS SRC [SRC ...]

Prints `connected<TAB>n` once every connection has its greeting, then at
the end `refused<TAB>n` (tagged NO answers with [AUTHENTICATIONFAILED]),
`other<TAB>n` (any other tagged answer), `reconnects<TAB>n` and
`errors<TAB>n` (connections that could not be made or broke).
"""
import asyncio
import sys

from _util import out


async def read_tagged(reader, tag):
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed")
        if line.startswith(tag + b" "):
            return line


async def connect(host, port, src):
    reader, writer = await asyncio.open_connection(host, port, local_addr=(src, 0))
    greeting = await reader.readline()
    if not greeting.startswith(b"* OK"):
        raise ConnectionError(f"greeting {greeting!r}")
    return reader, writer


async def one(host, port, address, src, stop_at, counts, ready, all_ready):
    """One flooding connection; `stop_at[0]` is the loop time to stop at."""
    loop = asyncio.get_running_loop()
    try:
        reader, writer = await asyncio.wait_for(connect(host, port, src), 20)
    except (OSError, ConnectionError):
        counts["errors"] += 1
        ready.append(False)
        if len(ready) == counts["connections"]:
            all_ready.set()
        return
    ready.append(True)
    if len(ready) == counts["connections"]:
        all_ready.set()
    await all_ready.wait()
    n = 0
    while loop.time() < stop_at[0]:
        n += 1
        tag = f"f{n}".encode()
        try:
            writer.write(tag + b" LOGIN " + address.encode() + b" wrong-" + tag + b"\r\n")
            await writer.drain()
            left = stop_at[0] - loop.time()
            line = await asyncio.wait_for(read_tagged(reader, tag), max(left, 0.1))
        except asyncio.TimeoutError:
            break
        except (OSError, ConnectionError):
            if loop.time() >= stop_at[0]:
                break
            counts["reconnects"] += 1
            try:
                reader, writer = await asyncio.wait_for(connect(host, port, src), 20)
            except (OSError, ConnectionError):
                counts["errors"] += 1
                return
            continue
        if line.startswith(tag + b" NO [AUTHENTICATIONFAILED]"):
            counts["refused"] += 1
        else:
            counts["other"] += 1
    writer.close()


async def main():
    host, port, address = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    connections, seconds = int(sys.argv[4]), float(sys.argv[5])
    sources = sys.argv[6:]
    counts = {"refused": 0, "other": 0, "reconnects": 0, "errors": 0,
              "connections": connections}
    ready, all_ready = [], asyncio.Event()
    loop = asyncio.get_running_loop()
    # The clock starts once every connection is up (see `connected`).
    stop_at = [loop.time() + 3600]
    tasks = [
        asyncio.create_task(one(host, port, address, sources[i % len(sources)],
                                stop_at, counts, ready, all_ready))
        for i in range(connections)
    ]
    await all_ready.wait()
    stop_at[0] = loop.time() + seconds
    out("connected", sum(1 for r in ready if r))
    await asyncio.gather(*tasks)
    for k in ("refused", "other", "reconnects", "errors"):
        out(k, counts[k])


asyncio.run(main())
