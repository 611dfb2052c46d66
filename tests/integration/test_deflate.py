#!/usr/bin/python3
"""permessage-deflate on the real daemon (stream.compression: true), fed
through the TEST ONLY feed file (NOTARYD_TEST_FEED): a python3-websockets
client (which offers permessage-deflate) gets the extension with both
no_context_takeover parameters and receives exactly what was published;
a client that does not offer it gets plain frames; /stats reports the
bytes saved per stream; with compression off nothing is negotiated."""
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import Daemon, Tap, get  # noqa: E402
from streamtest import WS, Feed, entry  # noqa: E402

t = Tap()
try:
    import websockets
except ImportError:
    t.ok(True, "# SKIP python3-websockets not installed")
    t.done()


def run(compression):
    d = Daemon(workers=1)
    feed = Feed(os.path.join(d.dir, "feed.tsv"))
    d.env["NOTARYD_TEST_FEED"] = feed.path
    d.write_conf(text=d.base_yaml().replace(
        "stream:\n  ring_size: 1M\n",
        "stream:\n  ring_size: 4M\n  compression: %s\n" %
        ("true" if compression else "false")))
    try:
        d.start()
        es = [entry(i, pad=2000) for i in range(1, 31)]

        async def client():
            async with websockets.connect(
                    "ws://127.0.0.1:%d/full-stream" % d.port) as c:
                ext = c.response_headers.get("Sec-WebSocket-Extensions")
                plain = WS(d.port, "/full-stream")
                await asyncio.sleep(0.3)
                feed.publish(es)
                got = [await asyncio.wait_for(c.recv(), 5) for _ in es]
                return ext, got, plain
        ext, got, plain = asyncio.run(client())
        pgot = plain.data_frames(30)
        plain.close()
        return d, ext, got, pgot, es
    except Exception:
        d.cleanup()
        raise


d, ext, got, pgot, es = run(True)
try:
    t.ok(ext is not None and "permessage-deflate" in ext and
         "server_no_context_takeover" in ext and
         "client_no_context_takeover" in ext,
         "permessage-deflate agreed with no context takeover", ext)
    t.eq(got, [e[0] + "\n" for e in es],
         "the deflating client receives the published JSON exactly")
    t.eq(pgot, [(e[0] + "\n").encode() for e in es],
         "a client that did not offer it gets plain frames")
    time.sleep(0.3)
    r = get(d.port, "/stats")
    st = json.loads(r[2])
    full = st["bytes"]["full"]
    t.ok(full["uncompressed"] > full["sent"] and
         full["saved_percent"] > 20, "/stats reports the saving for "
         "full: %s" % full, st["bytes"])
    t.eq(d.stop(), 0, "clean stop")
finally:
    d.cleanup()

d, ext, got, pgot, es = run(False)
try:
    t.ok(ext is None, "compression off: no extension negotiated", ext)
    t.eq(got, [e[0] + "\n" for e in es], "... and frames still arrive")
    t.eq(d.stop(), 0, "clean stop")
finally:
    d.cleanup()
t.done()
