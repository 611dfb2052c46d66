#!/usr/bin/python3
"""The CT stream fan-out on the real daemon, fed by a fake CT log
(tests/ctlog) that the real ctwatch follows, the expected frames computed
by tests/ctlog/expected.py: every shape and path (with trailing slash)
receives exactly what was published; the npm certstream 1.1.1 client
and a python3-websockets client that pings; a client that never reads
is skipped while a fast one gets every frame; 2,000 concurrent clients;
a SIGKILLed worker drops only its own clients, who reconnect and get
exactly the entries published after they reconnected (a client is owed
what is published once its upgrade is accepted, nothing older)."""
import json
import os
import resource
import select
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import Daemon, Tap, wait_until  # noqa: E402
from streamtest import WS, CTFeed, seen_of  # noqa: E402

t = Tap()
HERE = os.path.dirname(os.path.abspath(__file__))
NODE_CLIENT = os.path.join(HERE, "certstream_client.js")
NODE_MOD = os.path.join(HERE, "..", "node", "node_modules", "certstream")
WAIT = 60               # the bound on every wait for entries, in seconds

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))

feed = CTFeed()
d = Daemon(workers=2, ctwatch=feed.ctwatch_yaml())
# http.request_timeout 60 s: the client that never reads (below) is not
# closed for it while a slow machine streams 1,500 entries to the other
d.write_conf(text=d.base_yaml().replace(
    "stream:\n  ring_size: 1M\n",
    "stream:\n  ring_size: 8M\n  client_queue: 20\n"
    "  ping_interval: 2s\n  idle_timeout: 8s\n  json_heartbeat: 0s\n")
    .replace("http:\n", "http:\n  request_timeout: 60s\n", 1))
PATHS = [("/", "lite"), ("/full-stream", "full"), ("/domains-only", "domains"),
         ("/full-stream/", "full"), ("/domains-only/", "domains")]


def same(got, want, name):
    """Compare frame lists without dumping them."""
    diag = None
    if got != want:
        k = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                 min(len(got), len(want)))
        diag = "got %d frames, want %d; first difference at %d: %r" % (
            len(got), len(want), k, got[k][:120] if k < len(got) else None)
    return t.ok(got == want, name, diag)


try:
    d.start()
    t.ok(feed.following(d), "ctwatch follows the test log")

    # -- every path and shape gets exactly the published bytes, in order --
    ws = [(WS(d.port, p), shape) for p, shape in PATHS]
    t.ok(all(c.status == 101 for c, _ in ws), "upgrades on every path")
    es = feed.publish(60)
    for (c, shape), (p, _) in zip(ws, PATHS):
        got = c.data_frames(60, timeout=WAIT)
        same(got, feed.want(es, shape, got),
             "%s receives all 60 entries, byte for byte" % p)
        c.close()

    # -- npm certstream 1.1.1 -----------------------------------------
    if os.path.isdir(NODE_MOD):
        procs = []
        for p, shape in PATHS[:3]:
            procs.append((subprocess.Popen(
                ["node", NODE_CLIENT, "ws://127.0.0.1:%d%s" % (d.port, p),
                 "10", "%d" % (WAIT * 1000)], stdout=subprocess.PIPE), shape,
                p))
        # the client prints "Connection established" once open
        opened, early = 0, {}
        for pr, _, _ in procs:
            deadline = time.monotonic() + 20
            early[pr] = b""
            while (b"established" not in early[pr] and
                   time.monotonic() < deadline):
                r, _, _ = select.select([pr.stdout], [], [], 1)
                if r:
                    early[pr] += os.read(pr.stdout.fileno(), 4096)
            opened += b"established" in early[pr]
        t.eq(opened, 3, "npm certstream clients connected")
        es = feed.publish(10)
        for pr, shape, p in procs:
            out, _ = pr.communicate(timeout=WAIT + 10)
            out = early[pr].decode() + out.decode()
            msgs = [json.loads(line[4:]) for line in out.splitlines()
                    if line.startswith("MSG ")]
            want = [json.loads(feed.frame(i, shape, m.get("data", {}).get(
                "seen") if shape != "domains" else None))
                for i, m in zip(es, msgs)]
            t.ok(len(msgs) == 10 and msgs == want,
                 "npm certstream 1.1.1 on %s gets what was published" % p,
                 len(msgs))
    else:
        t.ok(True, "# SKIP npm certstream not installed (install-deps.sh)")

    # -- python3-websockets, pinging every 0.3 s, stays connected ---------
    try:
        import asyncio
        import websockets

        async def pinger():
            async with websockets.connect(
                    "ws://127.0.0.1:%d/" % d.port, ping_interval=0.3,
                    ping_timeout=10) as c:
                got, want = [], []
                for k in range(4):      # 4 x 2.5 s > idle_timeout (8 s)
                    es = feed.publish(5)
                    want += es
                    for _ in range(5):
                        got.append((await asyncio.wait_for(
                            c.recv(), WAIT)).encode())
                    await asyncio.sleep(2.5)
                return got, want
        got, want = asyncio.run(pinger())
        t.ok(got == feed.want(want, "lite", got), "python3-websockets "
             "client with pings: 20 entries over 10 s, never closed",
             len(got))
    except ImportError:
        t.ok(True, "# SKIP python3-websockets not installed")

    # -- a client that never reads is skipped; a fast one gets all ------
    es = feed.prepare(1500)     # generated now: growing is then cheap
    slow = WS(d.port, "/full-stream", rcvbuf=4096)
    fast = WS(d.port, "/full-stream")
    t0 = time.monotonic()

    def pace():                 # 500 entries/s, 10 every 20 ms
        for k in range(0, 1500, 10):
            feed.publish(10)
            time.sleep(0.02)

    # The silent one says something (an unsolicited pong) every second,
    # still reading nothing, so that idle_timeout (8 s) does not close
    # it when the fast client needs longer than that here.
    fast_done = threading.Event()

    def keepalive():
        while not fast_done.wait(1.0):
            try:
                slow.send_frame(0xA)
            except OSError:
                break
    pub = threading.Thread(target=pace)
    ka = threading.Thread(target=keepalive)
    pub.start()
    ka.start()
    got = fast.data_frames(1500, timeout=WAIT)
    fast_done.set()
    pub.join()
    ka.join()
    took = time.monotonic() - t0
    # read the slow client now: a socket that takes nothing for
    # http.request_timeout is closed
    slow.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    # until the newest entry (what it skipped to) or the bound
    # (an end: 5 s without a frame)
    sgot, end, quiet = [], time.monotonic() + WAIT, 0
    while time.monotonic() < end and len(sgot) < 1500 and quiet < 10 and \
            not (sgot and json.loads(sgot[-1])["data"]["cert_index"] ==
                 es[-1]):
        more = slow.data_frames(1500 - len(sgot), timeout=0.5)
        quiet = 0 if more else quiet + 1
        sgot += more
    t.eq(len(got), 1500, "fast client got all 1500 entries in %.1f s "
         "while the other client read nothing" % took)
    same(got, feed.want(es, "full", got), "... in order, byte for byte")
    idx = [json.loads(p)["data"]["cert_index"] for p in sgot]
    t.ok(0 < len(sgot) < 1500 and idx == sorted(set(idx)) and
         sgot == [feed.frame(i, "full", seen_of(p))
                  for i, p in zip(idx, sgot)],
         "slow client: %d whole frames in order, the rest skipped" %
         len(sgot))
    t.eq(idx[-1] if idx else None, es[-1],
         "slow client skipped ahead to the newest entry")
    slow.close()
    fast.close()

    # -- 2,000 concurrent clients ---------------------------------------
    # They answer the server's pings while the others connect: on a slow
    # machine connecting 2,000 takes longer than idle_timeout (8 s).
    N = 2000
    many = []
    t0 = time.monotonic()
    for i in range(N):
        try:
            many.append(WS(d.port, ["/", "/full-stream",
                                    "/domains-only"][i % 3]))
        except OSError:
            break
        if i % 100 == 99:
            for c in many:
                c.pump()
    t.eq(sum(1 for c in many if c.status == 101), N,
         "%d concurrent websocket clients upgraded (in %.1f s)"
         % (N, time.monotonic() - t0))
    es = feed.publish(5)
    sel = selectors.DefaultSelector()
    shape = {}
    for i, c in enumerate(many):
        c.s.setblocking(False)
        sel.register(c.s, selectors.EVENT_READ, c)
        shape[c] = ["lite", "full", "domains"][i % 3]
    done, bad = 0, 0
    got = {c: [f for f in c.held if f is not None] for c in many}
    deadline = time.monotonic() + 2 * WAIT
    while done < N and time.monotonic() < deadline:
        for key, _ in sel.select(1):
            c = key.data
            try:
                chunk = c.s.recv(1 << 16)
            except BlockingIOError:
                continue
            if not chunk:
                sel.unregister(c.s)
                bad += 1
                done += 1
                continue
            c.buf += chunk
            while True:
                f = c.parse()
                if f is None:
                    break
                if f[1] == 0x9:
                    try:
                        c.send_frame(0xA, f[2])
                    except OSError:
                        pass
                    continue
                got[c].append(f[2])
            if len(got[c]) >= 5:
                sel.unregister(c.s)
                done += 1
    ok = sum(1 for c in many if got[c] == feed.want(es, shape[c], got[c]))
    t.eq(ok, N, "every one of %d clients got the 5 entries exactly" % N)
    for c in many:
        c.close()
    sel.close()

    # -- clients joining while entries flow: a client gets every entry
    # published after its upgrade and none published before its request
    # (ring counts from /stats around each join; one log, so the ring's
    # k-th record is entry feed.start + k - 1)
    # (the last 50 are held back until every client has joined: each is
    # owed entries however slowly this machine connects them)
    lo = feed.lg.size
    feed.prepare(300)
    feed.lg.set(grow_n=5, grow_every=0.05, grow_max=lo + 250)  # 100/s
    joiners = []
    for k in range(40):
        before = feed.start + feed.published(d)
        c = WS(d.port, "/")
        after = feed.start + feed.published(d)
        joiners.append((c, before, after))
        for j, _, _ in joiners:
            j.pump()
        time.sleep(0.05)
    feed.lg.set(grow_max=lo + 300)

    def drained():
        for j, _, _ in joiners:
            j.pump()
        return (feed.lg.size == lo + 300 and feed.published(d) ==
                lo + 300 - feed.start and
                all(j.held and j.held[-1] is not None and
                    feed.index_of(j.held[-1]) == lo + 299
                    for j, _, _ in joiners))
    t.ok(wait_until(drained, WAIT, step=0.02), "the log grew by 300 while "
         "40 clients joined, and every client got to its end")
    bad = []
    for k, (c, before, after) in enumerate(joiners):
        idx = [feed.index_of(f) if f else None for f in c.held]
        if not (idx and None not in idx and before <= idx[0] <= after and
                idx == list(range(idx[0], lo + 300)) and
                c.held == feed.want(idx, "lite", c.held)):
            bad.append((k, before, after, idx[:3], len(idx)))
        c.close()
    t.ok(not bad, "each of 40 clients that joined mid-stream got every "
         "entry from its join on, none published before it connected",
         bad[:5])
    feed.lg.set(grow_n=0)

    # -- SIGKILL one worker: only its clients drop, they reconnect -------
    def owners(clients):
        """The http worker holding each client's connection: the server
        side socket (local port d.port, remote port the client's) found
        in /proc/net/tcp, its inode among a worker's descriptors."""
        inode = {}
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                x = line.split()
                if int(x[1].split(":")[1], 16) == d.port:
                    inode[int(x[2].split(":")[1], 16)] = x[9]
        held = {}
        for p in d.role_pids("http"):
            try:
                for fd in os.listdir("/proc/%d/fd" % p):
                    ln = os.readlink("/proc/%d/fd/%s" % (p, fd))
                    if ln.startswith("socket:["):
                        held[ln[8:-1]] = p
            except OSError:
                pass
        return [held.get(inode.get(c.s.getsockname()[1])) for c in clients]
    workers = d.role_pids("http")
    clients = [WS(d.port, "/") for _ in range(20)]
    own = owners(clients)
    counts = {p: own.count(p) for p in workers}
    t.ok(None not in own, "each client's worker is known", own)
    victim = max(workers, key=lambda p: counts[p])
    os.kill(victim, signal.SIGKILL)
    es = feed.publish(3)
    dropped = []
    for i, c in enumerate(clients):
        # the victim's clients see the end at once, the others the entries
        got = c.data_frames(3, timeout=WAIT)
        if len(got) != 3:
            dropped.append(i)
            c.close()
            clients[i] = None
        elif got != feed.want(es, "lite", got):
            print("# a surviving client got other frames: %r" % got)
    t.eq(dropped, [i for i, p in enumerate(own) if p == victim],
         "SIGKILL of one worker dropped exactly its own %d clients; the "
         "other %d kept streaming" % (counts[victim], 20 - counts[victim]))

    def respawned():
        for c in clients:       # answer pings: idle_timeout is 8 s
            if c is not None:
                c.pump()
        h = d.health()
        return (len(d.role_pids("http")) == 2 and victim not in
                d.role_pids("http") and h is not None and h[0] == 200)
    t.ok(wait_until(respawned, WAIT, step=0.2), "the worker was respawned")
    old = [c is not None for c in clients]
    clients = [c or WS(d.port, "/") for c in clients]
    t.ok(all(c.status == 101 for c in clients),
         "every reconnected client was upgraded (101)",
         [c.status for c in clients])
    # a client is owed what is published once its upgrade is accepted:
    # every client must get exactly the new entries, none published
    # before it (re)connected
    es = feed.publish(3)
    got = [c.data_frames(3, timeout=WAIT) for c in clients]
    t.ok(feed.wait_published(d), "the 3 new entries are in the ring")
    time.sleep(0.5)             # anything more would be here by now
    for c in clients:
        c.pump()
    got = [g + [f for f in c.held if f is not None]
           for g, c in zip(got, clients)]
    good = [g == feed.want(es, "lite", g) for g in got]
    t.eq(sum(good), 20, "after reconnecting, all 20 clients get exactly "
         "the 3 new entries and nothing older")
    if not all(good):
        for g, o, ok in zip(got, old, good):
            if not ok:
                print("# %s client: got %r" % (
                    "surviving" if o else "reconnected",
                    [feed.index_of(f) if f else f for f in g]))
    for c in clients:
        c.close()

    t.eq(d.stop(), 0, "clean stop")
finally:
    d.cleanup()
    feed.stop()
t.done()
