/* lares-fuzz-intent.h — the English intent engine, compiled once per fuzzer
 * process from the source tree's data/intents (LARES_INTENT_DATA_DIR). */
#pragma once

#include "lares-intent-private.h"

G_BEGIN_DECLS

/* (transfer none): aborts if the committed data does not load. */
const LaresIntentEngine *lares_fuzz_intent_engine (void);

G_END_DECLS
