#!/usr/bin/python3
"""A real nginx (Debian nginx-light) in front of notaryd on loopback
ports, configured with the shipped init/nginx-notaryd.conf (only its
ports and log path changed), the stream fed by a fake CT log
(tests/ctlog) that the real ctwatch follows: websocket streams on every
path, the npm
certstream client and a pinging python3-websockets client, SSE without
buffering, filters, a Perspectives query, /example.json, /stats and
/metrics (no address), and the per-address limit applied to the address
nginx forwards."""
import asyncio
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import Daemon, Tap, free_port, get, wait_until  # noqa: E402
from streamtest import WS, CTFeed, seen_of  # noqa: E402

t = Tap()
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
if not os.path.exists(NGINX):
    t.ok(True, "# SKIP nginx not installed (nginx-light)")
    t.done()
    sys.exit(0)
HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("NOTARYD_SRCDIR", os.path.join(HERE, "..", ".."))
NODE_CLIENT = os.path.join(HERE, "certstream_client.js")
NODE_MOD = os.path.join(HERE, "..", "node", "node_modules", "certstream")

feed = CTFeed()
d = Daemon(workers=2, ctwatch=feed.ctwatch_yaml())
d.write_conf(text=d.base_yaml().replace(
    "stream:\n  ring_size: 1M\n",
    "stream:\n  ring_size: 4M\n  ping_interval: 1s\n  idle_timeout: 3s\n"
    "  max_clients_per_ip: 4\n").replace(
    "http:\n", "http:\n  trusted_proxies: [\"127.0.0.1\"]\n"))
nport = free_port()
ndir = os.path.join(d.dir, "nginx")
os.makedirs(os.path.join(ndir, "logs"))
os.chmod(d.dir, 0o755)
with open(os.path.join(SRC, "init", "nginx-notaryd.conf")) as f:
    site = f.read()
site = site.replace("server 127.0.0.1:8080;", "server 127.0.0.1:%d;" % d.port)
site = site.replace("\tlisten 80;\n", "\tlisten 127.0.0.1:%d;\n" % nport)
site = site.replace("\tlisten [::]:80;\n", "")
site = site.replace("/var/log/nginx/notaryd-error.log",
                    os.path.join(ndir, "error.log"))
with open(os.path.join(ndir, "notaryd.conf"), "w") as f:
    f.write(site)
with open(os.path.join(ndir, "nginx.conf"), "w") as f:
    f.write("worker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log;"
            "\nevents { worker_connections 512; }\nhttp {\n"
            "    client_body_temp_path %s/tmp;\n    proxy_temp_path %s/tmp;\n"
            "    include %s/notaryd.conf;\n}\n" %
            (ndir, ndir, ndir, ndir, ndir))
ngx = None


def no_address(text):
    return not re.search(rb"\d+\.\d+\.\d+\.\d+",
                         text.replace(feed.url.encode(), b"LOG"))


try:
    d.start()
    ngx = subprocess.Popen([NGINX, "-p", ndir, "-c",
                            os.path.join(ndir, "nginx.conf"),
                            "-g", "daemon off;"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t.ok(wait_until(lambda: get(nport, "/healthz") is not None, 30),
         "nginx with the shipped config is up")

    # -- websocket streams through nginx ------------------------------------
    t.ok(feed.following(d), "ctwatch follows the test log")
    ws = [(WS(nport, p), k) for p, k in (("/", "lite"),
                                         ("/full-stream/", "full"),
                                         ("/domains-only", "domains"))]
    t.ok(all(c.status == 101 for c, _ in ws), "websocket upgrades via nginx",
         [c.head for c, _ in ws])
    es = feed.publish(30)
    for c, k in ws:
        got = c.data_frames(30, timeout=30)
        t.ok(got == feed.want(es, k, got),
             "via nginx: %s gets all 30 entries exactly" % k)
    # they are at the per-address limit of 4 with one more: nginx forwards
    # 127.0.0.1 for all of us
    w4 = WS(nport, "/")
    w5 = WS(nport, "/")
    t.ok(w4.status == 101 and w5.status == 429,
         "the per-address limit applies to the address nginx forwards",
         w5.head)
    for c in [c for c, _ in ws] + [w4, w5]:
        c.close()

    def users():
        r = get(d.port, "/stats")
        return json.loads(r[2])["current_users"] if r and r[0] == 200 \
            else None
    # nginx and the daemon have seen the closes: the pinger below takes
    # a place under the same per-address limit
    t.ok(wait_until(lambda: users() == 0, 30, 0.05),
         "the closed clients leave the daemon's count", users())

    # -- pinging python3-websockets client stays past idle_timeout ---------
    try:
        import websockets

        # a filter on the log's own domain: most entries match, some not
        base = feed.names(feed.prepare(1)[0])[0].split(".", 1)[1]

        async def pinger():
            async with websockets.connect(
                    "ws://127.0.0.1:%d/?domains=%s" % (nport, base),
                    ping_interval=0.5, ping_timeout=10,
                    max_size=1 << 22) as c:
                got, want = [], []
                for _ in range(3):
                    e = [i for i in feed.publish(3)
                         if any(n == base or n.endswith("." + base)
                                for n in feed.names(i))]
                    want += e
                    got += [(await asyncio.wait_for(c.recv(), 30)).encode()
                            for _ in e]
                    await asyncio.sleep(2)
                return got, want
        got, want = asyncio.run(pinger())
        t.ok(len(want) > 0 and got == feed.want(want, "lite", got),
             "python3-websockets via nginx with a filter: the %d matching "
             "entries over 6 s (idle_timeout 3 s), never closed" % len(got))
    except ImportError:
        t.ok(True, "# SKIP python3-websockets not installed")

    # -- npm certstream via nginx ----------------------------------------
    if os.path.isdir(NODE_MOD):
        pr = subprocess.Popen(["node", NODE_CLIENT, "ws://127.0.0.1:%d/" %
                               nport, "5", "30000"], stdout=subprocess.PIPE)
        early, deadline = b"", time.monotonic() + 20
        while b"established" not in early and time.monotonic() < deadline:
            r, _, _ = select.select([pr.stdout], [], [], 1)
            if r:
                early += os.read(pr.stdout.fileno(), 4096)
        es = feed.publish(5)
        out, _ = pr.communicate(timeout=60)
        msgs = [json.loads(line[4:]) for line in
                (early + out).decode().splitlines() if line.startswith("MSG ")]
        t.eq(msgs, [json.loads(feed.frame(i, "lite", m["data"]["seen"]))
                    for i, m in zip(es, msgs)] if len(msgs) == 5 else None,
             "npm certstream 1.1.1 via nginx gets what was published")
    else:
        t.ok(True, "# SKIP npm certstream not installed")

    # -- SSE via nginx: unbuffered --------------------------------------
    s = socket.create_connection(("127.0.0.1", nport), timeout=5)
    s.sendall(b"GET /sse?stream=domains HTTP/1.1\r\nHost: x\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    head, _, buf = buf.partition(b"\r\n\r\n")
    t.ok(head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head,
         "SSE through nginx", head)
    es = feed.publish(3)
    feed.wait_published(d)
    t0 = time.monotonic()           # the entries are in the ring now
    s.settimeout(0.2)
    while buf.count(b"data: {\"data\"") < 3 and time.monotonic() - t0 < 10:
        try:
            buf += s.recv(65536)
        except socket.timeout:
            pass
    t.ok(all(b"data: " + feed.frame(i, "domains") + b"\n\n" in buf
             for i in es) and time.monotonic() - t0 < 5,
         "SSE events arrive at once (%.2f s after they reached the ring), "
         "not buffered" % (time.monotonic() - t0))
    s.close()

    # -- the notary and the JSON endpoints via nginx ------------------------
    r = get(nport, "/?host=127.0.0.1&port=9&service_type=2")
    t.eq(r and r[0], 404, "a Perspectives query via nginx (unknown "
         "service: 404 from the signer)")
    r = get(nport, "/")
    t.ok(r and r[0] == 200 and b"notaryd" in r[2], "index page via nginx")
    r = get(nport, "/example.json")
    t.ok(r and r[0] == 200 and json.loads(r[2]) == json.loads(
        feed.frame(es[-1], "lite", seen_of(r[2]))) and
         r[1].get("access-control-allow-origin") == "*",
         "/example.json via nginx")
    r = get(nport, "/stats")
    t.ok(r and r[0] == 200 and no_address(r[2]),
         "/stats via nginx, no address (the log's URL aside)", r and r[2])
    r = get(nport, "/metrics")
    t.ok(r and r[0] == 200 and b"certstreamservergo_clients_total" in r[2]
         and no_address(r[2]), "/metrics via nginx (allowed from "
         "loopback there), no address (the log's URL aside)")
    err = open(os.path.join(ndir, "error.log"), errors="replace").read()
    t.ok("[crit]" not in err and "[emerg]" not in err,
         "nginx logged no error", err[-500:])
    t.eq(d.stop(), 0, "clean stop")
finally:
    if ngx is not None:
        ngx.send_signal(signal.SIGQUIT)
        try:
            ngx.wait(10)
        except subprocess.TimeoutExpired:
            ngx.kill()
    d.cleanup()
    feed.stop()
t.done()
