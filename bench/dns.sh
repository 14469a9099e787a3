#!/bin/sh
# bench/dns.sh -- row n: `dmarcsift resolve` of N distinct source addresses
# (default 10,000) against a local NSD on 127.0.0.1 (a free port), then
# the same command again, served from the cache.
#
# Writes a reverse zone for 198.18.0.0/15 (RFC 2544's benchmark network)
# with a PTR for every address, a forward zone with the A record of each
# name (so every name is forward-confirmed: 2 queries per address), one
# report holding a record per address, ingests it untimed, then times
# `resolve --dns-server 127.0.0.1:PORT` twice with GNU time (wall, CPU,
# peak RSS). Not part of ctest; nothing here asserts.
#
# With DELAY_MS, a UDP proxy (python3, in this script) sits between
# dmarcsift and NSD and holds every answer DELAY_MS milliseconds: a slow
# resolver, as a far-away recursive one is.
#
# usage: sh bench/dns.sh [ADDRESSES [DELAY_MS]]
# environment: BENCH_BIN=PATH times an existing dmarcsift; BENCH_JOBS
set -eu

N=${1:-10000}
DELAY=${2:-0}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-bench-rel
BIN=${BENCH_BIN:-$BUILD/cli/dmarcsift}
JOBS=${BENCH_JOBS:-2}
TIME=/usr/bin/time
NSD=/usr/sbin/nsd
say() { printf '%s\n' "$*" >&2; }

[ -x "$NSD" ] || { say "bench: dns: SKIPPED: $NSD not installed (nsd)"; exit 0; }
[ -x "$TIME" ] || { say "bench: /usr/bin/time not found: apt-get install time"; exit 1; }
[ "$N" -le 130000 ] || { say "bench: dns: at most 130000 addresses"; exit 1; }
if [ -z "${BENCH_BIN:-}" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
    cmake --build "$BUILD" -j"$JOBS" >/dev/null
fi

T=$(mktemp -d /tmp/sift-bench-dns.XXXXXX)
cleanup() {
    [ -f "$T/slow.pid" ] && kill "$(cat "$T/slow.pid")" 2>/dev/null || :
    if [ -f "$T/nsd.pid" ]; then # stop it, and wait: it writes on exit
        pid=$(cat "$T/nsd.pid")
        kill "$pid" 2>/dev/null || :
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
            sleep 0.05
            i=$((i + 1))
        done
    fi
    [ -n "${BENCH_KEEP:-}" ] && { say "bench: kept $T"; return; }
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
soa() { printf '$TTL 3600\n@ IN SOA ns.%s. h.%s. 1 3600 600 86400 900\n@ IN NS ns.%s.\n' "$1" "$1" "$1"; }
# address i: 198.18.0.0 + i (198.18.x.y and on into 198.19)
awk -v n="$N" -v rev="$T/rev.body" -v fwd="$T/fwd.body" -v xml="$T/r.xml" 'BEGIN {
    print "<?xml version=\"1.0\"?>\n<feedback><report_metadata><org_name>bench</org_name><email>b@bench.test</email><report_id>dns-1</report_id><date_range><begin>1700000000</begin><end>1700086399</end></date_range></report_metadata><policy_published><domain>bench.test</domain><p>none</p></policy_published>" > xml
    for (i = 0; i < n; i++) {
        b = 18 + int(i / 65536); x = int(i / 256) % 256; y = i % 256
        printf "%d.%d.%d IN PTR h%d.bench.test.\n", y, x, b, i > rev
        printf "h%d IN A 198.%d.%d.%d\n", i, b, x, y > fwd
        printf "<record><row><source_ip>198.%d.%d.%d</source_ip><count>1</count><policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row><identifiers><header_from>bench.test</header_from></identifiers><auth_results><spf><domain>bench.test</domain><result>fail</result></spf></auth_results></record>\n", b, x, y > xml
    }
    print "</feedback>" > xml
}'
{ soa 198.in-addr.arpa; cat "$T/rev.body"; } >"$T/rev.zone"
{ soa bench.test; echo 'ns IN A 127.0.0.1'; cat "$T/fwd.body"; } >"$T/fwd.zone"
cat >"$T/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@$PORT
  port: $PORT
  zonesdir: "$T"
  pidfile: "$T/nsd.pid"
  logfile: "$T/nsd.log"
  xfrdfile: "$T/xfrd.state"
  zonelistfile: "$T/zone.list"
  xfrdir: "$T"
  database: ""
  username: ""
  chroot: ""
  server-count: 1
remote-control:
  control-enable: no
zone:
  name: 198.in-addr.arpa
  zonefile: rev.zone
zone:
  name: bench.test
  zonefile: fwd.zone
EOF
"$NSD" -c "$T/nsd.conf"
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 200 ] || { say "bench: nsd did not start"; cat "$T/nsd.log" >&2; exit 1; }
    sleep 0.05
done
"$BIN" --db "$T/d.db" ingest --quiet "$T/r.xml"
ASK=$PORT
if [ "$DELAY" -gt 0 ]; then
    ASK=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cat >"$T/slow.py" <<'EOF'
import asyncio, sys
listen, upstream, delay = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) / 1000
class Up(asyncio.DatagramProtocol):
    def __init__(self, down, client):
        self.down, self.client = down, client
    def connection_made(self, t):
        self.transport = t
    def datagram_received(self, data, addr):
        asyncio.get_running_loop().call_later(delay, self.down.sendto, data,
                                              self.client)
        self.transport.close()
class Down(asyncio.DatagramProtocol):
    def connection_made(self, t):
        self.transport = t
    def datagram_received(self, data, addr):
        loop = asyncio.get_running_loop()
        async def fwd():
            t, p = await loop.create_datagram_endpoint(
                lambda: Up(self.transport, addr),
                remote_addr=("127.0.0.1", upstream))
            t.sendto(data)
        loop.create_task(fwd())
async def main():
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(Down, local_addr=("127.0.0.1", listen))
    open(sys.argv[4], "w").close()  # listening: the script may go on
    await asyncio.Event().wait()
asyncio.run(main())
EOF
    python3 "$T/slow.py" "$ASK" "$PORT" "$DELAY" "$T/slow.ready" &
    echo $! >"$T/slow.pid"
    i=0
    until [ -f "$T/slow.ready" ]; do
        i=$((i + 1))
        [ $i -lt 200 ] || { say "bench: the delaying proxy did not start"; exit 1; }
        sleep 0.05
    done
fi

timed() { # timed LOG CMD...: prints "wall cpu rss_kib"
    log=$1
    shift
    $TIME -f '%e %U %S %M' -o "$T/time" "$@" >"$log" 2>&1 || :
    awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$T/time"
}
set -- $(timed "$T/1.out" "$BIN" --db "$T/d.db" resolve --dns-server "127.0.0.1:$ASK")
W1=$1 C1=$2 M1=$3
set -- $(timed "$T/2.out" "$BIN" --db "$T/d.db" resolve --dns-server "127.0.0.1:$ASK")
W2=$1 C2=$2 M2=$3
q=$((N * 2))
printf '| row | run | addresses | queries | wall s | cpu s | queries/s | peak RSS |\n'
printf '|---|---|---|---|---|---|---|---|\n'
awk -v w="$W1" -v c="$C1" -v m="$M1" -v n="$N" -v q="$q" -v d="$DELAY" 'BEGIN {
    printf "| n | resolve, empty cache, local NSD%s | %d | %d | %.2f | %.2f | %.0f | %.1f MB |\n",
        (d > 0 ? sprintf(", answers held %d ms", d) : ""), n, q, w, c, (w > 0 ? q / w : 0), m / 1024 }'
awk -v w="$W2" -v c="$C2" -v m="$M2" -v n="$N" 'BEGIN {
    printf "| n2 | resolve again, from the cache | %d | 0 | %.2f | %.2f | - | %.1f MB |\n",
        n, w, c, m / 1024 }'
say "bench: dns: $(cat "$T/1.out")"
say "bench: dns: $(cat "$T/2.out")"
