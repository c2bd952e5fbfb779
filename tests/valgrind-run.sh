#!/bin/sh
# valgrind-run.sh TEST [ARGS...] — `make check-valgrind`'s wrapper: run the
# test under valgrind memcheck, and every `lares serve` it starts as well
# (tests/common/lares-test.c reads LARES_TEST_DAEMON_WRAPPER), so the
# daemon's leaks and memory errors fail the test: a daemon that valgrind
# found at fault exits 1 instead of 0 after SIGTERM.
here=$(cd "$(dirname "$0")" && pwd)
vg="valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --suppressions=$here/supp/valgrind.supp"
LARES_TEST_DAEMON_WRAPPER="$vg"
export LARES_TEST_DAEMON_WRAPPER
# shellcheck disable=SC2086  # $vg is split into words on purpose
exec $vg "$@"
