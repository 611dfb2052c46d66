"""SIGHUP reload with a good file (new generation, workers replaced without
dropping established connections) and with a broken file (old config
kept, errors logged); SIGUSR1 reopens the log; SIGQUIT stops gracefully."""
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import (Daemon, Tap, get, pid_alive, read_response,  # noqa
                    server_took_all, wait_until)

t = Tap()
d = Daemon(workers=2)


def gen():
    h = d.health()
    return h[1]["generation"] if h and h[1] else None


try:
    d.start()
    t.eq(gen(), 0, "generation 0 at start")
    old_http = d.role_pids("http")

    # An established keep-alive connection and a half-sent request.
    ka = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    ka.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    first = read_response(ka)
    half = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    half.sendall(b"GET /index HTTP/1.1\r\nHost: x\r\n")
    # an old worker has it (accepted, its bytes read) before the reload
    t.ok(server_took_all(d.port, [half]),
         "the half-sent request is in an old worker before the reload")

    d.write_conf(text=d.base_yaml().replace("  workers: 2\n", "  workers: 3\n"))
    d.signal(signal.SIGHUP)
    def reloaded():
        h = d.health()
        return (h and h[0] == 200 and h[1]["generation"] == 1 and
                h[1]["roles"]["http"]["ready"] == 3)
    ok = wait_until(reloaded, 30)
    t.ok(ok, "good reload: generation 1 with 3 http workers",
         d.logtext()[-2000:])
    half.sendall(b"\r\n")
    r = read_response(half)
    t.ok(r is not None and r[0] == 200,
         "a request in progress across the reload is answered")
    ka.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    r2 = read_response(ka)
    t.ok(first and r2 and r2[0] == 200 and
         r2[1]["connection"] == "close",
         "established keep-alive connection gets its answer "
         "(then Connection: close)")
    half.close()
    ka.close()
    t.ok(wait_until(lambda: not any(pid_alive(p) for p in old_http), 30),
         "old workers exit once their connections are done")

    # A broken file keeps the running config.
    d.write_conf(text=d.base_yaml() + "scanner:\n  timeout: ten\n")
    d.signal(signal.SIGHUP)
    ok = wait_until(lambda: "keeping the running configuration"
                    in d.logtext(), 30)
    t.ok(ok, "broken reload is logged and refused")
    t.ok("notaryd.yaml:" in d.logtext() and "scanner.timeout" in
         d.logtext(), "the log names the file, line and key")
    time.sleep(0.5)
    t.eq(gen(), 1, "generation unchanged after a broken reload")
    t.eq(d.health()[1]["roles"]["http"]["ready"], 3, "workers untouched")

    # Keys that need a restart keep their running values.
    d.write_conf(text=d.base_yaml().replace("  workers: 2\n", "  workers: 3\n")
                 .replace("cache:\n  size: 4M", "cache:\n  size: 8M"))
    d.signal(signal.SIGHUP)
    ok = wait_until(lambda: gen() == 2, 30)
    t.ok(ok and "cache.size cannot change without a restart" in d.logtext(),
         "restart-only key change is applied on reload with a warning",
         d.logtext()[-1500:])

    # SIGUSR1 reopens the log file.
    os.rename(d.log, d.log + ".1")
    d.signal(signal.SIGUSR1)
    ok = wait_until(lambda: os.path.exists(d.log) and
                    "log reopened" in open(d.log).read(), 30)
    t.ok(ok, "SIGUSR1: the master reopens its log file")
    get(d.port, "/nope")
    t.ok(wait_until(lambda: os.path.getsize(d.log) > 0, 2),
         "the new log file is in use")

    # SIGQUIT: graceful stop, exit 0.
    kids = list(d.children())
    d.signal(signal.SIGQUIT)
    try:
        rc = d.proc.wait(15)
    except Exception:
        rc = None
    t.eq(rc, 0, "SIGQUIT: graceful stop, exit 0")
    t.ok(not any(pid_alive(k) for k in kids), "SIGQUIT: no child left")
finally:
    d.cleanup()

# Daemon mode with a relative -c path and a relative data_dir: a reload
# reads the same file and resolves the same paths as the start did.
import subprocess  # noqa: E402
from ndtest import NOTARYD  # noqa: E402
d = Daemon(workers=1)
try:
    d.write_conf(text=d.base_yaml().replace(
        "data_dir: %s" % d.data_dir, "data_dir: ./var"))
    rc = subprocess.run([NOTARYD, "-c", "notaryd.yaml"], cwd=d.dir,
                        capture_output=True, timeout=30).returncode
    t.eq(rc, 0, "daemon mode with relative -c and data_dir starts")
    t.ok(os.path.isdir(os.path.join(d.dir, "var", "db")),
         "relative data_dir is resolved against the start directory")
    with open(d.conf) as f:
        text = f.read()
    d.write_conf(text=text.replace("  workers: 1\n", "  workers: 2\n"))
    d.signal(signal.SIGHUP)
    ok = wait_until(lambda: gen() == 1 and
                    d.health()[1]["roles"]["http"]["ready"] == 2, 30)
    t.ok(ok, "reload in daemon mode re-reads the relative -c file",
         d.logtext()[-1500:])
    t.ok("cannot change without a restart" not in d.logtext(),
         "no false data_dir change on reload")
    t.eq(d.stop(), 0, "stop")
finally:
    d.cleanup()
t.done()
