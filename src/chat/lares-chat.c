/* lares-chat.c — conversations and turns: commands, the intent engine, the
 * LLM agent loop, persistence and events.
 *
 * DESIGN: a turn is a small state machine driven by callbacks on the main
 * context (store reads and writes, the LLM stream, tool handlers).  At most
 * one of those is outstanding for the turn's own progress at a time, except
 * the tools of one round, which run together and are counted.  Writes that
 * only record (tool messages, LLM spend) are not waited for: the store's
 * single writer commits in submission order, so the finishing write that
 * acknowledges the turn (turn_end) commits after all of them.
 *
 * Ids of turns and new conversations are handed out here, not by SQLite,
 * so a turn can start talking to the LLM while the write that records its
 * beginning is still being committed; only this process writes the store
 * (the data directory is locked).
 */
#include "config.h"

#include "lares-chat-store.h"
#include "lares-chat.h"
#include "lares-intent.h"
#include "lares-llm.h"
#include "lares-log.h"
#include "lares-persona.h"
#include "lares-policy.h"
#include "lares-tasks.h"
#include "lares-tools.h"
#include "lares-util.h"

#include <malloc.h>
#include <math.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

G_DEFINE_QUARK (lares - chat - error - quark, lares_chat_error)

#define RUNNING_PER_USER_MAX 128
#define BYTES_PER_TOKEN      4

static int64_t
lares_now_ms (void)
{
  return g_get_real_time () / 1000;
}

typedef struct
{
  double in, out; /* USD per million tokens */
} Price;

struct _LaresChat
{
  const LaresConfig *cfg;
  LaresStore *store;
  LaresBus *bus;
  LaresIntentEngine *engine;
  LaresLlm *llm; /* nullable */
  LaresToolRegistry *tools;
  LaresPolicy *policy; /* every tool call goes through it */
  LaresPersona *persona;
  LaresScheduler *scheduler; /* nullable, not owned */
  GHashTable *prices;        /* model -> Price* */
  int64_t budget_daily_micros;
  int64_t budget_monthly_micros;
  int64_t next_turn_id;
  int64_t next_conversation_id;
  GQueue running;        /* LaresTurn* */
  GQueue waiting;        /* LaresTurn* started before the engine was built */
  GMainContext *context; /* the one turns run on */
  /* The local zone, for users without one of their own.  GLib's
   * g_time_zone_new_local() keeps the same zone until TZ changes, which
   * lares never does; taken once, a turn skips its lock and getenv(). */
  GTimeZone *local_tz;
  GThread *engine_thread;
  GMutex engine_lock;
  GSource *engine_source;   /* reports the built engine on the main context */
  LaresIntentEngine *built; /* handed over under engine_lock */
  void (*idle_func) (gpointer);
  gpointer idle_data;
  LaresChatStats stats;
  GHashTable *memo; /* user id -> UserMemo*: what a new conversation's turn reads */
};

/* A user's facts, mode and time zone as last read, so a turn that starts a
 * conversation need not read the store first.  Anything that changes them
 * (the memory tools, /mode) drops the entry; a read that raced with such a
 * change (gen moved on) is not kept. */
typedef struct
{
  int64_t user_id;
  JsonNode *facts;
  char *mode, *zone;
  char **projects; /* names the intent engine matches as entities */
  gboolean valid;
  uint64_t gen;
} UserMemo;

static void
user_memo_free (UserMemo *m)
{
  g_clear_pointer (&m->facts, json_node_unref);
  g_free (m->mode);
  g_free (m->zone);
  g_strfreev (m->projects);
  g_free (m);
}

static UserMemo *
user_memo (LaresChat *chat, int64_t user_id)
{
  UserMemo *m = g_hash_table_lookup (chat->memo, &user_id);

  if (m == NULL)
    {
      m = g_new0 (UserMemo, 1);
      m->user_id = user_id;
      g_hash_table_insert (chat->memo, &m->user_id, m);
    }
  return m;
}

static void
user_memo_forget (LaresChat *chat, int64_t user_id)
{
  UserMemo *m = user_memo (chat, user_id);

  m->valid = FALSE;
  m->gen++;
  g_clear_pointer (&m->facts, json_node_unref);
  g_clear_pointer (&m->mode, g_free);
  g_clear_pointer (&m->zone, g_free);
  g_clear_pointer (&m->projects, g_strfreev);
}

void
lares_chat_forget_user (LaresChat *chat, int64_t user_id)
{
  user_memo_forget (chat, user_id);
}

const char *const lares_chat_paths[6] = { "command", "intent",   "clarify",
                                          "llm",     "fallback", "budget" };

typedef enum
{
  MODE_NATIVE,
  MODE_TEXT,
  MODE_NONE,
} ToolMode;

/* One tool call of the current round. */
typedef struct
{
  LaresTurn *turn;
  char *id;
  const LaresTool *tool;
  char *name; /* as the model wrote it */
  char *arguments;
  JsonNode *args;   /* parsed, validated */
  JsonNode *result; /* on success */
  GError *error;
  LaresApproval *approval; /* high risk: waiting for the owner */
  int64_t started_us;
} ToolRun;

/* A turn's timings in ms, taken when it finishes (turn_end's "timings"). */
typedef struct
{
  int64_t total_ms;
  int64_t understand_ms; /* -1: not understood */
  int64_t first_token_ms;
  gboolean has_first_token; /* else no first_token_ms member */
  int64_t llm_ms, tools_ms;
} Timings;

struct _LaresTurn
{
  LaresChat *chat;
  GList link; /* in chat->running */
  int64_t user_id;
  int64_t conversation_id;
  int64_t turn_id;
  gboolean new_conversation;
  gboolean untrusted; /* not the owner: no high-risk tools, no decisions */
  char *channel;
  char *text;
  char *conversation_key;
  LaresTurnSink sink;
  gboolean has_sink;
  GCancellable *cancel;
  GPtrArray *ops; /* WriteOp* recording steps; freed with the turn */

  /* Read before starting. */
  GPtrArray *history; /* LaresMessage* */
  JsonNode *facts;
  char **projects;
  char *mode;
  char *zone;
  int64_t spent_day, spent_month;
  GTimeZone *tz;
  GDateTime *now;

  /* Understanding. */
  LaresIntentMatch *match;
  LaresToolContext tool_ctx;
  JsonArray *messages; /* the LLM conversation of this turn */
  ToolMode tool_mode;
  unsigned step;
  gboolean retried;
  gboolean reduced;
  GString *raw; /* this LLM call's text as sent */
  gboolean holding;
  LaresEmotionFilter filter;
  GString *reply;
  GPtrArray *emotions; /* scratch */
  char *emotion;       /* last (owned) */
  GPtrArray *round;    /* ToolRun* of the current round */
  unsigned round_pending;
  JsonArray *tool_events; /* finished tool_call events */
  unsigned n_tool_msgs;

  /* Accounting. */
  int64_t t0_us, t_understood_us, t_first_us;
  int64_t llm_us, tools_us;
  int64_t prompt_tokens, completion_tokens, cost_micros;
  unsigned llm_calls;

  /* Outcome. */
  LaresTurnResult result;
  char *status, *path, *why, *error_code, *error_message;
  gboolean started, ended, finishing;
  Timings end_timings; /* from the END event on (ended) */
};

static void turn_llm_call (LaresTurn *t);
static void turn_finish (LaresTurn *t, const char *status, const char *path, const char *why);

/* ---- set-up --------------------------------------------------------------------------------- */

static gboolean
parse_money_micros (const char *text, int64_t *out)
{
  double d = g_ascii_strtod (text, NULL);
  *out = (int64_t)llround (d * 1e6);
  return TRUE;
}

static void
parse_prices (LaresChat *chat, const char *spec)
{
  g_auto (GStrv) items = g_strsplit (spec, ",", -1);

  for (char **it = items; *it; it++)
    {
      g_autofree char *item = g_strstrip (g_strdup (*it));
      char *eq = strchr (item, '=');
      char *slash = eq ? strchr (eq, '/') : NULL;
      Price *p;

      if (eq == NULL || slash == NULL) /* validated by the config table */
        continue;
      *eq = '\0';
      p = g_new0 (Price, 1);
      p->in = g_ascii_strtod (eq + 1, NULL);
      p->out = g_ascii_strtod (slash + 1, NULL);
      g_hash_table_replace (chat->prices, g_strdup (g_strstrip (item)), p);
    }
}

static gboolean
interrupt_running (sqlite3 *db, gpointer data, GError **error)
{
  int64_t *n = data;
  *n = lares_turns_interrupt_running (db, lares_now_ms (), error);
  return *n >= 0;
}

static gboolean
read_max_ids (LaresChat *chat, GError **error)
{
  sqlite3 *db = lares_store_open_reader (chat->store, error);
  const char *sql[2] = { "SELECT coalesce(max(id), 0) FROM turns",
                         "SELECT coalesce(max(id), 0) FROM conversations" };
  int64_t *out[2] = { &chat->next_turn_id, &chat->next_conversation_id };

  if (db == NULL)
    return FALSE;
  for (unsigned i = 0; i < 2; i++)
    {
      g_autoptr (sqlite3_stmt) st = lares_sql_prepare (db, sql[i], error);
      if (st == NULL || sqlite3_step (st) != SQLITE_ROW)
        {
          if (st != NULL)
            lares_sql_throw (db, sqlite3_errcode (db), error);
          sqlite3_close (db);
          return FALSE;
        }
      *out[i] = sqlite3_column_int64 (st, 0) + 1;
    }
  sqlite3_close (db);
  return TRUE;
}

static void understand (LaresTurn *t);

/* A tool run changed what turns read before they start: the memory tools
 * the facts, the task tools the project names the intent engine knows. */
static void
policy_changed (int64_t user_id, const char *tool, gpointer data)
{
  LaresChat *chat = data;

  if (g_str_has_prefix (tool, "memory.") || g_str_has_prefix (tool, "task."))
    user_memo_forget (chat, user_id);
}

/* Main context: the engine is there; turns that waited go on. */
static gboolean
engine_built (gpointer data)
{
  LaresChat *chat = data;
  LaresTurn *t;

  g_mutex_lock (&chat->engine_lock);
  chat->engine = g_steal_pointer (&chat->built);
  g_clear_pointer (&chat->engine_source, g_source_unref);
  g_mutex_unlock (&chat->engine_lock);
  g_thread_join (g_steal_pointer (&chat->engine_thread));
  /* The compile's scratch is freed by now, in the thread's own malloc
   * arena: hand it back (measured: idle RSS 23 MB -> 17 MB).  Start-up is
   * over: the libraries' load-time tables need not stay mapped either
   * (measured: about 4 MB of RSS). */
  g_debug ("start-up: %" G_GUINT64_FORMAT " KiB of clean library pages unmapped",
           lares_proc_drop_clean_file_pages ());
  malloc_trim (0);
  while ((t = g_queue_pop_head (&chat->waiting)) != NULL)
    understand (t);
  return G_SOURCE_REMOVE;
}

static gpointer
engine_thread (gpointer data)
{
  LaresChat *chat = data;
  g_autoptr (GError) error = NULL;
  LaresIntentEngine *engine;

  /* Start-up's own steps (a first start's password hash, the store) come
   * first on a busy machine: the daemon answers before the engine is there. */
  (void)setpriority (PRIO_PROCESS, (id_t)gettid (), 10);
  engine = lares_intent_engine_new_builtin ("en", &error);

  /* The built-in templates are tested; failing here is a broken build. */
  if (engine == NULL)
    g_error ("the built-in intent templates do not compile: %s", error->message);
  g_mutex_lock (&chat->engine_lock);
  chat->built = engine;
  chat->engine_source = g_idle_source_new ();
  g_source_set_callback (chat->engine_source, engine_built, chat, NULL);
  g_source_attach (chat->engine_source, chat->context);
  g_mutex_unlock (&chat->engine_lock);
  return NULL;
}

LaresChat *
lares_chat_new (const LaresConfig *cfg, LaresStore *store, LaresBus *bus, GError **error)
{
  g_autoptr (LaresChat) chat = g_new0 (LaresChat, 1);
  int64_t interrupted = 0;

  chat->cfg = cfg;
  chat->store = store;
  chat->bus = bus;
  chat->prices = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  chat->memo =
      g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, (GDestroyNotify)user_memo_free);
  g_queue_init (&chat->running);
  g_queue_init (&chat->waiting);
  g_mutex_init (&chat->engine_lock);
  chat->context = g_main_context_ref_thread_default ();
  chat->local_tz = g_time_zone_new_local ();
  chat->persona = lares_persona_new (cfg, error);
  if (chat->persona == NULL)
    return NULL;
  chat->tools = lares_tool_registry_new ();
  lares_tool_registry_add_builtin (chat->tools);
  chat->policy =
      lares_policy_new (store, bus, chat->tools, (int64_t)cfg->policy_approval_ttl_ms, NULL);
  lares_policy_set_changed_func (chat->policy, policy_changed, chat);
  parse_prices (chat, cfg->llm_prices);
  parse_money_micros (cfg->budget_daily, &chat->budget_daily_micros);
  parse_money_micros (cfg->budget_monthly, &chat->budget_monthly_micros);
  if (g_strcmp0 (cfg->llm_provider, "none") != 0)
    {
      LaresLlmOptions opt = {
        .provider =
            g_strcmp0 (cfg->llm_provider, "ollama") == 0 ? LARES_LLM_OLLAMA : LARES_LLM_OPENAI,
        .base_url = cfg->llm_base_url,
        .model = cfg->llm_model,
        .api_key = *cfg->llm_api_key ? cfg->llm_api_key : NULL,
        .connect_timeout_ms = cfg->llm_connect_timeout_ms,
        .first_token_timeout_ms = cfg->llm_first_token_timeout_ms,
        .total_timeout_ms = cfg->llm_total_timeout_ms,
        .max_concurrent = (unsigned)cfg->llm_max_concurrent,
        .http_client = g_strcmp0 (cfg->llm_http_client, "libsoup") == 0 ? LARES_LLM_HTTP_LIBSOUP
                                                                        : LARES_LLM_HTTP_AUTO,
      };
      chat->llm = lares_llm_new (&opt, error);
      if (chat->llm == NULL)
        return NULL;
    }
  if (!lares_store_write_sync (store, interrupt_running, &interrupted, error) ||
      !read_max_ids (chat, error) || !lares_policy_start (chat->policy, error))
    return NULL;
  /* Compiling the templates takes tens of ms (28 ms p50 in make bench):
   * do it off the main loop so the daemon serves at once; turns that come
   * first wait for it. */
  chat->engine_thread = g_thread_new ("lares-intent", engine_thread, chat);
  if (interrupted > 0)
    g_warning ("%" G_GINT64_FORMAT " turn(s) were cut off by a crash; marked interrupted",
               interrupted);
  return g_steal_pointer (&chat);
}

void
lares_chat_free (LaresChat *chat)
{
  if (chat == NULL)
    return;
  g_warn_if_fail (chat->running.length == 0);
  if (chat->engine_thread)
    {
      g_thread_join (chat->engine_thread);
      g_mutex_lock (&chat->engine_lock);
      if (chat->engine_source)
        {
          g_source_destroy (chat->engine_source);
          g_clear_pointer (&chat->engine_source, g_source_unref);
        }
      lares_intent_engine_free (chat->built);
      g_mutex_unlock (&chat->engine_lock);
    }
  g_mutex_clear (&chat->engine_lock);
  g_main_context_unref (chat->context);
  g_clear_pointer (&chat->local_tz, g_time_zone_unref);
  lares_intent_engine_free (chat->engine);
  lares_llm_free (chat->llm);
  lares_policy_free (chat->policy);
  lares_tool_registry_free (chat->tools);
  lares_persona_free (chat->persona);
  g_hash_table_unref (chat->prices);
  g_hash_table_unref (chat->memo);
  g_free (chat);
}

gboolean
lares_chat_has_llm (const LaresChat *chat)
{
  return chat->llm != NULL;
}

const char *
lares_chat_get_model (const LaresChat *chat)
{
  return chat->llm ? lares_llm_get_model (chat->llm) : NULL;
}

LaresLlm *
lares_chat_get_llm (LaresChat *chat)
{
  return chat->llm;
}

unsigned
lares_chat_n_running (const LaresChat *chat)
{
  return chat->running.length;
}

void
lares_chat_get_stats (const LaresChat *chat, LaresChatStats *out)
{
  *out = chat->stats;
  out->running = chat->running.length;
}

void
lares_chat_set_idle_func (LaresChat *chat, void (*func) (gpointer), gpointer user_data)
{
  chat->idle_func = func;
  chat->idle_data = user_data;
}

void
lares_chat_set_scheduler (LaresChat *chat, LaresScheduler *scheduler)
{
  chat->scheduler = scheduler;
  lares_policy_set_scheduler (chat->policy, scheduler);
}

const LaresToolRegistry *
lares_chat_get_tools (const LaresChat *chat)
{
  return chat->tools;
}

LaresPolicy *
lares_chat_get_policy (LaresChat *chat)
{
  return chat->policy;
}

/* ---- events --------------------------------------------------------------------------------- */

static void
event_head (GString *s, const LaresTurn *t, const char *type)
{
  g_string_append_printf (
      s, "{\"type\":\"%s\",\"turn_id\":%" G_GINT64_FORMAT ",\"conversation_id\":%" G_GINT64_FORMAT,
      type, t->turn_id, t->conversation_id);
}

/* Whether anyone takes the turn's events as JSON: a connection of the user
 * on the bus, or a sink that asked for it.  Members that only go into the
 * JSON (turn_start's, turn_end's) are built only then. */
static gboolean
event_json_wanted (LaresTurn *t)
{
  return lares_bus_count (t->chat->bus, t->user_id) > 0 ||
         (t->has_sink && t->sink.on_event != NULL && t->sink.wants_json);
}

/* Deliver an event: @members (nullable, taken) are the rest of the object
 * after the common ones, written only when someone needs the JSON. */
static void
emit (LaresTurn *t, LaresTurnEventType type, const char *type_name, const char *text, size_t len,
      const char *message, JsonObject *members)
{
  LaresChat *chat = t->chat;
  gboolean sink = t->has_sink && t->sink.on_event != NULL;
  gboolean listeners = lares_bus_count (chat->bus, t->user_id) > 0;
  g_autoptr (GBytes) json = NULL;
  g_autoptr (JsonNode) extra = NULL;

  if (members != NULL)
    {
      extra = json_node_new (JSON_NODE_OBJECT);
      json_node_take_object (extra, members);
    }
  if (listeners || (sink && t->sink.wants_json))
    {
      GString *s = g_string_sized_new (96 + len);
      event_head (s, t, type_name);
      if (type == LARES_TURN_EVENT_TOKEN)
        {
          g_string_append (s, ",\"text\":");
          lares_json_append_string (s, text, len);
        }
      else if (type == LARES_TURN_EVENT_EMOTION)
        {
          g_string_append (s, ",\"name\":");
          lares_json_append_string (s, text, len);
        }
      else if (type == LARES_TURN_EVENT_ERROR)
        {
          g_string_append (s, ",\"code\":");
          lares_json_append_string (s, text, len);
          g_string_append (s, ",\"message\":");
          lares_json_append_string (s, message, -1);
        }
      if (extra != NULL)
        {
          g_autofree char *rest = json_to_string (extra, FALSE);
          /* "{...}" -> ",..." appended after the head */
          if (strlen (rest) > 2)
            {
              g_string_append_c (s, ',');
              g_string_append_len (s, rest + 1, strlen (rest) - 2);
            }
        }
      g_string_append_c (s, '}');
      json = g_string_free_to_bytes (s);
      if (listeners)
        lares_bus_publish_bytes (chat->bus, t->user_id, json);
    }
  if (sink)
    {
      LaresTurnEvent ev = {
        .type = type, .text = text, .len = len, .message = message, .json = json
      };
      t->sink.on_event (t, &ev, t->sink.user_data);
    }
}

static void
emit_error (LaresTurn *t, const char *code, const char *message)
{
  emit (t, LARES_TURN_EVENT_ERROR, "error", code, strlen (code), message, NULL);
}

/* Visible text from the filter: emotions first, then the text piece. */
static void
emit_filtered (LaresTurn *t, const char *text, size_t len, gboolean flush)
{
  size_t before = t->reply->len;
  size_t n;

  g_ptr_array_set_size (t->emotions, 0);
  n = lares_emotion_filter_feed (&t->filter, text, len, t->reply, t->emotions);
  if (flush)
    n += lares_emotion_filter_flush (&t->filter, t->reply);
  for (unsigned i = 0; i < t->emotions->len; i++)
    {
      const char *name = t->emotions->pdata[i];
      g_free (t->emotion);
      t->emotion = g_strdup (name);
      emit (t, LARES_TURN_EVENT_EMOTION, "emotion", name, strlen (name), NULL, NULL);
    }
  if (n > 0)
    {
      if (t->t_first_us == 0)
        t->t_first_us = g_get_monotonic_time ();
      emit (t, LARES_TURN_EVENT_TOKEN, "token", t->reply->str + before, n, NULL, NULL);
    }
}

/* Say a whole reply that did not stream (intent, command, fallback). */
static void
say (LaresTurn *t, const char *text)
{
  emit_filtered (t, text, strlen (text), TRUE);
}

/* ---- store steps ---------------------------------------------------------------------------- */

typedef struct
{
  int64_t user_id, turn_id, conversation_id;
  gboolean create;
  char *channel, *text, *key;
  char *role, *content, *tool_calls, *tool_call_id, *tool_name;
  char *status, *path, *why, *error_code, *timings, *reply;
  char *setting_key, *setting_value;
  LaresLlmCall call;
  char *provider, *model, *call_status;
  int64_t now_ms;
} WriteOp;

static void
write_op_free (WriteOp *op)
{
  g_free (op->channel), g_free (op->text), g_free (op->key);
  g_free (op->role), g_free (op->content), g_free (op->tool_calls);
  g_free (op->tool_call_id), g_free (op->tool_name);
  g_free (op->status), g_free (op->path), g_free (op->why), g_free (op->error_code);
  g_free (op->timings), g_free (op->reply);
  g_free (op->setting_key), g_free (op->setting_value);
  g_free (op->provider), g_free (op->model), g_free (op->call_status);
  g_free (op);
}

static gboolean
begin_in_store (sqlite3 *db, gpointer data, GError **error)
{
  WriteOp *op = data;

  if (!lares_turn_begin_at (db, op->user_id, op->conversation_id, op->create, op->turn_id,
                            op->channel, op->text, op->now_ms, error))
    return FALSE;
  if (op->key != NULL && op->create)
    {
      g_autofree char *value = g_strdup_printf ("%" G_GINT64_FORMAT, op->conversation_id);
      g_autofree char *key = g_strconcat ("conversation:", op->key, NULL);
      return lares_user_setting_set (db, op->user_id, key, value, error);
    }
  return TRUE;
}

static gboolean
message_in_store (sqlite3 *db, gpointer data, GError **error)
{
  WriteOp *op = data;
  return lares_turn_add_message (db, op->user_id, op->turn_id, op->role, op->content,
                                 op->tool_calls, op->tool_call_id, op->tool_name, op->now_ms,
                                 error);
}

static gboolean
llm_call_in_store (sqlite3 *db, gpointer data, GError **error)
{
  WriteOp *op = data;
  return lares_llm_calls_insert (db, &op->call, error);
}

static gboolean
setting_in_store (sqlite3 *db, gpointer data, GError **error)
{
  WriteOp *op = data;
  return lares_user_setting_set (db, op->user_id, op->setting_key, op->setting_value, error);
}

/* Queue a write that only records: nobody waits for it (the turn's
 * finishing write, queued later, commits after it), a failure is logged by
 * the store, and the writer frees the op. */
static void
record (LaresTurn *t, LaresStoreFunc func, WriteOp *op)
{
  lares_store_write_detached (t->chat->store, func, op, (GDestroyNotify)write_op_free);
}

static void
record_message (LaresTurn *t, const char *role, const char *content, const char *tool_calls,
                const char *tool_call_id, const char *tool_name)
{
  WriteOp *op = g_new0 (WriteOp, 1);

  op->user_id = t->user_id;
  op->turn_id = t->turn_id;
  op->role = g_strdup (role);
  op->content = g_strdup (content ? content : "");
  op->tool_calls = g_strdup (tool_calls);
  op->tool_call_id = g_strdup (tool_call_id);
  op->tool_name = g_strdup (tool_name);
  op->now_ms = lares_now_ms ();
  record (t, message_in_store, op);
}

/* ---- the prepare read ----------------------------------------------------------------------- */

typedef struct
{
  LaresTurn *turn;
  GError *error;
  int64_t day_start_ms, month_start_ms;
  gboolean want_spend;
  unsigned history_turns;
  int64_t conversation_id; /* resolved */
  uint64_t memo_gen;       /* the user's memo generation when the read was sent */
} ReadOp;

static gboolean
prepare_in_store (sqlite3 *db, gpointer data, GError **error)
{
  ReadOp *op = data;
  LaresTurn *t = op->turn; /* only its immutable request fields are read here */
  int64_t conv = t->conversation_id;

  if (conv == 0 && t->conversation_key != NULL)
    {
      g_autofree char *key = g_strconcat ("conversation:", t->conversation_key, NULL);
      g_autofree char *value = lares_user_setting_get (db, t->user_id, key, error);
      g_autoptr (LaresConversation) c = NULL;
      int64_t id = 0;

      if (value == NULL && error && *error)
        return FALSE;
      if (value != NULL && lares_parse_int64 (value, &id) && id > 0 &&
          (c = lares_conversations_get (db, t->user_id, id, NULL)) != NULL)
        conv = id;
    }
  else if (conv != 0)
    {
      g_autoptr (LaresConversation) c = lares_conversations_get (db, t->user_id, conv, error);
      if (c == NULL)
        return FALSE;
    }
  if (conv != 0)
    {
      t->history = lares_messages_recent (db, t->user_id, conv, op->history_turns, 0, error);
      if (t->history == NULL)
        return FALSE;
    }
  t->facts = lares_facts_list (db, t->user_id, error);
  if (t->facts == NULL)
    return FALSE;
  t->projects = lares_tasks_project_names (db, t->user_id, error);
  if (t->projects == NULL)
    return FALSE;
  t->mode = lares_user_setting_get (db, t->user_id, "mode", NULL);
  t->zone = lares_user_setting_get (db, t->user_id, "timezone", NULL);
  if (op->want_spend)
    {
      LaresCostTotals day = { 0 }, month = { 0 };
      if (!lares_costs_total (db, t->user_id, op->day_start_ms, &day, error) ||
          !lares_costs_total (db, t->user_id, op->month_start_ms, &month, error))
        return FALSE;
      t->spent_day = day.cost_micros;
      t->spent_month = month.cost_micros;
    }
  /* The turn's own field is set on the main thread. */
  op->conversation_id = conv;
  return TRUE;
}

/* ---- finishing ------------------------------------------------------------------------------ */

static void
turn_free (LaresTurn *t)
{
  g_free (t->channel);
  g_free (t->text);
  g_free (t->conversation_key);
  g_clear_object (&t->cancel);
  g_ptr_array_unref (t->ops);
  if (t->history)
    g_ptr_array_unref (t->history);
  g_clear_pointer (&t->facts, json_node_unref);
  g_free (t->mode);
  g_free (t->zone);
  g_strfreev (t->projects);
  g_clear_pointer (&t->tz, g_time_zone_unref);
  g_clear_pointer (&t->now, g_date_time_unref);
  lares_intent_match_free (t->match);
  g_clear_pointer (&t->messages, json_array_unref);
  if (t->raw)
    g_string_free (t->raw, TRUE);
  if (t->reply)
    g_string_free (t->reply, TRUE);
  if (t->emotions)
    g_ptr_array_unref (t->emotions);
  g_free (t->emotion);
  if (t->round)
    g_ptr_array_unref (t->round);
  g_clear_pointer (&t->tool_events, json_array_unref);
  g_free (t->status), g_free (t->path), g_free (t->why);
  g_free (t->error_code), g_free (t->error_message);
  g_free (t);
}

static int64_t
ms_since (int64_t t0, int64_t t)
{
  return t > 0 ? (t - t0 + 500) / 1000 : -1;
}

/* The turn's timings as of now. */
static Timings
timings_now (LaresTurn *t)
{
  return (Timings){
    .total_ms = ms_since (t->t0_us, g_get_monotonic_time ()),
    .understand_ms = ms_since (t->t0_us, t->t_understood_us),
    .has_first_token = t->t_first_us != 0,
    .first_token_ms = t->t_first_us ? ms_since (t->t0_us, t->t_first_us) : -1,
    .llm_ms = (t->llm_us + 500) / 1000,
    .tools_ms = (t->tools_us + 500) / 1000,
  };
}

static JsonObject *
timings_object (const Timings *tm)
{
  JsonObject *o = json_object_new ();

  json_object_set_int_member (o, "total_ms", tm->total_ms);
  json_object_set_int_member (o, "understand_ms", tm->understand_ms);
  if (tm->has_first_token)
    json_object_set_int_member (o, "first_token_ms", tm->first_token_ms);
  json_object_set_int_member (o, "llm_ms", tm->llm_ms);
  json_object_set_int_member (o, "tools_ms", tm->tools_ms);
  return o;
}

/* The stored form of @tm: what json_to_string() makes of timings_object()
 * (members in order, integers in decimal), without building the tree. */
static char *
timings_text (const Timings *tm)
{
  char first[48] = "";

  if (tm->has_first_token)
    g_snprintf (first, sizeof first, ",\"first_token_ms\":%" G_GINT64_FORMAT, tm->first_token_ms);
  return g_strdup_printf ("{\"total_ms\":%" G_GINT64_FORMAT ",\"understand_ms\":%" G_GINT64_FORMAT
                          "%s,\"llm_ms\":%" G_GINT64_FORMAT ",\"tools_ms\":%" G_GINT64_FORMAT "}",
                          tm->total_ms, tm->understand_ms, first, tm->llm_ms, tm->tools_ms);
}

static JsonObject *
usage_object (LaresTurn *t)
{
  JsonObject *o = json_object_new ();

  json_object_set_int_member (o, "prompt_tokens", t->prompt_tokens);
  json_object_set_int_member (o, "completion_tokens", t->completion_tokens);
  json_object_set_double_member (o, "cost_usd", t->cost_micros / 1e6);
  json_object_set_int_member (o, "llm_calls", t->llm_calls);
  return o;
}

static JsonObject *
end_members (LaresTurn *t, const Timings *timings)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "reply", t->reply->str);
  json_object_set_string_member (o, "status", t->status);
  json_object_set_string_member (o, "path", t->path);
  json_object_set_string_member (o, "why", t->why ? t->why : "");
  if (t->error_code)
    json_object_set_string_member (o, "error_code", t->error_code);
  json_object_set_object_member (o, "timings", timings_object (timings));
  json_object_set_object_member (o, "usage", usage_object (t));
  return o;
}

static void
turn_deliver_end (LaresTurn *t, const Timings *timings)
{
  LaresChat *chat = t->chat;

  t->result.turn_id = t->started ? t->turn_id : 0;
  t->result.conversation_id = t->conversation_id;
  t->result.status = t->status;
  t->result.path = t->path;
  t->result.why = t->why;
  t->result.error_code = t->error_code;
  t->result.reply = t->reply->str;
  t->result.emotion = t->emotion;
  t->result.prompt_tokens = t->prompt_tokens;
  t->result.completion_tokens = t->completion_tokens;
  t->result.cost_micros = t->cost_micros;
  t->result.llm_calls = t->llm_calls;
  t->ended = TRUE;
  g_queue_unlink (&chat->running, &t->link);
  chat->stats.turns++;
  if (g_strcmp0 (t->status, "error") == 0)
    chat->stats.turns_error++;
  else if (g_strcmp0 (t->status, "cancelled") == 0)
    chat->stats.turns_cancelled++;
  for (unsigned i = 0; i < G_N_ELEMENTS (lares_chat_paths); i++)
    if (g_strcmp0 (t->path, lares_chat_paths[i]) == 0)
      chat->stats.by_path[i]++;
  /* The JSON answer (lares_turn_to_json) reports the same timings. */
  t->end_timings = *timings;
  emit (t, LARES_TURN_EVENT_END, "turn_end", NULL, 0, NULL,
        event_json_wanted (t) ? end_members (t, timings) : NULL);
  turn_free (t);
  if (chat->running.length == 0 && chat->idle_func)
    chat->idle_func (chat->idle_data);
}

typedef struct
{
  LaresTurn *turn;
  WriteOp *op;
  Timings timings;
} FinishOp;

static void
finish_done (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  FinishOp *f = data;
  LaresTurn *t = f->turn;
  g_autoptr (GError) error = NULL;

  if (!lares_store_write_finish (t->chat->store, res, &error))
    {
      /* Not acknowledged: say so rather than pretend it was kept. */
      g_warning ("turn %" G_GINT64_FORMAT " could not be saved: %s", t->turn_id, error->message);
      emit_error (t, "store_error", "this conversation could not be saved");
      g_free (t->status);
      t->status = g_strdup ("error");
      g_free (t->error_code);
      t->error_code = g_strdup ("store_error");
    }
  write_op_free (f->op);
  turn_deliver_end (t, &f->timings);
  g_free (f);
}

static gboolean
finish_in_store (sqlite3 *db, gpointer data, GError **error)
{
  WriteOp *op = data;
  return lares_turn_finish (db, op->user_id, op->turn_id, op->status, op->path, op->why,
                            op->error_code, op->timings, op->reply, op->now_ms, error);
}

static void
turn_finish (LaresTurn *t, const char *status, const char *path, const char *why)
{
  FinishOp *f;
  WriteOp *op;

  g_return_if_fail (!t->finishing);
  t->finishing = TRUE;
  emit_filtered (t, "", 0, TRUE);
  t->status = g_strdup (status);
  t->path = g_strdup (path);
  t->why = g_strdup (why);
  f = g_new0 (FinishOp, 1);
  f->turn = t;
  f->timings = timings_now (t);
  if (!t->started)
    {
      /* Nothing was written for a turn that never started. */
      turn_deliver_end (t, &f->timings);
      g_free (f);
      return;
    }
  op = g_new0 (WriteOp, 1);
  op->user_id = t->user_id;
  op->turn_id = t->turn_id;
  op->status = g_strdup (status);
  op->path = g_strdup (path);
  op->why = g_strdup (why);
  op->error_code = g_strdup (t->error_code);
  op->timings = timings_text (&f->timings);
  op->reply = g_strdup (t->reply->str);
  op->now_ms = lares_now_ms ();
  f->op = op;
  lares_store_write_async (t->chat->store, finish_in_store, op, NULL, finish_done, f);
}

static void
turn_fail (LaresTurn *t, const char *code, const char *message, const char *path)
{
  g_free (t->error_code);
  t->error_code = g_strdup (code);
  emit_error (t, code, message);
  turn_finish (t, "error", path, message);
}

/* ---- understanding -------------------------------------------------------------------------- */

static char *
capabilities_reply (LaresChat *chat, const char *lead)
{
  return g_strdup_printf ("%s%s", lead ? lead : "",
                          lares_intent_engine_get_capabilities (chat->engine));
}

/* The intent and the command paths record their action like the LLM's: an
 * assistant message with the call, then the tool's answer. */
static void
record_intent_call (LaresTurn *t, const char *id, const char *tool, const char *arguments,
                    const char *result)
{
  g_autoptr (GString) calls = g_string_new ("[{\"id\":");

  lares_json_append_string (calls, id, -1);
  g_string_append (calls, ",\"name\":");
  lares_json_append_string (calls, tool, -1);
  g_string_append (calls, ",\"arguments\":");
  lares_json_append_string (calls, arguments, -1);
  g_string_append (calls, "}]");
  record_message (t, "assistant", "", calls->str, NULL, NULL);
  record_message (t, "tool", result, NULL, id, tool);
}

static const char *
tool_error_code (const GError *error)
{
  if (error->domain != LARES_TOOL_ERROR)
    return "tool_failed";
  switch ((LaresToolError)error->code)
    {
    case LARES_TOOL_ERROR_INVALID_ARGS:
      return "invalid_arguments";
    case LARES_TOOL_ERROR_UNKNOWN:
      return "unknown_tool";
    case LARES_TOOL_ERROR_NEEDS_APPROVAL:
      return "needs_approval";
    case LARES_TOOL_ERROR_DENIED:
      return "denied";
    case LARES_TOOL_ERROR_FAILED:
      break;
    }
  return "tool_failed";
}

/* @approval: (nullable) a pending approval the call became. */
static JsonObject *
tool_event_members (const char *id, const char *tool, JsonNode *args, const char *status,
                    JsonNode *result, const GError *error, const LaresApproval *approval)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "id", id);
  json_object_set_string_member (o, "tool", tool);
  if (args)
    json_object_set_member (o, "args", json_node_copy (args));
  else
    json_object_set_object_member (o, "args", json_object_new ());
  json_object_set_string_member (o, "status", status);
  if (result)
    json_object_set_member (o, "result", json_node_copy (result));
  if (error)
    {
      JsonObject *e = json_object_new ();
      json_object_set_string_member (e, "code", tool_error_code (error));
      json_object_set_string_member (e, "message", error->message);
      json_object_set_object_member (o, "error", e);
    }
  if (approval)
    json_object_set_member (o, "approval", lares_approval_to_json (approval));
  return o;
}

static void
emit_tool_event (LaresTurn *t, const char *id, const char *tool, JsonNode *args, const char *status,
                 JsonNode *result, const GError *error, const LaresApproval *approval)
{
  JsonObject *o = tool_event_members (id, tool, args, status, result, error, approval);

  if (strcmp (status, "running") != 0)
    {
      JsonObject *copy = tool_event_members (id, tool, args, status, result, error, approval);
      json_array_add_object_element (t->tool_events, copy);
    }
  emit (t, LARES_TURN_EVENT_TOOL_CALL, "tool_call", NULL, 0, NULL, o);
}

/* A call became a pending approval: tool_call with status needs_approval,
 * then approval_required for every connection of the user. */
static void
emit_approval (LaresTurn *t, const char *id, const LaresApproval *a, JsonNode *args)
{
  JsonObject *members = lares_approval_required_members (a);

  /* The event's header already names the turn's conversation. */
  json_object_remove_member (members, "conversation_id");
  emit_tool_event (t, id, a->tool, args, "needs_approval", NULL, NULL, a);
  emit (t, LARES_TURN_EVENT_APPROVAL, "approval_required", NULL, 0, NULL, members);
}

/* What the turn says about approvals it asked for. */
static void
say_approval_prompt (LaresTurn *t, const LaresApproval *a)
{
  g_autofree char *msg =
      g_strdup_printf ("%sThis needs your approval: %s. Say yes to go ahead, or no to cancel.",
                       t->reply->len > 0 ? " " : "", a->summary);
  say (t, msg);
}

/* What the tool's answer is, as stored and given to the LLM. */
static char *
approval_tool_content (const LaresApproval *a)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  JsonObject *o = json_object_new ();
  g_autofree char *text = g_strdup_printf (
      "Not done yet: this needs the user's approval, which they have been asked for (%s).",
      a->summary);

  json_object_set_string_member (o, "status", "needs_approval");
  json_object_set_int_member (o, "approval_id", a->id);
  json_object_set_string_member (o, "summary", a->summary);
  json_object_set_string_member (o, "text", text);
  json_node_take_object (node, o);
  return json_to_string (node, FALSE);
}

static LaresActor
turn_actor (LaresTurn *t, const char *via)
{
  return (LaresActor){ .user_id = t->user_id, .is_owner = !t->untrusted, .via = via };
}

static void
intent_tool_done (const LaresPolicyOutcome *out, gpointer data)
{
  LaresTurn *t = data;
  const char *tool = lares_intent_match_get_tool (t->match);
  JsonNode *args = lares_intent_match_get_args (t->match);
  g_autofree char *arguments = json_to_string (args, FALSE);
  g_autofree char *content = NULL;
  const GError *error = out->error;
  const char *id = "intent_1";

  t->tools_us += g_get_monotonic_time () - t->t_understood_us;
  if (out->verdict == LARES_POLICY_PENDING)
    {
      content = approval_tool_content (out->approval);
      emit_approval (t, id, out->approval, args);
      record_intent_call (t, id, tool, arguments, content);
      say_approval_prompt (t, out->approval);
      turn_finish (t, "done", "intent", "a high-risk action waits for the owner's approval");
      return;
    }
  content = out->result ? json_to_string (out->result, FALSE) : g_strdup (error->message);
  emit_tool_event (t, id, tool, args, error ? "error" : "done", out->result, error, NULL);
  record_intent_call (t, id, tool, arguments, content);
  if (error)
    {
      g_autofree char *msg = g_strdup_printf ("I couldn't do that: %s", error->message);
      say (t, msg);
      turn_fail (t, out->verdict == LARES_POLICY_DENIED ? "denied" : "tool_failed", error->message,
                 "intent");
      return;
    }
  say (t, json_object_get_string_member_with_default (json_node_get_object (out->result), "text",
                                                      "Done."));
  for (const char *const *n = lares_intent_match_get_notes (t->match); n && *n; n++)
    {
      say (t, " ");
      say (t, *n);
    }
  turn_finish (t, "done", "intent", lares_intent_match_get_why (t->match));
}

static void understand_llm (LaresTurn *t);

/* ---- "yes" and "no": deciding the conversation's pending approval ---------------------------- */

typedef struct
{
  LaresTurn *turn;
  int64_t user_id, conversation_id; /* copies the store thread reads */
  gboolean approve;
  LaresApproval *pending; /* the conversation's latest, or NULL */
  char *arguments;
} DecisionOp;

static void
decision_op_free (DecisionOp *op)
{
  lares_approval_free (op->pending);
  g_free (op->arguments);
  g_free (op);
}

/* The approval as it ended, in words. */
static char *
decision_reply (const LaresApproval *a, const GError *error)
{
  if (error && g_error_matches (error, LARES_POLICY_ERROR, LARES_POLICY_ERROR_EXPIRED))
    return g_strdup_printf ("That request has expired, so I did not do it (%s). Ask again if you "
                            "still want it.",
                            a ? a->summary : "it waited too long");
  if (error && g_error_matches (error, LARES_POLICY_ERROR, LARES_POLICY_ERROR_DENIED))
    return g_strdup ("Only the owner can decide that.");
  if (error && a != NULL)
    return g_strdup_printf ("That was already %s.", lares_approval_status_name (a->status));
  if (error)
    return g_strdup_printf ("I couldn't do that: %s", error->message);
  switch (a->status)
    {
    case LARES_APPROVAL_EXECUTED:
      {
        g_autoptr (JsonParser) parser = json_parser_new_immutable ();
        JsonNode *root;
        if (a->result && json_parser_load_from_data (parser, a->result, -1, NULL) &&
            (root = json_parser_get_root (parser)) != NULL && JSON_NODE_HOLDS_OBJECT (root) &&
            json_object_has_member (json_node_get_object (root), "text"))
          return g_strdup (json_object_get_string_member (json_node_get_object (root), "text"));
        return g_strdup ("Done.");
      }
    case LARES_APPROVAL_FAILED:
      return g_strdup_printf ("I tried, but it failed: %s",
                              a->error ? a->error : "no reason given");
    case LARES_APPROVAL_REJECTED:
      return g_strdup_printf ("OK, I won't do it (%s).", a->summary);
    default:
      return g_strdup_printf ("It is %s.", lares_approval_status_name (a->status));
    }
}

static void
decided_in_chat (const LaresApproval *a, const GError *error, gpointer data)
{
  DecisionOp *op = data;
  LaresTurn *t = op->turn;
  const char *tool = op->approve ? "approval.approve" : "approval.reject";
  g_autoptr (JsonNode) args = json_from_string (op->arguments, NULL);
  g_autoptr (JsonNode) result = a ? lares_approval_to_json (a) : NULL;
  g_autofree char *content = result ? json_to_string (result, FALSE) : NULL;
  g_autofree char *reply = decision_reply (a, error);

  t->tools_us += g_get_monotonic_time () - t->t_understood_us;
  emit_tool_event (t, "intent_1", tool, args, error ? "error" : "done", error ? NULL : result,
                   error, NULL);
  record_intent_call (t, "intent_1", tool, op->arguments, content ? content : error->message);
  say (t, reply);
  turn_finish (t, "done", "intent",
               op->approve ? "the owner approved the pending action"
                           : "the owner rejected the pending action");
  decision_op_free (op);
}

/* "yes" with nothing pending answers something else (a question the LLM
 * asked), so the LLM gets it when there is one. */
static void
nothing_to_decide (LaresTurn *t)
{
  if (t->chat->llm != NULL)
    {
      understand_llm (t);
      return;
    }
  say (t, "There is nothing waiting for your approval in this conversation.");
  turn_finish (t, "done", "intent", "no pending approval to decide");
}

static gboolean
latest_pending_in_store (sqlite3 *db, gpointer data, GError **error)
{
  DecisionOp *op = data;
  g_autoptr (GError) local = NULL;

  op->pending = lares_approvals_latest_pending (db, op->user_id, op->conversation_id, &local);
  if (local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  return TRUE;
}

static void
latest_pending_read (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  DecisionOp *op = data;
  LaresTurn *t = op->turn;
  g_autoptr (GError) error = NULL;
  LaresActor actor = turn_actor (t, "chat");

  if (!lares_store_read_finish (t->chat->store, res, &error))
    {
      say (t, "I couldn't look up what is waiting for your approval.");
      decision_op_free (op);
      turn_fail (t, "store_error", error->message, "intent");
      return;
    }
  if (op->pending == NULL)
    {
      decision_op_free (op);
      nothing_to_decide (t);
      return;
    }
  op->arguments = g_strdup_printf ("{\"id\":%" G_GINT64_FORMAT "}", op->pending->id);
  {
    g_autoptr (JsonNode) args = json_from_string (op->arguments, NULL);
    emit_tool_event (t, "intent_1", op->approve ? "approval.approve" : "approval.reject", args,
                     "running", NULL, NULL, NULL);
  }
  lares_policy_decide (t->chat->policy, &actor, op->pending->id, op->approve, decided_in_chat, op);
}

static void
run_decision (LaresTurn *t, gboolean approve)
{
  DecisionOp *op = g_new0 (DecisionOp, 1);

  op->turn = t;
  op->user_id = t->user_id;
  op->conversation_id = t->conversation_id;
  op->approve = approve;
  if (t->new_conversation)
    {
      /* Nothing was asked in a conversation that starts now. */
      nothing_to_decide (t);
      decision_op_free (op);
      return;
    }
  lares_store_read_async (t->chat->store, latest_pending_in_store, op, NULL, latest_pending_read,
                          op);
}

static void
run_intent (LaresTurn *t)
{
  const char *tool_name = lares_intent_match_get_tool (t->match);
  const LaresTool *tool = lares_tool_registry_lookup (t->chat->tools, tool_name);
  LaresActor actor = turn_actor (t, "intent");

  /* Deciding is not a tool: no model may call it, only the owner's words. */
  if (g_strcmp0 (tool_name, "approval.approve") == 0 ||
      g_strcmp0 (tool_name, "approval.reject") == 0)
    {
      run_decision (t, strcmp (tool_name, "approval.approve") == 0);
      return;
    }
  if (tool == NULL)
    {
      g_autofree char *msg =
          g_strdup_printf ("I understood that (%s), but this lares cannot do it yet.",
                           lares_intent_match_get_intent (t->match));
      g_autofree char *why = g_strdup_printf ("%s; tool %s is not available",
                                              lares_intent_match_get_why (t->match), tool_name);
      say (t, msg);
      turn_finish (t, "done", "intent", why);
      return;
    }
  emit_tool_event (t, "intent_1", tool_name, lares_intent_match_get_args (t->match), "running",
                   NULL, NULL, NULL);
  lares_policy_run (t->chat->policy, tool, &t->tool_ctx, &actor, t->conversation_id,
                    lares_intent_match_get_args (t->match), intent_tool_done, t);
}

typedef struct
{
  LaresChat *chat;
  int64_t user_id;
} MemoForget;

static void
mode_written (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  MemoForget *mf = data;
  g_autoptr (GError) error = NULL;

  if (!lares_store_write_finish (mf->chat->store, res, &error))
    g_warning ("could not save a mode: %s", error->message);
  user_memo_forget (mf->chat, mf->user_id);
  g_free (mf);
}

/* "/mode", "/mode NAME", "/mode off". */
static gboolean
run_command (LaresTurn *t)
{
  LaresPersona *persona = t->chat->persona;
  g_autofree char *arg = NULL;
  g_autofree char *msg = NULL;
  WriteOp *op;

  if (!g_str_has_prefix (t->text, "/mode") || (t->text[5] != '\0' && t->text[5] != ' '))
    return FALSE;
  arg = g_strstrip (g_ascii_strdown (t->text + 5, -1));
  if (*arg == '\0')
    msg = g_strdup_printf ("Current mode: %s. Modes: %s (or /mode off).",
                           t->mode ? t->mode : "default", lares_persona_list_modes (persona));
  else if (strcmp (arg, "off") != 0 && strcmp (arg, "default") != 0 &&
           lares_persona_get_mode (persona, arg) == NULL)
    msg = g_strdup_printf ("There is no mode '%s'. Modes: %s (or /mode off).", arg,
                           lares_persona_list_modes (persona));
  else
    {
      gboolean off = strcmp (arg, "off") == 0 || strcmp (arg, "default") == 0;
      op = g_new0 (WriteOp, 1);
      op->user_id = t->user_id;
      op->setting_key = g_strdup ("mode");
      op->setting_value = g_strdup (off ? "" : arg);
      /* Forget now (reads in flight are not kept) and again once it is
       * committed (a read between the two may have seen the old mode). */
      user_memo_forget (t->chat, t->user_id);
      g_ptr_array_add (t->ops, op);
      {
        MemoForget *mf = g_new0 (MemoForget, 1);
        mf->chat = t->chat;
        mf->user_id = t->user_id;
        lares_store_write_async (t->chat->store, setting_in_store, op, NULL, mode_written, mf);
      }
      msg = off ? g_strdup ("Back to the default mode.")
                : g_strdup_printf ("Switched to %s mode.", arg);
    }
  say (t, msg);
  turn_finish (t, "done", "command", "a /mode command");
  return TRUE;
}

static int64_t
turn_spend_over (LaresTurn *t, const char **which, int64_t *limit)
{
  LaresChat *chat = t->chat;

  if (chat->budget_daily_micros > 0 && t->spent_day + t->cost_micros >= chat->budget_daily_micros)
    {
      *which = "today's";
      *limit = chat->budget_daily_micros;
      return t->spent_day + t->cost_micros;
    }
  if (chat->budget_monthly_micros > 0 &&
      t->spent_month + t->cost_micros >= chat->budget_monthly_micros)
    {
      *which = "this month's";
      *limit = chat->budget_monthly_micros;
      return t->spent_month + t->cost_micros;
    }
  return -1;
}

static void
understand (LaresTurn *t)
{
  LaresChat *chat = t->chat;
  const char *why = NULL;
  LaresIntentRoute route;

  t->t_understood_us = g_get_monotonic_time ();
  t->tool_ctx.capabilities = lares_intent_engine_get_capabilities (chat->engine);
  if (g_cancellable_is_cancelled (t->cancel))
    {
      turn_finish (t, "cancelled", "none", "cancelled before it was understood");
      return;
    }
  if (run_command (t))
    return;
  {
    /* The names the user has: task projects, from the store. */
    g_autoptr (LaresIntentEntities) ents = NULL;
    for (char **p = t->projects; p && *p; p++)
      {
        if (ents == NULL)
          ents = lares_intent_entities_new ();
        lares_intent_entities_add (ents, "project", *p);
      }
    t->match = lares_intent_engine_match (chat->engine, t->text, t->now, t->tz, ents);
  }
  route = lares_intent_route (t->match, chat->llm != NULL, &why);
  t->t_understood_us = g_get_monotonic_time ();
  switch (route)
    {
    case LARES_INTENT_ROUTE_RUN:
      run_intent (t);
      return;
    case LARES_INTENT_ROUTE_CLARIFY:
      say (t, lares_intent_match_get_question (t->match));
      turn_finish (t, "done", "clarify", lares_intent_match_get_why (t->match));
      return;
    case LARES_INTENT_ROUTE_CAPABILITIES:
      {
        g_autofree char *msg =
            capabilities_reply (chat, "I didn't understand that, and no language model is set "
                                      "up to help. ");
        say (t, msg);
        turn_finish (t, "done", "fallback", why);
        return;
      }
    case LARES_INTENT_ROUTE_LLM:
      break;
    }
  understand_llm (t);
}

/* The LLM answers, unless the budget is spent. */
static void
understand_llm (LaresTurn *t)
{
  LaresChat *chat = t->chat;
  const char *which;
  int64_t limit, spent;

  if ((spent = turn_spend_over (t, &which, &limit)) >= 0)
    {
      g_autofree char *lead = g_strdup_printf (
          "You have used %s LLM budget ($%.2f of $%.2f), so I'm answering without the language "
          "model. ",
          which, spent / 1e6, limit / 1e6);
      g_autofree char *msg = capabilities_reply (chat, lead);
      say (t, msg);
      turn_finish (t, "done", "budget", "the LLM budget is spent");
      return;
    }
  turn_llm_call (t);
}

/* ---- LLM context ---------------------------------------------------------------------------- */

static size_t
estimate_tokens (size_t bytes)
{
  return (bytes + BYTES_PER_TOKEN - 1) / BYTES_PER_TOKEN;
}

static JsonObject *
msg_object (const char *role, const char *content)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "role", role);
  json_object_set_string_member (o, "content", content);
  return o;
}

/* Stored tool calls ([{id, name, arguments}]) in the LLM's form. */
static JsonArray *
llm_tool_calls (LaresChat *chat, const char *stored)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  JsonArray *out = json_array_new ();
  JsonArray *in;

  if (stored == NULL || !json_parser_load_from_data (parser, stored, -1, NULL) ||
      !JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)))
    return out;
  in = json_node_get_array (json_parser_get_root (parser));
  for (unsigned i = 0; i < json_array_get_length (in); i++)
    {
      JsonObject *c = json_array_get_object_element (in, i);
      JsonObject *fn = json_object_new ();
      JsonObject *o = json_object_new ();
      const char *name = c ? json_object_get_string_member_with_default (c, "name", "") : "";
      const LaresTool *tool = lares_tool_registry_lookup (chat->tools, name);
      /* Names that are not tools ("approval.approve", what "yes" did) still
       * follow OpenAI's function name rules. */
      g_autofree char *llm_name = g_strdelimit (g_strdup (name), ".", '_');

      json_object_set_string_member (fn, "name", tool ? lares_tool_get_llm_name (tool) : llm_name);
      json_object_set_string_member (
          fn, "arguments",
          c ? json_object_get_string_member_with_default (c, "arguments", "{}") : "{}");
      json_object_set_string_member (
          o, "id", c ? json_object_get_string_member_with_default (c, "id", "call") : "call");
      json_object_set_string_member (o, "type", "function");
      json_object_set_object_member (o, "function", fn);
      json_array_add_object_element (out, o);
    }
  return out;
}

/* One stored message as LLM messages.  Text mode has no tool roles. */
static void
add_history_message (LaresTurn *t, JsonArray *out, const LaresMessage *m)
{
  if (strcmp (m->role, "user") == 0)
    json_array_add_object_element (out, msg_object ("user", m->content));
  else if (strcmp (m->role, "assistant") == 0)
    {
      if (m->tool_calls != NULL && t->tool_mode == MODE_NATIVE)
        {
          JsonObject *o = json_object_new ();
          json_object_set_string_member (o, "role", "assistant");
          if (*m->content)
            json_object_set_string_member (o, "content", m->content);
          else
            json_object_set_null_member (o, "content");
          json_object_set_array_member (o, "tool_calls", llm_tool_calls (t->chat, m->tool_calls));
          json_array_add_object_element (out, o);
        }
      else if (*m->content)
        json_array_add_object_element (out, msg_object ("assistant", m->content));
    }
  else if (strcmp (m->role, "tool") == 0)
    {
      if (t->tool_mode == MODE_NATIVE)
        {
          JsonObject *o = msg_object ("tool", m->content);
          json_object_set_string_member (o, "tool_call_id",
                                         m->tool_call_id ? m->tool_call_id : "call");
          json_array_add_object_element (out, o);
        }
      else
        {
          g_autofree char *text = g_strdup_printf (
              "Result of %s: %s", m->tool_name ? m->tool_name : "the tool", m->content);
          json_array_add_object_element (out, msg_object ("user", text));
        }
    }
}

static char *
system_prompt (LaresTurn *t)
{
  LaresChat *chat = t->chat;
  GString *s = g_string_new (lares_persona_get_prompt (chat->persona));
  const char *mode = lares_persona_get_mode (chat->persona, t->mode);
  g_autofree char *now = g_date_time_format (t->now, "%A %Y-%m-%d %H:%M %Z");
  JsonArray *facts = json_node_get_array (t->facts);

  if (mode != NULL)
    g_string_append_printf (s, "\n\nMode %s: %s", t->mode, mode);
  g_string_append_printf (s, "\n\nNow: %s.", now);
  if (json_array_get_length (facts) > 0)
    {
      g_string_append (s, "\n\nWhat the user asked you to remember:");
      for (unsigned i = 0; i < json_array_get_length (facts); i++)
        g_string_append_printf (
            s, "\n- %s",
            json_object_get_string_member (json_array_get_object_element (facts, i), "text"));
    }
  if (t->tool_mode == MODE_TEXT)
    g_string_append_printf (
        s,
        "\n\nTo use a tool, answer with only a JSON object {\"tool\": NAME, \"arguments\": "
        "{...}} and nothing else; you will get its result. Tools:\n%s",
        lares_tool_registry_get_catalog (chat->tools));
  return g_string_free (s, FALSE);
}

/* persona + now + facts + the recent turns that fit the budget + the text. */
static void
build_context (LaresTurn *t)
{
  const LaresConfig *cfg = t->chat->cfg;
  g_autofree char *sys = system_prompt (t);
  size_t budget = (size_t)cfg->chat_history_tokens;
  unsigned max_turns = (unsigned)cfg->chat_history_turns;
  size_t used = 0;
  unsigned turns = 0;
  gssize first = t->history ? (gssize)t->history->len : 0;

  if (t->reduced)
    budget /= 4, max_turns = MIN (max_turns, 2);
  g_clear_pointer (&t->messages, json_array_unref);
  t->messages = json_array_new ();
  json_array_add_object_element (t->messages, msg_object ("system", sys));
  /* Walk back whole turns while they fit. */
  while (first > 0 && turns < max_turns)
    {
      int64_t turn_id = ((LaresMessage *)t->history->pdata[first - 1])->turn_id;
      size_t cost = 0;
      gssize i = first;

      while (i > 0 && ((LaresMessage *)t->history->pdata[i - 1])->turn_id == turn_id)
        {
          const LaresMessage *m = t->history->pdata[i - 1];
          cost +=
              estimate_tokens (strlen (m->content) + (m->tool_calls ? strlen (m->tool_calls) : 0)) +
              4;
          i--;
        }
      if (used + cost > budget)
        break;
      used += cost;
      turns++;
      first = i;
    }
  for (gssize i = first; t->history && i < (gssize)t->history->len; i++)
    add_history_message (t, t->messages, t->history->pdata[i]);
  json_array_add_object_element (t->messages, msg_object ("user", t->text));
}

/* ---- the LLM agent loop --------------------------------------------------------------------- */

static int64_t
price_micros (LaresChat *chat, const char *model, int64_t prompt, int64_t completion)
{
  const Price *p = g_hash_table_lookup (chat->prices, model);

  if (p == NULL)
    p = g_hash_table_lookup (chat->prices, "*");
  if (p == NULL)
    return 0;
  return (int64_t)llround (prompt * p->in + completion * p->out);
}

static void
account (LaresTurn *t, const LaresLlmResult *r, const char *status)
{
  LaresChat *chat = t->chat;
  WriteOp *op = g_new0 (WriteOp, 1);
  gboolean estimated = FALSE;
  int64_t prompt = r->prompt_tokens, completion = r->completion_tokens;
  const char *model = lares_llm_get_model (chat->llm);

  if (prompt < 0)
    prompt = (int64_t)estimate_tokens (r->bytes_sent), estimated = TRUE;
  if (completion < 0)
    {
      size_t bytes = r->text ? r->text->len : 0;
      for (unsigned i = 0; r->tool_calls && i < r->tool_calls->len; i++)
        {
          const LaresLlmToolCall *c = r->tool_calls->pdata[i];
          bytes += strlen (c->name) + strlen (c->arguments);
        }
      completion = (int64_t)estimate_tokens (bytes);
      estimated = TRUE;
    }
  t->llm_calls++;
  chat->stats.llm_calls++;
  if (strcmp (status, "ok") != 0 && strcmp (status, "cancelled") != 0)
    chat->stats.llm_failures++;
  chat->stats.prompt_tokens += (uint64_t)prompt;
  chat->stats.completion_tokens += (uint64_t)completion;
  t->prompt_tokens += prompt;
  t->completion_tokens += completion;
  op->call.cost_micros = price_micros (chat, model, prompt, completion);
  t->cost_micros += op->call.cost_micros;
  t->llm_us += r->total_us > 0 ? r->total_us : 0;
  op->provider =
      g_strdup (lares_llm_get_provider (chat->llm) == LARES_LLM_OLLAMA ? "ollama" : "openai");
  op->model = g_strdup (model);
  op->call_status = g_strdup (status);
  op->call.user_id = t->user_id;
  op->call.turn_id = t->turn_id;
  op->call.provider = op->provider;
  op->call.model = op->model;
  op->call.status = op->call_status;
  op->call.prompt_tokens = prompt;
  op->call.completion_tokens = completion;
  op->call.estimated = estimated;
  op->call.bytes_sent = (int64_t)r->bytes_sent;
  op->call.duration_ms = r->total_us > 0 ? r->total_us / 1000 : 0;
  op->call.created_at = lares_now_ms ();
  record (t, llm_call_in_store, op);
}

static void
on_llm_text (const char *text, size_t len, gpointer data)
{
  LaresTurn *t = data;

  g_string_append_len (t->raw, text, len);
  if (t->holding)
    {
      if (lares_persona_maybe_text_tool_call (t->raw->str, t->raw->len))
        return;
      t->holding = FALSE;
      emit_filtered (t, t->raw->str, t->raw->len, FALSE);
      return;
    }
  emit_filtered (t, text, len, FALSE);
}

static void
tool_run_free (ToolRun *r)
{
  g_free (r->id);
  g_free (r->name);
  g_free (r->arguments);
  g_clear_pointer (&r->args, json_node_unref);
  g_clear_pointer (&r->result, json_node_unref);
  g_clear_error (&r->error);
  lares_approval_free (r->approval);
  g_free (r);
}

static void
round_finished (LaresTurn *t)
{
  ToolRun *bad = NULL;
  gboolean asked = FALSE;

  for (unsigned i = 0; i < t->round->len; i++)
    {
      ToolRun *r = t->round->pdata[i];
      g_autofree char *content = r->approval ? approval_tool_content (r->approval)
                                 : r->result ? json_to_string (r->result, FALSE)
                                             : g_strdup_printf ("error: %s", r->error->message);
      const char *tool = r->tool ? lares_tool_get_name (r->tool) : r->name;

      record_message (t, "tool", content, NULL, r->id, tool);
      if (t->tool_mode == MODE_NATIVE)
        {
          JsonObject *o = msg_object ("tool", content);
          json_object_set_string_member (o, "tool_call_id", r->id);
          json_array_add_object_element (t->messages, o);
        }
      else
        {
          g_autofree char *text = g_strdup_printf ("Result of %s: %s", tool, content);
          json_array_add_object_element (t->messages, msg_object ("user", text));
        }
      if (r->error && bad == NULL)
        bad = r;
      asked |= r->approval != NULL;
    }
  if (g_cancellable_is_cancelled (t->cancel))
    {
      turn_finish (t, "cancelled", "llm", "cancelled during a tool call");
      return;
    }
  if (bad != NULL)
    {
      gboolean invalid = bad->error->domain == LARES_TOOL_ERROR &&
                         (bad->error->code == LARES_TOOL_ERROR_INVALID_ARGS ||
                          bad->error->code == LARES_TOOL_ERROR_UNKNOWN);
      gboolean denied = g_error_matches (bad->error, LARES_TOOL_ERROR, LARES_TOOL_ERROR_DENIED);
      g_autofree char *msg = g_strdup_printf (
          "%s: %s", bad->tool ? lares_tool_get_name (bad->tool) : bad->name, bad->error->message);
      g_autofree char *text = g_strdup_printf ("I couldn't do that (%s).", msg);
      say (t, text);
      turn_fail (t, invalid ? "invalid_tool_call" : denied ? "denied" : "tool_failed", msg, "llm");
      return;
    }
  if (asked)
    {
      /* The turn ends here: what comes next is the owner's decision, not
       * the model's ("yes" in this conversation, or any other channel). */
      for (unsigned i = 0; i < t->round->len; i++)
        {
          ToolRun *r = t->round->pdata[i];
          if (r->approval)
            say_approval_prompt (t, r->approval);
        }
      turn_finish (t, "done", "llm", "a high-risk action waits for the owner's approval");
      return;
    }
  t->step++;
  turn_llm_call (t);
}

static void
tool_done (const LaresPolicyOutcome *out, gpointer data)
{
  ToolRun *r = data;
  LaresTurn *t = r->turn;

  t->tools_us += g_get_monotonic_time () - r->started_us;
  if (out->verdict == LARES_POLICY_PENDING)
    {
      r->approval = lares_approval_copy (out->approval);
      emit_approval (t, r->id, r->approval, r->args);
    }
  else
    {
      if (out->result)
        r->result = json_node_ref (out->result);
      else
        r->error = g_error_copy (out->error);
      emit_tool_event (t, r->id, lares_tool_get_name (r->tool), r->args,
                       out->error ? "error" : "done", out->result, out->error, NULL);
    }
  if (--t->round_pending == 0)
    round_finished (t);
}

/* Start a round: record the assistant's calls, check each, run the good
 * ones together. */
static void
run_round (LaresTurn *t, GPtrArray *calls, const char *content)
{
  LaresChat *chat = t->chat;
  g_autoptr (GString) stored = g_string_new ("[");
  JsonObject *assistant = json_object_new ();
  JsonArray *llm_calls = json_array_new ();

  if (t->round)
    g_ptr_array_unref (t->round);
  t->round = g_ptr_array_new_with_free_func ((GDestroyNotify)tool_run_free);
  for (unsigned i = 0; i < calls->len; i++)
    {
      const LaresLlmToolCall *c = calls->pdata[i];
      ToolRun *r = g_new0 (ToolRun, 1);
      JsonObject *fn = json_object_new ();
      JsonObject *o = json_object_new ();

      r->turn = t;
      r->id = g_strdup (c->id && *c->id ? c->id : "call");
      r->name = g_strdup (c->name ? c->name : "");
      r->arguments = g_strdup (c->arguments ? c->arguments : "");
      r->tool = lares_tool_registry_lookup (chat->tools, r->name);
      g_ptr_array_add (t->round, r);
      g_string_append (stored, i ? ",{\"id\":" : "{\"id\":");
      lares_json_append_string (stored, r->id, -1);
      g_string_append (stored, ",\"name\":");
      lares_json_append_string (stored, r->tool ? lares_tool_get_name (r->tool) : r->name, -1);
      g_string_append (stored, ",\"arguments\":");
      lares_json_append_string (stored, r->arguments, -1);
      g_string_append_c (stored, '}');
      json_object_set_string_member (fn, "name", r->name);
      json_object_set_string_member (fn, "arguments", r->arguments);
      json_object_set_string_member (o, "id", r->id);
      json_object_set_string_member (o, "type", "function");
      json_object_set_object_member (o, "function", fn);
      json_array_add_object_element (llm_calls, o);
    }
  g_string_append_c (stored, ']');
  record_message (t, "assistant", content, stored->str, NULL, NULL);
  json_object_set_string_member (assistant, "role", "assistant");
  if (t->tool_mode == MODE_NATIVE)
    {
      if (*content)
        json_object_set_string_member (assistant, "content", content);
      else
        json_object_set_null_member (assistant, "content");
      json_object_set_array_member (assistant, "tool_calls", llm_calls);
    }
  else
    {
      json_object_set_string_member (assistant, "content", t->raw->str);
      json_array_unref (llm_calls);
    }
  json_array_add_object_element (t->messages, assistant);

  /* Check everything first: one bad call stops the round before any runs. */
  for (unsigned i = 0; i < t->round->len; i++)
    {
      ToolRun *r = t->round->pdata[i];
      if (r->tool == NULL)
        r->error =
            g_error_new (LARES_TOOL_ERROR, LARES_TOOL_ERROR_UNKNOWN, "no tool named '%s'", r->name);
      else
        r->args = lares_tool_parse_args (r->tool, r->arguments, &r->error);
      if (r->error)
        emit_tool_event (t, r->id, r->tool ? lares_tool_get_name (r->tool) : r->name, NULL, "error",
                         NULL, r->error, NULL);
    }
  for (unsigned i = 0; i < t->round->len; i++)
    if (((ToolRun *)t->round->pdata[i])->error)
      {
        round_finished (t);
        return;
      }
  t->round_pending = t->round->len;
  for (unsigned i = 0; i < t->round->len; i++)
    {
      ToolRun *r = t->round->pdata[i];
      r->started_us = g_get_monotonic_time ();
      emit_tool_event (t, r->id, lares_tool_get_name (r->tool), r->args, "running", NULL, NULL,
                       NULL);
    }
  /* Handlers may finish synchronously; the count keeps the round alive. */
  t->round_pending++;
  for (unsigned i = 0; i < t->round->len; i++)
    {
      ToolRun *r = t->round->pdata[i];
      LaresActor actor = turn_actor (t, "llm");
      lares_policy_run (chat->policy, r->tool, &t->tool_ctx, &actor, t->conversation_id, r->args,
                        tool_done, r);
    }
  if (--t->round_pending == 0)
    round_finished (t);
}

static const char *
llm_error_code (const GError *error, const char **reason)
{
  if (error->domain != LARES_LLM_ERROR)
    return *reason = "it failed", "llm_error";
  switch ((LaresLlmError)error->code)
    {
    case LARES_LLM_ERROR_CONNECT:
      return *reason = "it cannot be reached", "llm_unreachable";
    case LARES_LLM_ERROR_TIMEOUT:
      return *reason = "it did not answer in time", "llm_timeout";
    case LARES_LLM_ERROR_HTTP:
      return *reason = "it answered with an error", "llm_http_error";
    case LARES_LLM_ERROR_PROTOCOL:
      return *reason = "it sent something that is not an answer", "llm_bad_response";
    case LARES_LLM_ERROR_TRUNCATED:
      return *reason = "its answer was cut off", "llm_truncated";
    case LARES_LLM_ERROR_UNCONFIGURED:
      return *reason = "it is not configured", "llm_unconfigured";
    }
  return *reason = "it failed", "llm_error";
}

static void
on_llm_done (const LaresLlmResult *r, const GError *error, gpointer data)
{
  LaresTurn *t = data;
  LaresChat *chat = t->chat;
  g_autofree char *text_name = NULL;
  g_autofree char *text_args = NULL;
  g_autoptr (GPtrArray) text_calls = NULL;
  GPtrArray *calls = r->tool_calls;

  if (error && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      account (t, r, "cancelled");
      if (t->holding)
        t->holding = FALSE;
      turn_finish (t, "cancelled", "llm", "cancelled by the user");
      return;
    }
  if (error)
    {
      const char *reason;
      const char *code = llm_error_code (error, &reason);
      gboolean timeout = error->domain == LARES_LLM_ERROR && error->code == LARES_LLM_ERROR_TIMEOUT;

      account (t, r, timeout ? "timeout" : "error");
      g_warning ("turn %" G_GINT64_FORMAT ": LLM call failed: %s", t->turn_id, error->message);
      if (timeout && !t->retried && t->reply->len == 0 && t->step == 0)
        {
          /* Once more with less to read. */
          t->retried = TRUE;
          t->reduced = TRUE;
          build_context (t);
          turn_llm_call (t);
          return;
        }
      if (t->holding)
        {
          t->holding = FALSE;
          emit_filtered (t, t->raw->str, t->raw->len, FALSE);
        }
      if (t->reply->len > 0)
        {
          g_autofree char *note = g_strdup_printf (" … (the answer was cut off: the language "
                                                   "model %s.)",
                                                   reason);
          say (t, note);
        }
      else
        {
          g_autofree char *lead = g_strdup_printf ("I can't use the language model right now (%s). "
                                                   "Without it, ",
                                                   reason);
          g_autofree char *msg = capabilities_reply (chat, lead);
          say (t, msg);
        }
      turn_fail (t, code, error->message, "fallback");
      return;
    }

  account (t, r, "ok");
  if ((calls == NULL || calls->len == 0) && t->tool_mode != MODE_NONE &&
      lares_persona_parse_text_tool_call (t->raw->str, &text_name, &text_args) &&
      lares_tool_registry_lookup (chat->tools, text_name) != NULL)
    {
      LaresLlmToolCall *c = g_new0 (LaresLlmToolCall, 1);
      c->id = g_strdup_printf ("text_%u", t->step + 1);
      c->name = g_steal_pointer (&text_name);
      c->arguments = g_steal_pointer (&text_args);
      text_calls = g_ptr_array_new ();
      g_ptr_array_add (text_calls, c);
      calls = text_calls;
      t->holding = FALSE;
    }
  else if (t->holding)
    {
      t->holding = FALSE;
      emit_filtered (t, t->raw->str, t->raw->len, FALSE);
    }

  if (calls != NULL && calls->len > 0)
    {
      const char *which;
      int64_t limit;

      if (t->step >= (unsigned)chat->cfg->llm_max_tool_steps)
        {
          say (t, t->reply->len ? " (I stopped: too many tool steps for one request.)"
                                : "I stopped: that needed too many tool steps for one request.");
          turn_finish (t, "done", "llm", "the tool step limit was reached");
        }
      else if (turn_spend_over (t, &which, &limit) >= 0)
        {
          say (t, " (I stopped: the LLM budget is spent.)");
          turn_finish (t, "done", "budget", "the LLM budget ran out during the turn");
        }
      else
        {
          g_autofree char *content = g_strndup (t->reply->str, t->reply->len);
          run_round (t, calls, text_calls ? "" : content);
        }
      if (text_calls)
        {
          LaresLlmToolCall *c = text_calls->pdata[0];
          g_free (c->id), g_free (c->name), g_free (c->arguments), g_free (c);
        }
      return;
    }
  turn_finish (t, "done", "llm",
               t->llm_calls > 1 ? "the LLM answered after using tools" : "the LLM answered");
}

static void
turn_llm_call (LaresTurn *t)
{
  LaresChat *chat = t->chat;
  static const LaresLlmCallbacks callbacks = { on_llm_text, on_llm_done };
  g_autoptr (JsonNode) messages = NULL;

  if (g_cancellable_is_cancelled (t->cancel))
    {
      turn_finish (t, "cancelled", "llm", "cancelled by the user");
      return;
    }
  if (t->messages == NULL)
    build_context (t);
  g_string_truncate (t->raw, 0);
  t->holding = t->tool_mode != MODE_NONE;
  messages = json_node_init_array (json_node_alloc (), t->messages);
  lares_llm_chat (chat->llm, messages,
                  t->tool_mode == MODE_NATIVE ? lares_tool_registry_get_llm_tools (chat->tools)
                                              : NULL,
                  t->cancel, &callbacks, t);
}

/* ---- starting ------------------------------------------------------------------------------- */

static void turn_begin (LaresTurn *t, int64_t conv);

static gboolean
begin_from_memo (gpointer data)
{
  turn_begin (data, 0);
  return G_SOURCE_REMOVE;
}

static void
prepared (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  ReadOp *op = data;
  LaresTurn *t = op->turn;
  LaresChat *chat = t->chat;
  g_autoptr (GError) error = NULL;
  int64_t conv = op->conversation_id;

  if (!lares_store_read_finish (chat->store, res, &error))
    {
      gboolean missing = g_error_matches (error, LARES_STORE_ERROR, LARES_STORE_ERROR_NOT_FOUND);
      g_free (op);
      t->error_code = g_strdup (missing ? "not_found" : "store_error");
      emit_error (t, t->error_code, missing ? "no such conversation" : error->message);
      turn_finish (t, "error", "none", missing ? "no such conversation" : "the store failed");
      return;
    }
  {
    UserMemo *m = user_memo (chat, t->user_id);
    if (m->gen == op->memo_gen)
      {
        g_clear_pointer (&m->facts, json_node_unref);
        m->facts = json_node_ref (t->facts);
        g_free (m->mode);
        m->mode = g_strdup (t->mode);
        g_free (m->zone);
        m->zone = g_strdup (t->zone);
        g_strfreev (m->projects);
        m->projects = g_strdupv (t->projects);
        m->valid = TRUE;
      }
  }
  g_free (op);
  turn_begin (t, conv);
}

/* The turn has what it needs to start: a resolved conversation (0: a new
 * one), facts, mode and zone. */
static void
turn_begin (LaresTurn *t, int64_t conv)
{
  LaresChat *chat = t->chat;
  WriteOp *w;

  if (t->zone && *t->zone)
    t->tz = g_time_zone_new_identifier (t->zone);
  if (t->tz == NULL)
    t->tz = g_time_zone_ref (chat->local_tz);
  t->now = g_date_time_new_now (t->tz);
  t->tool_ctx.store = chat->store;
  t->tool_ctx.user_id = t->user_id;
  t->tool_ctx.now = t->now;
  t->tool_ctx.scheduler = chat->scheduler;
  t->tool_ctx.bus = chat->bus;
  if (t->mode && *t->mode == '\0')
    g_clear_pointer (&t->mode, g_free);

  /* The turn exists from here: ids, the record, turn_start. */
  t->new_conversation = conv == 0;
  t->conversation_id = conv ? conv : chat->next_conversation_id++;
  t->turn_id = chat->next_turn_id++;
  t->started = TRUE;
  w = g_new0 (WriteOp, 1);
  w->user_id = t->user_id;
  w->conversation_id = t->conversation_id;
  w->create = t->new_conversation;
  w->turn_id = t->turn_id;
  w->channel = g_strdup (t->channel);
  w->text = g_strdup (t->text);
  w->key = g_strdup (t->conversation_key);
  w->now_ms = lares_now_ms ();
  record (t, begin_in_store, w);
  {
    JsonObject *o = NULL;

    if (event_json_wanted (t))
      {
        o = json_object_new ();
        json_object_set_string_member (o, "text", t->text);
        json_object_set_string_member (o, "channel", t->channel);
      }
    emit (t, LARES_TURN_EVENT_START, "turn_start", NULL, 0, NULL, o);
  }
  if (chat->engine == NULL)
    {
      g_queue_push_tail (&chat->waiting, t);
      return;
    }
  understand (t);
}

static gboolean
valid_text (const char *text, size_t max_chars, GError **error)
{
  const char *p;

  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    {
      g_set_error (error, LARES_CHAT_ERROR, LARES_CHAT_ERROR_INVALID, "text must be UTF-8");
      return FALSE;
    }
  for (p = text; *p && g_ascii_isspace (*p); p++)
    ;
  if (*p == '\0')
    {
      g_set_error (error, LARES_CHAT_ERROR, LARES_CHAT_ERROR_INVALID, "text is empty");
      return FALSE;
    }
  if ((size_t)g_utf8_strlen (text, -1) > max_chars)
    {
      g_set_error (error, LARES_CHAT_ERROR, LARES_CHAT_ERROR_INVALID,
                   "text is longer than %zu characters", max_chars);
      return FALSE;
    }
  return TRUE;
}

static GDateTime *
local_midnight (GTimeZone *tz, gboolean month)
{
  g_autoptr (GDateTime) now = g_date_time_new_now (tz);
  return g_date_time_new (tz, g_date_time_get_year (now), g_date_time_get_month (now),
                          month ? 1 : g_date_time_get_day_of_month (now), 0, 0, 0);
}

LaresTurn *
lares_chat_turn (LaresChat *chat, const LaresTurnRequest *request, const LaresTurnSink *sink,
                 GError **error)
{
  LaresTurn *t;
  ReadOp *op;
  unsigned mine = 0;

  if (!valid_text (request->text, (size_t)chat->cfg->chat_max_text, error))
    return NULL;
  for (GList *l = chat->running.head; l; l = l->next)
    if (((LaresTurn *)l->data)->user_id == request->user_id)
      mine++;
  if (mine >= RUNNING_PER_USER_MAX)
    {
      g_set_error (error, LARES_CHAT_ERROR, LARES_CHAT_ERROR_BUSY,
                   "too many turns are running; wait for one to finish");
      return NULL;
    }
  t = g_new0 (LaresTurn, 1);
  t->chat = chat;
  t->link.data = t;
  t->t0_us = g_get_monotonic_time ();
  t->user_id = request->user_id;
  t->conversation_id = request->conversation_id;
  t->channel = g_strdup (request->channel ? request->channel : "rest");
  t->text = g_strstrip (g_strdup (request->text));
  t->conversation_key = g_strdup (request->conversation_key);
  t->untrusted = request->untrusted;
  if (sink)
    t->sink = *sink, t->has_sink = TRUE;
  t->cancel = g_cancellable_new ();
  t->ops = g_ptr_array_new_with_free_func ((GDestroyNotify)write_op_free);
  t->raw = g_string_new (NULL);
  t->reply = g_string_new (NULL);
  t->emotions = g_ptr_array_new ();
  t->tool_events = json_array_new ();
  t->tool_mode = g_strcmp0 (chat->cfg->llm_tools, "text") == 0   ? MODE_TEXT
                 : g_strcmp0 (chat->cfg->llm_tools, "none") == 0 ? MODE_NONE
                                                                 : MODE_NATIVE;
  lares_emotion_filter_init (&t->filter, chat->persona);
  g_queue_push_tail_link (&chat->running, &t->link);

  /* A new conversation of a user whose facts and mode are known starts
   * without a store read (the chat bench's common case); from the next
   * main-loop pass, so the caller's sink is set up before the first event.
   * At default priority, not idle: an idle source waits for a pass in
   * which nothing else is ready, and with streams open some token nearly
   * always is, so under load the turn would wait for the others' tokens. */
  if (t->conversation_id == 0 && t->conversation_key == NULL &&
      !(chat->llm && (chat->budget_daily_micros > 0 || chat->budget_monthly_micros > 0)))
    {
      UserMemo *m = g_hash_table_lookup (chat->memo, &t->user_id);
      if (m != NULL && m->valid)
        {
          t->facts = json_node_ref (m->facts);
          t->mode = g_strdup (m->mode);
          t->zone = g_strdup (m->zone);
          t->projects = g_strdupv (m->projects);
          g_idle_add_full (G_PRIORITY_DEFAULT, begin_from_memo, t, NULL);
          return t;
        }
    }
  op = g_new0 (ReadOp, 1);
  op->turn = t;
  op->memo_gen = user_memo (chat, t->user_id)->gen;
  op->history_turns = (unsigned)chat->cfg->chat_history_turns;
  if (chat->llm && (chat->budget_daily_micros > 0 || chat->budget_monthly_micros > 0))
    {
      g_autoptr (GDateTime) day = local_midnight (chat->local_tz, FALSE);
      g_autoptr (GDateTime) month = local_midnight (chat->local_tz, TRUE);
      op->want_spend = TRUE;
      op->day_start_ms = g_date_time_to_unix (day) * 1000;
      op->month_start_ms = g_date_time_to_unix (month) * 1000;
    }
  lares_store_read_async (chat->store, prepare_in_store, op, NULL, prepared, op);
  return t;
}

unsigned
lares_chat_cancel (LaresChat *chat, int64_t user_id, int64_t turn_id)
{
  unsigned n = 0;

  for (GList *l = chat->running.head; l; l = l->next)
    {
      LaresTurn *t = l->data;
      if (t->user_id == user_id && (turn_id == 0 || t->turn_id == turn_id) && !t->finishing)
        {
          g_cancellable_cancel (t->cancel);
          n++;
        }
    }
  return n;
}

void
lares_chat_cancel_all (LaresChat *chat)
{
  for (GList *l = chat->running.head; l; l = l->next)
    g_cancellable_cancel (((LaresTurn *)l->data)->cancel);
}

void
lares_turn_detach (LaresTurn *t)
{
  t->has_sink = FALSE;
  g_cancellable_cancel (t->cancel);
}

const LaresTurnResult *
lares_turn_get_result (const LaresTurn *t)
{
  return &t->result;
}

int64_t
lares_turn_get_id (const LaresTurn *t)
{
  return t->turn_id;
}

JsonNode *
lares_turn_to_json (const LaresTurn *t)
{
  LaresTurn *mut = (LaresTurn *)t;
  Timings now = t->ended ? t->end_timings : timings_now (mut);
  JsonObject *o = end_members (mut, &now);

  json_object_set_int_member (o, "turn_id", t->result.turn_id);
  json_object_set_int_member (o, "conversation_id", t->conversation_id);
  json_object_set_array_member (o, "tool_calls", json_array_ref (t->tool_events));
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  if (t->emotion)
    json_object_set_string_member (o, "emotion", t->emotion);
  else
    json_object_set_null_member (o, "emotion");
  json_node_take_object (node, o);
  return node;
}

/* ---- tools outside a turn (REST) ------------------------------------------------------------ */

typedef struct
{
  LaresChat *chat;
  const LaresTool *tool;
  int64_t user_id;
  gboolean is_owner;
  char *via, *ip;
  JsonNode *args;
  char *zone;
  GDateTime *now;
  LaresToolContext ctx;
  LaresPolicyDone done;
  gpointer user_data;
} ToolOp;

static void
tool_op_free (ToolOp *op)
{
  g_free (op->via);
  g_free (op->ip);
  json_node_unref (op->args);
  g_free (op->zone);
  g_clear_pointer (&op->now, g_date_time_unref);
  g_free (op);
}

static gboolean
tool_zone_in_store (sqlite3 *db, gpointer data, GError **error G_GNUC_UNUSED)
{
  ToolOp *op = data;

  op->zone = lares_user_setting_get (db, op->user_id, "timezone", NULL);
  return TRUE;
}

static void
tool_op_done (const LaresPolicyOutcome *out, gpointer data)
{
  ToolOp *op = data;

  op->done (out, op->user_data);
  tool_op_free (op);
}

static void
tool_zone_read (GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer data)
{
  ToolOp *op = data;
  LaresChat *chat = op->chat;
  g_autoptr (GTimeZone) tz = NULL;
  LaresActor actor = {
    .user_id = op->user_id, .is_owner = op->is_owner, .via = op->via, .ip = op->ip
  };

  (void)lares_store_read_finish (chat->store, res, NULL); /* no zone: the local one */
  if (op->zone && *op->zone)
    tz = g_time_zone_new_identifier (op->zone);
  if (tz == NULL)
    tz = g_time_zone_ref (chat->local_tz);
  op->now = g_date_time_new_now (tz);
  op->ctx.store = chat->store;
  op->ctx.user_id = op->user_id;
  op->ctx.now = op->now;
  op->ctx.capabilities = chat->engine ? lares_intent_engine_get_capabilities (chat->engine) : NULL;
  op->ctx.scheduler = chat->scheduler;
  op->ctx.bus = chat->bus;
  lares_policy_run (chat->policy, op->tool, &op->ctx, &actor, 0, op->args, tool_op_done, op);
}

void
lares_chat_run_tool (LaresChat *chat, const LaresActor *actor, const char *name, JsonNode *args,
                     LaresPolicyDone done, gpointer user_data)
{
  const LaresTool *tool = lares_tool_registry_lookup (chat->tools, name);
  ToolOp *op;

  if (tool == NULL)
    {
      g_autoptr (GError) error =
          g_error_new (LARES_TOOL_ERROR, LARES_TOOL_ERROR_UNKNOWN, "no tool named '%s'", name);
      LaresPolicyOutcome out = { .verdict = LARES_POLICY_FAILED, .error = error };
      done (&out, user_data);
      return;
    }
  op = g_new0 (ToolOp, 1);
  op->chat = chat;
  op->tool = tool;
  op->user_id = actor->user_id;
  op->is_owner = actor->is_owner;
  op->via = g_strdup (actor->via);
  op->ip = g_strdup (actor->ip);
  op->args = json_node_copy (args);
  op->done = done;
  op->user_data = user_data;
  lares_store_read_async (chat->store, tool_zone_in_store, op, NULL, tool_zone_read, op);
}
