#!/bin/sh
# Check that the lines of C code changed since BASE (a commit) are
# formatted as .clang-format says (git clang-format: only the changed
# lines, so older files are reformatted as they are touched, not at once).
# CI passes the last landed commit.
#   sh scripts/check-format.sh BASE
set -eu
cd "$(dirname "$0")/.."
base=${1:?usage: check-format.sh BASE}
command -v git-clang-format >/dev/null 2>&1 || {
    echo "check-format: git-clang-format not installed (apt-get install clang-format)" >&2
    exit 1
}
out=$(git clang-format --diff --extensions c,h "$base" 2>&1) || true
case "$out" in
"" | *"no modified files to format"* | *"did not modify any files"*)
    echo "format: changed lines are clang-format clean"
    exit 0
    ;;
esac
printf '%s\n' "$out" | head -200 >&2
echo "check-format: the lines above differ from .clang-format (run git clang-format $base)" >&2
exit 1
