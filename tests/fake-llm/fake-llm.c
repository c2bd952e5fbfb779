/* fake-llm.c — a scriptable stand-in for an LLM server, for lares tests and
 * benches.  It speaks the OpenAI chat completions API (SSE and plain JSON)
 * and Ollama's /api/chat (NDJSON) on 127.0.0.1, byte for byte as
 * PROTOCOLS.md §3.1 and §3.3, and can misbehave on purpose: errors, delays,
 * pings, CRLF line ends, split or coalesced writes, garbage, hangs and cut
 * connections.  The script format is in README.md next to this file.
 *
 * lares never links or runs this program; only tests/ and bench/ do.
 *
 * DESIGN
 * - One thread, one GMainLoop.  A chat request is answered from a Req that
 *   holds the whole response, rendered up front into one buffer (GBytes)
 *   plus a list of steps: (delay, end offset).  Timers append slices of that
 *   buffer to the paused SoupServerMessage, so a client sees each step when
 *   its delay has passed and nothing is allocated per token beyond the
 *   slice.  Steps with no delay merge into the step before them, so a
 *   zero-delay response is a single chunk write.
 * - A Req is owned by the `active` queue and freed exactly once: when
 *   libsoup reports the message finished, when we drop the connection on
 *   purpose (cut, client gone), or at shutdown.  Every path disconnects our
 *   signal handlers from the message first, so no callback sees a freed Req.
 * - The record line of a request is written (and flushed) before the last
 *   bytes of its response are handed to libsoup, so once a client has read
 *   a complete response, its record is on disk.  Responses that never end
 *   (hang) are recorded when the client goes away or at shutdown.  The
 *   record is a small blocking write on the main thread: acceptable for a
 *   test fake, not for lares itself.
 * - libsoup sends no response headers while a message is paused and has no
 *   body data.  A handler that returns without pausing makes it send the
 *   headers at once and then wait for body chunks; `delay-headers` and
 *   `hang-headers` pause in the handler instead.
 */
#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Fixed so that tests can compare bytes: 2023-11-14T22:13:20Z. */
#define FAKE_CREATED    1700000000
#define FAKE_CREATED_AT "2023-11-14T22:13:20Z"

/* ---- the script ---------------------------------------------------------- */

typedef enum
{
  EV_TOKEN,   /* text: content piece */
  EV_CALL,    /* index, name, id (nullable): a tool call starts */
  EV_ARGS,    /* index, text: an arguments fragment */
  EV_PING,    /* an SSE comment line */
  EV_GARBAGE, /* text: a data line that is not JSON */
  EV_SLEEP,   /* ms: extra pause before the next event */
} EventKind;

typedef struct
{
  EventKind kind;
  int index;
  unsigned ms;
  char *text; /* owned, nullable */
  char *name; /* owned, nullable */
  char *id;   /* owned, nullable */
} Event;

typedef struct
{
  unsigned status;    /* HTTP status; 200 streams */
  GPtrArray *headers; /* name, value, name, value… (owned strings) */
  char *body;         /* owned, nullable: send this instead of a completion */
  unsigned delay_headers, delay_first, delay, split_ms; /* ms */
  GArray *events;                                       /* Event */
  char *finish;       /* owned, nullable: default from the events */
  gboolean usage_set; /* usage numbers given */
  unsigned usage_prompt, usage_completion;
  gboolean no_usage, no_done, crlf, split, coalesce, hang, hang_headers, json_text;
  int cut;          /* close after this many events; -1 never */
  GPtrArray *calls; /* Event * of the EV_CALL events, in script order (borrowed) */
} Response;

static void
event_clear (Event *ev)
{
  g_free (ev->text);
  g_free (ev->name);
  g_free (ev->id);
}

static Response *
response_new (void)
{
  Response *r = g_new0 (Response, 1);

  r->status = 200;
  r->headers = g_ptr_array_new_with_free_func (g_free);
  r->events = g_array_new (FALSE, TRUE, sizeof (Event));
  g_array_set_clear_func (r->events, (GDestroyNotify)event_clear);
  r->split_ms = 2;
  r->cut = -1;
  return r;
}

static void
response_free (Response *r)
{
  g_ptr_array_unref (r->headers);
  g_free (r->body);
  g_array_unref (r->events);
  g_free (r->finish);
  g_clear_pointer (&r->calls, g_ptr_array_unref);
  g_free (r);
}

/* Undo the escapes of a script text: \\ \n \t \r and \s (a space, for
 * leading or trailing blanks that editors would eat).  NULL on a bad
 * escape. */
static char *
unescape (const char *s)
{
  GString *out = g_string_sized_new (strlen (s));

  for (; *s; s++)
    {
      if (*s != '\\')
        {
          g_string_append_c (out, *s);
          continue;
        }
      switch (*++s)
        {
        case '\\':
          g_string_append_c (out, '\\');
          break;
        case 'n':
          g_string_append_c (out, '\n');
          break;
        case 't':
          g_string_append_c (out, '\t');
          break;
        case 'r':
          g_string_append_c (out, '\r');
          break;
        case 's':
          g_string_append_c (out, ' ');
          break;
        default:
          g_string_free (out, TRUE);
          return NULL;
        }
    }
  return g_string_free (out, FALSE);
}

static gboolean
parse_uint (const char *s, unsigned max, unsigned *out)
{
  guint64 v;

  if (s == NULL || !g_ascii_string_to_unsigned (s, 10, 0, max, &v, NULL))
    return FALSE;
  *out = (unsigned)v;
  return TRUE;
}

static Event *
find_call (Response *r, int index)
{
  for (unsigned i = 0; r->calls && i < r->calls->len; i++)
    {
      Event *ev = g_ptr_array_index (r->calls, i);
      if (ev->index == index)
        return ev;
    }
  return NULL;
}

static void
add_event (Response *r, EventKind kind, int index, unsigned ms, char *text, char *name, char *id)
{
  Event ev = { kind, index, ms, text, name, id };

  g_array_append_val (r->events, ev);
}

/* The concatenated argument fragments of tool call @index.  (transfer full) */
static char *
joined_args (const Response *r, int index)
{
  GString *s = g_string_new (NULL);

  for (unsigned i = 0; i < r->events->len; i++)
    {
      const Event *ev = &g_array_index (r->events, Event, i);
      if (ev->kind == EV_ARGS && ev->index == index)
        g_string_append (s, ev->text);
    }
  return g_string_free (s, FALSE);
}

/* Re-index the EV_CALL events after the events array stopped growing. */
static void
response_index_calls (Response *r)
{
  g_clear_pointer (&r->calls, g_ptr_array_unref);
  r->calls = g_ptr_array_new ();
  for (unsigned i = 0; i < r->events->len; i++)
    if (g_array_index (r->events, Event, i).kind == EV_CALL)
      g_ptr_array_add (r->calls, &g_array_index (r->events, Event, i));
}

/* json-text: the tool calls become text, {"name":…,"arguments":…} per call
 * on its own line, at the place of the first call. */
static void
response_calls_to_text (Response *r)
{
  GArray *events = g_array_new (FALSE, TRUE, sizeof (Event));
  gboolean placed = FALSE;

  g_array_set_clear_func (events, (GDestroyNotify)event_clear);
  for (unsigned i = 0; i < r->events->len; i++)
    {
      Event *ev = &g_array_index (r->events, Event, i);

      if (ev->kind != EV_CALL && ev->kind != EV_ARGS)
        {
          g_array_append_val (events, *ev);
          memset (ev, 0, sizeof *ev);
          continue;
        }
      if (ev->kind == EV_CALL && !placed)
        {
          placed = TRUE;
          for (unsigned c = 0; c < r->calls->len; c++)
            {
              const Event *call = g_ptr_array_index (r->calls, c);
              GString *head = g_string_new (c ? "\n{\"name\":\"" : "{\"name\":\"");
              Event t = { EV_TOKEN, 0, 0, NULL, NULL, NULL };

              g_string_append (head, call->name);
              g_string_append (head, "\",\"arguments\":");
              t.text = g_string_free (head, FALSE);
              g_array_append_val (events, t);
              for (unsigned j = 0; j < r->events->len; j++)
                {
                  const Event *a = &g_array_index (r->events, Event, j);
                  if (a->kind == EV_ARGS && a->index == call->index)
                    {
                      Event piece = { EV_TOKEN, 0, 0, g_strdup (a->text), NULL, NULL };
                      g_array_append_val (events, piece);
                    }
                }
              t.text = g_strdup ("}");
              g_array_append_val (events, t);
            }
        }
    }
  g_array_unref (r->events);
  r->events = events;
  response_index_calls (r);
}

static gboolean
script_error (GError **error, const char *file, unsigned line, const char *what, const char *arg)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s:%u: %s%s%s%s", file, line, what,
               arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
  return FALSE;
}

/* The response is complete: index its calls, apply json-text. */
static void
response_finish (Response *r)
{
  response_index_calls (r);
  if (r->json_text)
    response_calls_to_text (r);
}

/* Parse one script line into @r.  @kw is the keyword, @rest what follows
 * the single space after it (or NULL). */
static gboolean
parse_line (Response *r, const char *kw, const char *rest, GError **error, const char *file,
            unsigned line)
{
  g_auto (GStrv) argv = rest ? g_strsplit (rest, " ", -1) : g_new0 (char *, 1);
  unsigned argc = g_strv_length (argv);
  unsigned n, m;

#define NEED(cond, what)                                                                           \
  do                                                                                               \
    {                                                                                              \
      if (!(cond))                                                                                 \
        return script_error (error, file, line, what, kw);                                         \
    }                                                                                              \
  while (0)

  if (strcmp (kw, "token") == 0 || strcmp (kw, "garbage") == 0 || strcmp (kw, "body") == 0)
    {
      char *text = unescape (rest ? rest : "");

      NEED (text != NULL, "bad escape after");
      if (strcmp (kw, "body") == 0)
        {
          g_free (r->body);
          r->body = text;
        }
      else
        add_event (r, kw[0] == 't' ? EV_TOKEN : EV_GARBAGE, 0, 0, text, NULL, NULL);
    }
  else if (strcmp (kw, "call") == 0)
    {
      NEED ((argc == 2 || argc == 3) && parse_uint (argv[0], 1000, &n) && *argv[1],
            "usage: call INDEX NAME [ID] in");
      response_index_calls (r);
      NEED (find_call (r, (int)n) == NULL, "tool call index used twice in");
      add_event (r, EV_CALL, (int)n, 0, NULL, g_strdup (argv[1]),
                 argc == 3 ? g_strdup (argv[2]) : NULL);
    }
  else if (strcmp (kw, "args") == 0)
    {
      const char *sp = rest ? strchr (rest, ' ') : NULL;
      char *text;

      NEED (argc >= 1 && parse_uint (argv[0], 1000, &n), "usage: args INDEX TEXT in");
      response_index_calls (r);
      NEED (find_call (r, (int)n) != NULL, "args before its call in");
      text = unescape (sp ? sp + 1 : "");
      NEED (text != NULL, "bad escape after");
      add_event (r, EV_ARGS, (int)n, 0, text, NULL, NULL);
    }
  else if (strcmp (kw, "ping") == 0)
    add_event (r, EV_PING, 0, 0, NULL, NULL, NULL);
  else if (strcmp (kw, "sleep") == 0)
    {
      NEED (argc == 1 && parse_uint (argv[0], 3600000, &n), "usage: sleep MS in");
      add_event (r, EV_SLEEP, 0, n, NULL, NULL, NULL);
    }
  else if (strcmp (kw, "status") == 0)
    NEED (argc == 1 && parse_uint (argv[0], 599, &r->status) && r->status >= 100,
          "usage: status CODE in");
  else if (strcmp (kw, "header") == 0)
    {
      const char *sp = rest ? strchr (rest, ' ') : NULL;

      NEED (sp != NULL && sp != rest, "usage: header NAME VALUE in");
      g_ptr_array_add (r->headers, g_strndup (rest, (size_t)(sp - rest)));
      g_ptr_array_add (r->headers, g_strdup (sp + 1));
    }
  else if (strcmp (kw, "delay-headers") == 0)
    NEED (argc == 1 && parse_uint (argv[0], 3600000, &r->delay_headers),
          "usage: delay-headers MS in");
  else if (strcmp (kw, "delay-first") == 0)
    NEED (argc == 1 && parse_uint (argv[0], 3600000, &r->delay_first), "usage: delay-first MS in");
  else if (strcmp (kw, "delay") == 0)
    NEED (argc == 1 && parse_uint (argv[0], 3600000, &r->delay), "usage: delay MS in");
  else if (strcmp (kw, "finish") == 0)
    {
      NEED (argc == 1 && *argv[0], "usage: finish REASON in");
      g_free (r->finish);
      r->finish = g_strdup (argv[0]);
    }
  else if (strcmp (kw, "usage") == 0)
    {
      NEED (argc == 2 && parse_uint (argv[0], G_MAXINT, &n) && parse_uint (argv[1], G_MAXINT, &m),
            "usage: usage PROMPT COMPLETION in");
      r->usage_set = TRUE;
      r->usage_prompt = n;
      r->usage_completion = m;
    }
  else if (strcmp (kw, "cut") == 0)
    {
      NEED (argc == 1 && parse_uint (argv[0], 1000000, &n), "usage: cut N in");
      r->cut = (int)n;
    }
  else if (strcmp (kw, "split") == 0)
    {
      NEED (argc == 0 || (argc == 1 && parse_uint (argv[0], 60000, &r->split_ms)),
            "usage: split [MS] in");
      r->split = TRUE;
    }
  else
    {
      static const struct
      {
        const char *kw;
        size_t off;
      } flags[] = {
        { "no-usage", G_STRUCT_OFFSET (Response, no_usage) },
        { "no-done", G_STRUCT_OFFSET (Response, no_done) },
        { "crlf", G_STRUCT_OFFSET (Response, crlf) },
        { "coalesce", G_STRUCT_OFFSET (Response, coalesce) },
        { "hang", G_STRUCT_OFFSET (Response, hang) },
        { "hang-headers", G_STRUCT_OFFSET (Response, hang_headers) },
        { "json-text", G_STRUCT_OFFSET (Response, json_text) },
      };
      size_t i;

      for (i = 0; i < G_N_ELEMENTS (flags); i++)
        if (strcmp (kw, flags[i].kw) == 0)
          break;
      NEED (i < G_N_ELEMENTS (flags), "unknown keyword");
      NEED (argc == 0, "no argument expected after");
      G_STRUCT_MEMBER (gboolean, r, flags[i].off) = TRUE;
    }
#undef NEED
  return TRUE;
}

/* Parse a script: responses separated by "---" lines.  (transfer full) */
static GPtrArray *
script_parse (const char *text, const char *file, GError **error)
{
  g_autoptr (GPtrArray) responses = g_ptr_array_new_with_free_func ((GDestroyNotify)response_free);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  Response *cur = response_new ();
  unsigned lineno = 0;

  g_ptr_array_add (responses, cur);
  for (char **l = lines; *l; l++)
    {
      char *line = *l;
      size_t len = strlen (line);
      const char *kw = line;
      char *sp;

      lineno++;
      if (len > 0 && line[len - 1] == '\r')
        line[--len] = '\0';
      while (*kw == ' ' || *kw == '\t')
        kw++;
      if (*kw == '\0' || *kw == '#')
        continue;
      if (strcmp (kw, "---") == 0)
        {
          response_finish (cur);
          cur = response_new ();
          g_ptr_array_add (responses, cur);
          continue;
        }
      sp = strchr (kw, ' ');
      if (sp)
        *sp = '\0';
      if (!parse_line (cur, kw, sp ? sp + 1 : NULL, error, file, lineno))
        return NULL;
    }
  response_finish (cur);
  return g_steal_pointer (&responses);
}

/* ---- state --------------------------------------------------------------- */

typedef enum
{
  API_OPENAI,
  API_OLLAMA,
} Api;

typedef enum
{
  END_COMPLETE, /* finish the body cleanly */
  END_HANG,     /* send nothing more, keep the connection */
  END_CUT,      /* drop the connection once the bytes are out */
} EndKind;

typedef struct
{
  unsigned delay_ms; /* pause before this step */
  size_t end;        /* offset in Req.out where this step ends */
  gboolean token;    /* holds a content or tool-call piece */
} Step;

typedef struct
{
  GList link;             /* in `active`; data points back at the Req */
  SoupServerMessage *msg; /* owned ref */
  const Response *resp;   /* borrowed from the script */
  Api api;

  GBytes *out;   /* the rendered body (owned) */
  GArray *steps; /* Step */
  unsigned next_step;
  size_t sent;         /* bytes of out appended so far */
  size_t written;      /* bytes libsoup reported written (END_CUT only) */
  gboolean delay_done; /* the timer for steps[next_step] has fired */
  EndKind end;
  gboolean in_handler; /* the message is not paused yet */

  unsigned timer; /* GSource id or 0 */
  GSource *watch; /* client-gone watch (owned, nullable) */

  /* The record. */
  char *path;
  char *auth;     /* nullable */
  JsonNode *body; /* nullable (owned) */
  size_t bytes;
  gint64 t_recv, t_first; /* µs, CLOCK_MONOTONIC; t_first 0 = none */
  gboolean recorded;
} Req;

static struct
{
  GPtrArray *responses; /* Response * */
  unsigned next;        /* index of the next response to use */
  gboolean cycle;
  unsigned seq; /* chat requests so far */
  FILE *record; /* nullable */
  gboolean verbose;
  GQueue active; /* Req.link */
  GMainLoop *loop;
} fake;

/* ---- JSON helpers -------------------------------------------------------- */

static void
append_json_string (GString *out, const char *s)
{
  const char *run = s;

  g_string_append_c (out, '"');
  for (; *s; s++)
    {
      unsigned char c = (unsigned char)*s;
      const char *esc;

      if (c >= 0x20 && c != '"' && c != '\\')
        continue;
      g_string_append_len (out, run, s - run);
      run = s + 1;
      switch (c)
        {
        case '"':
          esc = "\\\"";
          break;
        case '\\':
          esc = "\\\\";
          break;
        case '\n':
          esc = "\\n";
          break;
        case '\r':
          esc = "\\r";
          break;
        case '\t':
          esc = "\\t";
          break;
        default:
          g_string_append_printf (out, "\\u%04x", c);
          continue;
        }
      g_string_append (out, esc);
    }
  g_string_append_len (out, run, s - run);
  g_string_append_c (out, '"');
}

static void
append_json_string_or_null (GString *out, const char *s)
{
  if (s)
    append_json_string (out, s);
  else
    g_string_append (out, "null");
}

static const char *
member_string (JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : NULL;

  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
             ? json_node_get_string (n)
             : NULL;
}

static gboolean
member_bool (JsonObject *o, const char *name, gboolean dflt)
{
  JsonNode *n = o ? json_object_get_member (o, name) : NULL;

  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_BOOLEAN
             ? json_node_get_boolean (n)
             : dflt;
}

/* ---- rendering ----------------------------------------------------------- */

typedef struct
{
  const Response *r;
  Api api;
  GString *out;
  GArray *steps;
  const char *eol;
  unsigned pending_ms; /* delay owed to the next event (sleep) */
  unsigned event_ms;   /* delay of the event being rendered */
  gboolean first;      /* no event yet */
  gboolean role_sent;
  int events;   /* events rendered */
  gboolean cut; /* the cut point was reached; render nothing more */
  /* Request facts. */
  const char *model;
  const char *prefix;  /* OpenAI chunk members common to every chunk */
  gboolean usage_null; /* OpenAI: chunks carry "usage":null */
  unsigned prompt_tokens, completion_tokens;
  unsigned seq;
} Render;

static gboolean
render_begin (Render *rd, unsigned delay_ms)
{
  if (rd->cut)
    return FALSE;
  rd->event_ms = rd->first ? rd->r->delay_first : delay_ms;
  return TRUE;
}

/* Close the event that started at @start: make it a step of its own, two
 * with `split`, or merge it into the previous step when nothing separates
 * them in time. */
static void
render_end (Render *rd, size_t start, gboolean token)
{
  const Response *r = rd->r;
  Step *last = rd->steps->len ? &g_array_index (rd->steps, Step, rd->steps->len - 1) : NULL;

  rd->pending_ms += rd->event_ms;
  if (r->coalesce && last)
    last->end = rd->out->len, last->token |= token;
  else if (r->split && !r->coalesce)
    {
      Step a = { rd->pending_ms, start + (rd->out->len - start) / 2, token };
      Step b = { r->split_ms, rd->out->len, FALSE };
      g_array_append_val (rd->steps, a);
      g_array_append_val (rd->steps, b);
    }
  else if (last && rd->pending_ms == 0)
    last->end = rd->out->len, last->token |= token;
  else
    {
      Step s = { rd->pending_ms, rd->out->len, token };
      g_array_append_val (rd->steps, s);
    }
  rd->pending_ms = 0;
  rd->first = FALSE;
  if (r->cut >= 0 && ++rd->events >= r->cut)
    rd->cut = TRUE;
}

/* OpenAI: `data: {P,"choices":[{"index":0,"delta":{` … */
static void
oa_open (Render *rd)
{
  g_string_append (rd->out, "data: {");
  g_string_append (rd->out, rd->prefix);
  g_string_append (rd->out, ",\"choices\":[{\"index\":0,\"delta\":{");
  if (!rd->role_sent)
    g_string_append (rd->out, "\"role\":\"assistant\",");
  rd->role_sent = TRUE;
}

/* … `},"logprobs":null,"finish_reason":R}]}` and the blank line. */
static void
oa_close (Render *rd, const char *finish)
{
  g_string_append (rd->out, "},\"logprobs\":null,\"finish_reason\":");
  append_json_string_or_null (rd->out, finish);
  g_string_append (rd->out, rd->usage_null ? "}],\"usage\":null}" : "}]}");
  g_string_append (rd->out, rd->eol);
  g_string_append (rd->out, rd->eol);
}

static const char *
default_finish (const Response *r)
{
  return r->finish ? r->finish : r->calls->len ? "tool_calls" : "stop";
}

static char *
call_id (const Render *rd, const Event *call)
{
  return call->id ? g_strdup (call->id) : g_strdup_printf ("call_%u_%d", rd->seq, call->index);
}

static void
render_openai_event (Render *rd, const Event *ev)
{
  size_t start = rd->out->len;
  g_autofree char *id = NULL;

  switch (ev->kind)
    {
    case EV_TOKEN:
      oa_open (rd);
      g_string_append (rd->out, "\"content\":");
      append_json_string (rd->out, ev->text);
      oa_close (rd, NULL);
      break;
    case EV_CALL:
      /* PROTOCOLS.md §3.1: id, type and name come in the first piece. */
      if (!rd->role_sent)
        {
          oa_open (rd);
          g_string_append (rd->out, "\"content\":null,");
        }
      else
        oa_open (rd);
      id = call_id (rd, ev);
      g_string_append_printf (rd->out, "\"tool_calls\":[{\"index\":%d,\"id\":", ev->index);
      append_json_string (rd->out, id);
      g_string_append (rd->out, ",\"type\":\"function\",\"function\":{\"name\":");
      append_json_string (rd->out, ev->name);
      g_string_append (rd->out, ",\"arguments\":\"\"}}]");
      oa_close (rd, NULL);
      break;
    case EV_ARGS:
      oa_open (rd);
      g_string_append_printf (
          rd->out, "\"tool_calls\":[{\"index\":%d,\"function\":{\"arguments\":", ev->index);
      append_json_string (rd->out, ev->text);
      g_string_append (rd->out, "}}]");
      oa_close (rd, NULL);
      break;
    case EV_PING:
      g_string_append (rd->out, ": ping");
      g_string_append (rd->out, rd->eol);
      g_string_append (rd->out, rd->eol);
      break;
    case EV_GARBAGE:
      g_string_append (rd->out, "data: ");
      g_string_append (rd->out, *ev->text ? ev->text : "{not json");
      g_string_append (rd->out, rd->eol);
      g_string_append (rd->out, rd->eol);
      break;
    case EV_SLEEP:
      g_assert_not_reached ();
    }
  render_end (rd, start, ev->kind == EV_TOKEN || ev->kind == EV_CALL || ev->kind == EV_ARGS);
}

static void
render_openai_tail (Render *rd)
{
  const Response *r = rd->r;
  size_t start;

  if (r->hang)
    return;
  if (!rd->role_sent && render_begin (rd, r->delay))
    {
      start = rd->out->len;
      oa_open (rd);
      g_string_append (rd->out, "\"content\":\"\"");
      oa_close (rd, NULL);
      render_end (rd, start, FALSE);
    }
  if (render_begin (rd, r->delay))
    {
      start = rd->out->len;
      g_string_append (rd->out, "data: {");
      g_string_append (rd->out, rd->prefix);
      g_string_append (rd->out, ",\"choices\":[{\"index\":0,\"delta\":{");
      oa_close (rd, default_finish (r));
      render_end (rd, start, FALSE);
    }
  if (rd->usage_null && render_begin (rd, 0))
    {
      start = rd->out->len;
      g_string_append (rd->out, "data: {");
      g_string_append (rd->out, rd->prefix);
      g_string_append_printf (rd->out,
                              ",\"choices\":[],\"usage\":{\"prompt_tokens\":%u,"
                              "\"completion_tokens\":%u,\"total_tokens\":%u}}",
                              rd->prompt_tokens, rd->completion_tokens,
                              rd->prompt_tokens + rd->completion_tokens);
      g_string_append (rd->out, rd->eol);
      g_string_append (rd->out, rd->eol);
      render_end (rd, start, FALSE);
    }
  if (!r->no_done && render_begin (rd, 0))
    {
      start = rd->out->len;
      g_string_append (rd->out, "data: [DONE]");
      g_string_append (rd->out, rd->eol);
      g_string_append (rd->out, rd->eol);
      render_end (rd, start, FALSE);
    }
}

static void
ollama_open (Render *rd)
{
  g_string_append (rd->out, "{\"model\":");
  append_json_string (rd->out, rd->model);
  g_string_append (rd->out, ",\"created_at\":\"" FAKE_CREATED_AT "\",\"message\":{");
  g_string_append (rd->out, "\"role\":\"assistant\",\"content\":");
}

/* Ollama's tool calls, whole: arguments as an object (PROTOCOLS.md §3.3).
 * Fragments that do not join into JSON go out as a string. */
static void
ollama_tool_calls (Render *rd)
{
  const Response *r = rd->r;

  g_string_append (rd->out, ",\"tool_calls\":[");
  for (unsigned c = 0; c < r->calls->len; c++)
    {
      const Event *call = g_ptr_array_index (r->calls, c);
      g_autofree char *args = joined_args (r, call->index);
      g_autoptr (JsonParser) p = json_parser_new ();

      g_string_append (rd->out, c ? ",{" : "{");
      if (call->id)
        {
          g_string_append (rd->out, "\"id\":");
          append_json_string (rd->out, call->id);
          g_string_append_c (rd->out, ',');
        }
      g_string_append (rd->out, "\"function\":{\"name\":");
      append_json_string (rd->out, call->name);
      g_string_append (rd->out, ",\"arguments\":");
      if (json_parser_load_from_data (p, args, -1, NULL) && json_parser_get_root (p))
        g_string_append (rd->out, args);
      else
        append_json_string (rd->out, args);
      g_string_append (rd->out, "}}");
    }
  g_string_append_c (rd->out, ']');
}

static void
ollama_done (Render *rd, GString *out)
{
  const Response *r = rd->r;

  g_string_append_printf (out,
                          ",\"done_reason\":\"%s\",\"done\":true,\"total_duration\":6000000,"
                          "\"load_duration\":1000000,\"prompt_eval_count\":%u,"
                          "\"prompt_eval_duration\":2000000,\"eval_count\":%u,"
                          "\"eval_duration\":3000000}",
                          r->finish ? r->finish : "stop", rd->prompt_tokens, rd->completion_tokens);
}

static void
render_ollama_event (Render *rd, const Event *ev)
{
  size_t start = rd->out->len;

  switch (ev->kind)
    {
    case EV_TOKEN:
      ollama_open (rd);
      append_json_string (rd->out, ev->text);
      g_string_append (rd->out, "},\"done\":false}");
      break;
    case EV_CALL:
      if (ev != g_ptr_array_index (rd->r->calls, 0))
        {
          /* Only the first call makes a line; it carries them all. */
          return;
        }
      ollama_open (rd);
      g_string_append (rd->out, "\"\"");
      ollama_tool_calls (rd);
      g_string_append (rd->out, "},\"done\":false}");
      break;
    case EV_GARBAGE:
      g_string_append (rd->out, *ev->text ? ev->text : "{not json");
      break;
    case EV_ARGS:
    case EV_PING:
      /* NDJSON has no comments, and arguments went out whole. */
      return;
    case EV_SLEEP:
      g_assert_not_reached ();
    }
  g_string_append (rd->out, rd->eol);
  render_end (rd, start, ev->kind != EV_GARBAGE);
}

static void
render_ollama_tail (Render *rd)
{
  size_t start;

  if (rd->r->hang || rd->r->no_done || !render_begin (rd, rd->r->delay))
    return;
  start = rd->out->len;
  ollama_open (rd);
  g_string_append (rd->out, "\"\"}");
  ollama_done (rd, rd->out);
  g_string_append (rd->out, rd->eol);
  render_end (rd, start, FALSE);
}

static void
render_stream (Render *rd)
{
  const Response *r = rd->r;

  for (unsigned i = 0; i < r->events->len; i++)
    {
      const Event *ev = &g_array_index (r->events, Event, i);

      if (ev->kind == EV_SLEEP)
        {
          rd->pending_ms += ev->ms;
          continue;
        }
      if (!render_begin (rd, r->delay))
        return;
      if (rd->api == API_OPENAI)
        render_openai_event (rd, ev);
      else
        render_ollama_event (rd, ev);
    }
  if (rd->api == API_OPENAI)
    render_openai_tail (rd);
  else
    render_ollama_tail (rd);
}

/* A whole, non-streamed answer: chat.completion, or one Ollama object. */
static void
render_whole (Render *rd)
{
  const Response *r = rd->r;
  g_autoptr (GString) content = g_string_new (NULL);

  for (unsigned i = 0; i < r->events->len; i++)
    if (g_array_index (r->events, Event, i).kind == EV_TOKEN)
      g_string_append (content, g_array_index (r->events, Event, i).text);
  if (rd->api == API_OLLAMA)
    {
      ollama_open (rd);
      append_json_string (rd->out, content->str);
      if (r->calls->len)
        ollama_tool_calls (rd);
      g_string_append_c (rd->out, '}');
      ollama_done (rd, rd->out);
    }
  else
    {
      g_string_append_printf (rd->out,
                              "{\"id\":\"chatcmpl-fake%u\",\"object\":\"chat.completion\","
                              "\"created\":%d,\"model\":",
                              rd->seq, FAKE_CREATED);
      append_json_string (rd->out, rd->model);
      g_string_append (rd->out, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                                "\"content\":");
      if (content->len || !r->calls->len)
        append_json_string (rd->out, content->str);
      else
        g_string_append (rd->out, "null");
      if (r->calls->len)
        {
          g_string_append (rd->out, ",\"tool_calls\":[");
          for (unsigned c = 0; c < r->calls->len; c++)
            {
              const Event *call = g_ptr_array_index (r->calls, c);
              g_autofree char *id = call_id (rd, call);
              g_autofree char *args = joined_args (r, call->index);

              g_string_append (rd->out, c ? ",{\"id\":" : "{\"id\":");
              append_json_string (rd->out, id);
              g_string_append (rd->out, ",\"type\":\"function\",\"function\":{\"name\":");
              append_json_string (rd->out, call->name);
              g_string_append (rd->out, ",\"arguments\":");
              append_json_string (rd->out, args);
              g_string_append (rd->out, "}}");
            }
          g_string_append_c (rd->out, ']');
        }
      g_string_append (rd->out, ",\"refusal\":null},\"logprobs\":null,\"finish_reason\":");
      append_json_string (rd->out, default_finish (r));
      g_string_append_printf (rd->out,
                              "}],\"usage\":{\"prompt_tokens\":%u,\"completion_tokens\":%u,"
                              "\"total_tokens\":%u}}",
                              rd->prompt_tokens, rd->completion_tokens,
                              rd->prompt_tokens + rd->completion_tokens);
    }
}

/* ---- requests ------------------------------------------------------------ */

static void
record_write (Req *req)
{
  g_autoptr (GString) line = NULL;

  if (req->recorded || fake.record == NULL)
    return;
  req->recorded = TRUE;
  line = g_string_new ("{\"path\":");
  append_json_string (line, req->path);
  g_string_append (line, ",\"authorization\":");
  append_json_string_or_null (line, req->auth);
  g_string_append (line, ",\"body\":");
  if (req->body)
    {
      g_autofree char *body = json_to_string (req->body, FALSE);
      g_string_append (line, body);
    }
  else
    g_string_append (line, "null");
  g_string_append_printf (line, ",\"bytes\":%zu,\"t_recv_us\":%" G_GINT64_FORMAT ",\"t_first_us\":",
                          req->bytes, req->t_recv);
  if (req->t_first)
    g_string_append_printf (line, "%" G_GINT64_FORMAT "}\n", req->t_first);
  else
    g_string_append (line, "null}\n");
  fwrite (line->str, 1, line->len, fake.record);
  fflush (fake.record);
}

static void
req_free (Req *req)
{
  g_signal_handlers_disconnect_by_data (req->msg, req);
  g_queue_unlink (&fake.active, &req->link);
  g_clear_handle_id (&req->timer, g_source_remove);
  if (req->watch)
    {
      g_source_destroy (req->watch);
      g_source_unref (req->watch);
    }
  g_object_unref (req->msg);
  g_clear_pointer (&req->out, g_bytes_unref);
  g_clear_pointer (&req->steps, g_array_unref);
  g_clear_pointer (&req->body, json_node_unref);
  g_free (req->path);
  g_free (req->auth);
  g_free (req);
}

static void
req_finished_cb (SoupServerMessage *msg, gpointer data)
{
  Req *req = data;

  record_write (req);
  req_free (req);
}

/* Drop the TCP connection without ending the response: no chunked
 * terminator, so the client sees a truncated body.  Closing the stolen
 * stream would write the terminator ("0\r\n\r\n"), so shut the socket
 * down first and let that write fail. */
static void
req_drop (Req *req)
{
  g_autoptr (GIOStream) io = NULL;
  GSocket *sock = soup_server_message_get_socket (req->msg);

  record_write (req);
  g_signal_handlers_disconnect_by_data (req->msg, req);
  /* libsoup looks up the peer's address lazily, and warns if the
   * socket is already shut down by then: look it up now. */
  soup_server_message_get_remote_address (req->msg);
  if (sock)
    g_socket_shutdown (sock, TRUE, TRUE, NULL);
  io = soup_server_message_steal_connection (req->msg);
  if (io)
    g_io_stream_close (io, NULL, NULL);
  req_free (req);
}

static gboolean
drop_cb (gpointer data)
{
  Req *req = data;

  req->timer = 0;
  req_drop (req);
  return G_SOURCE_REMOVE;
}

static void
wrote_body_data_cb (SoupServerMessage *msg, unsigned n, gpointer data)
{
  Req *req = data;

  req->written += n;
  if (req->written >= req->sent && req->next_step == req->steps->len && req->timer == 0)
    req->timer = g_idle_add (drop_cb, req);
}

/* The client closed its end (or reset it): nobody will read the rest. */
static gboolean
client_gone_cb (GSocket *sock, GIOCondition cond, gpointer data)
{
  Req *req = data;
  char c;
  ssize_t n = recv (g_socket_get_fd (sock), &c, 1, MSG_PEEK | MSG_DONTWAIT);

  if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
    {
      /* A pipelined request, or a spurious wakeup: stop watching rather
       * than spin; libsoup finds out on its next write. */
      if (n > 0)
        {
          g_clear_pointer (&req->watch, g_source_unref);
          return G_SOURCE_REMOVE;
        }
      return G_SOURCE_CONTINUE;
    }
  if (fake.verbose)
    g_printerr ("fake-llm: client went away from %s\n", req->path);
  g_clear_pointer (&req->watch, g_source_unref);
  req_drop (req);
  return G_SOURCE_REMOVE;
}

static void
req_watch (Req *req)
{
  GSocket *sock = soup_server_message_get_socket (req->msg);

  if (req->watch || sock == NULL)
    return;
  req->watch = g_socket_create_source (sock, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (req->watch, G_SOURCE_FUNC (client_gone_cb), req, NULL);
  g_source_attach (req->watch, NULL);
}

static void req_continue (Req *req);

static gboolean
step_timer_cb (gpointer data)
{
  Req *req = data;

  req->timer = 0;
  req->delay_done = TRUE;
  req_continue (req);
  return G_SOURCE_REMOVE;
}

/* Append every step that is due; arm a timer for the first that is not. */
static void
req_continue (Req *req)
{
  SoupMessageBody *body = soup_server_message_get_response_body (req->msg);
  gboolean wake = FALSE;

  while (req->next_step < req->steps->len)
    {
      const Step *s = &g_array_index (req->steps, Step, req->next_step);
      gboolean last = req->next_step + 1 == req->steps->len;

      if (s->delay_ms && !req->delay_done)
        {
          req->timer = g_timeout_add (s->delay_ms, step_timer_cb, req);
          req_watch (req);
          break;
        }
      req->delay_done = FALSE;
      if (s->token && req->t_first == 0)
        req->t_first = g_get_monotonic_time ();
      if (last && req->end == END_COMPLETE)
        record_write (req);
      {
        g_autoptr (GBytes) piece = g_bytes_new_from_bytes (req->out, req->sent, s->end - req->sent);
        soup_message_body_append_bytes (body, piece);
      }
      req->sent = s->end;
      req->next_step++;
      wake = TRUE;
    }
  if (req->next_step == req->steps->len)
    {
      if (req->end == END_COMPLETE)
        {
          soup_message_body_complete (body);
          wake = TRUE;
        }
      else if (req->end == END_HANG)
        req_watch (req);
      else if (req->sent == 0)
        {
          /* cut 0: drop the connection before any response at all. */
          req->timer = g_idle_add (drop_cb, req);
          return;
        }
    }
  if (wake && !req->in_handler)
    soup_server_message_unpause (req->msg);
}

static gboolean
headers_timer_cb (gpointer data)
{
  Req *req = data;

  req->timer = 0;
  /* With no body data yet, unpausing sends just the headers. */
  soup_server_message_unpause (req->msg);
  req_continue (req);
  return G_SOURCE_REMOVE;
}

static gboolean
whole_timer_cb (gpointer data)
{
  Req *req = data;
  size_t len;
  const char *bytes = g_bytes_get_data (req->out, &len);

  req->timer = 0;
  if (req->resp->status == 200)
    req->t_first = g_get_monotonic_time ();
  record_write (req);
  soup_message_body_append (soup_server_message_get_response_body (req->msg), SOUP_MEMORY_COPY,
                            bytes, len);
  soup_message_body_complete (soup_server_message_get_response_body (req->msg));
  if (!req->in_handler)
    soup_server_message_unpause (req->msg);
  return G_SOURCE_REMOVE;
}

/* libsoup 3.2 has no phrase for 429. */
static const char *
status_phrase (unsigned status)
{
  return status == 429 ? "Too Many Requests" : soup_status_get_phrase (status);
}

static void
set_error (SoupServerMessage *msg, unsigned status, const char *type, const char *message)
{
  g_autoptr (GString) body = g_string_new ("{\"error\":{\"message\":");

  append_json_string (body, message);
  g_string_append (body, ",\"type\":");
  append_json_string (body, type);
  g_string_append (body, ",\"param\":null,\"code\":null}}");
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, body->str,
                                    body->len);
}

static const Response *
script_next (void)
{
  unsigned n = fake.responses->len;
  unsigned i = fake.cycle ? fake.next % n : MIN (fake.next, n - 1);

  fake.next++;
  return g_ptr_array_index (fake.responses, i);
}

static unsigned
count_completion_tokens (const Response *r)
{
  unsigned n = 0;

  for (unsigned i = 0; i < r->events->len; i++)
    {
      EventKind k = g_array_index (r->events, Event, i).kind;
      n += k == EV_TOKEN || k == EV_ARGS;
    }
  return n;
}

static void
handle_chat (SoupServerMessage *msg, const char *path, Api api)
{
  SoupMessageBody *reqbody = soup_server_message_get_request_body (msg);
  SoupMessageHeaders *rh = soup_server_message_get_response_headers (msg);
  g_autoptr (GBytes) data = soup_message_body_flatten (reqbody);
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GString) out = NULL;
  g_autofree char *prefix = NULL;
  JsonObject *obj = NULL, *opts;
  const Response *r;
  Req *req;
  Render rd = { 0 };
  gboolean stream;
  unsigned headers_ms;

  req = g_new0 (Req, 1);
  req->link.data = req;
  req->msg = g_object_ref (msg);
  req->api = api;
  req->path = g_strdup (path);
  req->auth = g_strdup (soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                      "Authorization"));
  req->bytes = g_bytes_get_size (data);
  req->t_recv = g_get_monotonic_time ();
  req->in_handler = TRUE;
  g_queue_push_tail_link (&fake.active, &req->link);
  g_signal_connect (msg, "finished", G_CALLBACK (req_finished_cb), req);

  if (json_parser_load_from_data (parser, g_bytes_get_data (data, NULL), (gssize)req->bytes,
                                  NULL) &&
      json_parser_get_root (parser) && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      obj = json_node_get_object (json_parser_get_root (parser));
      if (fake.record)
        req->body = json_node_ref (json_parser_get_root (parser));
    }
  if (obj == NULL)
    {
      /* Recorded (body null) but takes no response from the script. */
      record_write (req);
      set_error (msg, 400, "invalid_request_error", "request body is not a JSON object");
      return;
    }

  r = req->resp = script_next ();
  fake.seq++;
  if (fake.verbose)
    g_printerr ("fake-llm: %s #%u, response %u, %zu bytes\n", path, fake.seq,
                MIN (fake.next, fake.responses->len), req->bytes);

  for (unsigned i = 0; i + 1 < r->headers->len; i += 2)
    soup_message_headers_replace (rh, g_ptr_array_index (r->headers, i),
                                  g_ptr_array_index (r->headers, i + 1));

  rd.r = r;
  rd.api = api;
  rd.model = member_string (obj, "model");
  if (rd.model == NULL)
    rd.model = "fake";
  rd.seq = fake.seq;
  rd.first = TRUE;
  rd.eol = r->crlf ? "\r\n" : "\n";
  rd.prompt_tokens = r->usage_set ? r->usage_prompt : MAX (1, (unsigned)(req->bytes / 4));
  rd.completion_tokens = r->usage_set ? r->usage_completion : count_completion_tokens (r);
  /* OpenAI streams only when asked; Ollama unless asked not to. */
  stream = member_bool (obj, "stream", api == API_OLLAMA);
  opts = json_object_has_member (obj, "stream_options") &&
                 JSON_NODE_HOLDS_OBJECT (json_object_get_member (obj, "stream_options"))
             ? json_object_get_object_member (obj, "stream_options")
             : NULL;
  rd.usage_null = !r->no_usage && (r->usage_set || member_bool (opts, "include_usage", FALSE));
  out = g_string_sized_new (1024);
  rd.out = out;

  if (r->hang_headers)
    {
      soup_server_message_pause (msg);
      req->in_handler = FALSE;
      req_watch (req);
      return;
    }

  if (r->status != 200 || r->body || !stream)
    {
      soup_server_message_set_status (msg, r->status, status_phrase (r->status));
      if (!soup_message_headers_get_content_type (rh, NULL))
        soup_message_headers_set_content_type (rh, "application/json", NULL);
      if (r->body)
        g_string_append (out, r->body);
      else if (r->status >= 300)
        {
          /* The default error body: OpenAI's error object. */
          const char *type = r->status == 429   ? "rate_limit_error"
                             : r->status >= 500 ? "server_error"
                                                : "invalid_request_error";
          g_string_append (out, "{\"error\":{\"message\":");
          append_json_string (out, status_phrase (r->status));
          g_string_append (out, ",\"type\":");
          append_json_string (out, type);
          g_string_append (out, ",\"param\":null,\"code\":null}}");
        }
      else
        render_whole (&rd);
      req->out = g_string_free_to_bytes (g_steal_pointer (&out));
      headers_ms = r->delay_headers + r->delay_first;
      if (headers_ms == 0)
        {
          whole_timer_cb (req);
          req->in_handler = FALSE;
          return;
        }
      soup_server_message_pause (msg);
      req->in_handler = FALSE;
      req->timer = g_timeout_add (headers_ms, whole_timer_cb, req);
      req_watch (req);
      return;
    }

  soup_server_message_set_status (msg, 200, NULL);
  soup_message_headers_set_encoding (rh, SOUP_ENCODING_CHUNKED);
  soup_message_body_set_accumulate (soup_server_message_get_response_body (msg), FALSE);
  if (!soup_message_headers_get_content_type (rh, NULL))
    soup_message_headers_set_content_type (
        rh, api == API_OPENAI ? "text/event-stream" : "application/x-ndjson", NULL);
  if (api == API_OPENAI)
    {
      g_autoptr (GString) p = g_string_new (NULL);

      g_string_printf (p,
                       "\"id\":\"chatcmpl-fake%u\",\"object\":\"chat.completion.chunk\","
                       "\"created\":%d,\"model\":",
                       fake.seq, FAKE_CREATED);
      append_json_string (p, rd.model);
      prefix = g_string_free (g_steal_pointer (&p), FALSE);
      rd.prefix = prefix;
      soup_message_headers_replace (rh, "Cache-Control", "no-cache");
    }
  req->steps = g_array_new (FALSE, FALSE, sizeof (Step));
  rd.steps = req->steps;
  render_stream (&rd);
  req->end = r->cut >= 0 ? END_CUT : r->hang ? END_HANG : END_COMPLETE;
  req->out = g_string_free_to_bytes (g_steal_pointer (&out));
  if (req->end == END_CUT)
    g_signal_connect (msg, "wrote-body-data", G_CALLBACK (wrote_body_data_cb), req);

  if (r->delay_headers || (req->end == END_CUT && req->steps->len == 0))
    {
      soup_server_message_pause (msg);
      req->in_handler = FALSE;
      if (req->steps->len == 0 && req->end == END_CUT)
        req_continue (req);
      else
        req->timer = g_timeout_add (r->delay_headers, headers_timer_cb, req);
      req_watch (req);
      return;
    }
  req_continue (req);
  req->in_handler = FALSE;
}

static void
server_cb (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
           gpointer data)
{
  const char *method = soup_server_message_get_method (msg);
  gboolean get = strcmp (method, "GET") == 0;
  gboolean post = strcmp (method, "POST") == 0;
  Api api;

  if (strcmp (path, "/v1/chat/completions") == 0 || strcmp (path, "/chat/completions") == 0)
    api = API_OPENAI;
  else if (strcmp (path, "/api/chat") == 0)
    api = API_OLLAMA;
  else if (get && (strcmp (path, "/v1/models") == 0 || strcmp (path, "/models") == 0))
    {
      static const char models[] = "{\"object\":\"list\",\"data\":[{\"id\":\"fake\",\"object\":"
                                   "\"model\",\"created\":0,\"owned_by\":\"lares-tests\"}]}";
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC, models,
                                        sizeof models - 1);
      return;
    }
  else if (get && strcmp (path, "/api/tags") == 0)
    {
      static const char tags[] =
          "{\"models\":[{\"name\":\"fake\",\"model\":\"fake\",\"modified_at\":\"" FAKE_CREATED_AT
          "\",\"size\":0,\"digest\":\"0000000000000000000000000000000000000000000000000000000000"
          "000000\",\"details\":{\"format\":\"gguf\",\"family\":\"fake\",\"parameter_size\":\"0\","
          "\"quantization_level\":\"none\"}}]}";
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC, tags,
                                        sizeof tags - 1);
      return;
    }
  else if (get && (strcmp (path, "/health") == 0 || strcmp (path, "/v1/health") == 0))
    {
      static const char ok[] = "{\"status\":\"ok\"}";
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC, ok,
                                        sizeof ok - 1);
      return;
    }
  else
    {
      set_error (msg, 404, "invalid_request_error", "unknown path");
      return;
    }
  if (!post)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                    "POST");
      set_error (msg, 405, "invalid_request_error", "method not allowed");
      return;
    }
  handle_chat (msg, path, api);
}

/* ---- main ---------------------------------------------------------------- */

static gboolean
quit_cb (gpointer data)
{
  g_main_loop_quit (fake.loop);
  return G_SOURCE_CONTINUE;
}

static Response *
quick_response (unsigned tokens, unsigned first_ms, unsigned token_ms)
{
  Response *r = response_new ();

  r->delay_first = first_ms;
  r->delay = token_ms;
  for (unsigned i = 0; i < tokens; i++)
    add_event (r, EV_TOKEN, 0, 0, g_strdup_printf ("tok%u ", i), NULL, NULL);
  response_index_calls (r);
  return r;
}

int
main (int argc, char **argv)
{
  int port = 0, tokens = 20, first_ms = 0, token_ms = 0;
  g_autofree char *script = NULL;
  g_autofree char *record = NULL;
  gboolean cycle = FALSE, verbose = FALSE;
  GOptionEntry entries[] = {
    { "port", 0, 0, G_OPTION_ARG_INT, &port, "Port on 127.0.0.1 (0: any free one)", "N" },
    { "script", 0, 0, G_OPTION_ARG_FILENAME, &script, "Responses to give, in order", "FILE" },
    { "cycle", 0, 0, G_OPTION_ARG_NONE, &cycle, "Restart the script after its last response",
      NULL },
    { "record", 0, 0, G_OPTION_ARG_FILENAME, &record, "Append one JSON line per chat request",
      "FILE" },
    { "tokens", 0, 0, G_OPTION_ARG_INT, &tokens, "Without a script: tokens per answer (20)", "N" },
    { "first-delay", 0, 0, G_OPTION_ARG_INT, &first_ms, "Without a script: ms before the first",
      "MS" },
    { "token-delay", 0, 0, G_OPTION_ARG_INT, &token_ms, "Without a script: ms between tokens",
      "MS" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log each request on stderr", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- scriptable fake LLM server");
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupServer) server = NULL;
  g_autoslist (GUri) uris = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || port < 0 || port > 65535 ||
      tokens < 0 || first_ms < 0 || token_ms < 0)
    {
      g_printerr ("fake-llm: %s\n", error ? error->message : "bad option value");
      return 2;
    }
  if (script)
    {
      g_autofree char *text = NULL;

      if (!g_file_get_contents (script, &text, NULL, &error) ||
          !(fake.responses = script_parse (text, script, &error)))
        {
          g_printerr ("fake-llm: %s\n", error->message);
          return 2;
        }
    }
  else
    {
      fake.responses = g_ptr_array_new_with_free_func ((GDestroyNotify)response_free);
      g_ptr_array_add (fake.responses,
                       quick_response ((unsigned)tokens, (unsigned)first_ms, (unsigned)token_ms));
    }
  fake.cycle = cycle;
  fake.verbose = verbose;
  if (record && !(fake.record = fopen (record, "ae")))
    {
      g_printerr ("fake-llm: cannot open '%s': %s\n", record, g_strerror (errno));
      return 2;
    }
  signal (SIGPIPE, SIG_IGN);

  server = soup_server_new ("server-header", "fake-llm ", NULL);
  soup_server_add_handler (server, NULL, server_cb, NULL, NULL);
  /* Our own socket: GLib's default backlog of 10 drops the SYNs of a
   * hundred connections opened at once (each retried a second later). */
  {
    g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (lo, (guint16)port);
    g_autoptr (GSocket) sock =
        g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);

    if (sock != NULL)
      g_socket_set_listen_backlog (sock, 1024);
    if (sock == NULL || !g_socket_bind (sock, sa, TRUE, &error) ||
        !g_socket_listen (sock, &error) || !soup_server_listen_socket (server, sock, 0, &error))
      {
        g_printerr ("fake-llm: cannot listen on port %d: %s\n", port, error->message);
        return 2;
      }
  }
  uris = soup_server_get_uris (server);
  g_assert (uris != NULL);
  printf ("port %d\n", g_uri_get_port (uris->data));
  fflush (stdout);

  fake.loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGTERM, quit_cb, NULL);
  g_unix_signal_add (SIGINT, quit_cb, NULL);
  g_main_loop_run (fake.loop);

  /* Responses still in flight are recorded as they stand. */
  while (fake.active.head)
    {
      Req *req = fake.active.head->data;
      record_write (req);
      req_free (req);
    }
  soup_server_disconnect (server);
  g_clear_object (&server);
  g_main_loop_unref (fake.loop);
  g_ptr_array_unref (fake.responses);
  if (fake.record)
    fclose (fake.record);
  return 0;
}
