/* routes/approvals.c — /api/v1/approvals (list, read, approve, reject) and
 * /api/v1/tools (the registry, and running one tool).
 *
 * Deciding and running go through the chat layer's policy, the same as a
 * turn's tool calls: these handlers only translate HTTP.  Other routes
 * that stand for a tool (DELETE /api/v1/events) run it through
 * lares_request_run_tool(), so they answer exactly as /api/v1/tools does.  A request here
 * is always the authenticated owner acting on their own data.  An approve
 * answers after the tool ran (status executed or failed); the change it
 * made, and the resolution, also reach every connection of the user.
 */
#include "config.h"

#include "lares-approvals.h"
#include "lares-http-private.h"
#include "lares-util.h"

#define LIST_DEFAULT 50
#define LIST_MAX     500

typedef struct
{
  LaresRequest *req;
  int64_t user_id;
  int64_t id;
  int status; /* a LaresApprovalStatus, or -1 for all */
  int64_t limit;
  GPtrArray *rows;
  LaresApproval *row;
} ApprovalsOp;

static ApprovalsOp *
op_new (LaresRequest *req)
{
  ApprovalsOp *op = g_new0 (ApprovalsOp, 1);

  op->req = req;
  op->user_id = req->user_id;
  op->id = req->path_id;
  op->limit = LIST_DEFAULT;
  return op;
}

static void
op_free (ApprovalsOp *op)
{
  if (op->rows)
    g_ptr_array_unref (op->rows);
  lares_approval_free (op->row);
  g_free (op);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ApprovalsOp, op_free)

static void
respond_approval (LaresRequest *req, unsigned status, const LaresApproval *a)
{
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  JsonObject *o = json_object_new ();

  json_object_set_member (o, "approval", lares_approval_to_json (a));
  json_node_take_object (root, o);
  lares_request_respond_json (req, status, root);
}

static LaresActor
owner (LaresRequest *req)
{
  return (LaresActor){ .user_id = req->user_id, .is_owner = TRUE, .via = "rest", .ip = req->ip };
}

/* ---- GET /api/v1/approvals?status=&limit= --------------------------------------------------- */

static gboolean
list_run (sqlite3 *db, gpointer data, GError **error)
{
  ApprovalsOp *op = data;

  op->rows = lares_approvals_list (db, op->user_id, op->status, (unsigned)op->limit, error);
  return op->rows != NULL;
}

static void
list_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (ApprovalsOp) op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = NULL;
  JsonObject *o;
  JsonArray *a;

  if (!lares_store_read_finish (op->req->server->store, res, &error))
    {
      lares_request_respond_gerror (op->req, error);
      return;
    }
  a = json_array_new ();
  for (unsigned i = 0; i < op->rows->len; i++)
    json_array_add_element (a, lares_approval_to_json (op->rows->pdata[i]));
  o = json_object_new ();
  json_object_set_array_member (o, "approvals", a);
  root = json_node_init_object (json_node_alloc (), o);
  json_object_unref (o);
  lares_request_respond_json (op->req, 200, root);
}

static void
approvals_list (LaresRequest *req)
{
  g_autoptr (ApprovalsOp) op = op_new (req);
  const char *status = lares_request_query (req, "status");
  LaresApprovalStatus st = LARES_APPROVAL_PENDING;

  if (!lares_request_query_int (req, "limit", 1, LIST_MAX, &op->limit))
    return;
  if (status != NULL && g_strcmp0 (status, "all") != 0 &&
      !lares_approval_status_parse (status, &st))
    {
      lares_request_respond_error (req, 400, "invalid_argument",
                                   "'status' must be pending, approved, executed, failed, "
                                   "rejected, expired or all");
      return;
    }
  op->status = g_strcmp0 (status, "all") == 0 ? -1 : (int)st;
  lares_store_read_async (req->server->store, list_run, op, NULL, list_done, op);
  g_steal_pointer (&op);
}

/* ---- GET /api/v1/approvals/{id} ------------------------------------------------------------- */

static gboolean
get_run (sqlite3 *db, gpointer data, GError **error)
{
  ApprovalsOp *op = data;

  op->row = lares_approvals_get (db, op->user_id, op->id, error);
  return op->row != NULL;
}

static void
get_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  g_autoptr (ApprovalsOp) op = data;
  g_autoptr (GError) error = NULL;

  if (!lares_store_read_finish (op->req->server->store, res, &error))
    lares_request_respond_gerror (op->req, error);
  else
    respond_approval (op->req, 200, op->row);
}

static void
approvals_get (LaresRequest *req)
{
  ApprovalsOp *op = op_new (req);

  lares_store_read_async (req->server->store, get_run, op, NULL, get_done, op);
}

/* ---- POST /api/v1/approvals/{id}/approve, /reject ------------------------------------------- */

static void
decided (const LaresApproval *a, const GError *error, gpointer data)
{
  LaresRequest *req = data;

  if (error)
    lares_request_respond_gerror (req, error);
  else
    respond_approval (req, 200, a);
}

static void
decide (LaresRequest *req, gboolean approve)
{
  LaresActor actor = owner (req);

  lares_policy_decide (lares_chat_get_policy (req->server->chat), &actor, req->path_id, approve,
                       decided, req);
}

static void
approvals_approve (LaresRequest *req)
{
  decide (req, TRUE);
}

static void
approvals_reject (LaresRequest *req)
{
  decide (req, FALSE);
}

/* ---- GET /api/v1/tools ---------------------------------------------------------------------- */

static void
tools_list (LaresRequest *req)
{
  const LaresToolRegistry *reg = lares_chat_get_tools (req->server->chat);
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  JsonObject *o = json_object_new ();
  JsonArray *a = json_array_new ();

  for (unsigned i = 0; i < lares_tool_registry_n_tools (reg); i++)
    {
      const LaresTool *t = lares_tool_registry_nth (reg, i);
      JsonObject *e = json_object_new ();

      json_object_set_string_member (e, "name", lares_tool_get_name (t));
      json_object_set_string_member (e, "description", lares_tool_get_description (t));
      json_object_set_member (e, "parameters", json_node_copy (lares_tool_get_parameters (t)));
      json_object_set_string_member (
          e, "risk", lares_tool_get_risk (t) == LARES_TOOL_RISK_HIGH ? "high" : "low");
      json_array_add_object_element (a, e);
    }
  json_object_set_array_member (o, "tools", a);
  json_node_take_object (root, o);
  lares_request_respond_json (req, 200, root);
}

/* ---- POST /api/v1/tools/{name} -------------------------------------------------------------- */

static void
tool_ran (const LaresPolicyOutcome *out, gpointer data)
{
  LaresRequest *req = data;
  LaresServer *server = req->server;
  g_autoptr (JsonNode) root = NULL;
  JsonObject *o;

  switch (out->verdict)
    {
    case LARES_POLICY_RAN:
      o = json_object_new ();
      json_object_set_member (o, "result", json_node_copy (out->result));
      root = json_node_init_object (json_node_alloc (), o);
      json_object_unref (o);
      lares_request_respond_json (req, 200, root);
      return;
    case LARES_POLICY_PENDING:
      {
        const LaresApproval *a = out->approval;
        int64_t user_id = a->user_id;
        g_autoptr (JsonNode) event = json_node_new (JSON_NODE_OBJECT);
        JsonObject *e = lares_approval_required_members (a);

        respond_approval (req, 202, a);
        /* Every connection of the owner is asked, as for a turn's call. */
        json_object_set_string_member (e, "type", "approval_required");
        json_node_take_object (event, e);
        lares_bus_publish_later (server->bus, user_id, event);
        return;
      }
    case LARES_POLICY_FAILED:
    case LARES_POLICY_DENIED:
      lares_request_respond_gerror (req, out->error);
      return;
    }
}

void
lares_request_run_tool (LaresRequest *req, const char *name, JsonNode *args)
{
  LaresActor actor = owner (req);

  lares_chat_run_tool (req->server->chat, &actor, name, args, tool_ran, req);
}

static void
tools_run (LaresRequest *req)
{
  lares_request_run_tool (req, lares_request_path_name (req), req->body);
}

const LaresRoute lares_approvals_routes[] = {
  { "GET", "/api/v1/approvals", approvals_list, 0, "approvals.list" },
  { "GET", "/api/v1/approvals/{id}", approvals_get, 0, "approvals.get" },
  { "POST", "/api/v1/approvals/{id}/approve", approvals_approve, 0, "approvals.approve" },
  { "POST", "/api/v1/approvals/{id}/reject", approvals_reject, 0, "approvals.reject" },
  { "GET", "/api/v1/tools", tools_list, 0, "tools.list" },
  { "POST", "/api/v1/tools/{name}", tools_run, LARES_ROUTE_JSON_BODY | LARES_ROUTE_JSON_ANY,
    "tools.run" },
  { NULL },
};
