#!/bin/sh
# check-format.sh — fail if any tracked C file differs from .clang-format.
set -eu
cd "$(dirname "$0")/.."
bad=0
for f in $(git ls-files '*.c' '*.h'); do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f (run 'make format')" >&2
        bad=1
    fi
done
[ $bad -eq 0 ] && echo "format: ok"
exit $bad
