#!/usr/bin/python3
"""Stream fronts on NATS JetStream end to end: an origin notaryd follows
a test CT log (tests/ctlog) and publishes every entry to a real
nats-server (nats.shapes with record); a second notaryd with
ctwatch.source: nats follows the stream and fills its own ring.

Checked: python3-websockets clients on /, /full-stream and /domains-only
of the origin and of the front receive the same frames, byte for byte,
in log order; the front's /stats counts the log's entries; the front's
natsrc process killed (SIGKILL) while the log grows: its clients stay
connected and still get every entry once; the origin's natspub killed
while the log grows: it resumes at the oldest record not acknowledged,
JetStream holds every entry once, the front's clients miss nothing;
the front stopped while the
log grows and started again: it resumes at the saved JetStream sequence
and writes exactly the entries it missed (its /latest.json equals the
origin's, its written counter is exactly the missed count).  TAP."""
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "ctlog"))
from ndtest import Daemon, Tap, get, wait_until  # noqa: E402
from natstest import NatsServer  # noqa: E402
from streamtest import WsClients, recv_data  # noqa: E402
import ctlog  # noqa: E402

PATHS = ("/", "/full-stream", "/domains-only")
WAIT = 60
t = Tap()

try:
    import websockets
except ImportError:
    t.ok(True, "# SKIP python3-websockets not installed")
    t.done()
    sys.exit(0)


class Collector:
    """One websockets client in a thread: frames until want or timeout,
    and how the server closed it (code, reason) if it did."""

    def __init__(self, port, path, want, timeout=WAIT):
        self.frames, self.closed, self.error = [], None, None
        self.th = threading.Thread(target=lambda: asyncio.run(
            self.run(port, path, want, timeout)), daemon=True)
        self.th.start()

    async def run(self, port, path, want, timeout):
        end = time.monotonic() + timeout
        try:
            async with websockets.connect(
                    "ws://127.0.0.1:%d%s" % (port, path),
                    max_size=1 << 22) as c:
                while len(self.frames) < want and time.monotonic() < end:
                    m = await recv_data(c)
                    if m is not None:
                        self.frames.append(m)
        except websockets.ConnectionClosed as e:
            self.closed = (e.code, e.reason)
        except Exception as e:      # reported, never hidden
            self.error = repr(e)

    def join(self):
        self.th.join(WAIT + 5)
        return self


class SseCollector:
    """An SSE client (raw socket) in a thread: the data of each event."""

    def __init__(self, port, path, want, timeout=WAIT):
        self.events, self.status = [], None
        self.th = threading.Thread(target=self.run,
                                   args=(port, path, want, timeout),
                                   daemon=True)
        self.th.start()

    def run(self, port, path, want, timeout):
        end = time.monotonic() + timeout
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        s.sendall(("GET %s HTTP/1.1\r\nHost: n\r\nAccept: "
                   "text/event-stream\r\n\r\n" % path).encode())
        data = b""
        while len(self.events) < want and time.monotonic() < end:
            try:
                chunk = s.recv(1 << 16)
            except socket.timeout:
                continue
            if not chunk:
                break
            data += chunk
            if self.status is None and b"\r\n\r\n" in data:
                head, data = data.split(b"\r\n\r\n", 1)
                self.status = int(head.split()[1])
            while self.status is not None and b"\n\n" in data:
                ev, data = data.split(b"\n\n", 1)
                if ev.startswith(b"data: "):
                    self.events.append(ev[6:])
        s.close()

    def join(self):
        self.th.join(WAIT + 5)
        return self


def strip_seq(frame):
    m = re.match(rb'\{"seq":(\d+),', frame)
    return (int(m.group(1)), b"{" + frame[m.end():]) if m else (None, frame)


def indexes(frames):
    return [json.loads(f)["data"]["cert_index"] for f in frames]


def front_yaml(srv):
    return "nats:\n  url: [\"%s\"]\n" % srv.url


def metric(d, name):
    r = get(d.port, "/metrics")
    if r is None:
        return None
    m = re.search(r"^%s (\d+)$" % re.escape(name), r[2].decode(), re.M)
    return int(m.group(1)) if m else None


top = tempfile.mkdtemp(prefix="natsfront-test-")
listfile = os.path.join(top, "log_list.json")
ct = ctlog.CTLogServer(hub_port=0, loglist_file=listfile)
a = ct.add_log("a", kind="rfc6962", size=100, cap=64)
ct.start()
ct.write_loglist(listfile)
srv = NatsServer()
srv.start()
o = Daemon(ctwatch=("  log_list: %s\n  poll_interval: 200ms\n"
                    "  batch_size: 256\n" % listfile))
o.write_conf(text=o.base_yaml().replace("ring_size: 1M", "ring_size: 16M") +
             "nats:\n  enabled: true\n  url: [\"%s\"]\n"
             "  shapes: [full, lite, domains, record]\n" % srv.url)
f = Daemon(ctwatch="  source: nats\n")
f.write_conf(text=f.base_yaml().replace(
    "ring_size: 1M", "ring_size: 1M\n  max_replay: 100") + front_yaml(srv))
oc = fc = sc = None
SEQ_PATHS = ("/full-stream?seq=1", "/domains-only?seq=1&domains=example")
try:
    o.start()
    t.ok(wait_until(lambda: "nats: created stream CERTSTREAM" in o.logtext()
                    and "starting at its current size 100" in o.logtext(),
                    60, step=0.2), "origin: stream made, ctwatch at 100",
         o.logtext()[-2000:])
    f.start()
    t.ok(wait_until(lambda: "natsrc: following certstream.record"
                    in f.logtext(), 60, step=0.2),
         "front: natsrc follows certstream.record", f.logtext()[-2000:])
    t.eq(f.role_pids("ctwatch"), [], "front: no ctwatch process")
    oc, fc = WsClients(o.port, PATHS), WsClients(f.port, PATHS)
    sc = WsClients(f.port, SEQ_PATHS)
    t.ok(oc.opened.wait(WAIT) and fc.opened.wait(WAIT) and not oc.errors
         and not fc.errors, "clients open on both", (oc.errors, fc.errors))
    t.ok(sc.opened.wait(WAIT) and not sc.errors, "?seq=1 clients open on "
         "the front", sc.errors)
    r = get(o.port, "/full-stream?seq=1", headers={
        "Upgrade": "websocket", "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13"})
    t.ok(r is not None and r[0] == 400 and b"stream front" in r[2],
         "the origin answers seq=1 with 400", r)
    time.sleep(0.5)

    # ---- the same frames on the origin and on the front ----
    a.grow(40)
    t.ok(wait_until(oc.count(40), WAIT, step=0.2) and
         wait_until(fc.count(40), WAIT, step=0.2),
         "40 frames per path on both",
         [(p, len(oc.got[p]), len(fc.got[p])) for p in PATHS])
    for p in PATHS:
        t.ok(fc.got[p] == oc.got[p], "%s: front frames byte-equal to the "
             "origin's" % p, (len(fc.got[p]), len(oc.got[p])))
    t.eq(indexes(fc.got["/full-stream"]), list(range(100, 140)),
         "front: full frames in log order")
    def under_example(frame):
        return any(n.lower() == "example" or n.lower().endswith(".example")
                   for n in json.loads(frame)["data"])
    dom_want = [w for w in oc.got["/domains-only"] if under_example(w)]
    t.ok(wait_until(lambda: len(sc.got[SEQ_PATHS[0]]) >= 40 and
                    len(sc.got[SEQ_PATHS[1]]) >= len(dom_want), WAIT,
                    step=0.2), "?seq=1 clients: every frame",
         ([len(v) for v in sc.got.values()], len(dom_want)))
    recseq = {int.from_bytes(m[8:16], "little"): q
              for q, s_, m in (srv.dump() or []) if s_ == "certstream.record"}
    for p, plain in zip(SEQ_PATHS, ("/full-stream", "/domains-only")):
        bad = []
        for got, want in zip(sc.got[p], oc.got[plain] if plain ==
                             "/full-stream" else dom_want):
            m = re.match(rb'\{"seq":(\d+),', got)
            if (m is None or b"{" + got[m.end():] != want or
                    int(m.group(1)) != recseq.get(
                        json.loads(want)["data"]["cert_index"]
                        if plain == "/full-stream" else None, -1)):
                bad.append((got[:60], want[:60]))
            if len(bad) > 2:
                break
        if plain == "/full-stream":
            t.ok(len(sc.got[p]) == 40 and not bad, "%s: the origin's frames "
                 "with \"seq\": the entry's JetStream sequence" % p, bad)
        else:
            seqs = [int(re.match(rb'\{"seq":(\d+),', g).group(1))
                    for g in sc.got[p]]
            t.ok(len(seqs) == len(dom_want) and seqs == sorted(set(seqs))
                 and all(b"{" + g[g.index(b",") + 1:] == w for g, w in
                         zip(sc.got[p], dom_want)),
                 "%s: filtered (%d of 40), seq increasing, bytes otherwise "
                 "equal" % (p, len(dom_want)))
    r = get(f.port, "/stats")
    logs = json.loads(r[2])["logs"] if r and r[0] == 200 else None
    t.ok(logs is not None and list(logs.values()) == [40] and
         list(logs)[0].rstrip("/").endswith(a.url.rstrip("/").split(
             "://")[1]), "front /stats counts the log's 40 entries", logs)

    def kill_while_growing(d, role, n, across):
        """SIGKILL d's role between growths of the log; then the role is
        back and both sides have n frames per path, byte-equal."""
        pid = d.role_pids(role)
        a.grow(20)
        time.sleep(0.2)
        a.grow(20)
        if pid:
            os.kill(pid[0], signal.SIGKILL)
        a.grow(20)
        t.ok(wait_until(lambda: d.role_pids(role) not in ([], pid),
                        60, step=0.1), "%s restarted after SIGKILL" % role)
        t.ok(wait_until(oc.count(n), WAIT, step=0.2) and
             wait_until(fc.count(n), WAIT, step=0.2),
             "%d frames per path on both" % n,
             [(p, len(oc.got[p]), len(fc.got[p])) for p in PATHS])
        time.sleep(1)
        for p in PATHS:
            t.ok(fc.got[p] == oc.got[p], "%s: %s (%d frames)"
                 % (p, across, len(fc.got[p])))

    # ---- natsrc killed while the log grows: no gap, no duplicate ----
    kill_while_growing(f, "natsrc", 100, "still byte-equal across the kill")
    t.ok("natsrc: continuing at JetStream sequence" in f.logtext(),
         "the new natsrc continued from the shared position")

    # ---- the origin's natspub killed while the log grows ----
    kill_while_growing(o, "natspub", 160,
                       "byte-equal across the natspub kill")
    t.ok("nats: resuming" in o.logtext(),
         "natspub resumed at the oldest record not acknowledged")
    dump = srv.dump() or []
    for subj in ("certstream.full", "certstream.record"):
        got = [(json.loads(m)["data"]["cert_index"] if subj.endswith("full")
                else int.from_bytes(m[8:16], "little"))
               for _, s, m in dump if s == subj]
        t.eq(got, list(range(100, 260)),
             "%s: every entry once, in order, in JetStream" % subj)

    # ---- ?since= : replay from JetStream, then live ----
    recseq = {int.from_bytes(m[8:16], "little"): q
              for q, s_, m in (srv.dump() or []) if s_ == "certstream.record"}
    last = recseq[259]
    want = {recseq[i]: w for i, w in zip(range(100, 260),
                                           oc.got["/full-stream"])}
    rc = Collector(f.port, "/full-stream?seq=1&since=%d" % recseq[200], 79)
    fut = Collector(f.port, "/?since=%d" % (last + 10 ** 6), 1, timeout=8)
    now = Collector(f.port, "/full-stream?since=%d&seq=1" % last, 20)
    old = Collector(f.port, "/full-stream?since=%d" % recseq[150], 1)
    sse = SseCollector(f.port, "/?since=%d&seq=1" % recseq[250], 29)
    time.sleep(0.3)
    a.grow(20)
    t.ok(wait_until(oc.count(180), WAIT, step=0.2), "origin: 180 frames")
    for c in (rc, fut, now, old, sse):
        c.join()
    live = dict(zip(range(260, 280), oc.got["/full-stream"][160:180]))
    got = [strip_seq(x) for x in rc.frames]
    seqs = [q for q, _ in got]
    idx = [json.loads(b)["data"]["cert_index"] for _, b in got]
    t.eq(idx, list(range(201, 280)), "since=<seq of 200>: entries 201..279 "
         "once each, in order, across the live boundary")
    t.ok(all(q is not None for q in seqs) and seqs == sorted(set(seqs)),
         "their seq fields increase", seqs[:5])
    t.ok(all(b == (want.get(q) or live.get(i)) for (q, b), i in
             zip(got, idx)), "and their bytes are the origin's",
         rc.error)
    lite = [json.loads(e) for e in sse.events]
    t.ok(sse.status == 200 and
         [e["data"]["cert_index"] for e in lite] == list(range(251, 280))
         and [e["seq"] for e in lite] == [recseq[i] for i in range(251, 260)]
         + [e["seq"] for e in lite][9:] and
         all(strip_seq(ev)[1] + b"\n" == w for ev, w in
             zip(sse.events, oc.got["/"][151:180])),
         "SSE since=<seq of 250>&seq=1: lite events 251..279, the origin's "
         "bytes", (sse.status, [e["data"]["cert_index"] for e in lite][:5]))
    t.ok(not fut.frames and fut.closed is None and fut.error is None,
         "since in the future: nothing yet (no error)",
         (len(fut.frames), fut.closed, fut.error))
    t.eq([json.loads(strip_seq(x)[1])["data"]["cert_index"]
          for x in now.frames], list(range(260, 280)),
         "since=<newest>: only the live entries")
    t.ok(old.closed is not None and old.closed[0] == 1008 and
         "max_replay" in old.closed[1] and not old.frames,
         "since older than stream.max_replay (100): close 1008",
         (old.closed, len(old.frames), old.error))

    # ---- the front stopped while the log grows, then started ----
    fc.close()
    fc = None
    t.eq(f.stop(), 0, "front stops with 0")
    a.grow(30)
    t.ok(wait_until(oc.count(210), WAIT, step=0.2),
         "origin: 210 frames", len(oc.got["/"]))
    f.start()
    t.ok(wait_until(lambda: "natsrc: resuming at JetStream sequence"
                    in f.logtext(), 60, step=0.2),
         "front resumes at its saved sequence")
    t.ok(wait_until(lambda: metric(
        f, 'notaryd_natsrc_messages_total{result="written"}') == 30,
        WAIT, step=0.2), "front wrote exactly the 30 missed entries",
        metric(f, 'notaryd_natsrc_messages_total{result="written"}'))
    lo, lf = get(o.port, "/latest.json"), get(f.port, "/latest.json")
    t.ok(lo is not None and lf is not None and lo[2] == lf[2] and
         len(json.loads(lf[2])["messages"]) == 25,
         "front /latest.json equals the origin's",
         (lo and lo[2][:200], lf and lf[2][:200]))
    time.sleep(1)
    t.eq(metric(f, 'notaryd_natsrc_messages_total{result="written"}'), 30,
         "and no more than them")

    # ---- since= whose next entry the stream no longer keeps ----
    pr = srv.purge(recseq[230])
    t.ok(pr is not None and pr.get("success") is True,
         "JetStream purged below the entry 230", pr)
    gone = Collector(f.port, "/full-stream?since=%d" % recseq[220], 1)
    kept = Collector(f.port, "/?since=%d" % recseq[250], 29)
    gone.join()
    kept.join()
    t.ok(gone.closed is not None and gone.closed[0] == 1008 and
         not gone.frames, "since=<seq of 220> after the purge (entry 221 "
         "is gone): close 1008, nothing sent", (gone.closed, gone.error))
    t.eq([json.loads(x)["data"]["cert_index"] for x in kept.frames],
         list(range(251, 280)), "since=<seq of 250>: still replayed")
    t.eq(f.stop(), 0, "front stops with 0")
    t.ok(re.search(r"natsrc: stopped at JetStream sequence \d+; received "
                   r"30, written 30, malformed 0, stale 0", f.logtext()),
         "front's natsrc counters", f.logtext()[-1500:])
    t.eq(o.stop(), 0, "origin stops with 0")
finally:
    for c in (oc, fc, sc):
        if c is not None:
            c.close()
    f.cleanup()
    o.cleanup()
    srv.cleanup()
    ct.stop()
    shutil.rmtree(top, ignore_errors=True)
t.done()
