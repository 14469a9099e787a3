#!/bin/sh
# bench/imap.sh -- row i: the 2,000 report messages of row b (bench/run.sh)
# fetched from a local Dovecot over IMAPS and stored, with row b (the same
# messages as one mbox file) timed next to it in the same run.
#
# Starts /usr/sbin/dovecot on 127.0.0.1 (a free port) with a config, a
# passwd-file and a certificate made in a temporary directory, puts the
# messages into the user's Maildir, times `dmarcsift ingest imaps://...`
# into a fresh database with GNU time (wall, CPU, peak RSS), then stops
# the server. Not part of ctest; nothing here asserts.
#
# usage: sh bench/imap.sh [MESSAGES]      (default 2000, 50 records each)
# environment: BENCH_BIN=PATH times an existing dmarcsift; BENCH_JOBS
set -eu

N=${1:-2000}
RECS=50
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/bench/out
BUILD=$ROOT/build-bench-rel
BIN=${BENCH_BIN:-$BUILD/cli/dmarcsift}
GEN=$OUT/gen-imap
JOBS=${BENCH_JOBS:-2}
TIME=/usr/bin/time
say() { printf '%s\n' "$*" >&2; }

[ -x /usr/sbin/dovecot ] || {
    say "bench: imap: SKIPPED: /usr/sbin/dovecot not installed (dovecot-imapd)"
    exit 0
}
[ -x "$TIME" ] || { say "bench: /usr/bin/time not found: apt-get install time"; exit 1; }
mkdir -p "$OUT"
if [ -z "${BENCH_BIN:-}" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
    cmake --build "$BUILD" -j"$JOBS" >/dev/null
fi
# shellcheck disable=SC2046
cc -std=c11 -D_DEFAULT_SOURCE -O2 -o "$GEN" "$ROOT/bench/gen.c" \
    $(pkg-config --cflags --libs zlib libzip)

T=$(mktemp -d /tmp/sift-bench-imap.XXXXXX)
chmod 755 "$T"
cleanup() {
    [ -n "${BENCH_KEEP:-}" ] && { say "bench: kept $T"; return; }
    [ -f "$T/dovecot.conf" ] && /usr/sbin/dovecot -c "$T/dovecot.conf" stop 2>/dev/null || :
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

(cd "$T" && "$GEN" --reports "$N" --records $RECS --mbox rua.mbox >counts)
# the mbox's messages into the Maildir (From_ dropped, ">From " unquoted)
mkdir -p "$T/mail/bench/cur" "$T/mail/bench/new" "$T/mail/bench/tmp"
awk -v d="$T/mail/bench/new" '
    /^From / { if (f) close(f); n++; f = sprintf("%s/%07d.bench", d, n); next }
    { sub(/^>From /, "From "); print > f }' "$T/rua.mbox"
msgs=$(ls "$T/mail/bench/new" | wc -l)

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" \
    -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
echo 'bench:{PLAIN}bench-pw::::::' >"$T/passwd"
echo bench-pw >"$T/pw"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [ "$(id -u)" = 0 ]; then
    login=dovenull internal=dovecot muid=65534 mgid=65534
    chown -R 65534:65534 "$T/mail"
else
    login=$(id -un) internal=$(id -un) muid=$(id -u) mgid=$(id -g)
fi
mkdir -p "$T/run" "$T/state"
cat >"$T/dovecot.conf" <<EOF
base_dir = $T/run
state_dir = $T/state
log_path = $T/log
protocols = imap
listen = 127.0.0.1
default_internal_user = $internal
default_internal_group = $internal
default_login_user = $login
first_valid_uid = 1
mail_location = maildir:$T/mail/%u
ssl = required
ssl_cert = <$T/cert.pem
ssl_key = <$T/key.pem
auth_mechanisms = plain
passdb {
  driver = passwd-file
  args = $T/passwd
}
userdb {
  driver = static
  args = uid=$muid gid=$mgid home=$T/mail/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $PORT
    ssl = yes
  }
}
service anvil {
  chroot =
}
EOF
/usr/sbin/dovecot -c "$T/dovecot.conf"
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 100 ] || { say "bench: dovecot did not start"; cat "$T/log" >&2; exit 1; }
    sleep 0.05
done
# Dovecot indexes a new Maildir on first access: do that untimed (a real
# mailbox is indexed as mail arrives)
curl -s --cacert "$T/cert.pem" -u bench:bench-pw "imaps://127.0.0.1:$PORT/INBOX" \
    -X 'UID SEARCH ALL' >/dev/null

timed() { # timed LOG CMD...: prints "wall cpu rss_kib"
    log=$1
    shift
    $TIME -f '%e %U %S %M' -o "$T/time" "$@" >"$log" 2>&1 || :
    awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$T/time"
}
set -- $(timed "$T/i.out" "$BIN" --db "$T/i.db" ingest --password-file "$T/pw" \
    --cacert "$T/cert.pem" "imaps://bench@127.0.0.1:$PORT/INBOX")
IW=$1 IC=$2 IM=$3
set -- $(timed "$T/b.out" "$BIN" --db "$T/b.db" ingest "$T/rua.mbox")
BW=$1 BC=$2 BM=$3
recs=$((N * RECS))
printf '| row | input | messages | records | wall s | cpu s | messages/s | records/s | peak RSS |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
awk -v w="$IW" -v c="$IC" -v m="$IM" -v n="$msgs" -v r="$recs" 'BEGIN {
    printf "| i | %d report messages over IMAPS from local Dovecot, new DB | %d | %d | %.2f | %.2f | %.0f | %.0f | %.1f MB |\n",
        n, n, r, w, c, n / w, r / w, m / 1024 }'
awk -v w="$BW" -v c="$BC" -v m="$BM" -v n="$msgs" -v r="$recs" 'BEGIN {
    printf "| b | the same messages as one mbox, new DB | %d | %d | %.2f | %.2f | %.0f | %.0f | %.1f MB |\n",
        n, r, w, c, n / w, r / w, m / 1024 }'
say "bench: imap: $(cat "$T/i.out")"
say "bench: mbox: $(tail -1 "$T/b.out")"
