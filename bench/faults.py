#!/usr/bin/python3
"""faults.py - load and fault runs against the real daemon (issue 11), too
slow for "make check": run by "make bench-faults" or by hand as
    NOTARYD=b/notaryd NOTARYD_SRCDIR=. bench/faults.py [part ...]
Parts (all by default):
  slowloris  5,000 idle or slowly dripping connections while a normal client
             asks /healthz every 100 ms on fresh connections; figures: the
             slowest answer (the target is < 1 s), connections held, the
             tree's RSS and PSS (master + children) before, with the
             attackers connected, and after they left.
  kill       SIGKILL of each role x10 under keep-alive load (/healthz and a
             Perspectives query through the signer), each kill once the
             previous victim's slot is back and the tree healthy (the
             master's back-off doubles with every crash of a slot, so this
             takes minutes); figures per role: transport errors (failed
             connect, reset, EOF, timeout), 5xx answers (a database user's
             death stops every database user for recovery: the signer
             answers 503 meanwhile) and how many client connections the
             killed http workers held.
  import     SIGKILL of notaryctl import and of the whole daemon tree in
             the middle of a large import, x N; before each kill a small
             import finished (exit 0: acknowledged).  After the restart
             (database recovery) every acknowledged span must be in
             notaryctl export.
  ctlog      ctwatch against hostile CT logs (bench/faults_ctlog.py: one
             log per failure kind next to two healthy ones, about a
             minute); figures: ctwatch's RSS, the healthy logs' catch-up
             time, per hostile log its positions, counters and back-off.
Output is TAP (the checks are what must hold whatever the machine's speed:
no timed assertion) with the figures as "# " lines.  Loopback only; every
loop is bounded in count and time.
"""
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "integration"))
from ndtest import (NOTARYD, Daemon, Tap, get, pid_alive,  # noqa: E402
                    read_response, wait_until)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults_ctlog  # noqa: E402

NOTARYCTL = os.path.join(os.path.dirname(NOTARYD), "notaryctl")
SLOW_CONNS = int(os.environ.get("FAULTS_SLOW_CONNS", "5000"))
SLOW_HOLD = 15.0            # seconds the attackers stay connected
KILLS = int(os.environ.get("FAULTS_KILLS", "10"))
LOAD_CLIENTS = 8
IMPORT_ROUNDS = int(os.environ.get("FAULTS_IMPORT_ROUNDS", "10"))
BIG_IMPORT = 100000         # tuples in the import that gets killed
SCAN_ROUNDS = int(os.environ.get("FAULTS_SCAN_ROUNDS", "10"))
QUERY = "/?host=unknown.example&port=22&service_type=1"

t = Tap()


def note(msg):
    print("# " + msg, flush=True)


def tree_pids(d):
    m = d.master_pid()
    return ([m] + sorted(d.children())) if m else []


def tree_memory(d):
    """(RSS kB, PSS kB) summed over the master and its children."""
    rss = pss = 0
    for pid in tree_pids(d):
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return rss, pss


def socket_fds(pid):
    n = 0
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith(
                        "socket:"):
                    n += 1
            except OSError:
                continue
    except OSError:
        pass
    return n


# ---- slowloris --------------------------------------------------------------

def open_attackers(port, n, deadline):
    """n connections: even ones idle, odd ones with a partial request."""
    socks = []
    for i in range(n):
        if time.monotonic() > deadline:
            break
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if i % 2:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            s.setblocking(False)
            socks.append(s)
        except OSError:
            break
    return socks


def drip(socks, stop):
    """Every 2 s, one more header byte on each slow connection."""
    while not stop.wait(2.0):
        for s in socks[1::2]:
            try:
                s.send(b"X")
            except OSError:
                pass


def alive_count(socks):
    n = 0
    for s in socks:
        try:
            if s.recv(1, socket.MSG_PEEK) == b"":
                continue
        except BlockingIOError:
            pass
        except OSError:
            continue
        n += 1
    return n


def part_slowloris():
    d = Daemon(workers=2, extra_yaml="")
    d.write_conf(text=d.base_yaml().replace(
        "  workers: 2\n", "  workers: 2\n  max_connections: 10000\n"
        "  request_timeout: 1m\n  keepalive_timeout: 1m\n"))
    try:
        d.start()
        time.sleep(1.0)
        before = tree_memory(d)
        stop = threading.Event()
        lat = []

        def prober():
            while not stop.is_set():
                t0 = time.monotonic()
                r = get(d.port, "/healthz", timeout=5)
                lat.append((time.monotonic() - t0) if r and r[0] == 200
                           else None)
                stop.wait(0.1)
        pt = threading.Thread(target=prober, daemon=True)
        pt.start()
        t0 = time.monotonic()
        socks = open_attackers(d.port, SLOW_CONNS, t0 + 60)
        opened = time.monotonic() - t0
        dt = threading.Thread(target=drip, args=(socks, stop), daemon=True)
        dt.start()
        time.sleep(SLOW_HOLD)
        during = tree_memory(d)
        held = alive_count(socks)
        stop.set()
        pt.join(10)
        dt.join(10)
        for s in socks:
            s.close()
        time.sleep(2.0)
        after = tree_memory(d)
        ok = [x for x in lat if x is not None]
        note("slowloris: %d connections opened in %.1f s, %d still held "
             "after %.0f s" % (len(socks), opened, held, SLOW_HOLD))
        note("slowloris: normal client %d answers, %d failures, slowest "
             "%.3f s, median %.3f s" % (len(ok), len(lat) - len(ok),
                                        max(ok) if ok else -1,
                                        sorted(ok)[len(ok) // 2] if ok
                                        else -1))
        note("slowloris: tree memory kB RSS/PSS before %d/%d, with the "
             "attackers %d/%d, after %d/%d" % (before + during + after))
        t.eq(len(socks), SLOW_CONNS, "%d attacker connections accepted"
             % SLOW_CONNS)
        t.ok(len(ok) > 0 and len(ok) == len(lat),
             "the normal client was answered every time (%d)" % len(lat))
        t.ok(pid_alive(d.master_pid()) and d.wait_healthy(5),
             "healthy after the attackers left")
    finally:
        d.stop()
        d.cleanup()


# ---- kill each role under keep-alive load -----------------------------------

class Loader(threading.Thread):
    """One keep-alive connection asking path in a loop.  A failed connect,
    a reset, an early EOF or a timeout is a transport error (then the
    client reconnects); a 5xx answer is counted apart."""

    def __init__(self, port, path):
        super().__init__(daemon=True)
        self.port, self.path = port, path
        self.stop = threading.Event()
        self.answers = self.errors = self.fivexx = 0
        self.kinds = {}
        self.lock = threading.Lock()

    def count(self, r, kind=None):
        with self.lock:
            if r is None:
                self.errors += 1
                self.kinds[kind] = self.kinds.get(kind, 0) + 1
            elif r[0] >= 500:
                self.fivexx += 1
            else:
                self.answers += 1

    def run(self):
        s = None
        req = ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % self.path).encode()
        while not self.stop.is_set():
            if s is None:
                try:
                    s = socket.create_connection(("127.0.0.1", self.port),
                                                 timeout=3)
                except OSError:
                    self.count(None, "connect")
                    self.stop.wait(0.05)
                    continue
            kind = "eof"
            try:
                s.sendall(req)
                r = read_response(s, 3)
            except socket.timeout:
                r, kind = None, "timeout"
            except OSError as e:
                r, kind = None, type(e).__name__
            self.count(r, kind)
            # an answer with "Connection: close" (a 503 does) ends the
            # connection as announced: not an error, reconnect
            if r is None or r[1].get("connection", "") == "close":
                s.close()
                s = None
            self.stop.wait(0.01)
        if s is not None:
            s.close()

    def take(self):
        with self.lock:
            v = (self.answers, self.errors, self.fivexx)
            self.answers = self.errors = self.fivexx = 0
        return v


def role_slots(d, role):
    """{comm ("http#0"): pid} of one role."""
    return {c: p for p, c in d.children().items()
            if c.split("#")[0] == role}


def kill_role(d, role, k, loaders):
    """SIGKILL slot k of role, wait until the slot is back and the tree is
    healthy (the master's back-off grows with each crash of a slot).
    Returns (replaced, victim's sockets, answers, errors, 5xx)."""
    slots = role_slots(d, role)
    if not slots:
        return 0, 0, 0, 0, 0
    comm = sorted(slots)[k % len(slots)]
    victim = slots[comm]
    held = max(0, socket_fds(victim) - 1) if role == "http" else 0
    os.kill(victim, signal.SIGKILL)
    back = wait_until(lambda: role_slots(d, role).get(comm, victim) != victim,
                      70, 0.05)
    healthy = d.wait_healthy(70)
    time.sleep(0.3)
    tot = [0, 0, 0]
    for ld in loaders:
        for i, v in enumerate(ld.take()):
            tot[i] += v
    return 1 if back and healthy else 0, held, tot[0], tot[1], tot[2]


def kill_one_role(role):
    """A fresh daemon per role: every crash of a database user (signer,
    scanner, ctwatch) runs a recovery, and more than RECOVERY_MAX (10) in
    10 minutes make the master give up on purpose."""
    d = Daemon(workers=2, extra_yaml="signer:\n  processes: 2\n"
               "scanner:\n  processes: 2\n")
    loaders = []
    try:
        d.start()
        for i in range(LOAD_CLIENTS):
            ld = Loader(d.port, "/healthz" if i % 2 == 0 else QUERY)
            ld.start()
            loaders.append(ld)
        time.sleep(1.0)
        for ld in loaders:
            ld.take()
        t0 = time.monotonic()
        tot = [0, 0, 0, 0, 0]
        for k in range(KILLS):
            for i, v in enumerate(kill_role(d, role, k, loaders)):
                tot[i] += v
        replaced, held, answers, errors, fivexx = tot
        kinds = {}
        for ld in loaders:
            for k, v in ld.kinds.items():
                kinds[k] = kinds.get(k, 0) + v
        note("kill %s x%d in %.0f s: %d answers, %d transport errors %s, "
             "%d 5xx answers; the killed processes held %d client "
             "sockets" % (role, KILLS, time.monotonic() - t0, answers,
                          errors, kinds or "", fivexx, held))
        t.eq(replaced, KILLS, "%s killed %d times, replaced each time"
             % (role, KILLS))
        if role == "http":
            t.ok(errors <= held,
                 "http kills: transport errors (%d) within the killed "
                 "workers' own connections (%d)" % (errors, held))
        else:
            t.ok(errors == 0 and answers > 0, "%s kills: no client "
                 "connection broken (%d transport errors)" %
                 (role, errors))
        t.ok(d.wait_healthy(5), "healthy after %d kills of %s" %
             (KILLS, role))
    finally:
        for ld in loaders:
            ld.stop.set()
        for ld in loaders:
            ld.join(5)
        d.stop()
        d.cleanup()


def part_kill():
    for role in ("http", "signer", "scanner", "ctwatch"):
        kill_one_role(role)


# ---- kill the tree during notaryctl import ------------------------------------

def fp(n):
    return ":".join("%02x" % ((n >> (8 * (i % 4))) & 0xff) for i in range(16))


def write_import(path, prefix, n, base):
    with open(path, "w") as f:
        for i in range(n):
            f.write("(%s%d.example:443,2, %s, %d, %d)\n" %
                    (prefix, i, fp(base + i), 1300000000 + i,
                     1300000000 + i + 86400))


def kill_tree(d, extra=()):
    pids = tree_pids(d) + list(extra)
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if d.proc is not None:
        try:
            d.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
    wait_until(lambda: not any(pid_alive(p) for p in pids), 10)


def part_import():
    d = Daemon(workers=1)
    acked = set()
    big = os.path.join(d.dir, "big.txt")
    write_import(big, "big", BIG_IMPORT, 1 << 20)
    try:
        d.start()
        restarts = 0
        for rnd in range(IMPORT_ROUNDS):
            small = os.path.join(d.dir, "small%d.txt" % rnd)
            write_import(small, "r%d-" % rnd, 200, rnd * 1000)
            p = subprocess.run([NOTARYCTL, "-c", d.conf, "import", small],
                               capture_output=True, text=True, timeout=120)
            if p.returncode == 0:
                with open(small) as f:
                    acked.update(line.strip() for line in f)
            else:
                note("import round %d: exit %d: %s" %
                     (rnd, p.returncode, p.stderr.strip()[:200]))
            bg = subprocess.Popen([NOTARYCTL, "-c", d.conf, "import", big],
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
            time.sleep(random.uniform(0.2, 2.0))
            kill_tree(d, [bg.pid])
            bg.wait(10)
            d.proc = None
            d.start()
            restarts += 1
        d.stop()
        p = subprocess.run([NOTARYCTL, "-c", d.conf, "export"],
                           capture_output=True, text=True, timeout=300)
        got = set(line.strip() for line in p.stdout.splitlines())
        missing = acked - got
        partial = sum(1 for line in got if line.startswith("(big"))
        note("import: %d rounds, %d acknowledged spans, %d missing after "
             "%d kills of the tree and of notaryctl; %d of the %d spans of "
             "the killed imports had been committed" %
             (IMPORT_ROUNDS, len(acked), len(missing), restarts, partial,
              BIG_IMPORT))
        t.eq(restarts, IMPORT_ROUNDS, "the daemon restarted after each kill")
        t.ok(p.returncode == 0, "export after the last restart", p.stderr)
        t.ok(len(acked) > 0 and not missing,
             "every acknowledged span is present (%d)" % len(acked),
             "\n".join(sorted(missing)[:10]))
    finally:
        d.cleanup()


# ---- kill the tree during scanning -------------------------------------------

def make_cert(dirname):
    key, crt = (os.path.join(dirname, "tls.key"),
                os.path.join(dirname, "tls.pem"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "2", "-subj", "/CN=faults"],
                   capture_output=True, check=True)
    return key, crt


def tls_servers(n, key, crt):
    """n openssl s_server processes on fresh loopback ports."""
    out = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        p = subprocess.Popen(["openssl", "s_server", "-accept",
                              "127.0.0.1:%d" % port, "-key", key, "-cert",
                              crt, "-www", "-quiet"],
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        out.append((port, p))
    for port, _ in out:
        wait_until(lambda: port_open(port), 10)
    return out


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


def svc_query(port):
    return "/?host=127.0.0.1&port=%d&service_type=2" % port


def part_scan():
    """Per round: two services probed until their signed reply is served
    (acknowledged), two more probes asked for, then SIGKILL of the tree
    0..0.5 s later and a restart.  Every acknowledged reply must still be
    served (from the database) at the end."""
    d = Daemon(workers=1)
    d.write_conf(text=d.base_yaml() + "scanner:\n  allow: [127.0.0.0/8]\n"
                 "  timeout: 3s\n  on_demand_limit: 100\n"
                 "  rescan_interval: 0\n")
    key, crt = make_cert(d.dir)
    acked, procs, restarts = [], [], 0
    try:
        d.start()
        for rnd in range(SCAN_ROUNDS):
            srv = tls_servers(4, key, crt)
            procs += [p for _, p in srv]
            for port, _ in srv[:2]:
                get(d.port, svc_query(port), timeout=3)
            for port, _ in srv[:2]:
                r = wait_until(lambda: (lambda x: x is not None and
                                        x[0] == 200)(
                    get(d.port, svc_query(port), timeout=3)), 10, 0.2)
                if r:
                    acked.append(port)
            for port, _ in srv[2:]:
                get(d.port, svc_query(port), timeout=3)
            time.sleep(random.uniform(0.0, 0.5))
            kill_tree(d)
            d.proc = None
            d.start()
            restarts += 1
            for _, p in srv:
                p.terminate()
                p.wait(5)
        lost = [p for p in acked
                if (lambda x: x is None or x[0] != 200)(
                    get(d.port, svc_query(p), timeout=5))]
        note("scan: %d rounds, %d acknowledged replies, %d lost after %d "
             "kills of the tree" % (SCAN_ROUNDS, len(acked), len(lost),
                                    restarts))
        t.eq(restarts, SCAN_ROUNDS, "the daemon restarted after each kill")
        t.ok(len(acked) >= SCAN_ROUNDS, "probes were acknowledged (%d)"
             % len(acked))
        t.ok(not lost, "every acknowledged reply is still served",
             "lost ports: %s" % lost)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(5)
        d.stop()
        d.cleanup()


def part_ctlog():
    faults_ctlog.part_ctlog(t, note)


PARTS = {"slowloris": part_slowloris, "kill": part_kill,
         "import": part_import, "scan": part_scan, "ctlog": part_ctlog}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(PARTS):
        if name not in PARTS:
            sys.exit("faults.py: unknown part %s (%s)" %
                     (name, " ".join(PARTS)))
        t0 = time.monotonic()
        PARTS[name]()
        note("%s: %.0f s" % (name, time.monotonic() - t0))
    t.done()
