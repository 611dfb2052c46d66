"""notaryd command line: -v, -h, -t, bad configs (exit 2), daemon mode
with readiness, pidfile lock and second-instance refusal, clean SIGTERM."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import (NOTARYD, Daemon, Tap, get, pid_alive,  # noqa: E402
                    proc_children, wait_until)

t = Tap()


def run(args, timeout=30):
    p = subprocess.run([NOTARYD] + args, capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


rc, out, err = run(["-v"])
t.ok(rc == 0 and out.startswith("notaryd ") and out.strip().count(" ") == 1,
     "-v prints 'notaryd VERSION' and exits 0", out + err)
rc, out, err = run(["-h"])
t.ok(rc == 0 and "usage: notaryd" in out, "-h prints usage, exit 0")
rc, out, err = run(["-Z"])
t.eq(rc, 2, "unknown flag exits 2")
rc, out, err = run(["extra-arg"])
t.eq(rc, 2, "stray argument exits 2")

d = Daemon()
try:
    rc, out, err = run(["-t", "-c", d.conf])
    t.ok(rc == 0 and "notaryd: configuration ok" in out,
         "-t on a good file: 'configuration ok', exit 0", out + err)

    bad = os.path.join(d.dir, "bad.yaml")
    with open(bad, "w") as f:
        f.write("http:\n  workers: 2\nscanner:\n  timeout: ten\n")
    rc, out, err = run(["-t", "-c", bad])
    t.eq(rc, 1, "-t on a bad file exits 1")
    t.ok("bad.yaml:4:12: scanner.timeout:" in err,
         "-t error names file:line:column and key path", err)

    with open(bad, "w") as f:
        f.write("http:\n  wrokers: 2\n")
    rc, out, err = run(["-t", "-c", bad])
    t.ok(rc == 1 and "bad.yaml:2:3: http.wrokers:" in err and
         "unknown" in err, "unknown key is an error with its position", err)

    rc, out, err = run(["-f", "-c", bad])
    t.eq(rc, 2, "starting with a bad config exits 2")
    t.ok("http.wrokers" in err, "the start-up error names the key", err)

    rc, out, err = run(["-t", "-c", d.conf, "-o", "scanner.timeout=ten"])
    t.ok(rc == 1 and "-o scanner.timeout" in err,
         "bad -o override is reported as '-o KEY'", err)
    rc, out, err = run(["-t", "-c", d.conf, "-o", "novalue"])
    t.eq(rc, 2, "-o without '=' is a usage error (exit 2)")
    rc, out, err = run(["-t", "-c", os.path.join(d.dir, "missing.yaml")])
    t.ok(rc == 1 and "missing.yaml" in err,
         "-t on a missing file exits 1 naming it", err)

    # Daemon mode: the parent exits only once the daemon is ready.
    pidfile = os.path.join(d.dir, "notaryd.pid")
    d.write_conf("")
    with open(d.conf, "a") as f:
        f.write("")
    text = open(d.conf).read().replace(
        "  stop_timeout: 3s\n", "  stop_timeout: 3s\n  pidfile: %s\n" % pidfile)
    d.write_conf(text=text)
    t0 = time.monotonic()
    rc, out, err = run(["-c", d.conf])
    t.eq(rc, 0, "daemon mode: the parent exits 0 once ready")
    h = get(d.port, "/healthz")
    t.ok(h is not None and h[0] == 200,
         "daemon is answering /healthz as soon as the parent returned",
         d.logtext())
    pid = int(open(pidfile).read().strip()) if os.path.exists(pidfile) else 0
    t.ok(pid > 0 and pid_alive(pid), "pidfile holds the live master's pid")
    kids = proc_children(pid) if pid else {}
    roles = sorted(c.split("#")[0] for c in kids.values())
    t.eq(roles, ["ctwatch", "http", "http", "scanner", "signer"],
         "master runs 2 http workers, signer, scanner, ctwatch")

    d2conf = os.path.join(d.dir, "second.yaml")
    with open(d2conf, "w") as f:
        f.write(open(d.conf).read().replace(str(d.port), str(d.port + 1)
                                            if d.port < 65535 else "1"))
    rc, out, err = run(["-f", "-c", d2conf], timeout=20)
    t.ok(rc == 1 and ("pid %d" % pid) in err and "already running" in err,
         "a second instance on the same data_dir is refused, naming the pid",
         "rc=%d %s" % (rc, err))

    os.kill(pid, signal.SIGTERM)
    gone = wait_until(lambda: not pid_alive(pid) and
                      not any(pid_alive(k) for k in kids), 15)
    t.ok(gone, "SIGTERM: master and every child are gone")
    t.ok(not os.path.exists(pidfile), "SIGTERM: pidfile removed")
    t.ok("stopped (exit status 0)" in d.logtext(),
         "master logs a clean stop", d.logtext()[-2000:])

    # Daemon mode start-up failure is reported by the parent.
    busy = Daemon()
    try:
        import socket
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", busy.port))
        s.listen(1)
        rc, out, err = run(["-c", busy.conf])
        t.ok(rc == 1 and "127.0.0.1:%d" % busy.port in (err + busy.logtext()),
             "port in use: start fails with exit 1 naming the address",
             err)
        s.close()
    finally:
        busy.cleanup()
finally:
    d.cleanup()
t.done()
