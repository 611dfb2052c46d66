#!/bin/sh
# bench/convergence.sh - Convergence TLS handshake rate (make bench; not a
# test).  Full handshakes per second with no session reuse (the reference
# client closes every time), measured by openssl s_time -new, against
#   a) notaryd's Convergence port, whose private key stays in the signer
#      (every handshake signature is a round trip to it), and
#   b) openssl s_server holding the same certificate and key in process,
# same machine, same run, TLS 1.3 and TLS 1.2; ratio a/b (target >= 0.8).
# s_server is one process; notaryd runs one http worker for a fair match.
# Only 127.0.0.1; stops by itself.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top}
NOTARYD=${NOTARYD:-$build/notaryd}
SECS=${SECS:-5}
free_port() {
	python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}
dir=$(mktemp -d /tmp/bench-conv.XXXXXX)
hport=$(free_port); cport=$(free_port); sport=$(free_port)
dpid=""; spid=""
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null || true
	[ -n "$spid" ] && kill "$spid" 2>/dev/null || true
	sleep 0.5; rm -rf "$dir"
}
trap cleanup EXIT INT TERM

cat > "$dir/notaryd.yaml" <<EOC
daemon: {data_dir: $dir/var}
log: {level: info, target: $dir/notaryd.log}
http: {listen: ["127.0.0.1:$hport"], workers: 1}
convergence: {listen: ["127.0.0.1:$cport"]}
ctwatch: {enabled: false}
EOC
"$NOTARYD" -f -c "$dir/notaryd.yaml" 2>>"$dir/notaryd.log" &
dpid=$!
i=0
while [ ! -s "$dir/var/keys/convergence.crt" ] && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
sleep 0.5
openssl s_server -accept "127.0.0.1:$sport" -cert "$dir/var/keys/convergence.crt" \
    -key "$dir/var/keys/convergence.key" -www -quiet </dev/null >/dev/null 2>&1 &
spid=$!
sleep 0.5
rate() {
	openssl s_time -connect "127.0.0.1:$1" -new -time "$SECS" "$2" 2>/dev/null |
	    awk '/connections in [0-9]+ real seconds/ {printf "%.0f", $1 / $4}'
}
for v in -tls1_3 -tls1_2; do
	ours=$(rate "$cport" "$v")
	theirs=$(rate "$sport" "$v")
	echo "convergence $v: notaryd (key in the signer) $ours handshakes/s," \
	    "openssl s_server (key in process) $theirs/s," \
	    "ratio $(awk "BEGIN {printf \"%.2f\", $ours / ($theirs ? $theirs : 1)}")"
done
kill "$dpid"; wait "$dpid" 2>/dev/null || true; dpid=""
grep 'key operations' "$dir/notaryd.log" | sed 's/.*convergence: /convergence: /'
