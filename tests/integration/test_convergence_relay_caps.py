#!/usr/bin/python3
"""The CONNECT relay's caps hold for the whole daemon, not per worker
(convergence.proxy_max_tunnels = 4 and ..._per_ip = 3 here, 2 http
workers).  Tunnels are put on a chosen worker by stopping the other one
(SIGSTOP) while connecting, and /proc tells which worker holds each
connection.  Checked: 3 tunnels from one address over both workers, the
4th from it refused; a 4th from another address taken, the 5th refused
(total); after a close a new one is taken; after SIGKILL of a worker
holding tunnels, their places come back once the master reaps it.  A
refused connection is closed at once, without a byte.  The tunnels go to
a TCP echo server on 127.0.0.1:4242 when that port can be had; otherwise
the connections are held before their CONNECT line (they count from the
accept either way)."""
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import (Daemon, Tap, fixed_port_lock, free_port,  # noqa: E402
                    wait_until)

t = Tap()
rport = free_port()
d = Daemon(workers=2)
d.write_conf(text=d.base_yaml().replace(
    "http:\n", "http:\n  request_timeout: 60s\n", 1) +
    "scanner:\n  allow: [127.0.0.0/8]\n"
    "convergence:\n  proxy_listen: [\"127.0.0.1:%d\"]\n"
    "  proxy_max_tunnels: 4\n  proxy_max_tunnels_per_ip: 3\n"
    "  proxy_idle_timeout: 60s\n" % rport)


class Echo:
    """A TCP echo server on 127.0.0.1:4242, or None when it is taken."""

    def __init__(self):
        self.s = socket.socket()
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind(("127.0.0.1", 4242))
        self.s.listen(64)
        self.s.settimeout(0.5)
        self.stop = False
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()

    def run(self):
        while not self.stop:
            try:
                c, _ = self.s.accept()
            except OSError:
                continue
            threading.Thread(target=self.serve, args=(c,),
                             daemon=True).start()

    def serve(self, c):
        c.settimeout(120)
        try:
            while True:
                b = c.recv(4096)
                if not b:
                    break
                c.sendall(b)
        except OSError:
            pass
        c.close()

    def close(self):
        self.stop = True
        self.s.close()


# 4242 is shared with test_convergence (its second TLS port), which
# waits for this lock: do not wait for it here.
lock4242 = fixed_port_lock(4242)
try:
    echo = Echo() if lock4242 is not None else None
except OSError:
    echo = None


def tunnel(src):
    """A relay connection from address src: (socket, True) when it is
    held (a tunnel up, or a connection waiting for its request), (None,
    False) when the relay closed it at once."""
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(2)
    s.connect(("127.0.0.1", rport))
    try:
        if echo is not None:
            s.sendall(b"CONNECT 127.0.0.1:4242 HTTP/1.1\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                c = s.recv(1)
                if not c:
                    break
                head += c
            if head.startswith(b"HTTP/1.0 200 Connection Established"):
                s.sendall(b"ping")
                if s.recv(4) == b"ping":
                    return s, True
            s.close()
            return None, False
        # Without a CONNECT: held once a worker has accepted it (its
        # socket among a worker's descriptors, however long the accept
        # takes here) and not closed it right after, as a refusal does.
        s.settimeout(0.05)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            try:
                if s.recv(1) == b"":
                    s.close()
                    return None, False
            except socket.timeout:
                pass
            if owner(s, d.role_pids("http")) is not None:
                break
        s.settimeout(0.4)
        if s.recv(1) == b"":
            s.close()
            return None, False
    except socket.timeout:
        return s, True          # still open, nothing sent: held
    except OSError:
        pass
    s.close()
    return None, False


def inode_of(sock):
    """The server-side socket inode of our connection to the relay."""
    cport = sock.getsockname()[1]
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            p = line.split()
            lport = int(p[1].split(":")[1], 16)
            rp = int(p[2].split(":")[1], 16)
            if lport == rport and rp == cport:
                return p[9]
    return None


def owner(sock, workers):
    ino = inode_of(sock)
    for w in workers:
        try:
            for fd in os.listdir("/proc/%d/fd" % w):
                if os.readlink("/proc/%d/fd/%s" % (w, fd)) == \
                        "socket:[%s]" % ino:
                    return w
        except OSError:
            pass
    return None


def on_worker(w, other, src):
    """A tunnel accepted by worker w: the other one is stopped meanwhile."""
    os.kill(other, signal.SIGSTOP)
    try:
        return tunnel(src)
    finally:
        os.kill(other, signal.SIGCONT)


held = []
try:
    d.start()
    print("# tunnels %s" % ("to an echo server on 4242" if echo else
                            "held before CONNECT (4242 is taken)"))
    workers = d.role_pids("http")
    t.eq(len(workers), 2, "2 http workers")
    a, b = workers
    # Per address: 3 from 127.0.0.1 over both workers, the 4th refused.
    for w, o in ((a, b), (a, b), (b, a)):
        s, ok = on_worker(w, o, "127.0.0.1")
        if ok:
            held.append(s)
    owners = [owner(s, workers) for s in held]
    t.ok(len(held) == 3 and owners.count(a) == 2 and owners.count(b) == 1,
         "3 tunnels from one address, 2 on worker A and 1 on worker B",
         owners)
    r = [tunnel("127.0.0.1")[1] for _ in range(2)] + \
        [on_worker(a, b, "127.0.0.1")[1], on_worker(b, a, "127.0.0.1")[1]]
    t.eq(r, [False] * 4, "a 4th from that address is refused, on either "
         "worker (proxy_max_tunnels_per_ip 3 for the whole daemon)")
    # Total: a 4th from another address fits, a 5th does not.
    s, ok = on_worker(b, a, "127.0.0.2")
    t.ok(ok, "another address: the 4th tunnel is taken")
    if ok:
        held.append(s)
    r = [tunnel("127.0.0.3")[1] for _ in range(2)] + \
        [on_worker(a, b, "127.0.0.4")[1], on_worker(b, a, "127.0.0.5")[1]]
    t.eq(r, [False] * 4, "a 5th from any address is refused, on either "
         "worker (proxy_max_tunnels 4 for the whole daemon)")
    # (identical log lines within a second are suppressed: at least one)
    t.ok(wait_until(lambda: "relay: a tunnel over the limits refused" in
                    d.logtext(), 3), "refusals are logged (debug)")
    # Closing one frees its place at once, for any worker.
    held.pop(0).close()
    s = wait_until(lambda: tunnel("127.0.0.3")[0], 3, 0.1)
    t.ok(s is not None, "after a close, a new tunnel is taken")
    if s is not None:
        held.append(s)
    t.eq(tunnel("127.0.0.3")[1], False, "and the next is refused again")
    # SIGKILL the worker that holds the most tunnels.
    owners = [owner(x, workers) for x in held]
    victim = max(workers, key=owners.count)
    n = owners.count(victim)
    os.kill(victim, signal.SIGKILL)
    t0 = time.monotonic()
    got = []
    while len(got) < n and time.monotonic() - t0 < 10:
        s, ok = tunnel("127.0.0.%d" % (10 + len(got)))
        if ok:
            got.append(s)
        else:
            time.sleep(0.1)
    el = time.monotonic() - t0
    held.extend(got)
    t.ok(len(got) == n, "after SIGKILL of a worker holding %d tunnels, %d "
         "new ones are taken (%.1f s)" % (n, len(got), el))
    t.eq(tunnel("127.0.0.40")[1], False, "and no more: the killed "
         "worker's places came back, nothing else")
    t.ok(wait_until(lambda: len(d.role_pids("http")) == 2, 10),
         "the master respawned the worker")
finally:
    for s in held:
        s.close()
    for w in d.role_pids("http"):
        try:
            os.kill(w, signal.SIGCONT)
        except OSError:
            pass
    if echo is not None:
        echo.close()
    d.cleanup()
t.done()
