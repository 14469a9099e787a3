#!/bin/sh
# CI: build the Debian package from a copy of the tree (dpkg-buildpackage
# writes to the parent directory), install it, run the installed
# `dmarcsift --version` and `man -w dmarcsift`, check the system user and
# /var/lib/dmarcsift, remove and purge it again, and run lintian (no
# errors allowed). The tests already ran (scripts/test.sh): the package is
# built with DEB_BUILD_OPTIONS=nocheck. Needs root (or sudo) to install.
# Set SIFT_DEB_KEEP=DIR to keep the .deb in DIR.
set -eu
cd "$(dirname "$0")/.."
src=$(pwd)
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
missing=""
for p in dpkg-dev debhelper lintian fakeroot scdoc man-db; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
        --no-install-recommends $missing > /dev/null
fi
if dpkg-query -W -f='${Status}' dmarcsift 2>/dev/null | grep -q 'installed'; then
    echo "ci-deb: a dmarcsift package is already installed; not touching it" >&2
    exit 1
fi

tmp=$(mktemp -d /tmp/sift-deb-XXXXXX)
cleanup() {
    if dpkg-query -W -f='${Status}' dmarcsift 2>/dev/null | grep -q installed; then
        $sudo dpkg --purge dmarcsift > /dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

echo "== deb: copy of the tree in $tmp"
mkdir "$tmp/dmarcsift"
# the files git knows (committed or not), without build directories
if git rev-parse --git-dir > /dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard |
        tar --null -T - -cf - | tar -C "$tmp/dmarcsift" -xf -
    git rev-parse --short=12 HEAD > "$tmp/dmarcsift/.commit"
else
    tar --exclude='./build*' -cf - . | tar -C "$tmp/dmarcsift" -xf -
fi

echo "== deb: dpkg-buildpackage -us -uc -b (nocheck)"
(cd "$tmp/dmarcsift" &&
    DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b \
        -Pnocheck > "$tmp/build.log" 2>&1) ||
    { tail -50 "$tmp/build.log"; echo "FAIL: dpkg-buildpackage"; exit 1; }
deb=$(ls "$tmp"/dmarcsift_*.deb)
echo "built $(basename "$deb")"
dpkg-deb -c "$deb" | awk '{print $1, $2, $6}'

echo "== deb: lintian"
lintian --fail-on error --tag-display-limit 0 "$deb" "$tmp"/*.changes ||
    { echo "FAIL: lintian reports errors"; exit 1; }

echo "== deb: install, run, remove"
$sudo dpkg -i "$deb"
fail=0
out=$(env -i PATH=/usr/bin:/bin dmarcsift --version) || fail=1
printf '%s\n' "$out"
[ "$(command -v dmarcsift)" = /usr/bin/dmarcsift ] ||
    { echo "FAIL: dmarcsift is not /usr/bin/dmarcsift"; fail=1; }
printf '%s\n' "$out" | head -n 1 | grep -q '^dmarcsift [0-9]' || fail=1
page=$(man -w dmarcsift) || { echo "FAIL: man -w dmarcsift"; fail=1; }
echo "man page: $page"
case $page in /usr/share/man/man1/dmarcsift.1*) ;; *) fail=1 ;; esac
getent passwd dmarcsift > /dev/null ||
    { echo "FAIL: no dmarcsift user"; fail=1; }
[ "$(stat -c %U:%G /var/lib/dmarcsift)" = dmarcsift:dmarcsift ] ||
    { echo "FAIL: /var/lib/dmarcsift is not owned by dmarcsift"; fail=1; }
for f in /usr/share/bash-completion/completions/dmarcsift \
    /usr/share/doc/dmarcsift/examples/dmarcsift.service \
    /usr/share/doc/dmarcsift/examples/dmarcsift.timer \
    /usr/share/doc/dmarcsift/examples/dmarcsift.cron \
    /etc/dmarcsift/dmarcsift.conf; do
    [ -f "$f" ] || { echo "FAIL: $f not installed"; fail=1; }
done
# the nightly job as the package's user, into its directory
if command -v runuser > /dev/null; then
    runuser -u dmarcsift -- /usr/bin/dmarcsift \
        --db /var/lib/dmarcsift/dmarcsift.db ingest --quiet \
        "$src/fixtures/sample/rua-export.mbox" ||
        { echo "FAIL: ingest as dmarcsift into /var/lib/dmarcsift"; fail=1; }
fi
$sudo dpkg --purge dmarcsift
[ ! -e /usr/bin/dmarcsift ] || { echo "FAIL: /usr/bin/dmarcsift left"; fail=1; }
[ ! -e /var/lib/dmarcsift ] || { echo "FAIL: /var/lib/dmarcsift left"; fail=1; }
if [ -n "${SIFT_DEB_KEEP:-}" ]; then cp "$deb" "$SIFT_DEB_KEEP"/; fi
[ "$fail" -eq 0 ] && echo "ci-deb: $(basename "$deb") built, installed, ran, removed; lintian: no errors"
exit "$fail"
