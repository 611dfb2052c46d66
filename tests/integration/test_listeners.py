"""http.listen at and past its maximum (CONF_LISTEN_MAX, 64): notaryd -t
and the daemon agree.  64 listeners: both accept, and every one of them
answers; 65 and 1,000: -t refuses naming the maximum, and the daemon
refuses to start with exit 2 and the same message."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import NOTARYD, Daemon, Tap, get  # noqa: E402

MAX = 64
t = Tap()


def listen_yaml(ports):
    return "[%s]" % ", ".join('"127.0.0.1:%d"' % p for p in ports)


def distinct_ports(n, avoid):
    """n loopback ports that are free now, none of them in avoid."""
    import socket
    socks, ports = [], []
    try:
        while len(ports) < n:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
            socks.append(s)
            if p not in avoid:
                ports.append(p)
    finally:
        for s in socks:
            s.close()
    return ports


for n in (MAX, MAX + 1, 1000):
    d = Daemon(workers=1)
    try:
        ports = [d.port] + distinct_ports(n - 1, {d.port})
        d.write_conf(text=d.base_yaml().replace(
            '["127.0.0.1:%d"]' % d.port, listen_yaml(ports)))
        chk = subprocess.run([NOTARYD, "-t", "-c", d.conf],
                             capture_output=True, text=True, timeout=30)
        if n <= MAX:
            t.eq(chk.returncode, 0, "%d listeners: -t accepts" % n)
            d.start()
            first = get(ports[0], "/healthz")
            last = get(ports[-1], "/healthz")
            t.ok(first is not None and first[0] == 200 and
                 last is not None and last[0] == 200,
                 "%d listeners: the first and the last answer" % n,
                 d.logtext()[-2000:])
            answered = sum(1 for p in ports
                           if (get(p, "/healthz") or (0,))[0] == 200)
            t.eq(answered, n, "%d listeners: every one answers" % n)
            t.eq(d.stop(), 0, "%d listeners: clean stop" % n)
        else:
            t.eq(chk.returncode, 1, "%d listeners: -t refuses" % n)
            t.ok("http.listen: at most %d entries, got %d" % (MAX, n)
                 in chk.stderr,
                 "%d listeners: -t names the maximum" % n, chk.stderr)
            run = subprocess.run([NOTARYD, "-f", "-c", d.conf],
                                 capture_output=True, text=True, timeout=30)
            t.eq(run.returncode, 2,
                 "%d listeners: the daemon refuses to start (exit 2)" % n)
            t.ok("at most %d entries" % MAX in run.stderr,
                 "%d listeners: the daemon says why" % n, run.stderr)
    finally:
        d.cleanup()
t.done()
