"""ctref - an independent reference decoder for CT log data, written
apart from tests/ctlog's encoders so that each checks the other.

TLS-struct parsers for MerkleTreeLeaf (leaf_input), extra_data chains,
static-CT TileLeaf and CtExtensions; the RFC 6962 Merkle Tree Hash by its
recursive definition; DigitallySigned, STH and checkpoint (signed note,
RFC6962NoteSignature) verification with python3-cryptography; certificate
issuance checks; small HTTP helpers.  Used by test_ctlog.py and usable by
end-to-end tests.  Parsers raise ValueError on malformed input.
"""
import base64
import hashlib
import http.client
import json
import re
import socket
import time

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding


# ---- independent decoders -----------------------------------------------


class Rd:
    """Big-endian TLS reader that raises on overrun."""

    def __init__(self, b):
        self.b, self.p = b, 0

    def take(self, n):
        if self.p + n > len(self.b):
            raise ValueError("overrun at %d+%d of %d" % (self.p, n, len(self.b)))
        v = self.b[self.p:self.p + n]
        self.p += n
        return v

    def uint(self, n):
        return int.from_bytes(self.take(n), "big")

    def vec(self, lenbytes):
        return self.take(self.uint(lenbytes))

    def done(self):
        return self.p == len(self.b)


def parse_ts_entry(r):
    e = {"timestamp": r.uint(8), "entry_type": r.uint(2)}
    if e["entry_type"] == 0:
        e["cert"] = r.vec(3)
    elif e["entry_type"] == 1:
        e["issuer_key_hash"] = r.take(32)
        e["tbs"] = r.vec(3)
    else:
        raise ValueError("entry_type %d" % e["entry_type"])
    e["extensions"] = r.vec(2)
    return e


def parse_leaf_input(b):
    r = Rd(b)
    if r.uint(1) != 0 or r.uint(1) != 0:
        raise ValueError("version/leaf_type")
    e = parse_ts_entry(r)
    if not r.done():
        raise ValueError("trailing bytes in leaf_input")
    return e


def parse_chain(r):
    inner = Rd(r.vec(3))
    out = []
    while not inner.done():
        out.append(inner.vec(3))
    return out


def parse_extra_data(b, entry_type):
    r = Rd(b)
    pre = r.vec(3) if entry_type == 1 else None
    chain = parse_chain(r)
    if not r.done():
        raise ValueError("trailing bytes in extra_data")
    return pre, chain


def parse_tile(b):
    r = Rd(b)
    out = []
    while not r.done():
        e = parse_ts_entry(r)
        if e["entry_type"] == 1:
            e["pre_certificate"] = r.vec(3)
        fps = r.vec(2)
        if len(fps) % 32:
            raise ValueError("fingerprints length")
        e["fingerprints"] = [fps[i:i + 32] for i in range(0, len(fps), 32)]
        out.append(e)
    return out


def parse_exts(b):
    r = Rd(b)
    out = {}
    while not r.done():
        typ = r.uint(1)
        out[typ] = r.vec(2)
    return out


def ts_entry_bytes(e):
    """Re-encode a parsed TimestampedEntry (for the leaf hash)."""
    out = e["timestamp"].to_bytes(8, "big") + e["entry_type"].to_bytes(2, "big")
    if e["entry_type"] == 0:
        out += len(e["cert"]).to_bytes(3, "big") + e["cert"]
    else:
        out += e["issuer_key_hash"] + len(e["tbs"]).to_bytes(3, "big") + e["tbs"]
    return out + len(e["extensions"]).to_bytes(2, "big") + e["extensions"]


def mth(leaves):
    """RFC 6962 §2.1, by its recursive definition."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def verify_ds(pub, ds, msg):
    """Verify an RFC 5246 DigitallySigned over msg; True/False."""
    r = Rd(ds)
    h, s = r.uint(1), r.uint(1)
    sig = r.vec(2)
    if not r.done() or h != 4:
        return False
    try:
        if s == 3:
            pub.verify(sig, msg, ec.ECDSA(hashes.SHA256()))
        elif s == 1:
            pub.verify(sig, msg, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
        return True
    except InvalidSignature:
        return False


def tree_head_msg(ts, size, root):
    return b"\x00\x01" + ts.to_bytes(8, "big") + size.to_bytes(8, "big") + root


def verify_issued(child_der, issuer_der):
    child = x509.load_der_x509_certificate(child_der)
    pub = x509.load_der_x509_certificate(issuer_der).public_key()
    try:
        if isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(child.signature, child.tbs_certificate_bytes,
                       ec.ECDSA(child.signature_hash_algorithm))
        else:
            pub.verify(child.signature, child.tbs_certificate_bytes,
                       padding.PKCS1v15(), child.signature_hash_algorithm)
        return True
    except InvalidSignature:
        return False


def verify_checkpoint(body, pub):
    """Parse a static-CT checkpoint and verify it as a signed-note client
    does: the first signature line with the origin as key name and the
    RFC6962NoteSignature key ID (SHA-256(origin || 0x0A || 0x05 ||
    LogID)[:4]) must verify over the TreeHeadSignature; other lines are
    skipped.  Returns (origin, size, root, ok); raises on a malformed
    body."""
    txt = body.decode()
    note, sep, sigs = txt.rpartition("\n\n")
    lines = (note + "\n").split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
    lid = hashlib.sha256(pub.public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo)).digest()
    kid = hashlib.sha256(origin.encode() + b"\n\x05" + lid).digest()[:4]
    if len(lines) != 4 or sep != "\n\n" or not sigs.endswith("\n"):
        return origin, size, root, False
    for line in sigs[:-1].split("\n"):
        m = re.match("^\u2014 (\\S+) (\\S+)$", line)
        if not m:
            return origin, size, root, False
        raw = base64.b64decode(m.group(2))
        if m.group(1) != origin or raw[:4] != kid:
            continue
        ts = int.from_bytes(raw[4:12], "big")
        return origin, size, root, verify_ds(pub, raw[12:],
                                             tree_head_msg(ts, size, root))
    return origin, size, root, False


# ---- DER helpers ----------------------------------------------------


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der_tlv_at(b, off):
    ln = b[off + 1]
    p = off + 2
    if ln & 0x80:
        k = ln & 0x7f
        ln = int.from_bytes(b[p:p + k], "big")
        p += k
    return p, p + ln


def cert_alg_der(cert_der):
    """The signatureAlgorithm element of a Certificate."""
    cs, _ = der_tlv_at(cert_der, 0)
    _, te = der_tlv_at(cert_der, cs)
    _, ae = der_tlv_at(cert_der, te)
    return cert_der[te:ae]


# ---- HTTP helpers -----------------------------------------------------------


def fetch(url, timeout=5.0, headers=None):
    """(status, headers dict, body) with http.client; no decoding."""
    u = url.split("://", 1)[1]
    hostport, _, path = u.partition("/")
    host, port = hostport.split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        c.request("GET", "/" + path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def fetch_json(url):
    st, _, b = fetch(url)
    return st, json.loads(b) if st == 200 else None


def raw_get(port, path, timeout=3.0):
    """Raw request: (head bytes, body bytes, closed_by_peer)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
    buf = b""
    closed = False
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                closed = True
                break
            buf += b
    except ConnectionResetError:
        closed = True
    s.close()
    head, _, body = buf.partition(b"\r\n\r\n")
    return head, body, closed


def post_ctl(srv, obj):
    body = json.dumps(obj).encode()
    c = http.client.HTTPConnection("127.0.0.1", srv.hub_port, timeout=10)
    c.request("POST", "/_ctl", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    out = (r.status, json.loads(r.read()))
    c.close()
    return out
