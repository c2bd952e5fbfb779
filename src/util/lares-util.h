/* lares-util.h — small GLib-only helpers shared by every layer.
 *
 * This is the bottom layer: it includes nothing else from src/.  Parsers here
 * take outside input (config values, environment), so each one accepts a
 * length or a NUL-terminated string, never reads past it, and reports a
 * failure through its return value without touching OUT parameters.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* Parse a byte size: a decimal integer with an optional unit B, K/KiB, M/MiB,
 * G/GiB (powers of 1024; case-insensitive).  Returns FALSE on syntax error or
 * overflow.  @out: OUT, only written on success. */
gboolean lares_parse_size (const char *text, uint64_t *out);

/* Parse a duration: a decimal integer with a unit ms, s, m, h or d (a bare
 * number means seconds).  @out_ms: OUT milliseconds, only written on success. */
gboolean lares_parse_duration_ms (const char *text, uint64_t *out_ms);

/* Parse a boolean: true/false, yes/no, on/off, 1/0 (case-insensitive). */
gboolean lares_parse_bool (const char *text, gboolean *out);

/* Parse a whole decimal int64 with no trailing garbage; unlike atoi it
 * rejects empty input and overflow. */
gboolean lares_parse_int64 (const char *text, int64_t *out);

/* Parse a comma-separated list of positive int64 ids ("3,7, 12"): at
 * least one and at most @max, each a whole decimal number > 0 (spaces
 * around an id are allowed; empty items are not).  @out: OUT (transfer
 * full) a GArray of int64_t in the given order, only set on success. */
gboolean lares_parse_id_list (const char *text, unsigned max, GArray **out);

/* Resident set size of this process in KiB, from /proc/self/status; 0 if it
 * cannot be read. */
uint64_t lares_proc_rss_kib (void);

/* Number of open file descriptors of this process (entries in /proc/self/fd),
 * or -1 if unknown. */
int lares_proc_open_fds (void);

/* Unmap from this process the pages of read-only, non-executable file
 * mappings that are unchanged from their file (the shared libraries'
 * symbol tables, relocations and constants, which the dynamic loader reads
 * once at start-up).  They stay in the page cache and come back with a
 * minor fault when read again; nothing is lost, since a mapping with any
 * private (written) page is left alone.  Returns the KiB dropped from the
 * resident set, as /proc/self/smaps counted them. */
uint64_t lares_proc_drop_clean_file_pages (void);

/* Raise the soft RLIMIT_NOFILE to the hard limit so a thousand WebSocket
 * clients fit.  Returns the new soft limit. */
uint64_t lares_raise_fd_limit (void);

/* Append @s (@len bytes of UTF-8, or -1 for NUL-terminated) to @out as a
 * JSON string literal, quotes included. */
void lares_json_append_string (GString *out, const char *s, gssize len);

G_END_DECLS
