#!/usr/bin/python3
"""mkseeds_ct.py - write the seed corpora of the CT reply harnesses
(ct_sth, ct_checkpoint, ct_getentries, ct_loglist) from the test CT log
(tests/ctlog), and print the SPKI of the two fixed log keys the harnesses
verify with ("log:fuzz-ec" P-256, "log:fuzz-rsa" RSA-2048; deterministic).

Usage: tests/fuzz/mkseeds_ct.py [--keys]   (run from the source tree;
writes tests/fuzz/corpus/ct_*/seed-*; starts the fake log on 127.0.0.1
for a moment because origins and URLs carry its port).
"""
import base64
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "ctlog"))
import ctformat as cf  # noqa: E402
import ctlog  # noqa: E402


def b64(b):
    return base64.b64encode(b).decode()


def put(name, fname, data):
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + fname), "wb") as f:
        f.write(data)


def c_array(name, b):
    out = "static const uint8_t %s[] = {" % name
    for i, x in enumerate(b):
        out += ("\n\t" if i % 12 == 0 else " ") + "0x%02x," % x
    return out + "\n};"


def sth_seeds(ec, rsa):
    put("ct_sth", "ec", json.dumps(ec.sth_json()))
    put("ct_sth", "rsa", json.dumps(rsa.sth_json()))
    ec.set(bad_sth_sig=True)
    put("ct_sth", "ec-badsig", json.dumps(ec.sth_json()))
    ec.set(bad_sth_sig=False)
    j = ec.sth_json()
    j["tree_size"] = -1
    put("ct_sth", "negative", json.dumps(j))
    j["tree_size"] = 18446744073709551615
    put("ct_sth", "u64max", json.dumps(j))
    j = ec.sth_json()
    j["sha256_root_hash"] = b64(b"\0" * 31)
    put("ct_sth", "short-root", json.dumps(j))
    put("ct_sth", "empty-object", "{}")
    put("ct_sth", "array", "[1,2,3]")


def checkpoint_seeds(tec, trsa):
    put("ct_checkpoint", "ec", tec.checkpoint())
    put("ct_checkpoint", "rsa", trsa.checkpoint())
    tec.set(checkpoint_extra_sigs=True)
    put("ct_checkpoint", "ec-extra-sigs", tec.checkpoint())
    tec.set(checkpoint_extra_sigs=False, bad_checkpoint_sig=True)
    put("ct_checkpoint", "ec-badsig", tec.checkpoint())
    tec.set(bad_checkpoint_sig=False)
    cp = tec.checkpoint()
    put("ct_checkpoint", "wrong-origin",
        cp.replace(tec.origin.encode(), b"other.example/log", 1))
    put("ct_checkpoint", "no-sigs", cp.split(b"\n\n")[0] + b"\n\n")
    put("ct_checkpoint", "extension-line",
        cp.replace(b"\n\n", b"\next: one\n\n", 1))


def entries_body(lg, start, n):
    es = []
    for i in range(start, start + n):
        e = lg.entries[i]
        es.append({"leaf_input": b64(lg.leaf_input(e)),
                   "extra_data": b64(cf.extra_data(e))})
    return {"entries": es}


def getentries_seeds(ec):
    put("ct_getentries", "one", json.dumps(entries_body(ec, 0, 1)))
    put("ct_getentries", "five", json.dumps(entries_body(ec, 0, 5)))
    j = entries_body(ec, 2, 2)
    j["entries"][0]["extra_data"] = ""
    j["entries"][1]["leaf_input"] = "!!!!"
    put("ct_getentries", "bad-fields", json.dumps(j))
    put("ct_getentries", "mixed",
        '{"entries":[1,"x",{},{"leaf_input":"AAAA"},'
        '{"leaf_input":"AAAA","extra_data":""},'
        '{"leaf_input":"","extra_data":"AA=="}]}')
    put("ct_getentries", "empty", '{"entries":[]}')


def loglist_seeds(srv):
    put("ct_loglist", "hub", json.dumps(srv.loglist(), indent=1))
    j = srv.loglist()
    j["operators"][0]["logs"][0]["url"] = "ftp://x"
    j["operators"][0]["logs"][0]["key"] = "AAAA"
    put("ct_loglist", "bad-log", json.dumps(j))
    put("ct_loglist", "minimal", '{"operators":[{"logs":[{"url":"https://'
        'ct.example/2025/","key":"AAAA","state":{"usable":{}}}]}]}')


def main():
    srv = ctlog.CTLogServer(hub_port=0)
    ec = srv.add_log("fuzz-ec", size=6)
    rsa = srv.add_log("fuzz-rsa", key_type="rsa", size=3)
    tec = srv.add_log("fuzz-tec", kind="tiled", seed="fuzz-ec", size=6)
    trsa = srv.add_log("fuzz-trsa", kind="tiled", key_type="rsa", size=3)
    srv.add_log("ro", size=2, state="readonly", operator="Other Op")
    srv.add_log("ret", size=1, state="retired")
    srv.start()
    try:
        if "--keys" in sys.argv:
            for n, lg in (("key_ec", ec), ("key_rsa", rsa),
                          ("key_tec", tec), ("key_trsa", trsa)):
                print(c_array(n, lg.key.spki))
            return
        sth_seeds(ec, rsa)
        checkpoint_seeds(tec, trsa)
        getentries_seeds(ec)
        loglist_seeds(srv)
    finally:
        srv.stop()


main()
