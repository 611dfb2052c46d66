#!/usr/bin/python3
"""bench/ctwatch_rss.py - ctwatch's memory while it follows 100 CT logs
(make bench; not a test).

Starts the test CT log server (tests/ctlog) with LOGS logs, half RFC 6962
(reply cap 256) and half static-CT, all of SIZE entries, and notaryd with
ctwatch.logs naming every one of them.  Once ctwatch follows them all (each
log starts at its current size), every log grows by GROW entries; when
ctwatch has published all of them, prints the ctwatch process's RSS and PSS
and the whole tree's, and the published count.  Loopback only; every wait
is bounded; exits 1 when ctwatch did not catch up in time.

usage: NOTARYD=path/to/notaryd bench/ctwatch_rss.py [LOGS [SIZE [GROW]]]
"""
import base64
import os
import re
import sys
import time

top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(top, "tests", "ctlog"))
sys.path.insert(0, os.path.join(top, "tests", "integration"))
import ctlog  # noqa: E402
from ndtest import Daemon, get, wait_until  # noqa: E402

NLOGS = int(sys.argv[1]) if len(sys.argv) > 1 else 100
SIZE = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
GROW = int(sys.argv[3]) if len(sys.argv) > 3 else 50


def mem_kb(pid):
    """(RSS, PSS) of one process in kB, from /proc."""
    rss = pss = 0
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def published(port):
    """Sum of notaryd_ct_next_index over the logs, or -1."""
    r = get(port, "/metrics", timeout=5)
    if r is None or r[0] != 200:
        return -1
    text = r[2].decode(errors="replace")
    return sum(int(float(v)) for v in re.findall(
        r"^notaryd_ct_next_index\{[^}]*\} (\S+)$", text, re.M))


srv = ctlog.CTLogServer(hub_port=0)
logs = []
for i in range(NLOGS):
    kind = "rfc6962" if i % 2 == 0 else "tiled"
    logs.append(srv.add_log("l%d" % i, kind=kind, size=SIZE, cap=256,
                            seed="bench", description="bench log %d" % i))
srv.start()
d = Daemon(ctwatch="  log_list: []\n  poll_interval: 1s\n  resume: true\n"
           "  logs:\n" + "".join(
               "    - {url: \"%s\", name: \"%s\", type: %s, key: %s}\n"
               % (lg.url, lg.cfg["description"],
                  "rfc6962" if lg.kind == "rfc6962" else "static",
                  base64.b64encode(lg.key.spki).decode()) for lg in logs))
d.write_conf(text=d.base_yaml().replace("ring_size: 1M", "ring_size: 16M") +
             "metrics:\n  allow: [\"127.0.0.1/32\"]\n")
rc = 1
try:
    d.start()
    start = NLOGS * SIZE
    if not wait_until(lambda: published(d.port) == start, 120, step=1):
        print("bench/ctwatch_rss: ctwatch did not reach the %d logs' sizes "
              "(at %d of %d)" % (NLOGS, published(d.port), start))
        sys.exit(1)
    pid = d.role_pids("ctwatch")[0]
    idle = mem_kb(pid)
    t0 = time.monotonic()
    for lg in logs:
        lg.grow(GROW)
    end = start + NLOGS * GROW
    ok = wait_until(lambda: published(d.port) == end, 300, step=1)
    took = time.monotonic() - t0
    busy = mem_kb(pid)
    tree = [mem_kb(p) for p in [d.master_pid()] + list(d.children())]
    print("bench/ctwatch_rss: %d logs (%d RFC 6962, %d static-CT) of %d "
          "entries, each grown by %d" % (NLOGS, (NLOGS + 1) // 2,
                                          NLOGS // 2, SIZE, GROW))
    print("ctwatch following them, idle: RSS %.1f MB, PSS %.1f MB"
          % (idle[0] / 1024, idle[1] / 1024))
    print("ctwatch after publishing %d entries in %.1f s: RSS %.1f MB, "
          "PSS %.1f MB" % (published(d.port) - start, took,
                            busy[0] / 1024, busy[1] / 1024))
    print("whole daemon: RSS %.1f MB, PSS %.1f MB (master and %d children)"
          % (sum(m[0] for m in tree) / 1024, sum(m[1] for m in tree) / 1024,
             len(tree) - 1))
    rc = 0 if ok else 1
finally:
    d.cleanup()
    srv.stop()
sys.exit(rc)
