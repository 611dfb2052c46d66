"""Long-lived websocket streams on the real daemon: the RFC 6455 handshake
on the lite/full/domains paths (with and without trailing slash), server
pings, JSON heartbeats, pong replies, the 1008 idle close, the close
handshake, protocol errors, 400/426 for bad upgrades, and the short page
for a plain GET on a stream path."""
import base64
import hashlib
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import Daemon, Tap, get, http_raw  # noqa: E402

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
t = Tap()


class WS:
    """A deliberately plain client: it never answers pings by itself."""

    def __init__(self, port, path="/", version="13"):
        self.key = base64.b64encode(os.urandom(16))
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\n"
                       b"Host: 127.0.0.1\r\nUpgrade: websocket\r\n"
                       b"Connection: Upgrade\r\nSec-WebSocket-Key: " +
                       self.key + b"\r\nSec-WebSocket-Version: " +
                       version.encode() + b"\r\n\r\n")
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            c = self.s.recv(4096)
            if not c:
                break
            self.buf += c
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.head = head.decode("latin-1")

    def accepted(self):
        want = base64.b64encode(hashlib.sha1(self.key + GUID).digest())
        return (self.head.startswith("HTTP/1.1 101 ") and
                ("Sec-WebSocket-Accept: " + want.decode()) in self.head)

    def recv_frame(self, timeout=5):
        self.s.settimeout(timeout)
        while True:
            if len(self.buf) >= 2:
                b0, b1 = self.buf[0], self.buf[1]
                n, off = b1 & 0x7f, 2
                if n == 126 and len(self.buf) >= 4:
                    n, off = struct.unpack(">H", self.buf[2:4])[0], 4
                if len(self.buf) >= off + n and (b1 & 0x7f) != 127:
                    payload = self.buf[off:off + n]
                    self.buf = self.buf[off + n:]
                    return b0 & 0x0f, payload
            c = self.s.recv(65536)
            if not c:
                return None, None
            self.buf += c

    def send_frame(self, op, payload=b"", mask=True):
        hdr = bytes([0x80 | op])
        key = os.urandom(4)
        if mask:
            hdr += bytes([0x80 | len(payload)]) + key
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        else:
            hdr += bytes([len(payload)])
        self.s.sendall(hdr + payload)

    def close(self):
        self.s.close()


d = Daemon(workers=1)
d.write_conf(text=d.base_yaml().replace(
    "stream:\n  ring_size: 1M\n",
    "stream:\n  ring_size: 1M\n  ping_interval: 300ms\n"
    "  idle_timeout: 1500ms\n  json_heartbeat: 200ms\n"))
try:
    d.start()
    for path in ("/", "/full-stream", "/full-stream/", "/domains-only",
                 "/domains-only/"):
        w = WS(d.port, path)
        t.ok(w.accepted(), "websocket handshake on %s (101, correct "
             "Sec-WebSocket-Accept)" % path, w.head)
        w.close()

    # Until both a ping (every 300 ms) and a heartbeat (every 200 ms)
    # came, and no longer: the pong check below must come well before
    # the idle close of this client that answers no ping (1.5 s).
    w = WS(d.port, "/")
    ops, hb = [], None
    end = time.monotonic() + 10
    while time.monotonic() < end and not (0x9 in ops and hb is not None):
        op, p = w.recv_frame(2)
        if op is None or op == 0x8:
            break
        ops.append(op)
        if op == 1 and hb is None:
            hb = p
    t.ok(0x9 in ops, "the server pings (every ping_interval)", ops)
    t.ok(hb is not None and hb.startswith(b'{"message_type":"heartbeat",'
                                          b'"timestamp":'),
         "JSON heartbeat frames in the CertStream shape", hb)
    w.send_frame(0x9, b"are you there")
    got = None
    end = time.monotonic() + 2
    while time.monotonic() < end:
        op, p = w.recv_frame(2)
        if op == 0xA:
            got = p
            break
    t.eq(got, b"are you there", "a client ping gets a pong with its payload")

    # Idle: no frames from us, so the server closes with 1008.
    t0 = time.monotonic()
    code, reason = None, None
    while time.monotonic() - t0 < 4:
        op, p = w.recv_frame(4)
        if op is None:
            break
        if op == 0x8:
            code = struct.unpack(">H", p[:2])[0]
            reason = p[2:]
            break
    t.ok(code == 1008 and reason == b"No ping received!",
         "silent client closed with 1008 'No ping received!' after "
         "idle_timeout", (code, reason))
    w.close()

    # A client that answers pings stays connected past idle_timeout.
    w = WS(d.port, "/full-stream")
    end = time.monotonic() + 2.5
    closed = False
    while time.monotonic() < end:
        op, p = w.recv_frame(2)
        if op is None or op == 0x8:
            closed = True
            break
        if op == 0x9:
            w.send_frame(0xA, p)
    t.ok(not closed, "a client that answers pings is kept past idle_timeout")
    w.send_frame(0x8, struct.pack(">H", 1000) + b"bye")
    op, p = w.recv_frame(3)
    while op is not None and op != 0x8:
        op, p = w.recv_frame(3)
    t.ok(op == 0x8 and struct.unpack(">H", p[:2])[0] == 1000,
         "close handshake: the server echoes 1000")
    w.close()

    w = WS(d.port, "/")
    w.send_frame(0x9, b"x", mask=False)
    op, p = w.recv_frame(3)
    while op is not None and op != 0x8:
        op, p = w.recv_frame(3)
    t.ok(op == 0x8 and struct.unpack(">H", p[:2])[0] == 1002,
         "an unmasked client frame is a protocol error (1002)")
    w.close()

    w = WS(d.port, "/", version="8")
    t.ok(w.head.startswith("HTTP/1.1 426 ") and
         "Sec-WebSocket-Version: 13" in w.head,
         "unsupported websocket version: 426 naming version 13", w.head)
    w.close()
    r = get(d.port, "/full-stream")
    t.ok(r and r[0] == 200 and b"websocket endpoint" in r[2] and
         r[1].get("content-type", "").startswith("text/plain"),
         "plain GET on a stream path: a short text page, not an error",
         r and r[2])
    r = get(d.port, "/")
    t.ok(r and r[0] == 200 and b"notaryd" in r[2],
         "plain GET / is still the index page")
    raw = http_raw(d.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                   b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   b"Sec-WebSocket-Version: 13\r\nConnection: close\r\n\r\n")
    t.ok(raw.startswith(b"HTTP/1.1 200 "),
         "an upgrade request on a non-stream path is served normally")
    t.eq(d.stop(), 0, "clean stop with stream clients gone")
finally:
    d.cleanup()
t.done()
