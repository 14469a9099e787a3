#!/bin/sh
# pg_equal.sh BINARY GEN FIXTURES CORPUS -- cross-backend equality (issue 14).
#
# The same inputs ingested into a SQLite file and into a PostgreSQL
# database give byte-identical `report` (text, json, csv, also filtered),
# `export` (csv, jsonl) and `stats` output (also --since with history,
# --by day|week series, html). Inputs: every fixture folder,
# a bench/gen.c corpus (mixed xml/gz/zip, 300 reports), and the real
# corpus CORPUS when present. The server is $SIFT_TEST_PG (a URI of a
# database whose user may CREATE DATABASE; scripts/pg-cluster.sh starts
# one); without it the test is skipped (exit 77).
set -u
bin=$1 gen=$2 fixtures=$3 corpus=$4
if [ -z "${SIFT_TEST_PG:-}" ]; then
    echo "pg_equal: SKIP (no SIFT_TEST_PG: start a server with scripts/pg-cluster.sh)"
    exit 77
fi
psql=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | tail -1)
[ -x "$psql" ] || { echo "pg_equal: SKIP (no psql)"; exit 77; }
export TZ=UTC LC_ALL=C SOURCE_DATE_EPOCH=1700600000 DMARCSIFT_CONFIG=/dev/null
unset DMARCSIFT_DB
tmp=$(mktemp -d /tmp/sift-pg-equal-XXXXXX)
base=${SIFT_TEST_PG%/*}
fail=0
n=0
cleanup() {
    for d in $dbs; do
        "$psql" -q "$SIFT_TEST_PG" -c "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1
    done
    rm -rf "$tmp"
}
dbs=
trap cleanup EXIT

# compare NAME INPUTS...: ingest into both, diff every output
compare() {
    name=$1
    shift
    n=$((n + 1))
    db=sift_eq_$$_$n
    dbs="$dbs $db"
    "$psql" -q "$SIFT_TEST_PG" -c "CREATE DATABASE $db" >/dev/null || {
        echo "pg_equal: cannot create database $db"
        exit 1
    }
    pg="$base/$db"
    sq="$tmp/$n.db"
    "$bin" ingest -q --db "$sq" "$@" >"$tmp/$n.sq.ingest" 2>&1
    s1=$?
    "$bin" ingest -q --db "$pg" "$@" >"$tmp/$n.pg.ingest" 2>&1
    s2=$?
    if [ $s1 != $s2 ]; then
        echo "FAIL $name: ingest exit $s1 (sqlite) vs $s2 (postgresql)"
        sed 's/^/  pg: /' "$tmp/$n.pg.ingest" | head -5
        fail=$((fail + 1))
        return
    fi
    for cmd in "stats" "report" "report --format json" "report --format csv" \
        "report --domain example.com --since 2023-01-01" "report --top 3" \
        "report --since 2023-11-15 --format json --by day" \
        "report --format html" "report --format csv --by week" \
        "report --max-sources 20" "report --max-sources 50 --format json" \
        "report --since 2023-11-16 --max-sources 20 --format csv" \
        "export --format csv" "export --format jsonl"; do
        # shellcheck disable=SC2086
        "$bin" $cmd --db "$sq" >"$tmp/$n.sq.out" 2>&1
        a=$?
        # shellcheck disable=SC2086
        "$bin" $cmd --db "$pg" >"$tmp/$n.pg.out" 2>&1
        b=$?
        if [ $a != $b ] || ! cmp -s "$tmp/$n.sq.out" "$tmp/$n.pg.out"; then
            echo "FAIL $name: '$cmd' differs (exit $a vs $b)"
            diff "$tmp/$n.sq.out" "$tmp/$n.pg.out" | head -10
            fail=$((fail + 1))
        fi
    done
    echo "ok   $name ($(sed -n 's/^records: *//p' "$tmp/$n.sq.out" 2>/dev/null)$(
        "$bin" stats --db "$sq" | sed -n 's/^records: *//p') records)"
}

for d in "$fixtures"/*/; do
    compare "fixtures/$(basename "$d")" "$d"
done
"$gen" --reports 300 --records 40 --format mixed "$tmp/gen" >/dev/null
compare "gen (300 reports)" "$tmp/gen"
if [ -d "$corpus" ]; then
    compare "shared corpus" "$corpus"
else
    echo "skip shared corpus (not present)"
fi
# resolve with a server that never answers (a closed port on loopback):
# the same summary on both backends, and no cache rows written for
# timeouts; check_dns compares names from a real server.
n=$((n + 1))
db=sift_eq_$$_$n
dbs="$dbs $db"
"$psql" -q "$SIFT_TEST_PG" -c "CREATE DATABASE $db" >/dev/null
for b in "$tmp/dns.db" "$base/$db"; do
    "$bin" ingest -q --db "$b" "$fixtures/sample" >/dev/null 2>&1
    "$bin" resolve --db "$b" --dns-server 127.0.0.1:9 --dns-timeout 200 \
        2>&1 | sed 's/ in [0-9.]* s:/ in T s:/; s/ [0-9.]*\/s)/ R\/s)/' \
        >"$tmp/resolve.$(basename "$b")"
    "$bin" stats --db "$b" | sed 1d >"$tmp/stats.$(basename "$b")"
done
if cmp -s "$tmp/resolve.dns.db" "$tmp/resolve.$db" &&
    cmp -s "$tmp/stats.dns.db" "$tmp/stats.$db"; then
    echo "ok   resolve on both backends: $(head -1 "$tmp/resolve.$db")"
else
    echo "FAIL resolve differs between backends:"
    diff "$tmp/resolve.dns.db" "$tmp/resolve.$db" | sed 's/^/  /'
    diff "$tmp/stats.dns.db" "$tmp/stats.$db" | sed 's/^/  /'
    fail=$((fail + 1))
fi
if [ $fail -gt 0 ]; then
    echo "pg_equal: $fail differences"
    exit 1
fi
echo "pg_equal: all $n input sets identical"
