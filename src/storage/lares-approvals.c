/* lares-approvals.c — SQL for approvals.
 *
 * DESIGN: called on store threads only; no state of its own.  A status
 * change is one UPDATE ... WHERE status = <from> RETURNING, so the row it
 * returns is the row as committed by this transaction; when nothing
 * changed, a second read tells NOT_FOUND from CONSTRAINT.
 */
#include "config.h"

#include "lares-approvals.h"

#include "lares-store.h"

#include <string.h>

static const char *const status_names[] = { "pending", "approved", "executed",
                                            "failed",  "rejected", "expired" };
G_STATIC_ASSERT (G_N_ELEMENTS (status_names) == LARES_APPROVAL_N_STATUS);

#define APPROVAL_COLUMNS                                                                           \
  "id, user_id, conversation_id, tool, args, plan, summary, via, status, created_at, "             \
  "expires_at, decided_at, decided_via, result, error"

void
lares_approval_free (LaresApproval *a)
{
  if (a == NULL)
    return;
  g_free (a->tool);
  g_free (a->args);
  g_free (a->plan);
  g_free (a->summary);
  g_free (a->via);
  g_free (a->decided_via);
  g_free (a->result);
  g_free (a->error);
  g_free (a);
}

LaresApproval *
lares_approval_copy (const LaresApproval *a)
{
  LaresApproval *c = g_memdup2 (a, sizeof *a);

  c->tool = g_strdup (a->tool);
  c->args = g_strdup (a->args);
  c->plan = g_strdup (a->plan);
  c->summary = g_strdup (a->summary);
  c->via = g_strdup (a->via);
  c->decided_via = g_strdup (a->decided_via);
  c->result = g_strdup (a->result);
  c->error = g_strdup (a->error);
  return c;
}

const char *
lares_approval_status_name (LaresApprovalStatus status)
{
  g_return_val_if_fail ((unsigned)status < G_N_ELEMENTS (status_names), "pending");
  return status_names[status];
}

gboolean
lares_approval_status_parse (const char *name, LaresApprovalStatus *out)
{
  for (unsigned i = 0; name && i < G_N_ELEMENTS (status_names); i++)
    if (strcmp (status_names[i], name) == 0)
      {
        *out = (LaresApprovalStatus)i;
        return TRUE;
      }
  return FALSE;
}

static void
add_time (JsonBuilder *b, const char *name, int64_t ms)
{
  g_autoptr (GDateTime) t = ms > 0 ? g_date_time_new_from_unix_utc (ms / 1000) : NULL;
  g_autofree char *iso = t ? g_date_time_format (t, "%Y-%m-%dT%H:%M:%SZ") : NULL;

  json_builder_set_member_name (b, name);
  if (iso)
    json_builder_add_string_value (b, iso);
  else
    json_builder_add_null_value (b);
}

/* A stored JSON object text as a value; null when absent or broken. */
static void
add_json (JsonBuilder *b, const char *name, const char *text)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();

  json_builder_set_member_name (b, name);
  if (text != NULL && json_parser_load_from_data (parser, text, -1, NULL) &&
      json_parser_get_root (parser) != NULL)
    json_builder_add_value (b, json_node_copy (json_parser_get_root (parser)));
  else
    json_builder_add_null_value (b);
}

static void
add_string_or_null (JsonBuilder *b, const char *name, const char *text)
{
  json_builder_set_member_name (b, name);
  if (text)
    json_builder_add_string_value (b, text);
  else
    json_builder_add_null_value (b);
}

JsonNode *
lares_approval_to_json (const LaresApproval *a)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_int_value (b, a->id);
  json_builder_set_member_name (b, "tool");
  json_builder_add_string_value (b, a->tool);
  add_json (b, "args", a->args);
  json_builder_set_member_name (b, "risk");
  json_builder_add_string_value (b, "high");
  json_builder_set_member_name (b, "summary");
  json_builder_add_string_value (b, a->summary);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, lares_approval_status_name (a->status));
  json_builder_set_member_name (b, "conversation_id");
  if (a->conversation_id > 0)
    json_builder_add_int_value (b, a->conversation_id);
  else
    json_builder_add_null_value (b);
  add_time (b, "created_at", a->created_at);
  add_time (b, "expires_at", a->expires_at);
  add_time (b, "decided_at", a->decided_at);
  add_json (b, "result", a->result);
  add_string_or_null (b, "error", a->error);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static char *
column_strdup (sqlite3_stmt *stmt, int col)
{
  return g_strdup ((const char *)sqlite3_column_text (stmt, col));
}

static LaresApproval *
approval_from_row (sqlite3_stmt *st)
{
  LaresApproval *a = g_new0 (LaresApproval, 1);
  LaresApprovalStatus status = LARES_APPROVAL_PENDING;

  a->id = sqlite3_column_int64 (st, 0);
  a->user_id = sqlite3_column_int64 (st, 1);
  a->conversation_id = sqlite3_column_int64 (st, 2);
  a->tool = column_strdup (st, 3);
  a->args = column_strdup (st, 4);
  a->plan = column_strdup (st, 5);
  a->summary = column_strdup (st, 6);
  a->via = column_strdup (st, 7);
  /* The CHECK constraint allows only known names. */
  lares_approval_status_parse ((const char *)sqlite3_column_text (st, 8), &status);
  a->status = status;
  a->created_at = sqlite3_column_int64 (st, 9);
  a->expires_at = sqlite3_column_int64 (st, 10);
  a->decided_at = sqlite3_column_int64 (st, 11);
  a->decided_via = column_strdup (st, 12);
  a->result = column_strdup (st, 13);
  a->error = column_strdup (st, 14);
  return a;
}

static void
bind_text_or_null (sqlite3_stmt *st, int idx, const char *text)
{
  if (text != NULL)
    sqlite3_bind_text (st, idx, text, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (st, idx);
}

gboolean
lares_approvals_insert (sqlite3 *db, LaresApproval *a, GError **error)
{
  g_autoptr (sqlite3_stmt) st = lares_sql_prepare (
      db,
      "INSERT INTO approvals (user_id, conversation_id, tool, args, plan, summary, via, status, "
      "created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?9)",
      error);
  int rc;

  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, a->user_id);
  if (a->conversation_id > 0)
    sqlite3_bind_int64 (st, 2, a->conversation_id);
  else
    sqlite3_bind_null (st, 2);
  sqlite3_bind_text (st, 3, a->tool, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 4, a->args ? a->args : "{}", -1, SQLITE_STATIC);
  bind_text_or_null (st, 5, a->plan);
  sqlite3_bind_text (st, 6, a->summary, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 7, a->via, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 8, a->created_at);
  sqlite3_bind_int64 (st, 9, a->expires_at);
  rc = sqlite3_step (st);
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  a->id = sqlite3_last_insert_rowid (db);
  a->status = LARES_APPROVAL_PENDING;
  return TRUE;
}

LaresApproval *
lares_approvals_get (sqlite3 *db, int64_t user_id, int64_t id, GError **error)
{
  g_autoptr (sqlite3_stmt) st = lares_sql_prepare (
      db, "SELECT " APPROVAL_COLUMNS " FROM approvals WHERE user_id = ?1 AND id = ?2", error);
  int rc;

  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, user_id);
  sqlite3_bind_int64 (st, 2, id);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    return approval_from_row (st);
  if (rc != SQLITE_DONE)
    lares_sql_throw (db, rc, error);
  else
    g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND,
                 "no approval %" G_GINT64_FORMAT, id);
  return NULL;
}

static GPtrArray *
collect (sqlite3 *db, sqlite3_stmt *st, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_approval_free);
  int rc;

  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (out, approval_from_row (st));
  if (rc != SQLITE_DONE)
    {
      lares_sql_throw (db, rc, error);
      return NULL;
    }
  return g_steal_pointer (&out);
}

GPtrArray *
lares_approvals_list (sqlite3 *db, int64_t user_id, int status, unsigned limit, GError **error)
{
  g_autoptr (sqlite3_stmt) st = NULL;

  if (status >= 0)
    st = lares_sql_prepare (db,
                            "SELECT " APPROVAL_COLUMNS " FROM approvals WHERE user_id = ?1 AND "
                            "status = ?2 ORDER BY id DESC LIMIT ?3",
                            error);
  else
    st = lares_sql_prepare (db,
                            "SELECT " APPROVAL_COLUMNS
                            " FROM approvals WHERE user_id = ?1 ORDER BY id DESC LIMIT ?3",
                            error);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, user_id);
  if (status >= 0)
    sqlite3_bind_text (st, 2, lares_approval_status_name ((LaresApprovalStatus)status), -1,
                       SQLITE_STATIC);
  sqlite3_bind_int64 (st, 3, limit > 0 ? (int64_t)limit : -1);
  return collect (db, st, error);
}

LaresApproval *
lares_approvals_latest_pending (sqlite3 *db, int64_t user_id, int64_t conversation_id,
                                GError **error)
{
  g_autoptr (sqlite3_stmt) st =
      lares_sql_prepare (db,
                         "SELECT " APPROVAL_COLUMNS " FROM approvals WHERE conversation_id = ?2 "
                         "AND status = 'pending' AND user_id = ?1 ORDER BY id DESC LIMIT 1",
                         error);
  int rc;

  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, user_id);
  sqlite3_bind_int64 (st, 2, conversation_id);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    return approval_from_row (st);
  if (rc != SQLITE_DONE)
    lares_sql_throw (db, rc, error);
  return NULL;
}

gboolean
lares_approvals_transition (sqlite3 *db, int64_t user_id, int64_t id, LaresApprovalStatus from,
                            LaresApprovalStatus to, int64_t now_ms, const char *via,
                            const char *result, const char *error_text, LaresApproval **out,
                            GError **error)
{
  g_autoptr (sqlite3_stmt) st = lares_sql_prepare (
      db,
      "UPDATE approvals SET status = ?4, "
      "decided_at = CASE WHEN ?3 = 'pending' THEN ?5 ELSE decided_at END, "
      "decided_via = CASE WHEN ?3 = 'pending' THEN ?6 ELSE decided_via END, "
      "result = ?7, error = ?8 "
      "WHERE user_id = ?1 AND id = ?2 AND status = ?3 RETURNING " APPROVAL_COLUMNS,
      error);
  g_autoptr (LaresApproval) row = NULL;
  int rc;

  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, user_id);
  sqlite3_bind_int64 (st, 2, id);
  sqlite3_bind_text (st, 3, lares_approval_status_name (from), -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 4, lares_approval_status_name (to), -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 5, now_ms);
  bind_text_or_null (st, 6, via);
  bind_text_or_null (st, 7, result);
  bind_text_or_null (st, 8, error_text);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    {
      row = approval_from_row (st);
      rc = sqlite3_step (st);
    }
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  if (row == NULL)
    {
      g_autoptr (LaresApproval) now = lares_approvals_get (db, user_id, id, error);
      if (now == NULL)
        return FALSE;
      g_set_error (error, LARES_STORE_ERROR, LARES_STORE_ERROR_CONSTRAINT,
                   "approval %" G_GINT64_FORMAT " is %s", id,
                   lares_approval_status_name (now->status));
      return FALSE;
    }
  if (out)
    *out = g_steal_pointer (&row);
  return TRUE;
}

gboolean
lares_approvals_scan_pending (sqlite3 *db, LaresApprovalScanFunc func, gpointer data,
                              GError **error)
{
  g_autoptr (sqlite3_stmt) st = lares_sql_prepare (
      db,
      "SELECT id, user_id, expires_at FROM approvals WHERE status = 'pending' ORDER BY expires_at",
      error);
  int rc;

  if (st == NULL)
    return FALSE;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    func (sqlite3_column_int64 (st, 0), sqlite3_column_int64 (st, 1), sqlite3_column_int64 (st, 2),
          data);
  if (rc != SQLITE_DONE)
    return lares_sql_throw (db, rc, error);
  return TRUE;
}

GPtrArray *
lares_approvals_fail_interrupted (sqlite3 *db, int64_t now_ms, const char *reason, GError **error)
{
  g_autoptr (sqlite3_stmt) st =
      lares_sql_prepare (db,
                         "UPDATE approvals SET status = 'failed', error = ?2, "
                         "decided_at = coalesce(decided_at, ?1) "
                         "WHERE status = 'approved' RETURNING " APPROVAL_COLUMNS,
                         error);

  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, now_ms);
  sqlite3_bind_text (st, 2, reason, -1, SQLITE_STATIC);
  return collect (db, st, error);
}
