/* lares-tools.c — the tool registry, argument validation and the first tools.
 *
 * DESIGN: schemas are parsed once at registration into a small tree that the
 * validator walks; only the JSON-schema words tools need are understood
 * (type, properties, required, additionalProperties: false, enum, minLength,
 * maxLength, minimum, maximum, items, description), and a schema using any
 * other keyword is refused at start-up rather than half-checked.
 */
#include "config.h"

#include "lares-chat-store.h"
#include "lares-tools.h"
#include "tools/lares-tools-notes.h"
#include "lares-tools-tasks.h"
#include "tools/lares-tools-reminders.h"
#include "tools/lares-tools-calendar.h"

#include <string.h>

G_DEFINE_QUARK (lares - tool - error - quark, lares_tool_error)

#define ARGS_MAX_DEPTH 8

typedef enum
{
  S_ANY,
  S_OBJECT,
  S_STRING,
  S_INTEGER,
  S_NUMBER,
  S_BOOLEAN,
  S_ARRAY,
} SchemaType;

typedef struct _Schema Schema;
struct _Schema
{
  SchemaType type;
  GHashTable *props; /* name -> Schema* (owned) */
  char **required;
  gboolean closed; /* additionalProperties: false */
  char **enums;    /* string enum */
  int64_t min_len, max_len;
  gboolean has_min, has_max;
  double minimum, maximum;
  Schema *items;
};

struct _LaresTool
{
  const LaresToolSpec *spec;
  char *llm_name;
  Schema *schema;
  JsonNode *parameters; /* parsed spec->parameters */
};

struct _LaresToolRegistry
{
  GPtrArray *tools;   /* LaresTool* (owned) */
  GHashTable *byname; /* name and llm name -> LaresTool* */
  JsonNode *llm_tools;
  char *catalog;
};

static void
schema_free (Schema *s)
{
  if (s == NULL)
    return;
  if (s->props)
    g_hash_table_unref (s->props);
  g_strfreev (s->required);
  g_strfreev (s->enums);
  schema_free (s->items);
  g_free (s);
}

static char **
string_array (JsonNode *node)
{
  JsonArray *a;
  GPtrArray *out;

  if (!JSON_NODE_HOLDS_ARRAY (node))
    return NULL;
  a = json_node_get_array (node);
  out = g_ptr_array_new ();
  for (unsigned i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      if (json_node_get_value_type (e) != G_TYPE_STRING)
        {
          g_ptr_array_free (out, TRUE);
          return NULL;
        }
      g_ptr_array_add (out, g_strdup (json_node_get_string (e)));
    }
  g_ptr_array_add (out, NULL);
  return (char **)g_ptr_array_free (out, FALSE);
}

static Schema *
schema_parse (JsonNode *node, const char *where, GError **error)
{
  g_autoptr (GList) members = NULL;
  JsonObject *o;
  Schema *s;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, LARES_TOOL_ERROR, LARES_TOOL_ERROR_INVALID_ARGS,
                   "schema %s: not an object", where);
      return NULL;
    }
  o = json_node_get_object (node);
  s = g_new0 (Schema, 1);
  members = json_object_get_members (o);
  for (GList *l = members; l; l = l->next)
    {
      const char *key = l->data;
      JsonNode *v = json_object_get_member (o, key);
      gboolean ok = TRUE;

      if (strcmp (key, "type") == 0)
        {
          static const char *const names[] = { "any",    "object",  "string", "integer",
                                               "number", "boolean", "array" };
          const char *t = JSON_NODE_HOLDS_VALUE (v) ? json_node_get_string (v) : NULL;
          ok = FALSE;
          for (unsigned i = 1; t && i < G_N_ELEMENTS (names); i++)
            if (strcmp (t, names[i]) == 0)
              s->type = i, ok = TRUE;
        }
      else if (strcmp (key, "properties") == 0)
        {
          g_autoptr (GList) props = NULL;
          ok = JSON_NODE_HOLDS_OBJECT (v);
          s->props =
              g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)schema_free);
          if (ok)
            props = json_object_get_members (json_node_get_object (v));
          for (GList *p = props; ok && p; p = p->next)
            {
              g_autofree char *sub = g_strdup_printf ("%s.%s", where, (char *)p->data);
              Schema *child = schema_parse (
                  json_object_get_member (json_node_get_object (v), p->data), sub, error);
              if (child == NULL)
                {
                  schema_free (s);
                  return NULL;
                }
              g_hash_table_insert (s->props, g_strdup (p->data), child);
            }
        }
      else if (strcmp (key, "required") == 0)
        ok = (s->required = string_array (v)) != NULL;
      else if (strcmp (key, "enum") == 0)
        ok = (s->enums = string_array (v)) != NULL;
      else if (strcmp (key, "additionalProperties") == 0)
        {
          ok = json_node_get_value_type (v) == G_TYPE_BOOLEAN;
          s->closed = ok && !json_node_get_boolean (v);
        }
      else if (strcmp (key, "minLength") == 0 || strcmp (key, "maxLength") == 0)
        {
          ok = json_node_get_value_type (v) == G_TYPE_INT64;
          if (ok && key[1] == 'i')
            s->min_len = json_node_get_int (v);
          else if (ok)
            s->max_len = json_node_get_int (v);
        }
      else if (strcmp (key, "minimum") == 0 || strcmp (key, "maximum") == 0)
        {
          ok = JSON_NODE_HOLDS_VALUE (v) && (json_node_get_value_type (v) == G_TYPE_INT64 ||
                                             json_node_get_value_type (v) == G_TYPE_DOUBLE);
          if (ok && key[1] == 'i')
            s->minimum = json_node_get_double (v), s->has_min = TRUE;
          else if (ok)
            s->maximum = json_node_get_double (v), s->has_max = TRUE;
        }
      else if (strcmp (key, "items") == 0)
        {
          g_autofree char *sub = g_strdup_printf ("%s[]", where);
          s->items = schema_parse (v, sub, error);
          if (s->items == NULL)
            {
              schema_free (s);
              return NULL;
            }
        }
      else if (strcmp (key, "description") != 0)
        ok = FALSE;
      if (!ok)
        {
          g_set_error (error, LARES_TOOL_ERROR, LARES_TOOL_ERROR_INVALID_ARGS,
                       "schema %s: '%s' is not supported here", where, key);
          schema_free (s);
          return NULL;
        }
    }
  return s;
}

static gboolean
invalid (GError **error, const char *path, const char *what)
{
  g_set_error (error, LARES_TOOL_ERROR, LARES_TOOL_ERROR_INVALID_ARGS, "%s: %s",
               *path ? path : "arguments", what);
  return FALSE;
}

static gboolean
schema_check (const Schema *s, JsonNode *v, const char *path, unsigned depth, GError **error)
{
  GType vt = JSON_NODE_HOLDS_VALUE (v) ? json_node_get_value_type (v) : G_TYPE_INVALID;

  if (depth > ARGS_MAX_DEPTH)
    return invalid (error, path, "nested too deeply");
  switch (s->type)
    {
    case S_ANY:
      return TRUE;
    case S_OBJECT:
      {
        JsonObject *o;
        g_autoptr (GList) members = NULL;

        if (!JSON_NODE_HOLDS_OBJECT (v))
          return invalid (error, path, "expected an object");
        o = json_node_get_object (v);
        for (char **r = s->required; r && *r; r++)
          if (!json_object_has_member (o, *r) ||
              JSON_NODE_HOLDS_NULL (json_object_get_member (o, *r)))
            {
              g_autofree char *sub = *path ? g_strdup_printf ("%s.%s", path, *r) : g_strdup (*r);
              return invalid (error, sub, "is required");
            }
        members = json_object_get_members (o);
        for (GList *l = members; l; l = l->next)
          {
            const Schema *child = s->props ? g_hash_table_lookup (s->props, l->data) : NULL;
            JsonNode *m = json_object_get_member (o, l->data);
            g_autofree char *sub =
                *path ? g_strdup_printf ("%s.%s", path, (char *)l->data) : g_strdup (l->data);

            if (child == NULL)
              {
                if (s->closed)
                  return invalid (error, sub, "is not a known argument");
                continue;
              }
            /* An optional argument given as null is the same as absent. */
            if (JSON_NODE_HOLDS_NULL (m))
              continue;
            if (!schema_check (child, m, sub, depth + 1, error))
              return FALSE;
          }
        return TRUE;
      }
    case S_STRING:
      {
        const char *str;
        long n;

        if (vt != G_TYPE_STRING)
          return invalid (error, path, "expected a string");
        str = json_node_get_string (v);
        n = g_utf8_strlen (str, -1);
        if (s->min_len && n < s->min_len)
          return invalid (error, path, s->min_len == 1 ? "must not be empty" : "is too short");
        if (s->max_len && n > s->max_len)
          return invalid (error, path, "is too long");
        if (s->enums && !g_strv_contains ((const char *const *)s->enums, str))
          {
            g_autofree char *list = g_strjoinv (", ", s->enums);
            g_autofree char *what = g_strdup_printf ("expected one of: %s", list);
            return invalid (error, path, what);
          }
        return TRUE;
      }
    case S_INTEGER:
    case S_NUMBER:
      {
        double d;

        if (vt == G_TYPE_INT64)
          d = (double)json_node_get_int (v);
        else if (vt == G_TYPE_DOUBLE && s->type == S_NUMBER)
          d = json_node_get_double (v);
        else
          return invalid (error, path,
                          s->type == S_INTEGER ? "expected an integer" : "expected a number");
        if ((s->has_min && d < s->minimum) || (s->has_max && d > s->maximum))
          return invalid (error, path, "is out of range");
        return TRUE;
      }
    case S_BOOLEAN:
      return vt == G_TYPE_BOOLEAN ? TRUE : invalid (error, path, "expected true or false");
    case S_ARRAY:
      {
        JsonArray *a;

        if (!JSON_NODE_HOLDS_ARRAY (v))
          return invalid (error, path, "expected an array");
        a = json_node_get_array (v);
        if (s->max_len && json_array_get_length (a) > (unsigned)s->max_len)
          return invalid (error, path, "has too many items");
        for (unsigned i = 0; s->items && i < json_array_get_length (a); i++)
          {
            g_autofree char *sub = g_strdup_printf ("%s[%u]", path, i);
            if (!schema_check (s->items, json_array_get_element (a, i), sub, depth + 1, error))
              return FALSE;
          }
        return TRUE;
      }
    }
  return TRUE;
}

/* ---- registry ------------------------------------------------------------------------------- */

static void
tool_free (LaresTool *tool)
{
  g_free (tool->llm_name);
  schema_free (tool->schema);
  json_node_unref (tool->parameters);
  g_free (tool);
}

LaresToolRegistry *
lares_tool_registry_new (void)
{
  LaresToolRegistry *reg = g_new0 (LaresToolRegistry, 1);

  reg->tools = g_ptr_array_new_with_free_func ((GDestroyNotify)tool_free);
  reg->byname = g_hash_table_new (g_str_hash, g_str_equal);
  return reg;
}

void
lares_tool_registry_free (LaresToolRegistry *reg)
{
  if (reg == NULL)
    return;
  g_hash_table_unref (reg->byname);
  g_ptr_array_unref (reg->tools);
  g_clear_pointer (&reg->llm_tools, json_node_unref);
  g_free (reg->catalog);
  g_free (reg);
}

static void
registry_changed (LaresToolRegistry *reg)
{
  g_clear_pointer (&reg->llm_tools, json_node_unref);
  g_clear_pointer (&reg->catalog, g_free);
}

gboolean
lares_tool_registry_add (LaresToolRegistry *reg, const LaresToolSpec *spec, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  LaresTool *tool;
  Schema *schema;

  if (g_hash_table_contains (reg->byname, spec->name))
    {
      g_set_error (error, LARES_TOOL_ERROR, LARES_TOOL_ERROR_INVALID_ARGS,
                   "tool %s is registered twice", spec->name);
      return FALSE;
    }
  if (!json_parser_load_from_data (parser, spec->parameters, -1, error))
    return FALSE;
  schema = schema_parse (json_parser_get_root (parser), spec->name, error);
  if (schema == NULL)
    return FALSE;
  tool = g_new0 (LaresTool, 1);
  tool->spec = spec;
  tool->schema = schema;
  tool->parameters = json_node_copy (json_parser_get_root (parser));
  tool->llm_name = g_strdelimit (g_strdup (spec->name), ".", '_');
  g_ptr_array_add (reg->tools, tool);
  g_hash_table_insert (reg->byname, (char *)spec->name, tool);
  g_hash_table_insert (reg->byname, tool->llm_name, tool);
  registry_changed (reg);
  return TRUE;
}

const LaresTool *
lares_tool_registry_lookup (const LaresToolRegistry *reg, const char *name)
{
  return name ? g_hash_table_lookup (reg->byname, name) : NULL;
}

JsonNode *
lares_tool_registry_get_llm_tools (const LaresToolRegistry *reg)
{
  LaresToolRegistry *mut = (LaresToolRegistry *)reg; /* a cache, built once */

  if (mut->llm_tools == NULL)
    {
      JsonArray *a = json_array_new ();
      for (unsigned i = 0; i < reg->tools->len; i++)
        {
          const LaresTool *t = reg->tools->pdata[i];
          JsonObject *fn = json_object_new ();
          JsonObject *o = json_object_new ();

          json_object_set_string_member (fn, "name", t->llm_name);
          json_object_set_string_member (fn, "description", t->spec->description);
          json_object_set_member (fn, "parameters", json_node_copy (t->parameters));
          json_object_set_string_member (o, "type", "function");
          json_object_set_object_member (o, "function", fn);
          json_array_add_object_element (a, o);
        }
      mut->llm_tools = json_node_init_array (json_node_alloc (), a);
      json_array_unref (a);
    }
  return reg->llm_tools;
}

const char *
lares_tool_registry_get_catalog (const LaresToolRegistry *reg)
{
  LaresToolRegistry *mut = (LaresToolRegistry *)reg;

  if (mut->catalog == NULL)
    {
      GString *s = g_string_new (NULL);
      for (unsigned i = 0; i < reg->tools->len; i++)
        {
          const LaresTool *t = reg->tools->pdata[i];
          g_string_append_printf (s, "- %s: %s Arguments (JSON schema): %s\n", t->llm_name,
                                  t->spec->description, t->spec->parameters);
        }
      mut->catalog = g_string_free (s, FALSE);
    }
  return reg->catalog;
}

const char *
lares_tool_get_name (const LaresTool *tool)
{
  return tool->spec->name;
}

const char *
lares_tool_get_llm_name (const LaresTool *tool)
{
  return tool->llm_name;
}

const char *
lares_tool_get_description (const LaresTool *tool)
{
  return tool->spec->description;
}

JsonNode *
lares_tool_get_parameters (const LaresTool *tool)
{
  return tool->parameters;
}

LaresToolRisk
lares_tool_get_risk (const LaresTool *tool)
{
  return tool->spec->risk;
}

unsigned
lares_tool_registry_n_tools (const LaresToolRegistry *reg)
{
  return reg->tools->len;
}

const LaresTool *
lares_tool_registry_nth (const LaresToolRegistry *reg, unsigned i)
{
  g_return_val_if_fail (i < reg->tools->len, NULL);
  return reg->tools->pdata[i];
}

gboolean
lares_tool_validate (const LaresTool *tool, JsonNode *args, GError **error)
{
  return schema_check (tool->schema, args, "", 0, error);
}

JsonNode *
lares_tool_parse_args (const LaresTool *tool, const char *text, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local = NULL;
  JsonNode *root;
  const char *p = text ? text : "";

  while (g_ascii_isspace (*p))
    p++;
  if (*p == '\0')
    p = "{}";
  if (!g_utf8_validate (p, -1, NULL) || !json_parser_load_from_data (parser, p, -1, &local))
    {
      g_set_error (error, LARES_TOOL_ERROR, LARES_TOOL_ERROR_INVALID_ARGS,
                   "arguments are not valid JSON");
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !lares_tool_validate (tool, root, error))
    {
      if (root == NULL)
        g_set_error (error, LARES_TOOL_ERROR, LARES_TOOL_ERROR_INVALID_ARGS, "arguments are empty");
      return NULL;
    }
  return json_node_copy (root);
}

/* ---- running -------------------------------------------------------------------------------- */

typedef struct
{
  LaresToolCall call;
  LaresToolDone done;
  gpointer user_data;
  gboolean finished;
} CallPriv;

static void
call_finish (LaresToolCall *call, JsonNode *result, GError *error)
{
  CallPriv *p = (CallPriv *)call;

  g_return_if_fail (!p->finished);
  p->finished = TRUE;
  p->done (result, error, p->user_data);
  if (result)
    json_node_unref (result);
  g_clear_error (&error);
  json_object_unref (call->args);
  if (call->plan)
    json_object_unref (call->plan);
  g_free (p);
}

void
lares_tool_call_return (LaresToolCall *call, JsonNode *result)
{
  call_finish (call, result, NULL);
}

void
lares_tool_call_fail (LaresToolCall *call, const char *format, ...)
{
  va_list ap;
  GError *error;

  va_start (ap, format);
  error = g_error_new_valist (LARES_TOOL_ERROR, LARES_TOOL_ERROR_FAILED, format, ap);
  va_end (ap);
  call_finish (call, NULL, error);
}

static void
call_start (const LaresTool *tool, const LaresToolContext *ctx, JsonNode *args, JsonObject *plan,
            LaresToolHandler handler, LaresToolDone done, gpointer user_data)
{
  CallPriv *p = g_new0 (CallPriv, 1);

  p->call.tool = tool;
  p->call.ctx = ctx;
  p->call.args = json_object_ref (json_node_get_object (args));
  p->call.plan = plan ? json_object_ref (plan) : NULL;
  p->done = done;
  p->user_data = user_data;
  handler (&p->call);
}

void
lares_tool_run (const LaresTool *tool, const LaresToolContext *ctx, JsonNode *args,
                LaresToolDone done, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!lares_tool_validate (tool, args, &error))
    {
      done (NULL, error, user_data);
      return;
    }
  if (tool->spec->risk == LARES_TOOL_RISK_HIGH)
    {
      g_set_error (&error, LARES_TOOL_ERROR, LARES_TOOL_ERROR_NEEDS_APPROVAL,
                   "%s needs the owner's approval", tool->spec->name);
      done (NULL, error, user_data);
      return;
    }
  call_start (tool, ctx, args, NULL, tool->spec->handler, done, user_data);
}

void
lares_tool_run_approved (const LaresTool *tool, const LaresToolContext *ctx, JsonNode *args,
                         JsonObject *plan, LaresToolDone done, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!lares_tool_validate (tool, args, &error))
    {
      done (NULL, error, user_data);
      return;
    }
  call_start (tool, ctx, args, plan, tool->spec->handler, done, user_data);
}

/* The planner of a tool that has none: its name and arguments. */
static void
default_plan (LaresToolCall *call)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), call->args);
  g_autofree char *args = json_to_string (node, FALSE);
  g_autofree char *text = g_strdup_printf ("Run %s with %s", call->tool->spec->name, args);
  JsonObject *o = json_object_new ();
  JsonNode *result = json_node_new (JSON_NODE_OBJECT);

  json_object_set_string_member (o, "text", text);
  json_node_take_object (result, o);
  lares_tool_call_return (call, result);
}

void
lares_tool_plan (const LaresTool *tool, const LaresToolContext *ctx, JsonNode *args,
                 LaresToolDone done, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!lares_tool_validate (tool, args, &error))
    {
      done (NULL, error, user_data);
      return;
    }
  call_start (tool, ctx, args, NULL, tool->spec->plan ? tool->spec->plan : default_plan, done,
              user_data);
}

/* ---- the first tools ------------------------------------------------------------------------ */

JsonNode *
lares_tool_result (JsonObject *o, const char *text)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  if (o == NULL)
    o = json_object_new ();
  json_object_set_string_member (o, "text", text);
  json_node_take_object (node, o);
  return node;
}

static void
tool_time_now (LaresToolCall *call)
{
  GDateTime *now = call->ctx->now;
  const char *what = json_object_get_string_member_with_default (call->args, "what", "time");
  g_autofree char *iso = g_date_time_format_iso8601 (now);
  g_autofree char *text = NULL;
  JsonObject *o = json_object_new ();

  if (strcmp (what, "date") == 0)
    text = g_date_time_format (now, "Today is %A %-d %B %Y.");
  else
    text = g_date_time_format (now, "It is %H:%M on %A %-d %B %Y.");
  json_object_set_string_member (o, "now", iso);
  json_object_set_string_member (o, "timezone", g_date_time_get_timezone_abbreviation (now));
  lares_tool_call_return (call, lares_tool_result (o, text));
}

static void
tool_help (LaresToolCall *call)
{
  const char *text = call->ctx->capabilities;

  lares_tool_call_return (
      call, lares_tool_result (
                NULL, text ? text : "I'm still starting up; ask me what I can do in a moment."));
}

/* Memory tools run one store function; the handler's own data rides along. */
typedef struct
{
  LaresToolCall *call;
  LaresStore *store;
  int64_t user_id;
  int64_t now_ms;
  char *text;
  int64_t id;
  int64_t count;
  JsonNode *list;
} MemoryOp;

static void
memory_op_free (MemoryOp *op)
{
  g_free (op->text);
  g_clear_pointer (&op->list, json_node_unref);
  g_free (op);
}

static MemoryOp *
memory_op_new (LaresToolCall *call, const char *member)
{
  MemoryOp *op = g_new0 (MemoryOp, 1);
  const char *text =
      member ? json_object_get_string_member_with_default (call->args, member, "") : "";

  op->call = call;
  op->store = call->ctx->store;
  op->user_id = call->ctx->user_id;
  op->now_ms = g_date_time_to_unix (call->ctx->now) * 1000;
  op->text = g_strstrip (g_strdup (text));
  return op;
}

static gboolean
remember_in_store (sqlite3 *db, gpointer data, GError **error)
{
  MemoryOp *op = data;
  return lares_facts_add (db, op->user_id, op->text, op->now_ms, &op->id, error);
}

static void
remember_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  MemoryOp *op = data;
  g_autoptr (GError) error = NULL;

  if (!lares_store_write_finish (op->store, res, &error))
    lares_tool_call_fail (op->call, "could not remember that: %s", error->message);
  else
    {
      g_autofree char *text = g_strdup_printf ("I'll remember that %s.", op->text);
      JsonObject *o = json_object_new ();
      json_object_set_int_member (o, "id", op->id);
      json_object_set_string_member (o, "fact", op->text);
      lares_tool_call_return (op->call, lares_tool_result (o, text));
    }
  memory_op_free (op);
}

static void
tool_memory_remember (LaresToolCall *call)
{
  MemoryOp *op = memory_op_new (call, "fact");

  lares_store_write_async (call->ctx->store, remember_in_store, op, NULL, remember_done, op);
}

static gboolean
recall_in_store (sqlite3 *db, gpointer data, GError **error)
{
  MemoryOp *op = data;

  op->list = *op->text ? lares_facts_search (db, op->user_id, op->text, error)
                       : lares_facts_list (db, op->user_id, error);
  return op->list != NULL;
}

static void
recall_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  MemoryOp *op = data;
  g_autoptr (GError) error = NULL;
  JsonArray *facts;
  GString *text;
  JsonObject *o;

  if (!lares_store_read_finish (op->store, res, &error))
    {
      lares_tool_call_fail (op->call, "could not read what I know: %s", error->message);
      memory_op_free (op);
      return;
    }
  facts = json_node_get_array (op->list);
  text = g_string_new (NULL);
  if (json_array_get_length (facts) == 0)
    g_string_append (text, *op->text ? "I don't know anything about that."
                                     : "You haven't asked me to remember anything yet.");
  else
    g_string_append (text, "Here is what I know:");
  for (unsigned i = 0; i < json_array_get_length (facts); i++)
    g_string_append_printf (
        text, "\n- %s",
        json_object_get_string_member (json_array_get_object_element (facts, i), "text"));
  o = json_object_new ();
  json_object_set_member (o, "facts", g_steal_pointer (&op->list));
  lares_tool_call_return (op->call, lares_tool_result (o, text->str));
  g_string_free (text, TRUE);
  memory_op_free (op);
}

static void
tool_memory_recall (LaresToolCall *call)
{
  MemoryOp *op = memory_op_new (call, "query");

  lares_store_read_async (call->ctx->store, recall_in_store, op, NULL, recall_done, op);
}

static gboolean
forget_in_store (sqlite3 *db, gpointer data, GError **error)
{
  MemoryOp *op = data;
  return lares_facts_forget (db, op->user_id, op->id, op->id > 0 ? NULL : op->text, &op->count,
                             error);
}

static void
forget_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  MemoryOp *op = data;
  g_autoptr (GError) error = NULL;

  if (!lares_store_write_finish (op->store, res, &error))
    lares_tool_call_fail (op->call, "could not forget that: %s", error->message);
  else
    {
      g_autofree char *text =
          op->count == 0 ? g_strdup ("I didn't know anything like that.")
          : op->count == 1
              ? g_strdup ("Done, I've forgotten it.")
              : g_strdup_printf ("Done, I've forgotten %" G_GINT64_FORMAT " things.", op->count);
      JsonObject *o = json_object_new ();
      json_object_set_int_member (o, "removed", op->count);
      lares_tool_call_return (op->call, lares_tool_result (o, text));
    }
  memory_op_free (op);
}

static void
tool_memory_forget (LaresToolCall *call)
{
  MemoryOp *op = memory_op_new (call, "fact");

  op->id = json_object_get_int_member_with_default (call->args, "id", 0);
  if (op->id <= 0 && *op->text == '\0')
    {
      lares_tool_call_fail (call, "say what to forget");
      memory_op_free (op);
      return;
    }
  lares_store_write_async (call->ctx->store, forget_in_store, op, NULL, forget_done, op);
}

static const LaresToolSpec builtin_tools[] = {
  { "time.now", "Tell the current time or date in the user's time zone.",
    "{\"type\":\"object\",\"properties\":{\"what\":{\"type\":\"string\",\"enum\":[\"time\","
    "\"date\"]}},\"additionalProperties\":false}",
    LARES_TOOL_RISK_LOW, tool_time_now },
  { "memory.remember", "Remember a fact about the user for future conversations.",
    "{\"type\":\"object\",\"properties\":{\"fact\":{\"type\":\"string\",\"minLength\":1,"
    "\"maxLength\":500,\"description\":\"the fact, as a short sentence\"}},\"required\":"
    "[\"fact\"],\"additionalProperties\":false}",
    LARES_TOOL_RISK_LOW, tool_memory_remember },
  { "memory.recall", "List the facts remembered about the user, optionally matching a query.",
    "{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\",\"maxLength\":200}},"
    "\"additionalProperties\":false}",
    LARES_TOOL_RISK_LOW, tool_memory_recall },
  { "memory.forget",
    "Forget remembered facts: the one with this id, or every fact containing "
    "the given text.",
    "{\"type\":\"object\",\"properties\":{\"fact\":{\"type\":\"string\",\"maxLength\":500},"
    "\"id\":{\"type\":\"integer\",\"minimum\":1}},\"additionalProperties\":false}",
    LARES_TOOL_RISK_LOW, tool_memory_forget },
  { "help", "Explain what lares can do.", "{\"type\":\"object\",\"properties\":{}}",
    LARES_TOOL_RISK_LOW, tool_help },
};

void
lares_tool_registry_add_builtin (LaresToolRegistry *reg)
{
  for (size_t i = 0; i < G_N_ELEMENTS (builtin_tools); i++)
    {
      g_autoptr (GError) error = NULL;
      if (!lares_tool_registry_add (reg, &builtin_tools[i], &error))
        g_error ("built-in tool %s: %s", builtin_tools[i].name, error->message);
    }
  lares_tools_notes_register (reg);
  lares_tools_tasks_register (reg);
  lares_tools_reminders_register (reg);
  lares_tools_calendar_register (reg);
}

void
lares_tool_call_return_deleted (LaresToolCall *call, int64_t user_id, const GArray *deleted,
                                unsigned planned, const char *one, const char *many,
                                const char *change)
{
  g_autoptr (GString) text = g_string_new (NULL);
  JsonArray *ids = json_array_new ();
  JsonObject *o = json_object_new ();

  for (unsigned i = 0; i < deleted->len; i++)
    {
      int64_t id = g_array_index (deleted, int64_t, i);
      json_array_add_int_element (ids, id);
      lares_bus_publish_change (call->ctx->bus, user_id, change, NULL, NULL, id);
    }
  g_string_printf (text, "Deleted %u %s.", deleted->len, deleted->len == 1 ? one : many);
  if (deleted->len < planned)
    g_string_append_printf (text, " %u had changed or gone since you were asked, and %s kept.",
                            planned - deleted->len, planned - deleted->len == 1 ? "was" : "were");
  json_object_set_int_member (o, "deleted", deleted->len);
  json_object_set_array_member (o, "ids", ids);
  lares_tool_call_return (call, lares_tool_result (o, text->str));
}
