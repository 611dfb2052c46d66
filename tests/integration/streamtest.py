"""streamtest - helpers for the CT stream integration tests: a plain
websocket client (raw socket, answers nothing by itself) and CertStream-
shaped test entries written to the daemon's TEST ONLY feed file
(NOTARYD_TEST_FEED, see ctwatch/testfeed.h)."""
import base64
import json
import os
import socket
import struct
import time


def entry(i, names=None, precert=False, log_id=0, pad=0):
    """(full, lite, domains, names) JSON texts of test entry i, in the
    certstream-server-go shapes (full and lite without their newline)."""
    names = names or ["e%d.example.com" % i, "www.e%d.example.com" % i]
    subj = {"C": None, "CN": names[0], "L": None, "O": None, "OU": None,
            "ST": None, "aggregated": "/CN=" + names[0],
            "email_address": None}
    leaf = {"all_domains": names,
            "extensions": {"subjectAltName":
                           ", ".join("DNS:" + n for n in names)},
            "fingerprint": "AB:CD", "sha1": "AB:CD", "sha256": "EF:01",
            "not_after": 1800000000, "not_before": 1700000000,
            "serial_number": "%04X" % i, "signature_algorithm":
            "sha256, rsa", "subject": subj, "issuer": subj, "is_ca": False}
    src = {"name": "Test log %d" % log_id, "url":
           "https://ct.example/log%d" % log_id, "timestamp": 1700000000.5,
           "type": "rfc6962"}
    upd = "PrecertLogEntry" if precert else "X509LogEntry"
    full_leaf = dict(leaf)
    full_leaf["as_der"] = base64.b64encode(b"x" * (300 + pad)).decode()
    full = {"data": {"cert_index": i, "cert_link": "https://ct.example/x",
                     "chain": [leaf], "leaf_cert": full_leaf,
                     "seen": 1700000001.25, "source": src,
                     "update_type": upd},
            "message_type": "certificate_update"}
    lite = {"data": {"cert_index": i, "cert_link": "https://ct.example/x",
                     "leaf_cert": leaf, "seen": 1700000001.25,
                     "source": src, "update_type": upd},
            "message_type": "certificate_update"}
    dom = {"data": names, "message_type": "dns_entries"}
    c = (",", ":")
    return (json.dumps(full, separators=c), json.dumps(lite, separators=c),
            json.dumps(dom, separators=c), names)


class Feed:
    """Appends entries to the feed file the daemon's ctwatch follows."""

    def __init__(self, path):
        self.path = path
        open(path, "w").close()
        self.sent = []

    def publish(self, entries, precert=False, log_id=0):
        with open(self.path, "a") as f:
            for e in entries:
                full, lite, dom, names = e
                f.write("\t".join([full, lite, dom, ",".join(names),
                                   "1" if precert else "0", str(log_id),
                                   str(json.loads(full)["data"]
                                       ["cert_index"])]) + "\n")
                self.sent.append(e)


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

    def data_frames(self, n, timeout=10, pong=True):
        """The next n text payloads (pings answered, heartbeats skipped)."""
        out = []
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
