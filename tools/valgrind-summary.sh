#!/bin/sh
# valgrind-summary.sh BUILD — after `make check-valgrind`: what memcheck
# said about the test programs (BUILD/meson-logs/testlog-valgrind.json) and
# about every daemon they started (BUILD/tests/valgrind/TEST/daemon-*.log,
# tests/valgrind-run.sh).  A daemon a test ends with SIGKILL (test-crash,
# test-faults...) leaves no report; it is counted apart.
# Exits 1 if any program or daemon had a memory error or a definite leak.
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD" >&2
    exit 2
fi
python3 - "$1" <<'PY'
import glob, json, os, re, sys

build = sys.argv[1]

def parse(text):
    """(errors, definite, indirect, suppressed) or None without a summary."""
    m = re.search(r"ERROR SUMMARY: ([\d,]+) errors from [\d,]+ contexts \(suppressed: ([\d,]+)", text)
    if not m:
        return None
    num = lambda s: int(s.replace(",", ""))
    lost = {}
    for kind in ("definitely", "indirectly"):
        k = re.search(kind + r" lost: ([\d,]+) bytes", text)
        lost[kind] = num(k.group(1)) if k else 0
    return num(m.group(1)), lost["definitely"], lost["indirectly"], num(m.group(2))

def report(label, rows, unreported):
    bad = [n for n, r in rows if r[0] or r[1]]
    print(f"{label}: {len(rows)} ran under memcheck{unreported}; "
          f"errors {sum(r[0] for _, r in rows)}, "
          f"definitely lost {sum(r[1] for _, r in rows)} bytes, "
          f"indirectly lost {sum(r[2] for _, r in rows)} bytes, "
          f"suppressed {sum(r[3] for _, r in rows)}")
    for n in bad:
        print(f"  at fault: {n}")
    return bad

log = os.path.join(build, "meson-logs", "testlog-valgrind.json")
if not os.path.exists(log):
    print(f"valgrind-summary: no {log}; run make check-valgrind", file=sys.stderr)
    sys.exit(2)
programs, silent = [], []
with open(log) as f:
    for line in f:
        if line.strip():
            t = json.loads(line)
            r = parse(t.get("stderr") or "")
            (programs.append((t["name"], r)) if r else silent.append(t["name"]))
daemons, killed = [], 0
for path in sorted(glob.glob(os.path.join(build, "tests", "valgrind", "*", "daemon-*.log"))):
    with open(path, errors="replace") as f:
        r = parse(f.read())
    if r:
        daemons.append((os.path.relpath(path, build), r))
    else:
        killed += 1

bad = report("test programs", programs,
             f" ({len(silent)} without a report: {', '.join(silent)})" if silent else "")
bad += report("daemons", daemons,
              f" (and {killed} ended by SIGKILL, which leaves no report)" if killed else "")
sys.exit(1 if bad or silent else 0)
PY
