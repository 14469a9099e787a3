#!/bin/sh
# Check that every C file changed since BASE (a commit) is formatted as
# .clang-format says. CI passes the last landed commit, so the rule applies
# to what a change touches, not to the whole tree at once.
#   sh scripts/check-format.sh BASE
set -eu
cd "$(dirname "$0")/.."
base=${1:?usage: check-format.sh BASE}
command -v clang-format >/dev/null 2>&1 || {
    echo "check-format: clang-format not installed" >&2
    exit 1
}
bad=0
for f in $(git diff --name-only --diff-filter=AM "$base" -- '*.c' '*.h'); do
    [ -f "$f" ] || continue
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "check-format: $f is not formatted (run clang-format -i $f)" >&2
        bad=1
    fi
done
[ "$bad" -eq 0 ] && echo "format: changed files are clang-format clean"
exit "$bad"
