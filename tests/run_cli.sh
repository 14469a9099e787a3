#!/bin/sh
# run_cli.sh BINARY CASES_DIR FIXTURES_DIR -- CLI golden tests.
#
# Each case is a directory with `cmd`: one dmarcsift invocation per line
# (the arguments after the program name; shell quoting applies). Every line
# runs in a fresh sandbox: @DB@ is a database path there, @TMP@ the
# sandbox, @FIXTURES@ the fixtures folder. The transcript -- "$ args",
# stdout, stderr lines prefixed "2> ", then "[exit status]" -- must equal
# `expected` byte for byte. SIFT_UPDATE_GOLDEN=1 rewrites `expected`.
#
# No configuration file is read (DMARCSIFT_CONFIG=/dev/null, HOME and
# XDG_CONFIG_HOME in the sandbox) unless the case has an `env` file: lines
# VAR=value (@TMP@, @FIXTURES@ apply; an empty value unsets VAR), exported
# for every line of the case.
set -u
bin=$1 cases=$2 fixtures=$3
pass=0 fail=0
export TZ=UTC LC_ALL=C SOURCE_DATE_EPOCH=1700600000
unset DMARCSIFT_DB
for dir in "$cases"/*/; do
    name=$(basename "$dir")
    [ -f "$dir/cmd" ] || continue
    tmp=$(mktemp -d /tmp/sift-test-cli-XXXXXX)
    out="$tmp/transcript"
    : > "$out"
    (
    export DMARCSIFT_CONFIG=/dev/null HOME="$tmp" XDG_CONFIG_HOME="$tmp/.config"
    if [ -f "$dir/env" ]; then
        while IFS= read -r kv || [ -n "$kv" ]; do
            case "$kv" in '' | \#*) continue ;; esac
            kv=$(printf '%s' "$kv" | sed -e "s#@TMP@#$tmp#g" \
                -e "s#@FIXTURES@#$fixtures#g")
            var=${kv%%=*} val=${kv#*=}
            if [ -z "$val" ]; then unset "$var"; else export "$var=$val"; fi
        done < "$dir/env"
    fi
    while IFS= read -r line || [ -n "$line" ]; do
        [ -z "$line" ] && continue
        case "$line" in \#*) continue ;; esac
        args=$(printf '%s' "$line" | sed -e "s#@DB@#$tmp/test.db#g" \
            -e "s#@TMP@#$tmp#g" -e "s#@FIXTURES@#$fixtures#g")
        printf '$ %s\n' "$line" >> "$out"
        (cd "$tmp" && eval "\"$bin\" $args" > "$tmp/o" 2> "$tmp/e" < /dev/null)
        rc=$?
        sed -e "s#$tmp#@TMP@#g" -e "s#$fixtures#@FIXTURES@#g" "$tmp/o" >> "$out"
        sed -e "s#$tmp#@TMP@#g" -e "s#$fixtures#@FIXTURES@#g" -e 's/^/2> /' \
            "$tmp/e" >> "$out"
        printf '[%s]\n' "$rc" >> "$out"
    done < "$dir/cmd"
    )
    if [ "${SIFT_UPDATE_GOLDEN:-}" = 1 ]; then
        cp "$out" "$dir/expected"
    fi
    if cmp -s "$out" "$dir/expected" 2>/dev/null; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $name"
        diff -u "$dir/expected" "$out" | head -60
    fi
    rm -rf "$tmp"
done
echo "cli_golden: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
