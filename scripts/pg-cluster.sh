#!/bin/sh
# pg-cluster.sh -- a throwaway PostgreSQL cluster for the tests (issue 14).
#
#   sh scripts/pg-cluster.sh start DIR   initdb in DIR, start a server on a
#                                       free 127.0.0.1 port; prints the
#                                       URI (also in DIR/uri) of database
#                                       "sift" as user "sift", whose
#                                       password is in DIR/password
#   sh scripts/pg-cluster.sh stop DIR    stop it (DIR is left for the caller)
#   sh scripts/pg-cluster.sh restart DIR stop it (fast: sessions are cut)
#                                       and start it again, same port
#
# The server runs as an unprivileged user: the caller itself when it is
# not root, else `postgres` (Debian's package user) or `nobody`. The
# Debian binaries are found in /usr/lib/postgresql/*/bin (or PG_BIN).
# Exit 77 when no PostgreSQL server is installed (tests then skip).
set -eu

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || {
    echo "usage: pg-cluster.sh start|stop DIR" >&2
    exit 64
}

bin=${PG_BIN:-}
if [ -z "$bin" ]; then
    for b in /usr/lib/postgresql/*/bin; do
        [ -x "$b/initdb" ] && bin=$b
    done
fi
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "pg-cluster.sh: no PostgreSQL server (initdb) installed" >&2
    exit 77
fi

if [ "$(id -u)" = 0 ]; then
    if id postgres >/dev/null 2>&1; then user=postgres; else user=nobody; fi
    as() { runuser -u "$user" -- "$@"; }
else
    user=$(id -un)
    as() { "$@"; }
fi

case $cmd in
stop)
    [ -f "$dir/data/postmaster.pid" ] || exit 0
    as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    exit 0
    ;;
restart)
    as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 \
        restart >/dev/null
    exit $?
    ;;
start) ;;
*)
    echo "pg-cluster.sh: unknown command $cmd" >&2
    exit 64
    ;;
esac

mkdir -p "$dir"
chown "$user" "$dir" 2>/dev/null || true
chmod 700 "$dir"
pw=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$pw" >"$dir/password"
chown "$user" "$dir/password" 2>/dev/null || true
as "$bin/initdb" -D "$dir/data" -U sift --pwfile="$dir/password" \
    --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
}

# a free port: try some until one starts (another process may take one
# between the check and the start)
tries=0
while :; do
    port=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
    if ! ss -ltn 2>/dev/null | grep -q ":$port "; then
        if as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -c port=$port \
                -c unix_socket_directories='$dir' -c fsync=off \
                -c max_connections=200 -c shared_buffers=256MB" \
            start >/dev/null 2>&1; then
            break
        fi
    fi
    tries=$((tries + 1))
    if [ $tries -ge 10 ]; then
        cat "$dir/server.log" >&2 || true
        echo "pg-cluster.sh: the server did not start" >&2
        exit 1
    fi
done
PGPASSWORD=$pw "$bin/psql" -h 127.0.0.1 -p "$port" -U sift -d postgres \
    -qc "CREATE DATABASE sift" >/dev/null
printf 'postgresql://sift@127.0.0.1:%s/sift\n' "$port" >"$dir/uri"
printf '%s\n' "$port" >"$dir/port"
# libpq's password file for the tests: PGPASSFILE=DIR/pgpass
printf '127.0.0.1:%s:*:sift:%s\n' "$port" "$pw" >"$dir/pgpass"
chmod 600 "$dir/pgpass" "$dir/password"
cat "$dir/uri"
