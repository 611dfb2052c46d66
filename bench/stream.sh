#!/bin/sh
# stream.sh - CT stream fan-out benchmark (make bench; not a test).
#
# The real path: a fake CT log (tests/ctlog/ctlog.py, RFC 6962, entries
# reusing 1,000 certificates) grows by BENCH_RATE entries/s for
# BENCH_SECONDS, notaryd's ctwatch follows it and publishes into the ring,
# and BENCH_CLIENTS lite websocket clients (bench/stream -c, threaded
# epoll) receive them.  Reported: frames delivered and skipped, CPU and
# memory (PSS) of the daemon, and the CPU of writing the same bytes to as
# many sockets with plain write() (bench/stream -b).  Then, for
# BENCH_ZSECONDS more, BENCH_ZCLIENTS clients per shape offering
# permessage-deflate: the deflate ratio of each shape (lite, full,
# domains-only), from what they received and inflated.
# Loopback only.  BUILD is the build directory (default: .).
set -eu
BUILD=${BUILD:-.}
SRC=$(cd "$(dirname "$0")/.." && pwd)
N=${BENCH_CLIENTS:-1000}
T=${BENCH_SECONDS:-60}
R=${BENCH_RATE:-1000}
W=${BENCH_WORKERS:-1}
ZN=${BENCH_ZCLIENTS:-5}
ZT=${BENCH_ZSECONDS:-10}
PY=/usr/bin/python3
dir=$(mktemp -d /tmp/notaryd-bench-stream.XXXXXX)
npid=; lpid=; cpid=
trap 'kill $npid $lpid $cpid 2>/dev/null || true; sleep 1; rm -rf "$dir"' \
    EXIT INT TERM
ulimit -n 65536 2>/dev/null || ulimit -n 8192 2>/dev/null || true
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# the fake CT log, in its own process
$PY "$SRC/tests/ctlog/ctlog.py" --max-seconds $((T + ZT + 600)) \
    --log "name=bench,kind=rfc6962,size=1000,unique=1000,cap=1024" \
    --ready-file "$dir/ctlog.json" >/dev/null 2>"$dir/ctlog.err" & cpid=$!
i=0
until [ -s "$dir/ctlog.json" ]; do
	i=$((i + 1)); [ $i -lt 600 ] || { cat "$dir/ctlog.err"; exit 1; }
	sleep 0.1
done
eval "$($PY - "$dir/ctlog.json" <<'EOP'
import json, sys
r = json.load(open(sys.argv[1]))
lg = r["logs"]["bench"]
print("hub=%s\nlogurl=%s\nlogkey=%s" % (r["hub_url"], lg["url"], lg["key"]))
EOP
)"
cat > "$dir/notaryd.yaml" <<EOC
daemon: { data_dir: $dir/var }
log: { level: info, target: $dir/notaryd.log }
http: { listen: ["127.0.0.1:$port"], workers: $W, max_connections: 20000 }
cache: { size: 4M }
stream: { ring_size: 16M, client_queue: 300, json_heartbeat: 0s,
          compression: true }
database: { cache_size: 4M }
ctwatch:
  log_list: []
  poll_interval: 100ms
  batch_size: 1024
  logs:
    - { url: "$logurl", name: "bench log", type: rfc6962, key: "$logkey" }
EOC
# the baseline's frames: the lite JSON of the log's 1,000 certificates
$PY - "$dir" "$hub" "$SRC" <<'EOP'
import json, os, sys, urllib.request
d, hub, src = sys.argv[1:]
sys.path.insert(0, os.path.join(src, "tests", "ctlog"))
import expected
with open(os.path.join(d, "frames.txt"), "wb") as g:
    for i in range(1000):
        with urllib.request.urlopen("%s_ctl/expected?log=bench&index=%d"
                                    % (hub, i), timeout=30) as r:
            g.write(expected.frame(json.load(r), 1767225600.5, "lite"))
EOP
"$BUILD/notaryd" -f -c "$dir/notaryd.yaml" 2>"$dir/stderr" & npid=$!
i=0
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat "$dir/stderr"; exit 1; }
	sleep 0.1
done
# ctwatch takes the log's size as its start before the log grows
i=0
until "$BUILD/notaryctl" -c "$dir/notaryd.yaml" ct-positions 2>/dev/null |
    grep -q " 1000 "; do
	i=$((i + 1)); [ $i -lt 300 ] || { echo "ctwatch does not follow"; exit 1; }
	sleep 0.1
done

# publish: grow the log by RATE/s for SECS seconds (100 steps a second,
# on an absolute schedule); prints the number of entries added
publish() {
	$PY - "$hub" "$R" "$1" <<'EOP'
import json, sys, time, urllib.request
hub, rate, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def grow(k):
    rq = urllib.request.Request(hub + "_ctl", data=json.dumps(
        {"log": "bench", "grow": k}).encode(), method="POST")
    with urllib.request.urlopen(rq, timeout=10) as r:
        r.read()
t0 = time.monotonic(); n = 0; done = 0
print("start %.3f" % t0, file=sys.stderr)
while time.monotonic() - t0 < secs:
    n += 1
    k = rate * n // 100 - done
    if k > 0:
        grow(k)
        done += k
    delay = t0 + n * 0.01 - time.monotonic()
    if delay > 0:
        time.sleep(delay)
print("%d end %.3f" % (done, time.monotonic()))
EOP
}

"$BUILD/bench/stream" -c -p "$port" -n "$N" -t $((T + 8)) -P / \
    > "$dir/load.out" & lpid=$!
i=0
until grep -q ready "$dir/load.out" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 600 ] || { echo "load client not ready"; exit 1; }
	sleep 0.1
done
sleep 1
workers=$(for p in $(pgrep -P $npid); do
	case "$(cat /proc/$p/comm)" in http*) echo $p;; esac; done)
cpu() {	# utime+stime ticks of the http workers
	t=0; for p in $workers; do
		t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat))); done; echo $t
}
c0=$(cpu)
publish "$T" > "$dir/published" 2>"$dir/pubstart"
pss=0; for p in $npid $(pgrep -P $npid); do
	pss=$((pss + $(awk '/^Pss:/ {print $2}' /proc/$p/smaps_rollup 2>/dev/null || echo 0)))
done
stats=$(curl -sf "http://127.0.0.1:$port/stats")
curl -sf "http://127.0.0.1:$port/metrics" | grep -E "^notaryd_stream|^notaryd_ring" > "$dir/metrics.txt" || true
wait $lpid || true
lpid=
c1=$(cpu)	# until the load client stopped: the backlog's cost included

# the deflate ratio of each shape: ZN clients per path offering it
zp=
for p in / /full-stream /domains-only; do
	f=$dir/z$(echo "$p" | tr / _).out
	"$BUILD/bench/stream" -c -z -j 1 -p "$port" -n "$ZN" -t $((ZT + 4)) \
	    -P "$p" > "$f" & zp="$zp $!"
done
i=0
until [ "$(cat "$dir"/z_*.out 2>/dev/null | grep -c ready)" -eq 3 ]; do
	i=$((i + 1)); [ $i -lt 300 ] || { echo "deflate clients not ready"; exit 1; }
	sleep 0.1
done
publish "$ZT" > "$dir/zpublished"
for p in $zp; do wait $p || true; done
kill $npid; wait $npid 2>/dev/null || true
npid=
"$BUILD/bench/stream" -b -f "$dir/frames.txt" -n "$N" -t "$T" -r "$R" \
    > "$dir/base.out"
hz=$(getconf CLK_TCK)
cat "$dir/metrics.txt"; cat "$dir/load.out"
$PY - "$dir" "$c0" "$c1" "$hz" "$pss" "$stats" "$N" "$T" "$R" "$W" "$ZN" <<'EOP'
import json, sys
d, c0, c1, hz, pss, stats, n, secs, rate, w, zn = sys.argv[1:]
st = json.loads(stats)
load = open(d + "/load.out").read().split("\n")[-2].split()
base = open(d + "/base.out").read().split()
pubx = open(d + "/published").read().split()
pub, pend = int(pubx[0]), float(pubx[2])
pstart = float(open(d + "/pubstart").read().split()[1])
cpu = (int(c1) - int(c0)) / int(hz)
wall = pend - pstart
last = float(load[load.index("last") + 1])
lcpu = float(load[load.index("cpu_s") + 1])
print("stream bench: %s lite clients, %s entries/s for %s s, %s worker(s)"
      % (n, rate, secs, w))
print("  published          %d (ring: %d)" % (pub, st["processed_certificates"]))
print("  frames delivered   %s of %d (per client min %s max %s)" % (
    load[1], pub * int(n), load[3], load[5]))
print("  frames skipped     %s" % st["frames_skipped"])
print("  last frame         %.2f s after the last entry was added" % (last - pend))
print("  worker CPU         %.2f s for %.1f s of stream = %.0f %% of a core "
      "(backlog included)" % (cpu, wall, 100 * cpu / wall))
print("  load client CPU    %.2f s (%s threads): %.0f %% of a core over "
      "its %d s" % (lcpu, open(d + "/load.out").read().split()[3],
                    100 * lcpu / (int(secs) + 8), int(secs) + 8))
print("  daemon memory      %.1f MB (PSS, all processes)" % (int(pss) / 1024))
print("  plain write loop   %.2f s CPU = %.0f %% of a core" % (float(base[1]), 100 * float(base[1]) / float(secs)))
print("  targets: 0 skips, <= 1 core, <= 64 MB: %s" % (
    "ok" if st["frames_skipped"] == 0 and cpu / wall <= 1 and int(pss) <= 65536 else "MISSED"))
zpub = int(open(d + "/zpublished").read().split()[0])
ok_all = int(load[1]) == pub * int(n)
print("  every frame delivered: %s" % ("yes" if ok_all else "NO"))
print("  permessage-deflate, %s clients per shape, %d entries:" % (zn, zpub))
for name, f in (("lite", "z_"), ("full", "z_full-stream"),
                ("domains-only", "z_domains-only")):
    x = open("%s/%s.out" % (d, f)).read().split()
    k = x.index("wire")
    wire, infl = int(x[k + 1]), int(x[k + 3])
    print("    %-13s %s frames, %d bytes sent for %d: ratio %.3f "
          "(%.1f %% saved)" % (name, x[x.index("frames") + 1], wire, infl,
                               wire / infl if infl else 0,
                               100.0 * (infl - wire) / infl if infl else 0))
EOP
