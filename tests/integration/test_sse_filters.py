#!/usr/bin/python3
"""Server-Sent Events and server-side filters on the real daemon, fed
through the TEST ONLY feed file (NOTARYD_TEST_FEED): /sse?stream=...
and Accept: text/event-stream give "data:" events equal to the published
JSON; ?domains= and &type= on websocket and SSE streams deliver only the
matching entries; a bad filter or stream name gets 400 with the reason
and no upgrade."""
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import Daemon, Tap, read_response  # noqa: E402
from streamtest import WS, Feed, entry  # noqa: E402

t = Tap()
d = Daemon(workers=2)
feed = Feed(os.path.join(d.dir, "feed.tsv"))
d.env["NOTARYD_TEST_FEED"] = feed.path
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


def strip(js):
    return js.encode()


try:
    d.start()
    seq = [0]

    def batch(n, **kw):
        out = []
        for _ in range(n):
            seq[0] += 1
            out.append(entry(seq[0], **kw))
        return out

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
    time.sleep(0.3)
    es = batch(20)
    feed.publish(es)
    t.eq(sf.events(20), [strip(e[0]) for e in es],
         "SSE full: 20 data events equal to the published JSON")
    t.eq(sd.events(20), [strip(e[2]) for e in es],
         "SSE domains: 20 data events")
    t.eq(sl.events(20), [strip(e[1]) for e in es],
         "/sse without stream=: lite")
    time.sleep(1.2)
    sl.events(0, timeout=0.5)
    t.ok(sl.events(1, timeout=1.0) == [] and sl.comments >= 1,
         "SSE keep-alive comments every ping_interval")
    time.sleep(5.5)     # longer than idle_timeout: SSE clients never ping
    es = batch(2)
    feed.publish(es)
    t.eq(sl.events(2), [strip(e[1]) for e in es],
         "an SSE client is not closed for not pinging")
    for c in (sf, sd, sl):
        c.s.close()
    s = SSE("/sse?stream=bogus")
    t.ok(s.head.startswith("HTTP/1.1 400") and
         b"stream= must be lite, full or domains" in s.buf,
         "/sse?stream=bogus: 400 with the reason", s.head)

    # -- filters ---------------------------------------------------------------
    wd = WS(d.port, "/?domains=e%d.example.com,*.w.example" % (seq[0] + 2))
    wt = WS(d.port, "/full-stream/?type=precert")
    ws_ = SSE("/sse?stream=domains&domains=example.com&type=x509")
    t.ok(wd.status == 101 and wt.status == 101, "filtered upgrades")
    time.sleep(0.3)
    base = seq[0]
    es = batch(4)                               # x509, names e.example.com
    ew = batch(2, names=["a.b.w.example"])       # x509 wildcard match
    ep = batch(3, precert=False)
    feed.publish(es)
    feed.publish(ew)
    pre = batch(3)
    feed.publish(pre, precert=True)
    got = wd.data_frames(3, timeout=3)
    t.eq([json.loads(g)["data"]["cert_index"] for g in got],
         [base + 2, base + 5, base + 6],
         "?domains=: only the matching entries (exact name and wildcard)")
    got = wt.data_frames(3, timeout=3)
    t.eq([json.loads(g)["data"]["cert_index"] for g in got],
         [json.loads(e[0])["data"]["cert_index"] for e in pre],
         "?type=precert: only precertificates")
    got = ws_.events(4, timeout=3)
    t.eq(got, [strip(e[2]) for e in es],
         "SSE with domains= and type=x509: only matching x509 entries")
    del ep
    for c in (wd, wt):
        c.close()
    ws_.s.close()

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
t.done()
