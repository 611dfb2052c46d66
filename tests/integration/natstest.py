"""natstest - a real nats-server for the natspub integration tests.

NatsServer starts Debian's nats-server ($NATS_SERVER, else the one on
PATH or in /usr/sbin) on 127.0.0.1 with JetStream stored in a temporary
directory; stop() and start() again keep the port and the store (an
outage).  dump() reads the whole stream back through tests/nats_dump (a
tiny libnats reader built by make check): a list of (seq, subject,
payload bytes).  request() speaks the NATS text protocol itself, for
JetStream API calls such as purge().  Every wait is bounded; loopback
only.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from ndtest import NOTARYD, free_port, wait_until

NATS_SERVER = os.environ.get("NATS_SERVER") or shutil.which(
    "nats-server", path=os.environ.get("PATH", "") + ":/usr/sbin")
NATS_DUMP = os.path.join(os.path.dirname(NOTARYD), "tests", "nats_dump")


def port_open(port):
    import socket
    s = socket.socket()
    s.settimeout(0.5)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class NatsServer:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="nats-test-")
        self.port = free_port()
        self.url = "nats://127.0.0.1:%d" % self.port
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port), "-js",
             "-sd", os.path.join(self.dir, "js")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_until(lambda: port_open(self.port), 60, step=0.05):
            raise RuntimeError("nats-server did not start")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def request(self, subject, body, timeout=5):
        """One request-reply over a raw client connection: the reply's
        payload (bytes), or None."""
        inbox = "_INBOX.ndtest%d" % os.getpid()
        with socket.create_connection(("127.0.0.1", self.port),
                                      timeout) as s:
            s.sendall(b'CONNECT {"verbose":false}\r\nSUB %s 1\r\n'
                      b'PUB %s %s %d\r\n%s\r\nPING\r\n'
                      % (inbox.encode(), subject.encode(), inbox.encode(),
                         len(body), body))
            data, end = b"", time.monotonic() + timeout
            while time.monotonic() < end:
                m = re.search(rb"MSG \S+ 1 (\d+)\r\n", data)
                if m and len(data) >= m.end() + int(m.group(1)):
                    return data[m.end():m.end() + int(m.group(1))]
                chunk = s.recv(65536)
                if not chunk:
                    return None
                data += chunk
                data = data.replace(b"PING\r\n", b"")
                if b"PING" in data:
                    s.sendall(b"PONG\r\n")
        return None

    def purge(self, below, stream="CERTSTREAM"):
        """Remove the stream's messages below sequence `below`: the
        reply as a dict, or None."""
        r = self.request("$JS.API.STREAM.PURGE." + stream,
                         json.dumps({"seq": below}).encode())
        return json.loads(r) if r else None

    def dump(self, stream="CERTSTREAM"):
        """[(seq, subject, payload)], or None when the stream is not there."""
        p = subprocess.run([NATS_DUMP, self.url, stream],
                           capture_output=True, timeout=60)
        if p.returncode != 0:
            return None
        out, data, pos = [], p.stdout, 0
        while True:
            nl = data.index(b"\n", pos)
            head = data[pos:nl].decode().split()
            if head[0] == "end":
                return out
            seq, subj, n = int(head[0]), head[1], int(head[2])
            out.append((seq, subj, data[nl + 1:nl + 1 + n]))
            pos = nl + 1 + n + 1


def nats_yaml(server, extra=""):
    return ("nats:\n  enabled: true\n  url: [\"%s\"]\n%s"
            % (server.url, extra))


def stopped_summary(text):
    """The natspub stop lines as dicts of their counters, in order."""
    pat = re.compile(r"nats: stopped; records (\d+), ring skipped (\d+), "
                     r"malformed (\d+); messages taken (\d+), published "
                     r"(\d+), acked (\d+), failed (\d+), dropped (\d+), "
                     r"pending (\d+); reconnects (\d+)")
    names = ("records", "ring_skipped", "malformed", "taken", "published",
             "acked", "failed", "dropped", "pending", "reconnects")
    return [dict(zip(names, (int(x) for x in m.groups())))
            for m in pat.finditer(text)]


def wait_stream(server, timeout=60):
    """Wait until the stream exists; its dump."""
    got = []

    def ok():
        d = server.dump()
        if d is not None:
            got.append(d)
        return d is not None
    wait_until(ok, timeout, step=0.2)
    return got[-1] if got else None


__all__ = ["NatsServer", "nats_yaml", "stopped_summary", "wait_stream",
           "NATS_DUMP", "time"]
