#!/bin/sh
# run-fuzz.sh - "make fuzz": build every harness of tests/fuzz/ with
# clang -fsanitize=fuzzer,address,undefined (the parsers' sources too, so
# libFuzzer sees their coverage) and run each for FUZZ_SECONDS in one process,
# starting from its seed corpus.  New inputs go to
# $FUZZ_BUILDDIR/tests/fuzz/work/NAME (never into the source tree);
# crashes to $FUZZ_BUILDDIR/tests/fuzz/artifacts/NAME-*.  Prints one
# summary line per harness (executions, edges, result) and exits 1 if any
# harness found something.  Called by make with the FUZZ_* variables set;
# FUZZ_ONLY="http svcid" restricts the harnesses run; FUZZ_RUNS=N also
# stops each harness after N executions (whichever comes first).
set -eu

: "${FUZZ_SRCDIR:?}" "${FUZZ_BUILDDIR:?}" "${FUZZ_NAMES:?}"
: "${FUZZ_SECONDS:=60}" "${FUZZ_CPPFLAGS:=}" "${FUZZ_LIBS:=}"
: "${FUZZ_DEP_FILES:?}" "${FUZZ_ONLY:=}" "${FUZZ_RUNS:=}"
CC_FUZZ=${CC_FUZZ:-clang}
if ! command -v "$CC_FUZZ" >/dev/null 2>&1; then
	echo "run-fuzz: $CC_FUZZ not found (sh tests/install-deps.sh fuzz)" >&2
	exit 2
fi

out=$FUZZ_BUILDDIR/tests/fuzz
obj=$out/clang-obj
mkdir -p "$obj" "$out/work" "$out/artifacts" "$out/logs"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
# the literal quotes stay in the word: clang sees a string constant
CFLAGS_FUZZ="-g -O1 -std=gnu11 -fno-omit-frame-pointer $SAN $FUZZ_CPPFLAGS
-DSYSCONFDIR=\"${FUZZ_SYSCONFDIR:-/etc}\"
-DLOCALSTATEDIR=\"${FUZZ_LOCALSTATEDIR:-/var}\""

# The parsers' objects, with coverage; rebuilt when the source is newer
# (after a header change: rm -r tests/fuzz/clang-obj).
objs=""
stale=0
for src in $FUZZ_DEP_FILES; do
	case $src in *.c) ;; *) continue ;; esac
	o=$obj/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')
	if [ ! -f "$o" ] || [ "$FUZZ_SRCDIR/$src" -nt "$o" ]; then
		echo "  CC (fuzz) $src"
		$CC_FUZZ $CFLAGS_FUZZ -fsanitize=fuzzer-no-link \
		    -c "$FUZZ_SRCDIR/$src" -o "$o"
		stale=1
	fi
	objs="$objs $o"
done
if [ "$stale" -eq 1 ] || [ ! -f "$obj/libfuzzdeps.a" ]; then
	rm -f "$obj/libfuzzdeps.a"
	# shellcheck disable=SC2086
	ar rc "$obj/libfuzzdeps.a" $objs
fi

names=${FUZZ_ONLY:-$FUZZ_NAMES}
for n in $names; do
	h=$FUZZ_SRCDIR/tests/fuzz/fuzz_$n.c
	if [ -f "$out/fuzz_$n" ] && [ "$out/fuzz_$n" -nt "$h" ] &&
	    [ "$out/fuzz_$n" -nt "$obj/libfuzzdeps.a" ]; then
		continue
	fi
	echo "  CCLD (fuzz) fuzz_$n"
	# shellcheck disable=SC2086
	$CC_FUZZ $CFLAGS_FUZZ -fsanitize=fuzzer \
	    "$FUZZ_SRCDIR/tests/fuzz/fuzz_$n.c" "$obj/libfuzzdeps.a" \
	    $FUZZ_LIBS -o "$out/fuzz_$n"
done

status=0
for n in $names; do
	dict=""
	[ -f "$FUZZ_SRCDIR/tests/fuzz/dict/$n.dict" ] &&
	    dict="-dict=$FUZZ_SRCDIR/tests/fuzz/dict/$n.dict"
	mkdir -p "$out/work/$n"
	log=$out/logs/$n.log
	echo "  FUZZ $n for ${FUZZ_SECONDS}s (log: $log)"
	rc=0
	# shellcheck disable=SC2086
	"$out/fuzz_$n" -max_total_time="$FUZZ_SECONDS" ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} \
	    -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix="$out/artifacts/$n-" $dict \
	    "$out/work/$n" "$FUZZ_SRCDIR/tests/fuzz/corpus/$n" \
	    >"$log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	if [ "$rc" -eq 0 ]; then res=clean; else res="FOUND (exit $rc)"; status=1; fi
	echo "fuzz $n: executions ${execs:-?} edges ${cov:-?} $res"
done
exit $status
