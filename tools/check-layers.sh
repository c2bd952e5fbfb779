#!/bin/sh
# check-layers.sh SRCDIR — every project #include in src/<layer>/ must name a
# header of the same layer or one below it (STYLE.md §1).  The build already
# enforces this through include paths; this check says which line is wrong.
set -eu
src="${1:-$(dirname "$0")/../src}"
order="util core storage auth intent llm chat http cli"
rank() { i=0; for l in $order; do [ "$l" = "$1" ] && { echo $i; return; }; i=$((i+1)); done; echo 99; }

bad=0
for layer in $order; do
    own=$(rank "$layer")
    for f in $(find "$src/$layer" -name '*.[ch]'); do
        for h in $(sed -n 's/^#include "\(lares-[^"]*\.h\)".*/\1/p' "$f"); do
            home=$(find "$src" -name "$h" | head -1)
            [ -n "$home" ] || continue   # generated (e.g. resources)
            hl=$(echo "$home" | sed "s|^$src/||; s|/.*||")
            if [ "$(rank "$hl")" -gt "$own" ]; then
                echo "upward include: $f includes $h from layer '$hl'" >&2
                bad=1
            fi
        done
    done
done
[ $bad -eq 0 ] && echo "layers: ok"
exit $bad
