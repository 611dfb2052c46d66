#!/bin/sh
# run-suite.sh - install the dependencies, build notaryd with -Werror, run
# the whole test suite, then build again with ASan+UBSan and run it again.
# Ends with one line "N passed, N failed".  Exit 0 only when all passed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

sh tests/install-deps.sh test || exit 1

step() { echo "== $*"; }
fail_build() { echo "run-suite: $1 failed"; echo "0 passed, 1 failed"; exit 1; }

# An in-tree build (quickstart) would block the out-of-tree builds below.
[ -f config.status ] && { step "make distclean (in-tree build found)";
    make distclean >/dev/null 2>&1 || true; }
step "autoreconf"
autoreconf -fi >/dev/null 2>&1 || fail_build autoreconf

run_build() {	# $1 build dir, $2.. configure flags
	dir=$1; shift
	rm -rf "$dir"; mkdir -p "$dir"
	step "configure $* ($dir)"
	(cd "$dir" && "$top/configure" -q --enable-werror "$@") ||
	    fail_build "configure $*"
	step "make ($dir)"
	make -C "$dir" -j"$jobs" >"$dir/build.log" 2>&1 ||
	    { tail -50 "$dir/build.log"; fail_build "make ($dir)"; }
	step "make check ($dir)"
	make -C "$dir" -j"$jobs" check || true
}

count() {	# $1 build dir, $2 result
	find "$1/tests" -name '*.trs' -exec grep -h "^:test-result: $2" {} + \
	    2>/dev/null | wc -l
}

run_build build-plain
# Sanitizers: abort on the first report, and write every report to a file,
# because a report in a daemon child only shows as a crash that the
# master survives; any report file fails the suite below.
san="$top/build-asan/sanitizer"
ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:log_path=$san"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$san"
export ASAN_OPTIONS UBSAN_OPTIONS
run_build build-asan --enable-asan
unset ASAN_OPTIONS UBSAN_OPTIONS

passed=0; failed=0
for dir in build-plain build-asan; do
	p=$(count "$dir" PASS); f=$(count "$dir" FAIL)
	e=$(count "$dir" ERROR); xp=$(count "$dir" XPASS)
	n=$(find "$dir/tests" -name '*.trs' 2>/dev/null | wc -l)
	echo "$dir: $p passed, $((f + e + xp)) failed ($n test programs)"
	passed=$((passed + p)); failed=$((failed + f + e + xp))
	for log in $(grep -l -E '^:test-result: (FAIL|ERROR|XPASS)' \
	    $(find "$dir/tests" -name '*.trs') 2>/dev/null); do
		echo "---- ${log%.trs}.log"; tail -40 "${log%.trs}.log"
	done
done
reports=$(ls "$san".* 2>/dev/null | wc -l)
if [ "$reports" -gt 0 ]; then
	echo "sanitizer reports: $reports (each counts as a failure)"
	for f in "$san".*; do echo "---- $f"; head -40 "$f"; done
	failed=$((failed + reports))
fi
[ "$passed" -gt 0 ] || failed=$((failed + 1))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
