/* lares-fuzz-intent.c — see lares-fuzz-intent.h. */
#include "config.h"

#include "lares-fuzz-intent.h"

const LaresIntentEngine *
lares_fuzz_intent_engine (void)
{
  static LaresIntentEngine *engine = NULL;
  if (engine == NULL)
    {
      g_autoptr (GError) error = NULL;
      engine = lares_intent_engine_new_from_dir (LARES_INTENT_DATA_DIR, "en", &error);
      g_assert_no_error (error);
    }
  return engine;
}

/* libFuzzer calls this once before any input: compiling the templates
 * takes seconds under ASan and must not count against an input's
 * -timeout.  (The replay driver never calls it; the engine is then built
 * on first use.) */
int LLVMFuzzerInitialize (int *argc, char ***argv);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void)lares_fuzz_intent_engine ();
  return 0;
}
