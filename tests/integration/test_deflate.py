#!/usr/bin/python3
"""permessage-deflate on the real daemon (stream.compression: true), fed
by a fake CT log (tests/ctlog) that the real ctwatch follows: a
python3-websockets
client (which offers permessage-deflate) gets the extension with both
no_context_takeover parameters and receives exactly what was published;
a client that does not offer it gets plain frames; /stats reports the
bytes saved per stream; with compression off nothing is negotiated."""
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import Daemon, Tap, get, wait_until  # noqa: E402
from streamtest import WS, CTFeed  # noqa: E402

t = Tap()
try:
    import websockets
except ImportError:
    t.ok(True, "# SKIP python3-websockets not installed")
    t.done()
    sys.exit(0)


def run(compression):
    feed = CTFeed()
    d = Daemon(workers=1, ctwatch=feed.ctwatch_yaml())
    d.write_conf(text=d.base_yaml().replace(
        "stream:\n  ring_size: 1M\n",
        "stream:\n  ring_size: 4M\n  compression: %s\n" %
        ("true" if compression else "false")))
    try:
        d.start()
        if not feed.following(d):
            raise RuntimeError("ctwatch does not follow the test log")

        async def client():
            async with websockets.connect(
                    "ws://127.0.0.1:%d/full-stream" % d.port,
                    max_size=1 << 22) as c:
                ext = c.response_headers.get("Sec-WebSocket-Extensions")
                plain = WS(d.port, "/full-stream")
                es = feed.publish(30)
                got = [(await asyncio.wait_for(c.recv(), 30)).encode()
                       for _ in es]
                return ext, got, plain, es
        ext, got, plain, es = asyncio.run(client())
        pgot = plain.data_frames(30, timeout=30)
        plain.close()
        return d, feed, ext, got, pgot, es
    except Exception:
        d.cleanup()
        feed.stop()
        raise


d, feed, ext, got, pgot, es = run(True)
try:
    t.ok(ext is not None and "permessage-deflate" in ext and
         "server_no_context_takeover" in ext and
         "client_no_context_takeover" in ext,
         "permessage-deflate agreed with no context takeover", ext)
    t.eq(got, feed.want(es, "full", got),
         "the deflating client receives the published entries exactly")
    t.eq(pgot, feed.want(es, "full", pgot),
         "a client that did not offer it gets plain frames")
    # the byte counters of what the clients have received

    def saved():
        r = get(d.port, "/stats")
        st = json.loads(r[2])
        full = st["bytes"]["full"]
        return (st if full["uncompressed"] > full["sent"] and
                full["saved_percent"] > 20 else None)
    st = wait_until(saved, 30, 0.05) or json.loads(get(d.port, "/stats")[2])
    full = st["bytes"]["full"]
    t.ok(full["uncompressed"] > full["sent"] and
         full["saved_percent"] > 20, "/stats reports the saving for "
         "full: %s" % full, st["bytes"])
    t.eq(d.stop(), 0, "clean stop")
finally:
    d.cleanup()
    feed.stop()

d, feed, ext, got, pgot, es = run(False)
try:
    t.ok(ext is None, "compression off: no extension negotiated", ext)
    t.eq(got, feed.want(es, "full", got), "... and frames still arrive")
    t.eq(d.stop(), 0, "clean stop")
finally:
    d.cleanup()
    feed.stop()
t.done()
