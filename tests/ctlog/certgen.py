"""certgen - deterministic test certificates for the ctlog test CT log.

Builds a small PKI (RSA and ECDSA roots and intermediates) and, for a log
seed and an entry index, a leaf certificate, precertificate (with the CT
poison extension) or final certificate (with an embedded SCT list).  Every
byte is a function of the seed and the index, in any process: keys are
derived from the seed (ECDSA scalars by hash, RSA primes from a seeded
generator), RSA PKCS#1 v1.5 signatures are deterministic, and ECDSA
signatures use RFC 6979 nonces computed here (Debian 12's cryptography has
no deterministic ECDSA), so a test can regenerate exactly what a log serves.

Used by ctlog.py (the server) and expected.py; standard library plus
Debian's python3-cryptography only.  Errors raise; nothing is caught here.
"""
import datetime
import functools
import hashlib
import hmac
import ipaddress
import math
import random
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

POISON_OID = "1.3.6.1.4.1.11129.2.4.3"
SCTLIST_OID = "1.3.6.1.4.1.11129.2.4.2"
PKI_SEED = "ctlog-pki-v1"
BASE_TIME = 1767225600          # 2026-01-01T00:00:00Z: base of validity
BASE_TS_MS = 1767225600000      # entry i is logged at BASE_TS_MS + i * 1000

# ---- DER -----------------------------------------------------------------


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der_tlv(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def der_int(v):
    b = v.to_bytes(v.bit_length() // 8 + 1, "big")   # keeps a sign byte
    while len(b) > 1 and b[0] == 0 and b[1] < 0x80:
        b = b[1:]
    return der_tlv(0x02, b)


def der_read(buf, off):
    """One TLV at off: (tag, content_start, content_end).  Raises on
    anything that does not fit; enough for the DER we produce."""
    tag = buf[off]
    ln = buf[off + 1]
    p = off + 2
    if ln & 0x80:
        nb = ln & 0x7f
        if nb == 0 or nb > 4:
            raise ValueError("bad DER length")
        ln = int.from_bytes(buf[p:p + nb], "big")
        p += nb
    if p + ln > len(buf):
        raise ValueError("DER overrun")
    return tag, p, p + ln


def der_children(buf, start, end):
    out = []
    p = start
    while p < end:
        tag, cs, ce = der_read(buf, p)
        out.append((tag, p, cs, ce))
        p = ce
    return out


def tbs_of(cert_der):
    """The TBSCertificate DER inside a Certificate."""
    _, cs, _ = der_read(cert_der, 0)
    _, _, te = der_read(cert_der, cs)
    return cert_der[cs:te]


def tbs_without_ext(tbs, oid_dotted):
    """TBSCertificate with the extension oid_dotted removed (RFC 6962
    §3.2: the precert TBS logged is the precertificate's without poison)."""
    oid_der = der_tlv(0x06, _oid_body(oid_dotted))
    _, cs, ce = der_read(tbs, 0)
    parts = []
    for tag, p, pcs, pce in der_children(tbs, cs, ce):
        if tag != 0xa3:
            parts.append(tbs[p:pce])
            continue
        _, scs, sce = der_read(tbs, pcs)           # SEQUENCE OF Extension
        keep = []
        for _t, q, qcs, qce in der_children(tbs, scs, sce):
            _, ocs, oce = der_read(tbs, qcs)        # extnID
            if tbs[qcs:oce] != oid_der:
                keep.append(tbs[q:qce])
        parts.append(der_tlv(0xa3, der_tlv(0x30, b"".join(keep))))
    return der_tlv(0x30, b"".join(parts))


def _oid_body(dotted):
    arcs = [int(a) for a in dotted.split(".")]
    out = bytes([40 * arcs[0] + arcs[1]])
    for a in arcs[2:]:
        chunk = [a & 0x7f]
        a >>= 7
        while a:
            chunk.append(0x80 | (a & 0x7f))
            a >>= 7
        out += bytes(reversed(chunk))
    return out


# ---- deterministic ECDSA P-256 (RFC 6979) -------------------------------

P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff
N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551
GX = 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296
GY = 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5


def _jadd_affine(p1, x2, y2):
    """Jacobian p1 + affine (x2, y2); None is the point at infinity."""
    if p1 is None:
        return (x2, y2, 1)
    x1, y1, z1 = p1
    z1z1 = z1 * z1 % P
    u2 = x2 * z1z1 % P
    s2 = y2 * z1 * z1z1 % P
    h = (u2 - x1) % P
    r = (s2 - y1) % P
    if h == 0:
        if r == 0:
            return _jdouble(p1)
        return None
    hh = h * h % P
    hhh = h * hh % P
    v = x1 * hh % P
    x3 = (r * r - hhh - 2 * v) % P
    y3 = (r * (v - x3) - y1 * hhh) % P
    return (x3, y3, z1 * h % P)


def _jdouble(p1):
    if p1 is None:
        return None
    x, y, z = p1
    delta = z * z % P
    gamma = y * y % P
    beta = x * gamma % P
    alpha = 3 * (x - delta) * (x + delta) % P
    x3 = (alpha * alpha - 8 * beta) % P
    z3 = ((y + z) * (y + z) - gamma - delta) % P
    y3 = (alpha * (4 * beta - x3) - 8 * gamma * gamma) % P
    return (x3, y3, z3)


def _to_affine(p1):
    x, y, z = p1
    zi = pow(z, -1, P)
    return (x * zi * zi % P, y * zi * zi * zi % P)


@functools.lru_cache(maxsize=1)
def _gtable():
    """T[i][j] = j * 16^i * G in affine form (j = 1..15)."""
    table = []
    base = (GX, GY, 1)
    for _ in range(64):
        row = [None]
        acc = None
        bx, by = _to_affine(base)
        for _j in range(1, 16):
            acc = _jadd_affine(acc, bx, by)
            row.append(_to_affine(acc))
        table.append(row)
        for _k in range(4):
            base = _jdouble(base)
    return table


def scalar_base_mult(k):
    t = _gtable()
    acc = None
    for i in range(64):
        d = (k >> (4 * i)) & 15
        if d:
            acc = _jadd_affine(acc, *t[i][d])
    return _to_affine(acc)


def _hmac(k, m):
    return hmac.new(k, m, hashlib.sha256).digest()


def ecdsa_p256_sign(priv, msg):
    """Deterministic ECDSA-with-SHA256 (RFC 6979 §3.2); returns DER."""
    h1 = hashlib.sha256(msg).digest()
    z = int.from_bytes(h1, "big")
    bx = priv.to_bytes(32, "big") + (z % N).to_bytes(32, "big")
    v = b"\x01" * 32
    k = b"\x00" * 32
    k = _hmac(k, v + b"\x00" + bx)
    v = _hmac(k, v)
    k = _hmac(k, v + b"\x01" + bx)
    v = _hmac(k, v)
    for _ in range(64):
        v = _hmac(k, v)
        kk = int.from_bytes(v, "big")
        if 1 <= kk < N:
            r = scalar_base_mult(kk)[0] % N
            s = pow(kk, -1, N) * (z + r * priv) % N
            if r and s:
                return der_tlv(0x30, der_int(r) + der_int(s))
        k = _hmac(k, v + b"\x00")
        v = _hmac(k, v)
    raise RuntimeError("RFC 6979: no nonce")


# ---- keys -------------------------------------------------------------------


class Key:
    """A private key plus what the builders need about it."""

    def __init__(self, priv, ec_scalar=None):
        self.priv = priv
        self.ec_scalar = ec_scalar
        self.pub = priv.public_key()
        self.spki = self.pub.public_bytes(
            serialization.Encoding.DER,
            serialization.PublicFormat.SubjectPublicKeyInfo)
        self.is_ec = ec_scalar is not None

    def sign(self, msg):
        """Deterministic signature over msg (SHA-256)."""
        if self.is_ec:
            return ecdsa_p256_sign(self.ec_scalar, msg)
        return self.priv.sign(msg, padding.PKCS1v15(), hashes.SHA256())

    def sign_random(self, msg):
        """OpenSSL's (randomised for ECDSA) signature: fast, for STHs."""
        if self.is_ec:
            return self.priv.sign(msg, ec.ECDSA(hashes.SHA256()))
        return self.priv.sign(msg, padding.PKCS1v15(), hashes.SHA256())


@functools.lru_cache(maxsize=None)
def ec_key(label):
    d = int.from_bytes(hashlib.sha256(b"ctlog-ec:" + label.encode())
                       .digest(), "big") % (N - 1) + 1
    return Key(ec.derive_private_key(d, ec.SECP256R1()), d)


def _small_primes(limit):
    sieve = bytearray([1]) * limit
    sieve[0:2] = b"\x00\x00"
    for i in range(2, int(limit ** 0.5) + 1):
        if sieve[i]:
            sieve[i * i::i] = bytearray(len(sieve[i * i::i]))
    return [i for i in range(3, limit) if sieve[i]]


_SMALL_PRIMES = _small_primes(20000)
_SMALL_PROD = 1
for _p in _SMALL_PRIMES:
    _SMALL_PROD *= _p


def _is_probable_prime(n, rng):
    """Trial division by the primes below 20000 (one gcd), then 8
    Miller-Rabin rounds: ample for random 1024-bit candidates (FIPS 186-4
    C.3 asks for 5)."""
    if math.gcd(n, _SMALL_PROD) != 1:
        return n in _SMALL_PRIMES
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(8):
        a = rng.randrange(2, n - 2)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _r in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(rng, bits, e):
    for _ in range(100000):
        c = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if _is_probable_prime(c, rng) and (c - 1) % e:
            return c
    raise RuntimeError("no prime")


@functools.lru_cache(maxsize=None)
def rsa_key(label, bits=2048):
    """An RSA key derived from label: the same key in every process."""
    rng = random.Random("ctlog-rsa:%s:%d" % (label, bits))
    e = 65537
    p = _prime(rng, bits // 2, e)
    q = _prime(rng, bits // 2, e)
    if p < q:
        p, q = q, p
    d = pow(e, -1, (p - 1) * (q - 1))
    nums = rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q),
        rsa.rsa_crt_iqmp(p, q), rsa.RSAPublicNumbers(e, p * q))
    return Key(nums.private_key())


# ---- certificates ----------------------------------------------------------


def _ts(sec):
    return datetime.datetime.fromtimestamp(sec, datetime.timezone.utc) \
        .replace(tzinfo=None)


def sign_builder(builder, issuer_key):
    """Build with cryptography, then replace the signature with our
    deterministic one.  Returns the certificate DER."""
    tmp = builder.sign(issuer_key.priv, hashes.SHA256())
    tmp_der = tmp.public_bytes(serialization.Encoding.DER)
    if not issuer_key.is_ec:
        return tmp_der                      # PKCS#1 v1.5: deterministic
    tbs = tmp.tbs_certificate_bytes
    _, cs, ce = der_read(tmp_der, 0)
    kids = der_children(tmp_der, cs, ce)
    alg = tmp_der[kids[1][1]:kids[1][3]]
    sig = b"\x00" + issuer_key.sign(tbs)
    return der_tlv(0x30, tbs + alg + der_tlv(0x03, sig))


def name(cn=None, **kw):
    """x509.Name from keyword parts; values may be lists (multi-valued)."""
    oids = [("C", NameOID.COUNTRY_NAME), ("ST", NameOID.STATE_OR_PROVINCE_NAME),
            ("L", NameOID.LOCALITY_NAME), ("O", NameOID.ORGANIZATION_NAME),
            ("OU", NameOID.ORGANIZATIONAL_UNIT_NAME)]
    attrs = []
    for k, oid in oids:
        v = kw.get(k)
        for one in ([v] if isinstance(v, str) else (v or [])):
            attrs.append(x509.NameAttribute(oid, one))
    if cn is not None:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


class CA:
    def __init__(self, label, key, subject, der, cert):
        self.label = label
        self.key = key
        self.subject = subject
        self.der = der
        self.cert = cert
        self.sha256 = hashlib.sha256(der).digest()


def _make_ca(label, key, subject, issuer):
    """issuer None: self-signed root."""
    ikey = issuer.key if issuer else key
    ski = x509.SubjectKeyIdentifier.from_public_key(key.pub)
    b = (x509.CertificateBuilder()
         .subject_name(subject)
         .issuer_name(issuer.subject if issuer else subject)
         .public_key(key.pub)
         .serial_number(int.from_bytes(hashlib.sha256(label.encode())
                                       .digest()[:12], "big"))
         .not_valid_before(_ts(BASE_TIME - 400 * 86400))
         .not_valid_after(_ts(BASE_TIME + 3650 * 86400))
         .add_extension(x509.BasicConstraints(ca=True, path_length=None
                                              if issuer is None else 0),
                        critical=True)
         .add_extension(x509.KeyUsage(True, False, False, False, False, True,
                                      True, False, False), critical=True)
         .add_extension(ski, critical=False))
    if issuer:
        b = b.add_extension(x509.AuthorityKeyIdentifier
                            .from_issuer_public_key(issuer.key.pub),
                            critical=False)
    der = sign_builder(b, ikey)
    return CA(label, key, subject, der, x509.load_der_x509_certificate(der))


@functools.lru_cache(maxsize=1)
def pki():
    """The fixed test PKI: {label: CA} and the chains leaves use."""
    root_rsa = _make_ca("root-rsa", rsa_key(PKI_SEED + "root-rsa"),
                        name("ctlog Test Root R1", C="US",
                             O="ctlog Test PKI"), None)
    int_rsa = _make_ca("int-rsa", rsa_key(PKI_SEED + "int-rsa"),
                       name("ctlog Test RSA CA 1", C="US",
                            O="Let's Encrypt Test"), root_rsa)
    root_ec = _make_ca("root-ec", ec_key(PKI_SEED + "root-ec"),
                       name("ctlog Test ECC Root E1", C="DE",
                            O="ctlog Test PKI", OU=["Roots", "ECC"]), None)
    int_ec = _make_ca("int-ec", ec_key(PKI_SEED + "int-ec"),
                      name("ctlog Test ECC CA E2", C="DE", ST="Berlin",
                           L="Berlin", O="ctlog Test PKI <&>"), root_ec)
    cas = {c.label: c for c in (root_rsa, int_rsa, root_ec, int_ec)}
    # chain name -> issuers, issuer first (the order of extra_data)
    chains = {"rsa2": [int_rsa, root_rsa], "ec2": [int_ec, root_ec],
              "rsa1": [root_rsa], "ec1": [int_ec]}
    return cas, chains


def leaf_keys():
    return [ec_key("leaf%d" % i) for i in range(6)] + \
        [rsa_key("leaf-rsa")]


# ---- SCT ---------------------------------------------------------------------


def u8(v):
    return struct.pack(">B", v)


def u16(v):
    return struct.pack(">H", v)


def u24(v):
    return struct.pack(">I", v)[1:]


def u64(v):
    return struct.pack(">Q", v)


def digitally_signed(sig, key):
    """RFC 5246 DigitallySigned: sha256(4), ecdsa(3)/rsa(1), u16 sig."""
    return bytes([4, 3 if key.is_ec else 1]) + u16(len(sig)) + sig


def sct_for_precert(log_key, ts_ms, issuer_key_hash, tbs_nopoison):
    """One SCT v1 for a precertificate (RFC 6962 §3.2), serialized."""
    log_id = hashlib.sha256(log_key.spki).digest()
    signed = (u8(0) + u8(0) + u64(ts_ms) + u16(1) + issuer_key_hash +
              u24(len(tbs_nopoison)) + tbs_nopoison + u16(0))
    return (u8(0) + log_id + u64(ts_ms) + u16(0) +
            digitally_signed(log_key.sign(signed), log_key))


def sct_list_ext_value(scts):
    """extnValue contents of the SCT list extension: an OCTET STRING
    holding the TLS SignedCertificateTimestampList."""
    body = b"".join(u16(len(s)) + s for s in scts)
    return der_tlv(0x04, u16(len(body)) + body)


# ---- log entries ---------------------------------------------------------

# Template cases, cycled by template number so that the first dozen
# templates of any seed cover every case.
CASES = ["plain", "wildcard", "punycode", "cnless", "cn_not_in_san",
         "no_san", "mixed_san", "many", "dup", "rich_subject", "ip_cn",
         "upper"]
CHAINS = ["rsa2", "ec2", "rsa1", "ec1"]
ENTRY_KINDS = ["precert", "final", "x509", "precert", "final"]  # i % 5


def seed_label(seed):
    return "l" + hashlib.sha256(str(seed).encode()).hexdigest()[:6]


def template_of(i):
    """(template number, kind) of entry i: per block of five entries, a
    precert and its final certificate, a plain certificate, and another
    precert/final pair."""
    b, j = divmod(i, 5)
    return 3 * b + (0, 0, 1, 2, 2)[j], ENTRY_KINDS[j]


def entry_ts(i):
    return BASE_TS_MS + i * 1000


def _names(case, t, seed):
    """(subject cn or None, subject extras, SAN general names)."""
    lbl = seed_label(seed)
    a = "h%d.%s.example" % (t, lbl)
    b = "b%d.%s.example" % (t, lbl)
    dns = x509.DNSName
    if case == "plain":
        return a, {}, [dns(a), dns("www." + a)]
    if case == "wildcard":
        return "*." + a, {"O": "Wild Card Ltd"}, [dns("*." + a), dns(a)]
    if case == "punycode":
        p = "xn--bcher-kva.%d.%s.example" % (t, lbl)
        return p, {}, [dns(p), dns("xn--80ak6aa92e.%d.%s.example" % (t, lbl))]
    if case == "cnless":
        return None, {}, [dns(a), dns(b)]
    if case == "cn_not_in_san":
        return "cn-" + a, {"C": "FR"}, [dns(a)]
    if case == "no_san":
        return a, {"O": "No SAN Inc."}, []
    if case == "mixed_san":
        return a, {}, [dns(a), x509.RFC822Name("hostmaster@" + a),
                       x509.IPAddress(ipaddress.ip_address(
                           "192.0.2.%d" % (t % 250 + 1))),
                       x509.UniformResourceIdentifier("https://%s/" % a),
                       dns(b)]
    if case == "many":
        return a, {}, [dns("n%02d.%s" % (k, a)) for k in range(24)]
    if case == "dup":
        return b, {}, [dns(a), dns(a), dns(b)]
    if case == "rich_subject":
        return a, {"C": "GB", "ST": "London", "L": "Camden",
                   "O": "Rich \"Subject\", plc", "OU": ["Web", "Ops"]}, \
            [dns(a)]
    if case == "ip_cn":
        return "192.0.2.%d" % (t % 250 + 1), {}, []
    if case == "upper":
        return "MiXeD." + a, {}, [dns("MiXeD." + a), dns("www." + a)]
    raise ValueError(case)


def _serial(t, rng):
    style = t % 4
    if style == 0:
        return rng.getrandbits(127) | (1 << 127)     # DER needs a 00 pad
    if style == 1:
        return t + 1                                   # tiny
    if style == 2:
        return rng.getrandbits(158) | (1 << 158)     # 20 octets, max size
    return rng.getrandbits(68) | 1                     # odd hex length


class Template:
    """The certificates behind one template: precert, final, plain."""

    def __init__(self, seed, t):
        self.seed, self.t = seed, t
        rng = random.Random("ctlog-template:%s:%d" % (seed, t))
        cas, chains = pki()
        self.case = CASES[t % len(CASES)]
        self.chain_name = rng.choice(CHAINS)
        self.chain = chains[self.chain_name]
        self.issuer = self.chain[0]
        key = rng.choice(leaf_keys())
        cn, extra, sans = _names(self.case, t, seed)
        nb = BASE_TIME - 86400 + t * 61
        na = nb + (90 if t % 3 else 397) * 86400 - 1
        b = (x509.CertificateBuilder()
             .subject_name(name(cn, **extra))
             .issuer_name(self.issuer.subject)
             .public_key(key.pub)
             .serial_number(_serial(t, rng))
             .not_valid_before(_ts(nb)).not_valid_after(_ts(na))
             .add_extension(x509.BasicConstraints(False, None), True)
             .add_extension(x509.KeyUsage(True, False, not key.is_ec, False,
                                          False, False, False, False, False),
                            True)
             .add_extension(x509.ExtendedKeyUsage(
                 [ExtendedKeyUsageOID.SERVER_AUTH,
                  ExtendedKeyUsageOID.CLIENT_AUTH]), False)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(
                 key.pub), False)
             .add_extension(x509.AuthorityKeyIdentifier
                            .from_issuer_public_key(self.issuer.key.pub),
                            False)
             .add_extension(x509.AuthorityInformationAccess([
                 x509.AccessDescription(
                     x509.oid.AuthorityInformationAccessOID.OCSP,
                     x509.UniformResourceIdentifier("http://ocsp.ctlog.test")),
                 x509.AccessDescription(
                     x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                     x509.UniformResourceIdentifier(
                         "http://ca.ctlog.test/%s.der" % self.issuer.label))]),
                 False)
             .add_extension(x509.CertificatePolicies([
                 x509.PolicyInformation(x509.ObjectIdentifier("2.23.140.1.2.1"),
                                        None)]), False))
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), cn is None)
        self.builder = b
        self._pre = self._final = self._plain = None

    @property
    def issuer_key_hash(self):
        return hashlib.sha256(self.issuer.key.spki).digest()

    def precert(self):
        if self._pre is None:
            der = sign_builder(self.builder.add_extension(
                x509.PrecertPoison(), True), self.issuer.key)
            self._pre = (der, tbs_without_ext(tbs_of(der), POISON_OID))
        return self._pre

    def final(self, precert_ts_ms):
        if self._final is None:
            _, tbs = self.precert()
            sct = sct_for_precert(ec_key("sct:%s" % self.seed), precert_ts_ms,
                                  self.issuer_key_hash, tbs)
            ext = x509.UnrecognizedExtension(
                x509.ObjectIdentifier(SCTLIST_OID), sct_list_ext_value([sct]))
            self._final = sign_builder(self.builder.add_extension(ext, False),
                                       self.issuer.key)
        return self._final

    def plain(self):
        if self._plain is None:
            self._plain = sign_builder(self.builder, self.issuer.key)
        return self._plain


class Entry:
    """One log entry: kind 'x509' or 'precert'.  cert is the leaf
    certificate (x509) or the precertificate with poison (precert); tbs is
    the precert TBS without poison; chain lists CA objects, issuer first."""

    __slots__ = ("index", "kind", "ts_ms", "cert", "tbs", "issuer_key_hash",
                 "chain", "template")

    def __init__(self, index, kind, ts_ms, cert, tbs, ikh, chain, template):
        self.index, self.kind, self.ts_ms = index, kind, ts_ms
        self.cert, self.tbs, self.issuer_key_hash = cert, tbs, ikh
        self.chain, self.template = chain, template


_templates = {}


def template(seed, t):
    key = (seed, t)
    tp = _templates.get(key)
    if tp is None:
        tp = _templates[key] = Template(seed, t)
    return tp


def make_entry(seed, i, unique=0):
    """Entry i of a log with this seed.  unique > 0 reuses the certificates
    of entry i % unique (only the timestamp differs) to bound the cost of
    very large logs."""
    src = i % unique if unique else i
    t, kind = template_of(src)
    tp = template(seed, t)
    if kind == "precert":
        der, tbs = tp.precert()
        return Entry(i, "precert", entry_ts(i), der, tbs, tp.issuer_key_hash,
                     tp.chain, tp)
    if kind == "final":
        der = tp.final(entry_ts(src - 1))
    else:
        der = tp.plain()
    return Entry(i, "x509", entry_ts(i), der, None, None, tp.chain, tp)
