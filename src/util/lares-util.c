/* lares-util.c — value parsers and /proc readers.
 *
 * DESIGN: pure functions, no global state, no allocation on success paths
 * except for what is returned (a GString, an id list).  Safe from any
 * thread.  lares_proc_drop_clean_file_pages is the exception that touches
 * the process: see its header comment.
 */
#include "config.h"

#include "lares-util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

gboolean
lares_parse_int64 (const char *text, int64_t *out)
{
  char *end = NULL;
  long long v;

  if (text == NULL)
    return FALSE;
  while (g_ascii_isspace (*text))
    text++;
  if (*text == '\0')
    return FALSE;
  errno = 0;
  v = strtoll (text, &end, 10);
  if (errno != 0 || end == text)
    return FALSE;
  while (g_ascii_isspace (*end))
    end++;
  if (*end != '\0')
    return FALSE;
  *out = v;
  return TRUE;
}

gboolean
lares_parse_id_list (const char *text, unsigned max, GArray **out)
{
  g_autoptr (GArray) ids = NULL;
  const char *p = text;

  if (text == NULL)
    return FALSE;
  ids = g_array_new (FALSE, FALSE, sizeof (int64_t));
  for (;;)
    {
      const char *comma = strchr (p, ',');
      size_t len = comma ? (size_t)(comma - p) : strlen (p);
      /* One item, NUL-terminated for lares_parse_int64 (an id with the
       * spaces anyone would put around it fits). */
      char item[48];
      int64_t id;

      if (len >= sizeof item || ids->len >= max)
        return FALSE;
      memcpy (item, p, len);
      item[len] = '\0';
      if (!lares_parse_int64 (item, &id) || id <= 0)
        return FALSE;
      g_array_append_val (ids, id);
      if (comma == NULL)
        break;
      p = comma + 1;
    }
  *out = g_steal_pointer (&ids);
  return TRUE;
}

/* Split "123unit" into the number and the unit suffix (spaces allowed
 * between).  The number must be non-negative and fit in uint64_t. */
static gboolean
split_number_unit (const char *text, uint64_t *num, const char **unit)
{
  const char *p = text;
  uint64_t v = 0;

  if (text == NULL)
    return FALSE;
  while (g_ascii_isspace (*p))
    p++;
  if (!g_ascii_isdigit (*p))
    return FALSE;
  while (g_ascii_isdigit (*p))
    {
      unsigned d = (unsigned)(*p - '0');
      if (v > (UINT64_MAX - d) / 10)
        return FALSE;
      v = v * 10 + d;
      p++;
    }
  while (g_ascii_isspace (*p))
    p++;
  *num = v;
  *unit = p;
  return TRUE;
}

static gboolean
unit_is (const char *unit, const char *const *names)
{
  size_t len = strlen (unit);

  while (len > 0 && g_ascii_isspace (unit[len - 1]))
    len--;
  for (; *names; names++)
    if (strlen (*names) == len && g_ascii_strncasecmp (unit, *names, len) == 0)
      return TRUE;
  return FALSE;
}

typedef struct
{
  const char *name; /* lower case; "" is a bare number */
  uint64_t mult;
} Unit;

/* "<number><unit>" with @unit looked up in @units (NULL-name terminated). */
static gboolean
parse_with_units (const char *text, const Unit *units, uint64_t *out)
{
  uint64_t v;
  const char *unit;
  size_t len;

  if (!split_number_unit (text, &v, &unit))
    return FALSE;
  len = strlen (unit);
  while (len > 0 && g_ascii_isspace (unit[len - 1]))
    len--;
  for (; units->name != NULL; units++)
    if (strlen (units->name) == len && g_ascii_strncasecmp (unit, units->name, len) == 0)
      {
        if (v > UINT64_MAX / units->mult)
          return FALSE;
        *out = v * units->mult;
        return TRUE;
      }
  return FALSE;
}

gboolean
lares_parse_size (const char *text, uint64_t *out)
{
  static const Unit units[] = {
    { "", 1 },          { "b", 1 },        { "k", 1 << 10 },   { "kb", 1 << 10 },
    { "kib", 1 << 10 }, { "m", 1 << 20 },  { "mb", 1 << 20 },  { "mib", 1 << 20 },
    { "g", 1 << 30 },   { "gb", 1 << 30 }, { "gib", 1 << 30 }, { NULL, 0 },
  };

  return parse_with_units (text, units, out);
}

gboolean
lares_parse_duration_ms (const char *text, uint64_t *out_ms)
{
  static const Unit units[] = {
    { "ms", 1 },      { "", 1000 },     { "s", 1000 },     { "sec", 1000 }, { "m", 60000 },
    { "min", 60000 }, { "h", 3600000 }, { "d", 86400000 }, { NULL, 0 },
  };

  return parse_with_units (text, units, out_ms);
}

gboolean
lares_parse_bool (const char *text, gboolean *out)
{
  static const char *const yes[] = { "true", "yes", "on", "1", NULL };
  static const char *const no[] = { "false", "no", "off", "0", NULL };

  if (text == NULL)
    return FALSE;
  while (g_ascii_isspace (*text))
    text++;
  if (unit_is (text, yes))
    *out = TRUE;
  else if (unit_is (text, no))
    *out = FALSE;
  else
    return FALSE;
  return TRUE;
}

uint64_t
lares_proc_rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;
  uint64_t kib = 0;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  line = strstr (status, "\nVmRSS:");
  if (line == NULL)
    return 0;
  line += strlen ("\nVmRSS:");
  while (*line == ' ' || *line == '\t')
    line++;
  while (g_ascii_isdigit (*line))
    kib = kib * 10 + (uint64_t)(*line++ - '0');
  return kib;
}

/* One mapping of /proc/self/smaps, as far as the decision needs it. */
typedef struct
{
  uintptr_t start, end;
  gboolean candidate; /* r--p, backed by a file */
  uint64_t rss_kib, private_dirty_kib, anon_kib, swap_kib;
} SmapsEntry;

static gboolean
smaps_entry_droppable (const SmapsEntry *e)
{
  /* Anonymous or swapped pages are private copies: dropping them would
   * lose what was written. */
  return e->candidate && e->rss_kib > 0 && e->private_dirty_kib == 0 && e->anon_kib == 0 &&
         e->swap_kib == 0;
}

static uint64_t
smaps_field_kib (const char *line, const char *name)
{
  size_t n = strlen (name);
  uint64_t v = 0;

  if (strncmp (line, name, n) != 0)
    return G_MAXUINT64;
  for (line += n; *line == ' ' || *line == '\t'; line++)
    ;
  while (g_ascii_isdigit (*line))
    v = v * 10 + (uint64_t)(*line++ - '0');
  return v;
}

uint64_t
lares_proc_drop_clean_file_pages (void)
{
  g_autofree char *smaps = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GArray) drop = g_array_new (FALSE, FALSE, sizeof (SmapsEntry));
  SmapsEntry cur = { 0 };
  gboolean have = FALSE;
  uint64_t kib = 0;

  if (!g_file_get_contents ("/proc/self/smaps", &smaps, NULL, NULL))
    return 0;
  lines = g_strsplit (smaps, "\n", -1);
  /* Read everything first: madvise while reading would change the file. */
  for (char **l = lines; *l; l++)
    {
      unsigned long start, end, inode;
      char perms[8];
      uint64_t v;

      if (sscanf (*l, "%lx-%lx %7s %*s %*s %lu", &start, &end, perms, &inode) == 4)
        {
          if (have && smaps_entry_droppable (&cur))
            g_array_append_val (drop, cur);
          memset (&cur, 0, sizeof cur);
          have = TRUE;
          cur.start = start;
          cur.end = end;
          /* Private, read-only, not executable, from a file (inode != 0). */
          cur.candidate = strcmp (perms, "r--p") == 0 && inode != 0;
        }
      else if ((v = smaps_field_kib (*l, "Rss:")) != G_MAXUINT64)
        cur.rss_kib = v;
      else if ((v = smaps_field_kib (*l, "Private_Dirty:")) != G_MAXUINT64)
        cur.private_dirty_kib = v;
      else if ((v = smaps_field_kib (*l, "Anonymous:")) != G_MAXUINT64)
        cur.anon_kib = v;
      else if ((v = smaps_field_kib (*l, "Swap:")) != G_MAXUINT64)
        cur.swap_kib = v;
    }
  if (have && smaps_entry_droppable (&cur))
    g_array_append_val (drop, cur);
  for (unsigned i = 0; i < drop->len; i++)
    {
      SmapsEntry *e = &g_array_index (drop, SmapsEntry, i);
      /* On a private file mapping whose pages all equal the file, this
       * only drops page table entries; the next read maps them again. */
      if (madvise ((void *)e->start, e->end - e->start, MADV_DONTNEED) == 0)
        kib += e->rss_kib;
    }
  return kib;
}

int
lares_proc_open_fds (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  int n = 0;

  if (dir == NULL)
    return -1;
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n - 1; /* the GDir's own descriptor */
}

uint64_t
lares_raise_fd_limit (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) != 0)
    return 0;
  if (rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      (void)setrlimit (RLIMIT_NOFILE, &rl);
      (void)getrlimit (RLIMIT_NOFILE, &rl);
    }
  return (uint64_t)rl.rlim_cur;
}

void
lares_json_append_string (GString *out, const char *s, gssize len)
{
  static const char hex[] = "0123456789abcdef";
  const char *end = s + (len < 0 ? strlen (s) : (size_t)len);

  g_string_append_c (out, '"');
  while (s < end)
    {
      const char *run = s;
      while (s < end && (unsigned char)*s >= 0x20 && *s != '"' && *s != '\\')
        s++;
      g_string_append_len (out, run, s - run);
      if (s == end)
        break;
      switch (*s)
        {
        case '"':
          g_string_append (out, "\\\"");
          break;
        case '\\':
          g_string_append (out, "\\\\");
          break;
        case '\n':
          g_string_append (out, "\\n");
          break;
        case '\r':
          g_string_append (out, "\\r");
          break;
        case '\t':
          g_string_append (out, "\\t");
          break;
        default:
          g_string_append (out, "\\u00");
          g_string_append_c (out, hex[((unsigned char)*s) >> 4]);
          g_string_append_c (out, hex[*s & 0xf]);
        }
      s++;
    }
  g_string_append_c (out, '"');
}
