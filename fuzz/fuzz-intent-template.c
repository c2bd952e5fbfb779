/* fuzz-intent-template.c — the intent template syntax and the intent file
 * loader: lares_template_parse() + lares_template_expand(), and, for input
 * starting with "Y\n", lares_intent_engine_new_from_data() on the rest as a
 * YAML intent file (libyaml, then our tree and compiler).
 *
 * Checks: a parse either succeeds or sets an error in our domain; expansion
 * never exceeds its cap; every expanded item is a word or a slot, never both;
 * a loader failure always names the file.
 */
#include "config.h"

#include <string.h>

#include "lares-fuzz.h"
#include "lares-intent-private.h"

#define CAP 256

static const LaresTemplateNode *
no_rules (const char *name, void *user_data)
{
  /* Every rule is the same small template, so rule references expand. */
  return user_data;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static LaresTemplateNode *rule = NULL;
  g_autoptr (GError) error = NULL;

  lares_fuzz_init ();
  if (rule == NULL)
    rule = lares_template_parse ("(x|y) [z]", 9, NULL);

  if (size >= 2 && data[0] == 'Y' && data[1] == '\n')
    {
      g_autoptr (LaresIntentEngine) e = lares_intent_engine_new_from_data (
          NULL, "en", "fuzz.yaml", (const char *)data + 2, size - 2, &error);
      if (e == NULL)
        {
          g_assert_nonnull (error);
          g_assert_true (error->domain == LARES_INTENT_ERROR);
          g_assert_true (g_str_has_prefix (error->message, "fuzz.yaml") ||
                         strstr (error->message, "no sentence templates") != NULL);
        }
      else
        g_assert_cmpuint (lares_intent_engine_get_n_paths (e), >, 0);
      return 0;
    }

  g_autoptr (LaresTemplateNode) t = lares_template_parse ((const char *)data, size, &error);
  if (t == NULL)
    {
      g_assert_error (error, LARES_INTENT_ERROR, LARES_INTENT_ERROR_SYNTAX);
      return 0;
    }
  g_assert_no_error (error);
  g_autoptr (GPtrArray) seqs = lares_template_expand (t, no_rules, rule, CAP, &error);
  if (seqs == NULL)
    {
      g_assert_nonnull (error);
      return 0;
    }
  g_assert_cmpuint (seqs->len, <=, CAP);
  for (size_t i = 0; i < seqs->len; i++)
    {
      GArray *seq = seqs->pdata[i];
      for (size_t j = 0; j < seq->len; j++)
        {
          const LaresTemplateItem *it = &g_array_index (seq, LaresTemplateItem, j);
          g_assert_true ((it->word == NULL) != (it->slot == NULL));
        }
    }
  return 0;
}
