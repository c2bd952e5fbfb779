/* lares-intent-private.h — what the intent engine's files, its tests and its
 * fuzzers share: the YAML tree, the language tables, the normalizer, the
 * template parser and the slot parsers.
 *
 * Everything here is immutable once loaded, except where a function says it
 * fills an OUT parameter.
 */
#pragma once

#include <stdint.h>

#include "lares-intent.h"

G_BEGIN_DECLS

/* Input longer than this many tokens is not matched (free text would make
 * the search quadratic in it); the LLM or the capabilities answer takes it. */
#define LARES_INTENT_MAX_TOKENS 48
/* Largest number of token sequences one template may expand to. */
#define LARES_INTENT_MAX_EXPANSIONS 4096

gboolean lares_intent_throw (GError **error, int code, const char *file, int line, const char *fmt,
                             ...) G_GNUC_PRINTF (5, 6);

/* ---- YAML tree (libyaml events -> nodes with line numbers) ---------------- */

typedef enum
{
  LARES_YAML_SCALAR,
  LARES_YAML_SEQ,
  LARES_YAML_MAP,
} LaresYamlKind;

typedef struct LaresYamlNode LaresYamlNode;
struct LaresYamlNode
{
  LaresYamlKind kind;
  int line;        /* 1-based */
  char *scalar;    /* (owned) SCALAR only */
  gboolean plain;  /* SCALAR written without quotes */
  GPtrArray *kids; /* (owned) SEQ: items; MAP: key, value, key, value... */
};

LaresYamlNode *lares_yaml_parse (const char *file, const char *data, size_t len, GError **error);
void lares_yaml_node_free (LaresYamlNode *node);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresYamlNode, lares_yaml_node_free)

/* ---- language tables ---------------------------------------------------------- */

/* Language-neutral roles of date words; data files map words to these names. */
typedef enum
{
  LARES_ROLE_NONE = 0,
  LARES_ROLE_TODAY,
  LARES_ROLE_TOMORROW,
  LARES_ROLE_TONIGHT,
  LARES_ROLE_NEXT,
  LARES_ROLE_THIS,
  LARES_ROLE_AT,
  LARES_ROLE_ON,
  LARES_ROLE_IN,
  LARES_ROLE_THE,
  LARES_ROLE_OF,
  LARES_ROLE_AND,
  LARES_ROLE_FROM,
  LARES_ROLE_NOW,
  LARES_ROLE_LATER,
  LARES_ROLE_NOON,
  LARES_ROLE_MIDNIGHT,
  LARES_ROLE_MORNING,
  LARES_ROLE_AFTERNOON,
  LARES_ROLE_EVENING,
  LARES_ROLE_NIGHT,
  LARES_ROLE_AM,
  LARES_ROLE_PM,
  LARES_ROLE_OCLOCK,
  LARES_ROLE_EVERY,
  LARES_ROLE_OTHER,
  LARES_ROLE_WEEKDAYS,
  LARES_ROLE_WEEKENDS,
  LARES_ROLE_LAST,
  LARES_ROLE_HALF,
  LARES_ROLE_QUARTER,
  LARES_ROLE_ONE, /* an article meaning one: "a", "an" */
  LARES_ROLE_DAILY,
  LARES_ROLE_WEEKLY,
  LARES_ROLE_MONTHLY,
  LARES_ROLE_HOURLY,
  LARES_ROLE_PAST,
  LARES_ROLE_TO,
  LARES_ROLE_N_ROLES
} LaresDateRole;

/* Units table values: seconds, or these for calendar units. */
#define LARES_UNIT_MONTH (-1)
#define LARES_UNIT_YEAR  (-2)

typedef struct
{
  char *lang;
  GHashTable *fillers;      /* set */
  GHashTable *replace;      /* first word -> GPtrArray of char** [from..., NULL, to..., NULL] */
  GHashTable *num_units;    /* word -> value + 1 */
  GHashTable *num_tens;     /* word -> value + 1 */
  GHashTable *num_scales;   /* word -> value + 1 */
  GHashTable *num_joiners;  /* set */
  GHashTable *ord_suffixes; /* set */
  GHashTable *weekdays;     /* word -> 1 (Monday) .. 7 */
  GHashTable *months;       /* word -> 1..12 */
  GHashTable *ordinals;     /* word -> 1..31 (+1 for -1 "last": stored as 32) */
  GHashTable *units;        /* word -> seconds or LARES_UNIT_* (stored + 3) */
  GHashTable *roles;        /* word -> LaresDateRole */
  GHashTable *messages;     /* key -> text */
  GHashTable *norm_words;   /* word -> LaresNormWord*, the normalizer's tables merged; NULL
                             * until lares_intent_lang_freeze() */
  int default_hour;         /* a day with no time in a datetime slot */
} LaresIntentLang;

/* One word's entries in the normalizer's tables. */
typedef struct
{
  GPtrArray *replace;    /* (nullable) its replace rules (borrowed) */
  int unit, tens, scale; /* value + 1, or 0 */
  gboolean joiner, filler;
} LaresNormWord;

LaresIntentLang *lares_intent_lang_new (void);
/* Merge the normalizer's tables into one lookup; call once all files are
 * loaded (the tables must not change afterwards).  Normalizing gives the
 * same tokens before and after, only faster. */
void lares_intent_lang_freeze (LaresIntentLang *lang);
void lares_intent_lang_free (LaresIntentLang *lang);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresIntentLang, lares_intent_lang_free)
/* Merge the `normalize:`, `dates:` and `messages:` sections of one file. */
gboolean lares_intent_lang_load (LaresIntentLang *lang, const char *file, const char *key,
                                 const LaresYamlNode *value, GError **error);
const char *lares_intent_lang_message (const LaresIntentLang *lang, const char *key);
LaresDateRole lares_intent_role_from_name (const char *name);

/* ---- normalizer ------------------------------------------------------------------ */

typedef struct
{
  char *text;   /* (owned) normalized token */
  size_t start; /* byte span of the original text it came from */
  size_t end;
} LaresIntentToken;

/* Normalize @len bytes of @text (need not be NUL-terminated).  Returns a
 * GArray of LaresIntentToken that frees its tokens; empty for empty or
 * invalid UTF-8 input. */
GArray *lares_intent_normalize (const LaresIntentLang *lang, const char *text, size_t len);

/* The same without allocating for a short sentence (the matcher's path):
 * tokens and their text live in the caller's LaresIntentNorm (usually on
 * its stack) or are borrowed from @lang, until lares_intent_norm_clear(). */
typedef struct
{
  LaresIntentToken *v; /* inline_v, or (owned) a bigger heap array */
  size_t n, cap;
  LaresIntentToken inline_v[48];
} LaresIntentTokVec;

typedef struct
{
  const LaresIntentToken *toks; /* OUT: the tokens; text borrowed (see above) */
  size_t n_toks;
  /* private */
  LaresIntentTokVec raw, rep, out;
  char *buf;    /* folded words: inline_buf or (owned) heap */
  char *digits; /* folded numbers: inline_digits or (owned) heap */
  char inline_buf[640];
  char inline_digits[24 * 16];
} LaresIntentNorm;

/* Fills all of @norm (no init needed); always pair with lares_intent_norm_clear(). */
void lares_intent_normalize_into (const LaresIntentLang *lang, const char *text, size_t len,
                                  LaresIntentNorm *norm);
void lares_intent_norm_clear (LaresIntentNorm *norm);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LaresIntentNorm, lares_intent_norm_clear)
/* The tokens joined by single spaces (tests, fuzzers, entity names). */
char *lares_intent_tokens_join (GArray *tokens, size_t from, size_t to);

/* ---- slot parsers (over normalized tokens) ------------------------------------------ */

typedef enum
{
  LARES_LOCAL_EXACT,
  LARES_LOCAL_GAP,  /* the wall time does not exist; moved to the first real instant */
  LARES_LOCAL_FOLD, /* the wall time happens twice; the first one was taken */
} LaresLocalKind;

/* Turn a wall time in @tz into an instant (see docs/internals/intent.md, DST). */
int64_t lares_intent_local_to_unix (GTimeZone *tz, int year, int month, int day, int hour,
                                    int minute, LaresLocalKind *kind);

/* Whether the datetime, day, duration and recurrence parsers can read @w at
 * all: a span holding any other word parses as none of them, so the matcher
 * need not try it (or any longer span from the same start). */
gboolean lares_intent_is_date_word (const LaresIntentLang *lang, const char *w);
/* The longest span those parsers accept (datetime, day and recurrence; a
 * duration has no cap). */
#define LARES_INTENT_MAX_DATE_TOKENS 16

/* What the date parsers know of one token, found once (the matcher keeps
 * one per word of the engine's vocabulary) instead of by a table lookup
 * each time a parser looks at it. */
typedef struct
{
  int role;    /* LaresDateRole, or 0 */
  int weekday; /* 1 (Monday) .. 7, or 0 */
  int month;   /* 1..12, or 0 */
  int ordinal; /* 1..31 from the ordinals table or "3rd", or 0 */
  int unit;    /* seconds or LARES_UNIT_*, or 0 */
  int number;  /* a plain number of at most 6 digits, or -1 */
  int clock_h; /* "9:30": 9, or -1 */
  int clock_m; /* "9:30": 30, or -1 */
} LaresIntentDateTok;

void lares_intent_date_tok_init (const LaresIntentLang *lang, const char *word,
                                 LaresIntentDateTok *tok);

/* Each parser must consume all @n tokens.  @now is in the user's zone. */
gboolean lares_intent_parse_datetime (const LaresIntentLang *lang, char **tok, size_t n,
                                      GDateTime *now, gboolean day_only, JsonNode **value,
                                      char **note);
gboolean lares_intent_parse_duration (const LaresIntentLang *lang, char **tok, size_t n,
                                      int64_t *seconds);
/* The same three over classified tokens (the others classify and call these). */
gboolean lares_intent_parse_duration_toks (const LaresIntentLang *lang,
                                           const LaresIntentDateTok *tok, size_t n,
                                           int64_t *seconds);
char *lares_intent_parse_rrule_toks (const LaresIntentLang *lang, const LaresIntentDateTok *tok,
                                     size_t n);
gboolean lares_intent_parse_recurrence (const LaresIntentLang *lang, char **tok, size_t n,
                                        GDateTime *now, JsonNode **value, char **note);
/* The matcher tries many spans and keeps few: it parses each span into cheap
 * fields (lares_intent_parse_when(), lares_intent_parse_rrule()) and builds
 * the JSON value, RFC 3339 text and first occurrence only for the paths it
 * reports (lares_intent_when_value(), lares_intent_rrule_value()).  The two
 * functions above are both steps in one. */
typedef enum
{
  LARES_WHEN_RELATIVE, /* now + rel_s */
  LARES_WHEN_DAY,      /* the local day year-month-day, or days from it (a `day` slot) */
  LARES_WHEN_WALL,     /* the local wall time year-month-day hour:minute */
} LaresIntentWhenKind;

typedef struct
{
  LaresIntentWhenKind kind;
  int64_t rel_s;
  int year, month, day, hour, minute;
  int days; /* LARES_WHEN_DAY: the days from that one ("next week": 7); 0 means 1 */
} LaresIntentWhen;

gboolean lares_intent_parse_when (const LaresIntentLang *lang, char **tok, size_t n, GDateTime *now,
                                  gboolean day_only, LaresIntentWhen *when);
gboolean lares_intent_parse_when_toks (const LaresIntentLang *lang, const LaresIntentDateTok *tok,
                                       size_t n, GDateTime *now, gboolean day_only,
                                       LaresIntentWhen *when);
/* Never NULL for a @when that lares_intent_parse_when() filled with the same @now. */
JsonNode *lares_intent_when_value (const LaresIntentLang *lang, GDateTime *now,
                                   const LaresIntentWhen *when, char **note);
/* The RRULE text, checked by libical, or NULL. */
char *lares_intent_parse_rrule (const LaresIntentLang *lang, char **tok, size_t n);
/* {rrule, start}, or NULL when libical finds no occurrence after @now. */
JsonNode *lares_intent_rrule_value (const LaresIntentLang *lang, const char *rule, GDateTime *now,
                                    char **note);
/* A local wall time (no zone). */
typedef struct
{
  int year, month, day, hour, minute;
} LaresIntentWall;

/* The first occurrence of @rule after @start (DTSTART), interval taken as 1.
 * The rule shapes the recurrence parser writes are computed directly;
 * anything else, or everything with @use_libical, by libical's iterator
 * (tests compare the two).  FALSE when there is none. */
gboolean lares_intent_rrule_first (const char *rule, const LaresIntentWall *start,
                                   gboolean use_libical, LaresIntentWall *first);
/* RFC 3339 with the offset of @dt's zone. */
char *lares_intent_format_rfc3339 (GDateTime *dt);

/* ---- templates ---------------------------------------------------------------------- */

typedef struct LaresTemplateNode LaresTemplateNode;

/* Rule lookup for <name>; returns (transfer none) the rule's parsed tree. */
typedef const LaresTemplateNode *(*LaresTemplateRuleFunc) (const char *name, void *user_data);

/* Parse @len bytes of template text.  Errors name the column. */
LaresTemplateNode *lares_template_parse (const char *text, size_t len, GError **error);
void lares_template_node_free (LaresTemplateNode *node);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresTemplateNode, lares_template_node_free)

/* One expanded element: a literal word (not yet normalized) or "{slot}". */
typedef struct
{
  const char *word; /* literal, or NULL; borrowed from a template tree */
  const char *slot; /* slot name, or NULL; borrowed likewise */
} LaresTemplateItem;

/* Called with each expanded sequence in turn; @items are valid for the call
 * only.  Returning FALSE (with @error set) stops the expansion. */
typedef gboolean (*LaresTemplateSeqFunc) (const LaresTemplateItem *items, size_t n, void *data,
                                          GError **error);

/* Expand @node, if it makes at most @max sequences, calling @func with each
 * in order (depth first: the first alternative first, an optional part's
 * absence before its presence); nothing is called when @node has an error
 * (an unknown or too deeply nested rule, more than @max sequences).  The
 * items point into @node's tree and the rules' trees. */
gboolean lares_template_expand_each (const LaresTemplateNode *node, LaresTemplateRuleFunc rules,
                                     void *user_data, size_t max, LaresTemplateSeqFunc func,
                                     void *func_data, GError **error);

/* The same, collected: a GPtrArray of GArrays of LaresTemplateItem, or NULL
 * with @error.  Free the result before the trees. */
GPtrArray *lares_template_expand (const LaresTemplateNode *node, LaresTemplateRuleFunc rules,
                                  void *user_data, size_t max, GError **error);

/* Fuzzing/test entry point over an in-memory engine definition: one YAML
 * file's text, merged after the files of @base_dir/@lang when @base_dir is
 * not NULL. */
LaresIntentEngine *lares_intent_engine_new_from_data (const char *base_dir, const char *lang,
                                                      const char *name, const char *data,
                                                      size_t len, GError **error);
const LaresIntentLang *lares_intent_engine_get_lang (const LaresIntentEngine *engine);

G_END_DECLS
