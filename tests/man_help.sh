#!/bin/sh
# man_help.sh BINARY MAN_SCD README -- --help and dmarcsift(1) agree.
#
# Generic, so that options added later are caught wherever they land:
# * every command in `dmarcsift --help` has a "## COMMAND" section in the
#   man page's COMMANDS, and every such section is a command;
# * the options of `dmarcsift --help`'s "options:" block are exactly the
#   long options of the man page's GLOBAL OPTIONS;
# * every --option in `dmarcsift COMMAND --help` appears in that command's
#   man section, and every --option of the section is one the command's
#   --help or the global options name;
# * every command line of the man page's EXAMPLES is in the README (a
#   "\\" of the scdoc source, which roff needs, is the README's "\").
set -u
bin=$1 scd=$2 readme=$3
fail=0
no() { echo "FAIL: $*"; fail=1; }
tmp=$(mktemp -d /tmp/sift-test-manhelp-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export DMARCSIFT_CONFIG=/dev/null

opts() { grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }
# the text of one "# SECTION" (level 1) or "## sub" (level 2) of the scd
section() {
    awk -v want="$1" -v lvl="$2" '
        /^# / { if (lvl == 1) on = ($0 == "# " want); else if (on2) on2 = 0
                if (lvl == 2) { insec = ($0 == "# COMMANDS") } ; next }
        /^## / { if (lvl == 2) on2 = (insec && $0 == "## " want); next }
        (lvl == 1 && on) || (lvl == 2 && on2) { print }
    ' "$scd"
}

"$bin" --help > "$tmp/main" || no "dmarcsift --help failed"
sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\).*/\1/p' "$tmp/main" |
    sort > "$tmp/cmds"
[ -s "$tmp/cmds" ] || no "no commands found in dmarcsift --help"
awk '/^# COMMANDS$/ { on = 1; next } /^# / { on = 0 }
     on && /^## / { print $2 }' "$scd" | sort > "$tmp/mancmds"
if ! cmp -s "$tmp/cmds" "$tmp/mancmds"; then
    no "commands in --help (-) and man page sections (+) differ:"
    diff "$tmp/cmds" "$tmp/mancmds"
fi

sed -n '/^options:/,/^$/p' "$tmp/main" | opts > "$tmp/global"
section "GLOBAL OPTIONS" 1 | opts > "$tmp/manglobal"
if ! cmp -s "$tmp/global" "$tmp/manglobal"; then
    no "global options in --help (-) and GLOBAL OPTIONS (+) differ:"
    diff "$tmp/global" "$tmp/manglobal"
fi

n=0
while read -r cmd; do
    "$bin" "$cmd" --help > "$tmp/h" 2>&1 || no "dmarcsift $cmd --help failed"
    opts < "$tmp/h" > "$tmp/hopts"
    section "$cmd" 2 | opts > "$tmp/mopts"
    # what --help names must be in the man section (global options
    # repeated in a usage line may be left to GLOBAL OPTIONS)
    comm -23 "$tmp/hopts" "$tmp/mopts" | comm -23 - "$tmp/global" |
        while read -r o; do
            echo "FAIL: '$cmd --help' names $o, man page section '$cmd' does not"
        done > "$tmp/miss"
    # what the man section names must exist for the command
    sort -u "$tmp/hopts" "$tmp/global" > "$tmp/known"
    comm -23 "$tmp/mopts" "$tmp/known" | while read -r o; do
        echo "FAIL: man page section '$cmd' names $o, '$cmd --help' does not"
    done >> "$tmp/miss"
    if [ -s "$tmp/miss" ]; then
        cat "$tmp/miss"
        fail=1
    fi
    n=$((n + $(wc -l < "$tmp/hopts")))
done < "$tmp/cmds"

section EXAMPLES 1 |
    sed -n -e 's/\\\\/\\/g' \
        -e 's/^\(dmarcsift .*\|zcat .*\|systemctl .*\|15 6 .*\)$/\1/p' \
        > "$tmp/ex"
[ -s "$tmp/ex" ] || no "no command lines in the man page's EXAMPLES"
while IFS= read -r line; do
    grep -qF -- "$line" "$readme" || no "EXAMPLES line not in README: $line"
done < "$tmp/ex"

[ "$fail" -eq 0 ] &&
    echo "man_help: $(wc -l < "$tmp/cmds") commands, $n command options, $(wc -l < "$tmp/global") global options, $(wc -l < "$tmp/ex") examples agree"
exit "$fail"
