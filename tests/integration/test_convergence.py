#!/usr/bin/python3
"""Convergence end to end on the real daemon, with a client that behaves
like the reference client (POST over TLS without SNI, pin on the notary
certificate's SHA-1, read to EOF): the self-signed certificate made on the
first start (0600, SHA-1 logged), the same certificate on both ports with
and without SNI, the error table of spec 2.2 with HTTP/1.0 framing and no
Host header, notaryctl convergence-bundle, a known fingerprint answered
200 with a signed list that openssl verifies (RSA and ECDSA targets), the
private key absent from the http workers' memory and open files, and the
handshake cost through the signer against openssl s_server with the key
in process; synchronous probes: an unknown target answered 200 on the
first POST, a changed certificate 409 with both fingerprints, a
certificate going A -> B -> A two rows with A's interval covering B's, a
GET of an unknown target 409, a dead target 503, identical concurrent requests
sharing one probe."""
import base64
import json
import os
import re
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import (Daemon, Tap, fixed_port_lock, free_port, get,  # noqa: E402
                    wait_until)
from convtest import (TLSServer, client_ctx, colon_sha1, framed,  # noqa
                      make_cert, post, query, run, split)

t = Tap()
NOTARYCTL = os.path.join(os.path.dirname(os.environ.get(
    "NOTARYD", os.path.abspath("notaryd"))), "notaryctl")


def verifies(d, pem, body):
    """Cut the body at the signature as a verifier does; openssl decides."""
    text = body.decode()
    cut = text.index(', "signature": "')
    unsigned = text[:cut] + "}"
    sig = text[cut + len(', "signature": "'):-2]
    run("openssl", "x509", "-in", pem, "-pubkey", "-noout", "-out",
        os.path.join(d, "pub.pem"), check=True)
    with open(os.path.join(d, "u.json"), "w") as f:
        f.write(unsigned)
    with open(os.path.join(d, "s.bin"), "wb") as f:
        f.write(base64.b64decode(sig, validate=True))
    p = run("openssl", "dgst", "-sha1", "-verify", os.path.join(d, "pub.pem"),
            "-signature", os.path.join(d, "s.bin"), os.path.join(d, "u.json"))
    return b"Verified OK" in p.stdout and len(sig) == 344


def key_material(keyfile):
    """Byte strings that any in-memory copy of the private key contains:
    the primes and the private exponent, big-endian (DER, PEM) and as
    little-endian limbs (OpenSSL's BIGNUMs), and a PEM line that encodes
    only private fields."""
    text = run("openssl", "pkey", "-in", keyfile, "-noout", "-text",
               check=True).stdout.decode()
    out = {}
    for field in ("privateExponent", "prime1", "prime2"):
        m = re.search(field + r":\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
        v = bytes.fromhex(re.sub(r"[\s:]", "", m.group(1))).lstrip(b"\0")
        out[field + " (big-endian)"] = v[:64]
        out[field + " (limbs)"] = v[::-1][:64]
    with open(keyfile, "rb") as f:
        out["a PEM line"] = f.read().split(b"\n")[-4]
    return out


def scan_memory(pid, needles):
    """Which needles occur in the readable private mappings of pid."""
    found = set()
    with open("/proc/%d/maps" % pid) as maps, \
            open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            f = line.split()
            if "r" not in f[1]:
                continue
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            if hi - lo > (1 << 30):
                continue        # sanitizer shadow and arena reservations
            try:
                mem.seek(lo)
                chunk = mem.read(hi - lo)
            except (OSError, ValueError, OverflowError):
                continue
            for name, n in needles.items():
                if n in chunk:
                    found.add(name)
    return found


def handshakes(port, n):
    """Full handshakes per second, sequential, one request each."""
    ctx = client_ctx()
    ctx.options |= ssl.OP_NO_TICKET
    t0 = time.monotonic()
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        tls = ctx.wrap_socket(s)
        tls.close()
    return n / (time.monotonic() - t0)


def port_free(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as notaryd
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


# The relay reaches only port 4242: the second TLS port is 4242 when free.
# test_convergence_relay_caps may hold it for a while (make check -j2).
lock4242 = fixed_port_lock(4242, wait=180)
cport = free_port()
cport2 = 4242 if lock4242 is not None and port_free(4242) else free_port()
rport = free_port()
d = Daemon(workers=2)
d.write_conf(text=d.base_yaml() +
             "scanner:\n  allow: [127.0.0.0/8]\n  timeout: 3s\n"
             "convergence:\n  listen: [\"127.0.0.1:%d\", \"127.0.0.1:%d\"]\n"
             "  proxy_listen: [\"127.0.0.1:%d\"]\n  proxy_max_tunnels: 4\n"
             "  proxy_max_tunnels_per_ip: 2\n  proxy_idle_timeout: 1s\n"
             % (cport, cport2, rport))
servers = []
try:
    d.start()
    crt = os.path.join(d.data_dir, "keys", "convergence.crt")
    key = os.path.join(d.data_dir, "keys", "convergence.key")
    t.ok(wait_until(lambda: os.path.exists(crt), 60),
         "the signer made the Convergence certificate on its first start")
    t.eq(oct(os.stat(key).st_mode & 0o777), "0o600", "key file mode 0600")
    t.eq(oct(os.stat(crt).st_mode & 0o777), "0o600", "cert file mode 0600")
    der = run("openssl", "x509", "-in", crt, "-outform", "DER").stdout
    pin = colon_sha1(der)
    t.ok(wait_until(lambda: pin in d.logtext(), 30),
         "its SHA-1 is logged (%s)" % pin)
    dates = run("openssl", "x509", "-in", crt, "-noout", "-startdate",
                "-enddate").stdout.decode()
    years = [int(y) for y in re.findall(r" (\d{4}) GMT", dates)]
    t.eq(years[1] - years[0], 40, "valid for 40 years")

    def answers():
        try:
            return query(cport, b"GET / HTTP/1.0\r\n\r\n", timeout=2)
        except OSError:
            return None
    r = wait_until(answers, 30, 0.2)
    t.ok(r is not None, "the TLS port answers once the certificate exists")
    pins = set()
    for p in (cport, cport2):
        for sni in (None, "notary.example", "other.example"):
            pins.add(query(p, b"GET / HTTP/1.0\r\n\r\n", sni)[0])
    t.eq(pins, {pin}, "the same certificate on both ports, with or "
         "without SNI")

    table = [
        (b"GET / HTTP/1.0\r\n\r\n", 404, None),
        (b"PUT /target/a.example+443 HTTP/1.0\r\n\r\n", 405,
         b"<html><body>Unsupported method.</body></html>"),
        (b"GET /target HTTP/1.0\r\n\r\n", 400,
         b"<html><body>You must specify a target.</body></html>"),
        (b"GET /target/foo HTTP/1.0\r\n\r\n", 400,
         b"<html><body>You must specify a destination port.</body></html>"),
        (b"GET /target/a+b+443 HTTP/1.0\r\n\r\n", 400, None),
        (b"POST /target/a.example+443 HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
         400, b"<html><body>You must specify a fingerprint.</body></html>"),
        (b"POST /target/a.example+443 HTTP/1.0\r\nContent-Type: application/"
         b"x-www-form-urlencoded\r\nContent-Length: 14\r\n\r\nfingerprint=ab",
         400, None),
    ]
    for req, status, body in table:
        raw = query(cport2, req)[1]
        ok = framed(raw, status) and (body is None or
                                      split(raw)[2] == body)
        t.ok(ok, "%s -> %d, HTTP/1.0 framing, no Host needed"
             % (req.split(b"\r\n")[0].decode(), status), raw)

    # notaryctl convergence-bundle
    b = run(NOTARYCTL, "-c", d.conf, "convergence-bundle", "--host",
            "notary.example", "--region", "DE")
    ok = b.returncode == 0
    if ok:
        bundle = json.loads(b.stdout)
        pem = bundle["hosts"][0]["certificate"]
        bder = ssl.PEM_cert_to_DER_cert(pem)
        ok = (bundle["version"] == 1 and colon_sha1(bder) == pin and
              bundle["hosts"][0]["ssl_port"] == 443 and
              b.stdout.count(b"\n") == 1)
    t.ok(ok, "notaryctl convergence-bundle: version 1, the served "
         "certificate", b.stderr)

    # The plain listener: the bundle and the index page.
    r = get(d.port, "/convergence.notary")
    ok = r is not None and r[0] == 200
    if ok:
        bundle = json.loads(r[2])
        h = bundle["hosts"][0]
        ok = (bundle["version"] == 1 and h["host"] == "localhost" and
              h["ssl_port"] == cport and bundle["bundle_location"] ==
              "https://localhost/convergence.notary" and
              colon_sha1(ssl.PEM_cert_to_DER_cert(h["certificate"])) == pin)
    t.ok(ok, "GET /convergence.notary on the plain listener: the bundle "
         "of the served certificate", r)
    r = get(d.port, "/")
    t.ok(r is not None and re.search(
        rb"Convergence notary</td><td class='td-status-on'>On</td><td>[^<]*"
        + pin.encode(), r[2]) is not None,
        "the index page lists Convergence as On with the SHA-1", r)

    # Targets: RSA and ECDSA.  An unknown target is probed while the
    # request waits: 200 on the first POST, within scanner.timeout + 1 s.
    def queued(svc):
        return d.logtext().count("on-demand probe queued for " + svc + "\n")

    for kind in ("rsa", "ecdsa"):
        tk, tc, tfp = make_cert(d.dir, "t" + kind, kind)
        tport = free_port()
        servers.append(TLSServer(tport, tk, tc))
        target = "127.0.0.1+%d" % tport
        svc = "127.0.0.1:%d,2" % tport
        t0 = time.monotonic()
        raw = post(cport, target, tfp)[1]
        el = time.monotonic() - t0
        t.ok(framed(raw, 200) and el < 4.0, "%s target, unknown: probed "
             "and answered 200 on the first POST (%.2f s)" % (kind, el), raw)
        line, hdrs, body = split(raw)
        t.eq(hdrs.get(b"Content-Type"), b"application/json",
             "Content-Type application/json")
        ok = re.fullmatch(
            rb'\{"fingerprintList": \[\{"timestamp": \{"start": "\d+", '
            rb'"finish": "\d+"\}, "fingerprint": "' + tfp.encode() +
            rb'"\}\], "signature": "[A-Za-z0-9+/=]{344}"\}', body)
        t.ok(ok is not None, "the body has the Python 2 layout", body)
        t.ok(verifies(d.dir, crt, body), "openssl verifies the RSA-SHA1 "
             "signature with the certificate's key")
        again = post(cport2, target, tfp)[1]
        g = query(cport2, b"GET /target/" + target.encode() +
                  b" HTTP/1.0\r\n\r\n")[1]
        t.ok(framed(again, 200) and split(again)[2] == body and
             framed(g, 200) and split(g)[2] == body and queued(svc) == 1,
             "known fingerprint and GET: 200 with the same list, no new "
             "probe (%d queued)" % queued(svc))

    # A certificate change: the old fingerprint stays 200 forever, another
    # one probes and answers 409 with both.
    ka, ca, fa = make_cert(d.dir, "ca", "rsa")
    kb, cb, fb = make_cert(d.dir, "cb", "rsa")
    tport = free_port()
    srv = TLSServer(tport, ka, ca)
    target = "127.0.0.1+%d" % tport
    first = post(cport, target, fa)[1]
    time.sleep(1.1)     # distinct timestamps for the order check
    srv.stop()
    srv = TLSServer(tport, kb, cb)
    servers.append(srv)
    other = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33"
    raw = post(cport, target, other)[1]
    body = split(raw)[2]
    t.ok(framed(first, 200) and framed(raw, 409) and fa.encode() in body
         and fb.encode() in body and verifies(d.dir, crt, body),
         "changed certificate: an unseen fingerprint answers 409 with both "
         "fingerprints, signed", raw)
    raw = post(cport, target, fa)[1]
    t.ok(framed(raw, 200), "the old fingerprint still answers 200")
    lst = json.loads(split(raw)[2])["fingerprintList"]
    t.eq([e["fingerprint"] for e in lst], [fb, fa],
         "entries newest finish first")
    # A -> B -> A (spec 4): two rows, A's interval covering B's, and B's
    # finish its one sighting (not A's return - 1, the Perspectives end).
    time.sleep(2.1)
    srv.stop()
    srv = TLSServer(tport, ka, ca)
    servers.append(srv)
    raw = post(cport, target, other)[1]
    lst = json.loads(split(raw)[2] or b"{}").get("fingerprintList", [])
    span = {e["fingerprint"]: (int(e["timestamp"]["start"]),
                               int(e["timestamp"]["finish"])) for e in lst}
    t.ok(framed(raw, 409) and [e["fingerprint"] for e in lst] == [fa, fb]
         and span[fa][0] < span[fb][0] <= span[fb][1] < span[fa][1],
         "A -> B -> A: two rows, A first, and A's interval covers B's "
         "(%s)" % span, raw)
    t.ok(fb in span and span[fb][0] == span[fb][1] and
         span[fa][1] - span[fb][1] >= 2, "B's finish is its last sighting, "
         "not the second before A came back (%s)" % span)

    # GET of an unknown live target: 409 with the fresh observation.
    kg, cg, fg = make_cert(d.dir, "g", "ecdsa")
    gport = free_port()
    servers.append(TLSServer(gport, kg, cg))
    raw = query(cport, b"GET /target/127.0.0.1+%d HTTP/1.0\r\n\r\n"
                % gport)[1]
    t.ok(framed(raw, 409) and fg.encode() in split(raw)[2],
         "GET of an unknown target: 409 with the fresh observation", raw)

    # A dead target: 503 within scanner.timeout + 1 s.
    dead = free_port()
    t0 = time.monotonic()
    raw = post(cport, "127.0.0.1+%d" % dead, other)[1]
    el = time.monotonic() - t0
    t.ok(framed(raw, 503) and el < 4.0, "dead target: 503 (%.2f s)" % el,
         raw)

    # The deny list applies to these probes (10/8 is denied by default).
    t0 = time.monotonic()
    raw = post(cport, "10.1.2.3+443", other)[1]
    el = time.monotonic() - t0
    t.ok(framed(raw, 503) and el < 4.0, "a denied address is not probed: "
         "503 (%.2f s)" % el, raw)
    # The plain listener's limits: a request head over http.max_request.
    raw = query(cport, b"GET /target/a.example+443 HTTP/1.0\r\nX-Pad: " +
                b"a" * 9000 + b"\r\n\r\n")[1]
    t.ok(raw.startswith(b"HTTP/1.0 4") and b"Content-Length" in raw,
         "a request head over http.max_request is refused", raw[:80])

    # Identical concurrent requests share one probe.
    kc, cc, fc = make_cert(d.dir, "cc", "rsa")
    ccport = free_port()
    servers.append(TLSServer(ccport, kc, cc))
    results = []

    def worker():
        results.append(post(cport, "127.0.0.1+%d" % ccport, fc)[1])
    threads = [threading.Thread(target=worker) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(15)
    t.ok(len(results) == 6 and all(framed(r, 200) for r in results) and
         queued("127.0.0.1:%d,2" % ccport) == 1,
         "6 identical concurrent requests: all 200, one probe (%d)"
         % queued("127.0.0.1:%d,2" % ccport),
         [r.split(b"\r\n")[0] for r in results])

    # The CONNECT relay (spec 5), with the reference client's bytes.
    def relay(req, want_head=True):
        s = socket.create_connection(("127.0.0.1", rport), timeout=5)
        s.sendall(req)
        data = b""
        while want_head and b"\r\n\r\n" not in data:
            try:
                c = s.recv(1)
            except OSError:     # a refused tunnel may be reset
                break
            if not c:
                break
            data += c
        return s, data

    def rest(s):
        data = b""
        while True:
            try:
                c = s.recv(4096)
            except OSError:
                break
            if not c:
                break
            data += c
        s.close()
        return data
    if cport2 != 4242:
        t.ok(True, "relay tests # SKIP port 4242 is busy")
    else:
        s, head = relay(b"CONNECT localhost:4242 HTTP/1.1\r\nHost: localhost"
                        b"\r\nX-Convergence-Notary: 127.0.0.1+4242\r\n\r\n")
        t.ok(head in (b"HTTP/1.0 200 Connection Established\r\nProxy-Agent: "
                      b"Convergence\r\nX-Convergence-Notary: " + h +
                      b"\r\n\r\n" for h in (b"localhost", b"127.0.0.1")),
             "relay: the exact three-line 200 naming the destination that "
             "answered", head)
        tls = client_ctx().wrap_socket(s)
        rpin = colon_sha1(tls.getpeercert(True))
        body = ("fingerprint=" + fc).encode()
        tls.sendall(b"POST /target/127.0.0.1+%d HTTP/1.0\r\nContent-Type: "
                    b"application/x-www-form-urlencoded\r\nContent-Length:"
                    b" %d\r\n\r\n%s" % (ccport, len(body), body))
        data = b""
        while True:
            try:
                c = tls.recv(65536)
            except (ssl.SSLZeroReturnError, OSError):
                break
            if not c:
                break
            data += c
        tls.close()
        t.ok(rpin == pin and framed(data, 200),
             "relay: TLS through the tunnel to port 4242, same pin, 200")
        refused = (b"HTTP/1.1 403 Access Denied\r\nConnection: close\r\n"
                   b"\r\n<html>The request you issued is not an authorized "
                   b"Convergence Notary request.\n")
        for req, name in (
                (b"CONNECT localhost:443 HTTP/1.1\r\n\r\n", "another port"),
                (b"CONNECT localhost:4242 HTTP/1.1\r\nX-Convergence-"
                 b"Notary: n2.example+443\r\n\r\n", "an alternative "
                 "with another port"),
                (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "GET"),
                (b"CONNECT 10.1.2.3:4242 HTTP/1.1\r\n\r\n",
                 "a private address (deny list)"),
                (b"CONNECT 192.168.0.1+4242 HTTP/1.1\r\n\r\n",
                 "a private address given with +")):
            s, head = relay(req)
            t.eq(head + rest(s), refused, "relay: 403 for " + name)
        s, head = relay(b"CONNECT 127.0.0.2:4242 HTTP/1.0\r\n\r\n")
        t.eq(head + rest(s), b"HTTP/1.0 404 Unable to connect\r\nConnection:"
             b" close\r\n\r\n<html><body>Unable to connect to notary!"
             b"</body></html>", "relay: nothing listening: the reference 404")
        # Idle timeout (1s here) and the per-address cap (2 here).
        s, head = relay(b"CONNECT localhost:4242 HTTP/1.1\r\n\r\n")
        t0 = time.monotonic()
        s.settimeout(10)
        gone = rest(s) == b""
        el = time.monotonic() - t0
        t.ok(gone and 0.8 < el < 6.0, "relay: an idle tunnel is closed "
             "after proxy_idle_timeout (%.1f s)" % el)
        # The caps hold for the whole daemon (2 workers here): of 5
        # tunnels from one address exactly proxy_max_tunnels_per_ip (2)
        # are up (test_convergence_relay_caps.py puts them on chosen
        # workers).
        held = [relay(b"CONNECT localhost:4242 HTTP/1.1\r\n\r\n")
                for _ in range(5)]
        up = sum(1 for _, h in held if h.startswith(b"HTTP/1.0 200 "))
        t.ok(up == 2 and up + sum(1 for _, h in held if h == b"") == 5,
             "relay: tunnels from one address beyond "
             "proxy_max_tunnels_per_ip are refused (%d of 5 up)" % up,
             [h[:40] for _, h in held])
        for x, _ in held:
            x.close()
        t.ok("relay: tunnel closed" in d.logtext(),
             "relay: byte counters logged when a tunnel ends")

    # The key stays in the signer.  Under ASan the heap lives in reserved
    # regions of terabytes that cannot be read whole: not checked there.
    with open(os.environ.get("NOTARYD", os.path.abspath("notaryd")),
              "rb") as f:
        asan = b"__asan_init" in f.read()
    needles = key_material(key) if not asan else {}
    workers = d.role_pids("http")
    signer = d.role_pids("signer")
    t.ok(len(workers) == 2 and len(signer) == 1, "2 workers, 1 signer")
    if asan:
        t.ok(True, "memory scan # SKIP ASan build")
    else:
        sfound = scan_memory(signer[0], needles)
        t.ok("prime1 (limbs)" in sfound or "prime1 (big-endian)" in sfound,
             "control: the scan finds the key's prime in the signer (%s)"
             % ", ".join(sorted(sfound)))
        leaked = set()
        for w in workers:
            leaked |= scan_memory(w, needles)
        t.eq(sorted(leaked), [], "no copy of the private key in any http "
             "worker's memory")
    files = set()
    for w in workers:
        for fd in os.listdir("/proc/%d/fd" % w):
            try:
                files.add(os.readlink("/proc/%d/fd/%s" % (w, fd)))
            except OSError:
                pass
    t.ok(key not in files, "no http worker has the key file open")

    # Handshake cost: through the signer vs openssl s_server holding the
    # same key in process (sequential full handshakes, no tickets).
    ref = free_port()
    servers.append(TLSServer(ref, key, crt))
    n = 200
    ours = handshakes(cport, n)
    theirs = handshakes(ref, n)
    print("# handshakes/s: notaryd (key in the signer) %.0f, openssl "
          "s_server (key in process) %.0f, ratio %.2f"
          % (ours, theirs, ours / theirs), flush=True)
    t.ok(ours > 0 and theirs > 0, "handshake rates measured")
finally:
    for s in servers:
        s.stop()
    d.cleanup()
t.done()
