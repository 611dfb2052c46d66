"""HTTP core of the real daemon: index page, /healthz, status codes for
bad requests (400 404 405 408 413 414 431 501 503 505), keep-alive,
pipelining, HTTP/1.0, split reads, and no client data in the log."""
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import (Daemon, Tap, get, http_raw, read_response,  # noqa
                    wait_until)

t = Tap()
d = Daemon(extra_yaml="", workers=1)
text = d.base_yaml().replace(
    "  workers: 1\n",
    "  workers: 1\n  max_connections: 8\n  request_timeout: 1s\n"
    "  keepalive_timeout: 2s\n  max_request: 2K\n  max_body: 1K\n")
d.write_conf(text=text)


def status_of(raw):
    try:
        return int(raw.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


try:
    d.start()
    r = get(d.port, "/")
    t.ok(r and r[0] == 200 and r[1]["content-type"] ==
         "text/html;charset=utf-8", "GET / serves the index page (200 html)")
    body = r[2].decode() if r else ""
    t.ok("notaryd" in body and "version" in body and
         "Server Name Indication" in body and "Performance Metrics" in body,
         "index names the version and the SNI and metrics status", body)
    t.ok(r and r[1].get("x-frame-options") == "DENY" and
         "default-src 'none'" in r[1].get("content-security-policy", ""),
         "security headers on the index page")
    ico = get(d.port, "/favicon.ico")
    t.ok(ico and ico[0] == 200 and ico[1]["content-type"] == "image/x-icon"
         and ico[2][:4] == b"\0\0\1\0", "/favicon.ico serves an icon")
    r2 = get(d.port, "/index")
    t.ok(r2 and r2[0] == 200 and r2[2] == r[2], "/index is the same page")
    r = get(d.port, "/", method="HEAD")
    t.ok(r and r[0] == 200 and int(r[1]["content-length"]) > 0,
         "HEAD / gives the length of the page")
    raw = http_raw(d.port, b"HEAD / HTTP/1.1\r\nHost: x\r\n"
                   b"Connection: close\r\n\r\n")
    t.ok(raw.endswith(b"\r\n\r\n"), "HEAD sends no body")

    r = get(d.port, "/healthz")
    t.ok(r and r[0] == 200 and b'"status":"ok"' in r[2] and
         b'"database":"up"' in r[2], "/healthz is 200 with JSON status",
         r and r[2])
    t.eq(get(d.port, "/nope")[0], 404, "unknown path: 404")
    r = get(d.port, "/healthz", method="POST")
    t.ok(r and r[0] == 405 and r[1].get("allow") == "GET, HEAD",
         "POST /healthz: 405 with Allow", r and r[1])
    t.eq(status_of(http_raw(d.port, b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n")),
         501, "unknown method: 501")
    t.eq(status_of(http_raw(d.port, b"get / HTTP/1.1\r\nHost: x\r\n\r\n")),
         400, "lowercase method: 400")
    t.eq(status_of(http_raw(d.port, b"GET / HTTP/2.0\r\nHost: x\r\n\r\n")),
         505, "HTTP/2.0 request line: 505")
    t.eq(status_of(http_raw(d.port, b"GET / HTTP/1.1\r\n\r\n")), 400,
         "HTTP/1.1 without Host: 400")
    t.eq(status_of(http_raw(d.port, b"GET /" + b"a" * 3000 +
                            b" HTTP/1.1\r\nHost: x\r\n\r\n")),
         414, "request line over max_request: 414")
    t.eq(status_of(http_raw(d.port, b"GET / HTTP/1.1\r\nHost: x\r\n" +
                            b"X-Big: " + b"b" * 2500 + b"\r\n\r\n")),
         431, "headers over max_request: 431")
    t.eq(status_of(http_raw(d.port, b"POST / HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Length: 5000\r\n\r\n")),
         413, "body over max_body: 413 before the body is sent")
    t.eq(status_of(http_raw(d.port, b"POST / HTTP/1.1\r\nHost: x\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")),
         501, "Transfer-Encoding: 501")
    t.eq(status_of(http_raw(d.port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc"
                            b"\r\n\r\n")), 400, "TLS bytes on plain HTTP: 400")
    r = get(d.port, "/?host=example.com&port=443&service_type=2&")
    t.ok(r and r[0] == 404,
         "notary query for a service never observed: 404", r)
    t.eq(get(d.port, "/?host=example.com&port=443&nope=1")[0], 400,
         "notary query with an unknown parameter: 400")

    # 408: a request started but not finished within request_timeout.
    t0 = time.monotonic()
    raw = http_raw(d.port, b"GET / HTTP/1.1\r\nHost: x\r\n", timeout=5)
    el = time.monotonic() - t0
    t.ok(status_of(raw) == 408 and el < 4.0,
         "incomplete request answered 408 after request_timeout",
         "%r after %.1fs" % (raw[:60], el))
    # A slow drip does not reset the request timer.
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    t0 = time.monotonic()
    got = b""
    try:
        for ch in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 40:
            s.send(bytes([ch]))
            time.sleep(0.05)
            if time.monotonic() - t0 > 1.5:
                break
        s.settimeout(3)
        got = s.recv(4096)
    except OSError:
        pass
    s.close()
    t.ok(status_of(got) == 408, "slow drip hits 408 too", got[:80])

    # Idle keep-alive connection is closed after keepalive_timeout.
    s = socket.create_connection(("127.0.0.1", d.port), timeout=6)
    t0 = time.monotonic()
    closed = s.recv(10) == b""
    t.ok(closed and 1.5 < time.monotonic() - t0 < 5,
         "idle connection closed after keepalive_timeout (2s)")
    s.close()

    # A busy keep-alive connection is not idle: one request every 200 ms
    # for twice keepalive_timeout, every one answered on the same
    # connection (the idle deadline restarts after each answer).
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    t0, answered, asked = time.monotonic(), 0, 0
    while time.monotonic() - t0 < 4.0 and asked < 40:
        asked += 1
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            r = read_response(s, 3)
        except OSError:
            r = None
        if r is None or r[0] != 200:
            break
        answered += 1
        time.sleep(0.2)
    s.close()
    t.eq(answered, asked, "a busy keep-alive connection outlives "
         "keepalive_timeout (%d requests over %.1f s)" %
         (asked, time.monotonic() - t0))

    # Keep-alive and pipelining.
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    a = read_response(s)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    b = read_response(s)
    t.ok(a and b and a[0] == 200 and b[0] == 200 and
         a[1]["connection"] == "keep-alive",
         "two requests on one keep-alive connection")
    s.close()
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
              b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /index HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    s.close()
    codes = [int(c) for c in re.findall(rb"(?:^|\n)HTTP/1\.1 (\d{3}) ",
                                        data)]
    t.eq(codes, [200, 404, 200, 200],
         "four pipelined requests answered in order, then closed")

    # HTTP/1.0 without Host; closes by default.
    raw = http_raw(d.port, b"GET /healthz HTTP/1.0\r\n\r\n")
    t.ok(status_of(raw) == 200 and b"Connection: close" in raw,
         "HTTP/1.0 without Host works and closes")
    raw = http_raw(d.port, b"GET /healthz HTTP/1.0\r\n"
                   b"Connection: keep-alive\r\n\r\n", read_all=False)
    t.ok(b"Connection: keep-alive" in raw,
         "HTTP/1.0 with Connection: keep-alive stays open")

    # A request split byte by byte across reads.
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for ch in b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n":
        s.send(bytes([ch]))
        time.sleep(0.002)
    r = read_response(s)
    s.close()
    t.ok(r and r[0] == 200, "request split byte by byte is parsed")

    # max_connections (8 per worker, 1 worker): the ninth gets 503.
    socks = [socket.create_connection(("127.0.0.1", d.port), timeout=5)
             for _ in range(8)]
    time.sleep(0.3)
    raw = http_raw(d.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", timeout=3)
    t.eq(status_of(raw), 503, "connection over max_connections: 503")
    for s in socks:
        s.close()
    # the worker sees the closes in its own time: ask until it has
    r = wait_until(lambda: (lambda x: x if x and x[0] == 200 else None)(
        get(d.port, "/healthz")), 30, 0.1)
    t.ok(r and r[0] == 200, "serving again once connections closed")

    # Nothing about the client in the log.
    marker = "secret-header-value-4711"
    get(d.port, "/path-" + marker, headers={"X-Marker": marker,
                                            "User-Agent": marker})
    http_raw(d.port, b"BAD " + marker.encode() + b"\r\n\r\n")
    time.sleep(0.2)
    log = d.logtext()
    t.ok(marker not in log, "no request header or path in the log")
    t.ok(all(("127.0.0.1:%d" % d.port) in line or "127.0.0.1" not in line
             for line in log.splitlines()),
         "no client address in the log (only the listen address)")
    t.eq(d.stop(), 0, "SIGTERM: exit status 0")
finally:
    d.cleanup()
t.done()
