/* lares-config.h — the typed configuration table.
 *
 * Every setting is one row of a table (lares-config.c): a key "group.name",
 * a type, a default, bounds or choices, flags and a one-line description.
 * Values come from four sources, each overriding the one before:
 *
 *   defaults < lares.conf (GKeyFile) < LARES_GROUP_NAME environment < flags
 *
 * A bad value from any source is an error naming the key and the source.
 * Secret keys (LARES_CONFIG_SECRET) are never printed: lares_config_dump()
 * redacts them, and a secret may sit in lares.conf only if the file is 0600.
 *
 * The LaresConfig struct is plain data: read its fields directly.  It is
 * built once at start-up and not changed afterwards, so any thread may read it.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define LARES_CONFIG_ERROR (lares_config_error_quark ())
GQuark lares_config_error_quark (void);

typedef enum
{
  LARES_CONFIG_ERROR_UNKNOWN_KEY,
  LARES_CONFIG_ERROR_INVALID_VALUE,
  LARES_CONFIG_ERROR_FILE,
  LARES_CONFIG_ERROR_INSECURE,
} LaresConfigError;

typedef enum
{
  LARES_CONFIG_SOURCE_DEFAULT,
  LARES_CONFIG_SOURCE_FILE,
  LARES_CONFIG_SOURCE_ENV,
  LARES_CONFIG_SOURCE_FLAG,
} LaresConfigSource;

typedef struct _LaresConfig LaresConfig;

struct _LaresConfig
{
  /* [server] */
  char *listen;                 /* IP address to bind (owned) */
  int64_t port;                 /* TCP port; 0 picks a free one */
  uint64_t max_body;            /* request body cap, bytes */
  uint64_t ws_max_message;      /* WebSocket incoming message cap, bytes */
  uint64_t ws_ping_interval_ms; /* WebSocket keepalive ping period */
  uint64_t shutdown_timeout_ms; /* bound on finishing in-flight work at exit */
  char *allow_from;             /* comma-separated CIDRs allowed besides loopback (owned) */
  char *tls_cert;               /* PEM certificate path; "" for plain HTTP (owned) */
  char *tls_key;                /* PEM private key path (owned) */
  /* [auth] */
  uint64_t session_idle_ms;    /* a session unused this long ends */
  uint64_t session_max_age_ms; /* a session ends this long after login regardless */
  int64_t login_max_failures;  /* failed logins per IP or user before a lockout */
  uint64_t login_window_ms;    /* the window those failures are counted in */
  uint64_t lockout_ms;         /* how long a lockout lasts */
  /* [store] */
  char *data_dir;           /* directory holding lares.db and the lock (owned) */
  uint64_t busy_timeout_ms; /* SQLite busy timeout */
  /* [log] */
  char *log_level; /* debug | info | warning (owned) */
  /* [llm] */
  char *llm_provider;                  /* none | openai | ollama (owned) */
  char *llm_base_url;                  /* "" when unset (owned) */
  char *llm_model;                     /* (owned) */
  char *llm_api_key;                   /* secret (owned) */
  uint64_t llm_connect_timeout_ms;     /* TCP/TLS connect to the LLM server */
  uint64_t llm_first_token_timeout_ms; /* request sent -> first token */
  uint64_t llm_total_timeout_ms;       /* whole streamed answer */
  int64_t llm_max_tool_steps;          /* LLM calls per turn that may use tools */
  int64_t llm_max_concurrent;          /* parallel requests to the LLM server */
  char *llm_tools;                     /* native | text | none (owned) */
  char *llm_http_client;               /* auto | libsoup (owned) */
  char *llm_prices;                    /* "model=in/out,..." USD per million tokens (owned) */
  /* [chat] */
  int64_t chat_history_turns;  /* recent turns sent as context */
  int64_t chat_history_tokens; /* token budget of those turns */
  int64_t chat_max_text;       /* characters in one user message */
  /* [persona] */
  char *persona_name;     /* (owned) */
  char *persona_prompt;   /* system prompt (owned) */
  char *persona_modes;    /* "name: instruction; ..." (owned) */
  char *persona_emotions; /* comma-separated emotion tag names (owned) */
  /* [budget] */
  char *budget_daily;   /* USD per user per day; "0" is unlimited (owned) */
  char *budget_monthly; /* USD per user per month (owned) */
  /* [policy] */
  uint64_t policy_approval_ttl_ms; /* how long a high-risk action waits for approval */

  /* Where each value came from, indexed like the table; and the file read. */
  LaresConfigSource *sources;
  char *file_path; /* nullable (owned) */
};

LaresConfig *lares_config_new (void);
void lares_config_free (LaresConfig *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresConfig, lares_config_free)

/* Set one key from a string as if it came from @source. */
gboolean lares_config_set (LaresConfig *cfg, const char *key, const char *value,
                           LaresConfigSource source, GError **error);

/* Read a GKeyFile.  Unknown groups or keys are errors (a typo must not be
 * silently ignored).  @path must exist. */
gboolean lares_config_load_file (LaresConfig *cfg, const char *path, GError **error);

/* The same from text in memory (@len bytes, need not be NUL-terminated);
 * secrets are accepted, as there is no file whose mode could be wrong. */
gboolean lares_config_load_data (LaresConfig *cfg, const char *data, size_t len, GError **error);

/* Apply LARES_<GROUP>_<NAME> variables from @envp (NULL: the process
 * environment).  Other LARES_* variables are left alone. */
gboolean lares_config_load_env (LaresConfig *cfg, char **envp, GError **error);

/* Checks across keys: a non-loopback server.listen needs server.allow_from;
 * TLS needs both files.  lares_config_load() runs it. */
gboolean lares_config_check (const LaresConfig *cfg, GError **error);

/* The whole sequence: defaults, then the file (@path, else $LARES_CONFIG,
 * else ./lares.conf when it exists), then the environment, then @overrides
 * ("key=value" strings from flags, nullable), then cross-key checks. */
LaresConfig *lares_config_load (const char *path, char **overrides, GError **error);

/* The effective configuration as lares.conf text, with the source of each
 * value in a comment and secrets redacted.  (transfer full) */
char *lares_config_dump (const LaresConfig *cfg);

/* Write the documented example file (every key, default and description). */
char *lares_config_example (void);

G_END_DECLS
