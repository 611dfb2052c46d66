#!/usr/bin/python3
"""The natspub role in the real daemon, against a real nats-server
(tests/integration/natstest.py): it runs as its own supervised process
only when nats.enabled; a NATS server that is down at start does not
make the daemon unhealthy, and the stream is created once it is up; a
killed natspub is respawned; a reload replaces it; a stop logs its
counters.  Entries flowing from CT logs through the ring to NATS are
tested by test_nats_ct.py (needs the ctwatch branch).  TAP output."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import Daemon, Tap, wait_until  # noqa: E402
from natstest import NatsServer, nats_yaml, stopped_summary  # noqa: E402

t = Tap()
srv = NatsServer()
d0 = Daemon()
d = None
try:
    # Off by default: no natspub process.
    d0.start()
    h = d0.health()
    t.eq(h[1]["roles"]["natspub"]["wanted"], 0, "natspub off by default")
    t.eq(d0.role_pids("natspub"), [], "no natspub process")
    d0.stop()

    # Enabled while the NATS server is down: the daemon is healthy.
    d = Daemon(extra_yaml=nats_yaml(srv, "  stream: NDTEST\n"))
    d.start()
    h = d.health()
    t.ok(h[0] == 200 and h[1]["roles"]["natspub"]["ready"] == 1,
         "healthy with natspub ready while NATS is down", h)
    pids = d.role_pids("natspub")
    t.eq(len(pids), 1, "one natspub process")
    srv.start()
    t.ok(wait_until(lambda: srv.dump("NDTEST") is not None, 60, step=0.2),
         "stream NDTEST created once the server is up", d.logtext()[-2000:])
    t.ok(srv.dump() is None, "and no stream named CERTSTREAM")
    t.ok("nats: created stream NDTEST for certstream.>" in d.logtext(),
         "creation logged")

    # SIGKILL: respawned, and it connects again.
    os.kill(pids[0], signal.SIGKILL)
    t.ok(wait_until(lambda: d.role_pids("natspub") not in ([], pids), 60),
         "natspub respawned after SIGKILL")
    t.ok(wait_until(lambda: d.logtext().count("nats: connected") >= 2, 60),
         "the new natspub connects")
    t.ok(wait_until(lambda: d.health()[0] == 200, 60), "healthy again")

    # Reload: a new generation replaces it (old one stops cleanly).
    before = d.role_pids("natspub")
    d.signal(signal.SIGHUP)
    t.ok(wait_until(lambda: d.role_pids("natspub") not in ([], before), 60),
         "reload replaces natspub")
    t.ok(wait_until(lambda: len(stopped_summary(d.logtext())) >= 1, 60),
         "the old natspub logs its counters when it stops")
    t.eq(d.stop(), 0, "daemon stops with 0")
    s = stopped_summary(d.logtext())
    t.ok(len(s) >= 2 and all(x["taken"] == 0 and x["dropped"] == 0
                             for x in s),
         "nothing taken without a CT source", s)
finally:
    if d is not None:
        d.cleanup()
    d0.cleanup()
    srv.cleanup()
t.done()
