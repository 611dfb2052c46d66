#!/usr/bin/python3
"""Server-Sent Events and server-side filters on the real daemon, fed by
a fake CT log (tests/ctlog) that the real ctwatch follows: /sse?stream=...
and Accept: text/event-stream give "data:" events equal to the expected
JSON of the published entries; ?domains= and &type= on websocket and SSE
streams deliver exactly the entries an independent matcher (below)
selects from the entries' names and types; a bad filter or stream name
gets 400 with the reason and no upgrade."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import Daemon, Tap  # noqa: E402
from streamtest import WS, CTFeed  # noqa: E402

t = Tap()
feed = CTFeed()
d = Daemon(workers=2, ctwatch=feed.ctwatch_yaml())
d.write_conf(text=d.base_yaml().replace(
    "stream:\n  ring_size: 1M\n",
    "stream:\n  ring_size: 4M\n  ping_interval: 500ms\n"
    "  idle_timeout: 5s\n"))


class SSE:
    def __init__(self, path, headers=None):
        self.s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        extra = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
        self.s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" %
                        (path, extra)).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            c = self.s.recv(4096)
            if not c:
                break
            self.buf += c
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.head = head.decode("latin-1")

    def events(self, n, timeout=5):
        out, comments = [], 0
        deadline = time.monotonic() + timeout
        while len(out) < n and time.monotonic() < deadline:
            while b"\n\n" in self.buf and len(out) < n:
                ev, _, self.buf = self.buf.partition(b"\n\n")
                if ev.startswith(b"data: "):
                    out.append(ev[6:])
                elif ev.startswith(b":"):
                    comments += 1
            if len(out) >= n:
                break
            self.s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                c = self.s.recv(65536)
            except OSError:
                break
            if not c:
                break
            self.buf += c
        self.comments = comments
        return out


def matches(pats, types, names, precert):
    """The filter rule, written apart from the daemon's: "a.b" matches
    a.b and names under it, "*.a.b" only names under it; type is precert
    or x509; no patterns or no type means any."""
    if types and ("precert" if precert else "x509") not in types:
        return False
    if not pats:
        return True
    for p in pats:
        for n in names:
            if p.startswith("*."):
                if n.endswith("." + p[2:]):
                    return True
            elif n == p or n.endswith("." + p):
                return True
    return False


try:
    d.start()
    t.ok(feed.following(d), "ctwatch follows the test log")

    # -- SSE ------------------------------------------------------------------
    sf = SSE("/sse?stream=full")
    sd = SSE("/domains-only", {"Accept": "text/event-stream"})
    sl = SSE("/sse")
    t.ok(sf.head.startswith("HTTP/1.1 200") and
         "Content-Type: text/event-stream" in sf.head and
         "X-Accel-Buffering: no" in sf.head, "/sse?stream=full: an event "
         "stream", sf.head)
    t.ok(sd.head.startswith("HTTP/1.1 200") and "event-stream" in sd.head,
         "Accept: text/event-stream on /domains-only", sd.head)
    es = feed.publish(20)
    got = sf.events(20, timeout=30)
    t.eq(got, feed.want_sse(es, "full", got),
         "SSE full: 20 data events equal to the expected JSON")
    got = sd.events(20, timeout=30)
    t.eq(got, feed.want_sse(es, "domains", got), "SSE domains: 20 data events")
    got = sl.events(20, timeout=30)
    t.eq(got, feed.want_sse(es, "lite", got), "/sse without stream=: lite")
    # a keep-alive comment (every ping_interval, 500 ms), and no data
    # event while nothing is published (bounded)
    time.sleep(1.2)
    sl.events(0, timeout=0.5)
    extra, comments, end = [], 0, time.monotonic() + 10
    while comments == 0 and not extra and time.monotonic() < end:
        extra = sl.events(1, timeout=0.5)
        comments += sl.comments
    t.ok(extra == [] and comments >= 1,
         "SSE keep-alive comments every ping_interval", (extra, comments))
    time.sleep(5.5)     # longer than idle_timeout: SSE clients never ping
    es = feed.publish(2)
    got = sl.events(2, timeout=30)
    t.eq(got, feed.want_sse(es, "lite", got),
         "an SSE client is not closed for not pinging")
    for c in (sf, sd, sl):
        c.s.close()
    s = SSE("/sse?stream=bogus")
    t.ok(s.head.startswith("HTTP/1.1 400") and
         b"stream= must be lite, full or domains" in s.buf,
         "/sse?stream=bogus: 400 with the reason", s.head)

    # -- filters ---------------------------------------------------------------
    # the next 20 entries are generated now, so the filters can name them
    es = feed.prepare(20)
    base = feed.names(es[0])[0].split(".", 1)[1]     # the log's own domain
    exact = feed.names(es[2])[0]
    sub = next(n for i in es[5:] for n in feed.names(i)
               if n.endswith("." + base) and n.count(".") > base.count(".") + 1)
    wild = "*." + sub.split(".", 1)[1]
    filters = (("ws", "/?domains=%s,%s" % (exact, wild), "lite",
                [exact, wild], []),
               ("ws", "/full-stream/?type=precert", "full", [], ["precert"]),
               ("sse", "/sse?stream=domains&domains=%s&type=x509" % base,
                "domains", [base], ["x509"]))
    clients = []
    for kind, path, shape, pats, types in filters:
        c = WS(d.port, path) if kind == "ws" else SSE(path)
        want = [i for i in es if matches(pats, types, feed.names(i),
                                         feed.precert(i))]
        clients.append((c, kind, path, shape, want))
    t.ok(all(c.status == 101 for c, k, _, _, _ in clients if k == "ws"),
         "filtered upgrades")
    feed.publish(20)
    t.ok(feed.wait_published(d), "the 20 entries are in the ring")
    for c, kind, path, shape, want in clients:
        # the wanted ones, then anything more within half a second
        if kind == "ws":
            got = c.data_frames(len(want), timeout=30)
            got += c.data_frames(1, timeout=0.5)
            wf = feed.want(want, shape, got)
        else:
            got = c.events(len(want), timeout=30)
            got += c.events(1, timeout=0.5)
            wf = feed.want_sse(want, shape, got)
        t.ok(0 < len(want) < len(es) and got == wf,
             "%s: exactly the %d of 20 entries the filter selects" %
             (path, len(want)), (len(got), len(wf), want))
    for c, kind, _, _, _ in clients:
        (c.close() if kind == "ws" else c.s.close())

    for q, why in (("/?domains=a..b", b"bad domain pattern"),
                   ("/full-stream?type=cert", b"type= must be precert"),
                   ("/?domains=%zz", b"malformed")):
        w = WS(d.port, q)
        t.ok(w.status == 400 and why in w.buf,
             "bad filter %s: 400 with the reason, no upgrade" % q,
             w.head + repr(w.buf))
        w.close()

    t.eq(d.stop(), 0, "clean stop")
finally:
    d.cleanup()
    feed.stop()
t.done()
