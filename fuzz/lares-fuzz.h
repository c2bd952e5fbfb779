/* lares-fuzz.h — what every fuzz target and the replay driver share.
 *
 * A target defines LLVMFuzzerTestOneInput() and is linked either with
 * libFuzzer (-Dfuzzing=true, clang) or with replay-main.c, which feeds it
 * each committed corpus file once, so crash inputs stay fixed in the gcc
 * build too (STYLE.md §9).
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

/* The libFuzzer entry point.  @data is NOT NUL-terminated. */
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Once per process: drop log lines below WARNING, and abort() on a
 * critical or error, since a g_return_if_fail() tripped by outside input is
 * a bug. */
void lares_fuzz_init (void);

/* A g_malloc'd copy of @data with a NUL appended (a NUL inside @data still
 * ends the C string early, as it would for any caller). */
char *lares_fuzz_strndup (const uint8_t *data, size_t size);

/* Fill @cuts (@n of them, n <= 3) with offsets into @data (0..@size),
 * derived from the data and sorted: the places a "fed in pieces" run cuts
 * the input, the same on every replay of the same input. */
void lares_fuzz_cuts (const uint8_t *data, size_t size, size_t *cuts, size_t n);

G_END_DECLS
