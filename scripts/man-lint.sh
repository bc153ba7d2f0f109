#!/usr/bin/env bash
# man-lint.sh - lints every man page in man/ with `mandoc -Tlint` (warnings
# and errors count as failures; style hints are shown but do not fail) and
# checks that every alias in man/links names an existing page. One line per
# page, then `N passed, N failed`; exit status 1 if anything failed.
set -u
cd "$(dirname "$0")/.."
if ! command -v mandoc >/dev/null; then
    echo "man-lint: mandoc is not installed (Debian: apt-get install mandoc)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
p=0
f=0
for page in man/*.1 man/*.3c man/*.7; do
    [ -e "$page" ] || continue
    out=$(mandoc -Tlint -Wwarning "$page" 2>&1)
    rc=$?
    if [ $rc -eq 0 ] && [ -z "$out" ]; then
        echo "ok: $page"
        p=$((p + 1))
    else
        echo "FAIL: $page"
        sed 's/^/    /' <<<"$out"
        f=$((f + 1))
    fi
done
# Aliases: NAME=PAGE, both in man/ (PAGE must exist and document NAME).
while read -r l; do
    l=${l%%#*}
    for a in $l; do
        name=${a%%=*}
        target=${a#*=}
        base=${name%.3c}
        if [ -f "man/$target" ] && grep -q "^\\\\fB$base\\\\fP\\|^$base\\b\\|[ ,]$base\\b" "man/$target"; then
            p=$((p + 1))
        else
            echo "FAIL: alias $name: man/$target missing or does not mention $base"
            f=$((f + 1))
        fi
    done
done < man/links
echo "$p passed, $f failed"
[ $f -eq 0 ]
