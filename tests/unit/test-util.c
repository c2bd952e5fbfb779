/* test-util.c — value parsers: tables of inputs, valid and hostile. */
#include "config.h"

#include "lares-util.h"

typedef struct
{
  const char *in;
  gboolean ok;
  uint64_t want;
} U64Case;

static void
test_size (void)
{
  static const U64Case cases[] = {
    { "0", TRUE, 0 },
    { "1024", TRUE, 1024 },
    { "64KiB", TRUE, 64 * 1024 },
    { "64 kib", TRUE, 64 * 1024 },
    { "1M", TRUE, 1024 * 1024 },
    { "1MiB", TRUE, 1024 * 1024 },
    { "2g", TRUE, 2ULL << 30 },
    { "10B", TRUE, 10 },
    { " 5 KB ", TRUE, 5 * 1024 },
    { "", FALSE, 0 },
    { "MiB", FALSE, 0 },
    { "-1", FALSE, 0 },
    { "1.5M", FALSE, 0 },
    { "12 parsecs", FALSE, 0 },
    { "18446744073709551616", FALSE, 0 }, /* 2^64 */
    { "17179869184G", FALSE, 0 },         /* overflows when scaled */
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      uint64_t v = 777;
      gboolean ok = lares_parse_size (cases[i].in, &v);
      g_test_message ("size '%s'", cases[i].in);
      g_assert_cmpint (ok, ==, cases[i].ok);
      g_assert_cmpuint (v, ==, cases[i].ok ? cases[i].want : 777);
    }
  g_assert_false (lares_parse_size (NULL, NULL));
}

static void
test_duration (void)
{
  static const U64Case cases[] = {
    { "0", TRUE, 0 },         { "10", TRUE, 10000 },        { "10s", TRUE, 10000 },
    { "250ms", TRUE, 250 },   { "2m", TRUE, 120000 },       { "1h", TRUE, 3600000 },
    { "1d", TRUE, 86400000 }, { "5 min", TRUE, 300000 },    { "s", FALSE, 0 },
    { "-5s", FALSE, 0 },      { "5 fortnights", FALSE, 0 }, { "99999999999999999999d", FALSE, 0 },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      uint64_t v = 777;
      gboolean ok = lares_parse_duration_ms (cases[i].in, &v);
      g_test_message ("duration '%s'", cases[i].in);
      g_assert_cmpint (ok, ==, cases[i].ok);
      g_assert_cmpuint (v, ==, cases[i].ok ? cases[i].want : 777);
    }
}

static void
test_bool_and_int (void)
{
  gboolean b = FALSE;
  int64_t i = 0;

  g_assert_true (lares_parse_bool ("YES", &b) && b);
  g_assert_true (lares_parse_bool ("off", &b) && !b);
  g_assert_true (lares_parse_bool ("1", &b) && b);
  g_assert_false (lares_parse_bool ("maybe", &b));
  g_assert_false (lares_parse_bool ("", &b));

  g_assert_true (lares_parse_int64 ("-42", &i) && i == -42);
  g_assert_true (lares_parse_int64 (" 7 ", &i) && i == 7);
  g_assert_false (lares_parse_int64 ("7x", &i));
  g_assert_false (lares_parse_int64 ("", &i));
  g_assert_false (lares_parse_int64 ("9223372036854775808", &i));
  g_assert_true (lares_parse_int64 ("9223372036854775807", &i) && i == INT64_MAX);
}

static void
test_id_list (void)
{
  static const struct
  {
    const char *in;
    const char *want; /* the ids joined by ',', or NULL: refused */
  } cases[] = {
    { "7", "7" },
    { "3,7, 12", "3,7,12" },
    { " 1 , 2 ", "1,2" },
    { "5,5", "5,5" },
    { "1,2,3,4", "1,2,3,4" },
    { "1,2,3,4,5", NULL }, /* more than the cap */
    { "", NULL },
    { ",", NULL },
    { "1,", NULL },
    { ",1", NULL },
    { "1,,2", NULL },
    { "0", NULL },
    { "-1", NULL },
    { "1;2", NULL },
    { "x", NULL },
    { "9223372036854775808", NULL },
    { "1,                                                 2", NULL }, /* an item too long */
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      GArray *ids = NULL;
      gboolean ok = lares_parse_id_list (cases[i].in, 4, &ids);

      g_test_message ("ids '%s'", cases[i].in);
      g_assert_cmpint (ok, ==, cases[i].want != NULL);
      if (ok)
        {
          g_autoptr (GString) got = g_string_new (NULL);
          for (unsigned k = 0; k < ids->len; k++)
            g_string_append_printf (got, "%s%" G_GINT64_FORMAT, k ? "," : "",
                                    g_array_index (ids, int64_t, k));
          g_assert_cmpstr (got->str, ==, cases[i].want);
          g_array_unref (ids);
        }
      else
        g_assert_null (ids);
    }
  g_assert_false (lares_parse_id_list (NULL, 4, NULL));
}

static void
test_proc (void)
{
  g_assert_cmpuint (lares_proc_rss_kib (), >, 0);
  g_assert_cmpint (lares_proc_open_fds (), >=, 3);
  g_assert_cmpuint (lares_raise_fd_limit (), >=, 1024);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/util/size", test_size);
  g_test_add_func ("/util/duration", test_duration);
  g_test_add_func ("/util/bool-and-int", test_bool_and_int);
  g_test_add_func ("/util/id-list", test_id_list);
  g_test_add_func ("/util/proc", test_proc);
  return g_test_run ();
}
