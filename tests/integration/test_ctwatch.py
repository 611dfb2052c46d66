#!/usr/bin/python3
"""ctwatch end to end: the real daemon follows the logs of the test CT log
server (tests/ctlog, loopback only) through a v3 log list file.

Checked from outside the daemon: the positions (notaryctl ct-positions),
the requests the logs received (the server's request records), and the
per-log counters that ctwatch writes to its log when a log stops
("published N" must equal the entries between the start and the final
position: no gap, no duplicate).  Cases: start at the current size (never
0), growth followed on cap-32 and cap-1024 RFC 6962 logs and a static-CT
log (gzip data tiles; partial tiles never fetched twice for the same
size), SIGKILL of
ctwatch, a reload (old and new ctwatch overlap) and SIGTERM of the daemon
with exact resume, injected 429/500/503,
garbage and truncated bodies, a shrinking tree and a bad STH signature
counted and not trusted, a log added to the list file followed after a
refresh, max_backfill, and a dead (hanging) log that does not slow the
others.  TAP output."""
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "ctlog"))
from ndtest import NOTARYCTL, Daemon, Tap, wait_until  # noqa: E402
from ndtest import ct_positions as positions  # noqa: E402
import ctlog  # noqa: E402

t = Tap()


def ctwatch_yaml(listfile, extra=""):
    return ("  log_list: %s\n  poll_interval: 200ms\n"
            "  log_list_refresh: 1s\n  batch_size: 256\n"
            "  parallel_fetches: 3\n  fetch_timeout: 3s\n%s"
            % (listfile, extra))


def key(lg):
    return lg.url.rstrip("/")


def summaries(text):
    """url -> list of (next, size, published, malformed, dups, backfill,
    badsig, shrunk, fetch errors) from the stop lines, in order."""
    out = collections.defaultdict(list)
    pat = re.compile(r"ctwatch: (\S+): next (\d+) of (\d+); published (\d+) "
                     r"\(precerts \d+\), malformed (\d+), duplicates (\d+), "
                     r"backfill skipped (\d+), bad signatures (\d+), "
                     r"shrunk (\d+); fetch errors (\S+)")
    for m in pat.finditer(text):
        fe = dict(kv.split("=") for kv in m.group(10).split(","))
        out[m.group(1)].append(tuple(int(m.group(i)) for i in range(2, 10))
                               + ({k: int(v) for k, v in fe.items()},))
    return out


def starts(text, url):
    m = re.findall(re.escape(url) + r": starting at its current size (\d+)",
                   text)
    return [int(x) for x in m]


def caught_up(d, logs, timeout):
    def ok():
        p = positions(d)
        return all(p.get(key(lg)) == lg.size for lg in logs)
    return wait_until(ok, timeout, step=0.3)


def ctwatch_pid(d):
    pids = d.role_pids("ctwatch")
    return pids[0] if pids else None


top = tempfile.mkdtemp(prefix="ctwatch-test-")
listfile = os.path.join(top, "log_list.json")
srv = ctlog.CTLogServer(hub_port=0, loglist_file=listfile)
a = srv.add_log("a", kind="rfc6962", size=300, cap=32)
b = srv.add_log("b", kind="rfc6962", size=500, cap=1024, key_type="rsa")
tl = srv.add_log("t", kind="tiled", size=600, gzip_tiles=True)
srv.start()
srv.write_loglist(listfile)

# ---- 1. start at the current size, follow growth, SIGKILL, SIGTERM ----
d = Daemon(ctwatch=ctwatch_yaml(listfile))
d.start()
ok = wait_until(lambda: len(positions(d)) == 3, 60, step=0.3)
t.ok(ok, "three listed logs get a position", d.logtext()[-3000:])
text = d.logtext()
t.eq(starts(text, key(a)), [300], "rfc6962 cap-32 log starts at its size")
t.eq(starts(text, key(tl)), [600], "static-CT log starts at its size")
for lg in (a, b, tl):
    lg.set(grow_n=7, grow_every=0.2)


def advanced():
    p = positions(d)
    return p if all(p.get(key(lg), 0) > s for lg, s in
                    ((a, 300), (b, 500), (tl, 600))) else None
p1 = wait_until(advanced, 30, step=0.3) or positions(d)
t.ok(all(p1.get(key(lg), 0) > s
         for lg, s in ((a, 300), (b, 500), (tl, 600))),
     "positions advance while the logs grow", p1)


def resumed(n):
    """Every log has been (re)started by n ctwatch processes after the
    first: each is followed (and will log its summary at its stop)."""
    text = d.logtext()
    return all(text.count("%s: resuming at " % key(lg)) >= n
               for lg in (a, b, tl))
old = ctwatch_pid(d)
os.kill(old, signal.SIGKILL)
t.ok(wait_until(lambda: ctwatch_pid(d) not in (None, old), 30),
     "ctwatch is restarted after SIGKILL")
t.ok(wait_until(lambda: resumed(1), 30),
     "the new ctwatch resumes every log")
old = ctwatch_pid(d)
d.signal(signal.SIGHUP)
t.ok(wait_until(lambda: ctwatch_pid(d) not in (None, old), 30),
     "a reload replaces ctwatch")
t.ok(wait_until(lambda: resumed(2), 30),
     "the reloaded ctwatch resumes every log")
for lg in (a, b, tl):
    lg.set(grow_n=0)
t.ok(caught_up(d, (a, b, tl), 30), "caught up with every log after "
     "SIGKILL", (positions(d), a.size, b.size, tl.size))
final1 = {key(lg): lg.size for lg in (a, b, tl)}
t.eq(d.stop(), 0, "daemon stops on SIGTERM")
text = d.logtext()
sm = summaries(text)
base = {key(a): 300, key(b): 500, key(tl): 600}
for lg in (a, b, tl):
    s = sm.get(key(lg), [])
    t.ok(len(s) == 2 and s[-1][0] == final1[key(lg)] and
         s[-1][2] == final1[key(lg)] - base[key(lg)] and s[-1][3] == 0,
         "%s: every entry published exactly once across the SIGKILL and "
         "the reload (%d..%d)" % (lg.name, base[key(lg)],
                                  final1[key(lg)]), s)
t.eq(positions(d), final1, "positions saved at SIGTERM")
ge = [r["path"] for r in a.requests("get-entries")]
low = min(int(re.search(r"start=(\d+)", p).group(1)) for p in ge)
t.ok(low >= 300, "no entry below the start size was asked for", low)
parts = collections.Counter((r["path"], r["size"])
                            for r in tl.requests("tile-data-partial"))
t.ok(parts and max(parts.values()) == 1, "a partial tile is never fetched "
     "twice while the log did not grow", parts.most_common(3))
t.ok(len(tl.requests("issuer")) > 0, "issuers fetched for the tiled log")

# ---- 2. restart after SIGTERM resumes exactly; issuers come from the db
for lg in (a, b, tl):
    lg.clear_records()
    lg.grow(40)
d.start()
t.ok(caught_up(d, (a, b, tl), 30), "caught up after the restart",
     positions(d))
text2 = d.logtext()[len(text):]
for lg in (a, b, tl):
    t.ok(("%s: resuming at %d" % (key(lg), final1[key(lg)])) in text2,
         "%s resumes at its saved position" % lg.name)
t.eq(len(tl.requests("issuer")), 0, "issuers known from the database "
     "are not fetched again")
final2 = {key(lg): lg.size for lg in (a, b, tl)}
d.stop()
sm = summaries(d.logtext()[len(text):])
t.ok(all(sm[k] and sm[k][-1][2] == final2[k] - final1[k] for k in final2),
     "the second run publishes exactly the new entries", (sm, final2))

# ---- 3. max_backfill: entries older than the bound are skipped ---------
a.grow(500)
d.write_conf(text=d.base_yaml().replace(
    "  parallel_fetches: 3\n", "  parallel_fetches: 3\n  max_backfill: 100\n"))
mark = len(d.logtext())
d.start()
t.ok(caught_up(d, (a,), 30), "caught up under max_backfill")
d.stop()
sm = summaries(d.logtext()[mark:])
s = sm.get(key(a), [])
t.ok(s and s[-1][5] == 400 and s[-1][2] == 100,
     "500 behind with max_backfill 100: 400 skipped and counted, 100 "
     "published", s)


def set_latest(d):
    return subprocess.run([NOTARYCTL, "-c", d.conf, "ct-positions",
                           "--set-latest"], capture_output=True, text=True,
                          timeout=60)


r = set_latest(d)
t.ok(r.returncode == 0 and r.stdout.count(" latest\n") == 3 and
     positions(d) == {}, "ct-positions --set-latest forgets every position "
     "when the daemon is stopped", (r.returncode, r.stdout, r.stderr))
d.cleanup()

# ---- 4. faults: errors, garbage, truncation; shrink; bad signature;
#         a dead log; a log added to the list ---------------------------
e = srv.add_log("e", kind="rfc6962", size=100, cap=32, error_rate=0.1,
                error_codes=[429, 500, 503], retry_after=1,
                garbage_rate=0.03, truncate_rate=0.03, fault_seed=7)
s_ = srv.add_log("s", kind="rfc6962", size=200, cap=256)
g = srv.add_log("g", kind="rfc6962", size=50, bad_sth_sig=True)
h = srv.add_log("h", kind="rfc6962", size=60, cap=32,
                fault_on=["get-entries"], fail_next=["huge", "drip"])
dead = srv.add_log("dead", kind="rfc6962", size=50)
for lg in (a, b, tl):
    lg.set(listed=False)
srv.write_loglist(listfile)
d = Daemon(ctwatch=ctwatch_yaml(listfile))
d.start()
t.ok(wait_until(lambda: key(e) in positions(d) and key(s_) in positions(d),
                60, step=0.3), "faulty and shrinking logs start")
r = set_latest(d)
t.ok(r.returncode == 1 and "stopped" in r.stderr and len(positions(d)) >= 2,
     "ct-positions --set-latest refuses while the daemon runs",
     (r.returncode, r.stderr))
dead.set(dead="hang")
e.set(grow_n=5, grow_every=0.2)
s_.grow(50)
h.grow(40)
time.sleep(2)
e.set(grow_n=0)
t.ok(caught_up(d, (e, s_, h), 40), "logs under 10 % errors, garbage, "
     "truncated, 50 MB and dripping bodies catch up", (positions(d), e.size))
n0 = len(s_.requests("get-sth"))
s_.set(shrink_to=150)
# two tree heads asked after the shrink: the first one answered shrunk
# has been taken in before the second is asked
wait_until(lambda: len(s_.requests("get-sth")) >= n0 + 2, 30, step=0.05)
s_.set(shrink_to=None)
# the other logs are not slowed by the dead one
s_.grow(30)
t0 = time.monotonic()
t.ok(caught_up(d, (s_,), 10), "a healthy log is followed while another "
     "hangs")
t.ok(time.monotonic() - t0 < 5, "... within a few poll intervals",
     time.monotonic() - t0)
# a log added to the list file is followed after a refresh
n = srv.add_log("n", kind="tiled", size=10)
srv.write_loglist(listfile)
t.ok(wait_until(lambda: key(n) in positions(d), 30, step=0.3),
     "a log added to the list file is followed after the refresh")
n.set(listed=False)
srv.write_loglist(listfile)
t.ok(wait_until(lambda: ("%s is no longer listed" % key(n)) in d.logtext(),
                30), "a log removed from the list is stopped")
text = d.logtext()
t.ok(re.search(re.escape(key(g)) + r": tree head of size \d+ rejected",
               text) is not None, "a bad STH signature is logged")
t.ok(key(g) not in positions(d), "the log with a bad signature is never "
     "trusted, so never started")
dead.set(dead=None)
d.stop()
sm = summaries(d.logtext())
se = sm.get(key(e), [[0] * 9])[-1]
fe = se[8] if isinstance(se[8], dict) else {}
t.ok(se[2] == e.size - 100 and se[3] == 0,
     "every entry of the faulty log published once", se)
t.ok(fe.get("ratelimit", 0) + fe.get("http5xx", 0) > 0 and
     fe.get("malformed", 0) > 0, "429/5xx and malformed replies counted",
     fe)
ss = sm.get(key(s_), [[0] * 9])[-1]
t.ok(ss[7] > 0, "a tree size that went back is counted", ss)
t.ok(ss[2] == s_.size - 200, "the shrinking log still published each "
     "entry once", (ss, s_.size))
sh = sm.get(key(h), [[0] * 9])[-1]
fh = sh[8] if isinstance(sh[8], dict) else {}
t.ok(fh.get("toobig", 0) == 1 and fh.get("timeout", 0) == 1 and
     sh[2] == h.size - 60, "a 50 MB reply is cut off (max_response), a "
     "dripping one times out, both counted; every entry still published "
     "once", sh)
sg = sm.get(key(g), [[0] * 9])[-1]
t.ok(sg[6] > 0 and sg[2] == 0, "bad signatures counted, nothing "
     "published from that log", sg)

d.cleanup()

# ---- 5. lists by URL; an unreachable list is retried with back-off -----
for lg in (e, s_, g, h, dead):
    lg.set(listed=False)
a.set(listed=True)
d = Daemon(ctwatch=ctwatch_yaml("[\"http://127.0.0.1:1/list.json\", "
                                "\"%s\"]" % srv.loglist_url).replace(
    "log_list_refresh: 1s", "log_list_refresh: 20s"))
d.start()
t.ok(wait_until(lambda: key(a) in positions(d), 30, step=0.3),
     "a log list fetched by URL is followed")
t.ok(wait_until(lambda: len(re.findall(
    r"cannot read the log list http://127.0.0.1:1/list.json: connect.*"
    r"retrying in \d+ s", d.logtext())) >= 3, 30),
    "an unreachable list: one line per retry", d.logtext()[-2000:])
waits = [int(x) for x in re.findall(r"list.json: connect.*retrying in "
                                    r"(\d+) s", d.logtext())]
t.ok(waits == sorted(waits) and waits[-1] > waits[0], "... with back-off",
     waits)
t.eq(d.health()[0], 200, "the daemon stays healthy meanwhile")
d.stop()
d.cleanup()

# ---- 6. ctwatch.dedup: one certificate, two logs, precert and final ----
a.set(listed=False)
x = srv.add_log("x", kind="rfc6962", size=100, seed="dup", cap=32)
y = srv.add_log("y", kind="tiled", size=100, seed="dup")
d = Daemon(ctwatch=ctwatch_yaml(listfile, "  dedup: true\n"))
d.start()
t.ok(wait_until(lambda: len(positions(d)) == 2, 60, step=0.3),
     "two logs with the same certificates start")
x.grow(20)
y.grow(20)
t.ok(caught_up(d, (x, y), 20), "both caught up under dedup")
d.stop()
sm = summaries(d.logtext())
pub = sum(sm[key(lg)][-1][2] for lg in (x, y) if sm.get(key(lg)))
dup = sum(sm[key(lg)][-1][4] for lg in (x, y) if sm.get(key(lg)))
# 20 entries = 4 blocks of (precert, final, plain, precert, final): 12
# distinct certificates; the other 8 of one log and all 20 of the other
# are duplicates
t.ok(pub == 12 and dup == 28, "dedup publishes each certificate once and "
     "counts the rest (12 published, 28 duplicates)", (pub, dup))
d.cleanup()

# ---- 7. a data tile that does not split: fetched again, lost only when
#         the log keeps serving it broken -----------------------------------
for lg in (x, y):
    lg.set(listed=False)
u = srv.add_log("u", kind="tiled", size=256)
w = srv.add_log("w", kind="tiled", size=256)
srv.write_loglist(listfile)
d = Daemon(ctwatch=ctwatch_yaml(listfile))
d.start()
t.ok(wait_until(lambda: len(positions(d)) == 2, 60, step=0.3),
     "two static-CT logs start")
for lg in (u, w):
    lg.set(tile_fault="short")
    lg.grow(256)            # one whole tile, served cut in half
t.ok(wait_until(lambda: len(u.requests("tile-data")) >= 2, 20, step=0.2),
     "a tile cut short is fetched again", len(u.requests("tile-data")))
u.set(tile_fault=None)      # a transient fault: the log heals
t.ok(caught_up(d, (u,), 20), "the healed log is caught up", positions(d))
t.ok(caught_up(d, (w,), 40), "a log that keeps serving the cut tile is "
     "not stopped for good", positions(d))
nw = len(w.requests("tile-data"))
d.stop()
sm = summaries(d.logtext())
su = sm.get(key(u), [[0] * 9])[-1]
sw = sm.get(key(w), [[0] * 9])[-1]
t.ok(su[2] == 256 and su[3] == 0, "healed: every entry of the tile "
     "published, none skipped", su)
fw = sw[8] if isinstance(sw[8], dict) else {}
t.ok(nw == 4 and 0 < sw[2] < 256 and sw[2] + sw[3] == 256 and
     fw.get("malformed", 0) >= 3, "still cut: fetched 4 times, then the "
     "leaves that split published and the rest skipped and counted",
     (nw, sw))
d.cleanup()
srv.stop()
shutil.rmtree(top, ignore_errors=True)
t.done()
