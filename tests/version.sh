#!/bin/sh
# version.sh BINARY SRC VERSION -- `dmarcsift --version` names this build
# and the libraries it runs with: the version, a commit of this repository
# (or "unknown ..." outside a checkout), the schema version of
# store/store_int.h, the versions pkg-config reports for the libraries
# (Debian ships headers and libraries of one version), and the date of the
# Public Suffix List file libpsl loads. It works with a broken
# configuration file.
set -u
bin=$1 src=$2 version=$3
fail=0
no() { echo "FAIL: $*"; fail=1; }
tmp=$(mktemp -d /tmp/sift-test-version-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
printf '[nonsense\n' > "$tmp/bad.conf"
DMARCSIFT_CONFIG=$tmp/bad.conf "$bin" --version > "$tmp/v" 2> "$tmp/e" ||
    no "--version exits $? with a broken configuration file"
[ -s "$tmp/e" ] && no "--version wrote to stderr: $(cat "$tmp/e")"
field() { sed -n "s/^$1: *//p" "$tmp/v"; }

[ "$(head -n 1 "$tmp/v")" = "dmarcsift $version" ] ||
    no "first line is '$(head -n 1 "$tmp/v")'"
commit=$(field commit)
case $commit in
"unknown (not built from a git checkout)") ;;
*)
    if printf '%s' "$commit" | grep -qE '^[0-9a-f]{12}$'; then
        if git -C "$src" rev-parse --git-dir > /dev/null 2>&1; then
            git -C "$src" cat-file -e "$commit^{commit}" 2> /dev/null ||
                no "commit $commit is not in this repository"
        fi
    else
        no "commit line is '$commit'"
    fi ;;
esac
schema=$(sed -n 's/^#define SIFT_STORE_SCHEMA \([0-9]*\).*/\1/p' \
    "$src/store/store_int.h")
[ "$(field 'database schema')" = "$schema" ] ||
    no "schema '$(field 'database schema')', store_int.h says $schema"
for m in "libxml2 libxml-2.0" "SQLite sqlite3" "libpq libpq" "zlib zlib" "libzip libzip" \
    "GMime gmime-3.0" "libpsl libpsl" "libarchive libarchive" \
    "libcurl libcurl"; do
    name=${m% *} pc=${m#* }
    want=$(pkg-config --modversion "$pc")
    got=$(field "$name" | cut -d' ' -f1)
    [ "$got" = "$want" ] || no "$name is '$got', pkg-config says $want"
done
psl=$(field 'public suffix list')
file=$(printf '%s' "$psl" | sed -n 's/^[0-9-]* (\(\/.*\))$/\1/p')
if [ -n "$file" ]; then
    want=$(date -u -d "@$(stat -c %Y "$file")" +%F)
    [ "${psl%% *}" = "$want" ] || no "list date '${psl%% *}', $file is $want"
else
    printf '%s' "$psl" | grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2} \(built into libpsl\)$' ||
        no "public suffix list line is '$psl'"
fi
[ "$fail" -eq 0 ] && sed 's/^/version: /' "$tmp/v"
exit "$fail"
