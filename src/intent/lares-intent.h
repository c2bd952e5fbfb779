/* lares-intent.h — the intent engine: understanding without an LLM (SPEC §4).
 *
 * An engine is compiled once from data/intents/LANG/NAME.yaml and is immutable
 * afterwards, so one engine may serve any number of threads.  A match takes
 * the user's text, a "now" in the user's time zone and the names the user has
 * (LaresIntentEntities), and returns the intent, the tool to call with its JSON
 * arguments, a verdict (match / ambiguous / none), a clarifying question when
 * ambiguous, and a short "why".  The router decision is a pure function of a
 * match and whether an LLM is configured.  See docs/internals/intent.md.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define LARES_INTENT_ERROR (lares_intent_error_quark ())
GQuark lares_intent_error_quark (void);

typedef enum
{
  LARES_INTENT_ERROR_IO,     /* a data file or directory cannot be read */
  LARES_INTENT_ERROR_SYNTAX, /* bad YAML or template syntax (message has FILE:LINE) */
  LARES_INTENT_ERROR_INVALID /* well-formed but wrong: unknown slot, rule, type... */
} LaresIntentError;

typedef enum
{
  LARES_INTENT_VERDICT_NONE,      /* nothing matched */
  LARES_INTENT_VERDICT_MATCH,     /* one confident match */
  LARES_INTENT_VERDICT_AMBIGUOUS, /* several readings; ask the question */
} LaresIntentVerdict;

typedef enum
{
  LARES_INTENT_ROUTE_RUN,          /* call the tool now */
  LARES_INTENT_ROUTE_CLARIFY,      /* ask the clarifying question */
  LARES_INTENT_ROUTE_LLM,          /* hand the turn to the LLM */
  LARES_INTENT_ROUTE_CAPABILITIES, /* answer "here is what I can do" */
} LaresIntentRoute;

typedef struct _LaresIntentEngine LaresIntentEngine;
typedef struct _LaresIntentEntities LaresIntentEntities;
typedef struct _LaresIntentMatch LaresIntentMatch;

/* Names the user has, by kind ("project", "list", "contact", "device"...);
 * the caller fills it (later: the store). */
LaresIntentEntities *lares_intent_entities_new (void);
void lares_intent_entities_free (LaresIntentEntities *entities);
/* Add @name (copied) under @kind.  Duplicates are ignored. */
void lares_intent_entities_add (LaresIntentEntities *entities, const char *kind, const char *name);

/**
 * lares_intent_engine_new_from_dir:
 * @dir: the intents directory (holding one subdirectory per language)
 * @lang: the language tag, e.g. "en"; reads @dir/@lang/NAME.yaml
 * @error: a bad file is reported as "FILE:LINE: problem"
 *
 * Returns: (transfer full) (nullable): the compiled engine.
 */
LaresIntentEngine *lares_intent_engine_new_from_dir (const char *dir, const char *lang,
                                                     GError **error);
/* The same from the templates built into the binary (data/intents). */
LaresIntentEngine *lares_intent_engine_new_builtin (const char *lang, GError **error);
void lares_intent_engine_free (LaresIntentEngine *engine);

/* Number of compiled sentence paths (for the bench and `lares intent`). */
size_t lares_intent_engine_get_n_paths (const LaresIntentEngine *engine);

/* The honest "here is what I can do" answer, from the intents' descriptions.
 * Returns: (transfer none). */
const char *lares_intent_engine_get_capabilities (const LaresIntentEngine *engine);

/**
 * lares_intent_engine_match:
 * @text: the user's sentence (UTF-8; invalid bytes make no match)
 * @now: the current time; only its instant is used
 * @tz: (nullable): the user's zone; NULL means @now's zone
 * @entities: (nullable): the user's names
 *
 * Returns: (transfer full): never NULL; see lares_intent_match_get_verdict().
 */
LaresIntentMatch *lares_intent_engine_match (const LaresIntentEngine *engine, const char *text,
                                             GDateTime *now, GTimeZone *tz,
                                             const LaresIntentEntities *entities);

void lares_intent_match_free (LaresIntentMatch *match);
LaresIntentVerdict lares_intent_match_get_verdict (const LaresIntentMatch *match);
/* (transfer none) (nullable): NULL when the verdict is NONE. */
const char *lares_intent_match_get_intent (const LaresIntentMatch *match);
const char *lares_intent_match_get_tool (const LaresIntentMatch *match);
/* (transfer none) (nullable): a JSON object; NULL when the verdict is NONE. */
JsonNode *lares_intent_match_get_args (const LaresIntentMatch *match);
/* 0..1: 1 for an exact match, less for fuzzy entities; 0 for none. */
double lares_intent_match_get_confidence (const LaresIntentMatch *match);
/* (transfer none) (nullable): the clarifying question when AMBIGUOUS. */
const char *lares_intent_match_get_question (const LaresIntentMatch *match);
/* (transfer none): why this verdict, for the turn record. */
const char *lares_intent_match_get_why (const LaresIntentMatch *match);
/* (transfer none): notes for the user, e.g. a DST adjustment; NULL-terminated. */
const char *const *lares_intent_match_get_notes (const LaresIntentMatch *match);
/* (transfer full): the whole match as a JSON object (CLI, tests, turn log). */
JsonNode *lares_intent_match_to_json (const LaresIntentMatch *match);

/**
 * lares_intent_route:
 * @match: a match result
 * @llm_configured: whether an LLM can take the turn
 * @why: (out) (optional) (transfer none): a static reason
 *
 * A pure function: a confident match runs, an ambiguous one asks, anything
 * else goes to the LLM when there is one, else to "here is what I can do".
 */
LaresIntentRoute lares_intent_route (const LaresIntentMatch *match, gboolean llm_configured,
                                     const char **why);
const char *lares_intent_route_to_string (LaresIntentRoute route);
const char *lares_intent_verdict_to_string (LaresIntentVerdict verdict);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresIntentEngine, lares_intent_engine_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresIntentMatch, lares_intent_match_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresIntentEntities, lares_intent_entities_free)

G_END_DECLS
