#!/usr/bin/python3
"""test_install - "make install" gives a daemon that starts.

configure + make install into a scratch prefix (--prefix, --sysconfdir,
--localstatedir and --runstatedir all under one temporary directory), as
the user running the test; then the installed SysV script
(PREFIX/etc/init.d/notaryd, reading PREFIX/etc/default/notaryd) runs
start, status, reload and stop while the daemon answers HTTP on a free
loopback port, and the installed config stays byte for byte what make
install wrote; a second make install keeps an edited config.  The
installed systemd unit must pass "systemd-analyze verify" when that
command exists (TAP skip otherwise).

Only the scratch prefix is used, also as root in CI: the real /etc and
/var are never touched.  Run as root, make install (notaryd-setup) creates
the system user "notaryd" if it is missing, as it would on a real machine,
and the test checks that the children run as that user.
Every command has a time limit; the whole test takes well under 15 min.
"""
import hashlib
import json
import os
import pwd
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ndtest  # noqa: E402

DAEMON_USER = "notaryd"		# configure's --with-daemon-user default


class Skip:
    """TAP lines for checks that cannot run here."""

    def __init__(self, t):
        self.t = t

    def skip(self, name, why):
        self.t.n += 1
        print("ok %d - %s # SKIP %s" % (self.t.n, name, why), flush=True)


def build_env():
    """The test's environment without what an outer make passes down."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES",
              "DESTDIR", "CONFIG_SITE"):
        env.pop(k, None)
    return env


def run(cmd, timeout, env=None, cwd=None):
    """Run cmd; return (exit status or None on timeout, output)."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout,
                           env=env or build_env(), cwd=cwd)
    except subprocess.TimeoutExpired as e:
        out = e.stdout or b""
        return None, out.decode(errors="replace") + "\n(timed out)"
    return p.returncode, p.stdout.decode(errors="replace")


def sha256(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def read_pid(path):
    try:
        return int(read(path).strip())
    except ValueError:
        return None


def proc_uid(pid):
    for line in read("/proc/%d/status" % pid).splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    return None


def kill_tree(pid):
    """Last resort after a failed stop: KILL the master and its children."""
    if not pid or not ndtest.pid_alive(pid):
        return
    kids = ndtest.proc_children(pid)
    for p in [pid] + list(kids):
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    ndtest.wait_until(lambda: not ndtest.pid_alive(pid), 5)


def build_features():
    """--enable/--disable options of the build under test (e.g. ASan), read
    from its config.status, so that the installed daemon is built alike."""
    rc, out = run(["./config.status", "--config"], 30)
    if rc != 0:
        return []
    return [a for a in shlex.split(out)
            if a.startswith("--enable-") or a.startswith("--disable-")]


def install(t, srcdir, top, prefix):
    """configure + make install; the build directory, or None."""
    build = os.path.join(top, "build")
    os.mkdir(build)
    features = build_features()
    rc, out = run([os.path.join(srcdir, "configure"), "-q"] + features +
                  ["--prefix=" + prefix,
                   "--sysconfdir=" + prefix + "/etc",
                   "--localstatedir=" + prefix + "/var",
                   "--runstatedir=" + prefix + "/run"], 300, cwd=build)
    if not t.eq(rc, 0, " ".join(["configure with a scratch prefix"] +
                                features)):
        print("# " + "\n# ".join(out.splitlines()[-30:]))
        return None
    jobs = "-j%d" % min(2, os.cpu_count() or 1)
    rc, out = run(["nice", "make", jobs, "install"], 900, cwd=build)
    if not t.ok(rc == 0, "make install", out):
        return None
    return build


def check_files(t, prefix):
    etc = prefix + "/etc"
    conf = read(etc + "/notaryd.yaml")
    t.ok(os.access(etc + "/init.d/notaryd", os.X_OK),
         "init script installed as sysconfdir/init.d/notaryd")
    t.ok(os.path.isfile(etc + "/default/notaryd") and
         os.path.isfile(etc + "/logrotate.d/notaryd"),
         "default/notaryd and logrotate.d/notaryd installed")
    want = ["  data_dir: %s/var/lib/notaryd" % prefix,
            "  pidfile: %s/run/notaryd/notaryd.pid" % prefix,
            "  target: %s/var/log/notaryd/notaryd.log" % prefix,
            '  user: "%s"' % DAEMON_USER]
    lines = conf.splitlines()
    t.ok(all(w in lines for w in want),
         "installed config names the installed paths", "\n".join(
             w for w in want if w not in lines))
    t.eq(sha256(etc + "/notaryd.yaml"),
         sha256(prefix + "/share/notaryd/notaryd.yaml.sample"),
         "installed config equals share/notaryd/notaryd.yaml.sample")
    logrotate = read(etc + "/logrotate.d/notaryd")
    init = read(etc + "/init.d/notaryd")
    t.ok("%s/var/log/notaryd/notaryd.log {" % prefix in logrotate and
         "%s/run/notaryd/notaryd.pid" % prefix in logrotate,
         "logrotate file names the log file and the pid file")
    t.ok("PIDFILE=%s/run/notaryd/notaryd.pid" % prefix in init and
         "CONFIG=%s/etc/notaryd.yaml" % prefix in init and
         ". %s/etc/default/notaryd" % prefix in init,
         "init script names the pid file, the config and its defaults")


def write_defaults(prefix, port):
    """Operator settings in PREFIX/etc/default/notaryd, as on Debian."""
    opts = ('-o http.listen=["127.0.0.1:%d"] -o ctwatch.enabled=false '
            '-o cache.size=4M -o stream.ring_size=1M '
            '-o database.cache_size=4M -o daemon.stop_timeout=5s' % port)
    with open(prefix + "/etc/default/notaryd", "a") as f:
        f.write("\n# test_install.py\nDAEMON_OPTS='%s'\nNOFILE=\"\"\n" % opts)


def init_env():
    env = build_env()
    # On a systemd host, init-functions would hand /etc/init.d scripts to
    # systemctl; this one is not there, but be explicit.
    env["_SYSTEMCTL_SKIP_REDIRECT"] = "1"
    return env


def health(port):
    r = ndtest.get(port, "/healthz", timeout=3)
    if r is None or r[0] != 200:
        return None
    try:
        return json.loads(r[2])
    except ValueError:
        return None


def lifecycle(t, sk, prefix, port):
    """start, status, reload, stop with the installed script."""
    script = prefix + "/etc/init.d/notaryd"
    pidfile = prefix + "/run/notaryd/notaryd.pid"
    logfile = prefix + "/var/log/notaryd/notaryd.log"
    env = init_env()

    rc, out = run([script, "configtest"], 60, env=env)
    t.ok(rc == 0, "init.d configtest", "exit %r: %s" % (rc, out))
    rc, out = run([script, "start"], 120, env=env)
    if not t.ok(rc == 0, "init.d start", "exit %r: %s" % (rc, out)):
        print("# " + "\n# ".join(read(logfile).splitlines()[-30:]))
        return read_pid(pidfile)
    master = read_pid(pidfile)
    t.ok(master is not None and ndtest.pid_alive(master),
         "pid file names a running master")
    h = ndtest.wait_until(lambda: health(port), 30)
    t.ok(h is not None and h.get("status") == "ok",
         "daemon answers /healthz on its loopback port", h)
    gen = h.get("generation") if h else None
    r = ndtest.get(port, "/", timeout=3)
    t.ok(r is not None and r[0] == 200, "daemon answers GET / (200)",
         r and r[0])
    if os.getuid() == 0 and master:
        uid = pwd.getpwnam(DAEMON_USER).pw_uid
        kids = ndtest.proc_children(master)
        t.ok(kids and all(proc_uid(k) == uid for k in kids),
             "children run as %s" % DAEMON_USER,
             {k: proc_uid(k) for k in kids})
        t.eq(os.stat(prefix + "/var/lib/notaryd").st_uid, uid,
             "data_dir belongs to %s" % DAEMON_USER)
    else:
        sk.skip("children run as %s" % DAEMON_USER, "not root")
        sk.skip("data_dir belongs to %s" % DAEMON_USER, "not root")

    rc, out = run([script, "status"], 30, env=env)
    t.ok(rc == 0 and "running" in out, "init.d status while running "
         "(exit 0)", "exit %r: %s" % (rc, out))

    rc, out = run([script, "reload"], 60, env=env)
    t.ok(rc == 0, "init.d reload", "exit %r: %s" % (rc, out))
    h2 = ndtest.wait_until(
        lambda: (lambda x: x if x and gen is not None and
                 x.get("generation") == gen + 1 and
                 x.get("status") == "ok" else None)(health(port)), 20)
    t.ok(h2 is not None, "reload: the daemon answers with generation "
         "%r" % ((gen or 0) + 1), health(port))
    t.ok(master is not None and ndtest.pid_alive(master) and
         read_pid(pidfile) == master, "reload: same master keeps running")
    t.ok("reload: configuration generation" in read(logfile),
         "reload logged in the installed log file")

    rc, out = run([script, "stop"], 90, env=env)
    t.ok(rc == 0, "init.d stop", "exit %r: %s" % (rc, out))
    gone = ndtest.wait_until(lambda: master is None or
                             not ndtest.pid_alive(master), 15)
    t.ok(gone, "stop: the master exited")
    t.ok(not os.path.exists(pidfile), "stop: pid file removed")
    t.ok(ndtest.get(port, "/healthz", timeout=2) is None,
         "stop: nothing listens on the port any more")
    rc, out = run([script, "status"], 30, env=env)
    t.eq(rc, 3, "init.d status after stop exits 3 (not running)")
    return master


def reinstall(t, build, prefix):
    """A second make install keeps an edited config and defaults."""
    conf = prefix + "/etc/notaryd.yaml"
    with open(conf, "a") as f:
        f.write("# edited by the operator\n")
    before = sha256(conf)
    defaults = sha256(prefix + "/etc/default/notaryd")
    rc, out = run(["make", "install"], 300, cwd=build)
    t.ok(rc == 0, "second make install", out)
    t.eq(sha256(conf), before, "second make install keeps the edited "
         "config")
    t.ok("keeping the existing %s" % conf in out,
         "make install says it keeps the config", out)
    t.eq(sha256(prefix + "/etc/default/notaryd"), defaults,
         "second make install keeps default/notaryd")


def verify_unit(t, sk, prefix):
    name = "systemd-analyze verify on the installed notaryd.service"
    sa = shutil.which("systemd-analyze")
    if sa is None:
        sk.skip(name, "no systemd-analyze")
        return
    env = build_env()
    # Documentation= names man pages: look for the installed ones (with
    # man-db; without it, verify cannot check them).
    env["MANPATH"] = prefix + "/share/man"
    man = [] if shutil.which("man") else ["--man=no"]
    rc, out = run([sa, "verify"] + man +
                  [prefix + "/share/notaryd/init/notaryd.service"], 120,
                  env=env)
    # verify exits 0 on some warnings ("Unknown key", "Failed to parse"):
    # any output is a failure.
    t.ok(rc == 0 and out.strip() == "", name, "exit %r: %s" % (rc, out))


def main():
    t = ndtest.Tap()
    sk = Skip(t)
    srcdir = os.path.abspath(ndtest.SRCDIR)
    for need in ("make", "start-stop-daemon"):
        if shutil.which(need, path=os.environ.get("PATH", "") +
                        ":/sbin:/usr/sbin") is None:
            print("1..0 # SKIP no %s" % need)
            return 0
    if not os.path.exists("/lib/lsb/init-functions"):
        print("1..0 # SKIP no /lib/lsb/init-functions (sysvinit-utils)")
        return 0
    top = tempfile.mkdtemp(prefix="notaryd-install-")
    # As root the children run as notaryd and must reach data_dir.
    os.chmod(top, 0o755)
    prefix = os.path.join(top, "prefix")
    master = None
    start = time.monotonic()
    try:
        build = install(t, srcdir, top, prefix)
        if build is not None:
            check_files(t, prefix)
            conf_sum = sha256(prefix + "/etc/notaryd.yaml")
            port = ndtest.free_port()
            write_defaults(prefix, port)
            master = lifecycle(t, sk, prefix, port)
            t.eq(sha256(prefix + "/etc/notaryd.yaml"), conf_sum,
                 "installed config untouched by start/reload/stop")
            reinstall(t, build, prefix)
            verify_unit(t, sk, prefix)
    finally:
        kill_tree(master)
        shutil.rmtree(top, ignore_errors=True)
    print("# %.1f s" % (time.monotonic() - start))
    t.done()


if __name__ == "__main__":
    sys.exit(main())
