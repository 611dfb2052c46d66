#!/usr/bin/python3
"""Memory after a slowloris flood (issue 13): 5,000 connections each send
half a request and wait; then all but every 50th leave (the survivors are
spread over the heap, as real clients that stay would be, so the heap top
cannot simply shrink).  The workers give the freed
buffers back (malloc_trim once the connection count has fallen).  The
process tree's RSS before, during and after is reported (TAP comments),
not asserted: it depends on the allocator and the machine."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import Daemon, Tap, rss_kb, server_took_all, wait_until  # noqa: E402

CONNS = 5000
t = Tap()


def tree_rss(d):
    pid = d.master_pid()
    return rss_kb(pid) + sum(rss_kb(k) for k in d.children())


def http_rss(d):
    return sum(rss_kb(p) for p in d.role_pids("http"))


d = Daemon(workers=2, extra_yaml="")
d.write_conf(text=d.base_yaml().replace(
    "  workers: 2\n", "  workers: 2\n  request_timeout: 60s\n"))
socks = []
try:
    d.start()
    http0 = d.role_pids("http")
    time.sleep(1)
    before, hbefore = tree_rss(d), http_rss(d)
    for _ in range(CONNS):
        try:
            s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            socks.append(s)
        except OSError:
            break
    t.eq(len(socks), CONNS, "%d slowloris connections opened" % CONNS)
    # measured once the workers hold them all (accepted, half-requests
    # read), however long that takes here
    t.ok(server_took_all(d.port, socks, 120),
         "the workers accepted all %d and read their half requests" % CONNS)
    during, hduring = tree_rss(d), http_rss(d)
    stay = socks[::50]
    for s in socks:
        if s not in stay:
            s.close()
    socks = stay
    trimmed = wait_until(lambda: d.logtext().count("memory trimmed") >=
                         len(http0), 60, 0.2)
    time.sleep(6)	# a second trim (5 s later) if the first came midway
    after, hafter = tree_rss(d), http_rss(d)
    print("# tree RSS: before %d KB, with %d connections %d KB, after "
          "all but %d left %d KB" % (before, CONNS, during, len(stay),
                                     after))
    print("# http workers' RSS: before %d KB, during %d KB, after %d KB" %
          (hbefore, hduring, hafter))
    t.ok(trimmed, "every worker trimmed its heap once the flood left",
         d.logtext()[-1500:])
    t.eq(d.role_pids("http"), http0, "no worker restarted")
    h = d.health()
    t.ok(h is not None and h[0] == 200, "healthy after the flood")
    t.eq(d.stop(), 0, "clean stop")
finally:
    for s in socks:
        s.close()
    d.cleanup()
t.done()
