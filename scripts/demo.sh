#!/bin/sh
# The README's first command: install dependencies, build, ingest the sample
# rua mailbox export shipped in fixtures/sample into a fresh database, and
# print the failure summary.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
cmake -S . -B build-demo -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build-demo -j"$(nproc)" >/dev/null
db=build-demo/demo.db
rm -f "$db" "$db-wal" "$db-shm"
build-demo/cli/dmarcsift --db "$db" ingest fixtures/sample/rua-export.mbox
echo
build-demo/cli/dmarcsift --db "$db" report
