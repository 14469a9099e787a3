#!/bin/sh
# bench/run.sh -- the dmarcsift benchmark: one command, one table.
#
# Builds a Release dmarcsift (build-bench-rel) and bench/gen, generates
# deterministic corpora under bench/out/ (gitignored, reused while gen.c and
# the parameters are unchanged), times every row with GNU time (wall, peak
# RSS) and compares with `xmllint --stream --noout` run on the same
# decompressed XML in the same run. Not part of ctest; nothing here asserts.
#
# usage: sh bench/run.sh [default|quick|full|profile|selftest]
#   default   rows a-e, about 5 minutes on 2 cores
#   quick     the same rows on 10x smaller corpora (smoke test, ~1 minute)
#   full      rows a-f: f builds a 5,000,000-record database (slow, see
#             docs/performance.md) and times report and export over it
#   quickfull quick sizes plus row f over 500,000 records
#   profile   perf profile of rows a and d (flat, top symbols)
#   selftest  checks gen: determinism, well-formed XML, counts, containers
# environment: BENCH_JOBS (build parallelism, default 2); BENCH_BIN=PATH
# times an existing dmarcsift instead of building the working tree;
# BENCH_PG=URI a PostgreSQL database whose user may create databases
# (with PGPASSFILE/PGPASSWORD) for rows g (and f in full modes) -- when
# unset and PostgreSQL is installed, a throwaway cluster is started
# (scripts/pg-cluster.sh); BENCH_NO_PG=1 skips those rows; BENCH_PG_DIR=DIR
# (a local cluster's directory, as scripts/pg-cluster.sh makes) adds the
# server's CPU time to the PostgreSQL rows (the throwaway cluster's always)
set -eu

MODE=${1:-default}
case $MODE in
default | quick | full | quickfull | profile | selftest) ;;
*)
    echo "usage: sh bench/run.sh [default|quick|full|quickfull|profile|selftest]" >&2
    exit 64
    ;;
esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/bench/out
BUILD=$ROOT/build-bench-rel
BIN=$BUILD/cli/dmarcsift
GEN=$OUT/gen
LOG=$OUT/logs
JOBS=${BENCH_JOBS:-2}
mkdir -p "$OUT" "$LOG"

say() { printf '%s\n' "$*" >&2; }
die() {
    say "bench: $*"
    exit 1
}

# --- tools (Debian packages; installed when missing and we are root) -------
need_pkg() { # need_pkg COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    if dpkg-query -W -f='${Status}' "$2" 2>/dev/null |
        grep -q 'install ok installed'; then
        return 0
    fi
    if [ "$(id -u)" = 0 ]; then
        say "bench: installing $2"
        apt-get install -y -q "$2" >/dev/null || die "apt-get install $2 failed"
    else
        die "$1 not found: apt-get install $2"
    fi
}
need_pkg cc gcc
need_pkg cmake cmake
need_pkg pkg-config pkg-config
need_pkg xmllint libxml2-utils
[ -x /usr/bin/time ] || need_pkg /usr/bin/time time
[ -x /usr/bin/time ] || die "/usr/bin/time not found: apt-get install time"
TIME=/usr/bin/time

# --- gen -------------------------------------------------------------------
GENSUM=$(md5sum "$ROOT/bench/gen.c" | cut -c1-12)
build_gen() {
    if [ ! -x "$GEN" ] || [ "$(cat "$OUT/gen.sum" 2>/dev/null)" != "$GENSUM" ]; then
        say "bench: building gen"
        # shellcheck disable=SC2046
        cc -std=c11 -D_DEFAULT_SOURCE -O2 -Wall -Wextra -o "$GEN" \
            "$ROOT/bench/gen.c" $(pkg-config --cflags --libs zlib libzip) ||
            die "gen does not build"
        echo "$GENSUM" >"$OUT/gen.sum"
    fi
}
build_gen

# corpus NAME GEN-ARGS...: generate into $OUT/NAME unless the stamp matches.
# Leaves gen's summary ("reports records messages xml_bytes out_bytes") in
# $OUT/NAME.counts.
corpus() {
    name=$1
    shift
    stamp="$GENSUM $*"
    if [ "$(cat "$OUT/$name.stamp" 2>/dev/null)" = "$stamp" ]; then
        return 0
    fi
    rm -rf "${OUT:?}/$name" "$OUT/$name.stamp" "$OUT/$name.counts"
    mkdir -p "$OUT/$name"
    say "bench: generating $name ($*)"
    t0=$(date +%s.%N)
    (cd "$OUT/$name" && "$GEN" "$@") >"$OUT/$name.counts" ||
        die "gen failed for $name"
    t1=$(date +%s.%N)
    say "$(awk -v a="$t0" -v b="$t1" -v n="$name" \
        'BEGIN{printf "bench: %s generated in %.1f s", n, b-a}')"
    echo "$stamp" >"$OUT/$name.stamp"
}
count_of() { # count_of NAME FIELD(1=reports 2=records 3=messages 4=xml)
    awk -v f="$2" '{print $f}' "$OUT/$1.counts"
}

# --- selftest: the generator's own checks (not timed) ----------------------
if [ "$MODE" = selftest ]; then
    T=$OUT/selftest
    rm -rf "$T"
    mkdir -p "$T/1/in" "$T/1/xml" "$T/2/in" "$T/2/xml" "$T/s/in" "$T/s/xml"
    fails=0
    check() {
        if eval "$2"; then
            say "ok   $1"
        else
            say "FAIL $1"
            fails=$((fails + 1))
        fi
    }
    "$GEN" --reports 56 --records 7 --xml-dir "$T/1/xml" "$T/1/in" >"$T/1.c"
    "$GEN" --reports 56 --records 7 --xml-dir "$T/2/xml" "$T/2/in" >"$T/2.c"
    "$GEN" --reports 56 --records 7 --mbox "$T/m.mbox" >"$T/m.c"
    "$GEN" --single-report 20000 --xml-dir "$T/s/xml" "$T/s/in" >"$T/s.c"
    check "summary line: 56 reports, 392 records" \
        '[ "$(cut -d" " -f1,2 "$T/1.c")" = "56 392" ]'
    check "same seed, same bytes" \
        '(cd "$T/1/in" && md5sum ./*) >"$T/a.md5" &&
         (cd "$T/2/in" && md5sum ./*) >"$T/b.md5" && cmp -s "$T/a.md5" "$T/b.md5"'
    check "other seed, other bytes" \
        '"$GEN" --seed 7 --reports 1 --records 7 --format xml "$T/2/in" >/dev/null &&
         ! cmp -s "$T/1/in/google.com!example.com!1793491200!1793577599.xml" \
                  "$T/2/in/google.com!example.com!1793491200!1793577599.xml"'
    check "56 files, 19 xml + 19 gz + 18 zip" \
        '[ "$(ls "$T/1/in" | wc -l)" = 56 ] &&
         [ "$(ls "$T/1/in" | grep -c "\.xml$")" = 19 ] &&
         [ "$(ls "$T/1/in" | grep -c "\.xml\.gz$")" = 19 ] &&
         [ "$(ls "$T/1/in" | grep -c "\.zip$")" = 18 ]'
    check "xml copies are well-formed" \
        'xmllint --noout "$T"/1/xml/*.xml "$T"/s/xml/*.xml'
    check "392 <record> in the xml copies" \
        '[ "$(cat "$T"/1/xml/*.xml | grep -o "<record>" | wc -l)" = 392 ]'
    check "gz and zip members equal the xml copies" \
        'ok=1; for f in "$T"/1/in/*.gz; do b=$(basename "$f" .gz);
           gzip -dc "$f" | cmp -s - "$T/1/xml/$b" || ok=0; done;
         for f in "$T"/1/in/*.zip; do b=$(basename "$f" .zip).xml;
           unzip -p "$f" "$b" | cmp -s - "$T/1/xml/$b" || ok=0; done;
         [ $ok = 1 ]'
    check "mbox: 56 messages, 56 base64 attachments" \
        '[ "$(grep -c "^From " "$T/m.mbox")" = 56 ] &&
         [ "$(grep -c "^Content-Transfer-Encoding: base64" "$T/m.mbox")" = 56 ]'
    check "single report: 20000 records, gz equals copy" \
        '[ "$(cut -d" " -f1,2 "$T/s.c")" = "1 20000" ] &&
         gzip -dc "$T"/s/in/*.gz | cmp -s - "$T"/s/xml/*.xml &&
         [ "$(grep -o "<record>" "$T"/s/xml/*.xml | wc -l)" = 20000 ]'
    check "quirks present: dmarc-2.0 ns, float ts, CRLF, arc=pass, IPv6" \
        'cat "$T"/1/xml/*.xml >"$T/all" &&
         grep -q "urn:ietf:params:xml:ns:dmarc-2.0" "$T/all" &&
         grep -q "<begin>[0-9]*\.0</begin>" "$T/all" &&
         grep -q "$(printf "\r")" "$T/all" &&
         grep -q "arc=pass" "$T/all" && grep -q "<source_ip>2001:db8:" "$T/all"'
    check "usage error exits 64" \
        '"$GEN" --format bogus x 2>/dev/null; [ $? = 64 ]'
    rm -rf "$T"
    [ $fails = 0 ] && say "selftest: all passed" && exit 0
    die "selftest: $fails failed"
fi

# --- release build -----------------------------------------------------------
# BENCH_BIN=/path/to/dmarcsift times that binary instead of building one
# (e.g. a Release build of `git archive REV` while others edit the tree).
if [ -n "${BENCH_BIN:-}" ]; then
    BIN=$(cd "$(dirname "$BENCH_BIN")" && pwd)/$(basename "$BENCH_BIN")
    [ -x "$BIN" ] || die "BENCH_BIN=$BENCH_BIN is not executable"
    SRC_DESC="BENCH_BIN $BIN"
else
    say "bench: building Release dmarcsift in $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
        -DBUILD_TESTING=OFF >"$LOG/cmake.log" 2>&1 ||
        die "cmake configure failed: see $LOG/cmake.log"
    cmake --build "$BUILD" --target sift_cli -j"$JOBS" >"$LOG/build.log" 2>&1 ||
        die "build failed: see $LOG/build.log"
    [ -x "$BIN" ] || die "$BIN missing after build"
    # What was built, taken now: others may commit or edit while the rows
    # run. "+ N files modified" counts the product's tracked sources that
    # differ from HEAD; the binary's md5 identifies the build exactly.
    SRC_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
    SRC_DIRTY=$(git -C "$ROOT" status --porcelain --untracked-files=no -- \
        CMakeLists.txt util xml ingest store report cli 2>/dev/null | wc -l)
    if [ "$SRC_DIRTY" = 0 ]; then
        SRC_DESC="git $SRC_REV, clean"
    else
        SRC_DESC="git $SRC_REV + $SRC_DIRTY files modified"
    fi
    SRC_DESC="$SRC_DESC at build time"
fi
SRC_DESC="$SRC_DESC, binary md5 $(md5sum <"$BIN" | cut -c1-12)"
say "bench: timing $SRC_DESC"

# --- sizes -------------------------------------------------------------------
case $MODE in
quick*)
    A_REPORTS=200 SINGLE=100000 SCALE="20 200 2000" REPS=1 F_REPORTS=10000
    G3_REPORTS=40
    ;;
*)
    A_REPORTS=2000 SINGLE=1000000 SCALE="200 2000 20000" REPS=3 F_REPORTS=100000
    G3_REPORTS=200
    ;;
esac
RECS=50

# --- measuring ---------------------------------------------------------------
# measure NAME STDOUT CMD...: one run; sets W (wall s), C (user+sys CPU s),
# M (peak RSS KiB), RC. CPU time is what to compare when others load the
# machine: wall time then includes waiting for a core.
measure() {
    _n=$1 _o=$2
    shift 2
    RC=0
    $TIME -f '%e %M %U %S' -o "$LOG/$_n.time" "$@" >"$_o" 2>"$LOG/$_n.err" ||
        RC=$?
    W=$(tail -n 1 "$LOG/$_n.time" | cut -d' ' -f1)
    M=$(tail -n 1 "$LOG/$_n.time" | cut -d' ' -f2)
    C=$(tail -n 1 "$LOG/$_n.time" | awk '{printf "%.2f", $3 + $4}')
    if [ "$RC" != 0 ]; then
        say "bench: $_n exited $RC: $(head -c 300 "$LOG/$_n.err")"
    fi
}
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

# repeat NAME REPS SETUP STDOUT CMD...: median wall and CPU, max RSS;
# SETUP (a shell snippet) runs before each one, untimed.
repeat() {
    _rn=$1 _reps=$2 _setup=$3 _ro=$4
    shift 4
    : >"$LOG/$_rn.walls"
    : >"$LOG/$_rn.cpus"
    _mx=0 _rc=0 _i=0
    while [ $_i -lt "$_reps" ]; do
        eval "$_setup"
        measure "$_rn" "$_ro" "$@"
        [ "$RC" = 0 ] || _rc=$RC
        echo "$W" >>"$LOG/$_rn.walls"
        echo "$C" >>"$LOG/$_rn.cpus"
        [ "$M" -gt "$_mx" ] && _mx=$M
        _i=$((_i + 1))
    done
    W=$(median <"$LOG/$_rn.walls")
    C=$(median <"$LOG/$_rn.cpus")
    M=$_mx
    RC=$_rc
}

# xmllint over every .xml under DIR (xargs: 20,000 names exceed argv).
# Timed as one command, so it is run through sh -c.
XMLLINT_DIR='find "$1" -name "*.xml" -print0 | xargs -0 xmllint --stream --noout'


# Checks the ingest summary in LOG/NAME.out: imported, records, duplicates,
# failed must be as expected. Prints "ok" or what differs.
check_ingest() { # check_ingest NAME IMPORTED RECORDS DUPLICATES
    awk -v i="$2" -v r="$3" -v d="$4" -v rc="$RC" '
        /^ingested / {
            gsub(/,/, ""); gsub(/[()]/, " ")
            seen = 1; gi = $2; gr = $4
            for (k = 1; k <= NF; k++) {
                if ($k ~ /^duplicates?$/) gd = $(k - 1)
                if ($k == "failed") gf = $(k - 1)
            }
        }
        END {
            if (rc != 0) { printf "exit %s", rc; exit }
            if (!seen) { printf "no summary"; exit }
            bad = ""
            if (gi != i) bad = bad sprintf(" imported %s!=%s", gi, i)
            if (gr != r) bad = bad sprintf(" records %s!=%s", gr, r)
            if (gd != d) bad = bad sprintf(" dups %s!=%s", gd, d)
            if (gf != 0) bad = bad sprintf(" failed %s", gf)
            print (bad == "" ? "ok" : "BAD" bad)
        }' "$LOG/$1.out"
}

RES=$OUT/results.tsv
: >"$RES"
# row ID LABEL REPORTS RECORDS WALL RSS_KIB RATIO TARGET CHECK; the CPU
# time is taken from $C (set it to - where it does not apply).
row() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$9" "$C" >>"$RES"
    say "bench: row $1 $2: wall $5 s, cpu $C s, rss $(($6 / 1024)) MiB; $7; $8 [$9]"
}
calc() { awk "BEGIN{printf \"$1\", ($2)}"; }
th() { # th N: N with thousands separators (1234567 -> 1,234,567)
    awk -v n="$1" 'BEGIN { s = n; o = ""
        while (length(s) > 3) {
            o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3)
        }
        print s o }'
}
pf() { awk "BEGIN{print (($1) ? \"PASS\" : \"MISS\")}"; }

# --- corpora -----------------------------------------------------------------
A=a$A_REPORTS
corpus "$A" --reports "$A_REPORTS" --records $RECS --xml-dir xml in
corpus "$A-mbox" --reports "$A_REPORTS" --records $RECS --mbox rua.mbox
S=single$SINGLE
corpus "$S" --single-report "$SINGLE" --xml-dir xml in
for n in $SCALE; do
    [ "$n" = "$A_REPORTS" ] || corpus "scale$n" --reports "$n" --records $RECS in
done

DB=$OUT/db
mkdir -p "$DB"
fresh() { rm -f "$DB/$1" "$DB/$1-wal" "$DB/$1-shm" "$DB/$1-journal"; }

# --- profile mode ------------------------------------------------------------
if [ "$MODE" = profile ]; then
    command -v perf >/dev/null || need_pkg perf linux-perf
    for p in a:"$OUT/$A/in" d:"$OUT/$S/in"; do
        id=${p%%:*} in=${p#*:}
        fresh prof.db
        ev=cycles:u
        perf stat -e $ev true >/dev/null 2>&1 || ev=cpu-clock:u
        perf record -q -e $ev -F 999 -o "$LOG/perf-$id.data" -- \
            "$BIN" --db "$DB/prof.db" ingest --quiet "$in" \
            >/dev/null 2>"$LOG/perf-$id.err" || true
        say "== perf: row $id (ingest $in), top symbols"
        perf report -i "$LOG/perf-$id.data" --stdio --no-children \
            --sort dso,symbol 2>/dev/null | grep -v '^#' | grep -v '^$' |
            head -30
    done
    if command -v valgrind >/dev/null; then
        n=${SCALE%% *}
        fresh cg.db
        say "== callgrind: ingest of scale$n ($n reports), inclusive cost"
        valgrind --tool=callgrind --callgrind-out-file="$LOG/callgrind.out" \
            "$BIN" --db "$DB/cg.db" ingest --quiet "$OUT/scale$n/in" \
            >/dev/null 2>"$LOG/callgrind.err" || true
        callgrind_annotate --inclusive=yes --threshold=100 "$LOG/callgrind.out" 2>/dev/null |
            grep '%)' >"$LOG/callgrind.txt" || true
        head -45 "$LOG/callgrind.txt"
        recs=$(count_of "scale$n" 2)
        say "== callgrind: instructions per record by stage (inclusive;" \
            "stages nest: xml pulls bytes through ingest's readers; pull" \
            "includes the inlined byte scan; main is the calling thread only" \
            "when import runs a producer thread, total is every thread)"
        awk -v n="$recs" '
            /PROGRAM TOTALS/ { gsub(/,/, "", $1); c["total"] = $1; next }
            { gsub(/,/, "", $1); f = $0; sub(/.*:/, "", f); sub(/ .*/, "", f)
              if (!(f in c)) c[f] = $1 }
            END {
                split("total main sift_ingest_next sift_xml_open " \
                      "sift_xml_next pull " \
                      "xmlParseChunk inflate sift_eval_record " \
                      "psl_registrable_domain sift_store_begin " \
                      "sift_store_add sift_store_commit sift_store_flush " \
                      "sqlite3_step", k, " ")
                for (i = 1; i in k; i++)
                    if (k[i] in c)
                        printf "  %-24s %9.0f\n", k[i], c[k[i]] / n
            }' "$LOG/callgrind.txt"
    fi
    exit 0
fi

# --- PostgreSQL (rows g, f-pg) --------------------------------------------------
PG=
if [ -z "${BENCH_NO_PG:-}" ]; then
    if [ -n "${BENCH_PG:-}" ]; then
        PG=$BENCH_PG
    elif PGC=$(mktemp -d /tmp/sift-bench-pg-XXXXXX) && chmod 755 "$PGC" &&
        PG=$(sh "$ROOT/scripts/pg-cluster.sh" start "$PGC/c" 2>/dev/null); then
        export PGPASSFILE="$PGC/c/pgpass"
        trap 'sh "$ROOT/scripts/pg-cluster.sh" stop "$PGC/c"; rm -rf "$PGC"' EXIT
    else
        PG=
        say "bench: no PostgreSQL (rows g skipped)"
    fi
fi
PSQL=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | tail -1)
PGDIR=${BENCH_PG_DIR:-}
[ -z "$PGDIR" ] && [ -n "${PGC:-}" ] && PGDIR=$PGC/c
# pgcpu: CPU seconds the local server has used so far (its live processes
# plus the ended backends the postmaster reaped), or - when not known. A
# backend ends a moment after its client: sleep a little before reading.
pgcpu() {
    _pm=$(head -n 1 "$PGDIR/data/postmaster.pid" 2>/dev/null) || _pm=
    if [ -z "$PGDIR" ] || [ -z "$_pm" ] || [ ! -r "/proc/$_pm/stat" ]; then
        echo -
        return 0
    fi
    sleep 0.5
    {
        awk '{print $14 + $15 + $16 + $17}' "/proc/$_pm/stat"
        for _c in $(pgrep -P "$_pm"); do
            awk '{print $14 + $15}' "/proc/$_c/stat" 2>/dev/null || true
        done
    } | awk -v t="$(getconf CLK_TCK)" '{s += $1} END {printf "%.2f", s / t}'
}
# scpu BEFORE AFTER [N]: the server's CPU seconds between two pgcpu
# readings, per run of N; "server cpu - s" when unknown
scpu() {
    if [ "$1" = - ] || [ "$2" = - ]; then
        echo "server cpu - s"
    else
        calc 'server cpu %.2f s' "($2 - $1) / ${3:-1}"
    fi
}
# dmarcts_ready: dmarcts-report-parser and Perl's PostgreSQL driver are
# installed (installed here when missing and we are root); else says so
dmarcts_ready() {
    if ! command -v dmarcts-report-parser >/dev/null 2>&1 ||
        ! perl -MDBD::Pg -e 1 2>/dev/null; then
        if [ "$(id -u)" = 0 ]; then
            say "bench: installing dmarcts-report-parser libdbd-pg-perl"
            apt-get install -y -q dmarcts-report-parser libdbd-pg-perl \
                >/dev/null 2>&1 || true
        fi
    fi
    if command -v dmarcts-report-parser >/dev/null 2>&1 &&
        perl -MDBD::Pg -e 1 2>/dev/null; then
        return 0
    fi
    say "bench: row g3 skipped: apt-get install dmarcts-report-parser libdbd-pg-perl"
    return 1
}
# pgfresh NAME: a fresh database NAME on the server; its URI in PGURI
pgfresh() {
    "$PSQL" -q "$PG" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" \
        -c "CREATE DATABASE $1" >/dev/null 2>&1 || die "cannot create $1"
    PGURI="${PG%/*}/$1"
}

# --- rows --------------------------------------------------------------------
AR=$(count_of "$A" 1) ARC=$(count_of "$A" 2)
say "bench: baseline xmllint over $OUT/$A/xml"
repeat xmllint-a "$REPS" : /dev/null sh -c "$XMLLINT_DIR" sh "$OUT/$A/xml"
XA=$W XAM=$M XAC=$C

# (a) headline
repeat a "$REPS" 'fresh a.db' "$LOG/a.out" \
    "$BIN" --db "$DB/a.db" ingest "$OUT/$A/in"
WA=$W CA=$C
ratio=$(calc '%.2f' "$W / $XA")
cratio=$(calc '%.2f' "$C / $XAC")
row a "ingest $AR x $RECS mixed xml/gz/zip" "$AR" "$ARC" "$W" "$M" \
    "${ratio}x xmllint wall, ${cratio}x cpu (xmllint: $XA s, cpu $XAC s, $((XAM / 1024)) MB)" \
    "<=1.5x xmllint: wall $(pf "$W <= 1.5 * $XA"), cpu $(pf "$C <= 1.5 * $XAC"); RSS<64MB $(pf "$M < 65536")" \
    "$(check_ingest a "$AR" "$ARC" 0)"

# (g) the same into PostgreSQL, next to row a; and the one-INSERT-per-record
# way (dmarcts-report-parser's) into the same server, for scale
if [ -n "$PG" ]; then
    S0=$(pgcpu)
    repeat g "$REPS" 'pgfresh sift_bench_g' "$LOG/g.out" \
        "$BIN" --db "${PG%/*}/sift_bench_g" ingest "$OUT/$A/in"
    WG=$W
    row g "ingest of a into PostgreSQL" "$AR" "$ARC" "$W" "$M" \
        "$(calc '%.2f' "$W / $WA")x row a (SQLite, $WA s); $(scpu "$S0" "$(pgcpu)" "$REPS") per run (with the fresh databases)" \
        "<=3x SQLite: wall $(pf "$W <= 3 * $WA")" \
        "$(check_ingest g "$AR" "$ARC" 0)"
    # 20,000 autocommit INSERTs of one record each over one connection
    pgfresh sift_bench_ins
    "$PSQL" -q "$PGURI" -c "CREATE TABLE rec (id serial PRIMARY KEY,
        report integer, source_ip text, count bigint, disposition text,
        dkim text, spf text, header_from text)" >/dev/null
    awk 'BEGIN { for (i = 0; i < 20000; i++)
        printf "INSERT INTO rec (report, source_ip, count, disposition, " \
            "dkim, spf, header_from) VALUES (%d, '"'"'192.0.2.%d'"'"', %d, " \
            "'"'"'none'"'"', '"'"'pass'"'"', '"'"'fail'"'"', " \
            "'"'"'example.com'"'"');\n", i / 50, i % 250, i }' \
        >"$LOG/g2.sql"
    S0=$(pgcpu)
    measure g2 /dev/null "$PSQL" -q "$PGURI" -f "$LOG/g2.sql"
    S1=$(pgcpu)
    INS=$(calc '%.0f' "20000 / $W")
    row g2 "one INSERT per record (dmarcts-style), psql" - 20000 "$W" "$M" \
        "$(th "$INS") records/s; $(scpu "$S0" "$S1")" \
        "dmarcsift >=50x: $(calc '%.0f' "$ARC / $WG / $INS")x $(pf "$ARC / $WG >= 50 * $INS")" -
    # dmarcts-report-parser itself (Debian's package), the issue's
    # baseline, into the same server in the same run: its -x reading of
    # the first $G3_REPORTS reports' XML (no decompression, which favours
    # it). It reads its settings from ./dmarcts-report-parser.conf only
    # (its -c takes no argument); the password comes from PGPASSFILE or
    # PGPASSWORD through libpq, so none is written.
    if dmarcts_ready; then
        pgfresh sift_bench_dts
        G3=$LOG/g3
        rm -rf "$G3" && mkdir -p "$G3/xml"
        find "$OUT/$A/xml" -name '*.xml' | sort | head -n "$G3_REPORTS" |
            while read -r f; do cp "$f" "$G3/xml/"; done
        G3_RECS=$(cat "$G3"/xml/*.xml | grep -c '<record>')
        set -- $("$PSQL" -Atq -F ' ' "$PGURI" -c "SELECT coalesce(
            host(inet_server_addr()), split_part(current_setting(
            'unix_socket_directories'), ',', 1)), inet_server_port(),
            current_user")
        cat >"$G3/dmarcts-report-parser.conf" <<EOF
\$dbtype = 'Pg'; \$dbname = 'sift_bench_dts'; \$dbuser = '$3';
\$dbpass = ''; \$dbhost = '$1'; \$dbport = '$2';
\$imapreadfolder = 'unused'; \$delete_reports = 0; \$maxsize_xml = 50000;
1;
EOF
        # its first run adds its tables; the timed one stores the reports
        (cd "$G3" && dmarcts-report-parser -x "$G3/xml/$(ls "$G3/xml" |
            head -n 1)" >/dev/null 2>&1)
        "$PSQL" -q "$PGURI" -c "TRUNCATE report, rptrecord" >/dev/null
        S0=$(pgcpu)
        _pwd=$(pwd)
        cd "$G3"
        measure g3 /dev/null dmarcts-report-parser -x "$G3/xml/*"
        cd "$_pwd"
        S1=$(pgcpu)
        GOT=$("$PSQL" -Atq "$PGURI" -c "SELECT count(*) FROM rptrecord")
        DTS=$(calc '%.0f' "$GOT / $W")
        [ "$GOT" = "$G3_RECS" ] && CK=ok || CK="BAD records $GOT!=$G3_RECS"
        row g3 "dmarcts-report-parser into the same server" "$G3_REPORTS" \
            "$GOT" "$W" "$M" "$(th "$DTS") records/s; $(scpu "$S0" "$S1")" \
            "dmarcsift (row g) >=50x: $(calc '%.1f' "$ARC / $WG / $DTS")x $(pf "$ARC / $WG >= 50 * $DTS")" \
            "$CK"
    fi
fi

# (b) the same reports in one mbox
repeat b "$REPS" 'fresh b.db' "$LOG/b.out" \
    "$BIN" --db "$DB/b.db" ingest "$OUT/$A-mbox/rua.mbox"
row b "ingest the same as one mbox" "$AR" "$ARC" "$W" "$M" \
    "$(calc '%.2f' "$W / $XA")x xmllint" \
    ">=75k rec/s: wall $(pf "$ARC / $W >= 75000"), cpu $(pf "$ARC / $C >= 75000")" \
    "$(check_ingest b "$AR" "$ARC" 0)"

# (c) all duplicates
repeat c "$REPS" : "$LOG/c.out" "$BIN" --db "$DB/a.db" ingest "$OUT/$A/in"
row c "re-ingest of a (all duplicates)" "$AR" "$ARC" "$W" "$M" \
    "$(calc '%.0f' "100 * $W / $WA")% of a wall, $(calc '%.0f' "100 * $C / $CA")% cpu" \
    "<20% of a: wall $(pf "$W < 0.2 * $WA"), cpu $(pf "$C < 0.2 * $CA")" \
    "$(check_ingest c 0 0 "$AR")"

# (d) one big report
SRC=$(count_of "$S" 2)
say "bench: baseline xmllint over $OUT/$S/xml"
measure xmllint-d /dev/null sh -c "$XMLLINT_DIR" sh "$OUT/$S/xml"
XD=$W XDC=$C
fresh d.db
measure d "$LOG/d.out" "$BIN" --db "$DB/d.db" ingest "$OUT/$S/in"
row d "ingest 1 report of $SRC records (.gz)" 1 "$SRC" "$W" "$M" \
    "$(calc '%.2f' "$W / $XD")x xmllint (wall $XD s, cpu $XDC s)" \
    "RSS<64MB $(pf "$M < 65536")" "$(check_ingest d 1 "$SRC" 0)"
measure d-inspect /dev/null "$BIN" inspect "$OUT/$S/in"
row d2 "inspect the same > /dev/null" 1 "$SRC" "$W" "$M" \
    "$(calc '%.2f' "$W / $XD")x xmllint" \
    "RSS<64MB $(pf "$M < 65536")" "$([ "$RC" = 0 ] && echo ok || echo "exit $RC")"

# (e) scaling
best=0 last=0 cbest=0 clast=0
for n in $SCALE; do
    c=scale$n
    [ "$n" = "$A_REPORTS" ] && c=$A
    r=$(count_of "$c" 2)
    # the smaller corpora take 0.1-2 s, where GNU time's 0.01 s resolution
    # and a busy neighbour matter: median of REPS; the largest runs once
    reps=$REPS
    [ "$n" = "${SCALE##* }" ] && reps=1
    repeat "e$n" "$reps" 'fresh e.db' "$LOG/e$n.out" \
        "$BIN" --db "$DB/e.db" ingest "$OUT/$c/in"
    rate=$(calc '%.0f' "$W > 0 ? $r / $W : 0")
    # a run under 0.1 cpu s is below what GNU time resolves (0.01 s): it is
    # listed but not taken as the reference (quick mode's 1,000 records)
    ref=0
    [ "$n" != "${SCALE##* }" ] && [ "$(calc '%d' "$C >= 0.1")" = 1 ] && ref=1
    [ "$rate" -gt "$best" ] && [ $ref = 1 ] && best=$rate
    last=$rate
    crate=$(calc '%.0f' "$C > 0 ? $r / $C : 0")
    [ "$crate" -gt "$cbest" ] && [ $ref = 1 ] && cbest=$crate
    clast=$crate
    row "e" "scaling: $n x $RECS mixed" "$n" "$r" "$W" "$M" \
        "$(th "$crate") records per cpu s" "-" \
        "$(check_ingest "e$n" "$n" "$r" 0)"
done
C=-
drop=$(calc '%.0f' "$best > 0 ? 100 * (1 - $last / $best) : 0")
cdrop=$(calc '%.0f' "$cbest > 0 ? 100 * (1 - $clast / $cbest) : 0")
row e "scaling drop (records/s), largest vs best smaller" - - - 0 \
    "wall ${drop}%, cpu ${cdrop}%" \
    "<=20%: wall $(pf "$drop <= 20"), cpu $(pf "$cdrop <= 20")" -

# (f) report/export over 5M records (full only)
if [ "$MODE" = full ] || [ "$MODE" = quickfull ]; then
    F=f$F_REPORTS
    corpus "$F" --reports "$F_REPORTS" --records $RECS --format gz in
    FR=$(count_of "$F" 2)
    # The database is reused while the corpus and the binary are unchanged.
    fstamp="$(cat "$OUT/$F.stamp") $(md5sum <"$BIN" | cut -c1-12)"
    if [ "$(cat "$DB/f.stamp" 2>/dev/null)" != "$fstamp" ]; then
        fresh f.db
        say "bench: building the $FR-record database (slow)"
        measure f-build "$LOG/f-build.out" \
            "$BIN" --db "$DB/f.db" ingest "$OUT/$F/in"
        echo "$W $M $C $(check_ingest f-build "$F_REPORTS" "$FR" 0)" >"$DB/f.build"
        echo "$fstamp" >"$DB/f.stamp"
    fi
    read -r W M C chk <"$DB/f.build"
    row f "build: ingest $F_REPORTS x $RECS (.gz)" "$F_REPORTS" "$FR" "$W" "$M" \
        "$(du -h "$DB/f.db" | cut -f1) db" - "$chk"
    measure f-report /dev/null "$BIN" --db "$DB/f.db" report
    row f "report over $FR records" "$F_REPORTS" "$FR" "$W" "$M" - \
        "<2s: wall $(pf "$W < 2"), cpu $(pf "$C < 2")" \
        "$([ "$RC" = 0 ] && echo ok || echo "exit $RC")"
    # issue 13: the same model with its per-day series, in JSON and HTML;
    # --by day adds a list of days per source (opt-in: no target)
    for fmt in json html; do
        measure "f-report-$fmt" /dev/null "$BIN" --db "$DB/f.db" report \
            --format $fmt
        row f "report --format $fmt over $FR records" "$F_REPORTS" "$FR" \
            "$W" "$M" - "<2s: wall $(pf "$W < 2"), cpu $(pf "$C < 2")" \
            "$([ "$RC" = 0 ] && echo ok || echo "exit $RC")"
    done
    measure f-report-by-day /dev/null "$BIN" --db "$DB/f.db" report \
        --format json --by day
    row f "report --format json --by day over $FR" "$F_REPORTS" "$FR" "$W" \
        "$M" - - "$([ "$RC" = 0 ] && echo ok || echo "exit $RC")"
    measure f-export /dev/null "$BIN" --db "$DB/f.db" export --format csv
    row f "export --format csv over $FR" "$F_REPORTS" "$FR" "$W" "$M" - - \
        "$([ "$RC" = 0 ] && echo ok || echo "exit $RC")"
    if [ -n "$PG" ]; then
        pgfresh sift_bench_f
        say "bench: building the $FR-record PostgreSQL database (slow)"
        measure f-pg-build "$LOG/f-pg-build.out" \
            "$BIN" --db "$PGURI" ingest "$OUT/$F/in"
        row f "build: ingest the same into PostgreSQL" "$F_REPORTS" "$FR" \
            "$W" "$M" - - "$(check_ingest f-pg-build "$F_REPORTS" "$FR" 0)"
        S0=$(pgcpu)
        measure f-pg-report /dev/null "$BIN" --db "$PGURI" report
        S1=$(pgcpu)
        row f "report over $FR records in PostgreSQL" "$F_REPORTS" "$FR" \
            "$W" "$M" "$(scpu "$S0" "$S1")" "<5s: wall $(pf "$W < 5")" \
            "$([ "$RC" = 0 ] && echo ok || echo "exit $RC")"
    fi
fi

# --- the table -----------------------------------------------------------------
{
    echo
    echo "dmarcsift bench ($MODE), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
        "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"\
        "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "$("$BIN" --version 2>/dev/null | head -1) Release" \
        "($SRC_DESC), $(xmllint --version 2>&1 | head -1)"
    echo
    printf '| row | corpus | reports | records | wall s | cpu s | records/s | peak RSS | comparison | target | check |\n'
    printf '|---|---|---:|---:|---:|---:|---:|---:|---|---|---|\n'
    awk -F'\t' '
    function th(n,    s, o) {
        s = sprintf("%d", n); o = ""
        while (length(s) > 3) {
            o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3)
        }
        return s o
    }
    {
        rate = ($5 != "-" && $5 > 0 && $4 != "-") ? th($4 / $5) : "-"
        rss = ($6 > 0) ? sprintf("%.1f MB", $6 / 1024) : "-"
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
            $1, $2, $3, $4, $5, $10, rate, rss, $7, $8, $9
    }' "$RES" | sed 's/|  *|/| - |/g'
} | tee "$OUT/results.md"
