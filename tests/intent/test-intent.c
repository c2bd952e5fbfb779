/* test-intent.c — the intent engine's parts: template syntax and its errors
 * (FILE:LINE), the normalizer, DST handling, ambiguity and the router. */
#include "config.h"

#include "lares-intent-private.h"

static char *
data_dir (void)
{
  return g_build_filename (g_test_get_dir (G_TEST_DIST), "..", "data", "intents", NULL);
}

/* Compiling is the slow part under sanitizers: one engine for all tests
 * that do not need their own. */
static LaresIntentEngine *shared_engine;

static LaresIntentEngine *
english (void)
{
  if (shared_engine == NULL)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *dir = data_dir ();
      shared_engine = lares_intent_engine_new_from_dir (dir, "en", &error);
      g_assert_no_error (error);
    }
  return shared_engine;
}

typedef struct
{
  const char *text;
  int n_expansions; /* -1: syntax error */
  const char *error_part;
} TemplateCase;

static void
test_template_syntax (void)
{
  static const TemplateCase cases[] = {
    { "set a timer", 1, NULL },
    { "(a|b) [c] {slot}", 4, NULL },
    { "[a|b]", 3, NULL },
    { "((a|b)|(c|d)) [x [y]]", 12, NULL },
    { "(a|b", -1, "unbalanced '('" },
    { "a)", -1, "unexpected ')'" },
    { "[a", -1, "unbalanced '['" },
    { "{}", -1, "empty slot name" },
    { "{a b}", -1, "bad character in slot name" },
    { "{abc", -1, "unclosed slot reference at column 5" },
    { "a } b", -1, "unexpected '}'" },
    { "<rule>", -1, "unknown rule <rule>" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (LaresTemplateNode) t = NULL;
      g_autoptr (GPtrArray) seqs = NULL;
      /* Not NUL-terminated: copy into a buffer with no terminator. */
      size_t len = strlen (cases[i].text);
      g_autofree char *buf = g_memdup2 (cases[i].text, len);

      g_test_message ("template '%s'", cases[i].text);
      t = lares_template_parse (buf, len, &error);
      if (t != NULL)
        seqs = lares_template_expand (t, NULL, NULL, 100, &error);
      if (cases[i].n_expansions < 0)
        {
          g_assert_null (seqs);
          g_assert_error (error, LARES_INTENT_ERROR, error->code);
          g_test_message ("-> %s", error->message);
          g_assert_nonnull (strstr (error->message, cases[i].error_part));
        }
      else
        {
          g_assert_no_error (error);
          g_assert_cmpuint (seqs->len, ==, (unsigned)cases[i].n_expansions);
        }
    }
}

static void
test_template_cap (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LaresTemplateNode) t = NULL;
  g_autoptr (GPtrArray) seqs = NULL;
  const char *text = "[a] [b] [c] [d] [e] [f] [g] [h] [i] [j] [k] [l] [m]"; /* 8192 */

  t = lares_template_parse (text, strlen (text), &error);
  g_assert_no_error (error);
  seqs = lares_template_expand (t, NULL, NULL, LARES_INTENT_MAX_EXPANSIONS, &error);
  g_assert_null (seqs);
  g_assert_error (error, LARES_INTENT_ERROR, LARES_INTENT_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "more than 4096"));
}

/* Sequences joined as text, "{slot}" for a slot, one string per call. */
typedef struct
{
  GPtrArray *seen;
  size_t stop_after; /* 0: never stop */
} SeqLog;

static char *
seq_text (const LaresTemplateItem *items, size_t n)
{
  GString *s = g_string_new (NULL);

  for (size_t i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append_c (s, ' ');
      if (items[i].word != NULL)
        g_string_append (s, items[i].word);
      else
        g_string_append_printf (s, "{%s}", items[i].slot);
    }
  return g_string_free (s, FALSE);
}

static gboolean
log_seq (const LaresTemplateItem *items, size_t n, void *data, GError **error)
{
  SeqLog *log = data;

  g_ptr_array_add (log->seen, seq_text (items, n));
  if (log->stop_after > 0 && log->seen->len == log->stop_after)
    {
      g_set_error (error, LARES_INTENT_ERROR, LARES_INTENT_ERROR_INVALID, "stop");
      return FALSE;
    }
  return TRUE;
}

static const LaresTemplateNode *
one_rule (const char *name, void *user_data)
{
  return strcmp (name, "r") == 0 ? user_data : NULL;
}

/* Sequences come one at a time, depth first: the first alternative first,
 * an optional part's absence before its presence; the trie's order of
 * slot edges and targets follows this order.  A template with an error
 * calls nothing; a callback returning FALSE stops the expansion. */
static void
test_template_expand_each (void)
{
  static const char *const want[] = {
    "x a {s} y", "x a {s} w z y", "x b {s} y", "x b {s} w z y",
    "x a e y",   "x a e w z y",   "x b e y",   "x b e w z y",
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (LaresTemplateNode) rule = lares_template_parse ("(a|b)", 5, &error);
  g_autoptr (LaresTemplateNode) t = NULL;
  g_autoptr (LaresTemplateNode) bad = NULL;
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) listed = NULL;
  SeqLog log = { seen, 0 };
  const char *text = "x (<r> {s}|<r> e) [w z] y";

  g_assert_no_error (error);
  t = lares_template_parse (text, strlen (text), &error);
  g_assert_no_error (error);
  g_assert_true (lares_template_expand_each (t, one_rule, rule, 100, log_seq, &log, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (seen->len, ==, G_N_ELEMENTS (want));
  for (size_t i = 0; i < G_N_ELEMENTS (want); i++)
    g_assert_cmpstr (seen->pdata[i], ==, want[i]);

  /* The collected form has the same sequences in the same order. */
  listed = lares_template_expand (t, one_rule, rule, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (listed->len, ==, G_N_ELEMENTS (want));
  for (size_t i = 0; i < listed->len; i++)
    {
      GArray *seq = listed->pdata[i];
      g_autofree char *got = seq_text ((const LaresTemplateItem *)(void *)seq->data, seq->len);
      g_assert_cmpstr (got, ==, want[i]);
    }

  /* Over the cap, or an unknown rule after a good part: nothing is called. */
  g_ptr_array_set_size (seen, 0);
  g_assert_false (lares_template_expand_each (t, one_rule, rule, 7, log_seq, &log, &error));
  g_assert_error (error, LARES_INTENT_ERROR, LARES_INTENT_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "more than 7"));
  g_clear_error (&error);
  bad = lares_template_parse ("(a|b) <nope>", 12, &error);
  g_assert_no_error (error);
  g_assert_false (lares_template_expand_each (bad, one_rule, rule, 100, log_seq, &log, &error));
  g_assert_error (error, LARES_INTENT_ERROR, LARES_INTENT_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "unknown rule <nope>"));
  g_clear_error (&error);
  g_assert_cmpuint (seen->len, ==, 0);

  /* The callback's error stops the walk at once and is returned. */
  log.stop_after = 3;
  g_assert_false (lares_template_expand_each (t, one_rule, rule, 100, log_seq, &log, &error));
  g_assert_error (error, LARES_INTENT_ERROR, LARES_INTENT_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "stop");
  g_assert_cmpuint (seen->len, ==, 3);
}

/* A bad template file is a start-up error naming file, line and problem. */
static void
test_bad_file (void)
{
  static const struct
  {
    const char *yaml;
    const char *want;
  } cases[] = {
    { "intents:\n  x.y:\n    tool: x.y\n    data:\n      - sentences:\n          - \"a (b\"\n",
      "bad.yaml:6: bad template \"a (b\": unbalanced '(' at column 3" },
    { "intents:\n  x.y:\n    tool: x.y\n    data:\n      - sentences:\n          - \"a {nope}\"\n",
      "bad.yaml:6: unknown slot {nope}" },
    { "intents:\n  x.y:\n    tool: x.y\n    data:\n      - sentences: [\"a <nope>\"]\n",
      "bad.yaml:5: bad template \"a <nope>\": unknown rule <nope>" },
    { "intents:\n  x.y:\n    data:\n      - sentences: [\"hello there\"]\n",
      "bad.yaml:2: intent 'x.y' has no tool" },
    { "intents:\n  x.y:\n    tool: t\n    data:\n      - sentences: [\"hi\"]\n        args: {a: "
      "\"{ghost}\"}\n",
      "bad.yaml:6: arg 'a' names unknown slot {ghost}" },
    { "slots:\n  whenever: sometime\n", "bad.yaml:2: unknown slot type 'sometime'" },
    { "intents: [\n", "bad.yaml:2: bad YAML" },
    { "dates:\n  words:\n    soon: whenever\n", "bad.yaml:3: unknown date role 'whenever'" },
    { "a: &x 1\nb: *x\n", "bad.yaml:2: YAML aliases are not supported" },
    { "language: fr\n", "bad.yaml:1: language must be 'en'" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      /* No base directory: each case fails on its own, and compiling the
       * English set ten times is slow under sanitizers. */
      g_autoptr (LaresIntentEngine) e = lares_intent_engine_new_from_data (
          NULL, "en", "bad.yaml", cases[i].yaml, strlen (cases[i].yaml), &error);
      g_test_message ("case %zu: %s", i, error ? error->message : "(no error)");
      g_assert_null (e);
      g_assert_nonnull (error);
      g_assert_true (g_str_has_prefix (error->message, cases[i].want));
    }
}

static void
test_missing_dir (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = data_dir ();
  g_autoptr (LaresIntentEngine) e = lares_intent_engine_new_from_dir (dir, "xx", &error);
  g_assert_null (e);
  g_assert_error (error, LARES_INTENT_ERROR, LARES_INTENT_ERROR_IO);
  g_clear_error (&error);
  e = lares_intent_engine_new_from_dir (dir, "../en", &error);
  g_assert_null (e);
  g_assert_error (error, LARES_INTENT_ERROR, LARES_INTENT_ERROR_INVALID);
}

/* Every template file is built into the binary: the embedded engine is
 * the one compiled from data/intents. */
static void
test_builtin (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LaresIntentEngine) e = lares_intent_engine_new_builtin ("en", &error);
  g_autoptr (LaresIntentEngine) none = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (lares_intent_engine_get_n_paths (e), ==,
                    lares_intent_engine_get_n_paths (english ()));
  g_assert_cmpstr (lares_intent_engine_get_capabilities (e), ==,
                   lares_intent_engine_get_capabilities (english ()));
  none = lares_intent_engine_new_builtin ("xx", &error);
  g_assert_null (none);
  g_assert_error (error, LARES_INTENT_ERROR, LARES_INTENT_ERROR_IO);
}

/* The first occurrence of the recurrences the parser writes is computed
 * directly; libical's iterator must agree on every rule shape, from start
 * dates that include month ends and the last minute of a day. */
static void
test_rrule_first_matches_libical (void)
{
  static const char *const days[] = { "MO", "TU", "WE", "TH", "FR", "SA", "SU" };
  static const int times[][2] = { { 0, 0 }, { 7, 0 }, { 9, 30 }, { 12, 0 }, { 23, 59 }, { 2, 30 } };
  g_autoptr (GPtrArray) rules = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GRand) rand = g_rand_new_with_seed (20261121);
  unsigned checks = 0;

  g_ptr_array_add (rules, g_strdup ("FREQ=MINUTELY;INTERVAL=5"));
  g_ptr_array_add (rules, g_strdup ("FREQ=HOURLY;INTERVAL=2"));
  for (size_t t = 0; t < G_N_ELEMENTS (times); t++)
    {
      g_autofree char *at = g_strdup_printf (";BYHOUR=%d;BYMINUTE=%d", times[t][0], times[t][1]);
      g_ptr_array_add (rules, g_strconcat ("FREQ=DAILY", at, NULL));
      g_ptr_array_add (rules, g_strconcat ("FREQ=DAILY;INTERVAL=2", at, NULL));
      for (int mask = 1; mask < 128; mask += 9) /* a spread of weekday sets */
        {
          GString *r = g_string_new ("FREQ=WEEKLY;BYDAY=");
          for (int d = 0, first = 1; d < 7; d++)
            if (mask & (1 << d))
              {
                g_string_append_printf (r, "%s%s", first ? "" : ",", days[d]);
                first = 0;
              }
          g_string_append (r, at);
          g_ptr_array_add (rules, g_string_free (r, FALSE));
        }
      for (int d = 0; d < 7; d++)
        for (int nth = -1; nth <= 5; nth++)
          if (nth != 0)
            g_ptr_array_add (rules,
                             g_strdup_printf ("FREQ=MONTHLY;BYDAY=%d%s%s", nth, days[d], at));
      for (int md = 1; md <= 31; md += 3)
        g_ptr_array_add (rules, g_strdup_printf ("FREQ=MONTHLY;BYMONTHDAY=%d%s", md, at));
      g_ptr_array_add (rules, g_strdup_printf ("FREQ=MONTHLY;BYMONTHDAY=31%s", at));
    }
  for (unsigned i = 0; i < rules->len; i++)
    for (int k = 0; k < 40; k++)
      {
        LaresIntentWall start, direct, ical;
        int year = g_rand_int_range (rand, 1990, 2091), month = g_rand_int_range (rand, 1, 13);
        int dim = g_date_get_days_in_month ((GDateMonth)month, (GDateYear)year);
        gboolean a, b;

        start =
            (LaresIntentWall){ year, month, k % 4 == 0 ? dim : g_rand_int_range (rand, 1, dim + 1),
                               k % 5 == 0 ? 23 : g_rand_int_range (rand, 0, 24),
                               k % 5 == 0 ? 59 : g_rand_int_range (rand, 0, 60) };
        a = lares_intent_rrule_first (rules->pdata[i], &start, FALSE, &direct);
        b = lares_intent_rrule_first (rules->pdata[i], &start, TRUE, &ical);
        if (a != b || (a && memcmp (&direct, &ical, sizeof direct) != 0))
          g_error ("%s from %04d-%02d-%02d %02d:%02d: %04d-%02d-%02d %02d:%02d, libical "
                   "%04d-%02d-%02d %02d:%02d",
                   (const char *)rules->pdata[i], start.year, start.month, start.day, start.hour,
                   start.minute, direct.year, direct.month, direct.day, direct.hour, direct.minute,
                   ical.year, ical.month, ical.day, ical.hour, ical.minute);
        checks++;
      }
  g_assert_cmpuint (checks, >, 10000);
}

static void
test_normalize (void)
{
  static const struct
  {
    const char *in;
    const char *out;
  } cases[] = {
    { "Hello, World!", "hello world" },
    { "What's up?", "what is up" },
    { "what’s the time", "what is the time" },
    { "twenty five minutes", "25 minutes" },
    { "one hundred and five", "105" },
    { "five twenty", "5 20" },
    { "a couple of hours", "2 hours" },
    { "at 5pm", "at 5 pm" },
    { "the 3rd at 9:30", "the 3rd at 9:30" },
    { "um please set a timer", "set a timer" },
    { "Café Zoë", "cafe zoe" },
    { "o'clock", "oclock" },
    { "", "" },
    { "\xff\xfe", "" }, /* invalid UTF-8 */
    { "a:b 12:", "a b 12" },
    { "twenty", "20" },
    { "bread and butter", "bread and butter" },
  };
  LaresIntentEngine *e = english ();

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GArray) toks = lares_intent_normalize (lares_intent_engine_get_lang (e),
                                                        cases[i].in, strlen (cases[i].in));
      g_autofree char *got = lares_intent_tokens_join (toks, 0, toks->len);
      g_test_message ("normalize '%s' -> '%s'", cases[i].in, got);
      g_assert_cmpstr (got, ==, cases[i].out);
    }
}

static void
test_local_to_unix (void)
{
  g_autoptr (GTimeZone) berlin = g_time_zone_new_identifier ("Europe/Berlin");
  g_autoptr (GTimeZone) utc = g_time_zone_new_utc ();
  LaresLocalKind kind;
  int64_t u;

  /* 2025-03-30 02:30 does not exist: first real instant is 03:00 CEST = 01:00Z. */
  u = lares_intent_local_to_unix (berlin, 2025, 3, 30, 2, 30, &kind);
  g_assert_cmpint (kind, ==, LARES_LOCAL_GAP);
  g_assert_cmpint (u, ==, 1743296400);
  /* 2025-10-26 02:30 happens twice: the first is 02:30 CEST = 00:30Z. */
  u = lares_intent_local_to_unix (berlin, 2025, 10, 26, 2, 30, &kind);
  g_assert_cmpint (kind, ==, LARES_LOCAL_FOLD);
  g_assert_cmpint (u, ==, 1761438600);
  u = lares_intent_local_to_unix (berlin, 2025, 7, 1, 12, 0, &kind);
  g_assert_cmpint (kind, ==, LARES_LOCAL_EXACT);
  g_assert_cmpint (u, ==, 1751364000);
  u = lares_intent_local_to_unix (utc, 1970, 1, 1, 0, 0, &kind);
  g_assert_cmpint (kind, ==, LARES_LOCAL_EXACT);
  g_assert_cmpint (u, ==, 0);
}

static LaresIntentMatch *
match_at (LaresIntentEngine *e, const char *text, const char *now_s, const char *zone,
          LaresIntentEntities *ents)
{
  g_autoptr (GTimeZone) tz = g_time_zone_new_identifier (zone);
  g_autoptr (GDateTime) now = g_date_time_new_from_iso8601 (now_s, tz);
  g_assert_nonnull (now);
  return lares_intent_engine_match (e, text, now, tz, ents);
}

static void
test_dst_note (void)
{
  LaresIntentEngine *e = english ();
  g_autoptr (LaresIntentMatch) gap = NULL;
  g_autoptr (LaresIntentMatch) fold = NULL;
  g_autoptr (LaresIntentMatch) plain = NULL;
  JsonObject *args;

  gap = match_at (e, "wake me up tomorrow at 2:30am", "2025-03-29T10:00:00", "Europe/Berlin", NULL);
  g_assert_cmpint (lares_intent_match_get_verdict (gap), ==, LARES_INTENT_VERDICT_MATCH);
  args = json_node_get_object (lares_intent_match_get_args (gap));
  g_assert_cmpstr (json_object_get_string_member (args, "at"), ==, "2025-03-30T03:00:00+02:00");
  g_assert_nonnull (lares_intent_match_get_notes (gap)[0]);
  g_assert_nonnull (strstr (lares_intent_match_get_notes (gap)[0], "does not exist"));
  g_assert_null (lares_intent_match_get_notes (gap)[1]);

  fold =
      match_at (e, "wake me up tomorrow at 2:30am", "2025-10-25T10:00:00", "Europe/Berlin", NULL);
  args = json_node_get_object (lares_intent_match_get_args (fold));
  g_assert_cmpstr (json_object_get_string_member (args, "at"), ==, "2025-10-26T02:30:00+02:00");
  g_assert_nonnull (strstr (lares_intent_match_get_notes (fold)[0], "happens twice"));

  plain = match_at (e, "wake me up tomorrow at 7am", "2025-10-25T10:00:00", "Europe/Berlin", NULL);
  g_assert_null (lares_intent_match_get_notes (plain)[0]);
}

static void
test_ambiguous_entity (void)
{
  LaresIntentEngine *e = english ();
  g_autoptr (LaresIntentEntities) ents = lares_intent_entities_new ();
  g_autoptr (LaresIntentMatch) m = NULL;
  g_autoptr (LaresIntentMatch) typo = NULL;
  const char *why = NULL;

  lares_intent_entities_add (ents, "project", "house");
  lares_intent_entities_add (ents, "project", "horse");
  lares_intent_entities_add (ents, "project", "garden");
  lares_intent_entities_add (ents, "project", "garden"); /* duplicate ignored */
  m = match_at (e, "add hay to my hose project", "2025-03-29T10:00:00", "Europe/Berlin", ents);
  g_assert_cmpint (lares_intent_match_get_verdict (m), ==, LARES_INTENT_VERDICT_AMBIGUOUS);
  g_assert_cmpstr (lares_intent_match_get_question (m), ==,
                   "Which project did you mean: house or horse?");
  g_assert_cmpint (lares_intent_route (m, TRUE, &why), ==, LARES_INTENT_ROUTE_CLARIFY);
  g_assert_nonnull (why);

  typo =
      match_at (e, "add seeds to my gardn project", "2025-03-29T10:00:00", "Europe/Berlin", ents);
  g_assert_cmpint (lares_intent_match_get_verdict (typo), ==, LARES_INTENT_VERDICT_MATCH);
  g_assert_cmpfloat (lares_intent_match_get_confidence (typo), <, 1.0);
  g_assert_cmpstr (json_object_get_string_member (
                       json_node_get_object (lares_intent_match_get_args (typo)), "project"),
                   ==, "garden");
}

static void
test_ambiguous_intent (void)
{
  static const char extra[] = "intents:\n"
                              "  a.one:\n    tool: a.one\n    description: do one thing\n"
                              "    data:\n      - sentences: [\"frobnicate {text}\"]\n"
                              "  a.two:\n    tool: a.two\n    description: do another thing\n"
                              "    data:\n      - sentences: [\"frobnicate {title}\"]\n";
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = data_dir ();
  g_autoptr (LaresIntentEngine) e =
      lares_intent_engine_new_from_data (dir, "en", "extra.yaml", extra, strlen (extra), &error);
  g_autoptr (LaresIntentMatch) m = NULL;

  g_assert_no_error (error);
  m = match_at (e, "frobnicate the widget", "2025-03-29T10:00:00", "Europe/Berlin", NULL);
  g_assert_cmpint (lares_intent_match_get_verdict (m), ==, LARES_INTENT_VERDICT_AMBIGUOUS);
  g_assert_cmpstr (lares_intent_match_get_question (m), ==,
                   "Did you mean: do one thing or do another thing?");
}

static void
test_router (void)
{
  LaresIntentEngine *e = english ();
  g_autoptr (LaresIntentMatch) yes =
      match_at (e, "what time is it", "2025-03-29T10:00:00", "UTC", NULL);
  g_autoptr (LaresIntentMatch) no =
      match_at (e, "tell me a joke", "2025-03-29T10:00:00", "UTC", NULL);
  const char *why = NULL;

  g_assert_cmpint (lares_intent_route (yes, FALSE, &why), ==, LARES_INTENT_ROUTE_RUN);
  g_assert_cmpint (lares_intent_route (yes, TRUE, NULL), ==, LARES_INTENT_ROUTE_RUN);
  g_assert_cmpstr (lares_intent_match_get_tool (yes), ==, "time.now");
  g_assert_cmpint (lares_intent_route (no, TRUE, &why), ==, LARES_INTENT_ROUTE_LLM);
  g_assert_cmpint (lares_intent_route (no, FALSE, &why), ==, LARES_INTENT_ROUTE_CAPABILITIES);
  g_assert_nonnull (strstr (why, "no LLM"));
  g_assert_cmpstr (lares_intent_match_get_why (no), ==, "no template matches");
  g_assert_nonnull (strstr (lares_intent_engine_get_capabilities (e), "set reminders"));
  g_assert_cmpstr (lares_intent_route_to_string (LARES_INTENT_ROUTE_CLARIFY), ==, "clarify");
  g_assert_cmpuint (lares_intent_engine_get_n_paths (e), >, 1000);
}

static void
test_long_input (void)
{
  LaresIntentEngine *e = english ();
  g_autoptr (GString) s = g_string_new ("remind me to");
  g_autoptr (LaresIntentMatch) m = NULL;
  for (int i = 0; i < 60; i++)
    g_string_append (s, " go");
  m = match_at (e, s->str, "2025-03-29T10:00:00", "UTC", NULL);
  g_assert_cmpint (lares_intent_match_get_verdict (m), ==, LARES_INTENT_VERDICT_NONE);
  g_assert_nonnull (strstr (lares_intent_match_get_why (m), "longer than"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/intent/template/syntax", test_template_syntax);
  g_test_add_func ("/intent/template/cap", test_template_cap);
  g_test_add_func ("/intent/template/expand-each", test_template_expand_each);
  g_test_add_func ("/intent/load/bad-file", test_bad_file);
  g_test_add_func ("/intent/load/missing-dir", test_missing_dir);
  g_test_add_func ("/intent/normalize", test_normalize);
  g_test_add_func ("/intent/dst/local-to-unix", test_local_to_unix);
  g_test_add_func ("/intent/dst/note", test_dst_note);
  g_test_add_func ("/intent/ambiguous/entity", test_ambiguous_entity);
  g_test_add_func ("/intent/ambiguous/intent", test_ambiguous_intent);
  g_test_add_func ("/intent/router", test_router);
  g_test_add_func ("/intent/builtin", test_builtin);
  g_test_add_func ("/intent/rrule-first", test_rrule_first_matches_libical);
  g_test_add_func ("/intent/long-input", test_long_input);
  int rc = g_test_run ();
  g_clear_pointer (&shared_engine, lares_intent_engine_free);
  return rc;
}
