/* lares-intent-lang.c — per-language tables and the normalizer.
 *
 * DESIGN: a language is data (data/intents/LANG/NAME.yaml): filler words,
 * replacements (contractions, multi-word phrases), number words and the small
 * date table.  The C code below knows no English; it only knows the shape of
 * those tables.  Tables are filled at start-up and read-only afterwards, so
 * normalizing is safe from any thread.
 */
#include "config.h"

#include "lares-intent-private.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK (lares - intent - error - quark, lares_intent_error)

gboolean
lares_intent_throw (GError **error, int code, const char *file, int line, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (file != NULL && line > 0)
    g_set_error (error, LARES_INTENT_ERROR, code, "%s:%d: %s", file, line, msg);
  else if (file != NULL)
    g_set_error (error, LARES_INTENT_ERROR, code, "%s: %s", file, msg);
  else
    g_set_error_literal (error, LARES_INTENT_ERROR, code, msg);
  return FALSE;
}

static const char *const role_names[LARES_ROLE_N_ROLES] = {
  [LARES_ROLE_TODAY] = "today",
  [LARES_ROLE_TOMORROW] = "tomorrow",
  [LARES_ROLE_TONIGHT] = "tonight",
  [LARES_ROLE_NEXT] = "next",
  [LARES_ROLE_THIS] = "this",
  [LARES_ROLE_AT] = "at",
  [LARES_ROLE_ON] = "on",
  [LARES_ROLE_IN] = "in",
  [LARES_ROLE_THE] = "the",
  [LARES_ROLE_OF] = "of",
  [LARES_ROLE_AND] = "and",
  [LARES_ROLE_FROM] = "from",
  [LARES_ROLE_NOW] = "now",
  [LARES_ROLE_LATER] = "later",
  [LARES_ROLE_NOON] = "noon",
  [LARES_ROLE_MIDNIGHT] = "midnight",
  [LARES_ROLE_MORNING] = "morning",
  [LARES_ROLE_AFTERNOON] = "afternoon",
  [LARES_ROLE_EVENING] = "evening",
  [LARES_ROLE_NIGHT] = "night",
  [LARES_ROLE_AM] = "am",
  [LARES_ROLE_PM] = "pm",
  [LARES_ROLE_OCLOCK] = "oclock",
  [LARES_ROLE_EVERY] = "every",
  [LARES_ROLE_OTHER] = "other",
  [LARES_ROLE_WEEKDAYS] = "weekdays",
  [LARES_ROLE_WEEKENDS] = "weekends",
  [LARES_ROLE_LAST] = "last",
  [LARES_ROLE_HALF] = "half",
  [LARES_ROLE_QUARTER] = "quarter",
  [LARES_ROLE_ONE] = "one",
  [LARES_ROLE_DAILY] = "daily",
  [LARES_ROLE_WEEKLY] = "weekly",
  [LARES_ROLE_MONTHLY] = "monthly",
  [LARES_ROLE_HOURLY] = "hourly",
  [LARES_ROLE_PAST] = "past",
  [LARES_ROLE_TO] = "to",
};

LaresDateRole
lares_intent_role_from_name (const char *name)
{
  for (int i = 1; i < LARES_ROLE_N_ROLES; i++)
    if (role_names[i] != NULL && strcmp (role_names[i], name) == 0)
      return (LaresDateRole)i;
  return LARES_ROLE_NONE;
}

static GHashTable *
str_table (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

static void
free_replacements (gpointer p)
{
  g_ptr_array_unref (p);
}

LaresIntentLang *
lares_intent_lang_new (void)
{
  LaresIntentLang *l = g_new0 (LaresIntentLang, 1);
  l->fillers = str_table ();
  l->replace = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, free_replacements);
  l->num_units = str_table ();
  l->num_tens = str_table ();
  l->num_scales = str_table ();
  l->num_joiners = str_table ();
  l->ord_suffixes = str_table ();
  l->weekdays = str_table ();
  l->months = str_table ();
  l->ordinals = str_table ();
  l->units = str_table ();
  l->roles = str_table ();
  l->messages = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  l->default_hour = 9;
  return l;
}

void
lares_intent_lang_free (LaresIntentLang *l)
{
  if (l == NULL)
    return;
  g_free (l->lang);
  g_hash_table_unref (l->fillers);
  g_hash_table_unref (l->replace);
  g_hash_table_unref (l->num_units);
  g_hash_table_unref (l->num_tens);
  g_hash_table_unref (l->num_scales);
  g_hash_table_unref (l->num_joiners);
  g_hash_table_unref (l->ord_suffixes);
  g_hash_table_unref (l->weekdays);
  g_hash_table_unref (l->months);
  g_hash_table_unref (l->ordinals);
  g_hash_table_unref (l->units);
  g_hash_table_unref (l->roles);
  g_hash_table_unref (l->messages);
  g_clear_pointer (&l->norm_words, g_hash_table_unref);
  g_free (l);
}

const char *
lares_intent_lang_message (const LaresIntentLang *lang, const char *key)
{
  const char *m = g_hash_table_lookup (lang->messages, key);
  return m != NULL ? m : key;
}

/* ---- character folding ------------------------------------------------------------ */

/* Lower case, accents dropped, typographic apostrophes made ASCII.  Returns
 * 0 for a combining mark (dropped). */
static gunichar
fold_char (gunichar c)
{
  gunichar buf[G_UNICHAR_MAX_DECOMPOSITION_LENGTH];
  size_t n;

  /* ASCII (nearly every character we see) folds to itself in lower case;
   * the code below would say the same, slowly. */
  if (c < 0x80)
    return c == '`' ? '\'' : (gunichar)g_ascii_tolower ((char)c);
  if (c == 0x2019 || c == 0x2018 || c == 0x02BC || c == 0xB4)
    return '\'';
  if (g_unichar_ismark (c))
    return 0;
  n = g_unichar_fully_decompose (c, FALSE, buf, G_N_ELEMENTS (buf));
  if (n > 0)
    c = buf[0];
  return g_unichar_tolower (c);
}

static gboolean
is_alnum (gunichar c)
{
  return c < 0x80 ? g_ascii_isalnum ((char)c) : g_unichar_isalnum (c);
}

/* Room for one more token (the inline array first, then the heap). */
static LaresIntentToken *
vec_push (LaresIntentTokVec *v, const char *text, size_t start, size_t end)
{
  if (v->v == NULL)
    {
      v->v = v->inline_v;
      v->cap = G_N_ELEMENTS (v->inline_v);
    }
  if (v->n == v->cap)
    {
      LaresIntentToken *bigger = g_new (LaresIntentToken, v->cap * 2);
      memcpy (bigger, v->v, v->n * sizeof *bigger);
      if (v->v != v->inline_v)
        g_free (v->v);
      v->v = bigger;
      v->cap *= 2;
    }
  v->v[v->n] = (LaresIntentToken){ (char *)text, start, end };
  return &v->v[v->n++];
}

static void
vec_clear (LaresIntentTokVec *v)
{
  if (v->v != v->inline_v)
    g_free (v->v);
  v->v = NULL;
  v->n = v->cap = 0;
}

/* Split the word at @w (@len bytes, with room after it for a NUL per byte)
 * at digit->letter boundaries unless the letters are an ordinal suffix
 * ("3rd"): "5pm" -> "5" "pm".  Each piece is NUL-terminated in place (the
 * rest of the word moves right by one at each cut).  Returns the bytes used,
 * NULs included. */
static size_t
emit_raw (const LaresIntentLang *lang, LaresIntentTokVec *out, char *w, size_t len, size_t start,
          size_t end)
{
  size_t i = 0;

  w[len] = '\0';
  while (i < len)
    {
      size_t j = i;
      if (g_ascii_isdigit (w[i]))
        {
          while (j < len && (g_ascii_isdigit (w[j]) ||
                             (w[j] == ':' && j + 1 < len && g_ascii_isdigit (w[j + 1]))))
            j++;
          if (j < len && g_ascii_isalpha (w[j]))
            {
              size_t k = j;
              while (k < len && g_ascii_isalpha (w[k]))
                k++;
              /* The suffix runs to the end of the word: it is NUL-terminated. */
              if (k == len && g_hash_table_contains (lang->ord_suffixes, w + j))
                j = k;
            }
        }
      else
        {
          while (j < len && !g_ascii_isdigit (w[j]))
            j++;
          if (j == i)
            j++;
        }
      if (j < len)
        {
          memmove (w + j + 1, w + j, len - j + 1);
          w[j] = '\0';
          len++;
        }
      vec_push (out, w + i, start, end);
      i = j + 1;
    }
  return len + 1;
}

/* Steps 1-2: fold characters and cut into words.  ':' stays inside a word
 * only between digits, an apostrophe only between letters.  Words are
 * written to @buf, which has room for 5 bytes per input byte plus one (a
 * folded character takes at most 4 bytes, and each piece a NUL). */
static void
tokenize (const LaresIntentLang *lang, const char *text, size_t len, char *buf,
          LaresIntentTokVec *out)
{
  const char *p = text, *endp = text + len;
  size_t wstart = 0, wend = 0;
  char *w = buf; /* the word being built */
  size_t wlen = 0;

  while (p < endp)
    {
      gunichar raw, c;
      const char *next;
      gboolean word = FALSE;

      if ((unsigned char)*p < 0x80)
        {
          raw = (unsigned char)*p;
          next = p + 1;
        }
      else
        {
          raw = g_utf8_get_char (p);
          next = g_utf8_next_char (p);
        }
      c = fold_char (raw);
      if (c == 0)
        {
          if (wlen > 0)
            wend = (size_t)(next - text);
          p = next;
          continue;
        }
      if (is_alnum (c))
        word = TRUE;
      else if ((c == '\'' || c == ':') && wlen > 0 && next < endp)
        {
          gunichar n = fold_char (g_utf8_get_char (next));
          char prev = w[wlen - 1];
          if (c == ':')
            word = g_ascii_isdigit (prev) && n < 128 && g_ascii_isdigit ((char)n);
          else
            word = g_unichar_isalpha (n) && !g_ascii_isdigit (prev);
        }
      if (word)
        {
          if (wlen == 0)
            wstart = (size_t)(p - text);
          if (c < 0x80)
            w[wlen++] = (char)c;
          else
            wlen += (size_t)g_unichar_to_utf8 (c, w + wlen);
          wend = (size_t)(next - text);
        }
      else if (wlen > 0)
        {
          w += emit_raw (lang, out, w, wlen, wstart, wend);
          wlen = 0;
        }
      p = next;
    }
  if (wlen > 0)
    emit_raw (lang, out, w, wlen, wstart, wend);
}

/* Fold one table key the way input words are folded (apostrophes kept or
 * dropped as asked); multi-word keys keep single spaces. */
static char *
fold_key (const LaresIntentLang *lang, const char *key, gboolean keep_apostrophe)
{
  size_t len = strlen (key);
  g_autofree char *buf = g_malloc (5 * len + 1);
  LaresIntentTokVec toks = { 0 };
  g_autoptr (GString) s = g_string_new (NULL);

  tokenize (lang, key, len, buf, &toks);
  for (size_t i = 0; i < toks.n; i++)
    {
      const char *t = toks.v[i].text;
      if (s->len > 0)
        g_string_append_c (s, ' ');
      for (; *t; t++)
        if (*t != '\'' || keep_apostrophe)
          g_string_append_c (s, *t);
    }
  vec_clear (&toks);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static gboolean
lookup_int (GHashTable *t, const char *key, int *out)
{
  gpointer v;
  if (!g_hash_table_lookup_extended (t, key, NULL, &v))
    return FALSE;
  *out = GPOINTER_TO_INT (v);
  return TRUE;
}

/* Step 3: replacements, longest first.  Replaced words are borrowed from
 * the language's rules; others lose their apostrophes in place. */
static void
apply_replacements (const LaresIntentLang *lang, LaresIntentTokVec *in, LaresIntentTokVec *out)
{
  for (size_t i = 0; i < in->n;)
    {
      LaresIntentToken *t = &in->v[i];
      GPtrArray *cands;
      if (lang->norm_words != NULL)
        {
          const LaresNormWord *nw = g_hash_table_lookup (lang->norm_words, t->text);
          cands = nw != NULL ? nw->replace : NULL;
        }
      else
        cands = g_hash_table_lookup (lang->replace, t->text);
      gboolean done = FALSE;

      for (size_t c = 0; cands != NULL && c < cands->len && !done; c++)
        {
          char **rule = cands->pdata[c];
          size_t n = 0;
          while (rule[n] != NULL)
            n++;
          if (i + n > in->n)
            continue;
          gboolean ok = TRUE;
          for (size_t k = 1; k < n && ok; k++)
            ok = strcmp (rule[k], in->v[i + k].text) == 0;
          if (!ok)
            continue;
          size_t start = t->start, end = in->v[i + n - 1].end;
          for (char **to = rule + n + 1; *to != NULL; to++)
            vec_push (out, *to, start, end);
          i += n;
          done = TRUE;
        }
      if (!done)
        {
          char *q = t->text, *d = t->text;
          for (; *q; q++)
            if (*q != '\'')
              *d++ = *q;
          *d = '\0';
          if (d > t->text)
            vec_push (out, t->text, t->start, t->end);
          i++;
        }
    }
}

/* What steps 3-5 need to know of @w: one lookup once the language is
 * frozen (lares_intent_lang_freeze()), the separate tables before. */
static LaresNormWord
norm_word_from_tables (const LaresIntentLang *lang, const char *w)
{
  LaresNormWord nw = { 0 };
  int v;

  nw.replace = g_hash_table_lookup (lang->replace, w);
  if (lookup_int (lang->num_units, w, &v))
    nw.unit = v;
  if (lookup_int (lang->num_tens, w, &v))
    nw.tens = v;
  if (lookup_int (lang->num_scales, w, &v))
    nw.scale = v;
  nw.joiner = g_hash_table_contains (lang->num_joiners, w);
  nw.filler = g_hash_table_contains (lang->fillers, w);
  return nw;
}

static LaresNormWord
norm_word (const LaresIntentLang *lang, const char *w)
{
  static const LaresNormWord none = { 0 };
  const LaresNormWord *found;

  if (lang->norm_words == NULL)
    return norm_word_from_tables (lang, w);
  found = g_hash_table_lookup (lang->norm_words, w);
  return found != NULL ? *found : none;
}

static void
freeze_table (LaresIntentLang *lang, GHashTable *t)
{
  GHashTableIter it;
  gpointer key;

  g_hash_table_iter_init (&it, t);
  while (g_hash_table_iter_next (&it, &key, NULL))
    if (!g_hash_table_contains (lang->norm_words, key))
      g_hash_table_insert (lang->norm_words, key, NULL);
}

void
lares_intent_lang_freeze (LaresIntentLang *lang)
{
  GHashTableIter it;
  gpointer key;

  g_return_if_fail (lang->norm_words == NULL);
  /* Keys are borrowed from the tables, which never change again. */
  lang->norm_words = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  freeze_table (lang, lang->replace);
  freeze_table (lang, lang->num_units);
  freeze_table (lang, lang->num_tens);
  freeze_table (lang, lang->num_scales);
  freeze_table (lang, lang->num_joiners);
  freeze_table (lang, lang->fillers);
  g_hash_table_iter_init (&it, lang->norm_words);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      LaresNormWord *nw = g_new (LaresNormWord, 1);
      *nw = norm_word_from_tables (lang, key);
      g_hash_table_iter_replace (&it, nw);
    }
}

enum
{
  NUM_NONE,
  NUM_UNIT,
  NUM_TENS,
  NUM_SCALE
};

/* Step 4-5: number words to digits (written to @digits, 24 bytes for each
 * input token), fillers out. */
static void
fold_numbers (const LaresIntentLang *lang, LaresIntentTokVec *in, char *digits,
              LaresIntentTokVec *out)
{
  for (size_t i = 0; i < in->n;)
    {
      LaresIntentToken *t = &in->v[i];
      int64_t total = 0, current = 0;
      int last = NUM_NONE;
      size_t j = i;

      for (; j < in->n; j++)
        {
          const char *w = in->v[j].text;
          int v;
          LaresNormWord nw = norm_word (lang, w);
          if ((v = nw.unit) > 0 && last != NUM_UNIT)
            {
              if (last == NUM_TENS && (current % 10) != 0)
                break;
              current += v - 1;
              last = NUM_UNIT;
            }
          else if ((v = nw.tens) > 0 && last != NUM_UNIT && last != NUM_TENS)
            {
              current += v - 1;
              last = NUM_TENS;
            }
          else if ((v = nw.scale) > 0 && last != NUM_NONE && last != NUM_SCALE)
            {
              if (current == 0)
                current = 1;
              current *= v - 1;
              if (v - 1 >= 1000)
                {
                  total += current;
                  current = 0;
                }
              last = NUM_SCALE;
              if (total > 1000000000 || current > 1000000000)
                {
                  j++;
                  break;
                }
            }
          else if (nw.joiner && last == NUM_SCALE && j + 1 < in->n)
            {
              LaresNormWord next = norm_word (lang, in->v[j + 1].text);
              if (next.unit == 0 && next.tens == 0)
                break;
            }
          else
            break;
        }
      if (j > i && last != NUM_NONE)
        {
          g_snprintf (digits, 24, "%" G_GINT64_FORMAT, total + current);
          vec_push (out, digits, t->start, in->v[j - 1].end);
          digits += 24;
          i = j;
          continue;
        }
      if (!norm_word (lang, t->text).filler)
        vec_push (out, t->text, t->start, t->end);
      i++;
    }
}

void
lares_intent_normalize_into (const LaresIntentLang *lang, const char *text, size_t len,
                             LaresIntentNorm *norm)
{
  size_t need;

  norm->toks = NULL;
  norm->n_toks = 0;
  norm->raw.v = norm->rep.v = norm->out.v = NULL;
  norm->raw.n = norm->rep.n = norm->out.n = 0;
  norm->raw.cap = norm->rep.cap = norm->out.cap = 0;
  norm->buf = norm->digits = NULL;
  if (text == NULL || !g_utf8_validate_len (text, len, NULL))
    return;
  need = 5 * len + 1;
  norm->buf = need <= sizeof norm->inline_buf ? norm->inline_buf : g_malloc (need);
  tokenize (lang, text, len, norm->buf, &norm->raw);
  apply_replacements (lang, &norm->raw, &norm->rep);
  need = 24 * norm->rep.n;
  norm->digits = need <= sizeof norm->inline_digits ? norm->inline_digits : g_malloc (need);
  fold_numbers (lang, &norm->rep, norm->digits, &norm->out);
  norm->toks = norm->out.v;
  norm->n_toks = norm->out.n;
}

void
lares_intent_norm_clear (LaresIntentNorm *norm)
{
  vec_clear (&norm->raw);
  vec_clear (&norm->rep);
  vec_clear (&norm->out);
  if (norm->buf != norm->inline_buf)
    g_free (norm->buf);
  if (norm->digits != norm->inline_digits)
    g_free (norm->digits);
  norm->buf = norm->digits = NULL;
  norm->toks = NULL;
  norm->n_toks = 0;
}

static void
token_clear (gpointer p)
{
  LaresIntentToken *t = p;
  g_free (t->text);
}

GArray *
lares_intent_normalize (const LaresIntentLang *lang, const char *text, size_t len)
{
  LaresIntentNorm norm;
  GArray *out;

  lares_intent_normalize_into (lang, text, len, &norm);
  out = g_array_sized_new (FALSE, TRUE, sizeof (LaresIntentToken), (unsigned)norm.n_toks);
  g_array_set_clear_func (out, token_clear);
  for (size_t i = 0; i < norm.n_toks; i++)
    {
      LaresIntentToken t = { g_strdup (norm.toks[i].text), norm.toks[i].start, norm.toks[i].end };
      g_array_append_val (out, t);
    }
  lares_intent_norm_clear (&norm);
  return out;
}

char *
lares_intent_tokens_join (GArray *tokens, size_t from, size_t to)
{
  GString *s = g_string_new (NULL);
  for (size_t i = from; i < to && i < tokens->len; i++)
    {
      if (i > from)
        g_string_append_c (s, ' ');
      g_string_append (s, g_array_index (tokens, LaresIntentToken, i).text);
    }
  return g_string_free (s, FALSE);
}

/* ---- loading the tables ---------------------------------------------------------- */

static gboolean
want_kind (const char *file, const LaresYamlNode *n, LaresYamlKind kind, const char *what,
           GError **error)
{
  static const char *const names[] = { "a scalar", "a list", "a mapping" };
  if (n->kind == kind)
    return TRUE;
  return lares_intent_throw (error, LARES_INTENT_ERROR_SYNTAX, file, n->line, "%s must be %s", what,
                             names[kind]);
}

static gboolean
load_set (const LaresIntentLang *lang, GHashTable *set, const char *file, const LaresYamlNode *n,
          const char *what, GError **error)
{
  if (!want_kind (file, n, LARES_YAML_SEQ, what, error))
    return FALSE;
  for (size_t i = 0; i < n->kids->len; i++)
    {
      const LaresYamlNode *k = n->kids->pdata[i];
      if (!want_kind (file, k, LARES_YAML_SCALAR, what, error))
        return FALSE;
      g_hash_table_add (set, fold_key (lang, k->scalar, FALSE));
    }
  return TRUE;
}

/* A mapping word -> integer (stored + @bias so 0 stays distinguishable). */
static gboolean
load_int_map (const LaresIntentLang *lang, GHashTable *t, const char *file, const LaresYamlNode *n,
              const char *what, int min, int max, int bias, GError **error)
{
  if (!want_kind (file, n, LARES_YAML_MAP, what, error))
    return FALSE;
  for (size_t i = 0; i + 1 < n->kids->len; i += 2)
    {
      const LaresYamlNode *k = n->kids->pdata[i], *v = n->kids->pdata[i + 1];
      char *end = NULL;
      long long x;
      if (!want_kind (file, k, LARES_YAML_SCALAR, what, error) ||
          !want_kind (file, v, LARES_YAML_SCALAR, what, error))
        return FALSE;
      x = g_ascii_strtoll (v->scalar, &end, 10);
      if (end == v->scalar || *end != '\0' || x < min || x > max)
        return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, v->line,
                                   "%s: '%s' must be a whole number from %d to %d", what, v->scalar,
                                   min, max);
      g_hash_table_insert (t, fold_key (lang, k->scalar, FALSE), GINT_TO_POINTER ((int)x + bias));
    }
  return TRUE;
}

/* A rule is [from..., NULL, to..., NULL]: two NULL-terminated runs. */
static void
free_rule (gpointer p)
{
  char **r = p, **q = r;
  for (int run = 0; run < 2; run++)
    {
      while (*q != NULL)
        g_free (*q++);
      q++;
    }
  g_free (r);
}

static gboolean
load_replace (LaresIntentLang *lang, const char *file, const LaresYamlNode *n, GError **error)
{
  if (!want_kind (file, n, LARES_YAML_MAP, "replace", error))
    return FALSE;
  for (size_t i = 0; i + 1 < n->kids->len; i += 2)
    {
      const LaresYamlNode *k = n->kids->pdata[i], *v = n->kids->pdata[i + 1];
      g_autofree char *from = NULL;
      g_autofree char *to = NULL;
      g_auto (GStrv) fw = NULL;
      g_auto (GStrv) tw = NULL;
      GPtrArray *cands;
      char **rule;
      size_t nf, nt, pos;

      if (!want_kind (file, k, LARES_YAML_SCALAR, "replace", error) ||
          !want_kind (file, v, LARES_YAML_SCALAR, "replace", error))
        return FALSE;
      from = fold_key (lang, k->scalar, TRUE);
      to = fold_key (lang, v->scalar, TRUE);
      if (*from == '\0')
        return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, k->line,
                                   "replace: empty phrase '%s'", k->scalar);
      fw = g_strsplit (from, " ", -1);
      tw = *to ? g_strsplit (to, " ", -1) : g_new0 (char *, 1);
      nf = g_strv_length (fw);
      nt = g_strv_length (tw);
      rule = g_new0 (char *, nf + nt + 2);
      for (size_t a = 0; a < nf; a++)
        rule[a] = g_strdup (fw[a]);
      for (size_t a = 0; a < nt; a++)
        rule[nf + 1 + a] = g_strdup (tw[a]);
      cands = g_hash_table_lookup (lang->replace, fw[0]);
      if (cands == NULL)
        {
          cands = g_ptr_array_new_with_free_func (free_rule);
          g_hash_table_insert (lang->replace, g_strdup (fw[0]), cands);
        }
      /* Longest phrase first. */
      for (pos = 0; pos < cands->len; pos++)
        {
          char **r = cands->pdata[pos];
          size_t rn = 0;
          while (r[rn] != NULL)
            rn++;
          if (rn < nf)
            break;
        }
      g_ptr_array_insert (cands, (int)pos, rule);
    }
  return TRUE;
}

static gboolean
load_normalize (LaresIntentLang *lang, const char *file, const LaresYamlNode *n, GError **error)
{
  if (!want_kind (file, n, LARES_YAML_MAP, "normalize", error))
    return FALSE;
  for (size_t i = 0; i + 1 < n->kids->len; i += 2)
    {
      const LaresYamlNode *k = n->kids->pdata[i], *v = n->kids->pdata[i + 1];
      const char *key = k->kind == LARES_YAML_SCALAR ? k->scalar : "";
      gboolean ok;

      if (strcmp (key, "fillers") == 0)
        ok = load_set (lang, lang->fillers, file, v, "fillers", error);
      else if (strcmp (key, "ordinal_suffixes") == 0)
        ok = load_set (lang, lang->ord_suffixes, file, v, "ordinal_suffixes", error);
      else if (strcmp (key, "replace") == 0)
        ok = load_replace (lang, file, v, error);
      else if (strcmp (key, "numbers") == 0)
        {
          ok = want_kind (file, v, LARES_YAML_MAP, "numbers", error);
          for (size_t j = 0; ok && j + 1 < v->kids->len; j += 2)
            {
              const LaresYamlNode *nk = v->kids->pdata[j], *nv = v->kids->pdata[j + 1];
              const char *nkey = nk->kind == LARES_YAML_SCALAR ? nk->scalar : "";
              if (strcmp (nkey, "units") == 0)
                ok = load_int_map (lang, lang->num_units, file, nv, "units", 0, 99, 1, error);
              else if (strcmp (nkey, "tens") == 0)
                ok = load_int_map (lang, lang->num_tens, file, nv, "tens", 10, 90, 1, error);
              else if (strcmp (nkey, "scales") == 0)
                ok = load_int_map (lang, lang->num_scales, file, nv, "scales", 100, 1000000, 1,
                                   error);
              else if (strcmp (nkey, "joiners") == 0)
                ok = load_set (lang, lang->num_joiners, file, nv, "joiners", error);
              else
                ok = lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, nk->line,
                                         "unknown key '%s' in numbers", nkey);
            }
        }
      else
        ok = lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, k->line,
                                 "unknown key '%s' in normalize", key);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

static gboolean
load_units (LaresIntentLang *lang, const char *file, const LaresYamlNode *n, GError **error)
{
  if (!want_kind (file, n, LARES_YAML_MAP, "units", error))
    return FALSE;
  for (size_t i = 0; i + 1 < n->kids->len; i += 2)
    {
      const LaresYamlNode *k = n->kids->pdata[i], *v = n->kids->pdata[i + 1];
      int secs;
      if (!want_kind (file, k, LARES_YAML_SCALAR, "units", error) ||
          !want_kind (file, v, LARES_YAML_SCALAR, "units", error))
        return FALSE;
      if (strcmp (v->scalar, "second") == 0)
        secs = 1;
      else if (strcmp (v->scalar, "minute") == 0)
        secs = 60;
      else if (strcmp (v->scalar, "hour") == 0)
        secs = 3600;
      else if (strcmp (v->scalar, "day") == 0)
        secs = 86400;
      else if (strcmp (v->scalar, "week") == 0)
        secs = 7 * 86400;
      else if (strcmp (v->scalar, "month") == 0)
        secs = LARES_UNIT_MONTH;
      else if (strcmp (v->scalar, "year") == 0)
        secs = LARES_UNIT_YEAR;
      else
        return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, v->line,
                                   "unknown unit '%s' (second, minute, hour, day, week, month, "
                                   "year)",
                                   v->scalar);
      g_hash_table_insert (lang->units, fold_key (lang, k->scalar, FALSE),
                           GINT_TO_POINTER (secs + 3));
    }
  return TRUE;
}

static gboolean
load_dates (LaresIntentLang *lang, const char *file, const LaresYamlNode *n, GError **error)
{
  if (!want_kind (file, n, LARES_YAML_MAP, "dates", error))
    return FALSE;
  for (size_t i = 0; i + 1 < n->kids->len; i += 2)
    {
      const LaresYamlNode *k = n->kids->pdata[i], *v = n->kids->pdata[i + 1];
      const char *key = k->kind == LARES_YAML_SCALAR ? k->scalar : "";
      gboolean ok = TRUE;

      if (strcmp (key, "weekdays") == 0)
        ok = load_int_map (lang, lang->weekdays, file, v, "weekdays", 1, 7, 0, error);
      else if (strcmp (key, "months") == 0)
        ok = load_int_map (lang, lang->months, file, v, "months", 1, 12, 0, error);
      else if (strcmp (key, "ordinals") == 0)
        ok = load_int_map (lang, lang->ordinals, file, v, "ordinals", 1, 31, 0, error);
      else if (strcmp (key, "units") == 0)
        ok = load_units (lang, file, v, error);
      else if (strcmp (key, "default_hour") == 0)
        {
          char *end = NULL;
          long h = v->kind == LARES_YAML_SCALAR ? strtol (v->scalar, &end, 10) : -1;
          if (v->kind != LARES_YAML_SCALAR || end == v->scalar || *end != '\0' || h < 0 || h > 23)
            return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, v->line,
                                       "default_hour must be 0..23");
          lang->default_hour = (int)h;
        }
      else if (strcmp (key, "words") == 0)
        {
          ok = want_kind (file, v, LARES_YAML_MAP, "words", error);
          for (size_t j = 0; ok && j + 1 < v->kids->len; j += 2)
            {
              const LaresYamlNode *wk = v->kids->pdata[j], *wv = v->kids->pdata[j + 1];
              LaresDateRole role;
              ok = want_kind (file, wk, LARES_YAML_SCALAR, "words", error) &&
                   want_kind (file, wv, LARES_YAML_SCALAR, "words", error);
              if (!ok)
                break;
              role = lares_intent_role_from_name (wv->scalar);
              if (role == LARES_ROLE_NONE)
                return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, wv->line,
                                           "unknown date role '%s'", wv->scalar);
              g_hash_table_insert (lang->roles, fold_key (lang, wk->scalar, FALSE),
                                   GINT_TO_POINTER (role));
            }
        }
      else
        ok = lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, k->line,
                                 "unknown key '%s' in dates", key);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

gboolean
lares_intent_lang_load (LaresIntentLang *lang, const char *file, const char *key,
                        const LaresYamlNode *value, GError **error)
{
  if (strcmp (key, "normalize") == 0)
    return load_normalize (lang, file, value, error);
  if (strcmp (key, "dates") == 0)
    return load_dates (lang, file, value, error);
  if (strcmp (key, "messages") == 0)
    {
      if (!want_kind (file, value, LARES_YAML_MAP, "messages", error))
        return FALSE;
      for (size_t i = 0; i + 1 < value->kids->len; i += 2)
        {
          const LaresYamlNode *k = value->kids->pdata[i], *v = value->kids->pdata[i + 1];
          if (!want_kind (file, k, LARES_YAML_SCALAR, "messages", error) ||
              !want_kind (file, v, LARES_YAML_SCALAR, "messages", error))
            return FALSE;
          g_hash_table_insert (lang->messages, g_strdup (k->scalar), g_strdup (v->scalar));
        }
      return TRUE;
    }
  return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, value->line,
                             "unknown section '%s'", key);
}
