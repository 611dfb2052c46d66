#!/usr/bin/python3
"""Self-test of the ctlog test CT log server (tests/ctlog), before any C
code relies on it.  Everything served is checked with code written here,
not with the server's own encoders: an independent TLS-struct parser for
leaf_input, extra_data and TileLeaf; the RFC 6962 Merkle Tree Hash by its
recursive definition; STH and checkpoint signatures verified with
python3-cryptography against the key published in the v3 log list; the
signed-note key ID recomputed; certificates, chains, precert TBS and SCTs
checked; expected.py compared with the openssl CLI; and every fault knob
exercised.  The decoders live in ctref.py.  TAP output."""
import base64
import datetime
import gzip
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "ctlog"))
from ndtest import Tap  # noqa: E402
from ctref import (cert_alg_der, der_len, fetch, fetch_json, mth,  # noqa: E402
                   parse_exts, parse_extra_data, parse_leaf_input, parse_tile,
                   post_ctl, raw_get, tree_head_msg, ts_entry_bytes,
                   verify_checkpoint, verify_ds, verify_issued)
import ctlog  # noqa: E402
import expected  # noqa: E402

from cryptography import x509  # noqa: E402
from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

t = Tap()


# ---- checks -------------------------------------------------------------


def list_keys(srv):
    """{url: public key} from the served v3 log list (what a client sees)."""
    st, ll = fetch_json(srv.loglist_url)
    keys = {}
    for op in ll["operators"]:
        for lg in op["logs"] + op["tiled_logs"]:
            der = base64.b64decode(lg["key"])
            keys[lg.get("url") or lg["monitoring_url"]] = \
                serialization.load_der_public_key(der)
    return keys


def get_all_entries(url, size):
    """Walk get-entries advancing by what is returned; (entries, replies)."""
    out, replies = [], []
    nxt = 0
    while nxt < size and len(replies) < 10000:
        st, j = fetch_json("%sct/v1/get-entries?start=%d&end=%d" %
                           (url, nxt, min(size - 1, nxt + 999)))
        if st != 200 or not j["entries"]:
            break
        replies.append(len(j["entries"]))
        out += j["entries"]
        nxt += len(j["entries"])
    return out, replies


def check_rfc6962(srv, lg, pub, cap):
    st, sth = fetch_json(lg.url + "ct/v1/get-sth")
    t.eq(st, 200, "%s: get-sth 200" % lg.name)
    root = base64.b64decode(sth["sha256_root_hash"])
    msg = tree_head_msg(sth["timestamp"], sth["tree_size"], root)
    t.ok(verify_ds(pub, base64.b64decode(sth["tree_head_signature"]), msg),
         "%s: STH signature verifies with the listed key" % lg.name)
    t0 = time.monotonic()
    ents, replies = get_all_entries(lg.url, sth["tree_size"])
    dt = time.monotonic() - t0
    t.eq(len(ents), sth["tree_size"], "%s: get-entries walk returns all %d "
         "entries (%.0f entries/s)" % (lg.name, sth["tree_size"], len(ents) / dt))
    t.ok(max(replies) <= cap and replies[0] == min(cap, sth["tree_size"]),
         "%s: replies capped at %d" % (lg.name, cap), replies[:5])
    leaves, parsed, bad = [], [], []
    for i, item in enumerate(ents):
        li = base64.b64decode(item["leaf_input"])
        leaves.append(li)
        try:
            e = parse_leaf_input(li)
            e["pre"], e["chain"] = parse_extra_data(
                base64.b64decode(item["extra_data"]), e["entry_type"])
            parsed.append(e)
        except ValueError as ex:
            bad.append((i, str(ex)))
    t.ok(not bad, "%s: every leaf_input/extra_data parses exactly" % lg.name,
         bad[:3])
    t.eq(mth(leaves), root, "%s: recomputed Merkle root equals the STH root"
         % lg.name)
    return parsed


def check_entries(parsed, lg, name):
    kinds = {0: 0, 1: 0}
    problems = []
    sct_ok = 0
    for i, e in enumerate(parsed):
        kinds[e["entry_type"]] += 1
        if e["extensions"] != b"" and name == "rfc":
            problems.append((i, "extensions"))
        if e["timestamp"] != 1767225600000 + i * 1000:
            problems.append((i, "timestamp"))
        leaf = e["cert"] if e["entry_type"] == 0 else e["pre"]
        chain = e["chain"]
        if not chain or not verify_issued(leaf, chain[0]):
            problems.append((i, "leaf not signed by chain[0]"))
        for a, b in zip(chain, chain[1:]):
            if not verify_issued(a, b):
                problems.append((i, "chain link"))
        cert = x509.load_der_x509_certificate(leaf)
        poison = [x for x in cert.extensions
                  if x.oid.dotted_string == "1.3.6.1.4.1.11129.2.4.3"]
        if e["entry_type"] == 1:
            issuer = x509.load_der_x509_certificate(chain[0])
            spki = issuer.public_key().public_bytes(
                serialization.Encoding.DER,
                serialization.PublicFormat.SubjectPublicKeyInfo)
            if e["issuer_key_hash"] != hashlib.sha256(spki).digest():
                problems.append((i, "issuer_key_hash"))
            if not (poison and poison[0].critical):
                problems.append((i, "precert without critical poison"))
            # the logged TBS, wrapped as a certificate, is the precert's
            # TBS minus poison: same fields, one extension fewer
            alg = cert_alg_der(leaf)
            body = e["tbs"] + alg + b"\x03\x02\x00\x00"
            fake = x509.load_der_x509_certificate(
                b"\x30" + der_len(len(body)) + body)
            if (fake.serial_number != cert.serial_number or
                    fake.subject != cert.subject or
                    [x.oid for x in fake.extensions] !=
                    [x.oid for x in cert.extensions][:-1] or
                    len(list(fake.extensions)) + 1 !=
                    len(list(cert.extensions))):
                problems.append((i, "precert TBS is not precert minus poison"))
        else:
            if poison:
                problems.append((i, "x509 entry with poison"))
            scts = [x for x in cert.extensions
                    if x.oid.dotted_string == "1.3.6.1.4.1.11129.2.4.2"]
            if scts and i > 0 and parsed[i - 1]["entry_type"] == 1:
                p = parsed[i - 1]
                sct = list(scts[0].value)[0]
                ts = int(sct.timestamp.replace(
                    tzinfo=datetime.timezone.utc)
                    .timestamp() * 1000)
                msg = (b"\x00\x00" + ts.to_bytes(8, "big") + b"\x00\x01" +
                       p["issuer_key_hash"] + len(p["tbs"]).to_bytes(3, "big") +
                       p["tbs"] + b"\x00\x00")
                key = ctlog.certgen.ec_key("sct:" + lg.seed).pub
                try:
                    key.verify(sct.signature, msg, ec.ECDSA(hashes.SHA256()))
                    ok = ts == p["timestamp"] and sct.log_id == hashlib.sha256(
                        ctlog.certgen.ec_key("sct:" + lg.seed).spki).digest()
                    sct_ok += 1 if ok else 0
                    if not ok:
                        problems.append((i, "SCT fields"))
                except InvalidSignature:
                    problems.append((i, "SCT signature"))
    t.ok(not problems, "%s: entries: chains verify, precert TBS/issuer hash/"
         "poison right, timestamps right" % name, problems[:5])
    t.ok(kinds[0] and kinds[1], "%s: both entry types present (%d x509, %d "
         "precert)" % (name, kinds[0], kinds[1]))
    t.ok(sct_ok > 0 and sct_ok == kinds[1] - (1 if parsed[-1]["entry_type"]
                                              == 1 else 0),
         "%s: every final cert's embedded SCT verifies over its precert (%d)"
         % (name, sct_ok))


def check_checkpoint(lg, pub, body=None):
    """Fetch (unless given) and verify a checkpoint: (size, root, ok)."""
    if body is None:
        st, hd, body = fetch(lg.url + "checkpoint")
        t.eq(hd.get("content-type"), "text/plain; charset=utf-8",
             "%s: checkpoint content type" % lg.name)
    origin, size, root, ok = verify_checkpoint(body, pub)
    return size, root, ok and origin == lg.origin


def check_tiled(srv, lg, pub, rfc_parsed):
    size, root, ok = check_checkpoint(lg, pub)
    t.ok(ok, "%s: checkpoint note signature and key ID verify" % lg.name)
    t.eq(lg.origin, lg.url[len("http://"):].rstrip("/"),
         "%s: origin is the submission prefix without scheme" % lg.name)
    tiles = []
    for n in range(size // 256):
        st, _, b = fetch(lg.url + "tile/data/" + "%03d" % n)
        tiles.append((st, b))
    w = size % 256
    st, _, pb = fetch(lg.url + "tile/data/%03d.p/%d" % (size // 256, w))
    tiles.append((st, pb))
    t.ok(all(s == 200 for s, _ in tiles), "%s: %d full data tiles and the "
         "partial .p/%d served" % (lg.name, size // 256, w))
    leaves = []
    for _, b in tiles:
        leaves += parse_tile(b)
    t.eq(len(leaves), size, "%s: data tiles parse into %d TileLeafs" %
         (lg.name, size))
    bad = []
    fps = set()
    for i, e in enumerate(leaves):
        ex = parse_exts(e["extensions"])
        if list(ex) != [0] or int.from_bytes(ex[0], "big") != i or \
                len(ex[0]) != 5 or len(e["extensions"]) != 8:
            bad.append((i, "leaf_index"))
        r = rfc_parsed[i]
        same = (e["entry_type"] == r["entry_type"] and
                e["timestamp"] == r["timestamp"] and
                e.get("cert") == r.get("cert") and e.get("tbs") == r.get("tbs")
                and e.get("pre_certificate") == r.get("pre"))
        if not same:
            bad.append((i, "differs from the RFC 6962 log with the same seed"))
        if [hashlib.sha256(c).digest() for c in r["chain"]] != e["fingerprints"]:
            bad.append((i, "chain fingerprints"))
        fps.update(e["fingerprints"])
    t.ok(not bad, "%s: leaf_index extensions right, entries equal the RFC "
         "6962 log's, fingerprints match its chains" % lg.name, bad[:5])
    got = [fetch(lg.url + "issuer/" + fp.hex()) for fp in sorted(fps)]
    t.ok(all(s == 200 and hashlib.sha256(b).digest() == fp and
             h.get("content-type") == "application/pkix-cert"
             for (s, h, b), fp in zip(got, sorted(fps))),
         "%s: every fingerprint resolves at /issuer/<hex> (%d issuers)" %
         (lg.name, len(fps)))
    mlf = [b"\x00\x00" + ts_entry_bytes(e) for e in leaves]
    t.eq(mth(mlf), root, "%s: Merkle root over the tile leaves equals the "
         "checkpoint root" % lg.name)
    lh = [hashlib.sha256(b"\x00" + x).digest() for x in mlf]
    st, _, h0 = fetch(lg.url + "tile/0/000")
    st2, _, hp = fetch(lg.url + "tile/0/%03d.p/%d" % (size // 256, w))
    t.ok(st == 200 and h0 == b"".join(lh[:256]) and st2 == 200 and
         hp == b"".join(lh[(size // 256) * 256:]),
         "%s: level-0 hash tiles hold the leaf hashes" % lg.name)
    nfull = size // 256
    st, _, h1 = fetch(lg.url + "tile/1/000.p/%d" % nfull)
    t.ok(st == 200 and h1 == b"".join(mth(mlf[k * 256:(k + 1) * 256])
                                      for k in range(nfull)),
         "%s: level-1 partial hash tile holds the subtree hashes" % lg.name)
    return leaves


def check_paths(lg):
    tip = ctlog.ctformat.tile_index_path
    t.eq([tip(1234067), tip(0), tip(999), tip(1000), tip(1000000)],
         ["x001/x234/067", "000", "999", "x001/000", "x001/x000/000"],
         "tile path encoding (1234067 -> x001/x234/067)")
    codes = [fetch(lg.url + p)[0] for p in (
        "tile/data/x000/001", "tile/data/1", "tile/data/000.p/0",
        "tile/data/000.p/01", "tile/data/000.p/256", "tile/6/000",
        "tile/data/x001/000", "tile/data/002.p/255", "tile/data/002")]
    t.eq(codes, [400, 400, 400, 400, 400, 404, 404, 404, 404],
         "non-canonical tile paths 400, tiles beyond the tree 404")


def check_loglist(srv, tmp):
    st, ll = fetch_json(srv.loglist_url)
    seen = {}
    bad = []
    for op in ll["operators"]:
        if not op["email"] or not op["name"]:
            bad.append("operator fields")
        for kind in ("logs", "tiled_logs"):
            for lg in op[kind]:
                seen[lg["description"]] = (kind, lg)
                spki = base64.b64decode(lg["key"])
                if base64.b64decode(lg["log_id"]) != hashlib.sha256(spki).digest():
                    bad.append("log_id of " + lg["description"])
                if kind == "logs" and "url" not in lg:
                    bad.append("url")
                if kind == "tiled_logs" and not (
                        lg["submission_url"] and lg["monitoring_url"]):
                    bad.append("tiled urls")
                (state, body), = lg["state"].items()
                if "timestamp" not in body:
                    bad.append("state timestamp")
                if state == "readonly" and "final_tree_head" not in body:
                    bad.append("final_tree_head")
    t.ok(not bad and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$",
                              ll["log_list_timestamp"]),
         "log list: v3 shape, log_id = SHA-256(key), states carry timestamps",
         bad)
    states = sorted({list(v[1]["state"])[0] for v in seen.values()})
    t.eq(states, sorted(ctlog.STATES), "log list: all six states present")
    t.ok("ctlog test log 'hidden'" not in seen, "unlisted log absent")
    with open(srv.loglist_file) as f:
        onfile = json.load(f)
    t.eq(len(onfile["operators"]), len(ll["operators"]),
         "log list file written next to the served list")
    srv.log("hidden").set(listed=True)
    with open(srv.loglist_file) as f:
        names = [x["description"] for op in json.load(f)["operators"]
                 for x in op["logs"]]
    t.ok("ctlog test log 'hidden'" in names,
         "listing a log at run time rewrites the list file")


def check_growth(srv, lg, pub):
    s0 = lg.size
    lg.set(grow_n=10, grow_every=0.2)
    deadline = time.monotonic() + 10
    sizes = []
    while time.monotonic() < deadline:
        st, sth = fetch_json(lg.url + "ct/v1/get-sth")
        sizes.append(sth["tree_size"])
        if sth["tree_size"] >= s0 + 30:
            break
        time.sleep(0.1)
    lg.set(grow_n=0)
    root = base64.b64decode(sth["sha256_root_hash"])
    t.ok(sizes[-1] >= s0 + 30 and sorted(sizes) == sizes,
         "growth: STH size rises %d -> %d in steps of 10" % (s0, sizes[-1]))
    t.ok(verify_ds(pub, base64.b64decode(sth["tree_head_signature"]),
                   tree_head_msg(sth["timestamp"], sth["tree_size"], root)),
         "growth: the new STH verifies")
    ents, _ = get_all_entries(lg.url, sth["tree_size"])
    t.eq(mth([base64.b64decode(e["leaf_input"]) for e in ents]), root,
         "growth: root of the grown tree recomputes")


def check_caps(lg):
    res = []
    for cap in (32, 256, 1024):
        lg.set(cap=cap)
        st, j = fetch_json(lg.url + "ct/v1/get-entries?start=0&end=1999")
        res.append(len(j["entries"]))
    lg.set(cap=1024)
    st, j = fetch_json(lg.url + "ct/v1/get-entries?start=5&end=9")
    res.append(len(j["entries"]))
    lg.set(cap=32, cap_align=True)
    st, j = fetch_json(lg.url + "ct/v1/get-entries?start=40&end=200")
    res.append(len(j["entries"]))
    lg.set(cap_align=False)
    t.eq(res, [32, 256, 1024, 5, 24],
         "reply caps 32/256/1024, short ranges, aligned cap")
    codes = [fetch(lg.url + "ct/v1/get-entries?" + q)[0] for q in (
        "start=10&end=5", "start=-1&end=5", "start=%d&end=%d" %
        (lg.size, lg.size + 5), "start=1", "start=a&end=b")]
    t.eq(codes, [400] * 5, "bad get-entries ranges get 400")


def check_errors(lg):
    sth = lg.url + "ct/v1/get-sth"
    got = []
    for code in (429, 500, 503):
        lg.set(error_rate=1.0, error_codes=[code], retry_after=7)
        st, hd, _ = fetch(sth)
        got.append((st, hd.get("retry-after")))
    t.eq(got, [(429, "7"), (500, None), (503, "7")],
         "injected 429/500/503, Retry-After on 429 and 503")
    lg.set(error_rate=0.25, error_codes=[429, 500, 503], fault_seed=1)
    sts = [fetch(sth)[0] for _ in range(200)]
    lg.set(error_rate=0.0)
    nerr = sum(1 for s in sts if s != 200)
    t.ok(25 <= nerr <= 80 and set(sts) <= {200, 429, 500, 503},
         "error_rate 0.25: %d of 200 requests failed" % nerr)
    lg.set(rate_limit=20.0, retry_after=1)
    t0 = time.monotonic()
    res = [fetch(sth)[:2] for _ in range(60)]
    dt = time.monotonic() - t0
    n_ok = sum(1 for s, _ in res if s == 200)
    limited = [h.get("retry-after") for s, h in res if s == 429]
    time.sleep(0.3)
    after = fetch(sth)[0]
    lg.set(rate_limit=0.0)
    t.ok(20 <= n_ok <= 20 + 20 * dt + 1 and len(limited) == 60 - n_ok and
         all(r == "1" for r in limited) and after == 200 and
         lg.counters["fault:rate"] == len(limited),
         "rate_limit 20/s: %d of 60 requests in %.2f s passed, the rest 429"
         % (n_ok, dt))
    lg.set(fault_on=["get-entries"], error_rate=1.0, error_codes=[429])
    a = fetch(sth)[0]
    b = fetch(lg.url + "ct/v1/get-entries?start=0&end=0")[0]
    lg.set(fault_on=None, error_rate=0.0)
    t.eq((a, b), (200, 429), "fault_on limits faults to get-entries")
    lg.set(fail_next=[500, "garbage", "truncate"])
    seq = [fetch(sth) for _ in range(4)]
    ok_json = []
    for st, _, b in seq:
        try:
            json.loads(b)
            ok_json.append(True)
        except ValueError:
            ok_json.append(False)
    t.eq([s for s, _, _ in seq] + ok_json,
         [500, 200, 200, 200, False, False, False, True],
         "fail_next: 500, garbage, truncated JSON, then normal")


def check_bodies(lg):
    sth = lg.url + "ct/v1/get-sth"
    full = fetch(sth)[2]
    lg.set(garbage_rate=1.0)
    st, _, g = fetch(sth)
    lg.set(garbage_rate=0.0, truncate_rate=1.0)
    st2, hd2, tr = fetch(sth)
    lg.set(truncate_rate=0.0)
    try:
        json.loads(g)
        gj = True
    except ValueError:
        gj = False
    t.ok(st == 200 and not gj, "garbage body: 200 with a non-JSON body")
    t.ok(st2 == 200 and int(hd2["content-length"]) == len(tr) and
         full.startswith(tr) and len(tr) < len(full),
         "truncated JSON: a proper prefix with a matching Content-Length")
    lg.set(short_body_rate=1.0)
    head, body, closed = raw_get(lg.port, lg.prefix + "ct/v1/get-sth")
    lg.set(short_body_rate=0.0)
    cl = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    t.ok(closed and len(body) < cl,
         "short body: %d of %d declared bytes, then close" % (len(body), cl))
    lg.set(drip_bytes=40, drip_interval=0.05)
    t0 = time.monotonic()
    st, _, d = fetch(sth)
    dt = time.monotonic() - t0
    lg.set(drip_bytes=0)
    t.ok(st == 200 and json.loads(d)["tree_size"] == lg.size and
         dt >= 0.05 * (len(d) // 40) * 0.9,
         "slow drip: %d bytes in %.2f s, complete and valid" % (len(d), dt))
    for chunked in (False, True):
        lg.set(huge_bytes=50 * 1000 * 1000, huge_chunked=chunked)
        t0 = time.monotonic()
        c = http.client.HTTPConnection("127.0.0.1", lg.port, timeout=20)
        c.request("GET", lg.prefix + "ct/v1/get-entries?start=0&end=10")
        r = c.getresponse()
        n = 0
        while True:
            b = r.read(1 << 20)
            if not b:
                break
            n += len(b)
        c.close()
        lg.set(huge_bytes=0)
        t.ok(n == 50 * 1000 * 1000, "huge response (%s): %d bytes streamed in "
             "%.2f s" % ("chunked" if chunked else "Content-Length", n,
                         time.monotonic() - t0))


def check_heads(lg, pub, tl, tpub):
    lg.set(shrink_to=100)
    st, sth = fetch_json(lg.url + "ct/v1/get-sth")
    root = base64.b64decode(sth["sha256_root_hash"])
    ents, _ = get_all_entries(lg.url, 100)
    lg.set(shrink_to=None)
    t.ok(sth["tree_size"] == 100 and verify_ds(
        pub, base64.b64decode(sth["tree_head_signature"]),
        tree_head_msg(sth["timestamp"], 100, root)) and
        mth([base64.b64decode(e["leaf_input"]) for e in ents]) == root,
        "shrink_to: a validly signed STH of the first 100 entries")
    lg.set(bad_sth_sig=True)
    st, sth = fetch_json(lg.url + "ct/v1/get-sth")
    bad = verify_ds(pub, base64.b64decode(sth["tree_head_signature"]),
                    tree_head_msg(sth["timestamp"], sth["tree_size"],
                                  base64.b64decode(sth["sha256_root_hash"])))
    lg.set(bad_sth_sig=False)
    t.ok(not bad and sth["tree_size"] == lg.size,
         "bad_sth_sig: well-formed STH whose signature fails")
    tl.set(bad_checkpoint_sig=True)
    size, root, ok = check_checkpoint(tl, tpub, fetch(tl.url + "checkpoint")[2])
    tl.set(bad_checkpoint_sig=False, checkpoint_extra_sigs=True)
    body = fetch(tl.url + "checkpoint")[2]
    _, _, ok3 = check_checkpoint(tl, tpub, body)
    tl.set(checkpoint_extra_sigs=False)
    t.ok(ok3 and body.count("\u2014 ".encode()) == 4 and
         "\n\u2014 grease.invalid ".encode() in body,
         "checkpoint_extra_sigs: 4 signature lines, the log's still verifies")
    tl.set(shrink_to=10)
    size2, _, ok2 = check_checkpoint(tl, tpub, fetch(tl.url + "checkpoint")[2])
    tl.set(shrink_to=None)
    t.ok(not ok and ok2 and size2 == 10,
         "bad_checkpoint_sig fails verification; shrunk checkpoint verifies")


def check_dead(lg):
    sth = lg.url + "ct/v1/get-sth"
    keep = http.client.HTTPConnection("127.0.0.1", lg.port, timeout=3)
    keep.request("GET", lg.prefix + "ct/v1/get-sth")
    first = keep.getresponse().read()
    lg.set(dead="refused")
    try:
        fetch(sth, timeout=2)
        refused = False
    except ConnectionRefusedError:
        refused = True
    try:
        keep.request("GET", lg.prefix + "ct/v1/get-sth")
        keep.getresponse().read()
        kept = True
    except (OSError, http.client.HTTPException):
        kept = False
    keep.close()
    lg.set(dead=None)
    t.ok(first and not kept, "dead=refused also cuts kept-alive connections")
    t.ok(refused and fetch(sth)[0] == 200,
         "dead=refused refuses connections; revived on the same port")
    lg.set(dead="hang", hang_max=30)
    t0 = time.monotonic()
    try:
        fetch(sth, timeout=0.5)
        hung = False
    except socket.timeout:
        hung = True
    lg.set(dead=None)
    t.ok(hung and fetch(sth)[0] == 200 and time.monotonic() - t0 < 5,
         "dead=hang: no answer until the knob is cleared")
    lg.set(dead="reset")
    head, body, closed = raw_get(lg.port, lg.prefix + "ct/v1/get-sth")
    lg.set(dead=None)
    t.ok(closed and head == b"", "dead=reset: connection dropped, no reply")
    lg.set(latency=0.3)
    t0 = time.monotonic()
    fetch(sth)
    lg.set(latency=0.0)
    t.ok(time.monotonic() - t0 >= 0.3, "latency knob delays replies")


def check_tile_knobs(tl):
    size = tl.size
    n, w = size // 256, size % 256
    part = "tile/data/%03d.p/%d" % (n, w)
    plain = fetch(tl.url + part)[2]
    tl.set(gzip_tiles=True)
    st, hd, gz = fetch(tl.url + part)
    tl.set(gzip_tiles=False)
    t.ok(hd.get("content-encoding") == "gzip" and gzip.decompress(gz) == plain,
         "gzip_tiles: data tile gzip-encoded without negotiation")
    tl.clear_records()
    fetch(tl.url + part, headers={"User-Agent": "probe/1",
                                  "Accept-Encoding": "gzip, identity"})
    no_repeat = tl.repeated("tile-data-partial") == {}
    fetch(tl.url + part)
    recs = tl.requests("tile-data-partial")
    t.ok(len(recs) == 2 and all(r["path"].endswith(part) and
                                r["size"] == size and r["status"] == 200
                                for r in recs) and
         recs[0]["ua"] == "probe/1" and
         recs[0]["accept_encoding"] == "gzip, identity" and
         tl.counters["kind:tile-data-partial"] == 2,
         "records: path, status, tree size, User-Agent, Accept-Encoding")
    t.ok(no_repeat and tl.repeated("tile-data-partial") ==
         {(tl.prefix + part, size): 2},
         "repeated(): a partial tile fetched twice at the same size shows up")
    tl.grow(256 - w)
    st_full = fetch(tl.url + "tile/data/%03d" % n)[0]
    st_old = fetch(tl.url + part)[0]
    tl.set(omit_stale_partials=True)
    st_gone = fetch(tl.url + part)[0]
    tl.set(omit_stale_partials=False)
    t.eq((st_full, st_old, st_gone), (200, 200, 404),
         "tile completes: full tile served; stale partial served or omitted "
         "(omit_stale_partials)")


def check_control(srv):
    st, info = post_ctl(srv, {"log": "rfc-b", "set": {"cap": 7}, "grow": 5})
    t.ok(st == 200 and info["knobs"]["cap"] == 7 and info["size"] == 305,
         "POST /_ctl sets knobs and grows a log")
    st, info = post_ctl(srv, {"add_log": {"name": "late", "kind": "tiled",
                                          "size": 3}})
    t.ok(st == 200 and fetch(info["url"] + "checkpoint")[0] == 200,
         "POST /_ctl add_log starts a new log")
    st, bad = post_ctl(srv, {"log": "rfc-b", "set": {"nope": 1}})
    t.eq(st, 400, "unknown knob rejected with 400")
    st, logs = fetch_json(srv.hub_url + "_ctl/logs")
    t.ok(st == 200 and logs["rfc-b"]["counters"].get("requests", 0) >= 0 and
         "late" in logs, "GET /_ctl/logs lists logs with knobs and counters")
    st, ej = fetch_json(srv.hub_url + "_ctl/entry?log=rfc-a&index=3")
    st2, ex = fetch_json(srv.hub_url + "_ctl/expected?log=rfc-a&index=3")
    lg = srv.log("rfc-a")
    t.ok(st == 200 and st2 == 200 and base64.b64decode(ej["cert"]) ==
         lg.entries[3].cert and ex == json.loads(json.dumps(
             expected.for_log(lg, 3))),
         "GET /_ctl/entry and /_ctl/expected")
    n0 = srv.list_requests
    st1, _ = post_ctl(srv, {"list_fault": 503})
    a = fetch(srv.loglist_url)[0]
    post_ctl(srv, {"list_fault": "garbage"})
    g = fetch(srv.loglist_url)
    post_ctl(srv, {"list_fault": None})
    b = fetch(srv.loglist_url)[0]
    t.ok(st1 == 200 and a == 503 and g[0] == 200 and
         not g[2].endswith(b"}") and b == 200 and
         srv.list_requests == n0 + 3,
         "list_fault: log list answers 503, then broken JSON, then normally")
    recs = json.loads(fetch(srv.hub_url + "_ctl/requests?log=rfc-b")[2])
    t.ok(isinstance(recs, list), "GET /_ctl/requests")


def openssl_fields(der):
    p = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout",
                        "-serial", "-fingerprint", "-sha1", "-startdate",
                        "-enddate", "-ext", "subjectAltName"],
                       input=der, capture_output=True, timeout=10)
    out = p.stdout.decode()
    serial = re.search(r"serial=([0-9A-F]+)", out).group(1)
    fp = re.search(r"Fingerprint=([0-9A-F:]+)", out).group(1)
    nb = re.search(r"notBefore=(.*)", out).group(1)
    sans = re.findall(r"DNS:([^,\s]+)", out)
    return serial, fp, nb, sans


def check_expected(lg, tl):
    bad = []
    cases = set()
    for i in range(0, 60):
        e = lg.entries[i]
        ex = expected.for_log(lg, i)
        L = ex["leaf_cert"]
        cases.add(e.template.case)
        serial, fp, nb, sans = openssl_fields(e.cert)
        nb_epoch = int(time.mktime(time.strptime(nb, "%b %d %H:%M:%S %Y GMT"))
                       - time.timezone)
        if L["serial_number"] != (serial if len(serial) % 2 == 0 else
                                  "0" + serial):
            bad.append((i, "serial", L["serial_number"], serial))
        if L["fingerprint"] != fp or L["sha1"] != fp:
            bad.append((i, "fingerprint"))
        if L["not_before"] != nb_epoch:
            bad.append((i, "not_before"))
        if not re.match(r"^([0-9A-F]{2}:){31}[0-9A-F]{2}$", L["sha256"]):
            bad.append((i, "sha256 format"))
        if L["all_domains"][:len(sans)] != sans:
            bad.append((i, "all_domains vs openssl SANs"))
        want_type = "PrecertLogEntry" if e.kind == "precert" else "X509LogEntry"
        if ex["update_type"] != want_type or \
                L["extensions"].get("ctlPoisonByte", False) != (e.kind == "precert"):
            bad.append((i, "update_type/poison"))
        if ex["source"]["timestamp"] != e.ts_ms / 1000 or \
                ex["cert_link"] != "%sct/v1/get-entries?start=%d&end=%d" % (
                    lg.url, i, i) or ex["cert_index"] != i:
            bad.append((i, "data fields"))
        if len(ex["chain"]) != len(e.chain) or \
                ex["chain"][0]["subject"] != L["issuer"]:
            bad.append((i, "chain"))
        c = e.template.case
        ad = L["all_domains"]
        cn = L["subject"]["CN"]
        rules = {"cnless": lambda: cn == "" and len(ad) == 2,
                 "cn_not_in_san": lambda: ad[-1] == cn and len(ad) == 2,
                 "no_san": lambda: ad == [cn],
                 "dup": lambda: len(ad) == 3 and ad[0] == ad[1],
                 "ip_cn": lambda: ad == [cn],
                 "wildcard": lambda: ad[0].startswith("*."),
                 "punycode": lambda: ad[0].startswith("xn--"),
                 "many": lambda: len(ad) == 25,
                 "mixed_san": lambda: len(ad) == 2 and "email:" in
                 L["extensions"]["subjectAltName"] and "IP Address:192.0.2."
                 in L["extensions"]["subjectAltName"]}
        if not rules.get(c, lambda: True)():
            bad.append((i, "case " + c, ad))
    t.ok(not bad, "expected.py agrees with openssl (serial, SHA-1, notBefore, "
         "SANs) and the case rules for 60 entries", bad[:5])
    t.eq(sorted(cases), sorted(ctlog.certgen.CASES),
         "the first 60 entries cover every certificate case")
    ex = expected.for_log(lg, 9)
    tx = expected.for_log(tl, 9)
    t.ok(tx["cert_link"] == "" and tx["source"]["type"] == "tiled" and
         tx["leaf_cert"] == ex["leaf_cert"] and
         ex["source"]["type"] == "rfc6962" and
         tx["source"]["url"] == tl.url.rstrip("/"),
         "tiled: empty cert_link, type tiled, same leaf as the RFC 6962 log")
    t.eq(expected.go_float(1767225609.0), "1767225609",
         "go_float drops an integral fraction")
    # an entry whose issuer is the ECDSA intermediate (O has "<&>")
    i = next(k for k in range(60) if lg.entries[k].chain[0].label == "int-ec")
    d = expected.for_log(lg, i)
    full = expected.frame(d, 1767225700.25, "full")
    lite = expected.frame(d, 1767225700.25, "lite")
    dom = expected.frame(d, 1767225700.25, "domains")
    pf, pl = json.loads(full), json.loads(lite)
    t.ok(full.endswith(b"}\n") and b"PKI <&>" in full and
         full.startswith(b'{"data":{"cert_index":%d,"cert_link":' % i) and
         b',"seen":1767225700.25,"source":{"name":' in full and
         pf["data"]["chain"][0]["subject"]["O"] == "ctlog Test PKI <&>" and
         "chain" not in pl["data"] and "as_der" not in pl["data"]["leaf_cert"]
         and pl["data"]["leaf_cert"]["fingerprint"] ==
         d["leaf_cert"]["fingerprint"] and lite.endswith(b"\n") and
         json.loads(dom) == {"data": d["leaf_cert"]["all_domains"],
                             "message_type": "dns_entries"} and
         not dom.endswith(b"\n"),
         "expected.frame: full/lite/domains frames in GO's shape")
    t.eq(expected.go_json({"a": "x<y>\u2028\b", "b": [1.5, 2.0, None]}, True),
         '{"a":"x\\u003cy\\u003e\\u2028\\b","b":[1.5,2,null]}',
         "go_json escaping and float text")
    sub = ex["chain"][0]["subject"]
    t.ok(sub["aggregated"].startswith("/C=") and "/CN=" in sub["aggregated"]
         and sub["email_address"] is None,
         "subject aggregated and email_address in GO form")


def check_determinism():
    code = ("import sys, hashlib; sys.path.insert(0, %r); import certgen; "
            "print(hashlib.sha256(b''.join(certgen.make_entry('rfc-a', i).cert"
            " for i in range(25))).hexdigest())" %
            os.path.join(os.path.dirname(HERE), "ctlog"))
    p = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True,
                       timeout=120)
    here = hashlib.sha256(b"".join(ctlog.certgen.make_entry("rfc-a", i).cert
                                   for i in range(25))).hexdigest()
    t.eq(p.stdout.decode().strip(), here,
         "certificates are byte-identical when regenerated in another process")


def check_script():
    tool = os.path.join(os.path.dirname(HERE), "ctlog", "ctlog.py")
    with tempfile.TemporaryDirectory() as d:
        ready = os.path.join(d, "ready.json")
        lst = os.path.join(d, "list.json")
        p = subprocess.Popen(["/usr/bin/python3", tool, "--log",
                              "name=s1,kind=rfc6962,size=20,cap=8,"
                              "error_codes=429|503", "--log",
                              "name=s2,kind=tiled,size=300",
                              "--loglist-file", lst, "--ready-file", ready,
                              "--max-seconds", "60"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            line = p.stdout.readline()
            info = json.loads(line)
            st, sth = fetch_json(info["logs"]["s1"]["url"] + "ct/v1/get-sth")
            st2 = fetch(info["logs"]["s2"]["url"] + "tile/data/001.p/44")[0]
            with open(lst) as f:
                ll = json.load(f)
            with open(ready) as f:
                same = json.load(f) == info
            ok = (st == 200 and sth["tree_size"] == 20 and st2 == 200 and
                  len(ll["operators"][0]["tiled_logs"]) == 1 and same)
        finally:
            p.terminate()
            rc = p.wait(timeout=10)
        t.ok(ok and rc == 0, "script mode: ready line, list file, serving, "
             "clean exit on SIGTERM")


def check_hostile(lg, tl):
    """The hostile modes of bench/faults.py ctlog."""
    url = lg.url + "ct/v1/get-entries?start=0&end=9"
    lg.set(bad_entry_every=2)
    es = json.loads(fetch(url)[2])["entries"]
    lg.set(bad_entry_every=0)
    good = json.loads(fetch(url)[2])["entries"]
    odd = [es[i] for i in range(1, 10, 2)]
    t.ok(len(es) == 10 and [es[i] for i in range(0, 10, 2)] ==
         [good[i] for i in range(0, 10, 2)] and
         all(o != good[i] for o, i in zip(odd, range(1, 10, 2))) and
         [lg.bad_entry(i) for i in range(4)] == [None, None, None, None] and
         not isinstance(odd[4], dict) and "leaf_input" not in odd[3],
         "bad_entry_every: every 2nd entry mangled, the others intact",
         odd[:2])
    lg.set(entries_count="more")
    more = json.loads(fetch(url)[2])["entries"]
    lg.set(entries_count="zero")
    zero = json.loads(fetch(url)[2])["entries"]
    lg.set(entries_count=None)
    t.ok(len(more) == 15 and more[:10] == good and zero == [],
         "entries_count: 15 entries for 10 asked, or none", len(more))
    path = tl.url + "tile/data/000"
    full = fetch(path)[2]
    res = {}
    for f in ("short", "long", "missing"):
        tl.set(tile_fault=f)
        res[f] = fetch(path)
    tl.set(tile_fault=None)
    t.ok(res["short"][2] == full[:len(full) // 2] and
         res["long"][2].startswith(full) and len(res["long"][2]) > len(full)
         and res["missing"][0] == 404, "tile_fault: short, long, missing")
    tl.set(checkpoint_origin="evil.example/log")
    cp = fetch(tl.url + "checkpoint")[2]
    tl.set(checkpoint_origin=None)
    t.ok(cp.startswith(b"evil.example/log\n") and
         b"\n\xe2\x80\x94 evil.example/log " in cp,
         "checkpoint_origin: a note of another origin")
    lg.set(redirect_loop=True)
    st, hd, _ = fetch(url)
    lg.set(redirect_loop=False)
    t.ok(st == 302 and hd.get("location", "").endswith("end=9"),
         "redirect_loop: 302 to the same URL", (st, hd))
    lg.set(reset_mid_rate=1.0)
    try:
        head, body, closed = raw_get(lg.port, lg.prefix + "ct/v1/get-sth")
        ok = closed and b"200" in head.split(b"\r\n")[0]
    except ConnectionResetError:
        ok = True           # the RST can beat the data
    lg.set(reset_mid_rate=0.0)
    t.ok(ok, "reset_mid: half a body, then a reset")


def main():
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="ctlogtest.")
    srv = ctlog.CTLogServer(loglist_file=os.path.join(tmp, "log_list.json"))
    lg = srv.add_log("rfc-a", size=600, cap=32)
    tl = srv.add_log("tiled-a", kind="tiled", seed="rfc-a", size=600)
    srv.add_log("rfc-b", size=300, cap=1024, key_type="rsa",
                operator="ctlog Other Operator", state="qualified")
    for st in ("readonly", "retired", "pending"):
        srv.add_log(st, size=5, state=st)
    srv.add_log("rejected", kind="tiled", size=5, state="rejected")
    srv.add_log("hidden", size=5, listed=False)
    srv.add_log("faults", seed="rfc-a", size=1100, cap=1024)
    gen = time.monotonic() - t0
    with srv:
        keys = list_keys(srv)
        t.ok(len(keys) == 8, "log list names 8 served logs (%.1f s to build "
             "3,030 entries incl. the PKI)" % gen)
        rfc = check_rfc6962(srv, lg, keys[lg.url], 32)
        check_entries(rfc, lg, "rfc")
        rb = srv.log("rfc-b")
        parsed_b = check_rfc6962(srv, rb, keys[rb.url], 1024)
        check_entries(parsed_b, rb, "rfc-b")
        check_tiled(srv, tl, keys[tl.url], rfc)
        check_paths(tl)
        check_loglist(srv, tmp)
        fl = srv.log("faults")
        check_caps(fl)
        check_errors(fl)
        check_bodies(fl)
        check_heads(fl, keys[fl.url], tl, keys[tl.url])
        check_dead(fl)
        check_tile_knobs(tl)
        check_hostile(fl, tl)
        check_growth(srv, fl, keys[fl.url])
        check_control(srv)
        check_expected(lg, tl)
    shutil.rmtree(tmp, ignore_errors=True)
    check_determinism()
    check_script()
    t0 = time.monotonic()
    ents = [ctlog.certgen.make_entry("speed", i) for i in range(2000)]
    dt = time.monotonic() - t0
    t.ok(len(ents) == 2000, "generated 2,000 new entries in %.2f s "
         "(%.0f entries/s)" % (dt, 2000 / dt))
    t.done()


if __name__ == "__main__":
    main()
