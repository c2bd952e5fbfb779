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

static int
compare_size (const void *a, const void *b)
{
  size_t x = *(const size_t *)a, y = *(const size_t *)b;

  return x < y ? -1 : x > y;
}

void
lares_fuzz_cuts (const uint8_t *data, size_t size, size_t *cuts, size_t n)
{
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */

  g_assert (n <= 3); /* 21 bits of the hash each */
  for (size_t i = 0; i < size; i++)
    h = (h ^ data[i]) * 1099511628211ULL;
  for (size_t i = 0; i < n; i++)
    cuts[i] = (size_t)((h >> (i * 21)) % (size + 1));
  qsort (cuts, n, sizeof cuts[0], compare_size);
}
