#!/bin/sh
# quickstart.sh - on a fresh Debian 12 machine, as root: install the build
# dependencies, build notaryd, and start it in the foreground on its
# defaults (http://127.0.0.1:8080/, database and keys under ./var).
set -eu
cd "$(dirname "$0")/.."
sh tests/install-deps.sh build
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure
make -j"$(nproc)"
echo "quickstart: starting notaryd in the foreground (Ctrl-C stops it)"
exec ./notaryd -f
