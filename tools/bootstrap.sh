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
# python3-icalendar reads the calendar feed independently of lares.
# Browser tests: Debian's Chromium, driven by playwright-core from npm
# (tests/web; never a downloaded browser).  Node may come from elsewhere
# (a newer packaged release): only when there is none, Debian's.
# libfaketime steps the daemon's wall clock in the clock-jump fault test.
case "$want" in
test|bench) pkgs="$pkgs clang libclang-rt-14-dev sqlite3 clang-format valgrind openssl taskwarrior"
    pkgs="$pkgs chromium python3-icalendar"
    command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
    command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm" ;;
esac
case "$want" in
test|bench) pkgs="$pkgs libfaketime" ;;
esac
case "$want" in
bench) pkgs="$pkgs wrk" ;;
esac

# tests/web's npm packages, exactly as package-lock.json pins them; again
# only when the lock file changed since the last install.
npm_deps() {
    [ "$want" = test ] || return 0
    web="$(dirname "$0")/../tests/web"
    stamp="$web/node_modules/.lares-lock"
    if [ -f "$stamp" ] && cmp -s "$web/package-lock.json" "$stamp"; then
        return 0
    fi
    echo "bootstrap: npm ci in tests/web" >&2
    (cd "$web" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund) &&
        cp "$web/package-lock.json" "$stamp"
}

missing=""
for p in $pkgs; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -z "$missing" ]; then
    npm_deps
    exit 0
fi

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
npm_deps
