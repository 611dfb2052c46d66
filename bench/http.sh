#!/bin/sh
# bench/http.sh - Perspectives reply throughput (make bench; not a test).
#
#  1. cached replies: wrk (keep-alive, 50 connections) against notaryd
#     serving one cached signed reply, and against nginx serving the same
#     bytes as a static file, same machine, same run: ratio (target >= 1.0)
#  2. cold replies: every request for a different service, so every reply
#     is read from the database and signed, against the raw RSA-1369/MD5
#     signing rate of one core (bench/signrate): ratio per signer process
#     (target >= 0.8)
# p50/p99 latency from wrk --latency.  Only 127.0.0.1; stops by itself.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top}
NOTARYD=${NOTARYD:-$build/notaryd}
NOTARYCTL=${NOTARYCTL:-$build/notaryctl}
SIGNRATE=${SIGNRATE:-$build/bench/signrate}
DURATION=${DURATION:-10}
CONNS=${CONNS:-50}
SERVICES=${SERVICES:-20000}

for tool in wrk nginx; do
	command -v $tool >/dev/null 2>&1 || {
		echo "bench/http: $tool missing: sh tests/install-deps.sh bench"
		exit 1; }
done
dir=$(mktemp -d /tmp/bench-http.XXXXXX)
chmod 755 "$dir"	# nginx workers (www-data) read reply.xml
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
nport=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
npid=""
cleanup() {
	[ -n "${dpid:-}" ] && kill "$dpid" 2>/dev/null || true
	[ -n "$npid" ] && kill "$npid" 2>/dev/null || true
	sleep 0.5; rm -rf "$dir"
}
trap cleanup EXIT INT TERM

cat > "$dir/notaryd.yaml" <<EOC
daemon: {data_dir: $dir/var}
log: {level: warning, target: $dir/notaryd.log}
http: {listen: ["127.0.0.1:$port"], workers: 2, keepalive_timeout: 60s}
cache: {size: 64M}
scanner: {rescan_interval: 0}
ctwatch: {enabled: false}
EOC

# Observations for $SERVICES services: one key, two spans each.
python3 - "$SERVICES" > "$dir/import.txt" <<'EOP'
import sys
n = int(sys.argv[1])
for i in range(n):
    fp = ":".join("%02x" % ((i * 7 + j) & 0xff) for j in range(16))
    print("(bench-%d.example:443,2, %s, 1700000000, 1700086400)" % (i, fp))
    print("(bench-%d.example:443,2, %s, 1700200000, 1700300000)" % (i, fp))
EOP
"$NOTARYCTL" -c "$dir/notaryd.yaml" import "$dir/import.txt" >/dev/null
"$NOTARYD" -f -c "$dir/notaryd.yaml" & dpid=$!
i=0
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "notaryd did not start"; exit 1; }
	sleep 0.1
done
url="http://127.0.0.1:$port/?host=bench-0.example&port=443&service_type=2"
curl -sf "$url" > "$dir/reply.xml"
[ -s "$dir/reply.xml" ] || { echo "no reply to bench on"; exit 1; }
chmod 644 "$dir/reply.xml"

mkdir -p "$dir/nginx/logs"
cat > "$dir/nginx/nginx.conf" <<EOC
worker_processes 2;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    server {
        listen 127.0.0.1:$nport;
        root $dir;
        location = / {
            default_type "text/xml;charset=utf-8";
            try_files /reply.xml =404;
        }
    }
}
EOC
nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -g 'daemon off;' & npid=$!
nurl="http://127.0.0.1:$nport/?host=bench-0.example&port=443&service_type=2"
i=0
until curl -sf "$nurl" -o "$dir/nginx.out"; do
	i=$((i + 1))
	[ $i -lt 50 ] || { cat "$dir/nginx/error.log"; echo "nginx down"; exit 1; }
	sleep 0.1
done
cmp -s "$dir/nginx.out" "$dir/reply.xml" ||
	{ echo "nginx does not serve the same bytes"; exit 1; }

wrk_run() {	# $1 url, [$2 lua script]
	if [ $# -gt 1 ]; then
		wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s "$2" "$1"
	else
		wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "$1"
	fi
}
rps() { awk '/^Requests\/sec/ {print $2}'; }
pct() { awk -v p="$1" '$1 == p {print $2}'; }

wrk_run "$url" > "$dir/hot.txt"
wrk_run "$nurl" > "$dir/nginx.txt"

# Cold: each wrk thread walks its own half of the services once.
cat > "$dir/cold.lua" <<EOL
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
local n = 0
function request()
    n = n + 1
    local i = (tid * math.floor($SERVICES / 2) + n) % $SERVICES
    return wrk.format("GET", "/?host=bench-" .. i ..
        ".example&port=443&service_type=2")
end
EOL
# Empty the cache of what the hot run left: restart (the cache is shm).
kill "$dpid"; wait "$dpid" 2>/dev/null || true
"$NOTARYD" -f -c "$dir/notaryd.yaml" & dpid=$!
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.1; done
cold_s=$(( DURATION < 5 ? DURATION : 5 ))
DURATION=$cold_s wrk_run "http://127.0.0.1:$port" "$dir/cold.lua" > "$dir/cold.txt"
sign=$("$SIGNRATE" 3 | awk '{print $2}')

hot=$(rps < "$dir/hot.txt"); ngx=$(rps < "$dir/nginx.txt")
cold=$(rps < "$dir/cold.txt")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$dir/cold.txt")
echo "== bench/http ($CONNS connections, keep-alive, ${DURATION}s runs)"
printf '%-34s %10s %8s %8s\n' "" "req/s" "p50" "p99"
printf '%-34s %10s %8s %8s\n' "notaryd cached reply" "$hot" \
    "$(pct 50% < "$dir/hot.txt")" "$(pct 99% < "$dir/hot.txt")"
printf '%-34s %10s %8s %8s\n' "nginx static file (same bytes)" "$ngx" \
    "$(pct 50% < "$dir/nginx.txt")" "$(pct 99% < "$dir/nginx.txt")"
printf '%-34s %10s %8s %8s\n' "notaryd cold (signed each time)" "$cold" \
    "$(pct 50% < "$dir/cold.txt")" "$(pct 99% < "$dir/cold.txt")"
printf '%-34s %10s\n' "raw RSA-1369/MD5 signs, one core" "$sign"
[ -n "$non2xx" ] && echo "cold non-2xx responses: $non2xx"
python3 - "$hot" "$ngx" "$cold" "$sign" <<'EOP'
import sys
hot, ngx, cold, sign = (float(x) for x in sys.argv[1:])
r1, r2 = hot / ngx, cold / sign
print("cached / nginx  = %.2f  (target >= 1.0)  %s" % (r1, "ok" if r1 >= 1.0 else "MISSED"))
print("cold / signrate = %.2f  (target >= 0.8 per signer)  %s" % (r2, "ok" if r2 >= 0.8 else "MISSED"))
EOP
