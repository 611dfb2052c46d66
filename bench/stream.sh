#!/bin/sh
# stream.sh - CT stream fan-out benchmark (make bench; not a test).
#
# notaryd runs with the TEST ONLY feed (NOTARYD_TEST_FEED: ctwatch
# publishes lines of a file instead of CT entries); BENCH_CLIENTS lite
# websocket clients (bench/stream -c) receive entries published at
# BENCH_RATE/s for BENCH_SECONDS.  Reported: frames delivered and skipped,
# CPU and memory (PSS) of the daemon, and the CPU of writing the same
# bytes to as many sockets with plain write() (bench/stream -b).
# Loopback only.  BUILD is the build directory (default: .).
set -eu
BUILD=${BUILD:-.}
SRC=$(cd "$(dirname "$0")/.." && pwd)
N=${BENCH_CLIENTS:-1000}
T=${BENCH_SECONDS:-60}
R=${BENCH_RATE:-1000}
W=${BENCH_WORKERS:-1}
PY=/usr/bin/python3
dir=$(mktemp -d /tmp/notaryd-bench-stream.XXXXXX)
trap 'kill $npid $lpid 2>/dev/null || true; sleep 1; rm -rf "$dir"' EXIT INT TERM
ulimit -n 65536 2>/dev/null || ulimit -n 8192 2>/dev/null || true
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$dir/notaryd.yaml" <<EOC
daemon: { data_dir: $dir/var }
log: { level: info, target: $dir/notaryd.log }
http: { listen: ["127.0.0.1:$port"], workers: $W, max_connections: 20000 }
cache: { size: 4M }
stream: { ring_size: 16M, client_queue: 300, json_heartbeat: 0s }
database: { cache_size: 4M }
EOC
: > "$dir/feed.tsv"
# entries and the baseline's frames (the lite JSON, one per line)
SRC=$SRC $PY - "$dir" "$R" "$T" <<'EOP'
import os, sys
sys.path.insert(0, os.path.join(os.environ["SRC"], "tests", "integration"))
from streamtest import entry
d, rate, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(os.path.join(d, "entries.tsv"), "w") as f, \
        open(os.path.join(d, "frames.txt"), "w") as g:
    for i in range(1, 2001):
        full, lite, dom, names = entry(i)
        f.write("\t".join([full, lite, dom, ",".join(names), "0", "0",
                           str(i)]) + "\n")
        g.write(lite + "\n")
EOP
NOTARYD_TEST_FEED=$dir/feed.tsv "$BUILD/notaryd" -f -c "$dir/notaryd.yaml" \
    2>"$dir/stderr" & npid=$!
i=0
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat "$dir/stderr"; exit 1; }
	sleep 0.1
done
"$BUILD/bench/stream" -c -p "$port" -n "$N" -t $((T + 8)) -P / \
    > "$dir/load.out" & lpid=$!
i=0
until grep -q ready "$dir/load.out" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 300 ] || { echo "load client not ready"; exit 1; }
	sleep 0.1
done
sleep 1
workers=$(for p in $(pgrep -P $npid); do
	case "$(cat /proc/$p/comm)" in http*) echo $p;; esac; done)
cpu() {	# utime+stime ticks of the http workers
	t=0; for p in $workers; do
		t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat))); done; echo $t
}
c0=$(cpu); t0=$(date +%s.%N)
# the publisher: RATE entries/s in 10 ms batches, cycling the 2000 entries
SRC=$SRC $PY - "$dir" "$R" "$T" <<'EOP'
import os, sys, time
d, rate, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lines = open(os.path.join(d, "entries.tsv")).readlines()
per = max(1, rate // 100)
t0 = time.monotonic(); k = 0; n = 0
with open(os.path.join(d, "feed.tsv"), "a") as f:
    while time.monotonic() - t0 < secs:
        for _ in range(per):
            f.write(lines[k % len(lines)]); k += 1
        f.flush(); n += 1
        delay = t0 + n * 0.01 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
print("published %d" % k, file=open(os.path.join(d, "published"), "w"))
EOP
c1=$(cpu); t1=$(date +%s.%N)
pss=0; for p in $npid $(pgrep -P $npid); do
	pss=$((pss + $(awk '/^Pss:/ {print $2}' /proc/$p/smaps_rollup 2>/dev/null || echo 0)))
done
stats=$(curl -sf "http://127.0.0.1:$port/stats")
curl -sf "http://127.0.0.1:$port/metrics" | grep -E "^notaryd_stream|^notaryd_ring" > "$dir/metrics.txt" || true
wait $lpid || true
kill $npid; wait $npid 2>/dev/null || true
"$BUILD/bench/stream" -b -f "$dir/frames.txt" -n "$N" -t "$T" -r "$R" \
    > "$dir/base.out"
hz=$(getconf CLK_TCK)
cat "$dir/metrics.txt"; cat "$dir/load.out"
$PY - "$dir" "$c0" "$c1" "$t0" "$t1" "$hz" "$pss" "$stats" "$N" "$T" "$R" "$W" <<'EOP'
import json, sys
d, c0, c1, t0, t1, hz, pss, stats, n, secs, rate, w = sys.argv[1:]
st = json.loads(stats)
load = open(d + "/load.out").read().split("\n")[-2].split()
base = open(d + "/base.out").read().split()
pub = open(d + "/published").read().split()[1]
cpu = (int(c1) - int(c0)) / int(hz)
wall = float(t1) - float(t0)
print("stream bench: %s lite clients, %s entries/s for %s s, %s worker(s)"
      % (n, rate, secs, w))
print("  published          %s" % pub)
print("  frames delivered   %s (per client min %s max %s)" % (load[1], load[3], load[5]))
print("  frames skipped     %s" % st["frames_skipped"])
print("  worker CPU         %.2f s in %.1f s = %.0f %% of a core" % (cpu, wall, 100 * cpu / wall))
print("  daemon memory      %.1f MB (PSS, all processes)" % (int(pss) / 1024))
print("  plain write loop   %.2f s CPU = %.0f %% of a core" % (float(base[1]), 100 * float(base[1]) / float(secs)))
print("  targets: 0 skips, <= 1 core, <= 64 MB: %s" % (
    "ok" if st["frames_skipped"] == 0 and cpu / wall <= 1 and int(pss) <= 65536 else "MISSED"))
EOP
