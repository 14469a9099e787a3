#!/bin/sh
# release.sh SRC VERSION -- the release bookkeeping is in step: the first
# version line of NEWS and the top entry of debian/changelog carry
# project(VERSION), the changelog entry is well-formed, and debian/control
# build-depends on every package CMake requires.
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
# every package a CMakeLists.txt requires (sift_require) is a build
# dependency of the Debian package
grep -rhoE --include=CMakeLists.txt \
    'sift_require\([A-Z0-9_]+ [^ )]+ [^ )]+\)' "$src" |
    sed 's/.* \([^ )]*\))$/\1/' | sort -u | while read -r pkg; do
    sed -n '/^Build-Depends:/,/^[A-Z]/p' "$src/debian/control" |
        grep -qE "(^|[ ,:])$pkg( |,|\$)" ||
        echo "FAIL: $pkg (sift_require in CMake) is not in debian/control Build-Depends"
done > "${TMPDIR:-/tmp}/sift-release-$$"
if [ -s "${TMPDIR:-/tmp}/sift-release-$$" ]; then
    cat "${TMPDIR:-/tmp}/sift-release-$$"
    fail=1
fi
rm -f "${TMPDIR:-/tmp}/sift-release-$$"
[ "$fail" -eq 0 ] && echo "release: $version in CMakeLists.txt, NEWS and debian/changelog ($deb)"
exit "$fail"
