"""ndtest - harness for notaryd integration tests.

Runs the real notaryd binary (path in $NOTARYD, default ./notaryd) on
127.0.0.1 with a temporary data_dir and config, and reports in TAP so that
automake's tap-driver counts every check.  Only loopback is used; every
wait is bounded.
"""
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

NOTARYD = os.environ.get("NOTARYD", os.path.abspath("notaryd"))
NOTARYCTL = os.path.join(os.path.dirname(NOTARYD), "notaryctl")
SRCDIR = os.environ.get("NOTARYD_SRCDIR", os.getcwd())


class Tap:
    """Minimal TAP producer: ok/not ok lines, plan at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        if cond:
            print("ok %d - %s" % (self.n, name), flush=True)
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.n, name), flush=True)
            if diag:
                for line in str(diag).splitlines()[-40:]:
                    print("# " + line, flush=True)
        return cond

    def eq(self, got, want, name):
        return self.ok(got == want, name, "got %r, want %r" % (got, want))

    def done(self):
        print("1..%d" % self.n, flush=True)
        sys.exit(1 if self.failed else 0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fixed_port_lock(port, wait=0.0):
    """Hold a fixed port (e.g. Convergence's 4242) against the other tests
    of this machine, which `make check -j` runs alongside: an exclusive
    flock on a file named after the port, kept until the returned file is
    closed or the process ends.  None when another test holds it for more
    than wait seconds.  The port itself may still be taken by something
    else: the caller checks that too."""
    f = open(os.path.join(tempfile.gettempdir(),
                          "notaryd-tests-port-%d.lock" % port), "a")
    end = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return f
        except OSError:
            if time.monotonic() >= end:
                f.close()
                return None
            time.sleep(0.1)


def ct_positions(d, timeout=60):
    """{log URL: next index} as `notaryctl ct-positions` prints them."""
    p = subprocess.run([NOTARYCTL, "-c", d.conf, "ct-positions"],
                       capture_output=True, text=True, timeout=timeout)
    out = {}
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) == 3 and f[1].isdigit():
            out[f[0]] = int(f[1])
    return out


def rss_kb(pid):
    """The resident size of process pid in kB (0 once it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_until(pred, timeout=10.0, step=0.02):
    """Poll pred() until it returns a true value or timeout; return it."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


def tcp_sockets():
    """Every IPv4 TCP socket of the machine from /proc/net/tcp, as
    (local port, remote port, state, unread bytes); for a listening
    socket (state 0x0A) the last is its queue of connections not yet
    accepted."""
    rows = []
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            x = line.split()
            rows.append((int(x[1].split(":")[1], 16),
                         int(x[2].split(":")[1], 16), int(x[3], 16),
                         int(x[4].split(":")[1], 16)))
    return rows


def server_took_all(port, socks, timeout=60.0):
    """Wait until the server listening on 127.0.0.1:port has accepted
    each client socket in socks and read every byte sent on it (asked of
    the kernel: no connection queued on the listener, nothing unread on
    the server's side of each).  True, or False after timeout."""
    want = {s.getsockname()[1] for s in socks}

    def done():
        queued, unread = 0, {}
        for lport, rport, state, rxq in tcp_sockets():
            if lport != port:
                continue
            if state == 0x0A:
                queued += rxq
            elif rport in want:
                unread[rport] = rxq
        return (queued == 0 and len(unread) == len(want) and
                not any(unread.values()))
    return wait_until(done, timeout, step=0.05)


def http_raw(port, data, timeout=5.0, read_all=True):
    """Send raw bytes, return everything the server sent until it closed
    (or until timeout)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        chunks = []
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
            if not read_all:
                break
        return b"".join(chunks)
    finally:
        s.close()


def read_response(sock, timeout=5.0):
    """Read one HTTP response (headers + Content-Length body) from sock.
    Returns (status, headers dict lowercased, body) or None on EOF."""
    sock.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = sock.recv(65536)
        if not b:
            return None
        buf += b
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        b = sock.recv(65536)
        if not b:
            break
        rest += b
    return status, headers, rest[:n]


def get(port, path, method="GET", timeout=5.0, headers=None):
    """One request on a fresh connection: (status, headers, body) or None."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError:
        return None
    try:
        extra = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
        s.sendall(("%s %s HTTP/1.1\r\nHost: localhost\r\n%s"
                   "Connection: close\r\n\r\n" % (method, path, extra))
                  .encode())
        return read_response(s, timeout)
    except OSError:
        return None
    finally:
        s.close()


class TLSServer:
    """openssl s_server -www on 127.0.0.1:port with key and crt (extra:
    more s_server arguments), up when its port accepts."""

    def __init__(self, port, key, crt, extra=()):
        self.p = subprocess.Popen(
            ["openssl", "s_server", "-accept", "127.0.0.1:%d" % port,
             "-key", key, "-cert", crt, "-www", "-quiet"] + list(extra),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)

        def up():
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return True
            except OSError:
                return False
        wait_until(up, 10)

    def stop(self):
        self.p.terminate()
        self.p.wait(5)


def proc_children(pid):
    """Direct children of pid: {child_pid: comm}."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
            ppid = int(st.rsplit(")", 1)[1].split()[1])
            if ppid != pid:
                continue
            with open("/proc/%s/comm" % d) as f:
                out[int(d)] = f.read().strip()
        except (OSError, ValueError, IndexError):
            continue
    return out


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        return st.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Daemon:
    """A notaryd under test: temp dir, config file, log file, port."""

    def __init__(self, extra_yaml="", workers=2, args=None, env=None,
                 ctwatch=None):
        self.dir = tempfile.mkdtemp(prefix="notaryd-test-")
        self.port = free_port()
        self.log = os.path.join(self.dir, "notaryd.log")
        self.conf = os.path.join(self.dir, "notaryd.yaml")
        self.data_dir = os.path.join(self.dir, "var")
        self.workers = workers
        # The ctwatch section: by default no log list at all, so that no
        # test ever asks the network for the built-in (Google) list.
        self.ctwatch = ctwatch if ctwatch is not None else "  log_list: []\n"
        self.args = args or []
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.proc = None
        self.write_conf(extra_yaml)

    def base_yaml(self):
        return ("daemon:\n  data_dir: %s\n  stop_timeout: 3s\n"
                "log:\n  level: debug\n  target: %s\n"
                "http:\n  listen: [\"127.0.0.1:%d\"]\n  workers: %d\n"
                "cache:\n  size: 4M\n"
                "stream:\n  ring_size: 1M\n"
                "database:\n  cache_size: 4M\n"
                "ctwatch:\n%s"
                % (self.data_dir, self.log, self.port, self.workers,
                   self.ctwatch))

    def write_conf(self, extra_yaml="", text=None):
        with open(self.conf, "w") as f:
            f.write(text if text is not None else
                    self.base_yaml() + extra_yaml)

    def start(self, foreground=True, wait=True):
        cmd = [NOTARYD, "-c", self.conf] + self.args
        if foreground:
            cmd.insert(1, "-f")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=self.env)
        if wait and foreground:
            if not self.wait_healthy(60):
                raise RuntimeError("daemon not healthy:\n" + self.logtext())
        return self.proc

    def master_pid(self):
        if self.proc is not None and self.proc.poll() is None:
            return self.proc.pid
        try:
            with open(os.path.join(self.data_dir, "notaryd.lock")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def health(self, timeout=2.0):
        r = get(self.port, "/healthz", timeout=timeout)
        if r is None:
            return None
        try:
            return r[0], json.loads(r[2])
        except ValueError:
            return r[0], None

    def wait_healthy(self, timeout=10.0):
        def ok():
            h = self.health()
            return h is not None and h[0] == 200
        return wait_until(ok, timeout)

    def children(self):
        pid = self.master_pid()
        return proc_children(pid) if pid else {}

    def role_pids(self, role):
        return sorted(p for p, comm in self.children().items()
                      if comm.split("#")[0] == role)

    def signal(self, sig):
        os.kill(self.master_pid(), sig)

    def logtext(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, timeout=15.0):
        """SIGTERM the master; return its exit status (or None)."""
        pid = self.master_pid()
        if pid is None:
            return None
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if self.proc is not None and self.proc.pid == pid:
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return None
        wait_until(lambda: not pid_alive(pid), timeout)
        return 0 if not pid_alive(pid) else None

    def cleanup(self):
        pid = self.master_pid()
        if pid and pid_alive(pid):
            kids = self.children()
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            for k in kids:
                try:
                    os.kill(k, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.proc is not None:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            for s in (self.proc.stdout, self.proc.stderr):
                if s:
                    s.close()
        shutil.rmtree(self.dir, ignore_errors=True)
