#!/bin/sh
# run-smoke.sh BINARY NAME [LIBFUZZER-FLAG...] — run a libFuzzer target over
# a temporary copy of fuzz/corpus/NAME, adding -dict=fuzz/NAME.dict and the
# flags in fuzz/NAME.options when they exist.
#
# libFuzzer writes every new input into its first corpus directory, so it
# gets a copy: the committed corpus only changes by hand (STYLE.md §9).
# Used by the meson smoke tests (-runs=N) and tools/run-fuzz.sh
# (-max_total_time=N).  Exits with the target's status.
set -eu

if [ $# -lt 2 ]; then
    echo "usage: $0 BINARY NAME [LIBFUZZER-FLAG...]" >&2
    exit 2
fi
bin=$1
name=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
corpus=$here/corpus/$name

if [ ! -d "$corpus" ]; then
    echo "run-smoke: no corpus directory $corpus" >&2
    exit 2
fi

if [ -f "$here/$name.dict" ]; then
    set -- "$@" "-dict=$here/$name.dict"
fi
if [ -f "$here/$name.options" ]; then
    # One flag per line; '#' starts a comment.
    opts=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/$name.options")
    # shellcheck disable=SC2086  # word splitting is wanted: one flag per word
    set -- $opts "$@"
fi
# libFuzzer fails with 77 by default, which meson reads as "skipped".
set -- -error_exitcode=1 -timeout_exitcode=2 "$@"
for arg in "$@"; do
    case $arg in
        -artifact_prefix=*/*)
            prefix=${arg#-artifact_prefix=}
            mkdir -p "${prefix%/*}"
            ;;
    esac
done

# Same sanitizer settings as `make test-asan`, unless the caller set its own.
: "${ASAN_OPTIONS:=detect_leaks=1:abort_on_error=1}"
: "${UBSAN_OPTIONS:=print_stacktrace=1:halt_on_error=1}"
if [ -z "${LSAN_OPTIONS:-}" ] && [ -f "$here/../tests/supp/lsan.supp" ]; then
    LSAN_OPTIONS=suppressions=$here/../tests/supp/lsan.supp
fi
export ASAN_OPTIONS UBSAN_OPTIONS
if [ -n "${LSAN_OPTIONS:-}" ]; then export LSAN_OPTIONS; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/lares-fuzz-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cp -R "$corpus/." "$work/"

rc=0
"$bin" "$@" "$work" || rc=$?
exit $rc
