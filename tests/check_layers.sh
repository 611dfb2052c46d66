#!/bin/sh
# check_layers.sh - the folders are layers; fail when an include crosses
# one the wrong way.  TAP output, one test per source file.
#
#   common/   includes only common/
#   store/    common/ and store/
#   server/, scanner/, ctwatch/, nats/ (roles): common/, store/ and their own
#             folder, never another role; server/roles.c, the role table,
#             alone may name every role's entry point
#   ctl/      (notaryctl) anything
#
# An include must be directory-qualified ("common/log.h"); a bare "x.h"
# is refused too, because it would hide which layer it reaches.
set -u
top=${NOTARYD_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 1

allowed() {	# $1 file -> the folders it may include
	case $1 in
	common/*)	echo "common" ;;
	store/*)	echo "common store" ;;
	server/roles.c)	echo "common store server scanner ctwatch nats" ;;
	server/*)	echo "common store server" ;;
	scanner/*)	echo "common store scanner" ;;
	ctwatch/*)	echo "common store ctwatch" ;;
	nats/*)		echo "common store nats" ;;
	ctl/*)		echo "common store server scanner ctwatch nats ctl" ;;
	esac
}

files=$(find common store server scanner ctwatch nats ctl -name '*.[ch]' \
    2>/dev/null | sort)
n=0; bad=0
echo "1..$(echo "$files" | wc -w)"
for f in $files; do
	n=$((n + 1))
	ok=$(allowed "$f")
	why=""
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
		dir=${inc%%/*}
		if [ "$dir" = "$inc" ]; then
			why="$why bare include \"$inc\";"
			continue
		fi
		case " $ok " in
		*" $dir "*) ;;
		*) why="$why includes \"$inc\" (a $dir/ header);" ;;
		esac
	done
	if [ -z "$why" ]; then
		echo "ok $n - $f"
	else
		echo "not ok $n - $f:$why may include only: $ok"
		bad=$((bad + 1))
	fi
done
[ "$bad" -eq 0 ]
