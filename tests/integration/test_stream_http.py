#!/usr/bin/python3
"""The CertStream HTTP endpoints on the real daemon, fed by a fake CT log
(tests/ctlog) that the real ctwatch follows: /example.json and the full and
domains variants (newest entry), /latest.json (last stream.latest lite
entries, newest first), /stats (counts only, never an address), CORS on
the JSON endpoints, the text page on a plain GET of a stream path,
client frames over 512 bytes closed with 1009, and skips counted in
/stats for a client that never reads."""
import json
import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import Daemon, Tap, get, wait_until  # noqa: E402
from streamtest import WS, CTFeed, seen_of  # noqa: E402

t = Tap()
feed = CTFeed()
d = Daemon(workers=2, ctwatch=feed.ctwatch_yaml())
d.write_conf(text=d.base_yaml().replace(
    "stream:\n  ring_size: 1M\n",
    "stream:\n  ring_size: 4M\n  latest: 5\n  client_queue: 10\n"))
IP = re.compile(rb"\b127\.0\.0\.1\b|::1|\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b")


def getj(path):
    r = get(d.port, path)
    if r is None or r[0] != 200:
        return r, None
    try:
        return r, json.loads(r[2])
    except ValueError:
        return r, None


try:
    d.start()
    # -- before any entry --------------------------------------------------
    r, j = getj("/example.json")
    t.ok(j == {}, "/example.json before any entry: {}", r)
    r, j = getj("/latest.json")
    t.ok(j == {"messages": []}, "/latest.json before any entry: empty", r)

    t.ok(feed.following(d), "ctwatch follows the test log")
    es = feed.publish(8)
    t.ok(wait_until(lambda: feed.published(d) == 8, 30),
         "/stats counts the 8 processed entries")

    # -- examples: the newest entry of each shape --------------------------
    for path, shape in (("/example.json", "lite"),
                        ("/full-stream/example.json", "full"),
                        ("/domains-only/example.json", "domains")):
        r, j = getj(path)
        want = feed.frame(es[-1], shape, seen_of(r[2]) if r else None)
        t.ok(j == json.loads(want),
             "%s is the newest entry of its shape" % path, r and r[2][:200])
        t.eq(r[1].get("access-control-allow-origin"), "*",
             "%s has CORS *" % path)
    # -- latest: the last 5 (stream.latest) lite, newest first ------------
    r, j = getj("/latest.json")
    msgs = j["messages"] if j is not None else []
    want = [json.loads(feed.frame(i, "lite", m["data"]["seen"]))
            for i, m in zip(reversed(es[-5:]), msgs)]
    t.ok(len(msgs) == 5 and msgs == want,
         "/latest.json: the last 5 lite entries, newest first",
         r and r[2][:300])
    t.eq(r[1].get("access-control-allow-origin"), "*", "/latest.json CORS")
    r = get(d.port, "/latest.json", method="POST")
    t.eq(r and r[0], 405, "POST /latest.json: 405")

    # -- stats: clients per path, frames, skips, no address ---------------
    c1 = WS(d.port, "/")
    c2 = WS(d.port, "/domains-only/")
    slow = WS(d.port, "/full-stream", rcvbuf=4096)

    def three():
        r, j = getj("/stats")
        return (r, j) if j is not None and j["current_users"] == 3 and \
            j["workers"] == {"/": 1, "/full-stream": 1,
                             "/domains-only": 1} else None
    r, j = wait_until(three, 30, 0.05) or getj("/stats")
    t.ok(j is not None and j["current_users"] == 3 and
         j["workers"] == {"/": 1, "/full-stream": 1, "/domains-only": 1},
         "/stats: 3 clients, one per path", r and r[2])
    # the slow client (a 4 KB receive buffer, never read) falls more
    # than client_queue behind and is skipped; grow until /stats shows it
    # (bounded), reading the other two clients as we go
    sent = 0
    for k in range(40):
        es = feed.publish(25)
        got1 = c1.data_frames(25, timeout=30)
        got2 = c2.data_frames(25, timeout=30)
        sent += len(got1) + len(got2)
        r, j = getj("/stats")
        if len(got1) != 25 or len(got2) != 25 or (
                j is not None and j["frames_skipped"] > 0 and k >= 3):
            break
    t.ok(j is not None and j["frames_skipped"] > 0 and
         j["frames_sent"] >= sent and sent == 2 * 25 * (k + 1),
         "/stats: frames sent (%s, the two reading clients got %d) and "
         "the slow client's skips (%s)" %
         (j and j["frames_sent"], sent, j and j["frames_skipped"]),
         r and r[2])
    t.ok(r is not None and
         not IP.search(r[2].replace(feed.url.encode(), b"LOG")),
         "/stats holds no IP address (the log's URL aside)", r and r[2])
    slow.close()
    t.ok(wait_until(lambda: getj("/stats")[1]["current_users"] == 2, 30),
         "a closed client leaves the count")
    c1.close()
    c2.close()

    # -- a plain GET on a stream path: a short page ------------------------
    for p in ("/full-stream", "/domains-only/"):
        r = get(d.port, p)
        t.ok(r and r[0] == 200 and b"websocket endpoint" in r[2],
             "plain GET %s: text page" % p, r)

    # -- inbound frames are bounded: > 512 bytes closes with 1009 --------
    w = WS(d.port, "/")
    w.send_frame(0x1, b"x" * 512)           # at the limit: ignored
    w.send_frame(0x9, b"still here")
    op, p = w.recv_frame(3)
    while op == 0x9:
        op, p = w.recv_frame(3)
    t.ok(op == 0xA and p == b"still here",
         "a 512-byte text frame is ignored, the ping after it answered")
    w.send_frame(0x1, b"x" * 513)
    op, p = w.recv_frame(3)
    while op == 0x9:
        op, p = w.recv_frame(3)
    t.ok(op == 0x8 and struct.unpack(">H", p[:2])[0] == 1009,
         "a 513-byte frame is closed with 1009", (op, p))
    w.close()

    t.eq(d.stop(), 0, "clean stop")
finally:
    d.cleanup()
    feed.stop()
t.done()
