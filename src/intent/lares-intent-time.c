/* lares-intent-time.c — date/time, duration and recurrence slots.
 *
 * DESIGN: each parser reads normalized tokens through the language's date
 * table (word -> weekday, month, ordinal, unit or a language-neutral role), so
 * the grammar below is the same for every language and a new language only
 * needs a table.  The table is consulted once per word
 * (lares_intent_date_tok_init()); the parsers read the resulting
 * LaresIntentDateTok.  Every parser must consume its whole span; the matcher
 * tries spans and keeps the ones that parse.  Wall times become instants with
 * lares_intent_local_to_unix(), which handles DST gaps and folds by hand
 * (docs/internals/intent.md).  libical checks every RRULE; the first
 * occurrence of the rule shapes we write is computed directly (libical's
 * iterator costs 10-20 us, mostly ICU set-up) and libical's iterator
 * answers the rest.  Pure functions; safe from any thread.
 */
#include "config.h"

#include "lares-intent-private.h"

#include <string.h>

#include <libical/ical.h>

/* ---- DST-correct wall time -> instant ------------------------------------------ */

static int32_t
offset_at (GTimeZone *tz, int64_t t)
{
  int iv = g_time_zone_find_interval (tz, G_TIME_TYPE_UNIVERSAL, t);
  if (iv < 0)
    return 0;
  return g_time_zone_get_offset (tz, iv);
}

static int64_t
days_from_civil (int y, int m, int d)
{
  /* Howard Hinnant's algorithm: days since 1970-01-01, proleptic Gregorian. */
  int64_t yy = y - (m <= 2);
  int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
  int64_t yoe = yy - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int64_t
lares_intent_local_to_unix (GTimeZone *tz, int year, int month, int day, int hour, int minute,
                            LaresLocalKind *kind)
{
  int64_t wall = days_from_civil (year, month, day) * 86400 + hour * 3600 + minute * 60;
  int32_t cand[3] = { offset_at (tz, wall - 86400), offset_at (tz, wall),
                      offset_at (tz, wall + 86400) };
  int64_t best = 0;
  int n_valid = 0;

  for (int i = 0; i < 3; i++)
    {
      gboolean seen = FALSE;
      for (int j = 0; j < i; j++)
        seen = seen || cand[j] == cand[i];
      if (seen)
        continue;
      int64_t u = wall - cand[i];
      if (offset_at (tz, u) == cand[i])
        {
          if (n_valid == 0 || u < best)
            best = u;
          n_valid++;
        }
    }
  if (n_valid > 0)
    {
      *kind = n_valid > 1 ? LARES_LOCAL_FOLD : LARES_LOCAL_EXACT;
      return best;
    }
  /* A gap: the offset jumps from cand[0] to cand[2] between lo and hi.  The
   * first real instant is the transition itself. */
  int64_t lo = wall - cand[2], hi = wall - cand[0];
  if (lo > hi)
    {
      int64_t t = lo;
      lo = hi;
      hi = t;
    }
  while (hi - lo > 1)
    {
      int64_t mid = lo + (hi - lo) / 2;
      if (offset_at (tz, mid) == cand[0])
        lo = mid;
      else
        hi = mid;
    }
  *kind = LARES_LOCAL_GAP;
  return hi;
}

char *
lares_intent_format_rfc3339 (GDateTime *dt)
{
  return g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S%:z");
}

static GDateTime *
instant_in (GTimeZone *tz, int64_t unix_s)
{
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (unix_s);
  return g_date_time_to_timezone (utc, tz);
}

/* Days since 1970-01-01 -> proleptic Gregorian date (Hinnant again). */
static void
civil_from_days (int64_t z, int *y, int *m, int *d)
{
  int64_t era, doe, yoe, doy, mp;
  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)(yoe + era * 400 + (*m <= 2));
}

static char *
put_digits (char *p, int v, int width)
{
  for (int i = width - 1; i >= 0; i--, v /= 10)
    p[i] = (char)('0' + v % 10);
  return p + width;
}

/* lares_intent_format_rfc3339() of the instant @unix_s in @tz, without
 * making a GDateTime or going through printf: the offset is the one GLib
 * would pick (the interval holding the instant), the fields those of the
 * local time.  Years outside 1000..9999 and offsets with seconds (some
 * zones before 1972) take GLib's path, which formats them its own way. */
static char *
format_instant (GTimeZone *tz, int64_t unix_s)
{
  int32_t off = offset_at (tz, unix_s);
  int64_t local = unix_s + off;
  int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
  int sod = (int)(local - days * 86400), y, m, d, a = ABS (off);
  char buf[32], *p = buf;

  civil_from_days (days, &y, &m, &d);
  if (y < 1000 || y > 9999 || off % 60 != 0)
    {
      g_autoptr (GDateTime) dt = instant_in (tz, unix_s);
      return lares_intent_format_rfc3339 (dt);
    }
  p = put_digits (p, y, 4);
  *p++ = '-';
  p = put_digits (p, m, 2);
  *p++ = '-';
  p = put_digits (p, d, 2);
  *p++ = 'T';
  p = put_digits (p, sod / 3600, 2);
  *p++ = ':';
  p = put_digits (p, sod / 60 % 60, 2);
  *p++ = ':';
  p = put_digits (p, sod % 60, 2);
  *p++ = off >= 0 ? '+' : '-';
  p = put_digits (p, a / 3600, 2);
  *p++ = ':';
  p = put_digits (p, a / 60 % 60, 2);
  return g_strndup (buf, (size_t)(p - buf));
}

/* ---- token classes ----------------------------------------------------------------- */

static int
table_int (GHashTable *t, const char *w)
{
  gpointer v;
  if (!g_hash_table_lookup_extended (t, w, NULL, &v))
    return 0;
  return GPOINTER_TO_INT (v);
}

/* A plain number of at most 6 digits. */
static gboolean
word_number (const char *w, int *v)
{
  int x = 0, n = 0;
  for (; *w; w++, n++)
    {
      if (!g_ascii_isdigit (*w) || n >= 6)
        return FALSE;
      x = x * 10 + (*w - '0');
    }
  if (n == 0)
    return FALSE;
  *v = x;
  return TRUE;
}

static gboolean
word_clock (const char *w, int *h, int *m)
{
  const char *colon = strchr (w, ':');
  char hh[3];
  if (colon == NULL || strlen (colon + 1) != 2 || colon - w > 2)
    return FALSE;
  memcpy (hh, w, (size_t)(colon - w));
  hh[colon - w] = '\0';
  if (!word_number (hh, h) || !word_number (colon + 1, m))
    return FALSE;
  return *h <= 24 && *m <= 59;
}

static gboolean
word_ordinal (const LaresIntentLang *lang, const char *w, int *d)
{
  int v = table_int (lang->ordinals, w);
  size_t n = 0;
  if (v > 0)
    {
      *d = v;
      return TRUE;
    }
  while (g_ascii_isdigit (w[n]))
    n++;
  if (n == 0 || n > 2 || w[n] == '\0' || !g_hash_table_contains (lang->ord_suffixes, w + n))
    return FALSE;
  v = (w[0] - '0') * (n == 2 ? 10 : 1) + (n == 2 ? w[1] - '0' : 0);
  if (v < 1 || v > 31)
    return FALSE;
  *d = v;
  return TRUE;
}

void
lares_intent_date_tok_init (const LaresIntentLang *lang, const char *w, LaresIntentDateTok *t)
{
  int h = -1, m = -1, v = 0;

  *t = (LaresIntentDateTok){ .number = -1, .clock_h = -1, .clock_m = -1 };
  t->role = table_int (lang->roles, w);
  t->weekday = table_int (lang->weekdays, w);
  t->month = table_int (lang->months, w);
  v = table_int (lang->units, w);
  t->unit = v == 0 ? 0 : v - 3;
  if (word_ordinal (lang, w, &v))
    t->ordinal = v;
  if (word_number (w, &v))
    t->number = v;
  if (word_clock (w, &h, &m))
    {
      t->clock_h = h;
      t->clock_m = m;
    }
}

static LaresDateRole
role_of (const LaresIntentLang *lang, const LaresIntentDateTok *t)
{
  return (LaresDateRole)t->role;
}

static gboolean
tok_number (const LaresIntentDateTok *t, int *v)
{
  if (t->number < 0)
    return FALSE;
  *v = t->number;
  return TRUE;
}

static gboolean
tok_clock (const LaresIntentDateTok *t, int *h, int *m)
{
  if (t->clock_h < 0)
    return FALSE;
  *h = t->clock_h;
  *m = t->clock_m;
  return TRUE;
}

static gboolean
tok_ordinal (const LaresIntentLang *lang, const LaresIntentDateTok *t, int *d)
{
  if (t->ordinal <= 0)
    return FALSE;
  *d = t->ordinal;
  return TRUE;
}

static int
tok_unit (const LaresIntentLang *lang, const LaresIntentDateTok *t)
{
  return t->unit;
}

/* Classify @n words into @buf when they fit, else into a new array. */
static LaresIntentDateTok *
classify (const LaresIntentLang *lang, char **tok, size_t n, LaresIntentDateTok *buf,
          size_t buf_len)
{
  LaresIntentDateTok *out = n <= buf_len ? buf : g_new (LaresIntentDateTok, n);
  for (size_t i = 0; i < n; i++)
    lares_intent_date_tok_init (lang, tok[i], &out[i]);
  return out;
}

gboolean
lares_intent_is_date_word (const LaresIntentLang *lang, const char *w)
{
  /* Every token the parsers below consume is a table word or starts with a
   * digit (a number, a clock time, an ordinal like "3rd"). */
  return g_ascii_isdigit (w[0]) || g_hash_table_contains (lang->roles, w) ||
         g_hash_table_contains (lang->weekdays, w) || g_hash_table_contains (lang->months, w) ||
         g_hash_table_contains (lang->ordinals, w) || g_hash_table_contains (lang->units, w);
}

/* ---- durations ------------------------------------------------------------------------- */

/* One "AMOUNT UNIT [and a half]" at @i; returns tokens used (0: none).
 * @secs: OUT seconds; calendar units (month, year) only when @calendar. */
static size_t
duration_part (const LaresIntentLang *lang, const LaresIntentDateTok *tok, size_t n, size_t i,
               int64_t *secs)
{
  size_t j = i;
  int64_t num = 0, den = 1; /* amount = num / den */
  int v, unit;

  if (j >= n)
    return 0;
  if (tok_number (&tok[j], &v))
    {
      num = v;
      j++;
    }
  else if (role_of (lang, &tok[j]) == LARES_ROLE_ONE && j + 1 < n &&
           (role_of (lang, &tok[j + 1]) == LARES_ROLE_HALF ||
            role_of (lang, &tok[j + 1]) == LARES_ROLE_QUARTER))
    return duration_part (lang, tok, n, j + 1, secs) + 1;
  else if (role_of (lang, &tok[j]) == LARES_ROLE_ONE)
    {
      num = 1;
      j++;
    }
  else if (role_of (lang, &tok[j]) == LARES_ROLE_HALF ||
           role_of (lang, &tok[j]) == LARES_ROLE_QUARTER)
    {
      num = 1;
      den = role_of (lang, &tok[j]) == LARES_ROLE_HALF ? 2 : 4;
      j++;
      if (j < n && role_of (lang, &tok[j]) == LARES_ROLE_OF)
        j++;
      if (j < n && role_of (lang, &tok[j]) == LARES_ROLE_ONE)
        j++;
    }
  else
    return 0;
  /* "2 and a half hours" */
  if (den == 1 && j + 2 < n && role_of (lang, &tok[j]) == LARES_ROLE_AND &&
      role_of (lang, &tok[j + 1]) == LARES_ROLE_ONE &&
      role_of (lang, &tok[j + 2]) == LARES_ROLE_HALF)
    {
      num = num * 2 + 1;
      den = 2;
      j += 3;
    }
  if (j >= n || (unit = tok_unit (lang, &tok[j])) <= 0)
    return 0;
  j++;
  /* "an hour and a half" */
  if (den == 1 && j + 2 < n && role_of (lang, &tok[j]) == LARES_ROLE_AND &&
      role_of (lang, &tok[j + 1]) == LARES_ROLE_ONE &&
      role_of (lang, &tok[j + 2]) == LARES_ROLE_HALF)
    {
      num = num * 2 + 1;
      den = 2;
      j += 3;
    }
  if (num > 100000)
    return 0;
  *secs = num * unit / den;
  return j - i;
}

/* A whole duration starting at @i ("1 hour 30 minutes", "an hour and 20
 * minutes"); returns tokens used. */
static size_t
duration_at (const LaresIntentLang *lang, const LaresIntentDateTok *tok, size_t n, size_t i,
             int64_t *secs)
{
  size_t j = i, used;
  int64_t total = 0, part = 0;

  while ((used = duration_part (lang, tok, n, j, &part)) > 0)
    {
      total += part;
      j += used;
      if (j + 1 < n && role_of (lang, &tok[j]) == LARES_ROLE_AND &&
          duration_part (lang, tok, n, j + 1, &part) > 0)
        j++;
    }
  if (j == i || total <= 0)
    return 0;
  *secs = total;
  return j - i;
}

gboolean
lares_intent_parse_duration (const LaresIntentLang *lang, char **tok, size_t n, int64_t *seconds)
{
  LaresIntentDateTok buf[LARES_INTENT_MAX_DATE_TOKENS] = { { 0 } };
  LaresIntentDateTok *t = classify (lang, tok, n, buf, G_N_ELEMENTS (buf));
  gboolean ok = lares_intent_parse_duration_toks (lang, t, n, seconds);
  if (t != buf)
    g_free (t);
  return ok;
}

gboolean
lares_intent_parse_duration_toks (const LaresIntentLang *lang, const LaresIntentDateTok *tok,
                                  size_t n, int64_t *seconds)
{
  int64_t s = 0;
  size_t i = 0;
  if (n > 0 && role_of (lang, &tok[0]) == LARES_ROLE_IN)
    i = 1;
  if (duration_at (lang, tok, n, i, &s) != n - i || n == i)
    return FALSE;
  *seconds = s;
  return TRUE;
}

/* ---- time of day ------------------------------------------------------------------------- */

typedef struct
{
  int hour, minute; /* -1: none */
  int ampm;         /* 0, LARES_ROLE_AM or LARES_ROLE_PM */
  int daypart;      /* 0 or LARES_ROLE_MORNING..NIGHT */
  gboolean midnight;
} TimeOfDay;

static gboolean
is_daypart (LaresDateRole r)
{
  return r == LARES_ROLE_MORNING || r == LARES_ROLE_AFTERNOON || r == LARES_ROLE_EVENING ||
         r == LARES_ROLE_NIGHT;
}

/* A time of day at @i; returns tokens used (0: none). */
static size_t
time_at (const LaresIntentLang *lang, const LaresIntentDateTok *tok, size_t n, size_t i,
         gboolean after_at, TimeOfDay *t)
{
  size_t j = i;
  int h, m = 0, v;
  LaresDateRole r = role_of (lang, &tok[i]);

  if (r == LARES_ROLE_NOON || r == LARES_ROLE_MIDNIGHT)
    {
      if (t->hour >= 0)
        return 0;
      t->hour = r == LARES_ROLE_NOON ? 12 : 0;
      t->minute = 0;
      t->midnight = r == LARES_ROLE_MIDNIGHT;
      return 1;
    }
  /* "half past 5", "quarter to 6" */
  if ((r == LARES_ROLE_HALF || r == LARES_ROLE_QUARTER) && i + 2 < n)
    {
      LaresDateRole dir = role_of (lang, &tok[i + 1]);
      if ((dir == LARES_ROLE_PAST || dir == LARES_ROLE_TO) && tok_number (&tok[i + 2], &h) &&
          h >= 1 && h <= 12 && !(r == LARES_ROLE_HALF && dir == LARES_ROLE_TO))
        {
          m = r == LARES_ROLE_HALF ? 30 : 15;
          if (dir == LARES_ROLE_TO)
            {
              h = h == 1 ? 12 : h - 1;
              m = 45;
            }
          j = i + 3;
          goto have_time;
        }
      return 0;
    }
  if (tok_clock (&tok[j], &h, &m))
    j++;
  else if (tok_number (&tok[j], &h) && h <= 24)
    {
      j++;
      /* "nine thirty" became "9 30" */
      if (j < n && h >= 1 && h <= 12 && tok_number (&tok[j], &v) && v >= 10 && v <= 59)
        {
          m = v;
          j++;
        }
      else if (!after_at && !(j < n && (role_of (lang, &tok[j]) == LARES_ROLE_AM ||
                                        role_of (lang, &tok[j]) == LARES_ROLE_PM ||
                                        role_of (lang, &tok[j]) == LARES_ROLE_OCLOCK)))
        return 0;
    }
  else
    return 0;
have_time:
  if (t->hour >= 0)
    return 0;
  if (j < n && role_of (lang, &tok[j]) == LARES_ROLE_OCLOCK)
    j++;
  if (j < n &&
      (role_of (lang, &tok[j]) == LARES_ROLE_AM || role_of (lang, &tok[j]) == LARES_ROLE_PM))
    {
      t->ampm = role_of (lang, &tok[j]);
      if (h < 1 || h > 12)
        return 0;
      j++;
    }
  if (h == 24 && m != 0)
    return 0;
  t->hour = h;
  t->minute = m;
  return j - i;
}

/* Resolve am/pm and day parts into a 24-hour clock; -1 when no hour. */
static int
hour24 (const TimeOfDay *t)
{
  int h = t->hour;
  if (h < 0)
    return -1;
  if (t->ampm == LARES_ROLE_PM && h < 12)
    return h + 12;
  if (t->ampm == LARES_ROLE_AM && h == 12)
    return 0;
  if (t->ampm == 0 && h < 12 && !t->midnight &&
      (t->daypart == LARES_ROLE_AFTERNOON || t->daypart == LARES_ROLE_EVENING ||
       (t->daypart == LARES_ROLE_NIGHT && h >= 6)))
    return h + 12;
  return h == 24 ? 0 : h;
}

static int
daypart_hour (int daypart)
{
  switch (daypart)
    {
    case LARES_ROLE_MORNING:
      return 9;
    case LARES_ROLE_AFTERNOON:
      return 15;
    case LARES_ROLE_EVENING:
      return 19;
    case LARES_ROLE_NIGHT:
      return 21;
    default:
      return -1;
    }
}

/* ---- date/time ------------------------------------------------------------------------------ */

typedef struct
{
  int rel_days;  /* -1: none */
  int weekday;   /* 0: none, 1..7 */
  int month;     /* 0: none */
  int mday;      /* 0: none */
  int year;      /* 0: none */
  int64_t rel_s; /* -1: none */
  int week;      /* 0: none, 1: this week (what is left of it), 2: next week */
  gboolean weekend;
  TimeOfDay tod;
} DateSpec;

static gboolean
have_day (const DateSpec *s)
{
  return s->rel_days >= 0 || s->weekday > 0 || s->mday > 0 || s->week > 0 || s->weekend;
}

/* Parse the tokens into @s; FALSE if any token is not understood. */
static gboolean
date_spec (const LaresIntentLang *lang, const LaresIntentDateTok *tok, size_t n, DateSpec *s)
{
  gboolean after_at = FALSE;
  int v;

  for (size_t i = 0; i < n;)
    {
      LaresDateRole r = role_of (lang, &tok[i]);
      size_t used;
      int64_t secs;

      if (r == LARES_ROLE_IN)
        {
          if ((used = duration_at (lang, tok, n, i + 1, &secs)) > 0)
            {
              if (s->rel_s >= 0)
                return FALSE;
              s->rel_s = secs;
              i += 1 + used;
              continue;
            }
          i++;
          continue;
        }
      if ((used = duration_at (lang, tok, n, i, &secs)) > 0)
        {
          size_t j = i + used;
          if (j < n && role_of (lang, &tok[j]) == LARES_ROLE_LATER)
            j++;
          else if (j + 1 < n && role_of (lang, &tok[j]) == LARES_ROLE_FROM &&
                   role_of (lang, &tok[j + 1]) == LARES_ROLE_NOW)
            j += 2;
          if (j > i + used && s->rel_s < 0)
            {
              s->rel_s = secs;
              i = j;
              continue;
            }
        }
      if (r == LARES_ROLE_AT)
        {
          after_at = TRUE;
          i++;
          continue;
        }
      if (r == LARES_ROLE_ON || r == LARES_ROLE_THE || r == LARES_ROLE_OF)
        {
          i++;
          continue;
        }
      if (r == LARES_ROLE_TODAY || r == LARES_ROLE_TOMORROW || r == LARES_ROLE_TONIGHT)
        {
          if (have_day (s))
            return FALSE;
          s->rel_days = r == LARES_ROLE_TOMORROW ? 1 : 0;
          if (r == LARES_ROLE_TONIGHT)
            s->tod.daypart = LARES_ROLE_NIGHT;
          i++;
          continue;
        }
      if ((r == LARES_ROLE_NEXT || r == LARES_ROLE_THIS) && i + 1 < n)
        {
          int wd = tok[i + 1].weekday;
          LaresDateRole r2 = role_of (lang, &tok[i + 1]);
          if (wd > 0 && !have_day (s))
            {
              s->weekday = wd;
              i += 2;
              continue;
            }
          /* "this week", "next week", "this weekend": day slots only. */
          if (tok_unit (lang, &tok[i + 1]) == 7 * 86400 && !have_day (s))
            {
              s->week = r == LARES_ROLE_NEXT ? 2 : 1;
              i += 2;
              continue;
            }
          if (r == LARES_ROLE_THIS && r2 == LARES_ROLE_WEEKENDS && !have_day (s))
            {
              s->weekend = TRUE;
              i += 2;
              continue;
            }
          if (r == LARES_ROLE_THIS && is_daypart (r2) && s->tod.daypart == 0)
            {
              s->tod.daypart = r2;
              if (s->rel_days < 0 && s->weekday == 0 && s->mday == 0)
                s->rel_days = 0;
              i += 2;
              continue;
            }
          return FALSE;
        }
      if ((v = tok[i].weekday) > 0)
        {
          if (have_day (s))
            return FALSE;
          s->weekday = v;
          i++;
          continue;
        }
      if (r == LARES_ROLE_WEEKENDS)
        {
          if (have_day (s))
            return FALSE;
          s->weekend = TRUE;
          i++;
          continue;
        }
      if ((v = tok[i].month) > 0)
        {
          int d;
          if (s->month > 0 || (i + 1 >= n && s->mday == 0))
            return FALSE;
          s->month = v;
          i++;
          if (s->mday == 0)
            {
              if (role_of (lang, &tok[i]) == LARES_ROLE_THE && i + 1 < n)
                i++;
              if (!(tok_ordinal (lang, &tok[i], &d) ||
                    (tok_number (&tok[i], &d) && d >= 1 && d <= 31)))
                return FALSE;
              s->mday = d;
              i++;
            }
          if (i < n && tok_number (&tok[i], &v) && v >= 1970 && v <= 9999)
            {
              s->year = v;
              i++;
            }
          continue;
        }
      if (tok_ordinal (lang, &tok[i], &v))
        {
          if (have_day (s))
            return FALSE;
          s->mday = v;
          i++;
          continue;
        }
      /* "3 december" */
      if (tok_number (&tok[i], &v) && v >= 1 && v <= 31 && i + 1 < n && tok[i + 1].month > 0 &&
          s->mday == 0 && !have_day (s))
        {
          s->mday = v;
          i++;
          continue;
        }
      if (is_daypart (r))
        {
          if (s->tod.daypart != 0 && !(s->tod.daypart == LARES_ROLE_NIGHT && r == LARES_ROLE_NIGHT))
            return FALSE;
          s->tod.daypart = r;
          i++;
          continue;
        }
      if ((used = time_at (lang, tok, n, i, after_at, &s->tod)) > 0)
        {
          i += used;
          after_at = FALSE;
          continue;
        }
      return FALSE;
    }
  if (s->month > 0 && s->mday == 0)
    return FALSE;
  return have_day (s) || s->rel_s >= 0 || s->tod.hour >= 0 || s->tod.daypart != 0;
}

static void
add_days (int *y, int *m, int *d, int days)
{
  GDate date;
  g_date_clear (&date, 1);
  g_date_set_dmy (&date, (GDateDay)*d, (GDateMonth)*m, (GDateYear)*y);
  g_date_add_days (&date, (unsigned)days);
  *y = g_date_get_year (&date);
  *m = g_date_get_month (&date);
  *d = g_date_get_day (&date);
}

static char *
dst_note (const LaresIntentLang *lang, LaresLocalKind kind, int y, int m, int d, int h, int mi,
          GDateTime *actual)
{
  g_autofree char *wall = g_strdup_printf ("%02d:%02d", h, mi);
  g_autofree char *date = g_strdup_printf ("%04d-%02d-%02d", y, m, d);
  g_autofree char *got = g_date_time_format (actual, "%H:%M %Z");
  const char *tmpl =
      lares_intent_lang_message (lang, kind == LARES_LOCAL_GAP ? "dst_gap" : "dst_fold");
  g_autoptr (GString) s = g_string_new (tmpl);

  g_string_replace (s, "{wall}", wall, 0);
  g_string_replace (s, "{date}", date, 0);
  g_string_replace (s, "{actual}", got, 0);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* The RFC 3339 text of a local wall time; @note set on DST adjustment. */
static char *
wall_to_text (const LaresIntentLang *lang, GTimeZone *tz, int y, int m, int d, int h, int mi,
              char **note)
{
  LaresLocalKind kind;
  int64_t u = lares_intent_local_to_unix (tz, y, m, d, h, mi, &kind);

  if (kind != LARES_LOCAL_EXACT && note != NULL && *note == NULL)
    {
      g_autoptr (GDateTime) dt = instant_in (tz, u);
      *note = dst_note (lang, kind, y, m, d, h, mi, dt);
    }
  return format_instant (tz, u);
}

static JsonNode *
string_node (char *owned)
{
  JsonNode *node = json_node_init_string (json_node_alloc (), owned);
  g_free (owned);
  return node;
}

gboolean
lares_intent_parse_when (const LaresIntentLang *lang, char **tok, size_t n, GDateTime *now,
                         gboolean day_only, LaresIntentWhen *when)
{
  LaresIntentDateTok buf[LARES_INTENT_MAX_DATE_TOKENS] = { { 0 } };
  if (n == 0 || n > LARES_INTENT_MAX_DATE_TOKENS)
    return FALSE;
  return lares_intent_parse_when_toks (lang, classify (lang, tok, n, buf, n), n, now, day_only,
                                       when);
}

gboolean
lares_intent_parse_when_toks (const LaresIntentLang *lang, const LaresIntentDateTok *tok, size_t n,
                              GDateTime *now, gboolean day_only, LaresIntentWhen *when)
{
  DateSpec s = { .rel_days = -1, .rel_s = -1, .tod = { .hour = -1, .minute = -1 } };
  int y, m, d, h, mi = 0;

  if (n == 0 || n > LARES_INTENT_MAX_DATE_TOKENS || !date_spec (lang, tok, n, &s))
    return FALSE;
  /* Only now: most spans the matcher tries are not dates at all. */
  g_date_time_get_ymd (now, &y, &m, &d);

  if (s.rel_s >= 0)
    {
      g_autoptr (GDateTime) at = NULL;
      if (day_only || have_day (&s) || s.tod.hour >= 0 || s.tod.daypart != 0)
        return FALSE;
      /* Out of GDateTime's range is not a time. */
      at = g_date_time_add_seconds (now, (double)s.rel_s);
      if (at == NULL)
        return FALSE;
      *when = (LaresIntentWhen){ .kind = LARES_WHEN_RELATIVE, .rel_s = s.rel_s };
      return TRUE;
    }

  /* A week or a weekend is a run of days: a day slot's {start, end}.  The
   * week starts on Monday; "this week" is what is left of it, today
   * included, and "this weekend" on a Sunday is just that day. */
  if (s.week > 0 || s.weekend)
    {
      int wd = g_date_time_get_day_of_week (now), days;

      if (!day_only || s.tod.hour >= 0 || s.tod.daypart != 0)
        return FALSE;
      if (s.week == 2)
        {
          add_days (&y, &m, &d, 8 - wd);
          days = 7;
        }
      else if (s.week == 1)
        days = 8 - wd;
      else
        {
          if (wd < 6)
            add_days (&y, &m, &d, 6 - wd);
          days = wd == 7 ? 1 : 2;
        }
      *when = (LaresIntentWhen){
        .kind = LARES_WHEN_DAY, .year = y, .month = m, .day = d, .days = days
      };
      return TRUE;
    }

  /* The day. */
  if (s.rel_days >= 0)
    add_days (&y, &m, &d, s.rel_days);
  else if (s.weekday > 0)
    {
      int today = g_date_time_get_day_of_week (now);
      int delta = (s.weekday - today + 7) % 7;
      add_days (&y, &m, &d, delta == 0 ? 7 : delta);
    }
  else if (s.month > 0)
    {
      int yy = s.year > 0 ? s.year : y;
      if (!g_date_valid_dmy ((GDateDay)s.mday, (GDateMonth)s.month, (GDateYear)yy))
        return FALSE;
      if (s.year == 0 && (s.month < m || (s.month == m && s.mday < d)))
        {
          yy++;
          if (!g_date_valid_dmy ((GDateDay)s.mday, (GDateMonth)s.month, (GDateYear)yy))
            return FALSE;
        }
      y = yy;
      m = s.month;
      d = s.mday;
    }
  else if (s.mday > 0)
    {
      if (s.mday < d)
        {
          m++;
          if (m > 12)
            {
              m = 1;
              y++;
            }
        }
      if (!g_date_valid_dmy ((GDateDay)s.mday, (GDateMonth)m, (GDateYear)y))
        return FALSE;
      d = s.mday;
    }

  if (day_only)
    {
      if (s.tod.hour >= 0 || s.tod.daypart != 0 || !have_day (&s))
        return FALSE;
      *when = (LaresIntentWhen){ .kind = LARES_WHEN_DAY, .year = y, .month = m, .day = d };
      return TRUE;
    }

  /* The time. */
  h = hour24 (&s.tod);
  if (h >= 0)
    mi = s.tod.minute;
  else if (s.tod.daypart != 0)
    h = daypart_hour (s.tod.daypart);
  else
    h = lang->default_hour;
  if (s.tod.midnight)
    add_days (&y, &m, &d, 1);
  else if (!have_day (&s))
    {
      /* A bare time: the next one to come.  "at 7" at 10:00 is 19:00. */
      int now_min = g_date_time_get_hour (now) * 60 + g_date_time_get_minute (now);
      gboolean twelve = s.tod.ampm == 0 && s.tod.daypart == 0 && s.tod.hour >= 1 && s.tod.hour < 12;
      if (h * 60 + mi <= now_min)
        {
          if (twelve && (h + 12) * 60 + mi > now_min)
            h += 12;
          else
            add_days (&y, &m, &d, 1);
        }
    }
  *when = (LaresIntentWhen){
    .kind = LARES_WHEN_WALL, .year = y, .month = m, .day = d, .hour = h, .minute = mi
  };
  return TRUE;
}

JsonNode *
lares_intent_when_value (const LaresIntentLang *lang, GDateTime *now, const LaresIntentWhen *when,
                         char **note)
{
  GTimeZone *tz = g_date_time_get_timezone (now);

  switch (when->kind)
    {
    case LARES_WHEN_RELATIVE:
      {
        g_autoptr (GDateTime) at = g_date_time_add_seconds (now, (double)when->rel_s);
        /* lares_intent_parse_when() checked the range. */
        g_return_val_if_fail (at != NULL, NULL);
        return string_node (format_instant (tz, g_date_time_to_unix (at)));
      }
    case LARES_WHEN_DAY:
      {
        JsonObject *o = json_object_new ();
        JsonNode *node = json_node_new (JSON_NODE_OBJECT);
        int y2 = when->year, m2 = when->month, d2 = when->day;
        add_days (&y2, &m2, &d2, when->days > 1 ? when->days : 1);
        json_object_set_member (
            o, "start",
            string_node (wall_to_text (lang, tz, when->year, when->month, when->day, 0, 0, NULL)));
        json_object_set_member (o, "end",
                                string_node (wall_to_text (lang, tz, y2, m2, d2, 0, 0, NULL)));
        json_node_take_object (node, o);
        return node;
      }
    case LARES_WHEN_WALL:
    default:
      return string_node (wall_to_text (lang, tz, when->year, when->month, when->day, when->hour,
                                        when->minute, note));
    }
}

gboolean
lares_intent_parse_datetime (const LaresIntentLang *lang, char **tok, size_t n, GDateTime *now,
                             gboolean day_only, JsonNode **value, char **note)
{
  LaresIntentWhen when;
  if (!lares_intent_parse_when (lang, tok, n, now, day_only, &when))
    return FALSE;
  *value = lares_intent_when_value (lang, now, &when, note);
  return *value != NULL;
}

/* ---- recurrence -------------------------------------------------------------------------------
 */

static const char *const ical_days[] = { "", "MO", "TU", "WE", "TH", "FR", "SA", "SU" };

typedef struct
{
  const char *freq; /* NULL: none yet */
  int interval;
  GString *byday; /* NULL until a day is added: most spans never get that far */
  int bymonthday;
} RuleSpec;

static gboolean
set_freq (RuleSpec *r, const char *freq)
{
  if (r->freq != NULL)
    return FALSE;
  r->freq = freq;
  return TRUE;
}

static const char *
unit_freq (int unit)
{
  switch (unit)
    {
    case 60:
      return "MINUTELY";
    case 3600:
      return "HOURLY";
    case 86400:
      return "DAILY";
    case 7 * 86400:
      return "WEEKLY";
    case LARES_UNIT_MONTH:
      return "MONTHLY";
    case LARES_UNIT_YEAR:
      return "YEARLY";
    default:
      return NULL;
    }
}

static void
rule_spec_clear (RuleSpec *r)
{
  if (r->byday != NULL)
    g_string_free (r->byday, TRUE);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (RuleSpec, rule_spec_clear)

static GString *
byday_of (RuleSpec *r)
{
  if (r->byday == NULL)
    r->byday = g_string_new (NULL);
  return r->byday;
}

/* "[the] ORD|last WEEKDAY of every month" or "[the] ORD of every month". */
static size_t
monthly_at (const LaresIntentLang *lang, const LaresIntentDateTok *tok, size_t n, size_t i,
            RuleSpec *r)
{
  size_t j = i;
  int ord = 0, wd = 0;
  if (j < n && role_of (lang, &tok[j]) == LARES_ROLE_THE)
    j++;
  if (j >= n)
    return 0;
  if (role_of (lang, &tok[j]) == LARES_ROLE_LAST)
    ord = -1;
  else if (!tok_ordinal (lang, &tok[j], &ord))
    return 0;
  j++;
  if (j < n && (wd = tok[j].weekday) > 0)
    j++;
  if (ord < -1 || (wd > 0 && ord > 5) || (wd == 0 && ord == -1))
    return 0;
  if (j + 2 > n || role_of (lang, &tok[j]) != LARES_ROLE_OF)
    return 0;
  j++;
  if (role_of (lang, &tok[j]) == LARES_ROLE_EVERY || role_of (lang, &tok[j]) == LARES_ROLE_THE)
    j++;
  if (j >= n || tok_unit (lang, &tok[j]) != LARES_UNIT_MONTH)
    return 0;
  j++;
  if (!set_freq (r, "MONTHLY"))
    return 0;
  if (wd > 0)
    g_string_append_printf (byday_of (r), "%d%s", ord, ical_days[wd]);
  else
    r->bymonthday = ord;
  return j - i;
}

char *
lares_intent_parse_rrule (const LaresIntentLang *lang, char **tok, size_t n)
{
  LaresIntentDateTok buf[LARES_INTENT_MAX_DATE_TOKENS] = { { 0 } };
  if (n == 0 || n > LARES_INTENT_MAX_DATE_TOKENS)
    return NULL;
  return lares_intent_parse_rrule_toks (lang, classify (lang, tok, n, buf, n), n);
}

char *
lares_intent_parse_rrule_toks (const LaresIntentLang *lang, const LaresIntentDateTok *tok, size_t n)
{
  g_auto (RuleSpec) r = { NULL, 1, NULL, 0 };
  g_autoptr (GString) rule = NULL;
  TimeOfDay tod = { .hour = -1, .minute = -1 };
  gboolean after_at = FALSE;
  struct icalrecurrencetype rt;
  int h = -1, mi = 0;

  if (n == 0 || n > LARES_INTENT_MAX_DATE_TOKENS)
    return NULL;
  for (size_t i = 0; i < n;)
    {
      LaresDateRole role = role_of (lang, &tok[i]);
      size_t used;
      int v;

      if (role == LARES_ROLE_EVERY && r.freq == NULL)
        {
          i++;
          if (i < n && role_of (lang, &tok[i]) == LARES_ROLE_OTHER)
            {
              r.interval = 2;
              i++;
            }
          else if (i < n && tok_number (&tok[i], &v) && v >= 1 && v <= 1000)
            {
              r.interval = v;
              i++;
            }
          if (i >= n)
            return NULL;
          if ((v = tok[i].weekday) > 0)
            {
              set_freq (&r, "WEEKLY");
              g_string_append (byday_of (&r), ical_days[v]);
              i++;
              /* "every monday and thursday", "every monday, wednesday and friday" */
              while (i < n)
                {
                  size_t j = i;
                  if (role_of (lang, &tok[j]) == LARES_ROLE_AND)
                    j++;
                  if (j < n && (v = tok[j].weekday) > 0)
                    {
                      g_string_append_printf (byday_of (&r), ",%s", ical_days[v]);
                      i = j + 1;
                    }
                  else
                    break;
                }
              continue;
            }
          role = role_of (lang, &tok[i]);
          if (role == LARES_ROLE_WEEKDAYS || role == LARES_ROLE_WEEKENDS)
            {
              set_freq (&r, "WEEKLY");
              g_string_append (byday_of (&r),
                               role == LARES_ROLE_WEEKDAYS ? "MO,TU,WE,TH,FR" : "SA,SU");
              i++;
              continue;
            }
          if (is_daypart (role))
            {
              set_freq (&r, "DAILY");
              tod.daypart = role;
              i++;
              continue;
            }
          if ((v = tok_unit (lang, &tok[i])) != 0 && unit_freq (v) != NULL)
            {
              set_freq (&r, unit_freq (v));
              i++;
              continue;
            }
          return NULL;
        }
      if (role == LARES_ROLE_DAILY || role == LARES_ROLE_WEEKLY || role == LARES_ROLE_MONTHLY ||
          role == LARES_ROLE_HOURLY)
        {
          if (!set_freq (&r, role == LARES_ROLE_DAILY     ? "DAILY"
                             : role == LARES_ROLE_WEEKLY  ? "WEEKLY"
                             : role == LARES_ROLE_MONTHLY ? "MONTHLY"
                                                          : "HOURLY"))
            return NULL;
          i++;
          continue;
        }
      if ((used = monthly_at (lang, tok, n, i, &r)) > 0)
        {
          i += used;
          continue;
        }
      /* "every month on the 15th" */
      if (r.freq != NULL && strcmp (r.freq, "MONTHLY") == 0 && r.bymonthday == 0 &&
          r.byday == NULL && tok_ordinal (lang, &tok[i], &v))
        {
          r.bymonthday = v;
          i++;
          continue;
        }
      if (role == LARES_ROLE_AT)
        {
          after_at = TRUE;
          i++;
          continue;
        }
      if (role == LARES_ROLE_ON || role == LARES_ROLE_THE || role == LARES_ROLE_IN)
        {
          i++;
          continue;
        }
      if (is_daypart (role) && tod.daypart == 0)
        {
          tod.daypart = role;
          i++;
          continue;
        }
      if ((used = time_at (lang, tok, n, i, after_at, &tod)) > 0)
        {
          i += used;
          after_at = FALSE;
          continue;
        }
      return NULL;
    }
  if (r.freq == NULL)
    return NULL;

  h = hour24 (&tod);
  if (h >= 0)
    mi = tod.minute;
  else if (tod.daypart != 0)
    h = daypart_hour (tod.daypart);
  else if (strcmp (r.freq, "HOURLY") != 0 && strcmp (r.freq, "MINUTELY") != 0)
    h = lang->default_hour;
  if (h >= 0 && (strcmp (r.freq, "HOURLY") == 0 || strcmp (r.freq, "MINUTELY") == 0))
    return NULL;

  rule = g_string_new (NULL);
  g_string_append_printf (rule, "FREQ=%s", r.freq);
  if (r.interval > 1)
    g_string_append_printf (rule, ";INTERVAL=%d", r.interval);
  if (r.byday != NULL)
    g_string_append_printf (rule, ";BYDAY=%s", r.byday->str);
  if (r.bymonthday != 0)
    g_string_append_printf (rule, ";BYMONTHDAY=%d", r.bymonthday);
  if (h >= 0)
    g_string_append_printf (rule, ";BYHOUR=%d;BYMINUTE=%d", h, mi);

  /* libical is the judge of the rule (PROTOCOLS.md §7). */
  rt = icalrecurrencetype_from_string (rule->str);
  if (rt.freq == ICAL_NO_RECURRENCE)
    return NULL;
  return g_string_free (g_steal_pointer (&rule), FALSE);
}

static int
days_in_month (int y, int m)
{
  return g_date_get_days_in_month ((GDateMonth)m, (GDateYear)y);
}

/* ISO weekday, 1 (Monday) .. 7, of a proleptic Gregorian date. */
static int
iso_weekday (int y, int m, int d)
{
  int64_t days = days_from_civil (y, m, d);
  return (int)(((days + 3) % 7 + 7) % 7) + 1;
}

static int
wall_cmp (const LaresIntentWall *a, const LaresIntentWall *b)
{
  int x[5] = { a->year, a->month, a->day, a->hour, a->minute };
  int y[5] = { b->year, b->month, b->day, b->hour, b->minute };
  for (int i = 0; i < 5; i++)
    if (x[i] != y[i])
      return x[i] < y[i] ? -1 : 1;
  return 0;
}

static void
wall_add_minutes (LaresIntentWall *w, int minutes)
{
  int t = w->hour * 60 + w->minute + minutes, days = 0;
  while (t >= 24 * 60)
    {
      t -= 24 * 60;
      days++;
    }
  w->hour = t / 60;
  w->minute = t % 60;
  if (days > 0)
    add_days (&w->year, &w->month, &w->day, days);
}

static gboolean
by_empty (const short *a)
{
  return a[0] == ICAL_RECURRENCE_ARRAY_MAX;
}

/* The single value of a BY list, or -1. */
static int
by_one (const short *a)
{
  return a[0] != ICAL_RECURRENCE_ARRAY_MAX && a[1] == ICAL_RECURRENCE_ARRAY_MAX ? a[0] : -1;
}

/* The first occurrence after @start (a wall time, seconds 0) of the rule
 * shapes lares_intent_parse_rrule() writes, computed directly: MINUTELY and
 * HOURLY with no BY parts; DAILY, WEEKLY (BYDAY of plain weekdays),
 * MONTHLY with BYDAY=nWD or BYMONTHDAY=d, each with one BYHOUR and one
 * BYMINUTE.  FALSE for anything else (plain MONTHLY and YEARLY take
 * DTSTART's day, with libical's own rules for short months): libical's
 * iterator answers those.  Interval is taken as 1 (see the caller). */
static gboolean
first_simple (const struct icalrecurrencetype *rt, const LaresIntentWall *start,
              LaresIntentWall *first)
{
  int h = by_one (rt->by_hour), mi = by_one (rt->by_minute);
  gboolean weekdays[8] = { FALSE };
  int pos = 0, wd = 0, mday = by_one (rt->by_month_day);

  if (rt->count != 0 || !icaltime_is_null_time (rt->until) || rt->rscale != NULL ||
      !by_empty (rt->by_second) || !by_empty (rt->by_year_day) || !by_empty (rt->by_week_no) ||
      !by_empty (rt->by_month) || !by_empty (rt->by_set_pos) || start->year < 1970 ||
      start->year > 9000)
    return FALSE;
  *first = *start;
  if (rt->freq == ICAL_MINUTELY_RECURRENCE || rt->freq == ICAL_HOURLY_RECURRENCE)
    {
      if (!by_empty (rt->by_hour) || !by_empty (rt->by_minute) || !by_empty (rt->by_day) ||
          !by_empty (rt->by_month_day))
        return FALSE;
      wall_add_minutes (first, rt->freq == ICAL_MINUTELY_RECURRENCE ? 1 : 60);
      return TRUE;
    }
  if (h < 0 || h > 23 || mi < 0 || mi > 59)
    return FALSE;
  first->hour = h;
  first->minute = mi;
  for (int i = 0; i < ICAL_BY_DAY_SIZE && rt->by_day[i] != ICAL_RECURRENCE_ARRAY_MAX; i++)
    {
      int lw = icalrecurrencetype_day_day_of_week (rt->by_day[i]);
      int p = icalrecurrencetype_day_position (rt->by_day[i]);
      if (lw < 1 || lw > 7)
        return FALSE;
      wd = (lw + 5) % 7 + 1; /* libical counts from Sunday = 1 */
      weekdays[wd] = TRUE;
      if (p != 0)
        {
          if (i > 0 || rt->by_day[1] != ICAL_RECURRENCE_ARRAY_MAX || (p < 1 && p != -1) || p > 5)
            return FALSE;
          pos = p;
        }
    }
  switch (rt->freq)
    {
    case ICAL_DAILY_RECURRENCE:
      if (!by_empty (rt->by_day) || !by_empty (rt->by_month_day))
        return FALSE;
      if (wall_cmp (first, start) <= 0)
        add_days (&first->year, &first->month, &first->day, 1);
      return TRUE;
    case ICAL_WEEKLY_RECURRENCE:
      if (by_empty (rt->by_day) || pos != 0 || !by_empty (rt->by_month_day))
        return FALSE;
      for (int k = 0; k <= 7; k++)
        {
          if (weekdays[iso_weekday (first->year, first->month, first->day)] &&
              wall_cmp (first, start) > 0)
            return TRUE;
          add_days (&first->year, &first->month, &first->day, 1);
        }
      return FALSE;
    case ICAL_MONTHLY_RECURRENCE:
      if ((pos == 0) == (mday < 1) || (pos == 0 && !by_empty (rt->by_day)) ||
          (pos != 0 && !by_empty (rt->by_month_day)) || mday > 31)
        return FALSE;
      for (int k = 0; k < 24; k++)
        {
          int y = start->year + (start->month - 1 + k) / 12, m = (start->month - 1 + k) % 12 + 1;
          int dim = days_in_month (y, m), d;
          if (pos == 0)
            d = mday;
          else if (pos > 0)
            d = 1 + ((wd - iso_weekday (y, m, 1)) + 7) % 7 + 7 * (pos - 1);
          else
            d = dim - ((iso_weekday (y, m, dim) - wd) + 7) % 7;
          if (d > dim)
            continue;
          first->year = y;
          first->month = m;
          first->day = d;
          if (wall_cmp (first, start) > 0)
            return TRUE;
        }
      return FALSE;
    default:
      return FALSE;
    }
}

/* libical's answer: its iterator from DTSTART = @start, the first
 * occurrence after it (within 1000 steps). */
static gboolean
first_libical (struct icalrecurrencetype rt, const LaresIntentWall *start, LaresIntentWall *first)
{
  /* As g_date_time_format (now, "%Y%m%dT%H%M00") wrote it (%Y unpadded). */
  g_autofree char *start_s = g_strdup_printf ("%d%02d%02dT%02d%02d00", start->year, start->month,
                                              start->day, start->hour, start->minute);
  struct icaltimetype dtstart = icaltime_from_string (start_s), next;
  icalrecur_iterator *it;
  gboolean found = FALSE;
  int guard = 0;

  it = icalrecur_iterator_new (rt, dtstart);
  if (it == NULL)
    return FALSE;
  for (next = icalrecur_iterator_next (it); !icaltime_is_null_time (next) && guard < 1000;
       next = icalrecur_iterator_next (it), guard++)
    if (icaltime_compare (next, dtstart) > 0)
      {
        *first = (LaresIntentWall){ next.year, next.month, next.day, next.hour, next.minute };
        found = TRUE;
        break;
      }
  icalrecur_iterator_free (it);
  return found;
}

gboolean
lares_intent_rrule_first (const char *rule, const LaresIntentWall *start, gboolean use_libical,
                          LaresIntentWall *first)
{
  struct icalrecurrencetype rt = icalrecurrencetype_from_string (rule);

  if (rt.freq == ICAL_NO_RECURRENCE)
    return FALSE;
  /* The first occurrence is the next matching time, whatever the interval:
   * "every other tuesday" starts on the coming Tuesday, which then becomes
   * DTSTART and anchors the interval. */
  rt.interval = 1;
  if (!use_libical && first_simple (&rt, start, first))
    return TRUE;
  return first_libical (rt, start, first);
}

JsonNode *
lares_intent_rrule_value (const LaresIntentLang *lang, const char *rule, GDateTime *now,
                          char **note)
{
  LaresIntentWall start = { 0 }, first;
  g_autofree char *first_s = NULL;
  JsonObject *o;
  JsonNode *node;

  /* DTSTART is now, to the minute, as a local (floating) wall time; the
   * occurrence found is made an instant with the DST rules above. */
  g_date_time_get_ymd (now, &start.year, &start.month, &start.day);
  start.hour = g_date_time_get_hour (now);
  start.minute = g_date_time_get_minute (now);
  if (!lares_intent_rrule_first (rule, &start, FALSE, &first))
    return NULL;
  first_s = wall_to_text (lang, g_date_time_get_timezone (now), first.year, first.month, first.day,
                          first.hour, first.minute, note);
  o = json_object_new ();
  node = json_node_new (JSON_NODE_OBJECT);
  json_object_set_string_member (o, "rrule", rule);
  json_object_set_string_member (o, "start", first_s);
  json_node_take_object (node, o);
  return node;
}

gboolean
lares_intent_parse_recurrence (const LaresIntentLang *lang, char **tok, size_t n, GDateTime *now,
                               JsonNode **value, char **note)
{
  g_autofree char *rule = lares_intent_parse_rrule (lang, tok, n);
  if (rule == NULL)
    return FALSE;
  *value = lares_intent_rrule_value (lang, rule, now, note);
  return *value != NULL;
}
