"""ctserve - the HTTP side of the ctlog test CT log server.

LogHandler serves one Log (logstate.py): the RFC 6962 read API or the
static-CT read API under the log's prefix, with the log's fault knobs
applied.  HubHandler serves the v3 log list and the control API.
CTLogServer ties logs and the hub together; main() is the command line.
Handler threads are daemon threads; every wait in them is bounded by a
knob (hang_max, drip length) and by CTLogServer.stop().
"""
import argparse
import base64
import collections
import gzip
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import certgen
import ctformat as cf
from logstate import Log, iso

VERBOSE = False
MAX_CTL_BODY = 1 << 20
NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def jbody(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


class Reply:
    """A response before faults: status, content type, body, headers."""

    def __init__(self, status, body, ctype="application/json", headers=None):
        self.status, self.body, self.ctype = status, body, ctype
        self.headers = list(headers or [])


def text(status, msg):
    return Reply(status, (msg + "\n").encode(), "text/plain; charset=utf-8")


# ---- routes ------------------------------------------------------------------


def route_rfc6962(log, path, query):
    if path == "ct/v1/get-sth":
        return "get-sth", lambda: Reply(200, jbody(log.sth_json()))
    if path == "ct/v1/get-entries":
        return "get-entries", lambda: get_entries(log, query)
    if path == "ct/v1/get-roots":
        cas, _ = certgen.pki()
        roots = [base64.b64encode(c.der).decode() for c in cas.values()
                 if c.label.startswith("root")]
        return "get-roots", lambda: Reply(200, jbody({"certificates": roots}))
    return "other", lambda: text(404, "not found")


def get_entries(log, query):
    q = parse_qs(query, keep_blank_values=True)
    try:
        start = int(q["start"][0])
        end = int(q["end"][0])
    except (KeyError, ValueError, IndexError):
        return text(400, "start and end are required integers")
    with log.lock:
        size = log.size
        if start < 0 or end < start or start >= size:
            return text(400, "bad range %d..%d for tree size %d" %
                        (start, end, size))
        cap = max(1, int(log.cfg["cap"]))
        n = min(end, size - 1) - start + 1
        n = min(n, cap)
        if log.cfg["cap_align"]:
            n = min(n, cap - start % cap)
        if log.cfg["entries_count"] == "more":
            n = min(size - start, n + max(1, n // 2))   # beyond `end`
        es = log.entries[start:start + n]
        if log.cfg["entries_count"] == "zero":
            es = []
    parts = [entry_part(log, start + i, e) for i, e in enumerate(es)]
    log.counters["entries_served"] += len(es)
    return Reply(200, ('{"entries":[' + ",".join(parts) + "]}").encode())


def entry_part(log, i, e):
    """Entry i of a get-entries reply, mangled as log.bad_entry(i) says."""
    leaf, extra = log.leaf_input(e), cf.extra_data(e)
    bad = log.bad_entry(i)
    if bad == "not_object":
        return '"entry %d"' % i
    if bad == "no_leaf":
        return '{"extra_data":"%s"}' % base64.b64encode(extra).decode()
    if bad == "short_leaf":
        leaf = leaf[:12]
    if bad == "bad_extra":
        extra = b"\xff\xff\xff" + extra[:20]
    b64leaf = base64.b64encode(leaf).decode()
    if bad == "bad_b64":
        b64leaf = "!" + b64leaf[1:]
    return '{"leaf_input":"%s","extra_data":"%s"}' % (
        b64leaf, base64.b64encode(extra).decode())


def split_tile(parts):
    """(index, width) from the path elements after tile/<L|data>/; None
    when malformed."""
    width = 256
    if len(parts) >= 2 and parts[-2].endswith(".p"):
        w = parts[-1]
        if not w.isdigit() or w != str(int(w)) or not 1 <= int(w) <= 255:
            return None
        width = int(w)
        parts = parts[:-2] + [parts[-2][:-2]]
    n = cf.parse_tile_index(parts)
    return None if n is None else (n, width)


def route_tiled(log, path, query):
    if path == "checkpoint":
        return "checkpoint", lambda: Reply(
            200, log.checkpoint(), "text/plain; charset=utf-8",
            [("Cache-Control", "no-store")])
    parts = path.split("/")
    if len(parts) == 2 and parts[0] == "issuer":
        c = log.issuers().get(parts[1])
        if c is None:
            return "issuer", lambda: text(404, "no such issuer")
        return "issuer", lambda: Reply(200, c.der, "application/pkix-cert")
    if len(parts) >= 3 and parts[0] == "tile":
        nw = split_tile(parts[2:])
        if parts[1] == "data":
            kind = "tile-data" if nw is None or nw[1] == 256 \
                else "tile-data-partial"
            return kind, lambda: data_tile(log, nw)
        if parts[1] in ("0", "1", "2", "3", "4", "5"):
            return "tile-hash", lambda: hash_tile(log, int(parts[1]), nw)
    return "other", lambda: text(404, "not found")


def data_tile(log, nw):
    if nw is None:
        return text(400, "bad tile path")
    n, width = nw
    with log.lock:
        if not log.tile_available(log.size, n, width):
            return text(404, "no such tile")
        body = log.data_tile(n, width)
        tf = log.cfg["tile_fault"]
    if tf == "missing":
        return text(404, "no such tile (tile_fault)")
    if tf == "short":
        body = body[:len(body) // 2]
    elif tf == "long":
        body += b"\x00\x01" + body[:100]
    headers = [("Cache-Control", "public, max-age=604800, immutable")]
    if log.cfg["gzip_tiles"]:
        body = gzip.compress(body, 6, mtime=0)
        headers.append(("Content-Encoding", "gzip"))
    return Reply(200, body, "application/octet-stream", headers)


def hash_tile(log, level, nw):
    if nw is None:
        return text(400, "bad tile path")
    n, width = nw
    with log.lock:
        count = log.size >> (8 * level)
        if not log.tile_available(count, n, width):
            return text(404, "no such tile")
        body = log.tree.hash_tile(level, n, width)
    return Reply(200, body, "application/octet-stream")


# ---- the per-log handler -------------------------------------------------


class LogHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ctlog-test/1"

    def log_message(self, fmt, *args):
        if VERBOSE:
            sys.stderr.write("ctlog %s: %s\n" % (self.server.log.name,
                                                 fmt % args))

    def setup(self):
        super().setup()
        with self.server.log.lock:
            self.server.log.conns.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.server.log.lock:
                self.server.log.conns.discard(self.connection)

    def do_POST(self):
        self.close_connection = True       # the body is never read
        self._reply_plain(405, "read API only")

    def _reply_plain(self, status, msg):
        r = text(status, msg)
        self.server.log.record(self.path, "other", status, len(r.body), None,
                               self.headers)
        self._send_whole(r)

    def do_GET(self):
        log = self.server.log
        cfg = log.cfg
        u = urlsplit(self.path)
        if not u.path.startswith(log.prefix):
            return self._reply_plain(404, "not under " + log.prefix)
        rest = u.path[len(log.prefix):]
        routes = route_rfc6962 if log.kind == "rfc6962" else route_tiled
        kind, make = routes(log, rest, u.query)
        faultable = cfg["fault_on"] is None or kind in cfg["fault_on"]
        if faultable and cfg["redirect_loop"]:
            return self._redirect(log, kind)
        once = self._pop_fail_next(log) if faultable else None
        if cfg["dead"] == "hang" or once == "hang":
            return self._hang(log, kind, once == "hang")
        if cfg["dead"] in ("reset", "refused") or once == "reset":
            # refused: a request on a connection opened before the log died
            return self._reset(log, kind)
        if cfg["latency"]:
            time.sleep(min(float(cfg["latency"]), 60.0))
        if isinstance(once, int):
            return self._injected(log, kind, once)
        if faultable and log.rate_limited():
            return self._injected(log, kind, 429, "rate")
        if faultable and cfg["error_rate"] and \
                self._chance(log, cfg["error_rate"]):
            with log.lock:
                code = log.rng.choice(cfg["error_codes"])
            return self._injected(log, kind, int(code))
        r = make()
        fault = None
        if r.status == 200 and faultable:
            fault = once or self._body_fault(log)
        # recorded before sending: a client holding the reply finds it
        log.record(self.path, kind, r.status, self._planned(log, r, fault),
                   fault, self.headers)
        self._deliver(log, r, fault)

    # -- fault helpers --

    def _pop_fail_next(self, log):
        with log.lock:
            fn = log.cfg["fail_next"]
            if fn:
                return fn.pop(0)
        return None

    def _chance(self, log, rate):
        with log.lock:
            return log.rng.random() < float(rate)

    def _body_fault(self, log):
        cfg = log.cfg
        if cfg["huge_bytes"]:
            return "huge"
        if cfg["drip_bytes"]:
            return "drip"
        for name, knob in (("garbage", "garbage_rate"),
                           ("truncate", "truncate_rate"),
                           ("short", "short_body_rate"),
                           ("reset_mid", "reset_mid_rate")):
            if cfg[knob] and self._chance(log, cfg[knob]):
                return name
        return None

    def _injected(self, log, kind, code, fault="status"):
        headers = []
        if code in (429, 503):
            headers.append(("Retry-After", str(log.cfg["retry_after"])))
        r = text(code, "injected %d" % code)
        r.headers = headers
        log.record(self.path, kind, code, len(r.body), fault, self.headers)
        self._send_whole(r)

    def _hang(self, log, kind, once):
        """Read the request, answer nothing until the knob is cleared
        (or, for a one-shot hang, until hang_max), then close."""
        log.record(self.path, kind, 0, 0, "hang", self.headers)
        end = time.monotonic() + float(log.cfg["hang_max"])
        while time.monotonic() < end and not log.server.stopping.wait(0.05):
            if not once and log.cfg["dead"] != "hang":
                break
        self.close_connection = True

    def _redirect(self, log, kind):
        """302 to the same URL (a loop for a client that follows)."""
        r = text(302, "redirect loop")
        r.headers = [("Location", self.path)]
        log.record(self.path, kind, 302, len(r.body), "redirect",
                   self.headers)
        self._send_whole(r)

    def _reset(self, log, kind):
        log.record(self.path, kind, 0, 0, "reset", self.headers)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.close_connection = True

    # -- sending --

    def _head(self, status, ctype, length, headers, chunked=False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()

    def _send_whole(self, r):
        try:
            self._head(r.status, r.ctype, len(r.body), r.headers)
            self.wfile.write(r.body)
        except OSError:
            self.close_connection = True

    @staticmethod
    def _planned(log, r, fault):
        """Body bytes the reply will carry (garbage: at most 4 KiB + 16)."""
        if fault == "huge":
            return int(log.cfg["huge_bytes"]) or 50 * 1000 * 1000
        if fault in ("truncate", "short", "reset_mid"):
            return len(r.body) // 2
        return len(r.body)

    def _deliver(self, log, r, fault):
        """Send r with fault applied; returns the body bytes written."""
        body = r.body
        try:
            if fault is None:
                self._send_whole(r)
                return len(body)
            if fault == "garbage":
                with log.lock:
                    g = b"<html>garbage \x00\xff" + log.rng.randbytes(
                        max(64, min(len(body), 4096)))
                self._send_whole(Reply(200, g, r.ctype, r.headers))
                return len(g)
            if fault == "truncate":
                cut = body[:len(body) // 2]
                self._send_whole(Reply(200, cut, r.ctype, r.headers))
                return len(cut)
            if fault == "short":
                half = body[:len(body) // 2]
                self._head(200, r.ctype, len(body), r.headers)
                self.wfile.write(half)
                self.wfile.flush()
                self.close_connection = True
                return len(half)
            if fault == "reset_mid":
                # the full length announced, half the body, then RST
                half = body[:len(body) // 2]
                self._head(200, r.ctype, len(body), r.headers)
                self.wfile.write(half)
                self.wfile.flush()
                self.connection.setsockopt(socket.SOL_SOCKET,
                                           socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.close_connection = True
                return len(half)
            if fault == "huge":
                return self._huge(log, r)
            if fault == "drip":
                return self._drip(log, r)
        except OSError:
            self.close_connection = True
            return 0
        raise ValueError("unknown fault %r" % fault)

    def _huge(self, log, r):
        total = int(log.cfg["huge_bytes"]) or 50 * 1000 * 1000
        chunked = bool(log.cfg["huge_chunked"])
        self._head(200, r.ctype, total, r.headers, chunked)
        start = b'{"entries":[{"leaf_input":"' \
            if r.ctype.startswith("application/json") else b""
        block = b"A" * 65536
        sent = 0
        while sent < total and not log.server.stopping.is_set():
            piece = (start + block)[:min(65536, total - sent)]
            start = b""
            if chunked:
                self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
            else:
                self.wfile.write(piece)
            sent += len(piece)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        return sent

    def _drip(self, log, r):
        step = max(1, int(log.cfg["drip_bytes"]) or 16)
        pause = float(log.cfg["drip_interval"])
        self._head(200, r.ctype, len(r.body), r.headers)
        sent = 0
        while sent < len(r.body) and not log.server.stopping.is_set():
            self.wfile.write(r.body[sent:sent + step])
            self.wfile.flush()
            sent += step
            if sent < len(r.body):
                time.sleep(pause)
        return min(sent, len(r.body))


# ---- hub: log list and control API -------------------------------------


class HubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ctlog-hub/1"

    def log_message(self, fmt, *args):
        if VERBOSE:
            sys.stderr.write("ctlog hub: %s\n" % (fmt % args))

    def _json(self, status, obj):
        body = json.dumps(obj, indent=1).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _raw(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        srv = self.server.ctlog
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        try:
            if u.path in ("/log_list.json", "/all_logs_list.json"):
                srv.list_requests += 1
                fault = srv.list_fault
                if fault == "garbage":
                    return self._raw(200, b"{\"operators\":[{\"name\":")
                if isinstance(fault, int):
                    return self._raw(fault, b"injected\n")
                return self._json(200, srv.loglist())
            if u.path == "/_ctl/logs":
                return self._json(200, {n: lg.info()
                                        for n, lg in srv.logs.items()})
            if u.path == "/_ctl/requests":
                return self._json(200, srv.log(q["log"]).requests(q.get("kind")))
            if u.path == "/_ctl/entry":
                return self._json(200, entry_json(srv.log(q["log"]),
                                                  int(q["index"])))
            if u.path == "/_ctl/expected":
                import expected
                lg = srv.log(q["log"])
                return self._json(200, expected.for_log(lg, int(q["index"])))
        except (KeyError, ValueError, IndexError) as e:
            return self._json(400, {"error": repr(e)})
        return self._json(404, {"error": "not found"})

    def do_POST(self):
        srv = self.server.ctlog
        if urlsplit(self.path).path != "/_ctl":
            return self._json(404, {"error": "not found"})
        try:
            n = int(self.headers.get("Content-Length", "0"))
            if not 0 < n <= MAX_CTL_BODY:
                raise ValueError("body length %d" % n)
            return self._json(200, srv.control(json.loads(self.rfile.read(n))))
        except (KeyError, ValueError, TypeError, IndexError) as e:
            return self._json(400, {"error": repr(e)})


def entry_json(log, index):
    """Everything about one entry, base64, for tests in another process."""
    with log.lock:
        if not 0 <= index < len(log.entries):
            raise IndexError("index %d beyond %d" % (index, len(log.entries)))
        e = log.entries[index]
    out = {"index": index, "kind": e.kind, "timestamp": e.ts_ms,
           "cert": base64.b64encode(e.cert).decode(),
           "chain": [base64.b64encode(c.der).decode() for c in e.chain],
           "leaf_input": base64.b64encode(log.leaf_input(e)).decode(),
           "extra_data": base64.b64encode(cf.extra_data(e)).decode(),
           "case": e.template.case}
    if e.kind == "precert":
        out["tbs"] = base64.b64encode(e.tbs).decode()
        out["issuer_key_hash"] = base64.b64encode(e.issuer_key_hash).decode()
    return out


class CTLogServer:
    """The logs plus the hub.  Use as a context manager or start()/stop()."""

    log_handler = LogHandler

    def __init__(self, hub_port=0, loglist_file=None):
        self.logs = collections.OrderedDict()
        self.stopping = threading.Event()
        self.hub = None
        self.hub_port = hub_port
        self.loglist_file = loglist_file
        self.started = False
        self._list_lock = threading.Lock()
        self.list_fault = None          # None, an HTTP status, or "garbage"
        self.list_requests = 0

    def add_log(self, name, **kw):
        if not NAME_RE.match(name) or name in self.logs:
            raise ValueError("bad or duplicate log name %r" % name)
        lg = Log(self, name, **kw)
        self.logs[name] = lg
        if self.started:
            lg.start()
            self.list_changed()
        return lg

    def log(self, name):
        return self.logs[name]

    def start(self):
        hub = ThreadingHTTPServer(("127.0.0.1", self.hub_port), HubHandler)
        hub.daemon_threads = True
        hub.ctlog = self
        self.hub = hub
        self.hub_port = hub.server_address[1]
        threading.Thread(target=hub.serve_forever, kwargs={"poll_interval": 0.5},
                         name="ctlog-hub", daemon=True).start()
        for lg in self.logs.values():
            lg.start()
        self.started = True
        self.list_changed()
        return self

    def stop(self):
        self.stopping.set()
        for lg in self.logs.values():
            lg.stop()
        if self.hub is not None:
            self.hub.shutdown()
            self.hub.server_close()
            self.hub = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def hub_url(self):
        return "http://127.0.0.1:%d/" % self.hub_port

    @property
    def loglist_url(self):
        return self.hub_url + "log_list.json"

    def loglist(self):
        """Google's v3 log list shape, one operator per distinct operator
        knob, logs[] for RFC 6962 logs and tiled_logs[] for static-CT."""
        ops = collections.OrderedDict()
        for lg in self.logs.values():
            if not lg.cfg["listed"] or not lg.port:
                continue
            op = ops.setdefault(lg.cfg["operator"], {
                "name": lg.cfg["operator"],
                "email": ["ct@%s.test" % re.sub(r"[^a-z0-9]+", "-",
                                                lg.cfg["operator"].lower())],
                "logs": [], "tiled_logs": []})
            item = {"description": lg.cfg["description"] or
                    "ctlog test log '%s'" % lg.name,
                    "log_id": base64.b64encode(lg.log_id).decode(),
                    "key": base64.b64encode(lg.key.spki).decode()}
            if lg.kind == "rfc6962":
                item["url"] = lg.url
            else:
                item["submission_url"] = lg.url
                item["monitoring_url"] = lg.url
            item["mmd"] = lg.cfg["mmd"]
            st = {"timestamp": iso(lg.first_ts)}
            if lg.cfg["state"] == "readonly":
                size, _, root, _, _ = lg.head()
                st["final_tree_head"] = {
                    "sha256_root_hash": base64.b64encode(root).decode(),
                    "tree_size": size}
            item["state"] = {lg.cfg["state"]: st}
            item["temporal_interval"] = {
                "start_inclusive": "2026-01-01T00:00:00Z",
                "end_exclusive": "2027-07-01T00:00:00Z"}
            op["logs" if lg.kind == "rfc6962" else "tiled_logs"].append(item)
        return {"version": "1.0", "log_list_timestamp": iso(time.time()),
                "operators": list(ops.values())}

    def write_loglist(self, path=None):
        """Write the list atomically (tmp + rename)."""
        path = path or self.loglist_file
        with self._list_lock:
            tmp = "%s.tmp.%d" % (path, os.getpid())
            with open(tmp, "w") as f:
                json.dump(self.loglist(), f, indent=1)
                f.write("\n")
            os.replace(tmp, path)

    def list_changed(self):
        if self.loglist_file and self.started:
            self.write_loglist()

    def control(self, req):
        """One control request (dict): add_log, set, grow, clear,
        list_fault."""
        if "list_fault" in req:
            f = req["list_fault"]
            if f is not None and f != "garbage" and not isinstance(f, int):
                raise ValueError("list_fault: null, a status or garbage")
            self.list_fault = f
            return {"list_fault": f, "list_requests": self.list_requests}
        if "add_log" in req:
            spec = dict(req["add_log"])
            return self.add_log(spec.pop("name"), **spec).info()
        lg = self.log(req["log"])
        if "set" in req:
            lg.set(**req["set"])
        if "grow" in req:
            lg.grow(int(req["grow"]))
        if req.get("clear"):
            lg.clear_records()
        return lg.info()

    def describe(self):
        return {"hub_port": self.hub_port, "hub_url": self.hub_url,
                "log_list_url": self.loglist_url,
                "log_list_file": self.loglist_file,
                "logs": {n: {k: lg.info()[k] for k in
                             ("kind", "url", "port", "origin", "size",
                              "seed", "log_id", "key")}
                         for n, lg in self.logs.items()}}


# ---- command line ----------------------------------------------------------

DEMO = [
    "name=rfc-a,kind=rfc6962,size=1000,cap=32",
    "name=tiled-a,kind=tiled,seed=rfc-a,size=1000",
    "name=rfc-b,kind=rfc6962,size=300,cap=1024,key_type=rsa,"
    "operator=ctlog Other Operator,state=qualified",
    "name=ro,kind=rfc6962,size=50,state=readonly",
    "name=retired,kind=rfc6962,size=10,state=retired",
    "name=rejected,kind=tiled,size=10,state=rejected",
    "name=pending,kind=rfc6962,size=10,state=pending",
]


def parse_value(v):
    if "|" in v:
        return [parse_value(x) for x in v.split("|") if x != ""]
    low = v.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("null", "none"):
        return None
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


def parse_spec(spec):
    """"name=a,kind=tiled,size=10,error_codes=429|503" -> dict."""
    out = {}
    for part in spec.split(","):
        if not part:
            continue
        k, sep, v = part.partition("=")
        if not sep:
            raise ValueError("log option %r is not key=value" % part)
        out[k.strip()] = v if k.strip() in ("name", "seed", "operator",
                                            "description", "prefix") \
            else parse_value(v)
    if "name" not in out:
        raise ValueError("log spec without name=: %r" % spec)
    list_knobs = ("error_codes", "fail_next", "fault_on")
    for k in list_knobs:
        if k in out and not isinstance(out[k], list):
            out[k] = [out[k]]
    return out


def main(argv):
    global VERBOSE
    ap = argparse.ArgumentParser(
        prog="ctlog.py", description="Test CT log server (RFC 6962 and "
        "static-CT) for notaryd's tests; see tests/ctlog/README.")
    ap.add_argument("--log", action="append", default=[], metavar="SPEC",
                    help="name=N,kind=rfc6962|tiled,KNOB=VALUE,... "
                    "(repeatable; lists use |)")
    ap.add_argument("--config", help="JSON file {\"logs\":[{\"name\":..}]}")
    ap.add_argument("--hub-port", type=int, default=0)
    ap.add_argument("--loglist-file", help="keep the v3 log list here")
    ap.add_argument("--ready-file", help="write the startup JSON here too")
    ap.add_argument("--max-seconds", type=float, default=3600.0)
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    VERBOSE = a.verbose
    specs = [parse_spec(s) for s in a.log]
    if a.config:
        with open(a.config) as f:
            specs += json.load(f)["logs"]
    if not specs:
        specs = [parse_spec(s) for s in DEMO]
    srv = CTLogServer(a.hub_port, a.loglist_file)
    for s in specs:
        s = dict(s)
        srv.add_log(s.pop("name"), **s)
    srv.start()
    line = json.dumps(srv.describe())
    if a.ready_file:
        tmp = a.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(line + "\n")
        os.replace(tmp, a.ready_file)
    print(line, flush=True)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait(a.max_seconds)
    srv.stop()
    return 0
