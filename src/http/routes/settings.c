/* routes/settings.c — what the dashboard's settings page and login screen
 * need beyond the other groups.
 *
 *   GET  /api/v1/auth/session   public: {"user": {…}} or {"user": null}, so a
 *                               page can ask "am I logged in?" without an
 *                               error status for the normal "no" answer
 *   GET  /api/v1/settings       the configuration a user may see (never a
 *                               secret), and their persona mode
 *   POST /api/v1/settings/mode  {"mode": "concise" | null} — what "/mode" does
 *                               in chat
 *   POST /api/v1/llm/test       admin: ask the configured LLM server for its
 *                               models (the probe `lares doctor` uses too)
 *
 * The mode is a per-user setting the chat reads before each turn; after
 * the write commits, the chat forgets its cached copy.
 */
#include "config.h"

#include "lares-chat-store.h"
#include "lares-persona.h"
#include "lares-users.h"

#include "lares-http-private.h"

/* ---- GET /api/v1/auth/session ------------------------------------------------ */

static void
auth_session (LaresRequest *req)
{
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  JsonObject *o;
  int who = lares_request_identify (req);

  if (who < 0)
    return; /* a store error, answered */
  o = json_object_new ();
  if (who > 0)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (LaresUser) user = lares_users_get (req->server->auth_db, req->user_id, &error);

      if (user == NULL)
        {
          json_object_unref (o);
          lares_request_respond_gerror (req, error);
          return;
        }
      json_object_set_member (o, "user", lares_user_to_json (user));
    }
  else
    json_object_set_null_member (o, "user");
  json_node_take_object (root, o);
  lares_request_respond_json (req, 200, root);
}

/* ---- GET /api/v1/settings ----------------------------------------------------- */

typedef struct
{
  LaresRequest *req;
  int64_t user_id;
  char *mode; /* read or to write; NULL: the default mode */
} SettingsOp;

static void
settings_op_free (SettingsOp *op)
{
  g_free (op->mode);
  g_free (op);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SettingsOp, settings_op_free)

static gboolean
mode_read (sqlite3 *db, gpointer data, GError **error)
{
  SettingsOp *op = data;
  g_autoptr (GError) local = NULL;

  op->mode = lares_user_setting_get (db, op->user_id, "mode", &local);
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  return TRUE;
}

static void
add_list (JsonObject *o, const char *name, const char *text, const char *sep)
{
  g_auto (GStrv) items = g_strsplit (text ? text : "", sep, -1);
  JsonArray *a = json_array_new ();

  for (char **i = items; *i; i++)
    {
      char *item = g_strstrip (*i);
      if (*item != '\0')
        json_array_add_string_element (a, item);
    }
  json_object_set_array_member (o, name, a);
}

static void
set_string_or_null (JsonObject *o, const char *name, const char *value)
{
  if (value != NULL && *value != '\0')
    json_object_set_string_member (o, name, value);
  else
    json_object_set_null_member (o, name);
}

static double
parse_usd (const char *text)
{
  return text ? g_ascii_strtod (text, NULL) : 0.0;
}

static void
settings_read (GObject *source G_GNUC_UNUSED, GAsyncResult *result, gpointer data)
{
  g_autoptr (SettingsOp) op = data;
  LaresRequest *req = op->req;
  const LaresConfig *cfg = req->server->cfg;
  gboolean admin = g_strcmp0 (req->cred.role, "admin") == 0;
  g_autoptr (GError) error = NULL;
  g_autoptr (LaresPersona) persona = NULL;
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  JsonObject *o, *p, *llm, *budget, *chat;
  double daily, monthly;

  if (!lares_store_read_finish (req->server->store, result, &error))
    {
      lares_request_respond_gerror (req, error);
      return;
    }
  persona = lares_persona_new (cfg, &error);
  if (persona == NULL)
    {
      lares_request_respond_gerror (req, error);
      return;
    }
  o = json_object_new ();
  json_object_set_string_member (o, "version", LARES_VERSION);

  p = json_object_new ();
  json_object_set_string_member (p, "name", lares_persona_get_name (persona));
  add_list (p, "modes", lares_persona_list_modes (persona), ",");
  add_list (p, "emotions", cfg->persona_emotions, ",");
  set_string_or_null (p, "mode", op->mode);
  json_object_set_object_member (o, "persona", p);

  llm = json_object_new ();
  json_object_set_boolean_member (llm, "configured", lares_chat_has_llm (req->server->chat));
  json_object_set_string_member (llm, "provider", cfg->llm_provider);
  set_string_or_null (llm, "model", cfg->llm_model);
  /* Where the LLM lives is the admins' business; never with credentials. */
  if (admin && *cfg->llm_base_url != '\0')
    {
      g_autoptr (GUri) uri = g_uri_parse (cfg->llm_base_url, G_URI_FLAGS_NONE, NULL);
      g_autofree char *shown =
          uri ? g_uri_to_string_partial (uri, G_URI_HIDE_USERINFO | G_URI_HIDE_QUERY) : NULL;
      set_string_or_null (llm, "base_url", shown);
    }
  else
    json_object_set_null_member (llm, "base_url");
  json_object_set_string_member (llm, "tools", cfg->llm_tools);
  json_object_set_boolean_member (llm, "api_key_set", *cfg->llm_api_key != '\0');
  json_object_set_object_member (o, "llm", llm);

  budget = json_object_new ();
  daily = parse_usd (cfg->budget_daily);
  monthly = parse_usd (cfg->budget_monthly);
  if (daily > 0)
    json_object_set_double_member (budget, "daily_usd", daily);
  else
    json_object_set_null_member (budget, "daily_usd");
  if (monthly > 0)
    json_object_set_double_member (budget, "monthly_usd", monthly);
  else
    json_object_set_null_member (budget, "monthly_usd");
  json_object_set_object_member (o, "budget", budget);

  chat = json_object_new ();
  json_object_set_int_member (chat, "history_turns", cfg->chat_history_turns);
  json_object_set_int_member (chat, "history_tokens", cfg->chat_history_tokens);
  json_object_set_object_member (o, "chat", chat);

  json_node_take_object (root, o);
  lares_request_respond_json (req, 200, root);
}

static void
settings_get (LaresRequest *req)
{
  SettingsOp *op = g_new0 (SettingsOp, 1);

  op->req = req;
  op->user_id = req->user_id;
  lares_store_read_async (req->server->store, mode_read, op, NULL, settings_read, op);
}

/* ---- POST /api/v1/settings/mode ------------------------------------------------ */

static gboolean
mode_write (sqlite3 *db, gpointer data, GError **error)
{
  SettingsOp *op = data;

  return lares_user_setting_set (db, op->user_id, "mode", op->mode, error);
}

static void
mode_written (GObject *source G_GNUC_UNUSED, GAsyncResult *result, gpointer data)
{
  g_autoptr (SettingsOp) op = data;
  LaresRequest *req = op->req;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  JsonObject *o;

  /* Again after the commit: a turn that read in between saw the old one. */
  lares_chat_forget_user (req->server->chat, op->user_id);
  if (!lares_store_write_finish (req->server->store, result, &error))
    {
      lares_request_respond_gerror (req, error);
      return;
    }
  o = json_object_new ();
  set_string_or_null (o, "mode", op->mode);
  json_node_take_object (root, o);
  lares_request_respond_json (req, 200, root);
}

static void
settings_mode (LaresRequest *req)
{
  JsonObject *obj = json_node_get_object (req->body);
  g_autoptr (GList) members = json_object_get_members (obj);
  JsonNode *mode = json_object_get_member (obj, "mode");
  g_autoptr (GError) error = NULL;
  g_autoptr (LaresPersona) persona = NULL;
  g_autofree char *name = NULL;
  SettingsOp *op;

  for (GList *l = members; l; l = l->next)
    if (!g_str_equal (l->data, "mode"))
      {
        lares_request_respond_error (req, 400, "invalid_argument", "unknown field '%s'",
                                     (const char *)l->data);
        return;
      }
  if (mode == NULL ||
      (!JSON_NODE_HOLDS_NULL (mode) &&
       (!JSON_NODE_HOLDS_VALUE (mode) || json_node_get_value_type (mode) != G_TYPE_STRING)))
    {
      lares_request_respond_error (req, 400, "invalid_argument",
                                   "'mode' is required: a mode's name, or null for the default");
      return;
    }
  persona = lares_persona_new (req->server->cfg, &error);
  if (persona == NULL)
    {
      lares_request_respond_gerror (req, error);
      return;
    }
  if (!JSON_NODE_HOLDS_NULL (mode))
    {
      name = g_strstrip (g_utf8_strdown (json_node_get_string (mode), -1));
      if (g_str_equal (name, "") || g_str_equal (name, "default") || g_str_equal (name, "off"))
        g_clear_pointer (&name, g_free);
      else if (lares_persona_get_mode (persona, name) == NULL)
        {
          lares_request_respond_error (req, 400, "invalid_argument",
                                       "there is no mode '%s' (modes: %s)", name,
                                       lares_persona_list_modes (persona));
          return;
        }
    }
  op = g_new0 (SettingsOp, 1);
  op->req = req;
  op->user_id = req->user_id;
  op->mode = g_steal_pointer (&name);
  lares_chat_forget_user (req->server->chat, op->user_id);
  lares_store_write_async (req->server->store, mode_write, op, NULL, mode_written, op);
}

/* ---- POST /api/v1/llm/test ----------------------------------------------------- */

typedef struct
{
  LaresRequest *req;
  int64_t started_us;
} ProbeOp;

static void
llm_probed (GObject *source G_GNUC_UNUSED, GAsyncResult *result, gpointer data)
{
  g_autofree ProbeOp *op = data;
  LaresRequest *req = op->req;
  LaresLlm *llm = lares_chat_get_llm (req->server->chat);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  JsonObject *o = json_object_new ();
  gboolean ok = lares_llm_probe_finish (llm, result, &error);

  json_object_set_boolean_member (o, "ok", ok);
  json_object_set_string_member (o, "model", lares_llm_get_model (llm));
  json_object_set_int_member (o, "ms", (g_get_monotonic_time () - op->started_us) / 1000);
  if (ok)
    json_object_set_null_member (o, "error");
  else
    json_object_set_string_member (o, "error", error->message);
  json_node_take_object (root, o);
  lares_request_respond_json (req, 200, root);
}

static void
llm_test (LaresRequest *req)
{
  LaresLlm *llm = lares_chat_get_llm (req->server->chat);
  ProbeOp *op;

  if (llm == NULL)
    {
      lares_request_respond_error (req, 409, "not_configured",
                                   "no LLM is configured (llm.provider is 'none')");
      return;
    }
  op = g_new0 (ProbeOp, 1);
  op->req = req;
  op->started_us = g_get_monotonic_time ();
  lares_llm_probe_async (llm, NULL, llm_probed, op);
}

const LaresRoute lares_settings_routes[] = {
  { "GET", "/api/v1/auth/session", auth_session, LARES_ROUTE_PUBLIC, "auth.session" },
  { "GET", "/api/v1/settings", settings_get, 0, "settings" },
  { "POST", "/api/v1/settings/mode", settings_mode, LARES_ROUTE_JSON_BODY, "settings.mode" },
  { "POST", "/api/v1/llm/test", llm_test, LARES_ROUTE_ADMIN, "llm.test" },
  { NULL },
};
