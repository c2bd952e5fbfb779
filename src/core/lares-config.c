/* lares-config.c — the configuration table, its parsers and its printers.
 *
 * DESIGN: one static table drives everything — defaults, parsing, bounds,
 * environment names, --print-config and the example file — so a key is added
 * in exactly one place.  Values are parsed straight into LaresConfig fields
 * through their offsets (the redis config.c pattern).  Not thread-safe while
 * loading; read-only afterwards.
 */
#include "config.h"

#include "lares-config.h"

#include <gio/gio.h>
#include <sys/stat.h>

#include "lares-util.h"

G_DEFINE_QUARK (lares - config - error - quark, lares_config_error)

typedef enum
{
  TYPE_STRING,
  TYPE_INT,
  TYPE_BOOL,
  TYPE_SIZE,
  TYPE_DURATION,
} ValueType;

enum
{
  FLAG_SECRET = 1 << 0,
};

typedef struct
{
  const char *key; /* "group.name" */
  ValueType type;
  const char *def;
  size_t offset;
  uint64_t min, max;          /* bounds for INT, SIZE (bytes), DURATION (ms) */
  const char *const *choices; /* allowed strings, NULL-terminated; nullable */
  unsigned flags;
  gboolean (*validate) (const char *value, char **why); /* nullable */
  const char *doc;
} ConfigRow;

static gboolean
validate_ip (const char *value, char **why)
{
  g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (value);

  if (addr == NULL)
    *why = g_strdup ("not an IP address (for example 127.0.0.1 or ::1)");
  return addr != NULL;
}

static gboolean
validate_url (const char *value, char **why)
{
  g_autoptr (GUri) uri = NULL;

  if (*value == '\0')
    return TRUE;
  uri = g_uri_parse (value, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL ||
      (g_strcmp0 (g_uri_get_scheme (uri), "http") != 0 &&
       g_strcmp0 (g_uri_get_scheme (uri), "https") != 0))
    {
      *why = g_strdup ("not an http:// or https:// URL");
      return FALSE;
    }
  return TRUE;
}

static gboolean
validate_nonempty (const char *value, char **why)
{
  if (*value != '\0')
    return TRUE;
  *why = g_strdup ("must not be empty");
  return FALSE;
}

static gboolean
validate_cidr_list (const char *value, char **why)
{
  g_auto (GStrv) parts = g_strsplit (value, ",", -1);

  for (size_t i = 0; parts[i]; i++)
    {
      char *item = g_strstrip (parts[i]);
      g_autoptr (GInetAddressMask) mask = NULL;

      if (*item == '\0')
        continue;
      mask = g_inet_address_mask_new_from_string (item, NULL);
      if (mask == NULL)
        {
          *why =
              g_strdup_printf ("'%s' is not an address or CIDR range (e.g. 192.168.1.0/24)", item);
          return FALSE;
        }
    }
  return TRUE;
}

static const char *const log_levels[] = { "debug", "info", "warning", NULL };
static const char *const llm_providers[] = { "none", "openai", "ollama", NULL };
static const char *const llm_tool_modes[] = { "native", "text", "none", NULL };
static const char *const llm_http_clients[] = { "auto", "libsoup", NULL };

/* A non-negative decimal amount of money: "0", "2.50". */
static gboolean
validate_money (const char *value, char **why)
{
  const char *p = value;
  unsigned digits = 0, decimals = 0;

  while (g_ascii_isdigit (*p))
    p++, digits++;
  if (*p == '.')
    for (p++; g_ascii_isdigit (*p); p++)
      decimals++;
  if (*p != '\0' || digits == 0 || digits > 9 || decimals > 6)
    {
      *why = g_strdup ("not an amount like 0 or 2.50");
      return FALSE;
    }
  return TRUE;
}

/* "model=in/out,model2=in/out": prices in USD per million tokens. */
static gboolean
validate_prices (const char *value, char **why)
{
  g_auto (GStrv) items = g_strsplit (value, ",", -1);

  for (char **it = items; *it; it++)
    {
      g_autofree char *item = g_strstrip (g_strdup (*it));
      const char *eq = strchr (item, '=');
      const char *slash = eq ? strchr (eq, '/') : NULL;
      g_autofree char *in = NULL;

      if (*item == '\0')
        continue;
      if (eq == NULL || eq == item || slash == NULL)
        {
          *why = g_strdup_printf ("'%s' is not model=input/output", item);
          return FALSE;
        }
      in = g_strndup (eq + 1, slash - eq - 1);
      if (!validate_money (in, why) || !validate_money (slash + 1, why))
        return FALSE;
    }
  return TRUE;
}

#define OFF(field) G_STRUCT_OFFSET (LaresConfig, field)
#define KIB        ((uint64_t)1024)
#define MIB        (KIB * 1024)

static const ConfigRow config_table[] = {
  { "server.listen", TYPE_STRING, "127.0.0.1", OFF (listen), 0, 0, NULL, 0, validate_ip,
    "address to listen on; loopback by default" },
  { "server.port", TYPE_INT, "8765", OFF (port), 0, 65535, NULL, 0, NULL,
    "TCP port; 0 picks a free one" },
  { "server.max_body", TYPE_SIZE, "1MiB", OFF (max_body), KIB, 64 * MIB, NULL, 0, NULL,
    "largest accepted request body" },
  { "server.ws_max_message", TYPE_SIZE, "64KiB", OFF (ws_max_message), KIB, 16 * MIB, NULL, 0, NULL,
    "largest accepted WebSocket message" },
  { "server.ws_ping_interval", TYPE_DURATION, "30s", OFF (ws_ping_interval_ms), 0, 3600 * 1000,
    NULL, 0, NULL, "WebSocket keepalive ping period; 0 disables" },
  { "server.shutdown_timeout", TYPE_DURATION, "10s", OFF (shutdown_timeout_ms), 0, 300 * 1000, NULL,
    0, NULL, "how long SIGTERM waits for in-flight work" },
  { "server.allow_from", TYPE_STRING, "", OFF (allow_from), 0, 0, NULL, 0, validate_cidr_list,
    "CIDR ranges allowed to connect besides loopback; required for a non-loopback listen" },
  { "server.tls_cert", TYPE_STRING, "", OFF (tls_cert), 0, 0, NULL, 0, NULL,
    "PEM certificate file; serves HTTPS when set" },
  { "server.tls_key", TYPE_STRING, "", OFF (tls_key), 0, 0, NULL, 0, NULL,
    "PEM private key file for server.tls_cert" },
  { "store.data_dir", TYPE_STRING, "./var", OFF (data_dir), 0, 0, NULL, 0, validate_nonempty,
    "directory for the database, lock and secrets" },
  { "store.busy_timeout", TYPE_DURATION, "5s", OFF (busy_timeout_ms), 0, 600 * 1000, NULL, 0, NULL,
    "how long a store call waits for a lock held elsewhere" },
  { "auth.session_idle", TYPE_DURATION, "7d", OFF (session_idle_ms), 60 * 1000,
    (uint64_t)365 * 86400 * 1000, NULL, 0, NULL, "a login session unused this long ends" },
  { "auth.session_max_age", TYPE_DURATION, "30d", OFF (session_max_age_ms), 60 * 1000,
    (uint64_t)365 * 86400 * 1000, NULL, 0, NULL, "a login session ends this long after login" },
  { "auth.login_max_failures", TYPE_INT, "5", OFF (login_max_failures), 1, 1000, NULL, 0, NULL,
    "failed logins per address or user name before a lockout" },
  { "auth.login_window", TYPE_DURATION, "15m", OFF (login_window_ms), 1000, (uint64_t)86400 * 1000,
    NULL, 0, NULL, "the window failed logins are counted in" },
  { "auth.lockout", TYPE_DURATION, "15m", OFF (lockout_ms), 1000, (uint64_t)86400 * 1000, NULL, 0,
    NULL, "how long a lockout lasts" },
  { "log.level", TYPE_STRING, "info", OFF (log_level), 0, 0, log_levels, 0, NULL,
    "least severe message logged" },
  { "llm.provider", TYPE_STRING, "none", OFF (llm_provider), 0, 0, llm_providers, 0, NULL,
    "LLM backend; none uses the built-in intent engine only" },
  { "llm.base_url", TYPE_STRING, "", OFF (llm_base_url), 0, 0, NULL, 0, validate_url,
    "base URL of the LLM server, e.g. http://127.0.0.1:8080/v1" },
  { "llm.model", TYPE_STRING, "", OFF (llm_model), 0, 0, NULL, 0, NULL, "model name to request" },
  { "llm.api_key", TYPE_STRING, "", OFF (llm_api_key), 0, 0, NULL, FLAG_SECRET, NULL,
    "API key sent to the LLM server (secret)" },
  { "llm.connect_timeout", TYPE_DURATION, "5s", OFF (llm_connect_timeout_ms), 100, 600 * 1000, NULL,
    0, NULL, "how long connecting to the LLM server may take" },
  { "llm.first_token_timeout", TYPE_DURATION, "30s", OFF (llm_first_token_timeout_ms), 100,
    3600 * 1000, NULL, 0, NULL, "how long the LLM may think before its first token" },
  { "llm.total_timeout", TYPE_DURATION, "120s", OFF (llm_total_timeout_ms), 100, 3600 * 1000, NULL,
    0, NULL, "longest one LLM answer may stream" },
  { "llm.max_tool_steps", TYPE_INT, "4", OFF (llm_max_tool_steps), 0, 32, NULL, 0, NULL,
    "rounds of tool calls the LLM may make in one turn" },
  { "llm.max_concurrent", TYPE_INT, "16", OFF (llm_max_concurrent), 1, 1024, NULL, 0, NULL,
    "requests to the LLM server at once; more wait in a queue" },
  { "llm.http_client", TYPE_STRING, "auto", OFF (llm_http_client), 0, 0, llm_http_clients, 0, NULL,
    "HTTP client for chat requests: auto (lares's own for an http:// server on this machine, "
    "else libsoup) or libsoup" },
  { "llm.tools", TYPE_STRING, "native", OFF (llm_tools), 0, 0, llm_tool_modes, 0, NULL,
    "native tool calls, text (JSON in the reply, for models without them) or none" },
  { "llm.prices", TYPE_STRING, "", OFF (llm_prices), 0, 0, NULL, 0, validate_prices,
    "USD per million prompt/completion tokens, e.g. gpt-4o-mini=0.15/0.60,local=0/0" },
  { "chat.history_turns", TYPE_INT, "10", OFF (chat_history_turns), 0, 1000, NULL, 0, NULL,
    "recent turns of a conversation sent to the LLM" },
  { "chat.history_tokens", TYPE_INT, "3000", OFF (chat_history_tokens), 0, 1000000, NULL, 0, NULL,
    "token budget for those turns; older ones are left out" },
  { "chat.max_text", TYPE_INT, "10000", OFF (chat_max_text), 1, 1000000, NULL, 0, NULL,
    "longest user message, in characters" },
  { "persona.name", TYPE_STRING, "Lares", OFF (persona_name), 0, 0, NULL, 0, validate_nonempty,
    "the assistant's name" },
  { "persona.prompt", TYPE_STRING,
    "You are {name}, a helpful personal assistant running on the user's own machine. "
    "Be brief and accurate. Use the tools to act and to look things up.",
    OFF (persona_prompt), 0, 0, NULL, 0, NULL, "system prompt; {name} becomes persona.name" },
  { "persona.modes", TYPE_STRING,
    "concise: Answer in one or two short sentences.; "
    "detailed: Answer thoroughly, with steps where useful.; "
    "playful: Be warm and playful, and show your feelings with emotion tags.",
    OFF (persona_modes), 0, 0, NULL, 0, NULL,
    "modes a user can switch to with '/mode NAME': name: instruction; ..." },
  { "persona.emotions", TYPE_STRING, "happy,sad,angry,surprised,thinking,embarrassed,neutral",
    OFF (persona_emotions), 0, 0, NULL, 0, NULL,
    "emotion tags like [happy] the model may use; they become emotion events" },
  { "budget.daily", TYPE_STRING, "0", OFF (budget_daily), 0, 0, NULL, 0, validate_money,
    "LLM spend allowed per user per day in USD; 0 is unlimited" },
  { "budget.monthly", TYPE_STRING, "0", OFF (budget_monthly), 0, 0, NULL, 0, validate_money,
    "LLM spend allowed per user per month in USD; 0 is unlimited" },
  { "policy.approval_ttl", TYPE_DURATION, "10m", OFF (policy_approval_ttl_ms), 1000,
    (uint64_t)7 * 86400 * 1000, NULL, 0, NULL,
    "how long a high-risk action waits for the owner's approval before it expires" },
};

#define N_ROWS G_N_ELEMENTS (config_table)

static const char *const source_names[] = { "default", "lares.conf", "environment", "flag" };

static const ConfigRow *
find_row (const char *key, size_t *index)
{
  for (size_t i = 0; i < N_ROWS; i++)
    if (g_strcmp0 (config_table[i].key, key) == 0)
      {
        if (index)
          *index = i;
        return &config_table[i];
      }
  return NULL;
}

static gboolean
throw_invalid (GError **error, const ConfigRow *row, LaresConfigSource source, const char *value,
               const char *why)
{
  /* Never echo a secret's value back, even when it is wrong. */
  if (row->flags & FLAG_SECRET)
    g_set_error (error, LARES_CONFIG_ERROR, LARES_CONFIG_ERROR_INVALID_VALUE,
                 "invalid value for '%s' (from %s): %s", row->key, source_names[source], why);
  else
    g_set_error (error, LARES_CONFIG_ERROR, LARES_CONFIG_ERROR_INVALID_VALUE,
                 "invalid value '%s' for '%s' (from %s): %s", value, row->key, source_names[source],
                 why);
  return FALSE;
}

static gboolean
apply_row (LaresConfig *cfg, const ConfigRow *row, const char *value, LaresConfigSource source,
           GError **error)
{
  char *field = (char *)cfg + row->offset;
  g_autofree char *why = NULL;
  uint64_t u = 0;
  int64_t i = 0;
  gboolean b = FALSE;

  if (!g_utf8_validate (value, -1, NULL))
    return throw_invalid (error, row, source, "", "not valid UTF-8");
  /* No value needs a control character, and refusing them keeps every
   * printed value on its own line (--print-config cannot be spoofed). */
  for (const char *p = value; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      return throw_invalid (error, row, source, "", "contains a control character");

  switch (row->type)
    {
    case TYPE_STRING:
      if (row->choices != NULL && !g_strv_contains (row->choices, value))
        {
          g_autofree char *list = g_strjoinv (", ", (char **)row->choices);
          why = g_strdup_printf ("expected one of: %s", list);
          return throw_invalid (error, row, source, value, why);
        }
      if (row->validate != NULL && !row->validate (value, &why))
        return throw_invalid (error, row, source, value, why);
      g_free (*(char **)field);
      *(char **)field = g_strdup (value);
      break;
    case TYPE_INT:
      if (!lares_parse_int64 (value, &i))
        return throw_invalid (error, row, source, value, "not an integer");
      if (i < (int64_t)row->min || i > (int64_t)row->max)
        {
          why = g_strdup_printf ("must be between %" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT,
                                 row->min, row->max);
          return throw_invalid (error, row, source, value, why);
        }
      *(int64_t *)field = i;
      break;
    case TYPE_BOOL:
      if (!lares_parse_bool (value, &b))
        return throw_invalid (error, row, source, value, "expected true or false");
      *(gboolean *)field = b;
      break;
    case TYPE_SIZE:
    case TYPE_DURATION:
      if (row->type == TYPE_SIZE ? !lares_parse_size (value, &u)
                                 : !lares_parse_duration_ms (value, &u))
        return throw_invalid (error, row, source, value,
                              row->type == TYPE_SIZE ? "expected a size such as 64KiB or 1MiB"
                                                     : "expected a duration such as 500ms or 10s");
      if (u < row->min || u > row->max)
        {
          why =
              g_strdup_printf ("must be between %" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT "%s",
                               row->min, row->max, row->type == TYPE_SIZE ? " bytes" : " ms");
          return throw_invalid (error, row, source, value, why);
        }
      *(uint64_t *)field = u;
      break;
    }
  return TRUE;
}

LaresConfig *
lares_config_new (void)
{
  LaresConfig *cfg = g_new0 (LaresConfig, 1);

  cfg->sources = g_new0 (LaresConfigSource, N_ROWS);
  for (size_t i = 0; i < N_ROWS; i++)
    {
      gboolean ok =
          apply_row (cfg, &config_table[i], config_table[i].def, LARES_CONFIG_SOURCE_DEFAULT, NULL);
      g_assert (ok); /* defaults must pass their own validation */
    }
  return cfg;
}

void
lares_config_free (LaresConfig *cfg)
{
  if (cfg == NULL)
    return;
  for (size_t i = 0; i < N_ROWS; i++)
    if (config_table[i].type == TYPE_STRING)
      {
        char **field = (char **)((char *)cfg + config_table[i].offset);
        if (*field != NULL && (config_table[i].flags & FLAG_SECRET))
          memset (*field, 0, strlen (*field));
        g_free (*field);
      }
  g_free (cfg->sources);
  g_free (cfg->file_path);
  g_free (cfg);
}

gboolean
lares_config_set (LaresConfig *cfg, const char *key, const char *value, LaresConfigSource source,
                  GError **error)
{
  size_t index;
  const ConfigRow *row = find_row (key, &index);

  g_return_val_if_fail (cfg != NULL && key != NULL && value != NULL, FALSE);

  if (row == NULL)
    {
      /* The key is outside input: escape it so the message stays printable. */
      g_autofree char *shown = g_strescape (key, NULL);
      g_set_error (error, LARES_CONFIG_ERROR, LARES_CONFIG_ERROR_UNKNOWN_KEY,
                   "unknown configuration key '%s' (from %s)", shown, source_names[source]);
      return FALSE;
    }
  if (!apply_row (cfg, row, value, source, error))
    return FALSE;
  cfg->sources[index] = source;
  return TRUE;
}

/* Apply every key of @kf; @label names the source in errors and
 * @private_file says whether secrets may appear in it. */
static gboolean
apply_key_file (LaresConfig *cfg, GKeyFile *kf, const char *label, gboolean private_file,
                GError **error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);

  for (size_t g = 0; groups[g] != NULL; g++)
    {
      g_auto (GStrv) keys = g_key_file_get_keys (kf, groups[g], NULL, NULL);
      for (size_t k = 0; keys != NULL && keys[k] != NULL; k++)
        {
          g_autofree char *key = g_strdup_printf ("%s.%s", groups[g], keys[k]);
          g_autoptr (GError) local_error = NULL;
          g_autofree char *value = g_key_file_get_string (kf, groups[g], keys[k], &local_error);
          const ConfigRow *row = find_row (key, NULL);

          if (value == NULL)
            {
              g_set_error (error, LARES_CONFIG_ERROR, LARES_CONFIG_ERROR_FILE, "%s: key '%s': %s",
                           label, key, local_error->message);
              return FALSE;
            }
          if (row != NULL && (row->flags & FLAG_SECRET) && *value != '\0' && !private_file)
            {
              g_set_error (error, LARES_CONFIG_ERROR, LARES_CONFIG_ERROR_INSECURE,
                           "%s holds the secret '%s' but others can read it; run 'chmod 600 "
                           "%s' or set it in the environment instead",
                           label, key, label);
              return FALSE;
            }
          if (!lares_config_set (cfg, key, value, LARES_CONFIG_SOURCE_FILE, error))
            {
              g_prefix_error (error, "%s: ", label);
              return FALSE;
            }
        }
    }
  return TRUE;
}

gboolean
lares_config_load_data (LaresConfig *cfg, const char *data, size_t len, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;

  if (!g_key_file_load_from_data (kf, data, len, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, LARES_CONFIG_ERROR, LARES_CONFIG_ERROR_FILE, "cannot parse config: %s",
                   local_error->message);
      return FALSE;
    }
  return apply_key_file (cfg, kf, "config", TRUE, error);
}

gboolean
lares_config_load_file (LaresConfig *cfg, const char *path, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;
  struct stat st;

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, LARES_CONFIG_ERROR, LARES_CONFIG_ERROR_FILE,
                   "cannot read config file '%s': %s", path, local_error->message);
      return FALSE;
    }
  if (!apply_key_file (cfg, kf, path, stat (path, &st) == 0 && (st.st_mode & 077) == 0, error))
    return FALSE;
  g_free (cfg->file_path);
  cfg->file_path = g_strdup (path);
  return TRUE;
}

/* "server.max_body" -> "LARES_SERVER_MAX_BODY" */
static char *
env_name_for (const char *key)
{
  g_autofree char *up = g_ascii_strup (key, -1);

  g_strdelimit (up, ".", '_');
  return g_strconcat ("LARES_", up, NULL);
}

gboolean
lares_config_load_env (LaresConfig *cfg, char **envp, GError **error)
{
  g_auto (GStrv) own_env = NULL;

  if (envp == NULL)
    envp = own_env = g_get_environ ();
  for (size_t i = 0; i < N_ROWS; i++)
    {
      g_autofree char *name = env_name_for (config_table[i].key);
      const char *value = g_environ_getenv (envp, name);

      if (value == NULL)
        continue;
      if (!lares_config_set (cfg, config_table[i].key, value, LARES_CONFIG_SOURCE_ENV, error))
        {
          g_prefix_error (error, "%s: ", name);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
lares_config_check (const LaresConfig *cfg, GError **error)
{
  g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (cfg->listen);
  gboolean has_allow = FALSE;

  for (const char *p = cfg->allow_from; *p; p++)
    if (!g_ascii_isspace (*p) && *p != ',')
      has_allow = TRUE;
  if (addr != NULL && !g_inet_address_get_is_loopback (addr) && !has_allow)
    {
      g_set_error (error, LARES_CONFIG_ERROR, LARES_CONFIG_ERROR_INSECURE,
                   "server.listen is '%s', which other machines can reach: set "
                   "server.allow_from to the ranges that may connect (e.g. 192.168.1.0/24)",
                   cfg->listen);
      return FALSE;
    }
  if ((*cfg->tls_cert == '\0') != (*cfg->tls_key == '\0'))
    {
      g_set_error (error, LARES_CONFIG_ERROR, LARES_CONFIG_ERROR_INVALID_VALUE,
                   "server.tls_cert and server.tls_key must be set together");
      return FALSE;
    }
  return TRUE;
}

LaresConfig *
lares_config_load (const char *path, char **overrides, GError **error)
{
  g_autoptr (LaresConfig) cfg = lares_config_new ();
  const char *env_path = g_getenv ("LARES_CONFIG");

  if (path == NULL && env_path != NULL && *env_path != '\0')
    path = env_path;
  if (path == NULL && g_file_test ("lares.conf", G_FILE_TEST_EXISTS))
    path = "lares.conf";
  if (path != NULL && !lares_config_load_file (cfg, path, error))
    return NULL;
  if (!lares_config_load_env (cfg, NULL, error))
    return NULL;
  for (size_t i = 0; overrides != NULL && overrides[i] != NULL; i++)
    {
      const char *eq = strchr (overrides[i], '=');
      g_autofree char *key = NULL;

      if (eq == NULL)
        {
          g_set_error (error, LARES_CONFIG_ERROR, LARES_CONFIG_ERROR_INVALID_VALUE,
                       "expected KEY=VALUE, got '%s'", overrides[i]);
          return NULL;
        }
      key = g_strndup (overrides[i], (size_t)(eq - overrides[i]));
      if (!lares_config_set (cfg, key, eq + 1, LARES_CONFIG_SOURCE_FLAG, error))
        return NULL;
    }
  if (!lares_config_check (cfg, error))
    return NULL;
  return g_steal_pointer (&cfg);
}

static char *
format_value (const LaresConfig *cfg, const ConfigRow *row)
{
  const char *field = (const char *)cfg + row->offset;
  uint64_t u;

  switch (row->type)
    {
    case TYPE_STRING:
      return g_strdup (*(char *const *)field);
    case TYPE_INT:
      return g_strdup_printf ("%" G_GINT64_FORMAT, *(const int64_t *)field);
    case TYPE_BOOL:
      return g_strdup (*(const gboolean *)field ? "true" : "false");
    case TYPE_SIZE:
      u = *(const uint64_t *)field;
      if (u != 0 && u % MIB == 0)
        return g_strdup_printf ("%" G_GUINT64_FORMAT "MiB", u / MIB);
      if (u != 0 && u % KIB == 0)
        return g_strdup_printf ("%" G_GUINT64_FORMAT "KiB", u / KIB);
      return g_strdup_printf ("%" G_GUINT64_FORMAT, u);
    case TYPE_DURATION:
      u = *(const uint64_t *)field;
      if (u != 0 && u % 1000 == 0)
        return g_strdup_printf ("%" G_GUINT64_FORMAT "s", u / 1000);
      return g_strdup_printf ("%" G_GUINT64_FORMAT "ms", u);
    }
  g_assert_not_reached ();
}

/* The example file: every key commented out with its default and doc. */
static char *
render_example (void)
{
  GString *out = g_string_new (NULL);
  const char *last_group = NULL;
  size_t last_group_len = 0;

  for (size_t i = 0; i < N_ROWS; i++)
    {
      const ConfigRow *row = &config_table[i];
      const char *dot = strchr (row->key, '.');
      size_t group_len = (size_t)(dot - row->key);
      g_autofree char *env = env_name_for (row->key);

      if (last_group == NULL || group_len != last_group_len ||
          strncmp (last_group, row->key, group_len) != 0)
        {
          g_string_append_printf (out, "%s[%.*s]\n", last_group ? "\n" : "", (int)group_len,
                                  row->key);
          last_group = row->key;
          last_group_len = group_len;
        }
      g_string_append_printf (out, "# %s (env %s)\n", row->doc, env);
      if (row->choices)
        {
          g_autofree char *list = g_strjoinv (", ", (char **)row->choices);
          g_string_append_printf (out, "# one of: %s\n", list);
        }
      g_string_append_printf (out, "#%s=%s\n", dot + 1, row->def);
    }
  return g_string_free (out, FALSE);
}

char *
lares_config_dump (const LaresConfig *cfg)
{
  /* Written through GKeyFile so values are escaped its way and the output
   * loads back as a lares.conf with the same values (secrets aside).  The
   * source of each value is a comment line above it. */
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree char *body = NULL;

  for (size_t i = 0; i < N_ROWS; i++)
    {
      const ConfigRow *row = &config_table[i];
      const char *dot = strchr (row->key, '.');
      g_autofree char *group = g_strndup (row->key, (size_t)(dot - row->key));
      g_autofree char *value = format_value (cfg, row);
      g_autofree char *comment =
          g_strdup_printf (" %s: %s", dot + 1, source_names[cfg->sources[i]]);

      if ((row->flags & FLAG_SECRET) && *value != '\0')
        g_key_file_set_string (kf, group, dot + 1, "<redacted>");
      else
        g_key_file_set_string (kf, group, dot + 1, value);
      g_key_file_set_comment (kf, group, dot + 1, comment, NULL);
    }
  body = g_key_file_to_data (kf, NULL, NULL);
  return g_strdup_printf ("# effective configuration (file: %s)\n%s",
                          cfg->file_path ? cfg->file_path : "none", body);
}

char *
lares_config_example (void)
{
  g_autofree char *body = render_example ();

  return g_strdup_printf ("# lares.conf — every key with its default (commented out).\n"
                          "# Precedence: defaults < this file < LARES_* environment < flags.\n\n"
                          "%s",
                          body);
}
