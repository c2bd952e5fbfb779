/* lares-log.c — the log writer.
 *
 * DESIGN: g_log_set_writer_func() is process-wide and may be called from any
 * thread; the writer formats into a stack buffer and writes one line with a
 * single write(2), so lines from worker threads never interleave.
 */
#include "config.h"

#include "lares-log.h"

#include <stdio.h>
#include <unistd.h>

static GLogLevelFlags log_threshold = G_LOG_LEVEL_INFO;
static GLogWriterFunc custom_writer;
static gboolean debug_env_unset; /* no G_MESSAGES_DEBUG when the log was set up */
static gpointer custom_writer_data;

static const char *
level_name (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR)
    return "ERROR";
  if (level & G_LOG_LEVEL_CRITICAL)
    return "CRIT";
  if (level & G_LOG_LEVEL_WARNING)
    return "WARN";
  if (level & G_LOG_LEVEL_MESSAGE)
    return "INFO";
  if (level & G_LOG_LEVEL_INFO)
    return "INFO";
  return "DEBUG";
}

static gboolean
level_enabled (GLogLevelFlags level, const char *domain)
{
  GLogLevelFlags l = level & G_LOG_LEVEL_MASK;

  if (l & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    return TRUE;
  if (l & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO))
    return log_threshold >= G_LOG_LEVEL_INFO;
  if (log_threshold >= G_LOG_LEVEL_DEBUG)
    return TRUE;
  /* Without G_MESSAGES_DEBUG, skip GLib's check (a getenv per message). */
  if (debug_env_unset)
    return FALSE;
  return !g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, domain);
}

static GLogWriterOutput
lares_log_writer (GLogLevelFlags level, const GLogField *fields, size_t n_fields,
                  gpointer user_data)
{
  const char *message = NULL, *domain = NULL, *req = NULL;
  g_autoptr (GDateTime) now = NULL;
  g_autofree char *stamp = NULL;
  char line[2048];
  int len;

  if (custom_writer != NULL)
    return custom_writer (level, fields, n_fields, custom_writer_data);

  for (size_t i = 0; i < n_fields; i++)
    {
      if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
        message = fields[i].value;
      else if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
      else if (g_strcmp0 (fields[i].key, "LARES_REQ") == 0)
        req = fields[i].value;
    }
  if (!level_enabled (level, domain))
    return G_LOG_WRITER_HANDLED;

  now = g_date_time_new_now_utc ();
  stamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%fZ");
  /* Keep milliseconds only: "...SS.mmmZ". */
  if (stamp != NULL && strlen (stamp) > 23)
    {
      stamp[23] = 'Z';
      stamp[24] = '\0';
    }
  len = snprintf (line, sizeof line, "%s %-5s %s%s%s %s\n", stamp ? stamp : "-", level_name (level),
                  domain ? domain : "lares", req ? " req=" : "", req ? req : "",
                  message ? message : "");
  if (len < 0)
    return G_LOG_WRITER_UNHANDLED;
  if ((size_t)len >= sizeof line)
    {
      len = sizeof line - 1;
      line[len - 1] = '\n';
    }
  if (write (STDERR_FILENO, line, (size_t)len) < 0)
    return G_LOG_WRITER_UNHANDLED;
  return G_LOG_WRITER_HANDLED;
}

static void
drop_message (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
}

void
lares_log_init (const char *level)
{
  if (g_strcmp0 (level, "debug") == 0)
    log_threshold = G_LOG_LEVEL_DEBUG;
  else if (g_strcmp0 (level, "warning") == 0)
    log_threshold = G_LOG_LEVEL_WARNING;
  else
    log_threshold = G_LOG_LEVEL_INFO;
  debug_env_unset = g_getenv ("G_MESSAGES_DEBUG") == NULL;
  g_log_set_writer_func (lares_log_writer, NULL, NULL);
  /* libsoup logs two debug lines per WebSocket frame it sends; through
   * GLib's default handler and our writer that was a fifth of the CPU of
   * a fan-out (callgrind).  Unless they would be shown, a handler of the
   * domain's own takes them at once. */
  if (!level_enabled (G_LOG_LEVEL_DEBUG, "libsoup"))
    g_log_set_handler ("libsoup", G_LOG_LEVEL_DEBUG, drop_message, NULL);
}

void
lares_log_set_writer (GLogWriterFunc func, gpointer user_data)
{
  custom_writer = func;
  custom_writer_data = user_data;
}

void
lares_log_req_full (const char *domain, GLogLevelFlags level, const char *req_id,
                    const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;
  GLogField fields[4];
  size_t n = 0;

  /* Not formatted at all when it would be dropped (debug lines of every
   * request), unless a replaced writer wants everything. */
  if (custom_writer == NULL && !level_enabled (level, domain))
    return;
  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  fields[n++] = (GLogField){ "MESSAGE", message, -1 };
  fields[n++] = (GLogField){ "GLIB_DOMAIN", domain, -1 };
  fields[n++] = (GLogField){ "PRIORITY", (level & G_LOG_LEVEL_WARNING) ? "4" : "6", -1 };
  if (req_id != NULL)
    fields[n++] = (GLogField){ "LARES_REQ", req_id, -1 };
  g_log_structured_array (level, fields, n);
}
