/* test-http-json.c — the strict JSON reader against json-glib.
 *
 * lares_json_parse_fast (lares-http-json.c) may refuse any text, but what
 * it takes it must take exactly as the general path (UTF-8 check, prescan,
 * json-glib) would: the same tree, sealed, with the same number types and
 * bits, parents and member order.  Each input here is given to both
 * (lares_fuzz_check_json_fast); a table pins which inputs the reader
 * takes, and random documents and mutations of them cover the rest.
 * Inputs are not NUL-terminated.
 */
#include "config.h"

#include "../../fuzz/lares-fuzz-json.h"
#include "lares-http-parse.h"

static gboolean
check (const char *data, size_t len)
{
  g_autofree char *copy = g_memdup2 (data, len ? len : 1); /* not NUL-terminated */

  return lares_fuzz_check_json_fast (copy, len);
}

typedef struct
{
  const char *in;
  ssize_t len;   /* -1: strlen */
  gboolean fast; /* the strict reader takes it */
} Case;

static void
test_table (void)
{
  static const Case cases[] = {
    { "{\"model\":\"lares\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
      -1, TRUE },
    { "{}", -1, TRUE },
    { "[]", -1, TRUE },
    { " \t\r\n{ \"a\" : [ 1 , 2 ] } \r\n", -1, TRUE },
    { "{\"\":1}", -1, TRUE },
    { "{\"a\":{\"b\":{\"c\":[{\"d\":null}]}},\"e\":\"f\"}", -1, TRUE },
    { "\"x\"", -1, TRUE },
    { "true", -1, TRUE },
    { "false", -1, TRUE },
    { "null", -1, TRUE },
    /* Numbers: integers are gint64, the rest doubles; the sign after. */
    { "0", -1, TRUE },
    { "-0", -1, TRUE },
    { "-0.0", -1, TRUE },
    { "-0e0", -1, TRUE },
    { "123456789012345678", -1, TRUE },
    { "-123456789012345678", -1, TRUE },
    { "1234567890123456789", -1, FALSE }, /* 19 digits: json-glib's own rules */
    { "12345678901234567890", -1, FALSE },
    { "1.5", -1, TRUE },
    { "0.1", -1, TRUE },
    { "1e5", -1, TRUE },
    { "1E+05", -1, TRUE },
    { "2.5E-3", -1, TRUE },
    { "1e01", -1, TRUE },
    { "1.7976931348623157e308", -1, TRUE },
    { "123456789012345678901234567890.5", -1, TRUE },
    { "1e400", -1, FALSE },    /* out of range */
    { "1e-400", -1, FALSE },   /* underflow */
    { "4.9e-324", -1, FALSE }, /* subnormal: strtod says ERANGE */
    { "01", -1, FALSE },
    { "- 1", -1, FALSE },
    { "1.", -1, FALSE },
    { ".5", -1, FALSE },
    { "1.e5", -1, FALSE },
    { "1e", -1, FALSE },
    { "+1", -1, FALSE },
    /* Strings. */
    { "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", -1, TRUE },
    { "\"\\u00e9\\u00E9\\u4e2d\"", -1, TRUE },
    { "\"\\ud83d\\ude00\"", -1, TRUE },
    { "\"caf\xc3\xa9 \xf0\x9f\x98\x80 \x7f\"", -1, TRUE },
    { "\"a\tb\"", -1, FALSE }, /* raw control character */
    { "\"a\x01\"", -1, FALSE },
    { "\"\\x41\"", -1, FALSE },
    { "\"\\'\"", -1, FALSE },
    { "\"\\u0000\"", -1, FALSE },
    { "\"\\ud800\"", -1, FALSE },
    { "\"\\udc00\"", -1, FALSE },
    { "\"\\ud800\\u0041\"", -1, FALSE },
    { "\"\\u12\"", -1, FALSE },
    { "\"\xed\xa0\x80\"", -1, FALSE }, /* a surrogate in UTF-8 */
    { "\"\xc0\xaf\"", -1, FALSE },     /* overlong */
    { "\"\xff\"", -1, FALSE },
    { "\"a\0b\"", 5, FALSE },
    { "\"abc", -1, FALSE },
    /* Structure. */
    { "{\"a\":1,\"a\":2}", -1, FALSE }, /* a repeated name: json-glib's rules */
    { "[1,]", -1, FALSE },
    { "{\"a\":1,}", -1, FALSE },
    { "[1 2]", -1, FALSE },
    { "{\"a\" 1}", -1, FALSE },
    { "{1:2}", -1, FALSE },
    { "{\"a\":1}{}", -1, FALSE },
    { "{} x", -1, FALSE },
    { "1 2", -1, FALSE },
    { "\xef\xbb\xbf{}", -1, FALSE }, /* BOM */
    { "/*c*/{}", -1, FALSE },
    { "\f{}", -1, FALSE },
    { "tru", -1, FALSE },
    { "nulll", -1, FALSE },
    { "", 0, FALSE },
    { "   ", -1, FALSE },
    { "{", -1, FALSE },
    { "[", -1, FALSE },
    { "{\"a\":", -1, FALSE },
    { "{\"a\"", -1, FALSE },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      size_t len = cases[i].len < 0 ? strlen (cases[i].in) : (size_t)cases[i].len;

      g_test_message ("case %zu: %s", i, cases[i].in);
      g_assert_cmpint (check (cases[i].in, len), ==, cases[i].fast);
    }
}

/* 64 levels are taken, 65 are not: the prescan's limit. */
static void
test_depth (void)
{
  for (unsigned depth = 63; depth <= 66; depth++)
    {
      g_autoptr (GString) doc = g_string_new (NULL);

      for (unsigned i = 0; i < depth; i++)
        g_string_append (doc, i % 2 ? "[" : "{\"a\":");
      g_string_append (doc, "1");
      for (unsigned i = depth; i-- > 0;)
        g_string_append (doc, i % 2 ? "]" : "}");
      g_assert_cmpint (check (doc->str, doc->len), ==, depth <= LARES_JSON_MAX_DEPTH);
    }
}

/* ---- random documents -------------------------------------------------- */

static const char *const spaces[] = { "", "", "", " ", "\n", "\r\n", "\t", "  " };
static const char *const pieces[] = {
  "a",
  "Z",
  "0",
  " ",
  "\\\"",
  "\\\\",
  "\\/",
  "\\b",
  "\\f",
  "\\n",
  "\\r",
  "\\t",
  "\\u0041",
  "\\u00e9",
  "\\u00E9",
  "\\u4e2d",
  "\\uFFFF",
  "\\u0080",
  "\\u07ff",
  "\\ud83d\\ude00",
  "\\uDBFF\\uDFFF",
  "\xc3\xa9",
  "\xe4\xb8\xad",
  "\xf0\x9f\x98\x80",
  "\x7f",
  "{",
  "]",
  ":",
};

static void gen_value (GRand *rand, GString *out, unsigned depth);

static void
gen_space (GRand *rand, GString *out)
{
  g_string_append (out, spaces[g_rand_int_range (rand, 0, G_N_ELEMENTS (spaces))]);
}

static void
gen_string (GRand *rand, GString *out, gboolean short_name)
{
  int n = g_rand_int_range (rand, 0, short_name ? 3 : 12);

  g_string_append_c (out, '"');
  for (int i = 0; i < n; i++)
    g_string_append (out, pieces[g_rand_int_range (rand, 0, G_N_ELEMENTS (pieces))]);
  g_string_append_c (out, '"');
}

static void
gen_digits (GRand *rand, GString *out, int max)
{
  int n = g_rand_int_range (rand, 1, max + 1);

  for (int i = 0; i < n; i++)
    g_string_append_c (out, (char)('0' + g_rand_int_range (rand, i == 0 ? 1 : 0, 10)));
}

static void
gen_number (GRand *rand, GString *out)
{
  if (g_rand_boolean (rand))
    g_string_append_c (out, '-');
  if (g_rand_int_range (rand, 0, 5) == 0)
    g_string_append_c (out, '0');
  else
    gen_digits (rand, out, g_rand_int_range (rand, 0, 4) == 0 ? 22 : 6);
  if (g_rand_int_range (rand, 0, 3) == 0)
    {
      g_string_append_c (out, '.');
      g_string_append_printf (out, "%0*d", g_rand_int_range (rand, 1, 4),
                              g_rand_int_range (rand, 0, 1000));
      if (g_rand_boolean (rand))
        gen_digits (rand, out, 18);
    }
  if (g_rand_int_range (rand, 0, 4) == 0)
    {
      g_string_append_c (out, g_rand_boolean (rand) ? 'e' : 'E');
      if (g_rand_boolean (rand))
        g_string_append_c (out, g_rand_boolean (rand) ? '+' : '-');
      g_string_append_printf (out, "%d", g_rand_int_range (rand, 0, 330));
    }
}

static void
gen_container (GRand *rand, GString *out, unsigned depth, gboolean object)
{
  int n = g_rand_int_range (rand, 0, depth > 4 ? 2 : 5);

  g_string_append_c (out, object ? '{' : '[');
  for (int i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      gen_space (rand, out);
      if (object)
        {
          gen_string (rand, out, TRUE); /* short names repeat now and then */
          gen_space (rand, out);
          g_string_append_c (out, ':');
          gen_space (rand, out);
        }
      gen_value (rand, out, depth + 1);
      gen_space (rand, out);
    }
  g_string_append_c (out, object ? '}' : ']');
}

static void
gen_value (GRand *rand, GString *out, unsigned depth)
{
  switch (g_rand_int_range (rand, 0, depth > 70 ? 6 : 9))
    {
    case 0:
      g_string_append (out, "true");
      break;
    case 1:
      g_string_append (out, "false");
      break;
    case 2:
      g_string_append (out, "null");
      break;
    case 3:
    case 4:
      gen_string (rand, out, FALSE);
      break;
    case 5:
      gen_number (rand, out);
      break;
    case 6:
    case 7:
      gen_container (rand, out, depth, TRUE);
      break;
    default:
      gen_container (rand, out, depth, FALSE);
      break;
    }
}

/* Change @doc a little: cut it, drop, replace or add a byte. */
static void
mutate (GRand *rand, GString *doc)
{
  static const char bytes[] = "{}[],:\"\\ -+.eE0123456789aflnrstu\x01\x7f\x80\xc3\xff";
  size_t at = doc->len ? (size_t)g_rand_int_range (rand, 0, (int)doc->len) : 0;
  char c = bytes[g_rand_int_range (rand, 0, sizeof bytes)]; /* the NUL too */

  switch (g_rand_int_range (rand, 0, 4))
    {
    case 0:
      g_string_truncate (doc, at);
      break;
    case 1:
      if (doc->len)
        g_string_erase (doc, (gssize)at, 1);
      break;
    case 2:
      if (doc->len)
        doc->str[at] = c;
      break;
    default:
      g_string_insert_len (doc, (gssize)at, &c, 1);
      break;
    }
}

static void
test_random (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (8259);
  unsigned n_docs = g_test_slow () ? 200000 : 20000;
  unsigned taken = 0, mutants_taken = 0;

  for (unsigned n = 0; n < n_docs; n++)
    {
      g_autoptr (GString) doc = g_string_new (NULL);

      gen_space (rand, doc);
      gen_value (rand, doc, g_rand_int_range (rand, 0, 20) == 0 ? 60 : 0);
      gen_space (rand, doc);
      taken += check (doc->str, doc->len);
      for (int m = 0; m < 3; m++)
        {
          mutate (rand, doc);
          mutants_taken += check (doc->str, doc->len);
        }
    }
  g_test_message ("the strict reader took %u of %u documents and %u of their %u mutants", taken,
                  n_docs, mutants_taken, 3 * n_docs);
  /* Most generated documents are plain JSON; the reader must take them,
   * or the comparison above proves little. */
  g_assert_cmpuint (taken, >, n_docs / 2);
  g_assert_cmpuint (mutants_taken, >, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/http-json/table", test_table);
  g_test_add_func ("/http-json/depth", test_depth);
  g_test_add_func ("/http-json/random", test_random);
  return g_test_run ();
}
