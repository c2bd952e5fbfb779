#!/bin/sh
# run-bench.sh — run every benchmark against BUILD_DIR/src/lares, print the
# results and (re)write docs/PERFORMANCE.md from them (SPEC §11).
#
# Usage: tools/run-bench.sh BUILD_DIR      (`make bench` uses build-bench, release)
#
# Steps (about 10 minutes on the 2-core reference machine):
#   0. wait (bounded) for the machine to be quiet
#   1. bench-start: 20 cold and 20 warm starts, spawn -> /readyz 200; idle RSS
#   2. wrk against /healthz (1 thread, 32 connections, 10 s; then 1 connection, 5 s)
#   3. bench-ws-fanout: 1,000 WebSocket clients, 200 rounds, libsoup client
#   4. bench-ws-fanout: the same with the raw epoll client
#   5. bench-intent: intent engine compile time and per-utterance match time
#   6. bench-chat: chat turns through /v1/chat/completions against tests/fake-llm,
#      1 / 10 / 100 connections, bursts of 100, a throughput phase (CHAT_RUNS
#      runs, medians); then once with the libsoup client; then CHAT_RUNS times
#      at 1 / 10 / 100 connections and in an open loop (~100 turns running)
#      with the fake pacing 10 ms a token
#   7. the peer's own harness (shared/peers/openclaw: fake_llm.py + bench.py)
#      against lares, 3 times each at 1 and 10 clients (needs python3)
#   8. bench-notes: full-text search over 100,000 notes
#   9. bench-tasks: the task list sorted by urgency over 10,000 tasks
#  10. bench-scheduler: 100,000 pending jobs; lateness of a spread and a burst
#  11. bench-load: 1,000 WebSockets fed by REST writes, 100 chat turns in
#      flight, an open-loop REST mix (LOAD_SECONDS each, default 20)
# Every figure in PERFORMANCE.md comes from this run or, for the peer, from
# shared/peers/openclaw/RESULTS.md, except the dated callgrind instruction
# counts in the missed-budget analysis (measured by hand, method given there).
# Environment: BENCH_NICE (nice value to run at when allowed, -10: on a
# machine shared with other builds, their work then weighs less against the
# benchmarks; 0 leaves it), PEER_RESULTS (path of OpenClaw's RESULTS.md), PEER_DIR (the
# peer's harness directory), BENCH_OUT (keep raw outputs there instead of a
# temporary directory), FANOUT_ROUNDS (200), CHAT_RUNS (3), BENCH_IDLE_WAIT
# (seconds to wait for a quiet machine first, 60).
set -eu

build="${1:?usage: tools/run-bench.sh BUILD_DIR}"
root="$(cd "$(dirname "$0")/.." && pwd)"
case "$build" in /*) ;; *) build="$(pwd)/$build" ;; esac
lares="$build/src/lares"
bench_start="$build/bench/bench-start"
bench_fanout="$build/bench/bench-ws-fanout"
bench_intent="$build/bench/bench-intent"
bench_chat="$build/bench/bench-chat"
bench_notes="$build/bench/bench-notes"
bench_tasks="$build/bench/bench-tasks"
bench_sched="$build/bench/bench-scheduler"
fake_llm="$build/tests/fake-llm"
doc="$root/docs/PERFORMANCE.md"
rounds="${FANOUT_ROUNDS:-200}"
chat_runs="${CHAT_RUNS:-3}"

for f in "$lares" "$bench_start" "$bench_fanout" "$bench_intent" "$bench_chat" "$fake_llm" \
    "$bench_notes" "$bench_tasks" "$bench_sched"; do
    [ -x "$f" ] || { echo "run-bench: $f is missing; build $build first" >&2; exit 1; }
done
command -v wrk >/dev/null 2>&1 || { echo "run-bench: wrk is not installed (tools/bootstrap.sh bench)" >&2; exit 1; }

# The daemon must run on its defaults: no LARES_* from the caller.
for v in $(env | sed -n 's/^\(LARES_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done

if [ -n "${BENCH_OUT:-}" ]; then
    out="$BENCH_OUT"; mkdir -p "$out"; keep_out=1
else
    out="$(mktemp -d "${TMPDIR:-/tmp}/lares-run-bench-XXXXXX")"; keep_out=0
fi
results="$out/results.txt"
: >"$results"
daemon_pid=""
peer_fake_pid=""
cleanup() {
    if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
        kill -KILL "$daemon_pid" 2>/dev/null || true
    fi
    if [ -n "$peer_fake_pid" ] && kill -0 "$peer_fake_pid" 2>/dev/null; then
        kill -TERM "$peer_fake_pid" 2>/dev/null || true
    fi
    [ "$keep_out" -eq 1 ] || rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "$*" >&2; }
get() { sed -n "s/^$1=//p" "$results" | head -n 1; }
put() { printf '%s=%s\n' "$1" "$2" >>"$results"; }
# Sum of utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# Busy and total jiffies over all CPUs, from /proc/stat.
machine_ticks() { awk '/^cpu /{ t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# Other work on the machine skews every figure.  Wait up to BENCH_IDLE_WAIT
# seconds (default 60) for the cores to be under 25 % busy, then go on
# regardless and record how busy they were (1 s sample) and the load average.
bench_nice="${BENCH_NICE:--10}"
if [ "$bench_nice" != 0 ] && renice -n "$bench_nice" -p $$ >/dev/null 2>&1; then
    # With the kernel's autogroups, nice only ranks processes of one session
    # against each other: the session's group needs it too.
    if [ -w "/proc/$$/autogroup" ] && echo "$bench_nice" >"/proc/$$/autogroup" 2>/dev/null; then
        put machine.nice "$bench_nice (and its session's autogroup)"
    else
        put machine.nice "$bench_nice"
    fi
else
    put machine.nice "0 (not allowed to change it)"
fi
idle_wait="${BENCH_IDLE_WAIT:-60}"
waited=0
while :; do
    m0="$(machine_ticks)"; sleep 1; m1="$(machine_ticks)"
    busy="$(echo "$m0 $m1" | awk '{ printf "%.0f", 100 * ($3 - $1) / ($4 - $2) }')"
    [ "$busy" -lt 25 ] && break
    [ "$waited" -ge "$idle_wait" ] && { say "run-bench: the machine is still $busy % busy; measuring anyway"; break; }
    [ "$waited" -eq 0 ] && say "run-bench: the machine is $busy % busy; waiting up to $idle_wait s for it to calm down"
    waited=$((waited + 1))
done
put machine.busy_before_pct "$busy"
put machine.waited_s "$waited"
put machine.loadavg_before "$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- 1. start-up and idle memory ----------------------------------------------
say "== bench-start (20 cold + 20 warm starts)"
"$bench_start" --runs 20 --idle-wait 2000 "$lares" >"$out/start.txt"
cat "$out/start.txt" >>"$results"

# ---- 2. /healthz throughput with wrk ----------------------------------------------
wrk_dir="$out/wrk"
mkdir -p "$wrk_dir"
: >"$wrk_dir/stdout"
say "== wrk /healthz"
# start_daemon DIR [ARGS...]: `lares serve -d DIR/data -p 0 ARGS` in DIR;
# sets daemon_pid and port.
start_daemon() {
    sd_dir="$1"; shift
    : >"$sd_dir/stdout"
    (cd "$sd_dir" && exec "$lares" serve -d "$sd_dir/data" -p 0 "$@" >"$sd_dir/stdout" 2>"$sd_dir/stderr") &
    daemon_pid=$!
    port=""
    i=0
    while [ $i -lt 200 ]; do
        port="$(sed -n 's|^lares: listening on http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' "$sd_dir/stdout")"
        [ -n "$port" ] && break
        kill -0 "$daemon_pid" 2>/dev/null || break
        sleep 0.05
        i=$((i + 1))
    done
    if [ -z "$port" ]; then
        say "run-bench: the daemon did not start in $sd_dir:"; cat "$sd_dir/stderr" >&2; exit 1
    fi
}
start_daemon "$wrk_dir"
url="http://127.0.0.1:$port/healthz"
wrk -t1 -c32 -d2s "$url" >/dev/null # warm-up, not recorded

# wrk prints latencies as 512.00us / 1.20ms / 1.05s: convert to ms.
parse_wrk() { # FILE PREFIX
    awk -v p="$2" '
    function ms(v) {
        if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
        if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
        if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
        return v + 0
    }
    /^ *Latency / && !lat { printf "%s.lat_avg_ms=%.3f\n", p, ms($2); printf "%s.lat_max_ms=%.3f\n", p, ms($4); lat = 1 }
    /^ *50% / { printf "%s.lat_p50_ms=%.3f\n", p, ms($2) }
    /^ *90% / { printf "%s.lat_p90_ms=%.3f\n", p, ms($2) }
    /^ *99% / { printf "%s.lat_p99_ms=%.3f\n", p, ms($2) }
    /requests in/ { printf "%s.requests=%s\n", p, $1 }
    /^Requests\/sec:/ { printf "%s.rps=%.0f\n", p, $2 }
    /Socket errors:/ { gsub(/,/, ""); printf "%s.socket_errors=%d\n", p, $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/ { printf "%s.non2xx=%s\n", p, $NF }
    ' "$1"
}

run_wrk() { # PREFIX CONNECTIONS SECONDS
    c0="$(cpu_ticks "$daemon_pid")"
    m0="$(machine_ticks)"
    wrk -t1 -c"$2" -d"$3"s --latency "$url" >"$out/$1.txt"
    c1="$(cpu_ticks "$daemon_pid")"
    m1="$(machine_ticks)"
    cat "$out/$1.txt" >&2
    parse_wrk "$out/$1.txt" "$1" >>"$results"
    hz="$(getconf CLK_TCK)"
    put "$1.connections" "$2"
    put "$1.seconds" "$3"
    # Daemon CPU in cores (1.00 = one core busy), machine busy % over both cores.
    put "$1.daemon_cores" "$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v s="$3" 'BEGIN { printf "%.2f", (b - a) / hz / s }')"
    put "$1.machine_busy_pct" "$(echo "$m0 $m1" | awk '{ printf "%.0f", 100 * ($3 - $1) / ($4 - $2) }')"
    [ -n "$(get "$1.socket_errors")" ] || put "$1.socket_errors" 0
    [ -n "$(get "$1.non2xx")" ] || put "$1.non2xx" 0
    rps="$(get "$1.rps")"
    put "$1.daemon_cpu_us_per_req" "$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v r="$rps" -v s="$3" 'BEGIN { if (r > 0) printf "%.1f", (b - a) / hz * 1e6 / (r * s); else print "n/a" }')"
}
run_wrk wrk32 32 10
run_wrk wrk1 1 5
put wrk.rss_after_kib "$(status_kib "$daemon_pid" VmRSS)"
put wrk.hwm_kib "$(status_kib "$daemon_pid" VmHWM)"
kill -TERM "$daemon_pid"
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=""
put wrk.daemon_exit "$rc"
[ "$rc" -eq 0 ] || { say "run-bench: the wrk daemon exited with $rc"; cat "$wrk_dir/stderr" >&2; exit 1; }

# ---- 3 and 4. WebSocket fan-out -------------------------------------------------------
for client in soup raw; do
    say "== bench-ws-fanout --client $client (1000 clients, $rounds rounds)"
    "$bench_fanout" --client "$client" --clients 1000 --rounds "$rounds" "$lares" >"$out/fanout-$client.txt"
    sed "s/^fanout\./$client./" "$out/fanout-$client.txt" >>"$results"
done

# ---- 5. intent engine ------------------------------------------------------------------
say "== bench-intent (compile 20x; golden corpus, 50 rounds)"
"$bench_intent" --rounds 50 "$root/data/intents" "$root/tests/intent/corpus/en.jsonl" >"$out/intent.txt"
cat "$out/intent.txt" >>"$results"

# median_merge FILE... : key=value lines of several runs of one bench -> the
# median of each numeric key (the middle run's own string for an odd count)
# and KEY.runs=v1 / v2 / ...; other keys keep the first run's value.
median_merge() {
    awk '
    {
        i = index($0, "="); if (i == 0) next
        k = substr($0, 1, i - 1); v = substr($0, i + 1)
        if (!(k in n)) order[++nk] = k
        n[k]++; val[k, n[k]] = v
    }
    END {
        for (o = 1; o <= nk; o++) {
            k = order[o]; m = n[k]; num = 1
            for (j = 1; j <= m; j++) if (val[k, j] !~ /^-?[0-9]+(\.[0-9]+)?$/) num = 0
            if (!num) { print k "=" val[k, 1]; continue }
            for (j = 1; j <= m; j++) { s[j] = val[k, j] + 0; t[j] = val[k, j] }
            for (a = 2; a <= m; a++) {
                x = s[a]; y = t[a]
                for (b = a - 1; b >= 1 && s[b] > x; b--) { s[b + 1] = s[b]; t[b + 1] = t[b] }
                s[b + 1] = x; t[b + 1] = y
            }
            if (m % 2) print k "=" t[(m + 1) / 2]
            else printf "%s=%.3f\n", k, (s[m / 2] + s[m / 2 + 1]) / 2
            all = val[k, 1]; for (j = 2; j <= m; j++) all = all " / " val[k, j]
            print k ".runs=" all
        }
    }' "$@"
}

# ---- 6. chat turns against our fake LLM ---------------------------------------------------
chat_prompt="Say hi. [bench:1]"
chat_route="$("$lares" intent --llm "$chat_prompt" | sed -n 's/^ *"route" *: *"\([a-z]*\)".*/\1/p')"
if [ "$chat_route" != "llm" ]; then
    say "run-bench: the chat bench prompt '$chat_prompt' routes to '$chat_route', not to the LLM"; exit 1
fi
put chat.prompt_route "$chat_route"
i=1
while [ "$i" -le "$chat_runs" ]; do
    say "== bench-chat, raw client, run $i of $chat_runs (1 / 10 / 100 connections, bursts of 100, throughput)"
    "$bench_chat" "$lares" "$fake_llm" >"$out/chat-$i.txt"
    i=$((i + 1))
done
median_merge "$out"/chat-[0-9]*.txt >>"$results"
put chat.runs "$chat_runs"
say "== bench-chat, libsoup client (1 connection, throughput)"
"$bench_chat" --client soup --phases c1,tput "$lares" "$fake_llm" >"$out/chat-soup.txt"
sed 's/^chat\./chatsoup./' "$out/chat-soup.txt" >>"$results"
# A real server streams: the same turns with the fake pacing 10 ms before each token, the
# slower phase of OpenClaw's own harness (20 tokens: a turn lasts ~210 ms). o100 is the
# open loop: turns arrive at random at the rate that keeps 100 of them running.
# Run as often as the zero-delay bench: the open loop's tail moves with the
# machine's other load from run to run.
i=1
while [ "$i" -le "$chat_runs" ]; do
    say "== bench-chat, the fake LLM pacing 10 ms a token (1 / 10 / 100 connections, open loop), run $i of $chat_runs"
    "$bench_chat" --token-delay 10 --phases c1,c10,c100,o100 --turns1 200 --turns10 600 \
        --turns100 3000 --open-turns 3000 "$lares" "$fake_llm" >"$out/chat-paced-$i.txt"
    i=$((i + 1))
done
median_merge "$out"/chat-paced-[0-9]*.txt | sed 's/^chat\./chatpaced./' >>"$results"

# ---- 7. the peer's harness against lares --------------------------------------------------
peer_dir="${PEER_DIR:-}"
if [ -z "$peer_dir" ]; then
    for p in "$root/../shared/peers/openclaw" "$root/shared/peers/openclaw"; do
        [ -f "$p/bench.py" ] && { peer_dir="$p"; break; }
    done
fi
if ! command -v python3 >/dev/null 2>&1; then
    put peerh.skipped "python3 is not installed"
elif [ -z "$peer_dir" ] || [ ! -f "$peer_dir/bench.py" ] || [ ! -f "$peer_dir/fake_llm.py" ]; then
    put peerh.skipped "the peer harness (shared/peers/openclaw/bench.py, fake_llm.py) was not found"
else
    # bench.py's JSON summary -> key=value lines.
    peer_kv() { # FILE PREFIX
        python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); p = sys.argv[2]
print("%s.ok=%s" % (p, r["ok"])); print("%s.errors=%s" % (p, r["errors"]))
print("%s.turns_per_s=%s" % (p, r["turns_per_s"]))
print("%s.cpu_ms_per_turn=%s" % (p, r["gw_cpu_ms_per_turn"]))
print("%s.llm_calls_max=%s" % (p, (r["llm_calls_per_turn"] or {}).get("max")))
for k in ("overhead_ms", "inbound_ms", "outbound_ms", "turn_ms"):
    for q in ("p50", "p90", "p99", "max"):
        print("%s.%s_%s=%s" % (p, k, q, (r[k] or {}).get(q)))
PY
    }
    # peer_harness DIR PREFIX FAKE_SCRIPT: fake_llm.py (or a wrapper of it) on a
    # free port, one daemon pointed at it, bench.py 3 times at 1 and at 10 clients.
    peer_harness() {
        ph="$1"; pp="$2"
        mkdir -p "$ph"
        fport="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
        say "== peer harness ($pp): $(basename "$3") on port $fport, bench.py against lares"
        python3 "$3" --port "$fport" --log "$ph/fake.jsonl" >"$ph/fake.out" 2>&1 &
        peer_fake_pid=$!
        i=0
        until grep -q listening "$ph/fake.out" 2>/dev/null; do
            i=$((i + 1))
            if [ $i -gt 200 ] || ! kill -0 "$peer_fake_pid" 2>/dev/null; then
                say "run-bench: $3 did not start:"; cat "$ph/fake.out" >&2; exit 1
            fi
            sleep 0.05
        done
        start_daemon "$ph" --set llm.provider=openai --set "llm.base_url=http://127.0.0.1:$fport/v1" \
            --set llm.model=fake-model --set llm.max_concurrent=128
        peer_token="$("$lares" token create -d "$ph/data" --name peer-harness 2>/dev/null)"
        i=1
        while [ "$i" -le 3 ]; do
            python3 "$peer_dir/bench.py" --port "$port" --token "$peer_token" --model lares --turns 50 \
                --warmup 3 --fake-log "$ph/fake.jsonl" --pid "$daemon_pid" >"$ph/c1-$i.json"
            python3 "$peer_dir/bench.py" --port "$port" --token "$peer_token" --model lares \
                --concurrency 10 --turns 100 --warmup 0 --fake-log "$ph/fake.jsonl" --pid "$daemon_pid" \
                >"$ph/c10-$i.json"
            peer_kv "$ph/c1-$i.json" "$pp.c1" >"$ph/kv-$i.txt"
            peer_kv "$ph/c10-$i.json" "$pp.c10" >>"$ph/kv-$i.txt"
            i=$((i + 1))
        done
        median_merge "$ph"/kv-[0-9]*.txt >>"$results"
        put "$pp.llm_bytes_p50" "$(python3 -c '
import json, statistics, sys
b = [json.loads(l)["req_bytes"] for l in open(sys.argv[1]) if l.strip()]
print(int(statistics.median(b)))' "$ph/fake.jsonl")"
        put "$pp.rss_after_kib" "$(status_kib "$daemon_pid" VmRSS)"
        kill -TERM "$daemon_pid"
        rc=0
        wait "$daemon_pid" || rc=$?
        daemon_pid=""
        put "$pp.daemon_exit" "$rc"
        kill -TERM "$peer_fake_pid" 2>/dev/null || true
        wait "$peer_fake_pid" 2>/dev/null || true
        peer_fake_pid=""
    }
    peer_harness "$out/peerh" peerh "$peer_dir/fake_llm.py"
    # The same with TCP_NODELAY on the fake's sockets (fake_llm.py unchanged,
    # imported by a wrapper): fake_llm.py writes the headers and each SSE
    # chunk separately, so without it Nagle holds the first chunk until the
    # daemon acknowledges the headers.  lares sets TCP_QUICKACK once each
    # request is written, so the two runs should now agree; a gap means
    # that broke.
    mkdir -p "$out/peerh-nodelay"
    cat >"$out/peerh-nodelay/fake_nodelay.py" <<PY
import sys
sys.dont_write_bytecode = True
sys.path.insert(0, "$peer_dir")
import fake_llm
fake_llm.H.disable_nagle_algorithm = True
fake_llm.main()
PY
    peer_harness "$out/peerh-nodelay" peerhnd "$out/peerh-nodelay/fake_nodelay.py"
    python3 --version 2>&1 | sed 's/^Python /peerh.python=/' >>"$results"
fi

# ---- 8, 9, 10. notes search, task list, scheduler ----------------------------------------
say "== bench-notes (100,000 notes, 8 queries x 50)"
"$bench_notes" >"$out/notes.txt"
sed 's/^/notes./' "$out/notes.txt" >>"$results"
say "== bench-tasks (10,000 tasks, list by urgency)"
"$bench_tasks" >"$out/tasks.txt"
cat "$out/tasks.txt" >>"$results"
say "== bench-scheduler (100,000 pending; a spread of 3,000 and a burst of 1,000)"
"$bench_sched" >"$out/scheduler.txt"
cat "$out/scheduler.txt" >>"$results"
put machine.loadavg_after "$(cut -d' ' -f1-3 /proc/loadavg)"
# ---- 11. load: WebSocket fan-out, concurrent chat turns, REST mix ----------------------------
bench_load="$build/bench/bench-load"
load_s="${LOAD_SECONDS:-20}"
if [ -x "$bench_load" ]; then
    for m in ws chat rest; do
        say "== bench-load $m (${load_s} s)"
        "$bench_load" "$m" --seconds "$load_s" "$lares" "$fake_llm" >"$out/load-$m.txt" ||
            { say "run-bench: bench-load $m failed"; cat "$out/load-$m.txt" >&2; exit 1; }
        cat "$out/load-$m.txt" >>"$results"
    done
else
    put load.skipped "bench/bench-load was not built"
fi

say "== results"
cat "$results" >&2

# ---- docs/PERFORMANCE.md -----------------------------------------------------------------
# Peer figures, parsed from OpenClaw's RESULTS.md (measured on this machine).
peer="${PEER_RESULTS:-}"
if [ -z "$peer" ]; then
    for p in "$root/../shared/peers/openclaw/RESULTS.md" "$root/shared/peers/openclaw/RESULTS.md"; do
        [ -f "$p" ] && { peer="$p"; break; }
    done
fi
peer_warm="n/a"; peer_cold="n/a"; peer_rss="n/a"; peer_date="n/a"
if [ -n "$peer" ] && [ -f "$peer" ]; then
    peer_warm="$(sed -n 's/.*Median warm \/readyz over all [0-9]* warm starts: \*\*\([0-9.]* s\)\*\*.*/\1/p' "$peer" | head -n 1)"
    peer_cold="$(sed -n 's/.*Cold: \([0-9.]*-[0-9.]* s\)\..*/\1/p' "$peer" | head -n 1)"
    peer_rss="$(awk -F'|' '/idle RSS, 30 s after a warm start/ {
        lo = 1e9; hi = 0
        for (i = 3; i < NF; i++) { v = $i; gsub(/[^0-9.]/, "", v); v += 0; if (v < lo) lo = v; if (v > hi) hi = v }
        printf "%d-%d MiB", lo, hi; exit }' "$peer")"
    peer_date="$(sed -n 's/^Date: \([0-9-]*\).*/\1/p' "$peer" | head -n 1)"
    : "${peer_warm:=n/a}" "${peer_cold:=n/a}" "${peer_rss:=n/a}" "${peer_date:=n/a}"
    # Chat turns: the pooled table ("| 1 client, 0 ms/token | turns | p50 | p90 | p99 | ...")
    # and the per-run rows (turns/s, CPU per turn, inbound / outbound) of the
    # 0 ms/token phases, 1 client first.
    peer_row() { # LABEL FIELD
        awk -F'|' -v l="$1" -v f="$2" '$2 ~ "^ *" l " *$" { v = $f; gsub(/[^0-9.]/, "", v); print v; exit }' "$peer"
    }
    peer_c1_p50="$(peer_row "1 client, 0 ms/token" 4)"; peer_c1_p90="$(peer_row "1 client, 0 ms/token" 5)"
    peer_c1_p99="$(peer_row "1 client, 0 ms/token" 6)"
    peer_c10_p50="$(peer_row "10 concurrent clients, 0 ms/token" 4)"
    peer_c10_p99="$(peer_row "10 concurrent clients, 0 ms/token" 6)"
    peer_c1d10_p50="$(peer_row "1 client, 10 ms/token" 4)"; peer_c1d10_p99="$(peer_row "1 client, 10 ms/token" 6)"
    peer_c10d10_p50="$(peer_row "10 concurrent clients, 10 ms/token" 4)"
    peer_c10d10_p99="$(peer_row "10 concurrent clients, 10 ms/token" 6)"
    peer_nth() { # ROW-LABEL N -> "a / b / c" (the runs) of the Nth row with that label
        awk -F'|' -v l="$1" -v n="$2" '$3 ~ "^ *" l " *$" && ++k == n {
            o = ""; for (i = 4; i < NF; i++) { v = $i; gsub(/^ +| +$/, "", v); o = o (o == "" ? "" : "; ") v }
            print o; exit }' "$peer"
    }
    peer_c1_tps="$(peer_nth "turns/s" 1)"; peer_c10_tps="$(peer_nth "turns/s" 2)"
    peer_c1_cpu="$(peer_nth "gateway CPU ms per turn" 1)"; peer_c10_cpu="$(peer_nth "gateway CPU ms per turn" 2)"
    peer_c1_io="$(peer_nth "inbound p50 \/ outbound p50 ms" 1)"
    peer_peak="$(awk -F'|' '/peak during 10-client phase, 0 ms\/token/ {
        lo = 1e9; hi = 0
        for (i = 3; i < NF; i++) { v = $i; gsub(/[^0-9.]/, "", v); v += 0; if (v < lo) lo = v; if (v > hi) hi = v }
        printf "%d-%d MiB", lo, hi; exit }' "$peer")"
    peer_bytes="$(sed -n 's/.*gateway-to-LLM request was ~\([0-9.]* KB\).*/\1/p' "$peer" | head -n 1)"
fi
: "${peer_c1_p50:=n/a}" "${peer_c1_p90:=n/a}" "${peer_c1_p99:=n/a}" "${peer_c10_p50:=n/a}" "${peer_c10_p99:=n/a}"
: "${peer_c1d10_p50:=n/a}" "${peer_c1d10_p99:=n/a}" "${peer_c10d10_p50:=n/a}" "${peer_c10d10_p99:=n/a}"
: "${peer_c1_tps:=n/a}" "${peer_c10_tps:=n/a}" "${peer_c1_cpu:=n/a}" "${peer_c10_cpu:=n/a}" "${peer_c1_io:=n/a}"
: "${peer_bytes:=n/a}" "${peer_peak:=n/a}"

# Machine and build.
cpu_model="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
cores="$(nproc)"
ram="$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
kernel="$(uname -r)"
debian="$(cat /etc/debian_version 2>/dev/null || echo unknown)"
rev="$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
git -C "$root" diff --quiet HEAD -- src 2>/dev/null || rev="$rev (src/ has uncommitted changes)"
buildtype="$(grep -o '"name": "buildtype", "value": "[a-z]*"' "$build/meson-info/intro-buildoptions.json" 2>/dev/null |
    sed 's/.*"value": "//; s/"$//' | head -n 1)"
: "${buildtype:=unknown}"
versions="$("$lares" version 2>/dev/null | sed -n 2p)"
cc_version="$(cc --version 2>/dev/null | head -n 1)"
wrk_version="$(wrk -v 2>&1 | head -n 1 | awk '{ print $2 }')"
tmp_fs="$(findmnt -n -o FSTYPE -T "${TMPDIR:-/tmp}" 2>/dev/null || stat -f -c %T "${TMPDIR:-/tmp}")"
date_utc="$(date -u '+%Y-%m-%d %H:%M UTC')"

kib_mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB (%.1f MiB)", k * 1024 / 1e6, k / 1024 }'; }
# verdict VALUE LIMIT -> met / missed
verdict() { awk -v v="$1" -v l="$2" 'BEGIN { if (v + 0 < l + 0) print "met"; else print "**missed**" }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.3f", k * 1024 / 1e6 }'; }

cold_p50="$(get start.cold.ready_p50_ms)"; cold_p90="$(get start.cold.ready_p90_ms)"
warm_p50="$(get start.warm.ready_p50_ms)"; warm_p90="$(get start.warm.ready_p90_ms)"
idle_kib="$(get idle.rss_kib)"
open_kib="$(get raw.open_rss_kib)"; open_kib_soup="$(get soup.open_rss_kib)"
before_kib="$(get raw.before_rss_kib)"
per_conn="$(awk -v a="$before_kib" -v b="$open_kib" -v n="$(get raw.clients)" 'BEGIN { printf "%.1f", (b - a) / n }')"
raw_p99="$(get raw.lat_p99_ms)"; soup_p99="$(get soup.lat_p99_ms)"

v_cold="$(verdict "$cold_p90" 50)"; v_warm="$(verdict "$warm_p90" 50)"
v_idle="$(verdict "$(mb "$idle_kib")" 15)"
v_open="$(verdict "$(mb "$(awk -v a="$open_kib" -v b="$open_kib_soup" 'BEGIN { print (a > b ? a : b) }')")" 60)"
v_fan_raw="$(verdict "$raw_p99" 10)"; v_fan_soup="$(verdict "$soup_p99" 10)"
intent_p99="$(get intent.match_us_p99)"
v_intent="$(verdict "$intent_p99" "$(get intent.budget_p99_us)")"
# verdict_gt VALUE LIMIT -> met when VALUE > LIMIT
verdict_gt() { awk -v v="$1" -v l="$2" 'BEGIN { if (v + 0 > l + 0) print "met"; else print "**missed**" }'; }
both() { [ "$1" = met ] && [ "$2" = met ] && echo met || echo "**missed**"; }
# Verdicts take the overhead between the sockets (kernel receive stamps: see the chat method).
c1_p50="$(get chat.c1.overhead_sock_p50_ms)"; c1_p99="$(get chat.c1.overhead_sock_p99_ms)"
c100_p99="$(get chat.c100.overhead_sock_p99_ms)"; b100_p99="$(get chat.b100.overhead_sock_p99_ms)"
p1_p50="$(get chatpaced.c1.overhead_sock_p50_ms)"; p1_p99="$(get chatpaced.c1.overhead_sock_p99_ms)"
p100_p99="$(get chatpaced.c100.overhead_sock_p99_ms)"; o100_p99="$(get chatpaced.o100.overhead_sock_p99_ms)"
tput="$(get chat.tput.turns_per_s)"
chat_bytes="$(get chat.c1.llm_bytes_p50)"
chat_idle_kib="$(get chat.idle_rss_kib)"
v_c1="$(both "$(verdict "$c1_p50" 1)" "$(verdict "$c1_p99" 5)")"
v_c100="$(verdict "$c100_p99" 20)"; v_b100="$(verdict "$b100_p99" 20)"
v_p1="$(both "$(verdict "$p1_p50" 1)" "$(verdict "$p1_p99" 5)")"; v_p100="$(verdict "$p100_p99" 20)"
v_o100="$(verdict "$o100_p99" 20)"
v_tput="$(verdict_gt "$tput" 1000)"
v_bytes="$(verdict "$chat_bytes" 61000)"
v_chat_idle="$(verdict "$(mb "$chat_idle_kib")" 15)"
notes_p50="$(get notes.search_p50_ms)"; v_notes="$(verdict "$notes_p50" 5)"
spread_p99="$(get scheduler.spread.lateness_ms_p99)"; burst_p99="$(get scheduler.burst.lateness_ms_p99)"
v_sched_late="$(both "$(verdict "$spread_p99" 50)" "$(verdict "$burst_p99" 50)")"
sched_kib="$(get scheduler.rss_peak_kib)"; v_sched_mem="$(verdict "$(mb "$sched_kib")" 50)"

stop_note() { # CLIENT
    w="$(get "$1.stop_warning")"
    if [ -n "$w" ]; then
        # shellcheck disable=SC2016 # the backquotes are Markdown
        printf 'the daemon logged `%s`' "$(printf '%s' "$w" | sed 's/^[^ ]* //')"
    else
        printf 'no warning logged'
    fi
}

mkdir -p "$(dirname "$doc")"
tmp_doc="$doc.tmp.$$"
cat >"$tmp_doc" <<EOF
# lares performance

Generated by \`make bench\` (\`tools/run-bench.sh $(basename "$build")\`) on $date_utc. Every
lares figure below comes from that run, except the instruction counts in the analysis of
missed budgets, which are callgrind runs done by hand and say when and how; do not edit by
hand — rerun \`make bench\`.
Budgets are SPEC §11. The peer (OpenClaw 2026.9.6) figures are not re-measured by this run:
they were measured on this machine on $peer_date by the harness in \`shared/peers/openclaw\`
and are read from its RESULTS.md.

## Machine and build

| | |
|---|---|
| CPU | $cpu_model, $cores cores (shared by the daemon and the load generators) |
| RAM | $ram |
| kernel / OS | Linux $kernel, Debian $debian |
| temporary directory (data dirs) | ${TMPDIR:-/tmp} on $tmp_fs |
| lares revision | $rev, meson buildtype \`$buildtype\` |
| libraries | $versions |
| compiler / load generator | $cc_version; wrk $wrk_version |
| other load just before the run | both cores $(get machine.busy_before_pct) % busy (1 s sample, after waiting $(get machine.waited_s) s for < 25 %); load average $(get machine.loadavg_before) |
| load average at the end of the run | $(get machine.loadavg_after) (other builds and tests on the machine raise it; CPU-time figures are less affected than wall times) |
| priority of the benchmarks | nice $(get machine.nice) (children inherit it; other work on the machine keeps nice 0) |

## Results against the budgets

| what | lares, this run | SPEC §11 budget | verdict | OpenClaw (peer) |
|---|---|---|---|---|
| start → \`/readyz\` 200, warm (existing DB), p50 / p90 of $(get start.warm.runs) | $warm_p50 / $warm_p90 ms | < 50 ms | $v_warm | $peer_warm (median of 12 warm starts) |
| start → \`/readyz\` 200, cold (new data dir), p50 / p90 of $(get start.cold.runs) | $cold_p50 / $cold_p90 ms | < 50 ms | $v_cold | $peer_cold |
| idle RSS, $(get idle.wait_ms) ms after ready | $(kib_mb "$idle_kib") | < 15 MB | $v_idle | $peer_rss (process tree, 30 s after a warm start) |
| RSS with 1,000 open WebSockets (raw / libsoup clients) | $(kib_mb "$open_kib") / $(kib_mb "$open_kib_soup") | < 60 MB | $v_open | — |
| WebSocket fan-out to 1,000 clients, POST → event, p50 / p99, raw client | $(get raw.lat_p50_ms) / $raw_p99 ms | p99 < 10 ms | $v_fan_raw | — |
| the same, libsoup client (single receive loop) | $(get soup.lat_p50_ms) / $soup_p99 ms | p99 < 10 ms | $v_fan_soup | — |
| \`/healthz\`, wrk 1 thread × 32 connections | $(get wrk32.rps) req/s, p50 $(get wrk32.lat_p50_ms) ms, p99 $(get wrk32.lat_p99_ms) ms | no budget | — | — |
| intent match per utterance, p50 / p99 (full template set; $(get intent.utterances) corpus sentences, $(get intent.calls) calls) | $(get intent.match_us_p50) / $intent_p99 µs | p99 < $(get intent.budget_p99_us) µs (intent issue) | $v_intent | — |
| intent engine start-up compile ($(get intent.paths) sentence paths), p50 / max of 20 | $(get intent.compile_ms_p50) / $(get intent.compile_ms_max) ms | no budget | — | — |
| added latency to first token (client TTFT − LLM TTFT, at the sockets), 1 client, p50 / p99 | $c1_p50 / $c1_p99 ms (read by the bench: $(get chat.c1.overhead_p50_ms) / $(get chat.c1.overhead_p99_ms)) | p50 < 1 ms, p99 < 5 ms | $v_c1 | $peer_c1_p50 / $peer_c1_p99 ms (its harness; see below) |
| added latency to first token, the fake LLM pacing 10 ms a token, 1 client, p50 / p99 | $p1_p50 / $p1_p99 ms (read by the bench: $(get chatpaced.c1.overhead_p50_ms) / $(get chatpaced.c1.overhead_p99_ms)) | p50 < 1 ms, p99 < 5 ms | $v_p1 | $peer_c1d10_p50 / $peer_c1d10_p99 ms |
| **the same, 100 concurrent turns**: turns arrive at random (open loop, $(get chatpaced.o100.arrival_rate) turns/s), $(get chatpaced.o100.mean_in_flight) running on average, p50 / p99 | $(get chatpaced.o100.overhead_sock_p50_ms) / $o100_p99 ms (p99 of each run: $(get chatpaced.o100.overhead_sock_p99_ms.runs); read by the bench: $(get chatpaced.o100.overhead_p50_ms) / $(get chatpaced.o100.overhead_p99_ms); host steal in each run: $(get chatpaced.o100.steal_pct.runs) % of CPU time) | p99 < 20 ms | $v_o100 | 10 clients: $peer_c10d10_p50 / $peer_c10d10_p99 ms |
| stress: 100 clients in step (paced fake, closed loop: the 100 turns end together, so the next 100 start together), p50 / p99 | $(get chatpaced.c100.overhead_sock_p50_ms) / $p100_p99 ms | (p99 < 20 ms) | $v_p100 | — |
| stress: bursts of 100 turns sent at once (zero-delay fake), p50 / p99 | $(get chat.b100.overhead_sock_p50_ms) / $b100_p99 ms | (p99 < 20 ms) | $v_b100 | — |
| stress: saturation, 100 connections, closed loop, zero-delay fake (a throughput test: each turn queues behind the other 99), p50 / p99 | $(get chat.c100.overhead_sock_p50_ms) / $c100_p99 ms | (p99 < 20 ms) | $v_c100 | 10 clients: $peer_c10_p50 / $peer_c10_p99 ms |
| turns/s against a zero-delay fake LLM ($(get chat.tput.concurrency) connections) | $tput turns/s; daemon CPU $(get chat.tput.daemon_cpu_us_per_turn) µs per turn | > 1,000 | $v_tput | $peer_c10_tps turns/s (10 clients, 3 runs) |
| bytes sent to the LLM per simple turn | $chat_bytes bytes | report; smaller than OpenClaw's | $v_bytes | ~$peer_bytes |
| idle RSS with an LLM configured, $(get chat.idle_wait_ms) ms after ready | $(kib_mb "$chat_idle_kib") | < 15 MB | $v_chat_idle | — |
| notes search, 100,000 notes (FTS5), p50 / p99 over 8 queries × 50 | $notes_p50 / $(get notes.search_p99_ms) ms (CPU time $(get notes.search_cpu_p50_ms) / $(get notes.search_cpu_p99_ms) ms) | p50 < 5 ms | $v_notes | — |
| scheduler, 100,000 pending: fire lateness p99, a spread of $(get scheduler.spread.fired) / a burst of $(get scheduler.burst.fired) at one instant | $spread_p99 / $burst_p99 ms | p99 < 50 ms | $v_sched_late | — |
| scheduler, 100,000 pending: process RSS at peak (index alone) | $(kib_mb "$sched_kib") ($(kib_mb "$(get scheduler.index_kib)")) | < 50 MB | $v_sched_mem | — |
| task list sorted by urgency, $(get tasks.n) tasks ($(get tasks.pending) pending), p50 / p99 | $(get tasks.list_urgency_ms_p50) / $(get tasks.list_urgency_ms_p99) ms | no budget | — | — |
| RSS after the 100-connection phases (closed loop, then bursts) / peak | $(kib_mb "$(get chat.b100.rss_after_kib)") / $(kib_mb "$(get chat.b100.hwm_after_kib)") | no budget | — | $peer_peak peak (10 clients, process tree) |

The start verdict uses p90, the fan-out verdict p99 over all $(get raw.deliveries) deliveries.
Chat figures are the medians of $(get chat.runs) runs of \`bench-chat\` (each run's value is in
the details); the OpenClaw chat column is its own harness on OpenClaw (RESULTS.md), to be read
beside *lares under the same harness* below, not beside bench-chat's figures.

## Details

### Start-up and shutdown (bench/bench-start.c)

| | cold | warm |
|---|---|---|
| spawn → \`/readyz\` 200, min / p50 / p90 / max | $(get start.cold.ready_min_ms) / $cold_p50 / $cold_p90 / $(get start.cold.ready_max_ms) ms | $(get start.warm.ready_min_ms) / $warm_p50 / $warm_p90 / $(get start.warm.ready_max_ms) ms |
| spawn → "listening on" line, p50 | $(get start.cold.listen_p50_ms) ms | $(get start.warm.listen_p50_ms) ms |
| daemon CPU time at readiness, p50 | $(get start.cold.cpu_p50_ms) ms | $(get start.warm.cpu_p50_ms) ms |
| SIGTERM → exit (status 0, no WebSocket), p50 / max | $(get start.cold.stop_p50_ms) / $(get start.cold.stop_max_ms) ms | $(get start.warm.stop_p50_ms) / $(get start.warm.stop_max_ms) ms |
| most \`/readyz\` probes needed in one start | $(get start.cold.max_probes) | $(get start.warm.max_probes) |

Idle, $(get idle.wait_ms) ms after a warm start: VmRSS $(kib_mb "$idle_kib") (anonymous $(get idle.rss_anon_kib) KiB, file-backed
$(get idle.rss_file_kib) KiB — mostly shared libraries), $(get idle.threads) threads, $(get idle.fds) open fds, $(get idle.cpu_ms) ms CPU used since spawn.

### \`/healthz\` throughput (wrk)

| | 32 connections, $(get wrk32.seconds) s | 1 connection, $(get wrk1.seconds) s |
|---|---|---|
| requests/s | $(get wrk32.rps) | $(get wrk1.rps) |
| latency p50 / p90 / p99 / max | $(get wrk32.lat_p50_ms) / $(get wrk32.lat_p90_ms) / $(get wrk32.lat_p99_ms) / $(get wrk32.lat_max_ms) ms | $(get wrk1.lat_p50_ms) / $(get wrk1.lat_p90_ms) / $(get wrk1.lat_p99_ms) / $(get wrk1.lat_max_ms) ms |
| daemon CPU (cores busy) / per request | $(get wrk32.daemon_cores) / $(get wrk32.daemon_cpu_us_per_req) µs | $(get wrk1.daemon_cores) / $(get wrk1.daemon_cpu_us_per_req) µs |
| whole machine busy (both cores) | $(get wrk32.machine_busy_pct) % | $(get wrk1.machine_busy_pct) % |
| socket errors / non-2xx | $(get wrk32.socket_errors) / $(get wrk32.non2xx) | $(get wrk1.socket_errors) / $(get wrk1.non2xx) |

Daemon RSS after both runs: $(kib_mb "$(get wrk.rss_after_kib)") (peak $(kib_mb "$(get wrk.hwm_kib)")); exit status after SIGTERM: $(get wrk.daemon_exit).

### WebSocket fan-out, 1,000 clients (bench/bench-ws-fanout.c)

| | raw client (epoll) | libsoup client |
|---|---|---|
| POST → event, p50 / p90 / p99 / max | $(get raw.lat_p50_ms) / $(get raw.lat_p90_ms) / $(get raw.lat_p99_ms) / $(get raw.lat_max_ms) ms | $(get soup.lat_p50_ms) / $(get soup.lat_p90_ms) / $(get soup.lat_p99_ms) / $(get soup.lat_max_ms) ms |
| spread (event − the round's first event), p50 / p99 | $(get raw.spread_p50_ms) / $(get raw.spread_p99_ms) ms | $(get soup.spread_p50_ms) / $(get soup.spread_p99_ms) ms |
| slowest client per round, p50 / p99 | $(get raw.last_p50_ms) / $(get raw.last_p99_ms) ms | $(get soup.last_p50_ms) / $(get soup.last_p99_ms) ms |
| POST → 201 (sent after the fan-out), p50 / p99 | $(get raw.post_p50_ms) / $(get raw.post_p99_ms) ms | $(get soup.post_p50_ms) / $(get soup.post_p99_ms) ms |
| POST → 201 with no WebSocket open, p50 / p99 | $(get raw.base_post_p50_ms) / $(get raw.base_post_p99_ms) ms | $(get soup.base_post_p50_ms) / $(get soup.base_post_p99_ms) ms |
| daemon CPU per round / per delivery | $(get raw.daemon_cpu_us_per_round) µs / $(get raw.daemon_cpu_us_per_delivery) µs | $(get soup.daemon_cpu_us_per_round) µs / $(get soup.daemon_cpu_us_per_delivery) µs |
| daemon CPU per POST with no WebSocket open (schedstat) | $(get raw.base_daemon_cpu_us_per_post) µs | $(get soup.base_daemon_cpu_us_per_post) µs |
| bench (client) CPU per round | $(get raw.bench_cpu_us_per_round) µs | $(get soup.bench_cpu_us_per_round) µs |
| kernel floor: the same sends as plain \`send()\` calls to 1,000 loopback sockets, CPU per send ($(get raw.send_floor_bytes) bytes) | $(get raw.send_floor_us_per_send) µs | $(get soup.send_floor_us_per_send) µs |
| GET \`/healthz\` on a new connection, no / 1,000 idle WebSockets, p50 | $(get raw.healthz_ws0_p50_ms) / $(get raw.healthz_wsN_p50_ms) ms | $(get soup.healthz_ws0_p50_ms) / $(get soup.healthz_wsN_p50_ms) ms |
| time to open all 1,000 | $(get raw.connect_all_ms) ms | $(get soup.connect_all_ms) ms |
| daemon RSS before / with 1,000 open / after the rounds / peak | $(get raw.before_rss_kib) / $open_kib / $(get raw.after_rss_kib) / $(get raw.hwm_kib) KiB | $(get soup.before_rss_kib) / $open_kib_soup / $(get soup.after_rss_kib) / $(get soup.hwm_kib) KiB |
| daemon open fds with 1,000 WebSockets | $(get raw.open_fds) | $(get soup.open_fds) |
| SIGTERM with 1,000 open → all closed / → exit | $(get raw.stop_all_closed_ms) / $(get raw.stop_ms) ms ($(get raw.stop_close_1001) clients got close code 1001; exit status $(get raw.stop_exit_code)) | $(get soup.stop_all_closed_ms) / $(get soup.stop_ms) ms ($(get soup.stop_close_1001) got 1001; exit status $(get soup.stop_exit_code)) |

About $per_conn KiB of daemon RSS per open WebSocket (raw run: (with 1,000 open − before) / 1,000).

### Chat turns through \`/v1/chat/completions\` (bench/bench-chat.c)

Medians of $(get chat.runs) runs, raw client, fake LLM streaming $(get chat.tokens) tokens with no delay.
*overhead* = client TTFT − the fake LLM's own TTFT = *inbound* (send → the request is at the
fake) + *outbound* (the fake queued its first token → it is at the client). *At the sockets*,
"at" is when the bytes reached the receiving socket (the kernel's receive stamp), which leaves
out the time the fake and the bench waited for a CPU before reading them; *read by the bench*,
it is when each process read them. The budgets are held against the first. All in ms unless
stated.

| | 1 connection | 10 connections | 100 connections | bursts of 100 | throughput |
|---|---|---|---|---|---|
| connections / mode | $(get chat.c1.concurrency) / $(get chat.c1.mode) | $(get chat.c10.concurrency) / $(get chat.c10.mode) | $(get chat.c100.concurrency) / $(get chat.c100.mode) | $(get chat.b100.concurrency) / $(get chat.b100.mode) | $(get chat.tput.concurrency) / $(get chat.tput.mode) |
| recorded turns (warm-up turns) | $(get chat.c1.turns) ($(get chat.c1.warmup)) | $(get chat.c10.turns) ($(get chat.c10.warmup)) | $(get chat.c100.turns) ($(get chat.c100.warmup)) | $(get chat.b100.turns) ($(get chat.b100.warmup)) | $(get chat.tput.turns) ($(get chat.tput.warmup)) |
| **overhead at the sockets** p50 / p90 / p99 / max | $(get chat.c1.overhead_sock_p50_ms) / $(get chat.c1.overhead_sock_p90_ms) / $(get chat.c1.overhead_sock_p99_ms) / $(get chat.c1.overhead_sock_max_ms) | $(get chat.c10.overhead_sock_p50_ms) / $(get chat.c10.overhead_sock_p90_ms) / $(get chat.c10.overhead_sock_p99_ms) / $(get chat.c10.overhead_sock_max_ms) | $(get chat.c100.overhead_sock_p50_ms) / $(get chat.c100.overhead_sock_p90_ms) / $(get chat.c100.overhead_sock_p99_ms) / $(get chat.c100.overhead_sock_max_ms) | $(get chat.b100.overhead_sock_p50_ms) / $(get chat.b100.overhead_sock_p90_ms) / $(get chat.b100.overhead_sock_p99_ms) / $(get chat.b100.overhead_sock_max_ms) | $(get chat.tput.overhead_sock_p50_ms) / $(get chat.tput.overhead_sock_p90_ms) / $(get chat.tput.overhead_sock_p99_ms) / $(get chat.tput.overhead_sock_max_ms) |
| overhead at the sockets p99, each run | $(get chat.c1.overhead_sock_p99_ms.runs) | $(get chat.c10.overhead_sock_p99_ms.runs) | $(get chat.c100.overhead_sock_p99_ms.runs) | $(get chat.b100.overhead_sock_p99_ms.runs) | $(get chat.tput.overhead_sock_p99_ms.runs) |
| inbound / outbound at the sockets, p99 | $(get chat.c1.inbound_sock_p99_ms) / $(get chat.c1.outbound_sock_p99_ms) | $(get chat.c10.inbound_sock_p99_ms) / $(get chat.c10.outbound_sock_p99_ms) | $(get chat.c100.inbound_sock_p99_ms) / $(get chat.c100.outbound_sock_p99_ms) | $(get chat.b100.inbound_sock_p99_ms) / $(get chat.b100.outbound_sock_p99_ms) | $(get chat.tput.inbound_sock_p99_ms) / $(get chat.tput.outbound_sock_p99_ms) |
| overhead read by the bench, p50 / p90 / p99 / max | $(get chat.c1.overhead_p50_ms) / $(get chat.c1.overhead_p90_ms) / $(get chat.c1.overhead_p99_ms) / $(get chat.c1.overhead_max_ms) | $(get chat.c10.overhead_p50_ms) / $(get chat.c10.overhead_p90_ms) / $(get chat.c10.overhead_p99_ms) / $(get chat.c10.overhead_max_ms) | $(get chat.c100.overhead_p50_ms) / $(get chat.c100.overhead_p90_ms) / $(get chat.c100.overhead_p99_ms) / $(get chat.c100.overhead_max_ms) | $(get chat.b100.overhead_p50_ms) / $(get chat.b100.overhead_p90_ms) / $(get chat.b100.overhead_p99_ms) / $(get chat.b100.overhead_max_ms) | $(get chat.tput.overhead_p50_ms) / $(get chat.tput.overhead_p90_ms) / $(get chat.tput.overhead_p99_ms) / $(get chat.tput.overhead_max_ms) |
| overhead p50, each run | $(get chat.c1.overhead_p50_ms.runs) | $(get chat.c10.overhead_p50_ms.runs) | $(get chat.c100.overhead_p50_ms.runs) | $(get chat.b100.overhead_p50_ms.runs) | $(get chat.tput.overhead_p50_ms.runs) |
| overhead p99, each run | $(get chat.c1.overhead_p99_ms.runs) | $(get chat.c10.overhead_p99_ms.runs) | $(get chat.c100.overhead_p99_ms.runs) | $(get chat.b100.overhead_p99_ms.runs) | $(get chat.tput.overhead_p99_ms.runs) |
| inbound p50 / p99 | $(get chat.c1.inbound_p50_ms) / $(get chat.c1.inbound_p99_ms) | $(get chat.c10.inbound_p50_ms) / $(get chat.c10.inbound_p99_ms) | $(get chat.c100.inbound_p50_ms) / $(get chat.c100.inbound_p99_ms) | $(get chat.b100.inbound_p50_ms) / $(get chat.b100.inbound_p99_ms) | $(get chat.tput.inbound_p50_ms) / $(get chat.tput.inbound_p99_ms) |
| outbound p50 / p99 | $(get chat.c1.outbound_p50_ms) / $(get chat.c1.outbound_p99_ms) | $(get chat.c10.outbound_p50_ms) / $(get chat.c10.outbound_p99_ms) | $(get chat.c100.outbound_p50_ms) / $(get chat.c100.outbound_p99_ms) | $(get chat.b100.outbound_p50_ms) / $(get chat.b100.outbound_p99_ms) | $(get chat.tput.outbound_p50_ms) / $(get chat.tput.outbound_p99_ms) |
| client TTFT p50 / p99 | $(get chat.c1.ttft_p50_ms) / $(get chat.c1.ttft_p99_ms) | $(get chat.c10.ttft_p50_ms) / $(get chat.c10.ttft_p99_ms) | $(get chat.c100.ttft_p50_ms) / $(get chat.c100.ttft_p99_ms) | $(get chat.b100.ttft_p50_ms) / $(get chat.b100.ttft_p99_ms) | $(get chat.tput.ttft_p50_ms) / $(get chat.tput.ttft_p99_ms) |
| fake LLM's own TTFT p50 / p99 | $(get chat.c1.fake_ttft_p50_ms) / $(get chat.c1.fake_ttft_p99_ms) | $(get chat.c10.fake_ttft_p50_ms) / $(get chat.c10.fake_ttft_p99_ms) | $(get chat.c100.fake_ttft_p50_ms) / $(get chat.c100.fake_ttft_p99_ms) | $(get chat.b100.fake_ttft_p50_ms) / $(get chat.b100.fake_ttft_p99_ms) | $(get chat.tput.fake_ttft_p50_ms) / $(get chat.tput.fake_ttft_p99_ms) |
| full turn (send → [DONE]) p50 / p99 | $(get chat.c1.turn_p50_ms) / $(get chat.c1.turn_p99_ms) | $(get chat.c10.turn_p50_ms) / $(get chat.c10.turn_p99_ms) | $(get chat.c100.turn_p50_ms) / $(get chat.c100.turn_p99_ms) | $(get chat.b100.turn_p50_ms) / $(get chat.b100.turn_p99_ms) | $(get chat.tput.turn_p50_ms) / $(get chat.tput.turn_p99_ms) |
| **turns/s** | $(get chat.c1.turns_per_s) | $(get chat.c10.turns_per_s) | $(get chat.c100.turns_per_s) | $(get chat.b100.turns_per_s) | $(get chat.tput.turns_per_s) |
| turns/s, each run | $(get chat.c1.turns_per_s.runs) | $(get chat.c10.turns_per_s.runs) | $(get chat.c100.turns_per_s.runs) | $(get chat.b100.turns_per_s.runs) | $(get chat.tput.turns_per_s.runs) |
| CPU per turn, µs: daemon / fake LLM / bench client | $(get chat.c1.daemon_cpu_us_per_turn) / $(get chat.c1.fake_cpu_us_per_turn) / $(get chat.c1.bench_cpu_us_per_turn) | $(get chat.c10.daemon_cpu_us_per_turn) / $(get chat.c10.fake_cpu_us_per_turn) / $(get chat.c10.bench_cpu_us_per_turn) | $(get chat.c100.daemon_cpu_us_per_turn) / $(get chat.c100.fake_cpu_us_per_turn) / $(get chat.c100.bench_cpu_us_per_turn) | $(get chat.b100.daemon_cpu_us_per_turn) / $(get chat.b100.fake_cpu_us_per_turn) / $(get chat.b100.bench_cpu_us_per_turn) | $(get chat.tput.daemon_cpu_us_per_turn) / $(get chat.tput.fake_cpu_us_per_turn) / $(get chat.tput.bench_cpu_us_per_turn) |
| daemon cores busy / whole machine busy | $(get chat.c1.daemon_cores) / $(get chat.c1.machine_busy_pct) % | $(get chat.c10.daemon_cores) / $(get chat.c10.machine_busy_pct) % | $(get chat.c100.daemon_cores) / $(get chat.c100.machine_busy_pct) % | $(get chat.b100.daemon_cores) / $(get chat.b100.machine_busy_pct) % | $(get chat.tput.daemon_cores) / $(get chat.tput.machine_busy_pct) % |
| bytes sent to the LLM per turn, p50 / max; LLM calls per turn | $(get chat.c1.llm_bytes_p50) / $(get chat.c1.llm_bytes_max); $(get chat.c1.llm_calls_max) | $(get chat.c10.llm_bytes_p50) / $(get chat.c10.llm_bytes_max); $(get chat.c10.llm_calls_max) | $(get chat.c100.llm_bytes_p50) / $(get chat.c100.llm_bytes_max); $(get chat.c100.llm_calls_max) | $(get chat.b100.llm_bytes_p50) / $(get chat.b100.llm_bytes_max); $(get chat.b100.llm_calls_max) | $(get chat.tput.llm_bytes_p50) / $(get chat.tput.llm_bytes_max); $(get chat.tput.llm_calls_max) |

Daemon RSS (medians): $(kib_mb "$chat_idle_kib") idle with the LLM configured, $(kib_mb "$(get chat.c100.rss_after_kib)") after the
100-connection closed loop, $(kib_mb "$(get chat.b100.rss_after_kib)") after the bursts, $(kib_mb "$(get chat.rss_end_kib)") at the end (peak
$(kib_mb "$(get chat.hwm_end_kib)")); exit status after SIGTERM: $(get chat.daemon_exit).

**Client cost.** The same bench with libsoup's client (\`--client soup\`: one SoupSession on one
GLib main loop), one run: 1 connection overhead p50 / p99 $(get chatsoup.c1.overhead_p50_ms) / $(get chatsoup.c1.overhead_p99_ms) ms
(raw client: $c1_p50 / $c1_p99 ms), bench CPU $(get chatsoup.c1.bench_cpu_us_per_turn) µs per turn (raw: $(get chat.c1.bench_cpu_us_per_turn) µs); throughput
$(get chatsoup.tput.turns_per_s) turns/s (raw: $tput) with bench CPU $(get chatsoup.tput.bench_cpu_us_per_turn) µs per turn (raw: $(get chat.tput.bench_cpu_us_per_turn) µs). The bench
shares the $cores cores with the daemon, so a heavier client lowers turns/s and lengthens the
tails: the raw client's figures are the ones held against the budgets.

**A paced LLM.** A real server streams its tokens apart. The same bench with the fake waiting
10 ms before each of its $(get chatpaced.tokens) tokens (the slower phase of OpenClaw's harness; a turn lasts ~210 ms),
medians of $(get chat.runs) runs. With 100 turns in flight the daemon handles about 21 reads from the LLM and 21 flushes to
a client per turn, so this phase weighs the per-token cost where the zero-delay phases weigh the
per-turn cost.

The closed loop keeps its clients in step: every turn lasts the same ~210 ms, so the 100 turns
that started together end together and the next 100 start together, a burst every turn. The
open loop is how independent users arrive: each turn comes at a random time (a Poisson process
at the rate that keeps 100 turns running: 100 / 0.2 s), on its own connection, whether or not
earlier turns have ended. It is the figure held against the budget for 100 concurrent turns;
the in-step and burst figures above bound the worst case.

| | 1 connection | 10 connections | 100 connections | open loop, ~100 running |
|---|---|---|---|---|
| recorded turns (warm-up turns) | $(get chatpaced.c1.turns) ($(get chatpaced.c1.warmup)) | $(get chatpaced.c10.turns) ($(get chatpaced.c10.warmup)) | $(get chatpaced.c100.turns) ($(get chatpaced.c100.warmup)) | $(get chatpaced.o100.turns) ($(get chatpaced.o100.warmup)) |
| turns running on average (time-weighted) | $(get chatpaced.c1.mean_in_flight) | $(get chatpaced.c10.mean_in_flight) | $(get chatpaced.c100.mean_in_flight) | $(get chatpaced.o100.mean_in_flight) (arrivals: $(get chatpaced.o100.arrival_rate) turns/s; a send at most $(get chatpaced.o100.send_late_max_ms) ms late) |
| **overhead at the sockets** p50 / p90 / p99 / max | $(get chatpaced.c1.overhead_sock_p50_ms) / $(get chatpaced.c1.overhead_sock_p90_ms) / $(get chatpaced.c1.overhead_sock_p99_ms) / $(get chatpaced.c1.overhead_sock_max_ms) | $(get chatpaced.c10.overhead_sock_p50_ms) / $(get chatpaced.c10.overhead_sock_p90_ms) / $(get chatpaced.c10.overhead_sock_p99_ms) / $(get chatpaced.c10.overhead_sock_max_ms) | $(get chatpaced.c100.overhead_sock_p50_ms) / $(get chatpaced.c100.overhead_sock_p90_ms) / $(get chatpaced.c100.overhead_sock_p99_ms) / $(get chatpaced.c100.overhead_sock_max_ms) | $(get chatpaced.o100.overhead_sock_p50_ms) / $(get chatpaced.o100.overhead_sock_p90_ms) / $(get chatpaced.o100.overhead_sock_p99_ms) / $(get chatpaced.o100.overhead_sock_max_ms) |
| overhead at the sockets p99, each run | $(get chatpaced.c1.overhead_sock_p99_ms.runs) | $(get chatpaced.c10.overhead_sock_p99_ms.runs) | $(get chatpaced.c100.overhead_sock_p99_ms.runs) | $(get chatpaced.o100.overhead_sock_p99_ms.runs) |
| inbound / outbound at the sockets, p99 | $(get chatpaced.c1.inbound_sock_p99_ms) / $(get chatpaced.c1.outbound_sock_p99_ms) | $(get chatpaced.c10.inbound_sock_p99_ms) / $(get chatpaced.c10.outbound_sock_p99_ms) | $(get chatpaced.c100.inbound_sock_p99_ms) / $(get chatpaced.c100.outbound_sock_p99_ms) | $(get chatpaced.o100.inbound_sock_p99_ms) / $(get chatpaced.o100.outbound_sock_p99_ms) |
| overhead read by the bench, p50 / p90 / p99 / max | $(get chatpaced.c1.overhead_p50_ms) / $(get chatpaced.c1.overhead_p90_ms) / $(get chatpaced.c1.overhead_p99_ms) / $(get chatpaced.c1.overhead_max_ms) | $(get chatpaced.c10.overhead_p50_ms) / $(get chatpaced.c10.overhead_p90_ms) / $(get chatpaced.c10.overhead_p99_ms) / $(get chatpaced.c10.overhead_max_ms) | $(get chatpaced.c100.overhead_p50_ms) / $(get chatpaced.c100.overhead_p90_ms) / $(get chatpaced.c100.overhead_p99_ms) / $(get chatpaced.c100.overhead_max_ms) | $(get chatpaced.o100.overhead_p50_ms) / $(get chatpaced.o100.overhead_p90_ms) / $(get chatpaced.o100.overhead_p99_ms) / $(get chatpaced.o100.overhead_max_ms) |
| inbound p50 / p99 | $(get chatpaced.c1.inbound_p50_ms) / $(get chatpaced.c1.inbound_p99_ms) | $(get chatpaced.c10.inbound_p50_ms) / $(get chatpaced.c10.inbound_p99_ms) | $(get chatpaced.c100.inbound_p50_ms) / $(get chatpaced.c100.inbound_p99_ms) | $(get chatpaced.o100.inbound_p50_ms) / $(get chatpaced.o100.inbound_p99_ms) |
| outbound p50 / p99 | $(get chatpaced.c1.outbound_p50_ms) / $(get chatpaced.c1.outbound_p99_ms) | $(get chatpaced.c10.outbound_p50_ms) / $(get chatpaced.c10.outbound_p99_ms) | $(get chatpaced.c100.outbound_p50_ms) / $(get chatpaced.c100.outbound_p99_ms) | $(get chatpaced.o100.outbound_p50_ms) / $(get chatpaced.o100.outbound_p99_ms) |
| fake LLM's own TTFT p50 / p99 | $(get chatpaced.c1.fake_ttft_p50_ms) / $(get chatpaced.c1.fake_ttft_p99_ms) | $(get chatpaced.c10.fake_ttft_p50_ms) / $(get chatpaced.c10.fake_ttft_p99_ms) | $(get chatpaced.c100.fake_ttft_p50_ms) / $(get chatpaced.c100.fake_ttft_p99_ms) | $(get chatpaced.o100.fake_ttft_p50_ms) / $(get chatpaced.o100.fake_ttft_p99_ms) |
| full turn p50 / p99 | $(get chatpaced.c1.turn_p50_ms) / $(get chatpaced.c1.turn_p99_ms) | $(get chatpaced.c10.turn_p50_ms) / $(get chatpaced.c10.turn_p99_ms) | $(get chatpaced.c100.turn_p50_ms) / $(get chatpaced.c100.turn_p99_ms) | $(get chatpaced.o100.turn_p50_ms) / $(get chatpaced.o100.turn_p99_ms) |
| turns/s | $(get chatpaced.c1.turns_per_s) | $(get chatpaced.c10.turns_per_s) | $(get chatpaced.c100.turns_per_s) | $(get chatpaced.o100.turns_per_s) |
| CPU per turn, µs: daemon / fake LLM / bench client | $(get chatpaced.c1.daemon_cpu_us_per_turn) / $(get chatpaced.c1.fake_cpu_us_per_turn) / $(get chatpaced.c1.bench_cpu_us_per_turn) | $(get chatpaced.c10.daemon_cpu_us_per_turn) / $(get chatpaced.c10.fake_cpu_us_per_turn) / $(get chatpaced.c10.bench_cpu_us_per_turn) | $(get chatpaced.c100.daemon_cpu_us_per_turn) / $(get chatpaced.c100.fake_cpu_us_per_turn) / $(get chatpaced.c100.bench_cpu_us_per_turn) | $(get chatpaced.o100.daemon_cpu_us_per_turn) / $(get chatpaced.o100.fake_cpu_us_per_turn) / $(get chatpaced.o100.bench_cpu_us_per_turn) |
| daemon cores busy / whole machine busy | $(get chatpaced.c1.daemon_cores) / $(get chatpaced.c1.machine_busy_pct) % | $(get chatpaced.c10.daemon_cores) / $(get chatpaced.c10.machine_busy_pct) % | $(get chatpaced.c100.daemon_cores) / $(get chatpaced.c100.machine_busy_pct) % | $(get chatpaced.o100.daemon_cores) / $(get chatpaced.o100.machine_busy_pct) % |
| host steal (CPU time the hypervisor gave elsewhere, counted in busy), each run | $(get chatpaced.c1.steal_pct.runs) % | $(get chatpaced.c10.steal_pct.runs) % | $(get chatpaced.c100.steal_pct.runs) % | $(get chatpaced.o100.steal_pct.runs) % |

### The peer's harness against lares (shared/peers/openclaw: fake_llm.py + bench.py)

EOF

if [ -n "$(get peerh.skipped)" ]; then
    printf 'Not run: %s.\n\n' "$(get peerh.skipped)" >>"$tmp_doc"
else
    cat >>"$tmp_doc" <<EOF
As the peer's README says ("Measuring our daemon with the same harness"): lares's LLM is
\`fake_llm.py\` (Python, 20 tokens, no delay), and \`bench.py --model lares --turns 50 --warmup 3\`,
then \`--concurrency 10 --turns 100 --warmup 0\`, each run 3 times against lares's
\`/v1/chat/completions\` on one daemon; medians of the 3, each run in brackets. This harness opens
a new connection per turn, uses Python's http.client and counts the Python fake's own time to
its first token as overhead. OpenClaw's figures come from the same scripts on this machine
(RESULTS.md: pooled over 3 runs, or per run where marked).

| | lares, 1 client | OpenClaw, 1 client | lares, 10 clients | OpenClaw, 10 clients |
|---|---|---|---|---|
| overhead p50 | $(get peerh.c1.overhead_ms_p50) ms ($(get peerh.c1.overhead_ms_p50.runs)) | $peer_c1_p50 ms | $(get peerh.c10.overhead_ms_p50) ms ($(get peerh.c10.overhead_ms_p50.runs)) | $peer_c10_p50 ms |
| overhead p99 | $(get peerh.c1.overhead_ms_p99) ms ($(get peerh.c1.overhead_ms_p99.runs)) | $peer_c1_p99 ms | $(get peerh.c10.overhead_ms_p99) ms ($(get peerh.c10.overhead_ms_p99.runs)) | $peer_c10_p99 ms |
| inbound p50 / outbound p50 | $(get peerh.c1.inbound_ms_p50) / $(get peerh.c1.outbound_ms_p50) ms | $peer_c1_io ms (per run) | $(get peerh.c10.inbound_ms_p50) / $(get peerh.c10.outbound_ms_p50) ms | — |
| full turn p50 / p99 | $(get peerh.c1.turn_ms_p50) / $(get peerh.c1.turn_ms_p99) ms | — | $(get peerh.c10.turn_ms_p50) / $(get peerh.c10.turn_ms_p99) ms | — |
| turns/s | $(get peerh.c1.turns_per_s) ($(get peerh.c1.turns_per_s.runs)) | $peer_c1_tps (per run) | $(get peerh.c10.turns_per_s) ($(get peerh.c10.turns_per_s.runs)) | $peer_c10_tps (per run) |
| daemon CPU per turn | $(get peerh.c1.cpu_ms_per_turn) ms | $peer_c1_cpu ms (per run) | $(get peerh.c10.cpu_ms_per_turn) ms | $peer_c10_cpu ms (per run) |
| failed turns; LLM calls per turn (max) | $(get peerh.c1.errors); $(get peerh.c1.llm_calls_max) | see RESULTS.md | $(get peerh.c10.errors); $(get peerh.c10.llm_calls_max) | see RESULTS.md |
| bytes sent to the LLM per turn (median) | $(get peerh.llm_bytes_p50) | ~$peer_bytes | | |
| *fake_llm.py with TCP_NODELAY:* overhead p50 / p99 | $(get peerhnd.c1.overhead_ms_p50) / $(get peerhnd.c1.overhead_ms_p99) ms | — | $(get peerhnd.c10.overhead_ms_p50) / $(get peerhnd.c10.overhead_ms_p99) ms | — |
| *the same:* inbound p50 / outbound p50 | $(get peerhnd.c1.inbound_ms_p50) / $(get peerhnd.c1.outbound_ms_p50) ms | — | $(get peerhnd.c10.inbound_ms_p50) / $(get peerhnd.c10.outbound_ms_p50) ms | — |
| *the same:* turns/s; daemon CPU per turn | $(get peerhnd.c1.turns_per_s); $(get peerhnd.c1.cpu_ms_per_turn) ms | — | $(get peerhnd.c10.turns_per_s); $(get peerhnd.c10.cpu_ms_per_turn) ms | — |

The last three rows rerun the harness with one change: \`fake_llm.py\` imported by a wrapper that
sets \`disable_nagle_algorithm\` on its request handler (TCP_NODELAY; the fake's code is
unchanged). \`fake_llm.py\` writes the response headers and then each SSE chunk in separate
\`send()\` calls; with Nagle on, its first chunk waits for the ACK of the headers. Linux delays
that ACK by up to 40 ms on a connection that looks interactive, unless the reader asks for
it at once: lares sets \`TCP_QUICKACK\` once each LLM request is written, which keeps every
ACK of the answer prompt (docs/internals/llm.md), so both runs should agree; such a wait
would land in *outbound*.

Python $(get peerh.python). Daemon RSS after these 459 turns: $(kib_mb "$(get peerh.rss_after_kib)"); exit status after SIGTERM:
$(get peerh.daemon_exit). bench.py's CPU figure has 10 ms resolution (/proc clock ticks).

EOF
fi

# Notes, tasks, scheduler.
{
    cat <<EOF
### Notes search, 100,000 notes (bench/bench-notes.c)

$(get notes.notes) notes of 20–60 words from a 5,000-word Zipf-like vocabulary, one user;
\`lares_notes_search()\` with limit 20 on a reader that keeps its statements, each query
50 times after one unrecorded run. *matches* = notes containing the query;
only the newest $(get notes.rank_window) of them are ranked (docs/internals/notes.md, Cost).
Wall time is what the budget is about; the thread's CPU time is beside it because other
work may share the machine.

| query | matches | hits | wall p50 / p99 ms | CPU p50 ms |
|---|---|---|---|---|
EOF
    q=0
    while [ -n "$(get "notes.query_$q")" ]; do
        printf '| `%s` | %s | %s | %s / %s | %s |\n' "$(get "notes.query_$q")" "$(get "notes.query_${q}_matches")" \
            "$(get "notes.query_${q}_hits")" "$(get "notes.query_${q}_p50_ms")" "$(get "notes.query_${q}_p99_ms")" \
            "$(get "notes.query_${q}_cpu_p50_ms")"
        q=$((q + 1))
    done
    cat <<EOF
| all | | | $(get notes.search_p50_ms) / $(get notes.search_p99_ms) (max $(get notes.search_max_ms)) | $(get notes.search_cpu_p50_ms) (p99 $(get notes.search_cpu_p99_ms)) |

Inserting them (FTS triggers included, writes of 5,000): $(get notes.insert_ms) ms, $(get notes.insert_per_note_us) µs a note.

### Task list, 10,000 tasks (bench/bench-tasks.c)

$(get tasks.n) tasks (projects, tags, priorities, due dates, annotations, a few dependencies)
inserted in $(get tasks.insert_ms) ms; \`lares_tasks_list()\` of the $(get tasks.pending) pending ones sorted by
urgency (read, parse, blocking / blocked lookups, urgency, sort): p50 $(get tasks.list_urgency_ms_p50) ms, p99
$(get tasks.list_urgency_ms_p99) ms; sorted by id: p50 $(get tasks.list_by_id_ms_p50) ms. No budget in SPEC §11.

### Scheduler, 100,000 pending jobs (bench/bench-scheduler.c)

| | |
|---|---|
| pending jobs (1,000 users, due over 30 days) | $(get scheduler.pending) |
| scheduler start (scan of every pending job into the index) | $(get scheduler.start_ms) ms |
| process RSS before / after the start (index) / peak | $(kib_mb "$(get scheduler.rss_before_kib)") / $(kib_mb "$(get scheduler.rss_kib)") ($(kib_mb "$(get scheduler.index_kib)")) / $(kib_mb "$sched_kib") |
| spread: $(get scheduler.spread.fired) jobs due one every 2 ms, lateness p50 / p99 / max | $(get scheduler.spread.lateness_ms_p50) / $spread_p99 / $(get scheduler.spread.lateness_ms_max) ms |
| burst: $(get scheduler.burst.fired) jobs due at one instant, lateness p50 / p99 / max | $(get scheduler.burst.lateness_ms_p50) / $burst_p99 / $(get scheduler.burst.lateness_ms_max) ms |
| jobs still pending at the end (the 100,000 are due later) | $(get scheduler.still_pending) |

Lateness = when the bus subscriber got the notification (after the firing committed:
WAL, \`synchronous=FULL\`) − the job's due time. Load average after these three benches:
$(get machine.loadavg_after).

EOF
} >>"$tmp_doc"
# ---- Load (bench/bench-load.c) -----------------------------------------------------------
if [ -z "$(get load.skipped)" ]; then
    lv_open="$(verdict "$(mb "$(get load.ws.rss_open_kib)")" 60)"
    lv_fan="$(verdict "$(get load.ws.event_p99_ms)" 10)"
    lv_chat="$(verdict "$(get load.chat.added_p99_ms)" 20)"
    cat >>"$tmp_doc" <<EOF
## Load (bench/bench-load.c)

Three workloads, each against a fresh daemon, $(get load.rest.window_s) s measured after a 2 s warm-up, on
the same $cores shared cores as everything above: the harness, the fake LLM and the kernel's
loopback TCP compete with the daemon. Latency counts from each request's *scheduled* send time in
the open-loop rows, so a stalled daemon cannot hide its backlog. Daemon CPU is utime + stime from
\`/proc/PID/stat\`, which does not depend on how busy the machine is: on a shared machine it is the
figure to trust, and the latencies are upper bounds. After each run the daemon gets SIGTERM and the
harness opens its database: every acknowledged write must be there.

| workload | load held | latency p50 / p99 / max | errors | daemon RSS: at the end / peak | daemon CPU | SPEC §11 budget | verdict | OpenClaw (peer) |
|---|---|---|---|---|---|---|---|---|
| $(get load.ws.clients) WebSockets of one user; notes, tasks and reminders created at $(get load.ws.rate)/s (open loop), each event to every client | $(get load.ws.deliveries) deliveries of $(get load.ws.events_acked) events | event (write sent → client has it) $(get load.ws.event_p50_ms) / $(get load.ws.event_p99_ms) / $(get load.ws.event_max_ms) ms | $(get load.ws.errors) failed writes; $(get load.ws.deliveries_missing) missing, $(get load.ws.deliveries_duplicate) duplicate deliveries | $(kib_mb "$(get load.ws.rss_kib)") / $(kib_mb "$(get load.ws.hwm_kib)") | $(get load.ws.daemon_cores) cores; $(get load.ws.daemon_cpu_us_per_req) µs per event ($(get load.ws.clients) sends) | RSS < 60 MB with 1,000 WebSockets; fan-out p99 < 10 ms | $lv_open; $lv_fan | — (no equivalent) |
| $(get load.chat.concurrency) chat turns in flight (closed loop; the slots' first turns spread over one turn's length, so they do not run in step), \`POST /api/v1/chat\` as SSE; fake LLM: first token after $(get load.chat.fake_first_delay_ms) ms, $(get load.chat.fake_tokens) tokens $(get load.chat.fake_token_delay_ms) ms apart | $(get load.chat.turns_per_s) turns/s | added to the first token (TTFT − $(get load.chat.fake_first_delay_ms) ms) $(get load.chat.added_p50_ms) / $(get load.chat.added_p99_ms) / $(get load.chat.added_max_ms) ms; whole turn $(get load.chat.lat_p50_ms) / $(get load.chat.lat_p99_ms) ms | $(get load.chat.errors) | $(kib_mb "$(get load.chat.rss_kib)") / $(kib_mb "$(get load.chat.hwm_kib)") | $(get load.chat.daemon_cores) cores; $(get load.chat.daemon_cpu_us_per_req) µs per turn | added latency p99 < 20 ms at 100 concurrent turns | $lv_chat | 10 clients: $peer_c10_p50 ms p50 overhead; $peer_c10_tps turns/s (RESULTS.md) |
| REST mix at $(get load.rest.rate) requests/s (open loop): 25 % note and 25 % task creation, 10 % task completion, 20 % search, 20 % urgency-sorted task list | $(get load.rest.requests_per_s) requests/s | $(get load.rest.lat_p50_ms) / $(get load.rest.lat_p99_ms) / $(get load.rest.lat_max_ms) ms | $(get load.rest.errors) | $(kib_mb "$(get load.rest.rss_kib)") / $(kib_mb "$(get load.rest.hwm_kib)") | $(get load.rest.daemon_cores) cores; $(get load.rest.daemon_cpu_us_per_req) µs per request | no budget | — | — |

REST mix per kind, p50 / p99 ms: note creation $(get load.rest.note_create.lat_p50_ms) / $(get load.rest.note_create.lat_p99_ms), task creation
$(get load.rest.task_create.lat_p50_ms) / $(get load.rest.task_create.lat_p99_ms), completion $(get load.rest.task_done.lat_p50_ms) / $(get load.rest.task_done.lat_p99_ms), search $(get load.rest.search.lat_p50_ms) / $(get load.rest.search.lat_p99_ms), task
list $(get load.rest.task_list.lat_p50_ms) / $(get load.rest.task_list.lat_p99_ms). The whole machine was $(get load.ws.machine_busy_pct) % / $(get load.chat.machine_busy_pct) % / $(get load.rest.machine_busy_pct) % busy during
the three runs. Writes acknowledged and found after the stop: $(get load.ws.acked_writes) / $(get load.chat.acked_writes) / $(get load.rest.acked_writes);
**lost: $(get load.ws.writes_lost) / $(get load.chat.writes_lost) / $(get load.rest.writes_lost)**. Chat turns answered \`done\`: $(get load.chat.chat_turns_done), recorded \`done\` in the
store: $(get load.chat.turns_done_in_store). \`PRAGMA quick_check\`: $(get load.ws.quick_check) / $(get load.chat.quick_check) / $(get load.rest.quick_check). SIGTERM with all
$(get load.ws.clients) WebSockets open: $(get load.ws.stop_close_1001) closed with 1001 after $(get load.ws.stop_all_closed_ms) ms, exit status $(get load.ws.daemon_exit). The
daemon's open-file limit: $(get load.ws.daemon_nofile) (it raises its soft limit to the hard one at start). Bench
CPU per request (the harness's own cost on the shared cores): $(get load.ws.bench_cpu_us_per_req) / $(get load.chat.bench_cpu_us_per_req) / $(get load.rest.bench_cpu_us_per_req) µs.
The 10-minute soak of all three at once (\`make soak\`) is in docs/RELIABILITY.md.

EOF
    if [ "$lv_fan" != "met" ]; then
        cat >>"$tmp_doc" <<EOF
- **Fan-out p99 < 10 ms is missed under this load** ($(get load.ws.event_p99_ms) ms): each event costs the daemon
  $(get load.ws.daemon_cpu_us_per_req) µs of CPU for its $(get load.ws.clients) sends, so $(get load.ws.rate) events a second keep $(get load.ws.daemon_cores) of a core busy, and the
  harness's own receive work ($(get load.ws.bench_cpu_us_per_req) µs per event) shares the same $cores cores; an event that
  arrives while the previous one is still being sent waits for it (see the fan-out details above).
EOF
    fi
    if [ "$lv_chat" != "met" ]; then
        cat >>"$tmp_doc" <<EOF
- **Added latency p99 < 20 ms at 100 concurrent turns is missed** ($(get load.chat.added_p99_ms) ms): with the
  fake LLM pacing its tokens, $(get load.chat.concurrency) turns in flight make $(get load.chat.turns_per_s) turns/s, each costing the daemon
  $(get load.chat.daemon_cpu_us_per_req) µs of CPU ($(get load.chat.daemon_cores) cores); a turn's first token waits behind the work the
  main thread is doing for the other turns (their requests, and their tokens, each its own
  SSE chunk and an event to each of the user's connections). The chat details above break
  the per-turn cost down.
EOF
    fi
    echo >>"$tmp_doc"
fi

# Honest lines for missed budgets and anomalies, computed from the figures.
{
    echo "## Budgets missed and anomalies"
    echo
    n=0
    if [ "$v_fan_raw" != "met" ] || [ "$v_fan_soup" != "met" ]; then
        n=$((n + 1))
        cat <<EOF
- **Fan-out p99 < 10 ms at 1,000 clients is missed** (raw client p99 $raw_p99 ms; libsoup
  client p99 $soup_p99 ms). The daemon itself spends $(get raw.daemon_cpu_us_per_round) µs of CPU per round
  ($(get raw.daemon_cpu_us_per_delivery) µs per delivery), against $(get raw.base_daemon_cpu_us_per_post) µs for the same POST with no WebSocket
  open, so the last client of a round hears of the note $(get raw.last_p50_ms) ms (p50) after the
  POST. The spread column shows it is the fan-out, not the commit (POST alone:
  $(get raw.base_post_p50_ms) ms p50), that takes the time. Where it goes: the WebSockets live on one I/O
  thread of their own (docs/internals/http.md), each event's frame is built once, and each
  client costs one \`send()\` of it; the same sends from a plain C loop, without lares, cost
  $(get raw.send_floor_us_per_send) µs of CPU each on this machine (kernel floor row above: on loopback the sender's
  system call also runs the receiver's side of each packet). So the fan-out of one event to
  1,000 clients takes about $(get raw.send_floor_us_per_send) ms of one core in the kernel alone, plus the POST and its
  commit, on $cores cores that the 1,000 receiving clients also need; p99 < 10 ms at 1,000
  clients needs cheaper sends than TCP loopback gives here or more than one sending core.
  The libsoup client is slower still ($(get soup.bench_cpu_us_per_round) µs of bench CPU per round) because its
  one GLib loop also scans all 1,000 sockets on every wakeup.
EOF
    fi
    if [ "$v_cold" != "met" ] || [ "$v_warm" != "met" ]; then
        n=$((n + 1))
        echo "- **Start → ready < 50 ms is missed** (p90 cold $cold_p90 ms, warm $warm_p90 ms)."
        echo "  A cold start (new data directory) creates the first admin; hashing its password with"
        echo "  Argon2id at OWASP's minimum (m=19 MiB, t=2) takes ~20 ms on this machine and runs on a"
        echo "  thread while the schema is created and the server set up, so it is the longest step of"
        echo "  a first start. It happens once per installation; a warm start does no hashing."
    fi
    if [ "$v_idle" != "met" ]; then
        n=$((n + 1))
        echo "- **Idle RSS < 15 MB is missed** ($(kib_mb "$idle_kib")). Most of it is the shared libraries'"
        echo "  file pages (libc, SQLite, GLib, GIO, libsoup, libical's ICU: $(get idle.rss_file_kib) KiB). The anonymous part"
        echo "  ($(get idle.rss_anon_kib) KiB) was about 3.4 MB when last looked at (/proc/PID/smaps, 2026-11-22): the"
        echo "  intent engine ~1.8 MB (its frozen trie 1.2 MB, the rest in the malloc arena of the thread"
        echo "  that compiled it), the libraries' relocated data and bss ~0.85 MB, the main heap ~0.7 MB."
        echo "  That arena is where growth came from before: what the engine keeps, scattered over pages"
        echo "  of the compile's freed scratch (docs/internals/intent.md)."
    fi
    if [ "$v_open" != "met" ]; then
        n=$((n + 1))
        echo "- **RSS < 60 MB with 1,000 WebSockets is missed** ($(kib_mb "$open_kib") / $(kib_mb "$open_kib_soup"))."
    fi
    sr="$(get raw.stop_ms)"; ss="$(get soup.stop_ms)"
    if awk -v a="$sr" -v b="$ss" 'BEGIN { exit !(a > 1000 || b > 1000) }'; then
        n=$((n + 1))
        cat <<EOF
- **Slow shutdown once WebSockets were used:** SIGTERM → exit took $sr ms (raw run) and
  $ss ms (libsoup run) although the daemon had closed every client (1001) after
  $(get raw.stop_all_closed_ms) / $(get soup.stop_all_closed_ms) ms. Raw run: $(stop_note raw). The count of
  in-flight requests does not drop when a request becomes a WebSocket, so shutdown waits
  out the whole \`server.shutdown_timeout\`. Exit status is still $(get raw.stop_exit_code) / $(get soup.stop_exit_code).
EOF
    fi
    h0="$(get raw.healthz_ws0_p50_ms)"; h1="$(get raw.healthz_wsN_p50_ms)"
    if awk -v a="$h0" -v b="$h1" 'BEGIN { exit !(b > 1.3 * a) }'; then
        n=$((n + 1))
        cat <<EOF
- **Idle WebSockets slow every request:** a \`GET /healthz\` on a new connection takes $h1 ms
  (p50) with 1,000 idle WebSockets open against $h0 ms with none. Each main-loop wakeup
  polls every open socket, so per-request cost grows with the number of connections.
EOF
    fi
    p0="$(get raw.post_p50_ms)"; l0="$(get raw.last_p50_ms)"
    if awk -v p="$p0" -v l="$l0" 'BEGIN { exit !(p >= l) }'; then
        n=$((n + 1))
        cat <<EOF
- **The writer waits for the fan-out:** POST → 201 is $p0 ms (p50) with 1,000 WebSockets
  open, later than the slowest client's event ($l0 ms p50), against
  $(get raw.base_post_p50_ms) ms with none: the note is published to every socket before the
  201 is sent.
EOF
    fi
    for c in wrk32 wrk1; do
        e="$(get "$c.socket_errors")"; x="$(get "$c.non2xx")"
        if [ "$e" != "0" ] || [ "$x" != "0" ]; then
            n=$((n + 1))
            echo "- wrk ($c) saw $e socket errors and $x non-2xx responses."
        fi
    done
    if [ "$v_intent" != "met" ]; then
        n=$((n + 1))
        cat <<EOF
- **Intent match p99 < $(get intent.budget_p99_us) µs is missed** (p50 $(get intent.match_us_p50) µs, p90
  $(get intent.match_us_p90) µs, p99 $intent_p99 µs, max $(get intent.match_us_max) µs). The slow calls are long
  sentences with free-text slots: every span of the input is tried against each slot edge of
  the trie, and each date, recurrence (libical) and entity parse of a span builds its JSON
  value at once, although only the winning path's values are used.
EOF
    fi
    if [ "$v_c1" != "met" ] || [ "$v_o100" != "met" ] || [ "$v_tput" != "met" ] || [ "$v_p1" != "met" ]; then
        n=$((n + 1))
        cat <<EOF
- **Chat budgets missed:** added latency at 1 client p50 $c1_p50 / p99 $c1_p99 ms against a zero-delay
  fake ($v_c1) and $p1_p50 / $p1_p99 ms against a paced one ($v_p1); at 100 concurrent turns
  (open loop) p99 $o100_p99 ms ($v_o100; each run: $(get chatpaced.o100.overhead_sock_p99_ms.runs) ms, with
  $(get chatpaced.o100.steal_pct.runs) % of the CPU time taken by the host; as read by the bench, which also counts
  its own and the fake's waits for a CPU: $(get chatpaced.o100.overhead_p99_ms.runs) ms); $tput turns/s ($v_tput).
  The open loop keeps the machine $(get chatpaced.o100.machine_busy_pct) % busy: the daemon spends $(get chatpaced.o100.daemon_cpu_us_per_turn) µs of CPU on a paced
  turn ($(get chatpaced.o100.daemon_cores) cores) against $(get chat.c100.daemon_cpu_us_per_turn) µs on a zero-delay one. In user space the difference is
  smaller (callgrind, 250 paced turns at one connection, 2026-11-21: 612 k instructions
  per turn on the main thread from ~26 main-loop passes, against ~490 k zero-delay), so
  most of it is in the kernel: each of the 20 tokens is a wake-up of the main thread, a
  recv() with its ACK to the LLM server, and a send() that wakes the client. The main
  thread now makes that send itself while nothing is queued before it, where it used to
  wake the I/O thread for each token (the I/O thread's CPU per open-loop turn went from
  ~380 to ~140 µs, measured from /proc by hand); the flush happens before the main loop
  sleeps rather than in a pass of its own, and the LLM requests' timeouts are poller
  timers rather than two GSources each (docs/internals/http.md, llm.md). With the fake and
  the client on the same $cores cores the tail moves from run to run with the host's load: of
  two runs compared by hand, the one with twice the steal time (/proc/stat) had a p99 3.6
  times as long, and a run by hand with nothing else running and no steal at all
  (\`bench-chat --token-delay 10 --phases o100\`, 2026-11-22) had p99 3.35 ms at the sockets
  (3.71 ms as read by the bench; p50 0.74 ms). A paced fake at 1 client is
  the zero-delay path plus waking sleeping threads: between tokens every process sleeps,
  and on this virtual machine a wake-up from idle costs far more than a hand-over between
  busy threads (the fake LLM spends $(get chatpaced.c1.fake_cpu_us_per_turn) µs of CPU a turn paced against
  $(get chat.c1.fake_cpu_us_per_turn) µs unpaced, for the same bytes).
EOF
    fi
    if [ "$v_c100" != "met" ] || [ "$v_b100" != "met" ] || [ "$v_p100" != "met" ]; then
        n=$((n + 1))
        c100_tps="$(get chat.c100.turns_per_s)"
        cat <<EOF
- **Chat stress rows over 20 ms** (the worst cases, beyond the budget's 100 concurrent turns,
  which the open loop meets with p99 $o100_p99 ms): 100 clients in step p99 $p100_p99 ms ($v_p100),
  bursts of 100 p99 $b100_p99 ms ($v_b100), zero-delay saturation p99 $c100_p99 ms ($v_c100).
  - *Bursts* — 100 requests that arrive within a millisecond, sent at once (b100) or by
    100 clients whose equal turns keep them in step (the paced closed loop) — are taken by
    the main thread one after another (libsoup reads and parses the request, the handler
    authenticates and parses the body, the turn starts and sends its LLM request), so the
    last waits for the other 99: paced p50 $(get chatpaced.c100.overhead_p50_ms) ms, p99 $p100_p99 ms, nearly all inbound
    (p99 $(get chatpaced.c100.inbound_p99_ms) ms; outbound p99 $(get chatpaced.c100.outbound_p99_ms) ms), while the daemon is otherwise mostly idle
    ($(get chatpaced.c100.daemon_cores) cores for all its threads).
  - *Saturation* — 100 connections in a closed loop against a zero-delay fake — is a
    throughput test: a turn ends as soon as the daemon has done its work, so by Little's law
    a turn spends about $(awk -v t="$c100_tps" 'BEGIN { if (t > 0) printf "%.0f", 100 * 1000 / t; else print "?" }') ms in the daemon at the $c100_tps turns/s it serves, and the first
    token waits behind the others' work (inbound p50 $(get chat.c100.inbound_p50_ms) ms). Under 20 ms would take
    over 5,000 turns/s on these $cores cores, where the fake LLM and the client alone take
    $(get chat.c100.fake_cpu_us_per_turn) + $(get chat.c100.bench_cpu_us_per_turn) µs of CPU a turn.
  - *Where a turn's main-thread time goes* (callgrind, release build, 550 turns at one
    connection, zero-delay fake, 2026-11-21): about 490 k instructions per turn, down from
    778 k at the start of the day (docs/internals/chat.md, llm.md, http.md say what
    changed). At 510 k, taking in the request was ~204 k, of which libsoup's own accept, read and parse
    ~124 k and our handlers ~80 k (routing 0.5 k, the JSON body 17 k, credentials 16 k);
    starting the turn ~72 k (intent match 16 k, context 16 k, the LLM request 39 k);
    reading the LLM stream and forwarding its 20 tokens ~115 k; handing the stream to the
    I/O thread 22 k (now mostly sent by the main thread itself); ending the turn and the connection ~70 k (libsoup's message teardown
    ~31 k of it). A third of what is left is libsoup's server; a burst of 100 within 20 ms
    needs the request work spread over both cores (chat requests parsed and authenticated
    on a second thread that hands the main thread only the turn to start), or a server
    that costs less than libsoup's per request.
EOF
    fi
    po="$(get peerh.c1.outbound_ms_p50)"; pno="$(get peerhnd.c1.outbound_ms_p50)"
    if [ -n "$po" ] && awk -v a="$po" -v b="$pno" 'BEGIN { exit !(a > 10 && a > 5 * b) }'; then
        n=$((n + 1))
        cat <<EOF
- **Under the peer's harness, lares's overhead is mostly a TCP artifact of the Python fake:**
  1-client overhead p50 $(get peerh.c1.overhead_ms_p50) ms, of which outbound $po ms; with TCP_NODELAY on
  \`fake_llm.py\`'s sockets, overhead p50 $(get peerhnd.c1.overhead_ms_p50) ms and outbound $pno ms. A real LLM server
  that writes headers and chunks separately without TCP_NODELAY costs lares the same
  delayed-ACK wait. lares sets TCP_QUICKACK once each LLM request is written to avoid
  it (docs/internals/llm.md), so a gap here means that no longer works.
EOF
    fi
    if [ "$v_chat_idle" != "met" ]; then
        n=$((n + 1))
        echo "- **Idle RSS < 15 MB is missed with an LLM configured** ($(kib_mb "$chat_idle_kib"); $(kib_mb "$idle_kib") without one)."
    fi
    if [ "$v_notes" != "met" ]; then
        n=$((n + 1))
        cat <<EOF
- **Notes search p50 < 5 ms is missed** (wall p50 $notes_p50 ms over all queries; the
  search thread's CPU time p50 $(get notes.search_cpu_p50_ms) ms, the rest being time spent
  waiting for a core on the shared machine). Per query in the details.
EOF
    fi
    if [ "$v_sched_late" != "met" ] || [ "$v_sched_mem" != "met" ]; then
        n=$((n + 1))
        echo "- **Scheduler budgets missed:** lateness p99 spread $spread_p99 ms / burst $burst_p99 ms ($v_sched_late), peak RSS $(kib_mb "$sched_kib") ($v_sched_mem)."
    fi
    if [ "$v_bytes" != "met" ]; then
        n=$((n + 1))
        echo "- **Bytes per simple turn are not smaller than OpenClaw's** ($chat_bytes bytes)."
    fi
    la_before="$(get machine.loadavg_before | cut -d' ' -f1)"; la_after="$(get machine.loadavg_after | cut -d' ' -f1)"
    # Only the load before the run tells of other work: the last minute of the run is the
    # load test, which keeps both cores busy by itself, so the load after it is always up.
    if awk -v a="$la_before" -v n="$cores" 'BEGIN { exit !(a > n / 2) }'; then
        n=$((n + 1))
        cat <<EOF
- **The machine was busy with other work during this run** (load average $la_before before,
  $la_after after, on $cores cores): every wall-clock figure above includes waiting for a core,
  most of all the tails and the figures that need both cores (fan-out, 100 concurrent turns,
  turns/s). CPU-time figures (daemon CPU per turn or per delivery, notes search CPU time) are
  less affected; compare runs by those, and by the load line in the machine table.
EOF
    fi
    [ "$n" -gt 0 ] || echo "None: every budget above is met and nothing unusual was seen."
    echo
} >>"$tmp_doc"

cat >>"$tmp_doc" <<EOF
## Method

- **Build.** \`make bench\` builds \`build-bench\` with \`--buildtype=release\` (the figures
  above say which buildtype was used). Every daemon runs with no \`LARES_*\` variables, no
  \`lares.conf\`, log level info, on 127.0.0.1 with port 0, and a fresh data directory under
  \`${TMPDIR:-/tmp}\` unless stated otherwise. Nothing is pinned to a core: the daemon, the
  load generator and the kernel's loopback TCP share the $cores cores, as they would on a
  household box. The script and everything it starts run at nice $(get machine.nice)
  (\`BENCH_NICE\`), so unrelated work on a shared machine takes less of those cores.
- **Start → ready** (\`bench/bench-start.c\`). The clock starts just before \`posix_spawn\` of
  \`lares serve -d DIR -p 0\`; the bench reads the port from the one stdout line, then sends
  \`GET /readyz\` over a new raw loopback TCP connection, again and again with no pause, until
  one answers 200 (\`/readyz\` reads the store through the reader pool). Cold = a new, empty
  data directory per run (schema created, first user inserted); warm = one directory reused
  after an unrecorded priming start. The binary and its libraries are in the page cache for
  every run. Each daemon then gets SIGTERM and must exit 0. CPU at readiness is the sum of
  \`/proc/PID/task/*/schedstat\` run time.
- **Idle RSS.** One more warm start, left alone $(get idle.wait_ms) ms after ready, then VmRSS from
  \`/proc/PID/status\`. MB = 10^6 bytes as in SPEC §11; MiB given alongside. VmRSS counts the
  file-backed pages the process has mapped as well as its own memory; once start-up is over
  lares unmaps the clean read-only pages the dynamic loader read (symbol tables, relocations;
  \`lares_proc_drop_clean_file_pages\`, about 5 MB), which stay in the page cache and come back
  with a minor fault if read again. The anonymous (private) part is in the details. "Start-up
  is over" is when the intent engine is built (tens of ms after ready): bench-start's probes
  reach \`/readyz\` before that, while bench-chat's first request comes after the CLI has made
  its token, so the library pages of serving a request (about 0.9 MB) count in the idle
  figure with an LLM configured and not in the other.
- **\`/healthz\` req/s.** \`wrk -t1 -c32 -d10s --latency\` (after a 2 s unrecorded warm-up), then
  \`wrk -t1 -c1 -d5s --latency\`, against one daemon. wrk and the daemon share the $cores cores, so
  req/s is bounded by both; daemon CPU is the change in utime + stime from \`/proc/PID/stat\`
  over the run (1/$(getconf CLK_TCK) s ticks; it includes the kernel's loopback TCP work done in the
  daemon's system calls), machine busy % comes from \`/proc/stat\`.
- **WebSocket fan-out** (\`bench/bench-ws-fanout.c\`). The bench starts its own daemon, raises
  its RLIMIT_NOFILE soft limit to the hard limit (the daemon raises its own), and first records
  $(get raw.baseline_posts) POSTs (after as many unrecorded) and $(get raw.healthz_probes) sequential new-connection \`GET /healthz\` with no
  WebSocket open. It then opens 1,000 WebSocket clients to \`/ws\` (libsoup: $(get soup.connect_window) handshakes
  in flight; raw: one after another), checks that
  \`lares_ws_connections\` on \`/metrics\` says 1,000, reads RSS and fds from \`/proc\`, repeats
  the \`/healthz\` probe, and runs $(get raw.warmup) unrecorded and $(get raw.rounds) recorded rounds, one at a
  time: take the monotonic time t0, POST \`/api/v1/notes\` (\`{"title":"fanout-rNNNNNN",...}\`,
  on a kept-alive connection), and wait until the POST answered 201 and all 1,000 clients
  received the \`note_created\` event whose title carries that round number (a missing,
  duplicate or stale event fails the run; every wait has a timeout). A client's latency is the
  time its receive handler ran − t0, so it includes the HTTP request, the SQLite commit (WAL,
  \`synchronous=FULL\`, an fdatasync), the daemon's sends to 1,000 sockets and the bench's own
  receive path. Finally SIGTERM with all 1,000 open: every client must be closed by the daemon
  and it must exit 0.
  - *libsoup client*: \`SoupSession\` + \`soup_session_websocket_connect_async\` (no deflate
    offered), all 1,000 connections in **one** receive thread with one GLib main loop. That
    loop's own cost is large: it polls all 1,000 sockets on every wakeup and handles the
    events one after another, so later clients' times include the handling of earlier ones,
    and it competes with the daemon for the $cores cores. Its figures are an upper bound.
  - *raw client*: the opening handshake (checked) and the framing done by a minimal RFC 6455
    client (\`bench/bench-ws-raw.c\`), and one epoll loop in one thread that does one
    \`read()\` per readable socket. Its bench CPU per round is much lower, so its figures are closer to the
    daemon's own fan-out time; they are still an upper bound, since the bench shares the CPUs.
  - The *spread* subtracts the round's first receipt, removing the request and commit; the
    *POST alone* row shows that cost without any WebSocket.
- **Peer.** OpenClaw numbers are from \`shared/peers/openclaw/RESULTS.md\` (3 full runs on this
  machine, $peer_date); they are quoted, not re-run, because installing and running it takes
  minutes and network access. OpenClaw has no equivalent of the fan-out measurement.
- **Intent engine** (\`bench/bench-intent.c\`). Compile: \`lares_intent_engine_new_from_dir()\` on
  \`data/intents/en\` 20 times. Match: every sentence of the golden corpus
  (\`tests/intent/corpus/en.jsonl\`, at its own "now" and zone, with the corpus's entity names)
  once unrecorded, then 50 rounds over all of them, each call timed alone with
  \`CLOCK_MONOTONIC\` in one thread; the figures are over every timed call.
- **Chat turns** (\`bench/bench-chat.c\`). The bench starts \`tests/fake-llm --tokens 20
  --first-delay 0 --token-delay 0 --record FILE\` (port 0) and \`lares serve\` with
  \`--set llm.provider=openai --set llm.base_url=http://127.0.0.1:PORT/v1 --set llm.model=fake
  --set llm.max_concurrent=$(get chat.max_concurrent)\` (fresh data directory), makes an admin token (\`lares token
  create\`), waits for \`/readyz\` and $(get chat.idle_wait_ms) ms more, and reads the idle RSS. A turn is a streaming
  \`POST /v1/chat/completions\` (\`"stream":true\`, \`Authorization: Bearer\`) whose only message is
  "Say hi. [bench:N]", N unique (\`lares intent --llm\` routes that sentence to "$(get chat.prompt_route)"; no
  \`user\`, so each turn is a new conversation). Client times are \`g_get_monotonic_time()\`:
  just before the request is written, when the first chunk with non-empty \`delta.content\` is
  read (lares first sends a role chunk with empty content), and when \`data: [DONE]\` is read.
  The fake records, on the same CLOCK_MONOTONIC, when it read the request and queued its
  first token, and the body it was sent; both the fake and the bench also ask the kernel to
  stamp arriving bytes (\`SO_TIMESTAMPNS\`, moved from CLOCK_REALTIME to the monotonic clock
  as they are read), which gives when the request reached the fake's socket and when the
  first token reached the bench's. The overhead *at the sockets* uses those two times; it is
  what lares adds, without the time the two other processes, sharing the 2 cores with the
  daemon, waited to be scheduled before reading (a read that takes several segments carries
  the stamp of the last, so the figure can only be too high); the tag matches each record to its turn (every
  recorded turn must have made exactly its LLM call, or the run fails). Phases, each after
  unrecorded warm-up turns at the same concurrency, on kept-alive connections: 1 connection;
  10 and 100 connections in a closed loop (each sends its next turn when the last ended, as
  the peer's bench.py does); bursts of 100 turns sent together, the next burst when all
  ended; a throughput phase with $(get chat.tput.concurrency) connections. Client: raw loopback sockets in one epoll
  loop, HTTP/1.1 written by hand and chunked bodies decoded in place (one \`read()\` per
  wakeup per socket); the libsoup client is measured once for comparison. CPU per turn is
  the change of utime + stime in \`/proc/PID/stat\` (includes exited threads; 10 ms ticks,
  fine over thousands of turns) of the daemon and the fake, and \`getrusage\` of the bench,
  divided by the recorded turns; turns/s = turns / (first send → last [DONE]). The whole
  bench is run $(get chat.runs) times (a new daemon each time) and every figure is the median of the runs.
  The paced bench (\`--token-delay 10\`: the fake waits 10 ms before each token) is run as
  many times, medians again, and adds the open loop: turn arrival times drawn from an exponential distribution (fixed seed)
  with mean 1 / $(get chatpaced.o100.arrival_rate) s, each turn on an idle one of $(get chatpaced.o100.connections) connections (the run fails if
  none is idle: the daemon would be falling behind), the turns shared round-robin among 4
  non-admin users (a user may have 128 turns running); "turns running on average" is the
  number in flight integrated over the recorded turns' time.
- **Peer's harness** (\`shared/peers/openclaw/bench.py\`, \`fake_llm.py\`, Python): one daemon with
  \`llm.base_url\` at \`fake_llm.py\` on a free port, a token from \`lares token create\`, then
  \`bench.py --port P --token T --model lares --turns 50 --warmup 3 --fake-log F --pid PID\` and
  \`--concurrency 10 --turns 100 --warmup 0\`, three times each; medians of the three. Its
  overhead is the client's TTFT minus the fake's configured delay (0), so it includes the
  Python fake's own time to its first token; CPU per turn is the daemon's /proc ticks.
- **Notes search** (\`bench/bench-notes.c\`). One store in a temporary directory, one user,
  100,000 notes written through \`lares_notes_insert_tagged()\` (so the FTS5 triggers build the
  index as in the daemon), then 8 fixed queries (a rare word, a common one, a very common one,
  AND-ed words, prefixes, a tag) through \`lares_notes_query_build()\` and
  \`lares_notes_search()\` (limit 20) on one reader connection that keeps its statements: one
  unrecorded run, then 50 timed runs each, wall time (CLOCK_MONOTONIC) and the thread's CPU time.
  The store part of \`GET /api/v1/search\`; HTTP adds a few tens of µs.
- **Task list** (\`bench/bench-tasks.c\`). 10,000 tasks written through the store API, then
  \`lares_tasks_list()\` of the pending ones sorted by urgency, 60 times on one reader.
- **Scheduler** (\`bench/bench-scheduler.c\`). One process with the real store (WAL,
  \`synchronous=FULL\`) and the real clock: 100,000 pending jobs of 1,000 users due over 30 days
  written in one transaction and checkpointed (set-up), then the scheduler starts (RSS before
  and after: the index), a spread of 3,000 timers due one every 2 ms and then a burst of 1,000
  due at the same instant fire for one user with a bus subscriber; lateness = when the
  subscriber got the notification − the due time.
- **Reproduce:** \`make bench\`, or \`tools/run-bench.sh BUILD_DIR\`; the benches also run as
  \`meson test -C BUILD_DIR --benchmark\`. \`BENCH_OUT=dir\` keeps the raw outputs.
EOF
mv "$tmp_doc" "$doc"
say "run-bench: wrote $doc"
