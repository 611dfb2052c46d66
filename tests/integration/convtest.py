"""Helpers of the Convergence integration tests: certificates, openssl
s_server targets, and a client that behaves like the reference client
(TLS without SNI unless asked, read until EOF)."""
import hashlib
import os
import socket
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import TLSServer  # noqa: E402,F401 (for the tests)


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, **kw)


def colon_sha1(der):
    h = hashlib.sha1(der).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, 40, 2))


def make_cert(d, name, kind):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")
    alg = (["-newkey", "rsa:2048"] if kind == "rsa" else
           ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
    run("openssl", "req", "-x509", *alg, "-nodes", "-keyout", key, "-out",
        crt, "-days", "2", "-subj", "/CN=" + name, check=True)
    der = run("openssl", "x509", "-in", crt, "-outform", "DER",
              check=True).stdout
    return key, crt, colon_sha1(der)


def client_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def query(port, req, sni=None, timeout=10):
    """(pin, raw reply) like the reference client: read until EOF."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    tls = client_ctx().wrap_socket(s, server_hostname=sni)
    pin = colon_sha1(tls.getpeercert(True))
    tls.sendall(req)
    data = b""
    while True:
        try:
            chunk = tls.recv(65536)
        except ssl.SSLZeroReturnError:
            break
        if not chunk:
            break
        data += chunk
    tls.close()
    return pin, data


def post(port, target, fp):
    body = ("fingerprint=" + fp).encode()
    return query(port, b"POST /target/" + target.encode() +
                 b" HTTP/1.0\r\nContent-Type: application/x-www-form-"
                 b"urlencoded\r\nConnection: close\r\nContent-Length: " +
                 str(len(body)).encode() + b"\r\n\r\n" + body)


def split(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    hdrs = dict(h.split(b": ", 1) for h in lines[1:] if b": " in h)
    return lines[0].decode(), hdrs, body


def framed(raw, status):
    line, hdrs, body = split(raw)
    return (line.startswith("HTTP/1.0 %d " % status) and
            int(hdrs.get(b"Content-Length", b"-1")) == len(body) and
            b"Transfer-Encoding" not in hdrs)
