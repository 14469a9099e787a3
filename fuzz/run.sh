#!/bin/sh
# fuzz/run.sh [SECONDS] -- build the libFuzzer harnesses and run each one.
#
# Builds build-fuzz/ with clang, ASan+UBSan and -DSIFT_FUZZ=ON, then runs
# fuzz_xml, fuzz_ingest, fuzz_mime and fuzz_dns for SECONDS each (default
# 60), seeded from a temporary copy of fixtures/ (fixtures/ is never
# written; fuzz_dns from generated TXT answers). Exits
# non-zero on any crash, leak, timeout or out-of-memory; the reproducers
# are kept in build-fuzz/artifacts/<harness>/. Replay one with
#   build-fuzz/fuzz/fuzz_xml build-fuzz/artifacts/fuzz_xml/crash-...
set -eu
secs=${1:-60}
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${SIFT_JOBS:-$(nproc)}

# The libFuzzer runtime is its own Debian package.
if command -v dpkg-query >/dev/null 2>&1 &&
    ! dpkg-query -W -f='${Status}' libfuzzer-14-dev 2>/dev/null |
        grep -q 'ok installed'; then
    echo "== installing libfuzzer-14-dev"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get install -y libfuzzer-14-dev >/dev/null ||
        { $sudo apt-get update >/dev/null &&
          $sudo apt-get install -y libfuzzer-14-dev >/dev/null; }
fi

echo "== build (clang, libFuzzer, ASan+UBSan) in build-fuzz"
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIFT_SANITIZE=address,undefined \
    -DSIFT_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build build-fuzz --target fuzz_xml fuzz_ingest fuzz_mime fuzz_dns \
    -j"$jobs" >/dev/null

tmp=$(mktemp -d /tmp/sift-fuzz-XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

# amp_seeds DIR: small generated cousins of the amplification inputs of
# issue 18 (docs/security.md): reports concatenated in one file and in two
# gzip members, a stream of tiny documents, an mbox.gz of empty messages,
# a message with thousands of header fields, messages nested through
# gzip'd base64 parts. Written here, not kept in fixtures/.
amp_seeds() {
    x="$root/fixtures/xml/ns-0.1.xml"
    cat "$x" "$x" >"$1/amp-two.xml"
    { gzip -c "$x"; gzip -c "$x"; } >"$1/amp-two.xml.gz"
    awk 'BEGIN { for (i = 0; i < 2000; i++) printf "<a/>" }' |
        gzip -c >"$1/amp-tiny.xml.gz"
    awk 'BEGIN { for (i = 0; i < 500; i++) printf "From a\n\n" }' |
        gzip -c >"$1/amp-empty.mbox.gz"
    {
        printf 'From: x@example.net\n'
        awk 'BEGIN { for (i = 0; i < 3000; i++) print "X: y" }'
        printf '\nbody\n'
    } >"$1/amp-headers.eml"
    inner="$x"
    for lvl in 1 2 3; do
        {
            printf 'From: x@example.net\nMIME-Version: 1.0\n'
            printf 'Content-Type: multipart/mixed; boundary=b\n\n'
            printf -- '--b\nContent-Type: application/octet-stream\n'
            printf 'Content-Transfer-Encoding: base64\n\n'
            gzip -c "$inner" | base64
            printf -- '--b--\n'
        } >"$1/amp-nest$lvl.eml"
        inner="$1/amp-nest$lvl.eml"
    done
}

# seed_corpus DIR: every fixture under 1 MiB, under a unique name, and
# the amplification seeds.
seed_corpus() {
    mkdir -p "$1"
    i=0
    find "$root/fixtures" -type f -size -1024k | sort | while IFS= read -r f; do
        i=$((i + 1))
        cp "$f" "$1/seed-$i"
    done
    amp_seeds "$1"
}

# dns_seeds DIR: TXT answers as fuzz_dns reads them (records separated
# by NUL): DKIM keys (RSA 1024 made here by openssl when it is installed,
# a bare RSAPublicKey, ed25519, revoked), SPF records with every kind of
# term, DMARC records, and answers holding several of them.
dns_seeds() {
    mkdir -p "$1"
    printf 'v=DKIM1; k=rsa; p=MAgCAwDBIwIBAw==' >"$1/dkim-bare"
    printf 'v=DKIM1; k=ed25519; p=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=' \
        >"$1/dkim-ed25519"
    printf 'v=DKIM1; k=rsa; p=' >"$1/dkim-revoked"
    if command -v openssl >/dev/null 2>&1; then
        k=$(openssl genrsa 1024 2>/dev/null |
            openssl rsa -pubout -outform DER 2>/dev/null | base64 -w0)
        printf 'v=DKIM1; k=rsa; t=s; p=%s' "$k" >"$1/dkim-rsa"
        printf 'v=DKIM1; p=%s\0v=DKIM1; k=rsa; p=' "$k" >"$1/dkim-two"
    fi
    printf 'v=spf1 include:_spf.example.net redirect=b.example a mx:c/24 ptr exists:%%{i}.x.example ip4:192.0.2.0/24 -all' \
        >"$1/spf-terms"
    printf 'v=spf1 +all\0v=spf1 a -all\0V=SPF1 MX ~all' >"$1/spf-three"
    printf 'v=DMARC1; p=reject; rua=mailto:d@example.net\0v=spf1 -all' \
        >"$1/dmarc-spf"
    printf 'v=DMARC1;p=none\0v=DMARC1 ; p=quarantine' >"$1/dmarc-two"
}

failed=0
for h in fuzz_xml fuzz_ingest fuzz_mime fuzz_dns; do
    case $h in
    fuzz_xml) dict=fuzz/xml.dict ;;
    fuzz_dns) dict=fuzz/dns.dict ;;
    *) dict=fuzz/mime.dict ;;
    esac
    corpus="$tmp/$h"
    art="$root/build-fuzz/artifacts/$h"
    if [ $h = fuzz_dns ]; then
        dns_seeds "$corpus"
    else
        seed_corpus "$corpus"
    fi
    mkdir -p "$art"
    echo "== $h: ${secs}s, $(ls "$corpus" | wc -l) seeds"
    if ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "build-fuzz/fuzz/$h" -max_total_time="$secs" -rss_limit_mb=2048 \
        -timeout=10 -dict="$dict" -artifact_prefix="$art/" \
        -print_final_stats=1 "$corpus" >"$tmp/$h.log" 2>&1; then
        grep -E '^stat::number_of_executed_units|^Done' "$tmp/$h.log" || true
    else
        failed=1
        echo "$h: FAILED; last lines of its log:"
        tail -n 60 "$tmp/$h.log"
        echo "$h: reproducers in $art:"
        ls -l "$art"
    fi
done
exit $failed
