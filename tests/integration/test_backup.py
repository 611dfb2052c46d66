#!/usr/bin/python3
"""notaryctl backup (issue 13): a hot backup taken while the daemon runs
and an import writes, then db5.3_verify on the copy and the copy opened
as a data_dir of its own; and the standard db5.3_* tools on the live
environment (DB_CONFIG gives them mutexes of their own)."""
import glob
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import NOTARYD, Daemon, Tap, get  # noqa: E402

NOTARYCTL = os.path.join(os.path.dirname(NOTARYD), "notaryctl")
TABLES = ("services.db", "spans.db", "sched.db", "schedidx.db", "certs.db",
          "ct.db", "meta.db")
t = Tap()


def ctl(conf, args, data_dir=None, timeout=300):
    cmd = [NOTARYCTL, "-c", conf]
    if data_dir:
        cmd += ["-o", "daemon.data_dir=" + data_dir]
    p = subprocess.run(cmd + args, capture_output=True, text=True,
                       timeout=timeout, env=dict(os.environ,
                                                 SOURCE_DATE_EPOCH="1"))
    return p.returncode, p.stdout, p.stderr


def dump(path, first, n, tag):
    """n spans of n services, numbered from first."""
    with open(path, "w") as f:
        for i in range(first, first + n):
            f.write("(%s%d.example.org:443,2, %s, %d, %d)\n" %
                    (tag, i, ":".join(["%02x" % (i % 251)] * 16),
                     1600000000 + i, 1700000000 + i))


def spans(export):
    return set(ln for ln in export.splitlines() if ln.startswith("("))


def wait_writing(pid, nbytes, limit):
    """True once process pid has written nbytes (it is past parsing)."""
    end = time.time() + limit
    while time.time() < end:
        try:
            with open("/proc/%d/io" % pid) as f:
                io = dict(ln.split(": ") for ln in f.read().splitlines())
        except OSError:
            return False
        if int(io["wchar"]) >= nbytes:
            return True
        time.sleep(0.005)
    return False


def verify(home):
    """db5.3_verify every table; (all ok, output)."""
    p = subprocess.run(["db5.3_verify", "-h", home] + list(TABLES),
                       capture_output=True, text=True, timeout=300)
    out = p.stdout + p.stderr
    return p.returncode == 0 and "BDB2034" not in out, out[-2000:]


d = Daemon(workers=1, extra_yaml="scanner:\n  rescan_interval: 0s\n")
try:
    d.start()
    a, b = os.path.join(d.dir, "a.txt"), os.path.join(d.dir, "b.txt")
    dump(a, 0, 20000, "a")
    dump(b, 0, 300000, "b")
    rc, out, err = ctl(d.conf, ["import", a])
    t.ok(rc == 0, "import of 20,000 spans next to the daemon", err)

    # The standard tools on the live environment.
    home = os.path.join(d.data_dir, "db")
    t.ok(os.path.exists(os.path.join(home, "DB_CONFIG")),
         "the environment has a DB_CONFIG for the tools")
    ok, out = verify(home)
    t.ok(ok, "db5.3_verify on the live environment (no BDB2034)", out)
    p = subprocess.run(["db5.3_stat", "-h", home, "-x"], capture_output=True,
                       text=True, timeout=60)
    t.ok(p.returncode == 0 and "Mutex" in p.stdout,
         "db5.3_stat -x on the live environment", p.stderr)

    # A backup while another import writes and the scanner probes.
    def queries():
        for port in range(1, 40):
            get(d.port, "/?host=127.0.0.1&port=%d&service_type=2" % port,
                timeout=0.5)
    imp = subprocess.Popen([NOTARYCTL, "-c", d.conf, "import", b],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    probes = threading.Thread(target=queries)
    probes.start()
    # The import parses its whole file before it writes; wait for its
    # first megabyte of writes, hold it there while the backup starts,
    # then let it go on: the backup is hot on any machine speed.
    writing = wait_writing(imp.pid, 1 << 20, 60)
    os.kill(imp.pid, signal.SIGSTOP)
    busy = writing and imp.poll() is None
    hot = os.path.join(d.dir, "hot")
    bk = subprocess.Popen([NOTARYCTL, "-c", d.conf, "backup", hot],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    time.sleep(0.3)
    os.kill(imp.pid, signal.SIGCONT)
    out, err = bk.communicate(timeout=300)
    rc = bk.returncode
    probes.join(30)
    iout, ierr = imp.communicate(timeout=300)
    t.ok(rc == 0 and "backed up" in out, "backup during an import", err)
    t.ok(busy, "the import was writing when the backup started (the "
         "backup was hot)")
    t.eq(imp.returncode, 0, "the import finished normally")
    t.ok(not glob.glob(os.path.join(hot, "db", "__db.*")),
         "the copy holds no region files")
    ok, out = verify(os.path.join(hot, "db"))
    t.ok(ok, "db5.3_verify on the hot copy", out)
    rc, live, err = ctl(d.conf, ["export"])
    rc2, copy, err2 = ctl(d.conf, ["export"], data_dir=hot)
    t.ok(rc == 0 and rc2 == 0, "export of the live data and of the copy",
         err + err2)
    live_s, copy_s = spans(live), spans(copy)
    a_s = set(ln for ln in live_s if ln.startswith("(a"))
    t.eq(len(a_s), 20000, "the live export holds the first import")
    t.ok(a_s <= copy_s and copy_s <= live_s,
         "the hot copy holds the first import and nothing the daemon does "
         "not hold", "%d in the copy, %d live" % (len(copy_s), len(live_s)))
    t.ok((len(copy_s) - 20000) % 1000 == 0,
         "the copy holds whole import transactions (1,000 spans each): "
         "%d of the second import" % (len(copy_s) - 20000))

    # Quiescent: the copy is the same data.
    quiet = os.path.join(d.dir, "quiet")
    rc, out, err = ctl(d.conf, ["backup", quiet])
    t.ok(rc == 0, "backup of the idle environment", err)
    rc, copy, err = ctl(d.conf, ["export"], data_dir=quiet)
    t.ok(rc == 0 and spans(copy) == live_s and len(live_s) == 320000,
         "the copy exports the same 320,000 spans as the live data",
         "%d vs %d" % (len(spans(copy)), len(live_s)))
    rc, out, err = ctl(d.conf, ["backup", quiet])
    t.ok(rc == 1 and "not empty" in err,
         "backup refuses a directory that is not empty", err)
    rc, out, err = ctl(d.conf, ["backup"])
    t.eq(rc, 2, "backup without DIR is a usage error")
    h = d.health()
    t.ok(h is not None and h[0] == 200, "the daemon is healthy throughout")
    t.ok("killed by signal" not in d.logtext() and
         "recovery" not in d.logtext().split("ready:", 1)[-1],
         "no crash and no recovery after the start", d.logtext()[-1500:])
    t.eq(d.stop(), 0, "clean stop")
finally:
    d.cleanup()
t.done()
