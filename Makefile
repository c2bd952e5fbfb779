# lares — the set-up contract (README, SPEC §1):
#   make run    install missing Debian packages, build, serve on 127.0.0.1:8765
#   make test   the same set-up, then every test (gcc build + ASan/UBSan build)
#   make bench  benchmarks; writes docs/PERFORMANCE.md
# Meson + Ninja do the building; this file only sequences the steps.

BUILD      ?= build
ASAN_BUILD ?= build-asan
BENCH_BUILD ?= build-bench
MESON_TEST_ARGS ?= --print-errorlogs
ARGS       ?=

.PHONY: all deps build run test test-gcc test-asan check-format format bench fuzz \
        check-valgrind clean

all: build

deps:
	@tools/bootstrap.sh build

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	$(BUILD)/src/lares serve $(ARGS)

$(ASAN_BUILD)/build.ninja:
	CC=clang meson setup $(ASAN_BUILD) --buildtype=debug \
	    -Db_sanitize=address,undefined -Db_lundef=false -Dfuzzing=true

test-deps:
	@tools/bootstrap.sh test

test-gcc: test-deps build
	meson test -C $(BUILD) $(MESON_TEST_ARGS)

test-asan: test-deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/supp/lsan.supp \
	    meson test -C $(ASAN_BUILD) $(MESON_TEST_ARGS) --timeout-multiplier=3

check-format:
	@tools/check-format.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# Runs every step even when one fails, then prints one summary line.
test:
	@rc=0; \
	$(MAKE) --no-print-directory test-gcc || rc=1; \
	$(MAKE) --no-print-directory test-asan || rc=1; \
	$(MAKE) --no-print-directory check-format || rc=1; \
	tools/test-summary.sh $(BUILD) $(ASAN_BUILD) || rc=1; \
	exit $$rc

$(BENCH_BUILD)/build.ninja:
	meson setup $(BENCH_BUILD) --buildtype=release

bench:
	@tools/bootstrap.sh bench
	$(MAKE) --no-print-directory $(BENCH_BUILD)/build.ninja
	ninja -C $(BENCH_BUILD)
	tools/run-bench.sh $(BENCH_BUILD)

fuzz: test-deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	tools/run-fuzz.sh $(ASAN_BUILD) $(FUZZ_SECONDS)

# Every C test, and every daemon they start, under memcheck; then counts.
check-valgrind: test-deps build
	@rc=0; \
	meson test -C $(BUILD) --setup=valgrind $(MESON_TEST_ARGS) || rc=1; \
	tools/valgrind-summary.sh $(BUILD) || rc=1; \
	exit $$rc

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(BENCH_BUILD)

# The soak test (not part of `make test`): SOAK_SECONDS of mixed load against
# one daemon; fails if its RSS or open descriptors grow (tools/run-soak.sh).
SOAK_SECONDS ?= 600
.PHONY: soak
soak: test-deps build
	tools/run-soak.sh $(BUILD) $(SOAK_SECONDS)
