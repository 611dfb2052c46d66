#!/usr/bin/python3
"""ctlog - a test Certificate Transparency log server for notaryd's tests.

Serves fake CT logs on 127.0.0.1, each on its own port: RFC 6962 logs
(get-sth, get-entries, get-roots) and static-CT logs (checkpoint, data and
hash tiles, issuers), built from deterministic real certificates
(certgen.py) over a real Merkle tree with signed tree heads and checkpoints
(ctformat.py, logstate.py).  A hub port serves the v3 log list and a control
API; every log has fault knobs that tests set at start or at run time, and
it records every request it served (ctserve.py).

As a module:  srv = ctlog.CTLogServer(); lg = srv.add_log("a", size=100);
              srv.start(); ... srv.stop()
As a script:  ctlog.py --log name=a,kind=tiled,size=1000 [--loglist-file F]
              prints one JSON line with the ports and URLs, serves until
              SIGTERM/SIGINT or --max-seconds.  See tests/ctlog/README.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctserve import CTLogServer, main, parse_spec  # noqa: E402,F401
from logstate import FIXED, KNOBS, STATES, Log  # noqa: E402,F401
import certgen  # noqa: E402,F401
import ctformat  # noqa: E402,F401

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
