"""expected - what a certstream consumer must see for a ctlog entry.

Given a log entry (from a running ctlog Log, from /_ctl/entry JSON, or
regenerated from the seed), returns the certstream-server-go values of
spec §2 (certstream.md): the data object (cert_index, cert_link,
update_type, source) and the LEAF objects of leaf_cert and chain
(all_domains, fingerprint/sha1/sha256 as "AA:BB:..", not_before/not_after
in Unix seconds, serial_number, subject/issuer, signature_algorithm,
is_ca, the GO extension strings, as_der).  Values are computed by
decoding the DER with python3-cryptography, independently of the
generator's parameters.  Pure functions; raises on undecodable input.
"""
import base64
import datetime
import hashlib

from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID, SignatureAlgorithmOID

import certgen

POISON = x509.ObjectIdentifier(certgen.POISON_OID)


def colon_hex(b, upper=True):
    h = b.hex().upper() if upper else b.hex()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


def serial_hex(n):
    s = "%X" % n
    return "0" + s if len(s) % 2 else s


def go_float(x):
    """Go's encoding/json text for a float64 of ordinary size: the
    shortest round-trip digits, no exponent, no ".0" when integral."""
    s = repr(float(x))
    if "e" in s or "E" in s:
        s = ("%.17f" % x).rstrip("0").rstrip(".")
    return s[:-2] if s.endswith(".0") else s


_SUBJ = [("C", NameOID.COUNTRY_NAME), ("CN", NameOID.COMMON_NAME),
         ("L", NameOID.LOCALITY_NAME), ("O", NameOID.ORGANIZATION_NAME),
         ("OU", NameOID.ORGANIZATIONAL_UNIT_NAME),
         ("ST", NameOID.STATE_OR_PROVINCE_NAME)]


def subject(nm):
    """SUBJ object (spec §2.3) in GO key order."""
    out = {}
    for key, oid in _SUBJ:
        vals = [a.value for a in nm.get_attributes_for_oid(oid)]
        if key == "CN":
            out[key] = vals[-1] if vals else ""
        else:
            out[key] = ",".join(vals) if vals else None
    out["aggregated"] = "".join("/%s=%s" % (k, out[k]) for k, _ in _SUBJ
                                if out[k] is not None)
    out["email_address"] = None
    return out


def sig_alg(cert):
    oid = cert.signature_algorithm_oid
    return {SignatureAlgorithmOID.RSA_WITH_SHA256: "sha256, rsa",
            SignatureAlgorithmOID.RSA_WITH_SHA384: "sha384, rsa",
            SignatureAlgorithmOID.ECDSA_WITH_SHA256: "ecdsa, sha256",
            SignatureAlgorithmOID.ECDSA_WITH_SHA384: "ecdsa, sha384",
            SignatureAlgorithmOID.ED25519: "ed25519"}.get(oid, "unknown")


_KU = [("digital_signature", "Digital Signature"),
       ("content_commitment", "Content Commitment"),
       ("key_encipherment", "Key Encipherment"),
       ("data_encipherment", "Data Encipherment"),
       ("key_agreement", "Key Agreement"),
       ("key_cert_sign", "Certificate Signing"),
       ("crl_sign", "CRL Signing"),
       ("encipher_only", "Encipher Only"), ("decipher_only", "Decipher Only")]


def _ext(cert, oid):
    try:
        return cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None


def extensions(cert):
    """GO's extensions object (spec §2.5), keys in GO order."""
    out = {}
    aia = _ext(cert, ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    if aia is not None:
        ca = [d.access_location.value for d in aia
              if d.access_method == x509.oid.AuthorityInformationAccessOID
              .CA_ISSUERS]
        ocsp = [d.access_location.value for d in aia
                if d.access_method == x509.oid.AuthorityInformationAccessOID
                .OCSP]
        out["authorityInfoAccess"] = ", ".join("URI:" + u for u in ca + ocsp)
    aki = _ext(cert, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    if aki is not None and aki.key_identifier is not None:
        out["authorityKeyIdentifier"] = "keyid:" + colon_hex(
            aki.key_identifier, False)
    bc = _ext(cert, ExtensionOID.BASIC_CONSTRAINTS)
    if bc is not None:
        out["basicConstraints"] = "CA:TRUE" if bc.ca else "CA:FALSE"
    cp = _ext(cert, ExtensionOID.CERTIFICATE_POLICIES)
    if cp is not None:
        out["certificatePolicies"] = "".join(
            "Policy: %s\n" % p.policy_identifier.dotted_string for p in cp)
    ku = _ext(cert, ExtensionOID.KEY_USAGE)
    if ku is not None:
        names = []
        for attr, label in _KU:
            if attr in ("encipher_only", "decipher_only") and \
                    not ku.key_agreement:
                continue
            if getattr(ku, attr):
                names.append(label)
        out["keyUsage"] = ", ".join(names)
    san = _ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    if san is not None:
        parts = ["DNS:" + v for v in san.get_values_for_type(x509.DNSName)]
        parts += ["email:" + v for v in san.get_values_for_type(
            x509.RFC822Name)]
        parts += ["IP Address:" + str(v) for v in san.get_values_for_type(
            x509.IPAddress)]
        out["subjectAltName"] = ", ".join(parts)
    ski = _ext(cert, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    if ski is not None:
        out["subjectKeyIdentifier"] = "keyid:" + colon_hex(ski.digest, False)
    if _ext(cert, POISON) is not None:
        out["ctlPoisonByte"] = True
    return out


def all_domains(cert):
    san = _ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    out = list(san.get_values_for_type(x509.DNSName)) if san else []
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = cns[-1].value if cns else ""
    bc = _ext(cert, ExtensionOID.BASIC_CONSTRAINTS)
    if cn and cn not in out and not (bc is not None and bc.ca):
        out.append(cn)
    return out


def leaf(der, with_der=True):
    """One LEAF object (spec §2.2) for a certificate or precertificate DER;
    fingerprints are of this DER (the precert for precert entries)."""
    cert = x509.load_der_x509_certificate(der)
    bc = _ext(cert, ExtensionOID.BASIC_CONSTRAINTS)
    sha1 = colon_hex(hashlib.sha1(der).digest())
    out = {"all_domains": all_domains(cert)}
    if with_der:
        out["as_der"] = base64.b64encode(der).decode()
    out.update({
        "extensions": extensions(cert),
        "fingerprint": sha1, "sha1": sha1,
        "sha256": colon_hex(hashlib.sha256(der).digest()),
        "not_after": int(cert.not_valid_after.replace(
            tzinfo=datetime.timezone.utc).timestamp()),
        "not_before": int(cert.not_valid_before.replace(
            tzinfo=datetime.timezone.utc).timestamp()),
        "serial_number": serial_hex(cert.serial_number),
        "signature_algorithm": sig_alg(cert),
        "subject": subject(cert.subject),
        "issuer": subject(cert.issuer),
        "is_ca": bool(bc is not None and bc.ca)})
    return out


def normalise_url(url):
    """GO: trailing '/' trimmed, https:// prepended without a scheme."""
    url = url.rstrip("/")
    return url if "://" in url else "https://" + url


def data(index, kind, ts_ms, cert_der, chain_ders, log_kind, url,
         description):
    """The data object of a full-stream message, minus "seen" (a wall
    clock value the daemon picks)."""
    nurl = normalise_url(url)
    return {
        "cert_index": index,
        "cert_link": ("%s/ct/v1/get-entries?start=%d&end=%d" %
                      (nurl, index, index)) if log_kind == "rfc6962" else "",
        "chain": [leaf(c) for c in chain_ders],
        "leaf_cert": leaf(cert_der),
        "source": {"name": description, "url": nurl,
                   "timestamp": ts_ms / 1000.0,
                   "type": "rfc6962" if log_kind == "rfc6962" else "tiled"},
        "update_type": "PrecertLogEntry" if kind == "precert"
        else "X509LogEntry"}


def for_entry(e, log_kind, url, description):
    return data(e.index, e.kind, e.ts_ms, e.cert, [c.der for c in e.chain],
                log_kind, url, description)


def for_log(lg, index):
    """Expected data object for entry index of a running Log."""
    return for_entry(lg.entries[index], lg.kind, lg.url,
                     lg.cfg["description"] or "ctlog test log '%s'" % lg.name)


def for_entry_json(ej, log_kind, url, description):
    """From the JSON of GET /_ctl/entry (another process)."""
    return data(ej["index"], ej["kind"], ej["timestamp"],
                base64.b64decode(ej["cert"]),
                [base64.b64decode(c) for c in ej["chain"]],
                log_kind, url, description)


def regenerate(seed, index, log_kind, url, description, unique=0):
    """Without a server: entry index of a log with this seed."""
    return for_entry(certgen.make_entry(seed, index, unique), log_kind, url,
                     description)


def domains(index_data):
    """The domains-only payload for a data object."""
    return list(index_data["leaf_cert"]["all_domains"])


# ---- frames as certstream-server-go writes them (spec §2.1) -------------


def _go_str(s, escape_html):
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\b":
            out.append("\\b")                # Go >= 1.22
        elif ch == "\f":
            out.append("\\f")
        elif o < 0x20 or o in (0x2028, 0x2029) or (
                escape_html and ch in "<>&"):
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_json(v, escape_html=False):
    """Compact JSON the way Go's encoder writes these values: keys in the
    dict's order, floats by go_float, UTF-8 unescaped, U+2028/2029 and
    control characters escaped (\\b and \\f as Go >= 1.22 does), <>&
    escaped only when escape_html (json.Marshal; the full and lite frames
    use SetEscapeHTML(false))."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, str):
        return _go_str(v, escape_html)
    if isinstance(v, list):
        return "[" + ",".join(go_json(x, escape_html) for x in v) + "]"
    return "{" + ",".join(_go_str(k, escape_html) + ":" + go_json(x, escape_html)
                          for k, x in v.items()) + "}"


def with_seen(d, seen):
    """The data object with "seen" in its place (after leaf_cert)."""
    out = {}
    for k, v in d.items():
        out[k] = v
        if k == "leaf_cert":
            out["seen"] = float(seen)
    return out


def frame(d, seen, shape="full"):
    """The websocket text frame for data object d: shape "full", "lite"
    (no chain, no leaf_cert.as_der) or "domains" (dns_entries)."""
    if shape == "domains":
        return go_json({"data": domains(d), "message_type": "dns_entries"},
                       True).encode()
    dd = with_seen(d, seen)
    if shape == "lite":
        dd = {k: v for k, v in dd.items() if k != "chain"}
        dd["leaf_cert"] = {k: v for k, v in dd["leaf_cert"].items()
                           if k != "as_der"}
    elif shape != "full":
        raise ValueError(shape)
    return (go_json({"data": dd, "message_type": "certificate_update"}) +
            "\n").encode()

