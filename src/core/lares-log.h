/* lares-log.h — structured logging through one replaceable writer.
 *
 * Every line is "TIME LEVEL DOMAIN [req=ID] message" on stderr.  Code logs
 * through GLib (g_message, g_warning, g_debug) or, when a request or turn id
 * applies, through lares_log_req() which attaches it as the LARES_REQ field.
 * Tests and fuzzers install their own writer with lares_log_set_writer().
 *
 * Secrets and full prompts are never logged above debug (STYLE.md §6).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Install the writer.  @level is "debug", "info" or "warning"; debug also
 * follows G_MESSAGES_DEBUG for per-domain tracing. */
void lares_log_init (const char *level);

/* Replace the writer (NULL restores the default).  For tests and fuzzers. */
void lares_log_set_writer (GLogWriterFunc func, gpointer user_data);

/* Log @format at @level in @domain with a request id field (nullable).
 * Call it through lares_log_req() so the caller's G_LOG_DOMAIN is used. */
void lares_log_req_full (const char *domain, GLogLevelFlags level, const char *req_id,
                         const char *format, ...) G_GNUC_PRINTF (4, 5);

#define lares_log_req(level, req_id, ...)                                                          \
  lares_log_req_full (G_LOG_DOMAIN, (level), (req_id), __VA_ARGS__)

G_END_DECLS
