#!/bin/sh
# run-soak.sh BUILD_DIR [SECONDS] — the soak test (`make soak`): mixed load
# against one daemon for SECONDS (default 600; SOAK_SECONDS in make), with
# its RSS and open descriptors sampled every 5 s.  Fails (exit 1) if either
# grows past its bound after the warm-up, if any request fails, or if an
# acknowledged write is missing afterwards (bench/bench-load.c, soak mode,
# states the bounds).
#
# The load: REST at SOAK_RATE requests/s (40: note and task creation, task
# completion, search, task list), chat turns at SOAK_CHAT_RATE per second
# (4) against tests/fake-llm, and SOAK_CLIENTS WebSockets (50) of which one
# is replaced every 200 ms.  SOAK_OUT=FILE keeps the key=value results.
set -eu

build="${1:?usage: tools/run-soak.sh BUILD_DIR [SECONDS]}"
seconds="${2:-600}"
case $seconds in
    '' | *[!0-9]*) echo "run-soak: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;;
esac
load="$build/bench/bench-load"
lares="$build/src/lares"
fake="$build/tests/fake-llm"
for f in "$load" "$lares" "$fake"; do
    [ -x "$f" ] || { echo "run-soak: $f is missing; build $build first" >&2; exit 2; }
done
for v in $(env | sed -n 's/^\(LARES_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done

out="${SOAK_OUT:-}"
tmp=""
if [ -z "$out" ]; then
    tmp="$(mktemp "${TMPDIR:-/tmp}/lares-soak-XXXXXX")"
    out="$tmp"
fi
trap '[ -z "$tmp" ] || rm -f "$tmp"' EXIT
trap 'exit 130' INT TERM

echo "== soak: ${seconds}s of mixed load (${SOAK_RATE:-40} REST req/s, ${SOAK_CHAT_RATE:-4} chat turns/s, ${SOAK_CLIENTS:-50} WebSockets with churn)"
rc=0
"$load" soak --seconds "$seconds" --rate "${SOAK_RATE:-40}" --chat-rate "${SOAK_CHAT_RATE:-4}" \
    --clients "${SOAK_CLIENTS:-50}" --sample 5 "$lares" "$fake" >"$out" || rc=$?

get() { sed -n "s/^load\.soak\.$1=//p" "$out" | head -n 1; }
echo
echo "== samples (every 30 s)"
printf '%8s %10s %10s %6s %8s %8s %10s %8s\n' t_s rss_kib hwm_kib fds threads cpu_pct ok errors
sed -n 's/^load\.soak\.sample\.[0-9]*=//p' "$out" | awk '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
    v["t"] % 30 == 0 || v["t"] < 5 {
        printf "%8d %10d %10d %6d %8d %8.1f %10d %8d\n", v["t"], v["rss_kib"], v["hwm_kib"], v["fds"],
            v["threads"], v["cpu_pct"], v["ok"], v["errors"] }'
echo
if [ -n "$(get rss_first_max_kib)" ]; then
    echo "RSS: first window max $(get rss_first_max_kib) KiB, last window max $(get rss_last_max_kib) KiB (bound $(get rss_bound_kib) KiB): $(get rss_verdict); slope $(get rss_slope_kib_per_h) KiB/h"
    echo "fds: first window floor $(get fds_first_min), last window floor $(get fds_last_min) (bound $(get fds_bound)): $(get fds_verdict)"
    echo "requests: $(get ok) ok, $(get errors) failed; p50 $(get lat_p50_ms) ms, p99 $(get lat_p99_ms) ms; daemon CPU $(get daemon_cores) cores"
    echo "writes: $(get acked_writes) acknowledged, $(get writes_lost) lost; chat turns done $(get chat_turns_done), in the store $(get turns_done_in_store); quick_check $(get quick_check)"
fi
if [ "$rc" -ne 0 ]; then
    echo "run-soak: FAILED (exit $rc)" >&2
    exit 1
fi
echo "run-soak: passed"
