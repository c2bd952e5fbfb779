/* lares-fuzz.c — set-up shared by the fuzz targets. */
#include "config.h"

#include "lares-fuzz.h"

#include <stdlib.h>
#include <string.h>

/* GLib ends a fatal message with SIGTRAP, which neither libFuzzer nor ASan
 * treat as a crash by default; abort() is, so the input gets saved. */
static GLogWriterOutput
quiet_writer (GLogLevelFlags level, const GLogField *fields, size_t n_fields, gpointer user_data)
{
  if ((level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) == 0)
    return G_LOG_WRITER_HANDLED;
  g_log_writer_default (level, fields, n_fields, user_data);
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    abort ();
  return G_LOG_WRITER_HANDLED;
}

void
lares_fuzz_init (void)
{
  static gsize done;

  if (g_once_init_enter (&done))
    {
      g_log_set_writer_func (quiet_writer, NULL, NULL);
      g_once_init_leave (&done, 1);
    }
}

char *
lares_fuzz_strndup (const uint8_t *data, size_t size)
{
  char *text = g_malloc (size + 1);

  if (size > 0)
    memcpy (text, data, size);
  text[size] = '\0';
  return text;
}
