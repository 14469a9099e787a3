#!/bin/sh
# bench/sources.sh -- row s: `dmarcsift report` over one report of N
# records from N distinct source IPs (default 200,000; issue 18), with the
# default --max-sources (100,000), unbounded (--max-sources 4000000) and
# with --max-sources 1000: CPU, wall and peak RSS (GNU time), and the peak
# heap (RssAnon of /proc/PID/status, sampled every 10 ms; the rest of the
# peak RSS is the mapped database file).
#
# The report is fixtures/many-sources/gen.sh's (record i: i % 7 + 1
# messages from 10.x.y.z, every third unauthenticated), ingested untimed.
# Not part of ctest; nothing here asserts.
#
# usage: sh bench/sources.sh [N]
# environment: BENCH_BIN=PATH times an existing dmarcsift; BENCH_JOBS
set -eu

N=${1:-200000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-bench-rel
BIN=${BENCH_BIN:-$BUILD/cli/dmarcsift}
JOBS=${BENCH_JOBS:-2}
TIME=/usr/bin/time

if [ -z "${BENCH_BIN:-}" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
    cmake --build "$BUILD" -j"$JOBS" >/dev/null
fi
tmp=$(mktemp -d /tmp/sift-bench-sources-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export DMARCSIFT_CONFIG=/dev/null SOURCE_DATE_EPOCH=1700600000
sh "$ROOT/fixtures/many-sources/gen.sh" "$N" 0 1700000000 big >"$tmp/big.xml"
"$BIN" --db "$tmp/s.db" ingest --quiet "$tmp/big.xml"

# peak RssAnon (KiB) of the command, sampled while it runs
heap() {
    "$@" >/dev/null &
    pid=$!
    peak=0
    while kill -0 "$pid" 2>/dev/null; do
        a=$(awk '/^RssAnon/ { print $2 }' "/proc/$pid/status" 2>/dev/null || :)
        [ "${a:-0}" -gt "$peak" ] && peak=$a
        sleep 0.01
    done
    wait "$pid" || :
    echo "$peak"
}

echo "| row | --max-sources | sources | cpu s | wall s | peak RSS | peak heap |"
echo "|---|---|---|---|---|---|---|"
for m in default 4000000 1000; do
    if [ "$m" = default ]; then set --; else set -- --max-sources "$m"; fi
    if ! $TIME -f '%U %S %e %M' -o "$tmp/t" "$BIN" --db "$tmp/s.db" report \
        "$@" >/dev/null 2>"$tmp/e"; then
        echo "| s | $m | $N | $(head -1 "$tmp/e") |"
        continue
    fi
    h=$(heap "$BIN" --db "$tmp/s.db" report "$@")
    awk -v m="$m" -v n="$N" -v h="$h" '{
        printf "| s | %s | %d | %.2f | %.2f | %.0f MiB | %.0f MiB |\n",
            m, n, $1 + $2, $3, $4 / 1024, h / 1024 }' "$tmp/t"
done
