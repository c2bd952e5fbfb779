#!/bin/sh
# test-summary.sh BUILD... — one line "N passed, N failed" over the meson
# test logs of the given build directories (meson-logs/testlog.json).
set -eu
python3 - "$@" <<'PY'
import json, os, sys
passed = failed = 0
for build in sys.argv[1:]:
    log = os.path.join(build, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        print(f"{build}: no test log (the build failed?)", file=sys.stderr)
        failed += 1
        continue
    with open(log) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)["result"]
            if r in ("OK", "EXPECTEDFAIL", "SKIP"):
                passed += 1
            else:
                failed += 1
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
