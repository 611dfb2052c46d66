"""faults_ctlog.py - the "ctlog" part of bench/faults.py: the real daemon's
ctwatch follows a set of hostile CT logs served by the test CT log
(tests/ctlog, its hostile knobs) next to two healthy logs, for about a
minute of growth.  One log per failure kind, all at once:

  RFC 6962: garbage bodies, truncated JSON, a 100 MB body (get-entries),
  a 1 byte/s drip (get-entries), a tree that goes back, an STH with a bad
  signature, mangled entries (every 7th: not base64, short leaf, bad
  extra_data, no leaf_input, not an object), more entries than asked,
  zero entries, always 429, always 500, a redirect loop, a reset in the
  middle of the body (get-entries);
  static CT: short, oversized and missing data tiles, a checkpoint of
  another origin, a checkpoint with a bad signature.

Checked: ctwatch is never restarted (same pid, notaryd_child_crashes_total
{role="ctwatch"} unchanged); its RSS stays bounded (sampled every second,
figures printed); the healthy logs keep flowing (caught up after each
growth; the time printed); every frame on /full-stream is byte for byte
what tests/ctlog/expected.py says for its (log, index), at most once per
(log, index), and no mangled entry, nothing past a rejected tree head, is
among them; each hostile log is backed off (notaryd_ct_backoff_state > 0
seen in /metrics) or its failures counted (fetch errors, malformed, bad
signatures, shrunk: the stop summary), is reported in the log and in
/metrics (notaryd_ct_fetch_errors_total, notaryd_ct_rejected_total), and
figures per log are printed.
Every wait is bounded; loopback only.
"""
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(HERE, "..", "tests")
sys.path.insert(0, os.path.join(TESTS, "integration"))
sys.path.insert(0, os.path.join(TESTS, "ctlog"))
from ndtest import Daemon, get, rss_kb, wait_until  # noqa: E402
from ndtest import ct_positions as positions  # noqa: E402
import ctlog  # noqa: E402
import expected  # noqa: E402
import streamtest  # noqa: E402

START = 100          # entries in every log before the daemon starts
GROW = 60            # entries added to every log, twice
RUN_SECS = float(os.environ.get("FAULTS_CTLOG_SECS", "60"))
RSS_BOUND_KB = 256 * 1024

# name, kind, knobs at creation, knobs once ctwatch follows the log
CASES = (
    ("garbage", "rfc6962", {}, {"garbage_rate": 1.0}),
    ("truncated", "rfc6962", {}, {"truncate_rate": 1.0}),
    ("huge100m", "rfc6962", {"fault_on": ["get-entries"]},
     {"huge_bytes": 100 * 1000 * 1000}),
    ("drip1bps", "rfc6962", {"fault_on": ["get-entries"]},
     {"drip_bytes": 1, "drip_interval": 1.0}),
    ("backwards", "rfc6962", {}, {"shrink_to": START - 40}),
    ("badsth", "rfc6962", {}, {"bad_sth_sig": True}),
    ("badentries", "rfc6962", {}, {"bad_entry_every": 7}),
    ("more", "rfc6962", {"cap": 16}, {"entries_count": "more"}),
    ("zero", "rfc6962", {}, {"entries_count": "zero"}),
    ("e429", "rfc6962", {}, {"error_rate": 1.0, "error_codes": [429],
                             "retry_after": 1}),
    ("e500", "rfc6962", {}, {"error_rate": 1.0, "error_codes": [500]}),
    ("redirect", "rfc6962", {}, {"redirect_loop": True}),
    ("resetmid", "rfc6962", {"fault_on": ["get-entries"]},
     {"reset_mid_rate": 1.0}),
    ("tshort", "tiled", {}, {"tile_fault": "short"}),
    ("tlong", "tiled", {}, {"tile_fault": "long"}),
    ("tmissing", "tiled", {}, {"tile_fault": "missing"}),
    ("torigin", "tiled", {}, {"checkpoint_origin": "evil.example/log"}),
    ("tbadsig", "tiled", {}, {"bad_checkpoint_sig": True}),
)


def key(lg):
    return lg.url.rstrip("/")


def summaries(text):
    """url -> (next, size, published, malformed, dups, backfill, badsig,
    shrunk, {fetch error kind: n}) of the last stop line."""
    out = {}
    pat = re.compile(r"ctwatch: (\S+): next (\d+) of (\d+); published (\d+) "
                     r"\(precerts \d+\), malformed (\d+), duplicates (\d+), "
                     r"backfill skipped (\d+), bad signatures (\d+), "
                     r"shrunk (\d+); fetch errors (\S+)")
    for m in pat.finditer(text):
        fe = dict(kv.split("=") for kv in m.group(10).split(","))
        out[m.group(1)] = (tuple(int(m.group(i)) for i in range(2, 10)) +
                           ({k: int(v) for k, v in fe.items()},))
    return out


def metrics(d):
    """{(name, labels text): value} of /metrics, or {}."""
    r = get(d.port, "/metrics", timeout=5)
    out = {}
    if not r or r[0] != 200:
        return out
    body = r[2].decode("utf-8", "replace") if isinstance(r[2], bytes) \
        else r[2]
    for line in body.splitlines():
        m = re.match(r"^([a-z_]+)(\{[^}]*\})? (\S+)$", line)
        if m:
            out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


class Collector(threading.Thread):
    """Every text frame of /full-stream until stopped."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.ws = streamtest.WS(port, "/full-stream")
        self.frames = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            op, p = self.ws.recv_frame(0.5)
            if op == 0x9:
                self.ws.send_frame(0xA, p)
            elif op == 0x1 and b'"heartbeat"' not in p[:40]:
                self.frames.append(p)
            elif op is None:
                time.sleep(0.05)         # timeout or EOF: both bounded


def ctwatch_pid(d):
    pids = d.role_pids("ctwatch")
    return pids[0] if pids else None


def check_frames(t, note, frames, logs, limits):
    """Byte-exact, at most once, nothing mangled or past a limit."""
    bylog = {key(lg): lg for lg in logs}
    seen, bad, dup, past, mangled, first = set(), 0, 0, 0, 0, None
    for f in frames:
        try:
            d = json.loads(f)["data"]
            u, i = d["source"]["url"], d["cert_index"]
            lg = bylog[u]
            want = expected.frame(expected.for_log(lg, i), d["seen"], "full")
        except (ValueError, KeyError) as e:
            bad += 1
            first = first or ("unparsable or unknown log", f[:200], str(e))
            continue
        if f != want:
            bad += 1
            first = first or (u, i, f[:200], want[:200])
        if (u, i) in seen:
            dup += 1
        seen.add((u, i))
        if lg.bad_entry(i) is not None:
            mangled += 1
        if u in limits and i >= limits[u]:
            past += 1
    t.ok(bad == 0, "%d stream frames, each byte for byte the expected "
         "entry" % len(frames), first)
    t.ok(dup == 0, "no (log, index) twice on the stream", dup)
    t.ok(mangled == 0, "no mangled entry reached the stream", mangled)
    t.ok(past == 0, "nothing past a rejected tree head reached the stream",
         past)
    return seen


def grow_all(logs, n):
    for lg in logs:
        lg.grow(n)


def part_ctlog(t, note):
    top = tempfile.mkdtemp(prefix="faults-ctlog-")
    listfile = os.path.join(top, "log_list.json")
    srv = ctlog.CTLogServer(hub_port=0, loglist_file=listfile)
    t0 = time.monotonic()
    good = srv.add_log("good", size=START, cap=64, unique=40)
    tgood = srv.add_log("tgood", kind="tiled", size=START, unique=40)
    hostile = {}
    for name, kind, create, _ in CASES:
        hostile[name] = srv.add_log(name, kind=kind, size=START, unique=40,
                                    **create)
    logs = [good, tgood] + list(hostile.values())
    srv.start()
    note("ctlog: %d logs of %d entries built in %.1f s" %
         (len(logs), START, time.monotonic() - t0))
    srv.write_loglist(listfile)
    d = Daemon(ctwatch="  log_list: %s\n  poll_interval: 300ms\n"
               "  log_list_refresh: 5s\n  batch_size: 64\n"
               "  parallel_fetches: 2\n  fetch_timeout: 5s\n" % listfile)
    d.write_conf(text=d.base_yaml().replace("ring_size: 1M",
                                            "ring_size: 16M"))
    col = None
    try:
        d.start()
        col = Collector(d.port)
        col.start()
        t.ok(wait_until(lambda: len(positions(d)) == len(logs), 60,
                        step=0.5), "ctwatch follows all %d logs" % len(logs),
             positions(d))
        pid = ctwatch_pid(d)
        m0 = metrics(d)
        crash_key = ("notaryd_child_crashes_total", '{role="ctwatch"}')
        spawn_key = ("notaryd_child_spawns_total", '{role="ctwatch"}')
        rss0 = rss_kb(pid)
        start_pos = positions(d)
        req0 = {n: lg.counters["requests"] for n, lg in hostile.items()}
        for name, _, _, after in CASES:
            hostile[name].set(**after)
        # the size each rejected head log had when its heads went bad
        limits = {key(hostile[n]): hostile[n].size
                  for n in ("badsth", "torigin", "tbadsig")}
        rss, backoff, catch = [], {}, []
        t1 = time.monotonic()
        grows = 0
        while time.monotonic() - t1 < RUN_SECS:
            if grows < 2 and time.monotonic() - t1 >= grows * RUN_SECS / 2:
                grow_all(logs, GROW)
                grows += 1
                g0 = time.monotonic()
                ok = wait_until(lambda: all(
                    positions(d).get(key(lg)) == lg.size
                    for lg in (good, tgood)), 30, step=0.3)
                catch.append(time.monotonic() - g0 if ok else None)
            rss.append(rss_kb(pid))
            m = metrics(d)
            for (n, lab), v in m.items():
                if n == "notaryd_ct_backoff_state":
                    u = lab[len('{log="'):-2]
                    backoff[u] = max(backoff.get(u, 0), int(v))
            time.sleep(1.0)
        m1 = metrics(d)
        end_pos = positions(d)
        t.ok(ctwatch_pid(d) == pid, "ctwatch never restarted (pid %s)" % pid,
             ctwatch_pid(d))
        t.ok(m1.get(crash_key) == m0.get(crash_key) and
             m1.get(spawn_key) == m0.get(spawn_key),
             "the master counted no ctwatch crash or restart",
             (m0.get(crash_key), m1.get(crash_key), m0.get(spawn_key),
              m1.get(spawn_key)))
        note("ctlog: ctwatch RSS %d kB before the faults, max %d kB, "
             "last %d kB (%d samples)" % (rss0, max(rss), rss[-1], len(rss)))
        t.ok(max(rss) < RSS_BOUND_KB, "ctwatch RSS stays under %d MB" %
             (RSS_BOUND_KB // 1024), max(rss))
        t.ok(all(c is not None for c in catch), "the healthy logs caught up "
             "after each growth: %s s" % ", ".join(
                 "%.1f" % c if c is not None else "never" for c in catch))
        col.stop.set()
        col.join(5)
        d.stop()
        sm = summaries(d.logtext())
        seen = check_frames(t, note, col.frames, logs, limits)
        report(t, note, hostile, good, tgood, start_pos, end_pos, backoff,
               sm, seen, d.logtext(), req0, m1)
    finally:
        if col is not None:
            col.stop.set()
            col.ws.close()
        d.stop()
        d.cleanup()
        srv.stop()
        shutil.rmtree(top, ignore_errors=True)


def report(t, note, hostile, good, tgood, start_pos, end_pos, backoff, sm,
           seen, logtext, req0, m1):
    for lg in (good, tgood):
        u = key(lg)
        got = sorted(i for v, i in seen if v == u)
        t.ok(got == list(range(start_pos[u], lg.size)), "healthy log %s: "
             "every entry %d..%d on the stream once" %
             (lg.name, start_pos[u], lg.size - 1), (got[:3], got[-3:]))
    note("ctlog: %-10s %6s %6s %6s %5s %5s %5s %5s %5s %5s %s" %
         ("log", "start", "end", "size", "reqs", "pub", "malf", "bsig",
          "shrk", "warns", "backoff max / fetch errors"))
    warns = {}
    for line in logtext.splitlines():
        if " warning: ctwatch: " in line:
            u = line.split(" warning: ctwatch: ", 1)[1].split(": ", 1)[0]
            warns[u] = warns.get(u, 0) + 1
    for name, _, _, _ in CASES:
        lg = hostile[name]
        u = key(lg)
        s = sm.get(u)
        fe = {k: v for k, v in s[8].items() if v} if s else {}
        note("ctlog: %-10s %6d %6d %6d %5d %5s %5s %5s %5s %5d %d %s" %
             (name, start_pos.get(u, -1), end_pos.get(u, -1), lg.size,
              lg.counters["requests"] - req0[name], s[2] if s else "?", s[3] if s else "?", s[6] if s else "?",
              s[7] if s else "?", warns.get(u, 0), backoff.get(u, 0), fe))
        if name != "more":
            t.ok(warns.get(u, 0) > 0, "%s: reported in the log" % name)
            inm = sum(v for (n, lab), v in m1.items()
                      if n in ("notaryd_ct_fetch_errors_total",
                               "notaryd_ct_rejected_total") and
                      lab.startswith('{log="%s"' % u))
            t.ok(inm > 0 or backoff.get(u, 0) > 0, "%s: reported in "
                 "/metrics (%d errors or refusals)" % (name, inm))
        counted = s is not None and (sum(fe.values()) > 0 or s[3] > 0 or
                                     s[6] > 0 or s[7] > 0)
        if name != "more":          # more: the extra entries are ignored
            t.ok(counted or backoff.get(u, 0) > 0, "%s: the bad log is "
                 "counted or backed off" % name, (s, backoff.get(u)))
    bad = hostile["badentries"]
    u = key(bad)
    want = [i for i in range(start_pos[u], bad.size)
            if bad.bad_entry(i) is None]
    got = sorted(i for v, i in seen if v == u)
    s = sm.get(u)
    t.ok(got == want and s is not None and
         s[3] == bad.size - start_pos[u] - len(want),
         "mangled entries: the %d good ones published, the %d bad ones "
         "counted as malformed" % (len(want), bad.size - start_pos[u] -
                                   len(want)), (len(got), s))
    more = hostile["more"]
    u = key(more)
    got = sorted(i for v, i in seen if v == u)
    t.ok(got == list(range(start_pos[u], more.size)), "more entries than "
         "asked: each entry published once", (len(got), more.size))
