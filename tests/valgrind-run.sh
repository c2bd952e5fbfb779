#!/bin/sh
# valgrind-run.sh TEST [ARGS...] — `make check-valgrind`'s wrapper: run the
# test under valgrind memcheck, and every `lares serve` it starts as well
# (tests/common/lares-test.c reads LARES_TEST_DAEMON_WRAPPER), so the
# daemon's leaks and memory errors fail the test: a daemon that valgrind
# found at fault exits 1 instead of 0 after SIGTERM.
# The suppressions are for the tests' own SoupServers; the daemon gets none.
#
# Each daemon's report is kept in BUILD/tests/valgrind/TEST/daemon-PID.log
# (tools/valgrind-summary.sh counts them); the test's own goes to meson's
# log.  Memcheck runs code 10 to 50 times slower: LARES_TEST_TIME_SCALE
# tells the tests that give the daemon a wall-clock budget to widen it.
here=$(cd "$(dirname "$0")" && pwd)
logs=${G_TEST_BUILDDIR:-${TMPDIR:-/tmp}}/valgrind/$(basename "$1")
rm -rf "$logs"
mkdir -p "$logs"
daemon_vg="valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite"
vg="$daemon_vg --suppressions=$here/supp/valgrind.supp"
LARES_TEST_DAEMON_WRAPPER="$daemon_vg --log-file='$logs/daemon-%p.log'"
LARES_TEST_TIME_SCALE=10
export LARES_TEST_DAEMON_WRAPPER LARES_TEST_TIME_SCALE
# shellcheck disable=SC2086  # $vg is split into words on purpose
exec $vg "$@"
