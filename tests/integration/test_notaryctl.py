"""notaryctl: import and export in the Perspectives dump format (exact
output, byte-for-byte round trips, idempotent re-import), invalid imports
that import nothing, list-services modes without duplicates, show, usage
and configuration errors (exit 2), and import/export next to a running
daemon.  Every data_dir is a fresh temporary directory."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import NOTARYD, Daemon, Tap  # noqa: E402

NOTARYCTL = os.path.join(os.path.dirname(NOTARYD), "notaryctl")
EPOCH = "1700000000"                    # fixes the export header's date
HEADER = "# notaryd export 2023-11-14T22:13:20Z\n"
DAY = 86400

t = Tap()
top = tempfile.mkdtemp(prefix="notaryctl-test-")


def fp(n):
    """A fingerprint whose 16 bytes are all n."""
    return ":".join(["%02x" % n] * 16)


def make_conf(name, extra=""):
    d = os.path.join(top, name)
    os.makedirs(d)
    conf = os.path.join(d, "notaryd.yaml")
    with open(conf, "w") as f:
        f.write("daemon:\n  data_dir: %s\ndatabase:\n  cache_size: 4M\n%s"
                % (os.path.join(d, "var"), extra))
    return conf


def ctl(conf, args, stdin=None, epoch=True):
    env = dict(os.environ)
    if epoch:
        env["SOURCE_DATE_EPOCH"] = EPOCH
    cmd = [NOTARYCTL] + (["-c", conf] if conf else []) + args
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                       env=env, timeout=120)
    return p.returncode, p.stdout, p.stderr


def write(name, text):
    path = os.path.join(top, name)
    with open(path, "w") as f:
        f.write(text)
    return path


FIXTURE = """# a hand-written Perspectives dump: comments, blank lines, odd spacing

(www.example.org:443,2, %(a)s, 1300000000, 1300086400)
   (www.example.org:443,2,%(b)s,1300086401,1300172800)   \t
(www.example.org:443,2, %(a)s, 1300172801, 1300259200)
\t
([2001:db8::1]:443,2, %(c)s, 100, 200)
# type 1 (ssh) rows are served, so they import too
(git.example.org:22,1, %(d)s, 1000, 2000)
(unscanned.example:443,2, None, None, None)
(192.0.2.7:8443,2, %(e)s, 5, 5)
(WWW.Example.ORG:443,2, %(a)s, 7, 9)
""" % {"a": fp(0xa0), "b": fp(0x0b), "c": fp(0xcc), "d": fp(0xdd),
       "e": fp(0xee)}

# Service byte order ('1' < 'W' < '[' < 'g' < 'u' < 'w'), then key, start.
EXPECTED = HEADER + """(192.0.2.7:8443,2, %(e)s, 5, 5)
(WWW.Example.ORG:443,2, %(a)s, 7, 9)
([2001:db8::1]:443,2, %(c)s, 100, 200)
(git.example.org:22,1, %(d)s, 1000, 2000)
(unscanned.example:443,2, None, None, None)
(www.example.org:443,2, %(b)s, 1300086401, 1300172800)
(www.example.org:443,2, %(a)s, 1300000000, 1300086400)
(www.example.org:443,2, %(a)s, 1300172801, 1300259200)
""" % {"a": fp(0xa0), "b": fp(0x0b), "c": fp(0xcc), "d": fp(0xdd),
       "e": fp(0xee)}

try:
    if not t.ok(os.access(NOTARYCTL, os.X_OK), "notaryctl is built",
                NOTARYCTL):
        t.done()

    # ---- import a fixture, export it exactly -------------------------
    c1 = make_conf("one")
    fixture = write("fixture.txt", FIXTURE)
    rc, out, err = ctl(c1, ["import", fixture])
    t.eq((rc, out), (0, "imported 7 spans for 6 services\n"),
         "import the fixture: 7 spans, 6 services")
    t.eq(err, "", "import writes nothing to stderr")
    rc, out, err = ctl(c1, ["export"])
    t.eq(rc, 0, "export exits 0")
    t.ok(out == EXPECTED, "export is the normalised fixture, byte for byte",
         "got:\n" + out + "want:\n" + EXPECTED)
    rc, out2, err = ctl(c1, ["export", "-"])
    t.eq(out2, out, "'export -' writes the same to stdout")
    dump = os.path.join(top, "dump.txt")
    rc, out3, err = ctl(c1, ["export", dump])
    with open(dump) as f:
        t.ok(rc == 0 and f.read() == out,
             "export FILE writes the same file", err)
    t.eq(out3, "exported 7 spans for 6 services to %s\n" % dump,
         "export FILE reports what it wrote")
    t.eq([n for n in os.listdir(top) if n.startswith("dump.txt.")], [],
         "no temporary file left next to the dump")

    # re-import: nothing new, nothing changed
    rc, out, err = ctl(c1, ["import", fixture])
    t.eq((rc, out), (0, "imported 0 spans for 6 services "
                        "(7 already present)\n"),
         "importing the same file again is a no-op")
    rc, out, err = ctl(c1, ["export"])
    t.eq(out, EXPECTED, "export unchanged after the re-import")

    # ---- round trip through a fresh data_dir -------------------------
    c2 = make_conf("two")
    rc, out, err = ctl(c2, ["import", "-"], stdin=EXPECTED)
    t.eq((rc, out), (0, "imported 7 spans for 6 services\n"),
         "import the export from stdin into a fresh data_dir")
    rc, out, err = ctl(c2, ["export"])
    t.eq(out, EXPECTED, "export -> import -> export is byte-identical")

    # a bigger round trip: 300 services x 3 keys x 2 spans
    lines = []
    for s in range(300):
        for k in (0x01, 0x7f, 0xfe):
            lines.append("(h%03d.example:443,2, %s, %d, %d)\n"
                         % (s, fp(k), 10 * k, 10 * k + 5))
            lines.append("(h%03d.example:443,2, %s, %d, %d)\n"
                         % (s, fp(k), 10 * k + 6, 10 * k + 9))
    big = write("big.txt", "".join(reversed(lines)))
    c3 = make_conf("three")
    rc, out, err = ctl(c3, ["import", big])
    t.eq((rc, out), (0, "imported 1800 spans for 300 services\n"),
         "import 1800 spans in reverse order")
    rc, out, err = ctl(c3, ["export"])
    t.ok(out == HEADER + "".join(sorted(lines)),
         "1800 spans come back sorted by service, key, start")

    # ---- invalid files import nothing ----------------------------------
    c4 = make_conf("four")
    bad = write("bad.txt",
                "(ok.example:443,2, %s, 1, 2)\n"
                "(ok.example:443,2, %s, 3, 4)\n"
                "# fine\n"
                "(ok.example:443,2, %s, 300, 200)\n"
                "(other.example:443,2, %s, 10, 20)\n"
                % (fp(1), fp(0xab).upper(), fp(2), fp(3)))
    rc, out, err = ctl(c4, ["import", bad])
    t.eq(rc, 1, "a file with 2 bad lines: exit 1")
    t.ok("bad.txt:2:" in err and "uppercase" in err,
         "the uppercase fingerprint is reported with its line", err)
    t.ok("bad.txt:4:" in err and "after end" in err,
         "start > end is reported with its line", err)
    t.ok(err.count("bad.txt:") == 3 and "nothing imported" in err,
         "only the bad lines are reported, and nothing imported", err)
    rc, out, err = ctl(c4, ["export"])
    t.eq((rc, out), (0, HEADER), "the export is still empty")
    rc, out, err = ctl(c4, ["list-services"])
    t.eq(out, "", "no service was registered either")

    cases = [
        ("(x.example:443,2, %s, 1, 2" % fp(1), "expected ("),
        ("(x_y.example:443,2, %s, 1, 2)" % fp(1), "bad service id"),
        ("(::1:443,2, %s, 1, 2)" % fp(1), "bad service id"),
        ("(x.example:443,3, %s, 1, 2)" % fp(1), "bad service id"),
        ("(x.example:443,2, %s, 1, 2)" % fp(1)[:-3], "colon-hex"),
        ("(x.example:443,2, %s, -1, 2)" % fp(1), "times in seconds"),
        ("(x.example:443,2, %s, 1, 253402300800)" % fp(1),
         "times in seconds"),
        ("(x.example:443,2, None, None, 5)", "colon-hex"),
        ("x" * 2000, "longer than"),
    ]
    text = "".join(line + "\n" for line, _ in cases)
    rc, out, err = ctl(c4, ["import", "-"], stdin=text)
    t.eq(rc, 1, "malformed lines: exit 1")
    for i, (line, why) in enumerate(cases, 1):
        t.ok("stdin:%d: " % i in err and why in
             [ln for ln in err.splitlines() if "stdin:%d: " % i in ln][0],
             "line %d refused: %s" % (i, why), err)

    # overlaps: within the file, and with stored spans
    rc, out, err = ctl(c4, ["import", "-"], stdin=(
        "(o.example:443,2, %s, 100, 200)\n"
        "(o.example:443,2, %s, 150, 250)\n" % (fp(1), fp(1))))
    t.ok(rc == 1 and "stdin:2: overlaps the span on line 1" in err,
         "overlapping spans of one key in the file are refused", err)
    rc, out, err = ctl(c1, ["import", "-"], stdin=(
        "(new.example:443,2, %s, 1, 2)\n"
        "(www.example.org:443,2, %s, 1300000100, 1300000200)\n"
        % (fp(1), fp(0xa0))))
    t.ok(rc == 1 and "stdin:2: overlaps the stored span" in err,
         "a span overlapping a stored one is refused", err)
    rc, out, err = ctl(c1, ["export"])
    t.eq(out, EXPECTED, "and the good line of that file was not imported")

    # ---- list-services ----------------------------------------------------
    now = int(time.time())
    c5 = make_conf("five")
    spans = [
        ("old.example:443,2", 1, now - 40 * DAY, now - 20 * DAY),
        ("new.example:443,2", 1, now - 40 * DAY, now - 30 * DAY),
        ("new.example:443,2", 2, now - 2 * DAY, now - 1 * DAY),
        ("mixed.example:443,2", 3, now - 5 * DAY, now - 3 * DAY),
        ("mixed.example:443,2", 4, now - 3 * DAY + 1, now - 2 * DAY),
        ("mixed.example:443,2", 3, now - 2 * DAY + 1, now - 2 * DAY + 5),
    ]
    text = "".join("(%s, %s, %d, %d)\n" % (s, fp(k), a, b)
                   for s, k, a, b in spans)
    text += "(reg.example:443,2, None, None, None)\n"
    rc, out, err = ctl(c5, ["import", "-"], stdin=text)
    t.ok(rc == 0, "import spans at controlled times", err)

    def listing(args):
        rc, out, err = ctl(c5, ["list-services"] + args)
        return rc, out.splitlines()

    everything = ["mixed.example:443,2", "new.example:443,2",
                  "old.example:443,2", "reg.example:443,2"]
    t.eq(listing([]), (0, everything), "list-services: every service")
    t.eq(listing(["--all"]), (0, everything), "--all is the default")
    t.eq(listing(["--newer", "10"]),
         (0, ["mixed.example:443,2", "new.example:443,2"]),
         "--newer 10: once each, though several spans match")
    t.eq(listing(["--newer"]), listing(["--newer", "10"]),
         "--newer without DAYS means 10")
    t.eq(listing(["--older", "10"]), (0, ["old.example:443,2"]),
         "--older 10: services whose newest span is older")
    t.eq(listing(["--older", "25"]), (0, []),
         "--older 25: old.example's newest span is 20 days old")
    t.eq(listing(["--newer", "1"]), (0, []),
         "--newer 1: nothing ended within a day")
    t.eq(listing(["--newer", "0"]), (0, []), "--newer 0: nothing")
    t.eq(listing(["--older", "0"]),
         (0, ["mixed.example:443,2", "new.example:443,2",
              "old.example:443,2"]),
         "--older 0: every service with spans, none without")
    for args in (["--bogus"], ["--newer", "x"], ["--newer", "-1"],
                 ["--all", "3"], ["extra"], ["--older", "1", "2"]):
        rc, out, err = ctl(c5, ["list-services"] + args)
        t.eq(rc, 2, "list-services %s: usage error" % " ".join(args))

    # ---- show -------------------------------------------------------------
    rc, out, err = ctl(c5, ["show", "mixed.example:443,2"])
    t.eq(rc, 0, "show exits 0")
    rows = [ln for ln in out.splitlines() if ln[:2] == "20"]
    t.eq(len(rows), 3, "show prints the 3 spans")
    t.ok(rows and fp(3) in rows[0] and fp(4) in rows[1] and
         fp(3) in rows[2], "in the order of their start", out)
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                        time.gmtime(now - 5 * DAY))
    t.ok(rows and rows[0].startswith(iso), "times in ISO 8601 UTC", out)
    t.ok("spans       3" in out and "service     mixed.example:443,2" in out,
         "with the service and its span count", out)
    rc, out, err = ctl(c5, ["show", "reg.example:443,2"])
    t.ok(rc == 0 and "spans       0" in out and "first seen" in out,
         "show a service without spans: its probe state", out + err)
    rc, out, err = ctl(c5, ["show", "nosuch.example:443,2"])
    t.eq(rc, 1, "show of an unknown service: exit 1")
    rc, out, err = ctl(c5, ["show", "bad_id:443,2"])
    t.eq(rc, 2, "show of an invalid id: exit 2")
    rc, out, err = ctl(c5, ["show"])
    t.eq(rc, 2, "show without a service: exit 2")

    # ---- usage and configuration -----------------------------------------
    for args, what in (([], "no command"), (["frobnicate"], "unknown command"),
                       (["keygen", "extra"], "keygen with an argument"),
                       (["scan", "a", "b"], "scan with 2 files"),
                       (["-Z", "export"], "unknown flag"),
                       (["-o", "novalue", "export"], "-o without '='"),
                       (["export", "a", "b"], "export with 2 files"),
                       (["import", "a", "b"], "import with 2 files")):
        rc, out, err = ctl(c5, args)
        t.eq(rc, 2, "%s: exit 2" % what)
    rc, out, err = ctl(c5, ["-h"])
    t.ok(rc == 0 and "usage: notaryctl" in out and "list-services" in out,
         "-h prints usage, exit 0")
    badconf = write("bad.yaml", "daemon:\n  data_dri: /tmp/x\n")
    rc, out, err = ctl(badconf, ["list-services"])
    t.ok(rc == 2 and "bad.yaml:2:3: daemon.data_dri" in err,
         "bad config: exit 2, error names file:line:column and key", err)
    rc, out, err = ctl(os.path.join(top, "missing.yaml"), ["export"])
    t.eq(rc, 2, "missing config file: exit 2")
    rc, out, err = ctl(c5, ["-o", "database.cache_size=lots", "export"])
    t.ok(rc == 2 and "-o database.cache_size" in err,
         "bad -o value: exit 2, named as -o KEY", err)
    rc, out, err = ctl(c5, ["import", os.path.join(top, "missing.txt")])
    t.eq(rc, 1, "import of a missing file: exit 1")
    rc2, out2, err2 = ctl(c5, ["export", os.path.join(top, "no", "dir")])
    t.eq(rc2, 1, "export into a missing directory: exit 1")
    env = dict(os.environ, SOURCE_DATE_EPOCH="soon")
    p = subprocess.run([NOTARYCTL, "-c", c5, "export"], env=env,
                       capture_output=True, text=True, timeout=60)
    t.eq(p.returncode, 2, "a bad SOURCE_DATE_EPOCH is a usage error")

    # ---- keygen ------------------------------------------------------------
    ck = make_conf("keygen")
    rc, out, err = ctl(ck, ["keygen"])
    kdir = os.path.join(os.path.dirname(ck), "var", "keys")
    priv = os.path.join(kdir, "notary.priv")
    t.ok(rc == 0 and out.startswith("-----BEGIN PUBLIC KEY-----") and
         "created" in err, "keygen creates the pair and prints the key",
         err)
    t.eq(oct(os.stat(priv).st_mode & 0o777) if os.path.exists(priv)
         else None, "0o600", "keygen: private key mode 0600")
    rc2, out2, err2 = ctl(ck, ["keygen"])
    t.ok(rc2 == 0 and out2 == out and "created" not in err2,
         "keygen again: same key, nothing created")
    if os.path.exists(priv):
        os.chmod(priv, 0o644)
        rc3, _, err3 = ctl(ck, ["keygen"])
        t.ok(rc3 == 1 and "notary.priv" in err3,
             "keygen refuses a private key readable by others", err3)

    # ---- scan --------------------------------------------------------------
    sd = os.path.join(top, "scan-tls")
    os.makedirs(sd)
    key, crt = os.path.join(sd, "k.pem"), os.path.join(sd, "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "2", "-subj", "/CN=scan"],
                   capture_output=True, check=True)
    want = subprocess.run(["openssl", "x509", "-in", crt, "-noout",
                           "-fingerprint", "-md5"], capture_output=True,
                          text=True).stdout.strip().split("=")[1].lower()
    from ndtest import free_port
    tport, dead = free_port(), free_port()
    srv = subprocess.Popen(["openssl", "s_server", "-accept",
                            "127.0.0.1:%d" % tport, "-key", key, "-cert",
                            crt, "-www", "-quiet"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        import socket
        import time
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", tport), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        cs = make_conf("scan", "scanner:\n  allow: [127.0.0.0/8]\n"
                       "  timeout: 10s\n")
        ids = ("127.0.0.1:%d,2\n127.0.0.1:%d,2\n# comment\n\n"
               "127.0.0.1:%d,2\nnot an id\n" % (tport, tport, dead))
        rc, out, err = ctl(cs, ["scan", "-"], stdin=ids)
        t.eq((rc, out), (0, "scanned 2 services, ok 1, refused 1, "
                         "invalid 1\n"),
             "scan: probes each id once and sums up per result class")
        t.ok("stdin:6:" in err, "scan names the invalid line", err)
        rc, out, err = ctl(cs, ["export"])
        t.ok(("(127.0.0.1:%d,2, %s, " % (tport, want)) in out,
             "scan recorded the MD5 that openssl x509 shows", out)
        rc, out, err = ctl(cs, ["show", "127.0.0.1:%d,2" % tport])
        t.ok(rc == 0 and want in out, "show lists the scanned key")
        # The Perspectives cron pipeline.
        rc, lst, _ = ctl(cs, ["list-services"])
        rc, out, err = ctl(cs, ["scan", "-"], stdin=lst)
        t.ok(rc == 0 and out.startswith("scanned 2 services, ok 1, "
                                        "refused 1"),
             "list-services | scan - rescans the known services", out)
        deny = make_conf("scan-deny", "scanner:\n  timeout: 2s\n")
        rc, out, err = ctl(deny, ["scan", "-"],
                           stdin="127.0.0.1:%d,2\n" % tport)
        t.eq(out, "scanned 1 services, denied 1\n",
             "without scanner.allow, loopback is denied")
    finally:
        srv.terminate()
        srv.wait(5)

    # ---- next to a running daemon ----------------------------------------
    d = Daemon(extra_yaml="scanner:\n  rescan_interval: 0s\n")
    try:
        started = True
        try:
            d.start()
        except RuntimeError as e:
            started = False
            t.ok(False, "daemon starts", str(e))
        if started:
            kids = d.children()
            rc, out, err = ctl(d.conf, ["import", fixture])
            t.eq((rc, out), (0, "imported 7 spans for 6 services\n"),
                 "import while the daemon runs")
            rc, out, err = ctl(d.conf, ["export"])
            t.eq(out, EXPECTED, "export while the daemon runs")
            t.ok(d.health() is not None and d.health()[0] == 200,
                 "the daemon is still healthy", d.logtext())
            t.eq(d.children(), kids,
                 "no child of the daemon was restarted (no recovery)")
            t.eq(d.stop(), 0, "the daemon stops cleanly afterwards")
    finally:
        d.cleanup()
finally:
    shutil.rmtree(top, ignore_errors=True)

t.done()
