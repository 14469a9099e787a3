#!/bin/sh
# The README's second command: install dependencies, then build and run the
# whole test suite twice: a normal build with -Werror, and an ASan+UBSan
# build with clang. Set SIFT_FUZZ_SECONDS=N to also run each libFuzzer
# harness for N seconds (CI does).
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh test
jobs=$(nproc)

echo "== build (gcc, -Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIFT_WERROR=ON >/dev/null
cmake --build build -j"$jobs" >/dev/null
echo "== tests"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== build (clang, ASan+UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
    -DSIFT_SANITIZE=address,undefined -DSIFT_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
echo "== tests under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs"

if [ -n "${SIFT_FUZZ_SECONDS:-}" ] && [ -f fuzz/CMakeLists.txt ]; then
    echo "== fuzz (${SIFT_FUZZ_SECONDS}s per harness)"
    sh fuzz/run.sh "$SIFT_FUZZ_SECONDS"
fi
