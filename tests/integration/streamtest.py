"""streamtest - helpers for the CT stream integration tests: a plain
websocket client (raw socket, answers nothing by itself) and CTFeed, a
fake CT log (tests/ctlog) that the daemon's real ctwatch follows, grown
on demand by the test, with the frames a client must receive computed
independently of the daemon by tests/ctlog/expected.py."""
import asyncio
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "ctlog"))
import ctlog  # noqa: E402
import expected  # noqa: E402
from ndtest import NOTARYD, get, wait_until  # noqa: E402

NOTARYCTL = os.path.join(os.path.dirname(NOTARYD), "notaryctl")
SHAPES = ("full", "lite", "domains")
OPERATOR = "stream tests"       # the test log's operator label


def seen_of(payload):
    """The "seen" of a received full or lite payload (None if absent)."""
    try:
        return json.loads(payload)["data"]["seen"]
    except (ValueError, KeyError, TypeError):
        return None


class CTFeed:
    """One fake CT log served on loopback by this process; the daemon's
    ctwatch follows it (ctwatch_yaml) and publishes what it parses.
    publish(n) grows the log by n entries; want() gives the exact
    payloads a client of a shape must get for them (expected.frame(), only
    "seen" taken from the received payloads)."""

    def __init__(self, size=5, kind="rfc6962", cap=256):
        self.srv = ctlog.CTLogServer(hub_port=0)
        self.lg = self.srv.add_log("feed", kind=kind, size=size, cap=cap,
                                   description="stream test log")
        self.srv.start()
        self.start = size
        self.url = self.lg.url.rstrip("/")
        self._data = {}
        self._frames = {}

    def ctwatch_yaml(self, poll="100ms"):
        lg = self.lg
        return ("  log_list: []\n  poll_interval: %s\n  logs:\n"
                "    - {url: \"%s\", name: \"%s\", type: %s, key: %s,\n"
                "       operator: \"%s\"}\n"
                % (poll, lg.url, lg.cfg["description"],
                   "rfc6962" if lg.kind == "rfc6962" else "static",
                   base64.b64encode(lg.key.spki).decode(), OPERATOR))

    def position(self, d):
        p = subprocess.run([NOTARYCTL, "-c", d.conf, "ct-positions"],
                           capture_output=True, text=True, timeout=60)
        for line in p.stdout.splitlines():
            f = line.split()
            if len(f) == 3 and f[0] == self.url:
                return int(f[1])
        return None

    def following(self, d, timeout=60):
        """ctwatch has taken the log's size as its start (a log never
        seen starts at its current size: grow only after this)."""
        return wait_until(lambda: self.position(d) == self.lg.size,
                          timeout, step=0.2)

    def prepare(self, n):
        """Generate the next n entries now; their indices."""
        lo = len(self.lg.entries) + len(self.lg.pending)
        self.lg.prepare(n)
        return list(range(lo, lo + n))

    def publish(self, n):
        """Grow the log by n entries now; their indices."""
        lo = self.lg.size
        self.lg.grow(n)
        return list(range(lo, lo + n))

    def published(self, d):
        """Entries the daemon has put into the ring (from /stats)."""
        r = get(d.port, "/stats")
        try:
            return json.loads(r[2])["processed_certificates"]
        except (TypeError, ValueError, KeyError):
            return -1

    def wait_published(self, d, timeout=60):
        """Every entry grown so far is in the ring."""
        n = self.lg.size - self.start
        return wait_until(lambda: self.published(d) >= n, timeout, step=0.05)

    def data(self, i):
        """expected data of entry i, published or only prepared."""
        if i not in self._data:
            lg = self.lg
            n = len(lg.entries)
            self._data[i] = (expected.for_log(lg, i) if i < n else
                             expected.for_entry(lg.pending[i - n], lg.kind,
                                                lg.url,
                                                lg.cfg["description"]))
        return self._data[i]

    def frame(self, i, shape, seen=None):
        """The websocket payload of entry i for shape full, lite or
        domains (trailing newline on full and lite, as the Go server)."""
        k = (i, shape, seen)
        if k not in self._frames:
            self._frames[k] = expected.frame(self.data(i), seen, shape)
        return self._frames[k]

    def want(self, idx, shape, got=()):
        """The payloads for entries idx; seen from got[k] when present."""
        got = list(got)
        return [self.frame(i, shape, seen_of(got[k]) if k < len(got) and
                           shape != "domains" else None)
                for k, i in enumerate(idx)]

    def want_sse(self, idx, shape, got=()):
        """The same as SSE data (no trailing newline)."""
        return [w.rstrip(b"\n") for w in self.want(idx, shape, got)]

    def names(self, i):
        """all_domains of entry i, as the filters see them (lowercase)."""
        return [n.lower() for n in self.data(i)["leaf_cert"]["all_domains"]]

    def precert(self, i):
        return self.data(i)["update_type"] == "PrecertLogEntry"

    def index_of(self, payload):
        return json.loads(payload)["data"]["cert_index"]

    def stop(self):
        self.srv.stop()


class WS:
    """A raw websocket client; never answers pings unless asked."""

    def __init__(self, port, path="/", headers=None, rcvbuf=0,
                 host="127.0.0.1", timeout=10, src=None):
        self.key = base64.b64encode(os.urandom(16))
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(timeout)
        if src:
            self.s.bind((src, 0))
        self.s.connect((host, port))
        extra = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
        self.s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\n"
                       b"Host: 127.0.0.1\r\nUpgrade: websocket\r\n"
                       b"Connection: Upgrade\r\nSec-WebSocket-Key: " +
                       self.key + b"\r\nSec-WebSocket-Version: 13\r\n" +
                       extra.encode() + b"\r\n")
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            c = self.s.recv(65536)
            if not c:
                break
            self.buf += c
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.head = head.decode("latin-1")
        self.status = int(self.head.split()[1]) if self.head else 0
        self.held = []          # data frames read by pump()
        self.eof = False

    def parse(self):
        """One complete frame from the buffer: (fin+rsv byte, op, payload)
        or None."""
        if len(self.buf) < 2:
            return None
        b0, b1 = self.buf[0], self.buf[1]
        n, off = b1 & 0x7f, 2
        if n == 126:
            if len(self.buf) < 4:
                return None
            n, off = struct.unpack(">H", self.buf[2:4])[0], 4
        elif n == 127:
            if len(self.buf) < 10:
                return None
            n, off = struct.unpack(">Q", self.buf[2:10])[0], 10
        if len(self.buf) < off + n:
            return None
        payload = self.buf[off:off + n]
        self.buf = self.buf[off + n:]
        return b0, b0 & 0x0f, payload

    def recv_frame(self, timeout=5):
        """(opcode, payload), or (None, None) on EOF or timeout."""
        deadline = time.monotonic() + timeout
        while True:
            f = self.parse()
            if f is not None:
                return f[1], f[2]
            left = deadline - time.monotonic()
            if left <= 0:
                return None, None
            self.s.settimeout(left)
            try:
                c = self.s.recv(1 << 20)
            except (socket.timeout, OSError):
                return None, None
            if not c:
                return None, None
            self.buf += c

    def pump(self):
        """Take what has arrived, without waiting: pings answered, data
        frames kept for data_frames().  Keeps an unread client alive
        (stream.idle_timeout) while the test waits for something else."""
        if self.eof:
            return
        try:
            self.s.settimeout(0)
            while True:
                c = self.s.recv(1 << 20)
                if not c:
                    self.eof = True
                    break
                self.buf += c
        except (BlockingIOError, socket.timeout):
            pass
        except OSError:
            self.eof = True
        while True:
            f = self.parse()
            if f is None:
                break
            if f[1] == 0x9:
                try:
                    self.send_frame(0xA, f[2])
                except OSError:
                    self.eof = True
            elif f[1] == 0x1 and b'"heartbeat"' not in f[2][:40]:
                self.held.append(f[2])
            elif f[1] == 0x8:
                self.held.append(None)      # the close frame, kept in order

    def data_frames(self, n, timeout=10, pong=True):
        """The next n text payloads (pings answered, heartbeats skipped)."""
        out = []
        while self.held and len(out) < n and self.held[0] is not None:
            out.append(self.held.pop(0))
        if self.held and self.held[0] is None:
            return out
        deadline = time.monotonic() + timeout
        while len(out) < n and time.monotonic() < deadline:
            op, p = self.recv_frame(deadline - time.monotonic())
            if op is None:
                break
            if op == 0x9 and pong:
                self.send_frame(0xA, p)
            elif op == 0x1 and b'"heartbeat"' not in p[:40]:
                out.append(p)
        return out

    def send_frame(self, op, payload=b""):
        key = os.urandom(4)
        n = len(payload)
        if n < 126:
            hdr = bytes([0x80 | op, 0x80 | n])
        else:
            hdr = bytes([0x80 | op, 0x80 | 126]) + struct.pack(">H", n)
        body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        self.s.sendall(hdr + key + body)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


async def recv_data(c, wait=0.5):
    """The next data message of websocket c, as bytes; None after wait
    seconds or for a heartbeat."""
    try:
        m = await asyncio.wait_for(c.recv(), wait)
    except asyncio.TimeoutError:
        return None
    if isinstance(m, str):
        m = m.encode()
    return None if b'"heartbeat"' in m[:40] else m


class WsClients:
    """A websockets client on every path of one daemon, in a thread,
    keeping every text message (heartbeats aside) as bytes."""

    def __init__(self, port, paths, wait=60):
        self.wait = wait
        self.port = port
        self.paths = paths
        self.got = {p: [] for p in paths}
        self.opened = threading.Event()
        self.errors = []
        self.loop = asyncio.new_event_loop()
        self.stop = None
        self.th = threading.Thread(target=self.loop.run_until_complete,
                                   args=(self.main(),), daemon=True)
        self.th.start()

    async def one(self, path, ready):
        try:
            import websockets
            async with websockets.connect(
                    "ws://127.0.0.1:%d%s" % (self.port, path),
                    max_size=1 << 22, ping_interval=5,
                    ping_timeout=20) as c:
                ready.append(path)
                if len(ready) == len(self.paths):
                    self.opened.set()
                while not self.stop.is_set():
                    m = await recv_data(c)
                    if m is not None:
                        self.got[path].append(m)
        except Exception as e:      # reported, never hidden
            self.errors.append((path, repr(e)))
            self.opened.set()

    async def main(self):
        self.stop = asyncio.Event()
        ready = []
        await asyncio.gather(*(self.one(p, ready) for p in self.paths))

    def close(self):
        if self.stop is not None:
            self.loop.call_soon_threadsafe(self.stop.set)
        self.th.join(self.wait)

    def count(self, n):
        return lambda: all(len(v) >= n for v in self.got.values())
