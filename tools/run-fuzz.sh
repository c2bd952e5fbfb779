#!/bin/sh
# run-fuzz.sh BUILD_DIR [SECONDS] — run every libFuzzer target in BUILD_DIR
# (configured with -Dfuzzing=true, as `make fuzz` does) for SECONDS each
# (default 60), over a temporary copy of its committed corpus, with its
# dictionary and options (fuzz/run-smoke.sh does the running).
#
# Crash inputs land in BUILD_DIR/fuzz/artifacts/; each is listed at the end.
# To keep one: copy it into fuzz/corpus/TARGET/ with a name saying what it
# hits, so both builds replay it from then on (STYLE.md §9).
# Extra libFuzzer flags may come in $FUZZ_ARGS, e.g. FUZZ_ARGS='-fork=2
# -ignore_crashes=1' to keep going past a known crash and collect more.
# Exits 1 if any target crashed, leaked or timed out; 2 on a usage error.
set -u

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 BUILD_DIR [SECONDS]" >&2
    exit 2
fi
build=$(cd "$1" 2>/dev/null && pwd) || { echo "run-fuzz: no build directory $1" >&2; exit 2; }
seconds=${2:-60}
case $seconds in
    '' | *[!0-9]*) echo "run-fuzz: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;;
esac
src=$(cd "$(dirname "$0")/.." && pwd)
artifacts=$build/fuzz/artifacts
logs=$build/fuzz/logs

if ! python3 - "$build/meson-info/intro-buildoptions.json" <<'PY'
import json, sys
try:
    opts = json.load(open(sys.argv[1]))
except OSError:
    sys.exit(1)
sys.exit(0 if any(o["name"] == "fuzzing" and o["value"] is True for o in opts) else 1)
PY
then
    echo "run-fuzz: $build is not a meson build configured with -Dfuzzing=true" >&2
    exit 2
fi

mkdir -p "$artifacts" "$logs"
failed=""
summary=""
ran=0
for corpus in "$src"/fuzz/corpus/*/; do
    name=$(basename "$corpus")
    bin=$build/fuzz/fuzz-$name
    if [ ! -x "$bin" ]; then
        echo "run-fuzz: $bin is missing; run 'ninja -C $build' first" >&2
        failed="$failed $name"
        continue
    fi
    log=$logs/$name.log
    echo "== fuzz-$name: ${seconds}s (log: $log)"
    rc=0
    # $FUZZ_ARGS is split into words on purpose: one flag per word.
    # shellcheck disable=SC2086
    "$src/fuzz/run-smoke.sh" "$bin" "$name" -max_total_time="$seconds" -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$artifacts/$name-" ${FUZZ_ARGS:-} >"$log" 2>&1 ||
        rc=$?
    ran=$((ran + 1))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    line="fuzz-$name: ${runs:-?} runs, ${speed:-?} exec/s, ${cov:-cov: ?}"
    if [ $rc -ne 0 ]; then
        line="$line, FAILED (exit $rc)"
        failed="$failed $name"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*ERROR \*\*)' "$log" | head -n 5 | sed 's/^/    /'
        sed -n 's/.*Test unit written to /    crash input: /p' "$log" | sort -u
    fi
    echo "$line"
    summary="$summary$line
"
done

echo
echo "== summary ($ran targets, ${seconds}s each)"
printf '%s' "$summary"
if [ -n "$failed" ]; then
    echo "run-fuzz: failed:$failed (inputs under $artifacts, logs under $logs)" >&2
    exit 1
fi
echo "run-fuzz: no crash"
