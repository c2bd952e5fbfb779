/* routes/auth.c — login and sessions, users (admin), API tokens, audit.
 *
 * Password work (hashing, verifying) runs on GLib's worker pool through
 * lares-auth; the store work on the store's threads; every handler here only
 * validates, dispatches and answers.  Secrets (passwords, session ids,
 * tokens) appear in exactly two places: the request that carries them and
 * the one response that hands a new one out.  They are never logged or
 * audited.
 */
#include "config.h"

#include "lares-http-parse.h"
#include "lares-http-private.h"
#include "lares-users.h"
#include "lares-util.h"

/* ---- helpers ---------------------------------------------------------- */

/* Read string members (see lares_json_get_strings); respond and return
 * FALSE when the body does not fit.  Varargs: one const char ** per
 * allowed field, in order. */
static gboolean
read_fields (LaresRequest *req, const char *const *allowed, const char *const *required, ...)
{
  const char *values[8] = { NULL };
  g_autofree char *why = NULL;
  va_list ap;

  g_assert (g_strv_length ((char **)allowed) <= G_N_ELEMENTS (values));
  if (!lares_json_get_strings (json_node_get_object (req->body), allowed, required, values, &why))
    {
      lares_request_respond_error (req, 400, "invalid_argument", "%s", why);
      return FALSE;
    }
  va_start (ap, required);
  for (size_t i = 0; allowed[i]; i++)
    *va_arg (ap, const char **) = values[i];
  va_end (ap);
  return TRUE;
}

static gboolean
valid_user_name (const char *name)
{
  size_t len = strlen (name);

  if (len == 0 || len > LARES_USER_NAME_MAX)
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '_' && *p != '-')
      return FALSE;
  return TRUE;
}

static char *
detail_json (const char *key, const char *value)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  if (key)
    {
      json_builder_set_member_name (b, key);
      json_builder_add_string_value (b, value);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

static void
set_session_cookie (LaresRequest *req, const char *value, int64_t max_age_s)
{
  g_autofree char *cookie =
      g_strdup_printf ("%s=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%" G_GINT64_FORMAT "%s",
                       LARES_SESSION_COOKIE, value, max_age_s, req->server->tls ? "; Secure" : "");

  soup_message_headers_append (soup_server_message_get_response_headers (req->msg), "Set-Cookie",
                               cookie);
}

/* ---- POST /api/v1/auth/login ------------------------------------------ */

typedef struct
{
  LaresRequest *req;
  char *name;
  char *user_key; /* rate-limit key for the name */
  LaresUser *user;
  char secret[LARES_SECRET_TEXT];
  uint8_t digest[LARES_DIGEST_LEN];
  int64_t expires_at;
  gboolean locked; /* this failure started a lockout */
} Login;

static void
login_free (Login *l)
{
  g_free (l->name);
  g_free (l->user_key);
  lares_user_free (l->user);
  memset (l->secret, 0, sizeof l->secret);
  g_free (l);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Login, login_free)

static void
respond_locked (LaresRequest *req, int64_t wait_ms)
{
  g_autofree char *secs = g_strdup_printf ("%" G_GINT64_FORMAT, (wait_ms + 999) / 1000);

  soup_message_headers_replace (soup_server_message_get_response_headers (req->msg), "Retry-After",
                                secs);
  lares_request_respond_error (req, 429, "locked_out",
                               "too many failed logins; try again in %s seconds", secs);
}

static gboolean
login_fail_write (sqlite3 *db, gpointer data, GError **error)
{
  Login *l = data;
  g_autofree char *detail = detail_json ("user", l->name);
  int64_t now = lares_now_ms (), user_id = l->user ? l->user->id : 0;

  return lares_audit_append (db, now, user_id, "login_failed", l->req->ip, detail, error) &&
         (!l->locked ||
          lares_audit_append (db, now, user_id, "lockout", l->req->ip, detail, error));
}

static void
login_fail_written (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (Login) l = data;
  g_autoptr (GError) error = NULL;

  if (!lares_store_write_finish (NULL, result, &error))
    g_warning ("audit: cannot record a failed login: %s", error->message);
  lares_request_respond_error (l->req, 401, "unauthorized", "wrong user name or password");
}

static gboolean
login_write (sqlite3 *db, gpointer data, GError **error)
{
  Login *l = data;
  int64_t now = lares_now_ms ();

  return lares_sessions_insert (db, l->user->id, l->digest, now, l->expires_at, NULL, error) &&
         lares_audit_append (db, now, l->user->id, "login", l->req->ip, NULL, error);
}

static void
login_written (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (Login) l = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) user = NULL;

  if (!lares_store_write_finish (NULL, result, &error))
    {
      lares_request_respond_gerror (l->req, error);
      return;
    }
  set_session_cookie (l->req, l->secret, (int64_t)(l->req->server->cfg->session_max_age_ms / 1000));
  user = lares_user_to_json (l->user);
  lares_request_respond_json (l->req, 200, user);
}

static void
login_verified (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (Login) l = data;
  LaresRequest *req = l->req;
  LaresServer *server = req->server;
  int64_t now = lares_now_ms ();

  if (!lares_password_verify_finish (result))
    {
      gboolean locked_ip = lares_rate_limit_fail (server->login_limit, req->ip, now);
      gboolean locked_user = lares_rate_limit_fail (server->login_limit, l->user_key, now);
      Login *owned = g_steal_pointer (&l);

      /* The answer waits for the audit record, so the log is complete
       * whenever a client has seen the failure. */
      owned->locked = locked_ip || locked_user;
      lares_store_write_async (server->store, login_fail_write, owned, NULL, login_fail_written,
                               owned);
      return;
    }
  lares_rate_limit_reset (server->login_limit, req->ip);
  lares_rate_limit_reset (server->login_limit, l->user_key);
  /* A new session id at every login (no fixation). */
  lares_secret_new (FALSE, l->secret, l->digest);
  l->expires_at = now + (int64_t)server->cfg->session_max_age_ms;
  {
    Login *owned = g_steal_pointer (&l); /* now owned by the write's callback */
    lares_store_write_async (server->store, login_write, owned, NULL, login_written, owned);
  }
}

static void
auth_login (LaresRequest *req)
{
  static const char *const fields[] = { "username", "password", NULL };
  const char *name, *password;
  g_autoptr (GError) error = NULL;
  Login *l;
  int64_t now = lares_now_ms (), wait;

  if (!read_fields (req, fields, fields, &name, &password))
    return;
  l = g_new0 (Login, 1);
  l->req = req;
  l->name = g_utf8_strdown (name, -1);
  l->user_key = g_strconcat ("user:", l->name, NULL);
  wait = MAX (lares_rate_limit_check (req->server->login_limit, req->ip, now),
              lares_rate_limit_check (req->server->login_limit, l->user_key, now));
  if (wait > 0)
    {
      login_free (l);
      respond_locked (req, wait);
      return;
    }
  if (strlen (name) <= LARES_USER_NAME_MAX)
    l->user = lares_users_find (req->server->auth_db, name, &error);
  if (l->user == NULL && error != NULL &&
      !g_error_matches (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND))
    {
      login_free (l);
      lares_request_respond_gerror (req, error);
      return;
    }
  lares_password_verify_async (l->user ? l->user->password_hash : NULL, password, login_verified,
                               l);
}

/* ---- POST /api/v1/auth/logout, GET /api/v1/auth/me --------------------- */

typedef struct
{
  LaresRequest *req;
  int64_t id;
  int64_t user_id;
} IdOp;

static gboolean
logout_write (sqlite3 *db, gpointer data, GError **error)
{
  IdOp *op = data;

  return lares_sessions_delete (db, op->id, error) &&
         lares_audit_append (db, lares_now_ms (), op->user_id, "logout", op->req->ip, NULL, error);
}

static void
logout_written (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autofree IdOp *op = data;
  g_autoptr (GError) error = NULL;

  if (!lares_store_write_finish (NULL, result, &error))
    {
      lares_request_respond_gerror (op->req, error);
      return;
    }
  set_session_cookie (op->req, "", 0);
  lares_request_respond_empty (op->req, 204);
}

static void
auth_logout (LaresRequest *req)
{
  IdOp *op;

  if (req->cred.kind != LARES_CREDENTIAL_SESSION)
    {
      lares_request_respond_error (req, 400, "invalid_argument",
                                   "logout ends a login session; revoke a token instead");
      return;
    }
  op = g_new0 (IdOp, 1);
  op->req = req;
  op->id = req->cred.id;
  op->user_id = req->user_id;
  lares_store_write_async (req->server->store, logout_write, op, NULL, logout_written, op);
}

static void
auth_me (LaresRequest *req)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LaresUser) user = lares_users_get (req->server->auth_db, req->user_id, &error);
  g_autoptr (JsonNode) node = NULL;

  if (user == NULL)
    {
      lares_request_respond_gerror (req, error);
      return;
    }
  node = lares_user_to_json (user);
  lares_request_respond_json (req, 200, node);
}

/* ---- POST /api/v1/auth/password ------------------------------------------ */

typedef struct
{
  LaresRequest *req;
  char *new_password;
  char *hash;
} Passwd;

static void
passwd_free (Passwd *p)
{
  if (p->new_password)
    memset (p->new_password, 0, strlen (p->new_password));
  g_free (p->new_password);
  g_free (p->hash);
  g_free (p);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Passwd, passwd_free)

static gboolean
passwd_write (sqlite3 *db, gpointer data, GError **error)
{
  Passwd *p = data;
  int64_t keep = p->req->cred.kind == LARES_CREDENTIAL_SESSION ? p->req->cred.id : 0;

  return lares_users_set_password (db, p->req->user_id, p->hash, lares_now_ms (), keep, error) &&
         lares_audit_append (db, lares_now_ms (), p->req->user_id, "password_changed", p->req->ip,
                             NULL, error);
}

static void
passwd_written (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (Passwd) p = data;
  g_autoptr (GError) error = NULL;

  if (!lares_store_write_finish (NULL, result, &error))
    lares_request_respond_gerror (p->req, error);
  else
    lares_request_respond_empty (p->req, 204);
}

static void
passwd_hashed (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (Passwd) p = data;
  g_autoptr (GError) error = NULL;

  p->hash = lares_password_hash_finish (result, &error);
  if (p->hash == NULL)
    {
      lares_request_respond_gerror (p->req, error);
      return;
    }
  {
    Passwd *owned = g_steal_pointer (&p); /* now owned by the write's callback */
    lares_store_write_async (owned->req->server->store, passwd_write, owned, NULL, passwd_written,
                             owned);
  }
}

static void
passwd_verified (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (Passwd) p = data;

  if (!lares_password_verify_finish (result))
    {
      lares_server_audit (p->req->server, p->req->user_id, "password_change_failed", p->req->ip,
                          NULL);
      lares_request_respond_error (p->req, 403, "forbidden", "the current password is wrong");
      return;
    }
  {
    Passwd *owned = g_steal_pointer (&p);
    lares_password_hash_async (owned->new_password, passwd_hashed, owned);
  }
}

static void
auth_password (LaresRequest *req)
{
  static const char *const fields[] = { "current_password", "new_password", NULL };
  const char *current, *new_password, *why;
  g_autoptr (GError) error = NULL;
  g_autoptr (LaresUser) user = NULL;
  Passwd *p;

  if (!read_fields (req, fields, fields, &current, &new_password))
    return;
  if ((why = lares_password_check_policy (new_password)) != NULL)
    {
      lares_request_respond_error (req, 400, "weak_password", "%s", why);
      return;
    }
  user = lares_users_get (req->server->auth_db, req->user_id, &error);
  if (user == NULL)
    {
      lares_request_respond_gerror (req, error);
      return;
    }
  p = g_new0 (Passwd, 1);
  p->req = req;
  p->new_password = g_strdup (new_password);
  lares_password_verify_async (user->password_hash, current, passwd_verified, p);
}

/* ---- /api/v1/users (admin) --------------------------------------------- */

static void
users_list (LaresRequest *req)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) users = lares_users_list (req->server->auth_db, &error);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  if (users == NULL)
    {
      lares_request_respond_gerror (req, error);
      return;
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "users");
  json_builder_begin_array (b);
  for (unsigned i = 0; i < users->len; i++)
    json_builder_add_value (b, lares_user_to_json (users->pdata[i]));
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  lares_request_respond_json (req, 200, root);
}

typedef struct
{
  LaresRequest *req;
  char *name;
  char *role;
  char *hash;
  int64_t id;
} NewUser;

static void
new_user_free (NewUser *u)
{
  g_free (u->name);
  g_free (u->role);
  g_free (u->hash);
  g_free (u);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NewUser, new_user_free)

static gboolean
user_create_write (sqlite3 *db, gpointer data, GError **error)
{
  NewUser *u = data;
  g_autofree char *detail = detail_json ("name", u->name);

  return lares_users_insert (db, u->name, u->role, u->hash, lares_now_ms (), &u->id, error) &&
         lares_audit_append (db, lares_now_ms (), u->req->user_id, "user_created", u->req->ip,
                             detail, error);
}

static void
user_created (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (NewUser) u = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (LaresUser) user = NULL;
  g_autoptr (JsonNode) node = NULL;

  if (!lares_store_write_finish (NULL, result, &error))
    {
      if (g_error_matches (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT))
        lares_request_respond_error (u->req, 409, "conflict", "a user named '%s' exists", u->name);
      else
        lares_request_respond_gerror (u->req, error);
      return;
    }
  user = g_new0 (LaresUser, 1);
  user->id = u->id;
  user->name = g_strdup (u->name);
  user->role = g_strdup (u->role);
  user->created_at = lares_now_ms ();
  node = lares_user_to_json (user);
  lares_request_respond_json (u->req, 201, node);
}

static void
user_hashed (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (NewUser) u = data;
  g_autoptr (GError) error = NULL;

  u->hash = lares_password_hash_finish (result, &error);
  if (u->hash == NULL)
    {
      lares_request_respond_gerror (u->req, error);
      return;
    }
  {
    NewUser *owned = g_steal_pointer (&u); /* now owned by the write's callback */
    lares_store_write_async (owned->req->server->store, user_create_write, owned, NULL,
                             user_created, owned);
  }
}

static void
users_create (LaresRequest *req)
{
  static const char *const fields[] = { "name", "password", "role", NULL };
  static const char *const required[] = { "name", "password", NULL };
  const char *name, *password, *role, *why;
  NewUser *u;

  if (!read_fields (req, fields, required, &name, &password, &role))
    return;
  if (!valid_user_name (name))
    {
      lares_request_respond_error (req, 400, "invalid_argument",
                                   "a user name is 1 to 64 letters, digits, '.', '_' or '-'");
      return;
    }
  if (role != NULL && !g_str_equal (role, "admin") && !g_str_equal (role, "user"))
    {
      lares_request_respond_error (req, 400, "invalid_argument", "'role' is 'admin' or 'user'");
      return;
    }
  if ((why = lares_password_check_policy (password)) != NULL)
    {
      lares_request_respond_error (req, 400, "weak_password", "%s", why);
      return;
    }
  u = g_new0 (NewUser, 1);
  u->req = req;
  u->name = g_strdup (name);
  u->role = g_strdup (role ? role : "user");
  lares_password_hash_async (password, user_hashed, u);
}

static gboolean
user_delete_write (sqlite3 *db, gpointer data, GError **error)
{
  IdOp *op = data;
  g_autofree char *detail = g_strdup_printf ("{\"deleted_user_id\":%" G_GINT64_FORMAT "}", op->id);

  return lares_users_delete (db, op->id, error) &&
         lares_audit_append (db, lares_now_ms (), op->user_id, "user_deleted", op->req->ip, detail,
                             error);
}

static void
id_op_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autofree IdOp *op = data;
  g_autoptr (GError) error = NULL;

  if (!lares_store_write_finish (NULL, result, &error))
    lares_request_respond_gerror (op->req, error);
  else
    lares_request_respond_empty (op->req, 204);
}

static void
users_delete (LaresRequest *req)
{
  IdOp *op = g_new0 (IdOp, 1);

  op->req = req;
  op->id = req->path_id;
  op->user_id = req->user_id;
  lares_store_write_async (req->server->store, user_delete_write, op, NULL, id_op_done, op);
}

/* ---- /api/v1/tokens -------------------------------------------------------- */

typedef struct
{
  LaresRequest *req;
  char *name;
  char secret[LARES_SECRET_TEXT];
  uint8_t digest[LARES_DIGEST_LEN];
  int64_t expires_at;
  int64_t id;
} NewToken;

static void
new_token_free (NewToken *t)
{
  memset (t->secret, 0, sizeof t->secret);
  g_free (t->name);
  g_free (t);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NewToken, new_token_free)

static gboolean
token_create_write (sqlite3 *db, gpointer data, GError **error)
{
  NewToken *t = data;
  g_autofree char *detail = detail_json ("name", t->name);

  return lares_tokens_insert (db, t->req->user_id, t->name, t->digest, lares_now_ms (),
                              t->expires_at, &t->id, error) &&
         lares_audit_append (db, lares_now_ms (), t->req->user_id, "token_created", t->req->ip,
                             detail, error);
}

static void
token_created (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (NewToken) t = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  if (!lares_store_write_finish (NULL, result, &error))
    {
      lares_request_respond_gerror (t->req, error);
      return;
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_int_value (b, t->id);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, t->name);
  json_builder_set_member_name (b, "token");
  json_builder_add_string_value (b, t->secret); /* shown this once */
  json_builder_set_member_name (b, "expires_at");
  if (t->expires_at > 0)
    json_builder_add_int_value (b, t->expires_at);
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  lares_request_respond_json (t->req, 201, root);
}

static void
tokens_create (LaresRequest *req)
{
  JsonObject *obj = json_node_get_object (req->body);
  g_autoptr (GList) members = json_object_get_members (obj);
  JsonNode *name = json_object_get_member (obj, "name");
  JsonNode *days = json_object_get_member (obj, "expires_in_days");
  NewToken *t;

  for (GList *l = members; l; l = l->next)
    if (!g_str_equal (l->data, "name") && !g_str_equal (l->data, "expires_in_days"))
      {
        lares_request_respond_error (req, 400, "invalid_argument", "unknown field '%s'",
                                     (const char *)l->data);
        return;
      }
  if (name == NULL || !JSON_NODE_HOLDS_VALUE (name) ||
      json_node_get_value_type (name) != G_TYPE_STRING || *json_node_get_string (name) == '\0' ||
      g_utf8_strlen (json_node_get_string (name), -1) > 64)
    {
      lares_request_respond_error (req, 400, "invalid_argument",
                                   "'name' is required: 1 to 64 characters");
      return;
    }
  if (days != NULL &&
      (!JSON_NODE_HOLDS_VALUE (days) || json_node_get_value_type (days) != G_TYPE_INT64 ||
       json_node_get_int (days) < 1 || json_node_get_int (days) > 3650))
    {
      lares_request_respond_error (req, 400, "invalid_argument",
                                   "'expires_in_days' is a whole number from 1 to 3650");
      return;
    }
  t = g_new0 (NewToken, 1);
  t->req = req;
  t->name = g_strdup (json_node_get_string (name));
  if (days)
    t->expires_at = lares_now_ms () + json_node_get_int (days) * 86400 * 1000;
  lares_secret_new (TRUE, t->secret, t->digest);
  lares_store_write_async (req->server->store, token_create_write, t, NULL, token_created, t);
}

static void
tokens_list (LaresRequest *req)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) list = lares_tokens_list (req->server->auth_db, req->user_id, &error);
  g_autoptr (JsonObject) obj = NULL;
  g_autoptr (JsonNode) root = NULL;

  if (list == NULL)
    {
      lares_request_respond_gerror (req, error);
      return;
    }
  obj = json_object_new ();
  json_object_set_member (obj, "tokens", g_steal_pointer (&list));
  root = json_node_init_object (json_node_alloc (), obj);
  lares_request_respond_json (req, 200, root);
}

static gboolean
token_revoke_write (sqlite3 *db, gpointer data, GError **error)
{
  IdOp *op = data;
  g_autofree char *detail = g_strdup_printf ("{\"token_id\":%" G_GINT64_FORMAT "}", op->id);

  return lares_tokens_revoke (db, op->user_id, op->id, lares_now_ms (), error) &&
         lares_audit_append (db, lares_now_ms (), op->user_id, "token_revoked", op->req->ip, detail,
                             error);
}

static void
tokens_revoke (LaresRequest *req)
{
  IdOp *op = g_new0 (IdOp, 1);

  op->req = req;
  op->id = req->path_id;
  op->user_id = req->user_id;
  lares_store_write_async (req->server->store, token_revoke_write, op, NULL, id_op_done, op);
}

/* ---- GET /api/v1/audit (admin) ---------------------------------------------- */

static void
audit_list (LaresRequest *req)
{
  const char *limit_text = lares_request_query (req, "limit");
  const char *before_text = lares_request_query (req, "before");
  int64_t limit = 100, before = 0;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) events = NULL;
  g_autoptr (JsonObject) obj = NULL;
  g_autoptr (JsonNode) root = NULL;

  if ((limit_text && (!lares_parse_int64 (limit_text, &limit) || limit < 1 || limit > 1000)) ||
      (before_text && (!lares_parse_int64 (before_text, &before) || before < 1)))
    {
      lares_request_respond_error (req, 400, "invalid_argument",
                                   "'limit' is 1 to 1000 and 'before' a positive id");
      return;
    }
  events = lares_audit_list (req->server->auth_db, before, (unsigned)limit, &error);
  if (events == NULL)
    {
      lares_request_respond_gerror (req, error);
      return;
    }
  obj = json_object_new ();
  json_object_set_member (obj, "events", g_steal_pointer (&events));
  root = json_node_init_object (json_node_alloc (), obj);
  lares_request_respond_json (req, 200, root);
}

const LaresRoute lares_auth_routes[] = {
  /* Open to anyone, so its body is kept small. */
  { "POST", "/api/v1/auth/login", auth_login, LARES_ROUTE_PUBLIC | LARES_ROUTE_JSON_BODY,
    "auth.login", 4096 },
  { "POST", "/api/v1/auth/logout", auth_logout, 0, "auth.logout" },
  { "GET", "/api/v1/auth/me", auth_me, 0, "auth.me" },
  { "POST", "/api/v1/auth/password", auth_password, LARES_ROUTE_JSON_BODY, "auth.password" },
  { "GET", "/api/v1/users", users_list, LARES_ROUTE_ADMIN, "users.list" },
  { "POST", "/api/v1/users", users_create, LARES_ROUTE_ADMIN | LARES_ROUTE_JSON_BODY,
    "users.create" },
  { "DELETE", "/api/v1/users/{id}", users_delete, LARES_ROUTE_ADMIN, "users.delete" },
  { "GET", "/api/v1/tokens", tokens_list, 0, "tokens.list" },
  { "POST", "/api/v1/tokens", tokens_create, LARES_ROUTE_JSON_BODY, "tokens.create" },
  { "DELETE", "/api/v1/tokens/{id}", tokens_revoke, 0, "tokens.revoke" },
  { "GET", "/api/v1/audit", audit_list, LARES_ROUTE_ADMIN, "audit.list" },
  { NULL },
};
