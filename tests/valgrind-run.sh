#!/bin/sh
# valgrind-run.sh TEST [ARGS...] — `make check-valgrind`'s wrapper: run the
# test under valgrind memcheck, and every `lares serve` it starts as well
# (tests/common/lares-test.c reads LARES_TEST_DAEMON_WRAPPER), so the
# daemon's leaks and memory errors fail the test: a daemon that valgrind
# found at fault exits 1 instead of 0 after SIGTERM.
# The suppressions are for the tests' own SoupServers; the daemon gets none.
here=$(cd "$(dirname "$0")" && pwd)
daemon_vg="valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite"
vg="$daemon_vg --suppressions=$here/supp/valgrind.supp"
LARES_TEST_DAEMON_WRAPPER="$daemon_vg"
export LARES_TEST_DAEMON_WRAPPER
# shellcheck disable=SC2086  # $vg is split into words on purpose
exec $vg "$@"
