#!/bin/sh
# install-deps.sh - install what notaryd needs to build ("build") or to
# build and run the whole test suite ("test", the default), or also the
# benchmarks ("bench") or the libFuzzer runs of "make fuzz" ("fuzz"), on
# Debian 12.  "make check" replays the fuzz corpora without clang.
# Run as root.  Skips apt-get entirely when everything is already there.
set -eu

BUILD_PKGS="build-essential autoconf automake pkg-config libssl-dev
libyaml-dev libdb5.3-dev db5.3-util libcurl4-openssl-dev libc-ares-dev curl"
# sysvinit-utils (/lib/lsb/init-functions) for test_install.py, which
# runs the SysV script; it checks the unit with systemd-analyze only where
# systemd is installed.
TEST_PKGS="check python3 curl openssl procps sysvinit-utils"

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
