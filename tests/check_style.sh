#!/bin/sh
# check_style.sh - the house style that a machine can check (TAP):
#   1. every production .c file has at most 800 lines;
#   2. every function has at most 80 lines (body and signature);
#   3. clang-format (the tree's .clang-format) leaves every file as it is,
#      when clang-format is installed (it is in CI: tests/install-deps.sh).
set -u
top=${NOTARYD_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 1
FILE_MAX=800
FUNC_MAX=80
files=$(find common store server scanner ctwatch nats ctl -name '*.[ch]' | sort)
n=0; bad=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); bad=$((bad + 1)); echo "not ok $n - $1"; }

for f in $files; do
	case $f in *.c) ;; *) continue ;; esac
	lines=$(wc -l < "$f")
	if [ "$lines" -le "$FILE_MAX" ]; then
		ok "$f: $lines lines"
	else
		notok "$f: $lines lines (at most $FILE_MAX)"
	fi
	# A function starts at "name(" in column 0 and ends at "}" in
	# column 0; its length counts from the line with the return type.
	long=$(awk -v max="$FUNC_MAX" '
	    /^[A-Za-z_][A-Za-z0-9_]*\(/ && prev !~ /^[ \t#\/*]/ && prev != "" \
	        { name = $0; sub(/\(.*/, "", name); start = NR - 1; infn = 1 }
	    infn && /^}/ { len = NR - start + 1; infn = 0
	        if (len > max) printf "%s (%d lines) ", name, len }
	    { prev = $0 }' "$f")
	if [ -z "$long" ]; then
		ok "$f: functions within $FUNC_MAX lines"
	else
		notok "$f: functions over $FUNC_MAX lines: $long"
	fi
done
if command -v clang-format >/dev/null 2>&1 && [ -f .clang-format ]; then
	for f in $files; do
		if clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
			ok "$f: formatted"
		else
			notok "$f: not formatted (run: clang-format -i $f)"
		fi
	done
fi
echo "1..$n"
[ "$bad" -eq 0 ]
