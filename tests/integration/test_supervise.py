"""Supervision: SIGKILL each child role in turn (back within 1 s, /healthz
keeps answering, database users trigger recovery, http workers do not),
a crash-looping role is throttled, SIGTERM leaves no process behind, and
children die with the master."""
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import Daemon, Tap, get, pid_alive, wait_until  # noqa: E402

t = Tap()
faults = None
d = Daemon(workers=2)
faults = os.path.join(d.dir, "faults")
d.env["NOTARYD_TEST_FAULTS"] = faults


class Prober(threading.Thread):
    """Asks /healthz every 20 ms; counts answers and failures."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stop = False
        self.answers = 0
        self.failures = 0

    def run(self):
        while not self.stop:
            r = get(self.port, "/healthz", timeout=2)
            if r is None:
                # One retry: a connection queued on a worker that was
                # killed at that instant is reset.
                r = get(self.port, "/healthz", timeout=2)
            if r is None:
                self.failures += 1
            else:
                self.answers += 1
            time.sleep(0.02)


def recoveries():
    h = d.health()
    return h[1]["recoveries"] if h and h[1] else -1


try:
    d.start()
    base_recov = recoveries()
    t.eq(base_recov, 1, "one recovery ran at start-up")
    prober = Prober(d.port)
    prober.start()
    for role in ("http", "signer", "scanner", "ctwatch"):
        before = d.role_pids(role)
        if not t.ok(len(before) >= 1, "%s is running" % role):
            continue
        victim = before[0]
        http_before = d.role_pids("http")
        r0 = recoveries()
        spawns0 = d.health()[1]["roles"][role]["spawns"]
        t0 = time.monotonic()
        os.kill(victim, signal.SIGKILL)

        # Timed by /healthz alone (one request per poll, no /proc walk
        # that a loaded machine makes slow): 200 means every role has
        # its ready children, and the role's spawn count says the dead
        # one was replaced.  Which processes run is checked after.
        def back():
            h = d.health(timeout=0.5)
            return (h is not None and h[0] == 200 and h[1] is not None and
                    h[1]["roles"][role]["spawns"] > spawns0)
        ok = wait_until(back, 10, 0.01)
        el = time.monotonic() - t0
        now = d.role_pids(role)
        t.ok(ok and el <= 1.0 and len(now) == len(before) and
             victim not in now,
             "SIGKILL %s: replaced and healthy again within 1 s (%.3f s)"
             % (role, el), d.logtext()[-3000:])
        r1 = recoveries()
        if role == "http":
            t.eq(r1, r0, "killing an http worker runs no recovery")
        else:
            t.eq(r1, r0 + 1, "killing %s runs one database recovery" % role)
            t.eq(d.role_pids("http"), http_before,
                 "the http workers kept running through that recovery")
        time.sleep(0.2)
    # The prober must have asked often enough for its count to mean
    # something, however slowly this machine ran the kills.
    wait_until(lambda: prober.answers > 20, 30)
    prober.stop = True
    prober.join(5)
    t.ok(prober.answers > 20 and prober.failures == 0,
         "/healthz kept answering through every kill (%d answers, %d "
         "failures)" % (prober.answers, prober.failures))
    log = d.logtext()
    t.ok("killed by signal 9" in log and "http#" in log,
         "child exits are logged with role, pid and signal")

    # Crash loop: the scanner now fails every start-up.
    with open(faults, "w") as f:
        f.write("scanner-startup\n")
    victim = d.role_pids("scanner")[0]
    h = d.health()
    spawns0 = h[1]["roles"]["scanner"]["spawns"]
    t0 = time.monotonic()
    os.kill(victim, signal.SIGKILL)

    def throttled():
        x = d.health()
        return x if x and x[1] and x[1]["roles"]["scanner"]["throttled"] \
            else None
    wait_until(throttled, 30)
    # at least 4 s after the kill: a fork loop would show by then
    time.sleep(max(0.0, 4 - (time.monotonic() - t0)))
    h = d.health()
    el = time.monotonic() - t0
    spawns = h[1]["roles"]["scanner"]["spawns"] - spawns0
    t.ok(1 <= spawns <= 3, "crash-looping scanner is throttled, not "
         "fork-looping (%d spawns in %.1f s)" % (spawns, el))
    t.ok(h[1]["roles"]["scanner"]["throttled"] is True and h[0] == 503,
         "/healthz reports the throttled role and 503", h)
    t.ok("throttling role scanner" in d.logtext(), "throttling is logged")
    r = get(d.port, "/")
    t.ok(r and r[0] == 200, "the http workers keep serving meanwhile")
    os.unlink(faults)

    # SIGTERM leaves nothing behind.
    kids = list(d.children())
    master = d.master_pid()
    t.eq(d.stop(), 0, "SIGTERM: master exits 0")
    t.ok(wait_until(lambda: not any(pid_alive(k) for k in kids), 15),
         "SIGTERM: no child left behind")

    # Children die when the master dies (PR_SET_PDEATHSIG, channel EOF).
    d2 = Daemon(workers=1)
    try:
        d2.start()
        kids = list(d2.children())
        os.kill(d2.master_pid(), signal.SIGKILL)
        t.ok(wait_until(lambda: not any(pid_alive(k) for k in kids), 15),
             "SIGKILL of the master: every child exits by itself")
    finally:
        d2.cleanup()

    # Started as root with daemon.user: the children drop privileges.
    if os.geteuid() == 0:
        import pwd
        nobody = pwd.getpwnam("nobody")
        d3 = Daemon(workers=1, extra_yaml="")
        try:
            os.chmod(d3.dir, 0o755)
            d3.write_conf(text=d3.base_yaml().replace(
                "  stop_timeout: 3s\n",
                "  stop_timeout: 3s\n  user: nobody\n"))
            d3.start()

            def uid_of(pid):
                with open("/proc/%d/status" % pid) as f:
                    for line in f:
                        if line.startswith("Uid:"):
                            return [int(x) for x in line.split()[1:]]
            kids = d3.children()
            uids = {comm: uid_of(p) for p, comm in kids.items()}
            t.ok(len(kids) == 4 and all(
                u == [nobody.pw_uid] * 4 for u in uids.values()),
                "daemon.user: every child runs as nobody (real, effective, "
                "saved, fs uid)", uids)
            t.eq(uid_of(d3.master_pid())[1], 0, "the master keeps root")
            st = os.stat(os.path.join(d3.data_dir, "db"))
            owned = [os.stat(os.path.join(d3.data_dir, "db", f)).st_uid
                     for f in os.listdir(os.path.join(d3.data_dir, "db"))]
            t.ok(st.st_uid == nobody.pw_uid and owned and
                 all(u == nobody.pw_uid for u in owned),
                 "database files belong to the daemon user")
            sig = d3.role_pids("signer")[0]
            os.kill(sig, signal.SIGKILL)
            t.ok(wait_until(lambda: (d3.health() or (0, {}))[0] == 200 and
                            d3.health()[1]["recoveries"] == 2, 30),
                 "recovery works as the unprivileged user")
        finally:
            d3.cleanup()
    else:
        print("ok %d # SKIP not root" % (t.n + 1))
        t.n += 1
finally:
    d.cleanup()
t.done()
