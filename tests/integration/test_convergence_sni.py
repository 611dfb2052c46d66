#!/usr/bin/python3
"""convergence.sni on the real daemon, against an openssl s_server that
shows one certificate without SNI (D, the default vhost) and another when
the client names "localhost" (S): with the default (fallback), a POST of
S is answered 200 after a second probe with SNI and only S is recorded, a
POST of D is 200 on the first probe, a POST of neither is 409 with D
recorded (the reference's view), and a GET probes once without SNI; with
"off" S is 409; with "on" D is 409 and S is 200 on the first probe.  Every
case uses a target nobody asked about before (its own s_server port)."""
import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndtest import Daemon, Tap, free_port, wait_until  # noqa: E402
from convtest import (TLSServer, client_ctx, colon_sha1, framed,  # noqa
                      make_cert, post, query, split)

t = Tap()
OTHER = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33"
servers = []


def vhost_server(dk, dc, sk, sc):
    """A fresh target port: D without SNI, S for SNI "localhost"."""
    port = free_port()
    servers.append(TLSServer(port, dk, dc, [
        "-servername", "localhost", "-cert2", sc, "-key2", sk]))
    return port


def listed(raw):
    try:
        return [e["fingerprint"] for e in
                json.loads(split(raw)[2])["fingerprintList"]]
    except ValueError:
        return None


def sni_tries(d, port):
    return d.logtext().count("probe localhost:%d,2: not the submitted "
                             "certificate without SNI" % port)


def daemon(sni):
    d = Daemon(workers=1)
    cport = free_port()
    d.write_conf(text=d.base_yaml() +
                 "scanner:\n  allow: [127.0.0.0/8, \"::1\"]\n  timeout: 3s\n"
                 "convergence:\n  listen: [\"127.0.0.1:%d\"]\n" % cport +
                 ("  sni: %s\n" % sni if sni is not None else ""))
    d.start()

    def up():
        try:
            return query(cport, b"GET / HTTP/1.0\r\n\r\n", timeout=2)
        except OSError:
            return None
    wait_until(up, 60, 0.2)
    return d, cport


try:
    tmp = Daemon(workers=1)     # only for its scratch directory
    dk, dc, dfp = make_cert(tmp.dir, "default-vhost", "rsa")
    sk, sc, sfp = make_cert(tmp.dir, "localhost", "ecdsa")
    # Control: the target really shows two certificates.
    p0 = vhost_server(dk, dc, sk, sc)

    def leaf(port, name):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        tls = client_ctx().wrap_socket(s, server_hostname=name)
        fp = colon_sha1(tls.getpeercert(True))
        tls.close()
        return fp
    t.ok(leaf(p0, None) == dfp and leaf(p0, "localhost") == sfp and
         dfp != sfp, "control: s_server shows D without SNI and S with "
         "SNI localhost")

    # ---- default: fallback ------------------------------------------------
    d, cport = daemon(None)
    try:
        p = vhost_server(dk, dc, sk, sc)
        raw = post(cport, "localhost+%d" % p, sfp)[1]
        t.ok(framed(raw, 200) and listed(raw) == [sfp] and
             sni_tries(d, p) == 1,
             "fallback: the SNI certificate is 200 after a second probe "
             "with SNI, and only it is recorded (%s)" % listed(raw), raw)
        raw = post(cport, "localhost+%d" % p, sfp)[1]
        t.ok(framed(raw, 200) and sni_tries(d, p) == 1,
             "fallback: then known: 200 without a probe")
        p = vhost_server(dk, dc, sk, sc)
        raw = post(cport, "localhost+%d" % p, dfp)[1]
        t.ok(framed(raw, 200) and listed(raw) == [dfp] and
             sni_tries(d, p) == 0,
             "fallback: the default-vhost certificate is 200 on the first "
             "probe, without SNI", raw)
        p = vhost_server(dk, dc, sk, sc)
        raw = post(cport, "localhost+%d" % p, OTHER)[1]
        t.ok(framed(raw, 409) and listed(raw) == [dfp] and
             sni_tries(d, p) == 1,
             "fallback: neither matches: 409, the certificate seen without "
             "SNI is the one recorded (%s)" % listed(raw), raw)
        p = vhost_server(dk, dc, sk, sc)
        raw = query(cport, b"GET /target/localhost+%d HTTP/1.0\r\n\r\n"
                    % p)[1]
        t.ok(framed(raw, 409) and listed(raw) == [dfp] and
             sni_tries(d, p) == 0,
             "fallback: a GET probes once, without SNI: 409 with D", raw)
        # An address literal is never sent as SNI: no second try.
        p = vhost_server(dk, dc, sk, sc)
        raw = post(cport, "127.0.0.1+%d" % p, sfp)[1]
        t.ok(framed(raw, 409) and listed(raw) == [dfp] and
             "probe 127.0.0.1:%d,2: not the submitted" % p
             not in d.logtext(),
             "fallback: an address target gets no SNI try: 409", raw)
    finally:
        d.cleanup()

    # ---- off: the reference ---------------------------------------------
    d, cport = daemon("off")
    try:
        p = vhost_server(dk, dc, sk, sc)
        raw = post(cport, "localhost+%d" % p, sfp)[1]
        t.ok(framed(raw, 409) and listed(raw) == [dfp] and
             sni_tries(d, p) == 0,
             "sni off: the SNI certificate is 409, D recorded", raw)
        p = vhost_server(dk, dc, sk, sc)
        raw = post(cport, "localhost+%d" % p, dfp)[1]
        t.ok(framed(raw, 200) and listed(raw) == [dfp],
             "sni off: D is 200", raw)
    finally:
        d.cleanup()

    # ---- on: the fork -----------------------------------------------------
    d, cport = daemon("on")
    try:
        p = vhost_server(dk, dc, sk, sc)
        raw = post(cport, "localhost+%d" % p, dfp)[1]
        t.ok(framed(raw, 409) and listed(raw) == [sfp] and
             sni_tries(d, p) == 0,
             "sni on: the default-vhost certificate is 409, S recorded",
             raw)
        p = vhost_server(dk, dc, sk, sc)
        raw = post(cport, "localhost+%d" % p, sfp)[1]
        t.ok(framed(raw, 200) and listed(raw) == [sfp] and
             sni_tries(d, p) == 0,
             "sni on: S is 200 on the first probe", raw)
    finally:
        d.cleanup()
    tmp.cleanup()
finally:
    for s in servers:
        s.stop()
t.done()
