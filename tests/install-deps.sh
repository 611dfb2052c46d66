#!/bin/sh
# install-deps.sh - install what notaryd needs to build ("build") or to
# build and run the whole test suite ("test", the default), or also the
# benchmarks ("bench") or the libFuzzer runs of "make fuzz" ("fuzz"), on
# Debian 12.  "make check" replays the fuzz corpora without clang.
# Run as root.  Skips apt-get entirely when everything is already there.
set -eu

BUILD_PKGS="build-essential autoconf automake pkg-config libssl-dev
libyaml-dev zlib1g-dev libdb5.3-dev db5.3-util libcurl4-openssl-dev libc-ares-dev curl
libjansson-dev libnats-dev"
# sysvinit-utils (/lib/lsb/init-functions) for test_install.py, which
# runs the SysV script; it checks the unit with systemd-analyze only where
# systemd is installed.  python3-cryptography for the test CT log server.
# nats-server: the natspub tests start a real one (JetStream on a
# temporary directory, loopback port).
TEST_PKGS="check python3 python3-cryptography curl openssl procps sysvinit-utils
python3-websockets python3-prometheus-client nginx-light nats-server
clang-format"

BENCH_PKGS="wrk nginx-light"
# make fuzz: clang -fsanitize=fuzzer,address,undefined
FUZZ_PKGS="clang libfuzzer-14-dev"

case "${1:-test}" in
build)	PKGS="$BUILD_PKGS" ;;
test)	PKGS="$BUILD_PKGS $TEST_PKGS" ;;
bench)	PKGS="$BUILD_PKGS $TEST_PKGS $BENCH_PKGS" ;;
fuzz)	PKGS="$BUILD_PKGS $TEST_PKGS $FUZZ_PKGS" ;;
*)	echo "usage: $0 [build|test|bench|fuzz]" >&2; exit 2 ;;
esac

# The npm certstream client (1.1.1) for the stream tests, into tests/node
# (not committed).  Needs npm and the npm registry; the tests skip it
# when it is missing.
node_client() {
	here=$(cd "$(dirname "$0")" && pwd)
	if [ -d "$here/node/node_modules/certstream" ]; then
		return 0
	fi
	if command -v npm >/dev/null 2>&1; then
		mkdir -p "$here/node" &&
		    (cd "$here/node" && npm install --no-audit --no-fund \
		    certstream@1.1.1) ||
		    echo "install-deps: npm certstream not installed" >&2
	fi
}
case "${1:-test}" in
test|bench)	node_client ;;
esac

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
	    grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing:$missing (run as root to install)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Wait up to 5 min for another apt/dpkg (unattended-upgrades on a fresh
# machine) to release the lock instead of failing at once.
APT_LOCK="-o DPkg::Lock::Timeout=300"
# shellcheck disable=SC2086
apt-get $APT_LOCK update -qq
# shellcheck disable=SC2086
apt-get $APT_LOCK install -y -qq --no-install-recommends $missing
