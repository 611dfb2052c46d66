"""Supervision limits: a child exiting 2 is not respawned and a role left
with no process stops the daemon (exit 1); more than 10 database
recoveries within 10 minutes make the master exit 1."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import Daemon, Tap, pid_alive, wait_until  # noqa: E402

t = Tap()

# Exit 2: never respawned; the role is empty, so the master stops with 1.
d = Daemon(workers=1)
faults = os.path.join(d.dir, "faults")
d.env["NOTARYD_TEST_FAULTS"] = faults
try:
    d.start()
    kids = list(d.children())
    with open(faults, "w") as f:
        f.write("ctwatch-fatal\n")
    os.kill(d.role_pids("ctwatch")[0], signal.SIGKILL)
    try:
        rc = d.proc.wait(20)
    except Exception:
        rc = None
    log = d.logtext()
    t.eq(rc, 1, "a role whose only child exited 2 stops the daemon (exit 1)")
    t.ok("exited with fatal status 2 and will not be restarted" in log,
         "the fatal exit is logged", log[-1500:])
    t.eq(log.count("started ctwatch#0"), 2,
         "the child that exited 2 was not respawned")
    t.ok(not any(pid_alive(k) for k in kids), "no child left behind")
finally:
    d.cleanup()

# Recovery budget: the 11th recovery within 10 minutes is refused.
d = Daemon(workers=1, extra_yaml="scanner:\n  processes: 4\n")
try:
    d.start()
    kills = 0
    rotation = ["signer", "scanner", "ctwatch"]
    deadline = time.monotonic() + 300
    while d.proc.poll() is None and kills < 12 and \
            time.monotonic() < deadline:
        role = rotation[kills % 3]
        pids = d.role_pids(role)
        if not pids:
            time.sleep(0.05)
            continue
        os.kill(pids[kills % len(pids)], signal.SIGKILL)
        kills += 1
        # Wait for this crash's recovery to finish before the next kill.

        def recovered():
            if d.proc.poll() is not None:
                return True
            h = d.health(0.5)
            return (h is not None and h[0] == 200 and
                    h[1]["recoveries"] == kills + 1)
        wait_until(recovered, 60)
    try:
        rc = d.proc.wait(20)
    except Exception:
        rc = None
    t.eq(rc, 1, "master exits 1 after more than 10 recoveries in 10 min")
    t.eq(kills, 11, "the 11th crash was the one that ended it")
    t.ok("more than 10 database recoveries in 10 minutes" in d.logtext(),
         "the give-up is logged", d.logtext()[-1500:])
finally:
    d.cleanup()
t.done()
