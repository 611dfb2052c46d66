#!/usr/bin/python3
"""Prometheus /metrics on the real daemon, parsed by Debian's
python3-prometheus-client text parser (an independent implementation of
format 0.0.4): certstream-server-go's four stream metrics with their
labels, notaryd_* families with the daemon-wide numbers (stream clients
and skips, requests by route, CT per-log figures of a fake CT log (tests/ctlog) the real ctwatch
follows),
403 for a peer outside metrics.allow, no IP address in the output, and
the index page reporting metrics as On."""
import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import Daemon, Tap, get, read_response, wait_until  # noqa: E402
from streamtest import OPERATOR, WS, CTFeed  # noqa: E402

t = Tap()
try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    t.ok(True, "# SKIP python3-prometheus-client not installed")
    t.done()
    sys.exit(0)

feed = CTFeed()
d = Daemon(workers=2, ctwatch=feed.ctwatch_yaml())
d.write_conf(text=d.base_yaml().replace(
    "stream:\n  ring_size: 1M\n",
    "stream:\n  ring_size: 4M\n  client_queue: 10\n") +
    "metrics:\n  allow: [\"127.0.0.1/32\", \"::1/128\"]\n")
IP = re.compile(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b")


def scrape():
    r = get(d.port, "/metrics")
    if r is None or r[0] != 200:
        return r, None
    fams = {}
    for f in text_string_to_metric_families(r[2].decode()):
        fams[f.name] = f
    return r, fams


def value(fams, name, **labels):
    """Sum of the samples of family name whose labels include labels."""
    for fname in (name, re.sub(r"_(total|count|bucket|sum)$", "", name)):
        f = fams.get(fname)
        if f is None:
            continue
        return sum(s.value for s in f.samples
                   if s.name == name and
                   all(s.labels.get(k) == v for k, v in labels.items()))
    return None


try:
    d.start()
    r, fams = scrape()
    t.ok(fams is not None, "/metrics parses as Prometheus text", r)
    t.ok(r[1].get("content-type", "").startswith(
        "text/plain; version=0.0.4"), "content type of format 0.0.4")
    for name in ("certstreamservergo_certificates_total",
                 "certstreamservergo_clients_total",
                 "certstreamservergo_certs_by_log_total",
                 "certstreamservergo_skipped_certs"):
        t.ok(any(n.startswith(name.replace("_total", "")) for n in fams),
             "family %s present" % name)
    for name in ("notaryd_http_requests", "notaryd_cache_hits",
                 "notaryd_cache_misses", "notaryd_cache_evictions",
                 "notaryd_signer_requests", "notaryd_signer_latency_seconds",
                 "notaryd_scanner_probes", "notaryd_scanner_queue_depth",
                 "notaryd_db_recoveries", "notaryd_db_deadlock_retries",
                 "notaryd_child_spawns", "notaryd_child_crashes",
                 "notaryd_stream_clients", "notaryd_stream_frames_skipped",
                 "notaryd_ct_tree_size", "notaryd_ct_lag_entries",
                 "notaryd_ct_fetch_errors", "notaryd_ct_backoff_state",
                 "notaryd_ct_rejected"):
        t.ok(name in fams, "family %s present" % name)
    t.eq(fams["notaryd_signer_latency_seconds"].type, "histogram",
         "signer latency is a histogram")
    t.eq(value(fams, "notaryd_child_spawns_total", role="http"), 2,
         "2 http workers spawned")

    # -- stream numbers, daemon-wide, whichever worker answers ------------
    c1 = WS(d.port, "/")
    c2 = WS(d.port, "/full-stream")
    slow = WS(d.port, "/full-stream", rcvbuf=4096)
    t.ok(feed.following(d), "ctwatch follows the test log")
    # grow until the slow client (4 KB receive buffer, never read) has
    # been skipped (bounded), reading the other two as we go
    es = []
    for k in range(40):
        es += feed.publish(25)
        n1 = len(c1.data_frames(25, timeout=30))
        n2 = len(c2.data_frames(25, timeout=30))
        r, fams = scrape()
        if n1 != 25 or n2 != 25 or (k >= 3 and fams is not None and value(
                fams, "notaryd_stream_frames_skipped_total") > 0):
            break
    t.ok(n1 == 25 and n2 == 25, "the reading clients got all %d entries"
         % len(es))
    npre = sum(1 for i in es if feed.precert(i))
    t.ok(0 < npre < len(es), "%d precerts among the %d" % (npre, len(es)))
    t.ok(feed.wait_published(d), "every entry is in the ring")
    for i in range(6):              # several scrapes: both workers answer
        r, fams = scrape()
        t.eq(value(fams, "certstreamservergo_clients_total", type="full"),
             2, "scrape %d: 2 full clients" % i)
        t.eq(value(fams, "certstreamservergo_clients_total", type="lite"),
             1, "scrape %d: 1 lite client" % i)
    t.eq(value(fams, "certstreamservergo_certificates_total",
               type="precert"), npre, "%d precerts counted" % npre)
    t.eq(value(fams, "certstreamservergo_certificates_total",
               type="regular"), len(es) - npre,
         "%d regular entries counted" % (len(es) - npre))
    t.eq(value(fams, "certstreamservergo_certs_by_log_total",
               url=feed.url, operator=OPERATOR), len(es),
         "per-log count with url and operator labels")
    t.eq(value(fams, "notaryd_ct_tree_size", log=feed.url), feed.lg.size,
         "per-log tree size")
    t.eq(value(fams, "notaryd_ct_rejected_total", log="testfeed://log3",
               reason="bad_signature"), 0, "per-log refusals, by reason")
    sk = fams["certstreamservergo_skipped_certs"].samples
    t.ok(len(sk) == 1 and sk[0].value > 0 and
         re.fullmatch(r"\d+-\d+", sk[0].labels["client"]),
         "the slow client's skips, under an opaque id", sk)
    t.ok(value(fams, "notaryd_stream_frames_skipped_total", stream="full")
         == sk[0].value, "skipped frames total equals the slow client's")
    t.ok(value(fams, "notaryd_stream_frames_sent_total", stream="lite")
         >= len(es), "lite frames sent")
    t.ok(value(fams, "notaryd_http_requests_total", route="metrics",
               code="2xx") >= 6, "metrics requests counted by route")
    t.ok(value(fams, "notaryd_http_requests_total", route="stream",
               code="1xx") >= 3, "websocket upgrades counted as 1xx")
    t.ok(not IP.search(r[2].decode().replace(feed.url, "LOG")),
         "no IP address in /metrics (the log's URL aside)")
    for c in (c1, c2, slow):
        c.close()
    t.ok(wait_until(lambda: value(scrape()[1],
                                  "certstreamservergo_clients_total") == 0,
                    30), "clients gone from the gauge")

    # -- only metrics.allow -------------------------------------------------
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", d.port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    rr = read_response(s)
    s.close()
    t.eq(rr and rr[0], 403, "a peer outside metrics.allow gets 403")
    rr = get(d.port, "/metrics", headers={"X-Forwarded-For": "10.1.1.1"})
    t.eq(rr and rr[0], 200, "forwarded headers do not change the peer")

    # -- a Perspectives miss: a signer round trip, then a (denied) probe --
    rr = get(d.port, "/?host=127.0.0.1&port=9&service_type=2")
    t.eq(rr and rr[0], 404, "unknown service: 404 from the signer")
    r, fams = scrape()
    t.eq(value(fams, "notaryd_signer_requests_total", result="unknown"), 1,
         "signer round trip counted by result")
    t.eq(value(fams, "notaryd_signer_latency_seconds_count"), 1,
         "... and in the latency histogram")
    t.eq(value(fams, "notaryd_signer_latency_seconds_bucket", le="+Inf"),
         1, "histogram +Inf bucket")
    t.ok(wait_until(lambda: value(scrape()[1], "notaryd_scanner_probes_total",
                                  result="denied") == 1, 60),
         "the scanner's probe result counted (denied: loopback)")

    r = get(d.port, "/")
    t.ok(r and re.search(rb"Performance Metrics</td><td class='td-status-on'"
                         rb">On", r[2]), "index page: metrics On")
    t.eq(d.stop(), 0, "clean stop")
finally:
    d.cleanup()
    feed.stop()
t.done()
