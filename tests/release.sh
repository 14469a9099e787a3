#!/bin/sh
# release.sh SRC VERSION -- the release bookkeeping is in step: the first
# version line of NEWS and the top entry of debian/changelog carry
# project(VERSION), and the changelog entry is well-formed.
set -u
src=$1 version=$2
fail=0
no() { echo "FAIL: $*"; fail=1; }

news=$(sed -n 's/^dmarcsift \([0-9][0-9.]*\) (.*$/\1/p' "$src/NEWS" | head -n 1)
[ "$news" = "$version" ] ||
    no "NEWS names '$news' first, project(VERSION) is $version"
top=$(head -n 1 "$src/debian/changelog")
deb=$(printf '%s\n' "$top" | sed -n 's/^dmarcsift (\([^)]*\)) .*$/\1/p')
upstream=${deb%-*}
[ "$upstream" = "$version" ] ||
    no "debian/changelog's top entry is '$deb', project(VERSION) is $version"
if command -v dpkg-parsechangelog > /dev/null; then
    v=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version 2>&1) ||
        no "dpkg-parsechangelog: $v"
    [ "$v" = "$deb" ] || no "dpkg-parsechangelog reads '$v', not '$deb'"
fi
[ "$fail" -eq 0 ] && echo "release: $version in CMakeLists.txt, NEWS and debian/changelog ($deb)"
exit "$fail"
