#!/usr/bin/python3
"""Hostile clients (issue 13) against the real daemon: websocket clients
that flood pings and never read (a use-after-free once), what becomes of a
stream client whose output backs up, close-handshake codes (RFC 6455
§7.4), Upgrade headers the server does not speak (RFC 9110 §7.8), and
IPv6 spellings of 127.0.0.1 in Perspectives queries (scanner deny list)."""
import base64
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import Daemon, Tap, get, http_raw, pid_alive, wait_until  # noqa: E402

t = Tap()
FLOOD_CONNS = 20
FLOOD_SECS = 10.0


def ws_open(port, path="/", rcvbuf=0):
    """Upgrade a fresh connection; return (socket, bytes after the head).
    A small rcvbuf makes the server's output back up after a few KB
    instead of after megabytes of kernel buffers."""
    key = base64.b64encode(os.urandom(16))
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
              b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: " + key +
              b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf and len(buf) < 8192:
        c = s.recv(4096)
        if not c:
            break
        buf += c
    head, _, rest = buf.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101 "):
        s.close()
        raise RuntimeError("no upgrade: %r" % head[:200])
    return s, rest


def masked(op, payload):
    key = os.urandom(4)
    return (bytes([0x80 | op, 0x80 | len(payload)]) + key +
            bytes(b ^ key[i % 4] for i, b in enumerate(payload)))


def read_close(s, rest, timeout=5.0):
    """Read frames until a close frame; return its payload (None if the
    connection ended without one)."""
    buf, end = rest, time.monotonic() + timeout
    while time.monotonic() < end:
        while len(buf) >= 2 and (buf[1] & 0x7f) < 126 and \
                len(buf) >= 2 + (buf[1] & 0x7f):
            n = buf[1] & 0x7f
            op, payload, buf = buf[0] & 0x0f, buf[2:2 + n], buf[2 + n:]
            if op == 0x8:
                return payload
        if len(buf) >= 2 and (buf[1] & 0x7f) >= 126:
            return None	 # the server sends nothing that large here
        s.settimeout(max(0.05, end - time.monotonic()))
        try:
            c = s.recv(65536)
        except (socket.timeout, OSError):
            return None
        if not c:
            return None
        buf += c
    return None


def worker_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def flood(port, nconns, secs):
    """nconns clients upgrade, then send masked 125-byte pings for secs
    and never read; a client the server closes is replaced at once, so
    nconns flood for the whole time.  Returns (sockets, pings sent,
    clients replaced)."""
    frame = masked(0x9, os.urandom(125))
    socks, pend = [], []
    sent = replaced = 0

    def one():
        s = ws_open(port, rcvbuf=4096)[0]
        s.setblocking(False)
        return s
    for _ in range(nconns):
        socks.append(one())
        pend.append(b"")
    end = time.monotonic() + secs
    while time.monotonic() < end:
        progress = 0
        for i, s in enumerate(socks):
            if not pend[i]:
                pend[i] = frame * 256
            try:
                n = s.send(pend[i])
            except BlockingIOError:
                continue
            except OSError:
                s.close()
                try:
                    socks[i], pend[i] = one(), b""
                except (OSError, RuntimeError):
                    return socks[:i] + socks[i + 1:], sent, replaced
                replaced += 1
                continue
            sent += n // len(frame)
            progress += n
            pend[i] = pend[i][n:]
        if not progress:
            time.sleep(0.005)
    return socks, sent, replaced


def ended_by_server(s):
    """Has the server closed this connection?  Asked of the kernel
    (TCP_INFO state), so the client still reads nothing."""
    try:
        st = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
    except OSError:
        return True
    return st in (7, 8)	 # TCP_CLOSE (reset), TCP_CLOSE_WAIT (FIN)


def keep_pinging(socks, secs):
    """Go on pinging without reading until the server has closed every
    client (a client that joined late may not have backed up yet).
    Returns how many it closed within secs."""
    frame = masked(0x9, b"q" * 125) * 64
    end = time.monotonic() + secs
    while time.monotonic() < end:
        open_ = [s for s in socks if not ended_by_server(s)]
        if not open_:
            break
        for s in open_:
            try:
                s.send(frame)
            except OSError:
                pass
        time.sleep(0.05)
    return sum(ended_by_server(s) for s in socks)


d = Daemon(workers=1)
d.write_conf(text=d.base_yaml().replace(
    "  workers: 1\n", "  workers: 1\n  request_timeout: 2s\n"))
try:
    d.start()
    http0 = d.role_pids("http")
    fds0 = worker_fds(http0[0]) if http0 else -1

    # 1. The use-after-free client: pings, never reads.
    t0 = time.monotonic()
    socks, sent, replaced = flood(d.port, FLOOD_CONNS, FLOOD_SECS)
    took = time.monotonic() - t0
    t.ok(sent > 0 and took >= FLOOD_SECS, "%d ping-flooding clients sent "
         "%d pings in %.1f s (%d closed by the server and replaced)" %
         (FLOOD_CONNS, sent, took, replaced))
    time.sleep(1)	# a crashed worker is reaped and logged by now
    log = d.logtext()
    t.ok(len(http0) == 1 and pid_alive(http0[0]) and
         d.role_pids("http") == http0,
         "no http worker restarted during the ping flood",
         (http0, d.role_pids("http")))
    t.ok("killed by signal" not in log and "exited with status" not in log,
         "no child crashed or exited", log[-2000:])
    h = d.health()
    t.ok(h is not None and h[0] == 200, "healthy while the flooders sit "
         "there (other clients are served)", h)

    # A stream client whose output backs up is closed, not kept.
    closed = keep_pinging(socks, 30)
    t.eq(closed, FLOOD_CONNS, "the server closed every client that never "
         "read its output (request_timeout without progress)")
    for s in socks:
        s.close()
    ok = wait_until(lambda: worker_fds(http0[0]) <= fds0, 30)
    t.ok(ok, "the worker holds no descriptor for them afterwards",
         "fds before %d, now %d" % (fds0, worker_fds(http0[0])))
    t.eq(d.role_pids("http"), http0, "still the same http worker")

    # A client that pings hard but reads its pongs keeps making progress:
    # it outlives request_timeout (2 s here).
    s, rest = ws_open(d.port)
    frame, got, alive = masked(0x9, b"p" * 125), 0, True
    end = time.monotonic() + 3
    s.settimeout(10)
    try:
        while time.monotonic() < end:
            s.sendall(frame * 64)
            need = 64 * 127 - len(rest)
            while need > 0:
                c = s.recv(65536)
                if not c:
                    raise OSError("closed")
                need -= len(c)
            rest = b"" if need == 0 else b"x" * -need
            got += 64
    except OSError:
        alive = False
    t.ok(alive and got > 0, "a ping flooder that reads its pongs is kept "
         "past request_timeout (%d pongs in 3 s)" % got)
    s.close()

    # 4. Close codes (RFC 6455 §7.4.1): echo valid ones, 1002 otherwise.
    cases = [
        (b"", (1000,)), (struct.pack(">H", 1000), (1000,)),
        (struct.pack(">H", 1001) + b"bye", (1001,)),
        (struct.pack(">H", 3000), (3000,)), (struct.pack(">H", 4999), (4999,)),
        (b"\x03\xed", (1002,)), (b"\x00\x00", (1002,)), (b"\xff\xff", (1002,)),
        (b"\x03\xee", (1002,)), (b"\x03\xf7", (1002,)), (b"\x03", (1002,)),
        (struct.pack(">H", 1000) + b"\xff\xfe", (1007, 1002)),
    ]
    for payload, want in cases:
        s, rest = ws_open(d.port)
        s.sendall(masked(0x8, payload))
        p = read_close(s, rest)
        code = struct.unpack(">H", p[:2])[0] if p and len(p) >= 2 else None
        t.ok(code in want, "close payload %s answered with %s" %
             (payload.hex() or "(empty)", "/".join(map(str, want))),
             "got %r" % p)
        s.close()

    # 3. An Upgrade the server does not speak is ignored.
    for path in ("/", "/?host=example.org&port=443&service_type=2",
                 "/healthz"):
        raw = http_raw(d.port, b"GET " + path.encode() +
                       b" HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, "
                       b"HTTP2-Settings\r\nUpgrade: h2c\r\n"
                       b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
                       timeout=3, read_all=False)
        status = raw.split(b" ", 2)[1] if raw.count(b" ") >= 2 else b""
        t.ok(status not in (b"", b"400", b"101", b"426"),
             "GET %s with Upgrade: h2c is answered normally" % path,
             raw[:300])
    r = get(d.port, "/", headers={"Upgrade": "h2c",
                                  "Connection": "Upgrade"})
    t.ok(r is not None and r[0] == 200 and b"notaryd" in r[2],
         "the index page with Upgrade: h2c is the index page", r)
    r = get(d.port, "/", headers={"Upgrade": "h2c, websocket",
                                  "Connection": "Upgrade"})
    t.ok(r is not None and r[0] in (400, 426),
         "Upgrade: h2c, websocket is still a websocket attempt (refused "
         "here: no version, no key)", r)

    # 2. IPv6 spellings of 127.0.0.1: the scanner denies them, no connect.
    for host in ("::127.0.0.1", "0:0:0:0:0:0:7f00:1", "::ffff:0:7f00:1",
                 "64:ff9b:1::7f00:1", "2002:7f00:1::"):
        r = get(d.port, "/?host=[%s]&port=443&service_type=2" % host)
        svc = "[%s]:443,2" % host
        line = wait_until(lambda: [ln for ln in d.logtext().splitlines()
                                   if ("probe %s: " % svc) in ln], 30)
        t.ok(r is not None and line and ": denied (" in line[0],
             "GET /?host=[%s]: the scanner logs denied, not a connect "
             "error" % host, (r and r[0], line))

    t.eq(d.role_pids("http"), http0, "no http worker restarted in this test")
    t.eq(d.stop(), 0, "clean stop")
finally:
    d.cleanup()
t.done()
