#!/bin/sh
# bootstrap.sh — install the Debian packages lares needs to build, test and bench.
#
# Idempotent: each package is checked with `dpkg -s` first and apt-get runs only
# when something is missing.  Works as root, or through sudo for a normal user.
# Usage: tools/bootstrap.sh [build|test|bench]   (default: build)
set -eu

want="${1:-build}"

# Build and run.
pkgs="gcc make meson ninja-build pkg-config libglib2.0-dev libglib2.0-bin
libsoup-3.0-dev libjson-glib-dev libsqlite3-dev libsodium-dev libical-dev libyaml-dev
libedit-dev"
# Tests: sanitizers and libFuzzer come with clang's runtime; sqlite3 checks backups;
# libfaketime steps the daemon's wall clock in the clock-jump fault test.
case "$want" in
test|bench) pkgs="$pkgs clang libclang-rt-14-dev sqlite3 clang-format valgrind openssl taskwarrior" ;;
esac
case "$want" in
test|bench) pkgs="$pkgs libfaketime" ;;
esac
case "$want" in
bench) pkgs="$pkgs wrk" ;;
esac

missing=""
for p in $pkgs; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "bootstrap: installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    echo "bootstrap: missing packages:$missing; run as root or install sudo" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when a first attempt cannot find a package.
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $missing ||
    { $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends $missing; }
