"""logstate - one fake CT log of the ctlog test server: its entries,
Merkle tree, signed heads, knobs and request records (see ctlog.py).

Knobs are plain values in Log.cfg, read by the HTTP handlers of ctserve.py
under no lock (a knob change is atomic per key).  Growth runs in one thread
per log; grow() serialises generation and publication.
"""
import base64
import collections
import datetime
import random
import socket
import threading
import time
from http.server import ThreadingHTTPServer

import certgen
import ctformat as cf

# Knobs fixed when a log is made.
FIXED = {"kind": "rfc6962", "seed": None, "unique": 0, "key_type": "ec",
         "prefix": None, "size": 0}
# Knobs that can change at run time (Log.set, POST /_ctl).
KNOBS = {
    "state": "usable", "listed": True, "operator": "ctlog Test Operator",
    "description": None, "mmd": 86400,
    "cap": 256, "cap_align": False,
    "grow_n": 0, "grow_every": 0.0, "grow_max": 1000000,
    "error_rate": 0.0, "error_codes": [429, 500, 503], "retry_after": 1,
    "rate_limit": 0.0,
    "fail_next": [], "fault_on": None, "fault_seed": 0,
    "garbage_rate": 0.0, "truncate_rate": 0.0, "short_body_rate": 0.0,
    "huge_bytes": 0, "huge_chunked": False,
    "drip_bytes": 0, "drip_interval": 0.1, "latency": 0.0,
    "shrink_to": None, "bad_sth_sig": False, "bad_checkpoint_sig": False,
    "checkpoint_extra_sigs": False,
    "dead": None, "hang_max": 300.0,
    "gzip_tiles": False, "omit_stale_partials": False,
    # hostile modes (bench/faults.py ctlog)
    "bad_entry_every": 0, "entries_count": None, "tile_fault": None,
    "checkpoint_origin": None, "redirect_loop": False, "reset_mid_rate": 0.0,
}
ONE_SHOT = ("garbage", "truncate", "short", "huge", "drip", "hang",
            "reset", "reset_mid")
# What bad_entry_every does to an entry, cycled (see Log.bad_entry).
BAD_ENTRY_KINDS = ("bad_b64", "short_leaf", "bad_extra", "no_leaf",
                   "not_object")
ENTRIES_COUNT = (None, "more", "zero")
TILE_FAULTS = (None, "short", "long", "missing")
STATES = ("pending", "qualified", "usable", "readonly", "retired", "rejected")
KINDS = ("get-sth", "get-entries", "get-roots", "checkpoint", "tile-data",
         "tile-data-partial", "tile-hash", "issuer", "other")
MAX_RECORDS = 200000
TILE_CACHE = 64                 # full data tiles kept encoded


def now_ms():
    return int(time.time() * 1000)


def iso(sec):
    return datetime.datetime.fromtimestamp(sec, datetime.timezone.utc) \
        .strftime("%Y-%m-%dT%H:%M:%SZ")


def b64(b):
    return base64.b64encode(b).decode()


class Log:
    """One fake log: its entries, tree, signed heads, knobs and records."""

    def __init__(self, server, name, **kw):
        bad = set(kw) - set(FIXED) - set(KNOBS)
        if bad:
            raise ValueError("unknown log option(s): %s" % ", ".join(sorted(bad)))
        self.server = server
        self.name = name
        fixed = dict(FIXED, **{k: v for k, v in kw.items() if k in FIXED})
        self.kind = fixed["kind"]
        if self.kind not in ("rfc6962", "tiled"):
            raise ValueError("kind must be rfc6962 or tiled")
        self.seed = fixed["seed"] or name
        self.unique = int(fixed["unique"])
        self.key_type = fixed["key_type"]
        mk = certgen.ec_key if self.key_type == "ec" else certgen.rsa_key
        self.key = mk("log:" + name)
        self.bad_key = mk("bad:" + name)
        self.log_id = cf.log_id(self.key)
        self.prefix = "/" + (fixed["prefix"] if fixed["prefix"] is not None
                             else "logs/" + name).strip("/")
        self.prefix = self.prefix.rstrip("/") + "/"
        self.cfg = {k: (list(v) if isinstance(v, list) else v)
                    for k, v in KNOBS.items()}
        self.lock = threading.RLock()
        self.gen_lock = threading.Lock()
        self.entries = []
        self.pending = []             # prepared, not yet published
        self.tree = cf.MerkleTree()
        self.published = None         # (size, ts_ms, root, sig)
        self.first_ts = time.time()
        self.records = collections.deque(maxlen=MAX_RECORDS)
        self.counters = collections.Counter()
        self.rng = random.Random("faults:%s:0" % name)
        self._tile_cache = {}
        self.httpd = None
        self.port = None
        self._reserved = None
        self.conns = set()                # open client connections
        self._wake = threading.Event()
        self._tokens, self._tok_t = 0.0, time.monotonic()
        self.set(**{k: v for k, v in kw.items() if k in KNOBS})
        self.grow(int(fixed["size"]))

    # ---- knobs and growth ----

    def set(self, **kw):
        """Change run-time knobs; returns the new knob dict."""
        bad = set(kw) - set(KNOBS)
        if bad:
            raise ValueError("unknown or fixed knob(s): %s" % ", ".join(sorted(bad)))
        if "state" in kw and kw["state"] not in STATES:
            raise ValueError("state must be one of %s" % ", ".join(STATES))
        if "dead" in kw and kw["dead"] not in (None, "refused", "hang", "reset"):
            raise ValueError("dead must be null, refused, hang or reset")
        for k, ok in (("entries_count", ENTRIES_COUNT),
                      ("tile_fault", TILE_FAULTS)):
            if k in kw and kw[k] not in ok:
                raise ValueError("%s must be one of %s" % (k, ok))
        for f in kw.get("fail_next", []):
            if not isinstance(f, int) and f not in ONE_SHOT:
                raise ValueError("fail_next items are statuses or one of %s"
                                 % ", ".join(ONE_SHOT))
        for k in ("fail_next", "error_codes", "fault_on"):
            if kw.get(k) is not None:
                kw[k] = list(kw[k])        # ours to consume, not the caller's
        with self.lock:
            was_dead = self.cfg["dead"]
            self.cfg.update(kw)
            if "rate_limit" in kw:
                self._tokens = float(kw["rate_limit"] or 0)
            if "fault_seed" in kw:
                self.rng = random.Random("faults:%s:%s" % (self.name,
                                                          kw["fault_seed"]))
        self._wake.set()
        if "dead" in kw and self.port is not None:
            if kw["dead"] == "refused" and was_dead != "refused":
                self._stop_listener()
            elif kw["dead"] != "refused" and was_dead == "refused":
                self._start_listener(self.port)
        if self.server is not None and ({"listed", "state", "description",
                                        "operator", "mmd"} & set(kw)):
            self.server.list_changed()
        return dict(self.cfg)

    def leaf_input(self, e):
        if self.kind == "tiled":
            return cf.merkle_tree_leaf(e, cf.leaf_index_ext(e.index))
        return cf.merkle_tree_leaf(e)

    def prepare(self, n):
        """Generate the next n entries now without publishing them, so
        that a later grow() (a test pacing its growth) is cheap."""
        with self.gen_lock:
            start = len(self.entries) + len(self.pending)
            self.pending.extend(certgen.make_entry(self.seed, i, self.unique)
                                for i in range(start, start + n))

    def bad_entry(self, i):
        """How get-entries mangles entry i (a BAD_ENTRY_KINDS name), or
        None: with bad_entry_every K > 0, every index i % K == K - 1, the
        kinds taken in turn."""
        k = int(self.cfg["bad_entry_every"] or 0)
        if k <= 0 or i % k != k - 1:
            return None
        return BAD_ENTRY_KINDS[(i // k) % len(BAD_ENTRY_KINDS)]

    def grow(self, n):
        """Append n entries (prepared ones first) and publish a new
        signed head."""
        with self.gen_lock:
            start = len(self.entries)
            k = min(n, len(self.pending))
            new = self.pending[:k] + [
                certgen.make_entry(self.seed, i, self.unique)
                for i in range(start + k, start + n)]
            del self.pending[:k]
            hashes = [cf.leaf_hash(self.leaf_input(e)) for e in new]
            with self.lock:
                for e, h in zip(new, hashes):
                    self.entries.append(e)
                    self.tree.append(h)
                self._publish()
        return self.size

    def _publish(self):
        size = len(self.entries)
        prev = self.published[1] if self.published else 0
        ts = max(now_ms(), prev + 1)
        root = self.tree.root(size)
        self.published = (size, ts, root,
                          cf.sign_tree_head(self.key, ts, size, root))

    @property
    def size(self):
        return self.published[0]

    def head(self):
        """(size, ts, root, signature) as served now: shrink_to and
        bad_sth_sig applied."""
        with self.lock:
            size, ts, root, sig = self.published
            shrink = self.cfg["shrink_to"]
            if shrink is not None and shrink < size:
                size = max(0, int(shrink))
                root = self.tree.root(size)
                sig = cf.sign_tree_head(self.key, ts, size, root)
            if self.cfg["bad_sth_sig"] or self.cfg["bad_checkpoint_sig"]:
                badsig = cf.sign_tree_head(self.bad_key, ts, size, root)
            else:
                badsig = None
        return size, ts, root, sig, badsig

    def sth_json(self):
        size, ts, root, sig, badsig = self.head()
        if self.cfg["bad_sth_sig"]:
            sig = badsig
        return {"tree_size": size, "timestamp": ts,
                "sha256_root_hash": b64(root), "tree_head_signature": b64(sig)}

    @property
    def url(self):
        return "http://127.0.0.1:%d%s" % (self.port, self.prefix)

    @property
    def origin(self):
        """Checkpoint origin: the submission prefix without scheme or
        trailing slash (static-ct-api)."""
        return self.url.split("://", 1)[1].rstrip("/")

    def checkpoint(self):
        size, ts, root, sig, badsig = self.head()
        if self.cfg["bad_checkpoint_sig"]:
            sig = badsig
        before, after = [], []
        if self.cfg["checkpoint_extra_sigs"]:
            # what real logs add: a GREASE line under another name, one
            # under the log's own name with a foreign key ID, and a
            # witness cosignature (key ID, u64 time, Ed25519-sized sig)
            rng = random.Random("grease:%s:%d" % (self.name, size))
            kid = cf.note_key_id(self.origin, self.log_id)
            other = bytes((b ^ 0x5a) for b in kid)
            before = [("grease.invalid", rng.randbytes(4 + rng.randrange(8, 90))),
                      (self.origin, other + rng.randbytes(rng.randrange(40, 80)))]
            after = [("witness.ctlog.test/w1", rng.randbytes(4 + 8 + 64))]
        # checkpoint_origin: a validly signed note for another origin
        origin = self.cfg["checkpoint_origin"] or self.origin
        if origin != self.origin:
            sig = cf.sign_tree_head(self.key, ts, size, root)
        return cf.checkpoint(origin, size, root, ts, sig, self.log_id,
                             before, after)

    # ---- tiles ----

    def data_tile(self, n, width):
        key = (n, width)
        t = self._tile_cache.get(key)
        if t is None:
            es = self.entries[n * 256:n * 256 + width]
            t = b"".join(cf.tile_leaf(e, cf.leaf_index_ext(e.index)) for e in es)
            if width == 256:
                if len(self._tile_cache) >= TILE_CACHE:
                    self._tile_cache.pop(next(iter(self._tile_cache)))
                self._tile_cache[key] = t
        return t

    def tile_available(self, count, n, width):
        """count = number of items at this tile level in the published tree."""
        if width == 256:
            return (n + 1) * 256 <= count
        if n * 256 + width > count:
            return False
        if (n + 1) * 256 <= count and self.cfg["omit_stale_partials"]:
            return False
        return True

    def issuers(self):
        cas, _ = certgen.pki()
        return {c.sha256.hex(): c for c in cas.values()}

    # ---- records ----

    def record(self, path, kind, status, nbytes, fault, headers=None):
        h = headers or {}
        with self.lock:
            self.records.append({"t": round(time.time(), 3), "path": path,
                                 "kind": kind, "status": status,
                                 "bytes": nbytes, "fault": fault,
                                 "size": self.published[0],
                                 "ua": h.get("User-Agent"),
                                 "accept_encoding": h.get("Accept-Encoding")})
            self.counters["requests"] += 1
            self.counters["kind:" + kind] += 1
            self.counters["status:%d" % status] += 1
            if fault:
                self.counters["fault:" + fault] += 1

    def requests(self, kind=None):
        with self.lock:
            return [r for r in self.records if kind is None or r["kind"] == kind]

    def repeated(self, kind="tile-data-partial"):
        """{(path, size): count} for requests of kind made more than once
        while the published size was the same (e.g. a partial tile fetched
        twice although the log did not grow)."""
        seen = collections.Counter((r["path"], r["size"])
                                   for r in self.requests(kind))
        return {k: n for k, n in seen.items() if n > 1}

    def clear_records(self):
        with self.lock:
            self.records.clear()
            self.counters.clear()

    def info(self):
        with self.lock:
            return {"name": self.name, "kind": self.kind, "seed": self.seed,
                    "unique": self.unique, "key_type": self.key_type,
                    "url": self.url if self.port else None, "port": self.port,
                    "origin": self.origin if self.port else None,
                    "size": self.size, "log_id": b64(self.log_id),
                    "key": b64(self.key.spki), "knobs": dict(self.cfg),
                    "counters": dict(self.counters)}

    # ---- listener ----

    def _start_listener(self, port=0):
        self._unreserve()
        httpd = ThreadingHTTPServer(("127.0.0.1", port or 0),
                                    self.server.log_handler)
        httpd.daemon_threads = True
        httpd.log = self
        self.port = httpd.server_address[1]
        self.httpd = httpd
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.5},
                         name="ctlog-" + self.name, daemon=True).start()

    def _reserve(self, port=0):
        """Hold the port with a bound socket that never listens: connects
        are refused and nobody else can take the port meanwhile."""
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        self.port = s.getsockname()[1]
        self._reserved = s

    def _unreserve(self):
        s, self._reserved = self._reserved, None
        if s is not None:
            s.close()

    def _stop_listener(self, reserve=True):
        httpd, self.httpd = self.httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
            with self.lock:
                conns = list(self.conns)
            for c in conns:                # kept-alive connections die too
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            if reserve:
                self._reserve(self.port)

    def start(self):
        if self.cfg["dead"] == "refused":
            self._reserve()
        else:
            self._start_listener()
        threading.Thread(target=self._grower, name="grow-" + self.name,
                         daemon=True).start()

    def _grower(self):
        """Growth thread: idle on the knob-change event while growth is
        off, otherwise add grow_n entries every grow_every seconds."""
        last = time.monotonic()
        while not self.server.stopping.is_set():
            every, n = self.cfg["grow_every"], self.cfg["grow_n"]
            if not every or not n or self.size >= self.cfg["grow_max"]:
                self._wake.wait(1.0)
                self._wake.clear()
                last = time.monotonic()
                continue
            left = float(every) - (time.monotonic() - last)
            if left > 0:
                self.server.stopping.wait(min(left, 0.25))
                continue
            last = time.monotonic()
            self.grow(min(int(n), self.cfg["grow_max"] - self.size))

    def rate_limited(self):
        """True when this request exceeds rate_limit requests/s (a token
        bucket of one second's worth)."""
        rate = float(self.cfg["rate_limit"])
        if rate <= 0:
            return False
        with self.lock:
            now = time.monotonic()
            self._tokens = min(rate, self._tokens + (now - self._tok_t) * rate)
            self._tok_t = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return False
            return True

    def stop(self):
        self._stop_listener(reserve=False)
        self._unreserve()
