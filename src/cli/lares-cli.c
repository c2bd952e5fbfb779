/* lares-cli.c — option handling shared by the subcommands. */
#include "config.h"

#include "lares-cli.h"

#include <gio/gio.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lares-auth.h"
#include "lares-config.h"
#include "lares-store.h"

void
lares_cli_add_config_options (GOptionContext *ctx, LaresCliConfigOptions *opts)
{
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &opts->config_path,
      "Read settings from FILE (default: $LARES_CONFIG or ./lares.conf)", "FILE" },
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &opts->data_dir, "Data directory (store.data_dir)",
      "DIR" },
    { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opts->set,
      "Set any configuration key, e.g. --set server.port=9000", "KEY=VALUE" },
    G_OPTION_ENTRY_NULL
  };

  g_option_context_add_main_entries (ctx, entries, NULL);
}

void
lares_cli_config_options_clear (LaresCliConfigOptions *opts)
{
  g_clear_pointer (&opts->config_path, g_free);
  g_clear_pointer (&opts->data_dir, g_free);
  g_clear_pointer (&opts->set, g_strfreev);
}

int
lares_cli_parse (GOptionContext *ctx, int *argc, char ***argv)
{
  g_autoptr (GError) error = NULL;

  if (!g_option_context_parse (ctx, argc, argv, &error))
    {
      g_autofree char *help = g_option_context_get_help (ctx, TRUE, NULL);
      fprintf (stderr, "lares %s: %s\n\n%s", g_get_prgname (), error->message, help);
      return LARES_EXIT_USAGE;
    }
  return -1;
}

LaresConfig *
lares_cli_load_config (LaresCliConfigOptions *opts, char **extra_overrides)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_auto (GStrv) overrides = NULL;
  g_autoptr (GError) error = NULL;
  LaresConfig *cfg;

  /* Flags apply in this order: the dedicated ones, then --set. */
  if (extra_overrides)
    g_strv_builder_addv (b, (const char **)extra_overrides);
  if (opts->data_dir)
    {
      g_autofree char *kv = g_strconcat ("store.data_dir=", opts->data_dir, NULL);
      g_strv_builder_add (b, kv);
    }
  if (opts->set)
    g_strv_builder_addv (b, (const char **)opts->set);
  overrides = g_strv_builder_end (b);
  cfg = lares_config_load (opts->config_path, overrides, &error);
  if (cfg == NULL)
    fprintf (stderr, "lares: configuration error: %s\n", error->message);
  return cfg;
}

char *
lares_cli_token (GError **error)
{
  const char *env = g_getenv ("LARES_TOKEN");
  g_autofree char *path = g_build_filename (g_get_user_config_dir (), "lares", "token", NULL);
  g_autofree char *text = NULL;
  struct stat st;

  if (env != NULL && *env != '\0')
    return g_strstrip (g_strdup (env));
  if (stat (path, &st) != 0)
    return NULL;
  if (st.st_mode & 077)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "'%s' is readable by others; run 'chmod 600 %s'", path, path);
      return NULL;
    }
  if (!g_file_get_contents (path, &text, NULL, error))
    return NULL;
  text[strcspn (text, "\r\n")] = '\0';
  return g_steal_pointer (&text);
}

LaresStore *
lares_cli_open_store (LaresCliConfigOptions *opts)
{
  g_autoptr (LaresConfig) cfg = lares_cli_load_config (opts, NULL);
  g_autoptr (GError) error = NULL;
  LaresStore *store;

  if (cfg == NULL)
    return NULL;
  if (!lares_auth_init (&error) || (store = lares_store_open (cfg->data_dir, NULL, &error)) == NULL)
    {
      fprintf (stderr, "lares %s: %s\n", g_get_prgname (), error->message);
      return NULL;
    }
  return store;
}

char *
lares_cli_daemon_url (const LaresConfig *cfg)
{
  const char *listen = cfg->listen;

  /* A wildcard listen is reachable on loopback too. */
  if (g_str_equal (listen, "0.0.0.0"))
    listen = "127.0.0.1";
  else if (g_str_equal (listen, "::"))
    listen = "::1";
  if (strchr (listen, ':') != NULL)
    return g_strdup_printf ("%s://[%s]:%" G_GINT64_FORMAT, *cfg->tls_cert ? "https" : "http",
                            listen, cfg->port);
  return g_strdup_printf ("%s://%s:%" G_GINT64_FORMAT, *cfg->tls_cert ? "https" : "http", listen,
                          cfg->port);
}

gboolean
lares_cli_daemon_target (LaresCliConfigOptions *opts, char **base, char **token)
{
  g_autoptr (GError) error = NULL;
  const char *url = g_getenv ("LARES_URL");
  g_autofree char *tok = lares_cli_token (&error);

  *base = NULL;
  *token = NULL;
  if (tok == NULL)
    {
      fprintf (stderr, "lares: %s\n",
               error ? error->message
                     : "no API token: create one with `lares token create` and put it in "
                       "LARES_TOKEN or ~/.config/lares/token");
      return FALSE;
    }
  if (url != NULL && *url != '\0')
    *base = g_strdup (url);
  else
    {
      g_autoptr (LaresConfig) cfg = lares_cli_load_config (opts, NULL);
      if (cfg == NULL)
        return FALSE;
      *base = lares_cli_daemon_url (cfg);
    }
  *token = g_steal_pointer (&tok);
  return TRUE;
}

gboolean
lares_cli_client_init (LaresCliClient *c, LaresCliConfigOptions *opts)
{
  if (!lares_cli_daemon_target (opts, &c->base, &c->token))
    return FALSE;
  c->session = soup_session_new_with_options ("timeout", 60, "proxy-resolver", NULL, NULL);
  return TRUE;
}

void
lares_cli_client_clear (LaresCliClient *c)
{
  g_clear_object (&c->session);
  g_clear_pointer (&c->base, g_free);
  if (c->token)
    memset (c->token, 0, strlen (c->token));
  g_clear_pointer (&c->token, g_free);
}

GBytes *
lares_cli_client_send (LaresCliClient *c, const char *method, const char *path,
                       const char *content_type, GBytes *body, unsigned *status)
{
  g_autofree char *url = g_strconcat (c->base, path, NULL);
  g_autofree char *auth = g_strconcat ("Bearer ", c->token, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  g_autoptr (GError) error = NULL;
  GBytes *answer;

  *status = 0;
  if (msg == NULL)
    {
      fprintf (stderr, "lares: bad daemon URL '%s'\n", c->base);
      return NULL;
    }
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
  if (body)
    soup_message_set_request_body_from_bytes (msg, content_type, body);
  answer = soup_session_send_and_read (c->session, msg, NULL, &error);
  if (answer == NULL)
    {
      fprintf (stderr, "lares: cannot reach the daemon at %s: %s\n", c->base, error->message);
      return NULL;
    }
  *status = soup_message_get_status (msg);
  return answer;
}

JsonNode *
lares_cli_client_call (LaresCliClient *c, const char *method, const char *path, const char *body,
                       unsigned *status)
{
  g_autoptr (GBytes) bytes = body ? g_bytes_new (body, strlen (body)) : NULL;
  g_autoptr (GBytes) answer =
      lares_cli_client_send (c, method, path, "application/json", bytes, status);
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  size_t len = 0;
  const char *data;

  if (answer == NULL)
    return NULL;
  data = g_bytes_get_data (answer, &len);
  if (len == 0 || !json_parser_load_from_data (parser, data, (gssize)len, NULL))
    return NULL;
  return json_parser_steal_root (parser);
}

void
lares_cli_client_report (unsigned status, JsonNode *answer)
{
  JsonObject *e = answer && JSON_NODE_HOLDS_OBJECT (answer)
                      ? json_object_get_object_member (json_node_get_object (answer), "error")
                      : NULL;

  if (status == 0)
    return; /* already said */
  fprintf (stderr, "lares: the daemon answered %u: %s\n", status,
           e ? json_object_get_string_member_with_default (e, "message", "error") : "error");
  if (status == 401)
    fprintf (stderr, "lares: create a token with `lares token create` and put it in "
                     "LARES_TOKEN or ~/.config/lares/token\n");
}
