#!/usr/bin/python3
"""CT logs to NATS end to end: the real daemon follows a test CT log
(tests/ctlog) and its natspub process publishes every entry to a real
nats-server (tests/integration/natstest.py).  NEEDS the ctwatch branch
(tests/ctlog, ctwatch following logs); register it in INTEGRATION_TESTS
when that is merged.

Checked: every new entry arrives once, in log order, on certstream.full,
.lite and .domains; the full messages carry what a certstream consumer
must see for that entry (tests/ctlog/expected.py); NATS stopped for 10 s
while the log grows: the daemon stays healthy and ctwatch keeps its pace
(its position reaches the log's size during the outage), nothing is
dropped with the default nats.buffer, and after the restart the stream
holds exactly every entry; the counters natspub logs when it stops add
up (taken = published + dropped, acked = what the stream holds).  TAP."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "ctlog"))
from ndtest import NOTARYD, Daemon, Tap, wait_until  # noqa: E402
from natstest import NatsServer, nats_yaml, stopped_summary  # noqa: E402
import ctlog  # noqa: E402
import expected  # noqa: E402

NOTARYCTL = os.path.join(os.path.dirname(NOTARYD), "notaryctl")
SHAPES = ("full", "lite", "domains")
t = Tap()


def position(d, lg):
    p = subprocess.run([NOTARYCTL, "-c", d.conf, "ct-positions"],
                       capture_output=True, text=True, timeout=60)
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) == 3 and f[0] == lg.url.rstrip("/"):
            return int(f[1])
    return None


def by_shape(msgs):
    out = {s: [] for s in SHAPES}
    for _, subj, payload in msgs:
        out.setdefault(subj.split(".", 1)[1], []).append(payload)
    return out


def indexes(payloads):
    return [json.loads(p)["data"]["cert_index"] for p in payloads]


def count_is(srv, n):
    def ok():
        d = srv.dump()
        return d is not None and len(d) >= n
    return ok


top = tempfile.mkdtemp(prefix="natsct-test-")
listfile = os.path.join(top, "log_list.json")
ct = ctlog.CTLogServer(hub_port=0, loglist_file=listfile)
a = ct.add_log("a", kind="rfc6962", size=100, cap=64)
ct.start()
ct.write_loglist(listfile)
srv = NatsServer()
srv.start()
d = Daemon(ctwatch=("  log_list: %s\n  poll_interval: 200ms\n"
                    "  batch_size: 256\n" % listfile),
           extra_yaml=nats_yaml(srv))
# The ring of a real deployment (16M, the default), not the test harness's
# 1M: this test is about NATS outages, and ctwatch bursts 500 entries of
# ~11 KB, more than a 1M ring holds while natspub catches up.
d.write_conf(text=d.base_yaml().replace("ring_size: 1M", "ring_size: 16M") +
             nats_yaml(srv))
try:
    d.start()
    t.ok(wait_until(lambda: "nats: created stream CERTSTREAM" in d.logtext()
                    and "starting at its current size 100" in d.logtext(),
                    60, step=0.2),
         "natspub made the stream; ctwatch starts at 100",
         d.logtext()[-2000:])

    # ---- every entry, once, in order, on each shape ----
    a.grow(200)
    t.ok(wait_until(count_is(srv, 600), 60, step=0.5),
         "600 messages for 200 entries", len(srv.dump() or []))
    msgs = srv.dump()
    sh = by_shape(msgs)
    for s in SHAPES:
        t.eq(len(sh[s]), 200, "200 messages on certstream.%s" % s)
    t.eq(indexes(sh["full"]), list(range(100, 300)), "full: log order")
    t.eq(indexes(sh["lite"]), list(range(100, 300)), "lite: log order")
    t.ok(all(p.endswith(b"\n") for p in sh["full"] + sh["lite"]),
         "full and lite end with a newline, like the websocket frames")
    bad = []
    for p in sh["full"]:
        got = json.loads(p)["data"]
        got.pop("seen", None)
        want = expected.for_log(a, got["cert_index"])
        if got != want:
            bad.append((got["cert_index"], got, want))
    t.ok(not bad, "full messages are what a certstream consumer expects",
         bad[:1])
    doms = [json.loads(p)["data"] for p in sh["domains"]]
    t.eq(doms, [expected.domains(expected.for_log(a, i))
                for i in range(100, 300)], "domains messages, in order")

    # ---- NATS down for 10 s (longer if ctwatch needs it to get to the
    # log's end) while the log grows ----
    srv.stop()
    t0 = time.monotonic()
    a.grow(300)
    t.ok(wait_until(lambda: position(d, a) == 600, 120, step=0.3),
         "ctwatch reaches the log's size while NATS is down (%.1f s)"
         % (time.monotonic() - t0), position(d, a))
    h = d.health()
    t.ok(h is not None and h[0] == 200, "daemon healthy during the outage",
         h)
    time.sleep(max(0.0, 10 - (time.monotonic() - t0)))
    srv.start()
    t.ok(wait_until(count_is(srv, 1500), 60, step=0.5),
         "after the restart the stream holds 1500 messages",
         len(srv.dump() or []))
    sh = by_shape(srv.dump())
    t.eq(indexes(sh["full"]), list(range(100, 600)),
         "full: every entry once, in order, across the outage")
    t.eq(d.stop(), 0, "daemon stops with 0")
    s = stopped_summary(d.logtext())
    t.ok(len(s) == 1, "one natspub stop line", s)
    if s:
        s = s[0]
        t.eq((s["records"], s["taken"], s["published"], s["acked"],
              s["failed"], s["dropped"], s["ring_skipped"]),
             (500, 1500, 1500, 1500, 0, 0, 0), "counters add up")
        t.ok(s["reconnects"] >= 1, "reconnected", s)
finally:
    d.cleanup()
    srv.cleanup()
    ct.stop()
    shutil.rmtree(top, ignore_errors=True)
t.done()
