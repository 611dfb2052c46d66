#!/usr/bin/python3
"""Stream client limits on the real daemon: stream.max_clients and
stream.max_clients_per_ip answer 429 before the upgrade (websocket and
SSE alike); the client address comes from X-Forwarded-For / X-Real-IP
only when the peer is in http.trusted_proxies; a closed client frees its
place; no client address reaches the log."""
import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import Daemon, Tap, get, wait_until  # noqa: E402
from streamtest import WS  # noqa: E402

t = Tap()
d = Daemon(workers=2)
d.write_conf(text=d.base_yaml().replace(
    "stream:\n  ring_size: 1M\n",
    "stream:\n  ring_size: 1M\n  max_clients: 6\n"
    "  max_clients_per_ip: 3\n").replace(
    "http:\n", "http:\n  trusted_proxies: [\"127.0.0.2/32\"]\n"))


def stats_users():
    r = get(d.port, "/stats")
    try:
        return json.loads(r[2])["current_users"]
    except (TypeError, ValueError, KeyError):
        return None


def sse(src=None, headers=None):
    s = socket.socket()
    if src:
        s.bind((src, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", d.port))
    extra = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
    s.sendall(("GET /sse HTTP/1.1\r\nHost: x\r\n%s\r\n" % extra).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        c = s.recv(4096)
        if not c:
            break
        head += c
    return s, int(head.split()[1]) if head else 0


try:
    d.start()
    local = [WS(d.port, "/") for _ in range(2)]
    s1, st = sse()
    t.ok(all(c.status == 101 for c in local) and st == 200,
         "3 clients from 127.0.0.1 (2 websocket, 1 SSE)")
    w = WS(d.port, "/full-stream")
    t.ok(w.status == 429 and "Retry-After" in w.head,
         "a 4th from the same address: 429 before the upgrade", w.head)
    w.close()
    _, st = sse()
    t.eq(st, 429, "... for SSE too")
    w = WS(d.port, "/", headers={"X-Forwarded-For": "10.9.9.9"})
    t.eq(w.status, 429, "X-Forwarded-For from an untrusted peer is ignored")
    w.close()
    # Behind the trusted proxy 127.0.0.2: the forwarded address counts.
    p = [WS(d.port, "/", src="127.0.0.2",
            headers={"X-Forwarded-For": "192.0.2.1, 10.0.0.1"})
         for _ in range(3)]
    t.ok(all(c.status == 101 for c in p),
         "3 clients of 10.0.0.1 through the trusted proxy")
    w = WS(d.port, "/", src="127.0.0.2",
           headers={"X-Forwarded-For": "10.0.0.1"})
    t.eq(w.status, 429, "a 4th of 10.0.0.1 through the proxy: 429")
    w.close()
    w = WS(d.port, "/", src="127.0.0.2", headers={"X-Real-IP": "10.0.0.2"})
    t.eq(w.status, 429, "10.0.0.2 (X-Real-IP): 429, max_clients (6) reached")
    w.close()
    users = stats_users()
    p[0].close()
    # the worker has seen the close (it counts a client out and frees its
    # place in the same step) before the next one comes
    t.ok(users == 6 and wait_until(lambda: stats_users() == 5, 30),
         "the closed client leaves the count", users)
    w = WS(d.port, "/", src="127.0.0.2", headers={"X-Real-IP": "10.0.0.2"})
    t.eq(w.status, 101, "a closed client frees its place")
    r = get(d.port, "/metrics")
    t.ok(r and b"notaryd_stream_refused_total 5" in r[2],
         "refusals counted", r and r[2][-400:])
    for c in local + p[1:] + [w]:
        c.close()
    s1.close()
    t.eq(d.stop(), 0, "clean stop")
    log = d.logtext()
    t.ok("10.0.0.1" not in log and "10.0.0.2" not in log and
         "10.9.9.9" not in log and "127.0.0.2" not in log,
         "no client address in the log")
finally:
    d.cleanup()
t.done()
