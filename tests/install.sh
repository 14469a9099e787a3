#!/bin/sh
# install.sh BUILD SRC VERSION BINDIR MANDIR DATADIR DOCDIR SYSCONFDIR --
# `cmake --install` with DESTDIR into a temporary directory: exactly the
# files of tests/install.manifest, and each one works: the binary runs,
# the man page renders and lints clean, the completion completes, the
# example configuration parses once uncommented, the units and the cron
# line call the installed binary by its full path, the docs are copies.
set -u
build=$1 src=$2 version=$3 bindir=$4 mandir=$5 datadir=$6 docdir=$7
sysconfdir=$8
fail=0
no() { echo "FAIL: $*"; fail=1; }
tmp=$(mktemp -d /tmp/sift-test-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
d=$tmp/root

DESTDIR=$d cmake --install "$build" > "$tmp/log" 2>&1 ||
    { cat "$tmp/log"; echo "FAIL: cmake --install"; exit 1; }

# 1. the file list
sed -e '/^#/d' -e "s#@BINDIR@#$bindir#" -e "s#@MANDIR@#$mandir#" \
    -e "s#@DATADIR@#$datadir#" -e "s#@DOCDIR@#$docdir#" \
    "$src/tests/install.manifest" | while IFS= read -r f; do
    case $f in
    *'/*.md')
        for m in "$src"/docs/*.md; do
            echo "${f%/\*.md}/$(basename "$m")"
        done ;;
    *) echo "$f" ;;
    esac
done | sort > "$tmp/want"
(cd "$d" && find . ! -type d | sed 's#^\.##' | sort) > "$tmp/got"
if ! cmp -s "$tmp/want" "$tmp/got"; then
    no "installed files differ from tests/install.manifest:"
    diff -u "$tmp/want" "$tmp/got"
fi

# 2. the binary
bin=$d$bindir/dmarcsift
[ -x "$bin" ] || no "$bindir/dmarcsift is not executable"
first=$("$bin" --version | head -n 1)
[ "$first" = "dmarcsift $version" ] ||
    no "--version says '$first', not 'dmarcsift $version'"

# 3. the man page
man=$d$mandir/man1/dmarcsift.1
if [ -f "$man" ]; then
    if command -v mandoc > /dev/null; then
        mandoc -T lint "$man" > "$tmp/lint" 2>&1 ||
            { no "mandoc -T lint:"; cat "$tmp/lint"; }
    else
        echo "SKIPPED: mandoc -T lint (mandoc not installed)"
    fi
    if command -v man > /dev/null; then
        MANWIDTH=80 man -l "$man" > "$tmp/man.txt" 2> "$tmp/man.err" ||
            no "man -l failed: $(cat "$tmp/man.err")"
        grep -q '^DMARCSIFT(1)' "$tmp/man.txt" ||
            no "man -l output has no DMARCSIFT(1) header"
        grep -q "$sysconfdir/dmarcsift/dmarcsift.conf" "$tmp/man.txt" ||
            no "man page does not name $sysconfdir/dmarcsift/dmarcsift.conf"
        grep -q "$docdir/examples/" "$tmp/man.txt" ||
            no "man page does not name $docdir/examples/"
    fi
fi

# 4. bash completion, driven as bash does
comp=$d$datadir/bash-completion/completions/dmarcsift
bash -n "$comp" || no "completion is not valid bash"
if [ -f /usr/share/bash-completion/bash_completion ]; then
    got=$(bash -c '
        . /usr/share/bash-completion/bash_completion
        . "$1"
        complete_words() {
            COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
            COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
            COMPREPLY=(); _dmarcsift "$1" "${COMP_WORDS[-1]}" \
                "${COMP_WORDS[-2]}"
            printf "%s " "${COMPREPLY[@]}"; echo
        }
        complete_words "$2" ""
        complete_words "$2" --d
        complete_words "$2" report --fo
        complete_words "$2" report --format ""
        complete_words "$2" --db x ingest --max-r
    ' sh "$comp" "$bin" 2>&1)
    want='ingest inspect report export stats prune retry-failed failed reevaluate resolve help 
--db 
--format 
text json csv html 
--max-report-size '
    [ "$got" = "$want" ] || { no "completion:"; echo "$got"; }
else
    echo "SKIPPED: completion run (bash-completion not installed)"
fi

# 5. examples
ex=$d$docdir/examples
grep -q "^ExecStart=-$bindir/dmarcsift ingest --quiet\$" "$ex/dmarcsift.service" ||
    no "dmarcsift.service does not run $bindir/dmarcsift ingest"
grep -q '^User=dmarcsift$' "$ex/dmarcsift.service" ||
    no "dmarcsift.service does not run as dmarcsift"
grep -q '^OnCalendar=' "$ex/dmarcsift.timer" || no "timer has no OnCalendar"
grep -q "^15 6 \* \* \*  dmarcsift  $bindir/dmarcsift --db /var/lib/dmarcsift/" \
    "$ex/dmarcsift.cron" || no "cron line lacks user, full path or database"
if command -v systemd-analyze > /dev/null; then
    cp "$ex/dmarcsift.service" "$ex/dmarcsift.timer" "$tmp/"
    systemd-analyze verify --man=no "$tmp/dmarcsift.timer" \
        > "$tmp/verify" 2>&1 || true
    if grep -E 'Unknown (key|section)|Failed to parse|bad-setting' \
        "$tmp/verify"; then
        no "systemd-analyze verify complains about the units"
    fi
fi
# every example line uncommented parses, and only the database is missing
sed 's/^#\([^ ]\)/\1/' "$ex/dmarcsift.conf" > "$tmp/all.conf"
out=$(cd "$tmp" && "$bin" --config "$tmp/all.conf" stats 2>&1)
[ "$out" = "dmarcsift: no database at /var/lib/dmarcsift/dmarcsift.db (run 'dmarcsift ingest' first, or pass --db)" ] ||
    [ -f /var/lib/dmarcsift/dmarcsift.db ] ||
    no "uncommented example configuration: $out"
out=$("$bin" --config "$ex/dmarcsift.conf" inspect \
    "$src/fixtures/archive/example.org!example.com!1700000000!1700086399.xml" \
    2>&1 > /dev/null) ||
    no "example configuration as shipped: $out"

# 6. docs are the sources' copies
for f in README.md NEWS; do
    cmp -s "$src/$f" "$d$docdir/$f" || no "$docdir/$f differs from $f"
done
for m in "$src"/docs/*.md; do
    cmp -s "$m" "$d$docdir/$(basename "$m")" || no "$m not installed as is"
done

[ "$fail" -eq 0 ] && echo "install: $(wc -l < "$tmp/got") files under DESTDIR, all checked"
exit "$fail"
