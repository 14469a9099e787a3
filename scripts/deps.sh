#!/bin/sh
# Install what dmarcsift needs to build and test, from Debian's packages.
# Installs only what is missing; uses sudo when not run as root.
#   sh scripts/deps.sh          build dependencies
#   sh scripts/deps.sh test     + test and sanitizer toolchain
set -eu
pkgs="build-essential cmake pkg-config libxml2-dev libsqlite3-dev zlib1g-dev
libzip-dev libpsl-dev libxxhash-dev publicsuffix libgmime-3.0-dev
libarchive-dev libcurl4-openssl-dev libc-ares-dev check
libsubunit-dev scdoc"
if [ "${1:-}" = test ]; then
    pkgs="$pkgs clang libclang-rt-14-dev llvm libxml2-utils zip gzip tar xz-utils
bzip2 mandoc man-db bash-completion git dovecot-imapd openssl chromium nsd"
fi
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
echo "installing:$missing"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
