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
 * - One thread, one GMainLoop.  HTTP is fake-http.c, a small server of its
 *   own; the request body is checked and read by fake-json.c in one pass.
 *   Both exist because the fake shares a 2-core machine with lares in the
 *   chat bench: libsoup's server and a json-glib tree cost it about
 *   1.1 ms of CPU per turn, more than half of what lares itself needs.
 * - A chat request is answered from a Req that holds the whole response,
 *   rendered up front into one buffer plus a list of steps: (delay, end
 *   offset).  Timers queue slices of that buffer as chunks, so a client
 *   sees each step when its delay has passed.  Steps with no delay merge
 *   into the step before them, so a zero-delay response is one chunk, and
 *   with its headers a single write: no timer, no GSource, no allocation
 *   per event.
 * - A Req is owned by the `active` queue and freed exactly once: when its
 *   response ends or is cut, when its client goes away (fake-http calls
 *   req_gone_cb), or at shutdown.  It lets go of its connection first.
 * - The record line of a request is written (one write(2)) before the last
 *   bytes of its response are queued, so once a client has read a complete
 *   response, its record is in the file.  Responses that never end (hang)
 *   are recorded when the client goes away or at shutdown.  The record is
 *   a small blocking write on the main thread: acceptable for a test fake,
 *   not for lares itself.  The body goes in as the client sent it, less
 *   any whitespace between tokens (a record is one line).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fake-http.h"
#include "fake-json.h"

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
  /* The scripted headers as they go out (response_finish): */
  const char *content_type; /* nullable: replaces the default (borrowed) */
  GPtrArray *extra;         /* name, value, … of the others (borrowed) */
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
  g_clear_pointer (&r->extra, g_ptr_array_unref);
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

/* The scripted headers, ready to send: a later header of the same name
 * replaces an earlier one, Content-Type replaces the default, and the
 * framing (Content-Length, Transfer-Encoding, Connection) is the server's. */
static void
response_index_headers (Response *r)
{
  static const char *const framing[] = { "Content-Length", "Transfer-Encoding", "Connection" };

  r->extra = g_ptr_array_new ();
  for (unsigned i = 0; i + 1 < r->headers->len; i += 2)
    {
      const char *name = g_ptr_array_index (r->headers, i);
      gboolean skip = FALSE;

      for (unsigned j = i + 2; j + 1 < r->headers->len; j += 2)
        skip |= g_ascii_strcasecmp (name, g_ptr_array_index (r->headers, j)) == 0;
      for (size_t k = 0; k < G_N_ELEMENTS (framing); k++)
        skip |= g_ascii_strcasecmp (name, framing[k]) == 0;
      if (skip)
        continue;
      if (g_ascii_strcasecmp (name, "Content-Type") == 0)
        r->content_type = g_ptr_array_index (r->headers, i + 1);
      else
        {
          g_ptr_array_add (r->extra, (char *)name);
          g_ptr_array_add (r->extra, g_ptr_array_index (r->headers, i + 1));
        }
    }
}

/* The response is complete: index its calls and headers, apply json-text. */
static void
response_finish (Response *r)
{
  response_index_calls (r);
  response_index_headers (r);
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
  GList link;           /* in `active`; data points back at the Req */
  FakeConn *conn;       /* borrowed; NULL once the exchange is over */
  const Response *resp; /* borrowed from the script */

  GString *out;        /* the rendered body (owned) */
  GArray *steps;       /* Step; NULL for a whole body */
  GPtrArray *headers;  /* name, value, …, NULL (borrowed strings) */
  unsigned status;     /* of a whole body */
  unsigned next_step;  /* the next step to write */
  size_t sent;         /* bytes of out queued so far */
  gboolean delay_done; /* the timer for steps[next_step] has fired */
  gboolean head_sent;
  EndKind end;
  unsigned timer; /* GSource id or 0 */

  /* The record. */
  char *path;
  char *auth; /* nullable */
  char *body; /* nullable: the request body when it is a JSON object and recorded */
  gboolean body_spaced;
  size_t bytes;
  gint64 t_recv, t_first; /* µs, CLOCK_MONOTONIC; t_first 0 = none */
  gint64 t_arrived;       /* when the request reached the socket, same clock */
  gboolean recorded;
} Req;

static struct
{
  GPtrArray *responses; /* Response * */
  unsigned next;        /* index of the next response to use */
  gboolean cycle;
  unsigned seq;  /* chat requests so far */
  int record_fd; /* -1: no record */
  GString *line; /* the record line being written (reused) */
  gboolean verbose;
  GQueue active; /* Req.link */
  GMainLoop *loop;
} fake = { .record_fd = -1 };

/* ---- JSON helpers -------------------------------------------------------- */

static void
json_string_or_null (GString *out, const char *s)
{
  if (s)
    fake_json_append_string (out, s);
  else
    g_string_append (out, "null");
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
  const char *model_json; /* the model to echo, as a JSON string */
  const char *prefix;     /* OpenAI chunk members common to every chunk */
  gboolean usage_null;    /* OpenAI: chunks carry "usage":null */
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
  json_string_or_null (rd->out, finish);
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
      fake_json_append_string (rd->out, ev->text);
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
      fake_json_append_string (rd->out, id);
      g_string_append (rd->out, ",\"type\":\"function\",\"function\":{\"name\":");
      fake_json_append_string (rd->out, ev->name);
      g_string_append (rd->out, ",\"arguments\":\"\"}}]");
      oa_close (rd, NULL);
      break;
    case EV_ARGS:
      oa_open (rd);
      g_string_append_printf (
          rd->out, "\"tool_calls\":[{\"index\":%d,\"function\":{\"arguments\":", ev->index);
      fake_json_append_string (rd->out, ev->text);
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
  g_string_append (rd->out, rd->model_json);
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

      g_string_append (rd->out, c ? ",{" : "{");
      if (call->id)
        {
          g_string_append (rd->out, "\"id\":");
          fake_json_append_string (rd->out, call->id);
          g_string_append_c (rd->out, ',');
        }
      g_string_append (rd->out, "\"function\":{\"name\":");
      fake_json_append_string (rd->out, call->name);
      g_string_append (rd->out, ",\"arguments\":");
      if (fake_json_valid (args))
        g_string_append (rd->out, args);
      else
        fake_json_append_string (rd->out, args);
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
      fake_json_append_string (rd->out, ev->text);
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
      fake_json_append_string (rd->out, content->str);
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
      g_string_append (rd->out, rd->model_json);
      g_string_append (rd->out, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                                "\"content\":");
      if (content->len || !r->calls->len)
        fake_json_append_string (rd->out, content->str);
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
              fake_json_append_string (rd->out, id);
              g_string_append (rd->out, ",\"type\":\"function\",\"function\":{\"name\":");
              fake_json_append_string (rd->out, call->name);
              g_string_append (rd->out, ",\"arguments\":");
              fake_json_append_string (rd->out, args);
              g_string_append (rd->out, "}}");
            }
          g_string_append_c (rd->out, ']');
        }
      g_string_append (rd->out, ",\"refusal\":null},\"logprobs\":null,\"finish_reason\":");
      fake_json_append_string (rd->out, default_finish (r));
      g_string_append_printf (rd->out,
                              "}],\"usage\":{\"prompt_tokens\":%u,\"completion_tokens\":%u,"
                              "\"total_tokens\":%u}}",
                              rd->prompt_tokens, rd->completion_tokens,
                              rd->prompt_tokens + rd->completion_tokens);
    }
}

/* ---- requests ------------------------------------------------------------ */

/* libsoup 3.2 has no phrase for 429; the fake keeps libsoup's phrases,
 * which its default error bodies carry. */
static const char *
status_phrase (unsigned status)
{
  return status == 429 ? "Too Many Requests" : soup_status_get_phrase (status);
}

static void
write_all (int fd, const char *data, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          g_printerr ("fake-llm: cannot write the record: %s\n", g_strerror (errno));
          return;
        }
      data += n;
      len -= (size_t)n;
    }
}

/* One line per chat request, with one write(2): it is in the file (the
 * page cache) before the caller sends the response's last bytes. */
static void
record_write (Req *req)
{
  GString *line = fake.line;

  if (req->recorded || fake.record_fd < 0)
    return;
  req->recorded = TRUE;
  g_string_assign (line, "{\"path\":");
  fake_json_append_string (line, req->path);
  g_string_append (line, ",\"authorization\":");
  json_string_or_null (line, req->auth);
  g_string_append (line, ",\"body\":");
  if (req->body == NULL)
    g_string_append (line, "null");
  else if (req->body_spaced)
    fake_json_append_minified (line, req->body, req->bytes);
  else
    g_string_append_len (line, req->body, (gssize)req->bytes);
  g_string_append_printf (line,
                          ",\"bytes\":%zu,\"t_recv_us\":%" G_GINT64_FORMAT
                          ",\"t_arrived_us\":%" G_GINT64_FORMAT ",\"t_first_us\":",
                          req->bytes, req->t_recv, req->t_arrived);
  if (req->t_first)
    g_string_append_printf (line, "%" G_GINT64_FORMAT "}\n", req->t_first);
  else
    g_string_append (line, "null}\n");
  write_all (fake.record_fd, line->str, line->len);
}

static void
req_free (Req *req)
{
  g_queue_unlink (&fake.active, &req->link);
  g_clear_handle_id (&req->timer, g_source_remove);
  if (req->out)
    g_string_free (req->out, TRUE);
  g_clear_pointer (&req->steps, g_array_unref);
  g_clear_pointer (&req->headers, g_ptr_array_unref);
  g_free (req->body);
  g_free (req->path);
  g_free (req->auth);
  g_free (req);
}

/* The response ends cleanly; the connection serves the next request. */
static void
req_end (Req *req)
{
  FakeConn *conn = g_steal_pointer (&req->conn);

  record_write (req);
  req_free (req);
  fake_conn_end (conn);
}

/* Drop the TCP connection without ending the response: no chunked
 * terminator, so the client sees a truncated body. */
static void
req_cut (Req *req)
{
  FakeConn *conn = g_steal_pointer (&req->conn);

  record_write (req);
  req_free (req);
  fake_conn_cut (conn);
}

/* The client closed its end (or reset it): nobody will read the rest. */
static void
req_gone_cb (void *data)
{
  Req *req = data;

  if (fake.verbose)
    g_printerr ("fake-llm: client went away from %s\n", req->path);
  req->conn = NULL;
  record_write (req);
  req_free (req);
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

/* Queue every step that is due and send them in one write; arm a timer for
 * the first that is not. */
static void
req_continue (Req *req)
{
  FakeConn *conn = req->conn;

  if (!req->head_sent)
    {
      if (req->end == END_CUT && req->steps->len == 0)
        {
          /* cut 0: drop the connection before any response at all. */
          req_cut (req);
          return;
        }
      fake_conn_head (conn, 200, "OK", (const char *const *)req->headers->pdata, -1);
      req->head_sent = TRUE;
    }
  while (req->next_step < req->steps->len)
    {
      const Step *s = &g_array_index (req->steps, Step, req->next_step);

      if (s->delay_ms && !req->delay_done)
        {
          req->timer = g_timeout_add (s->delay_ms, step_timer_cb, req);
          fake_conn_send (conn);
          return;
        }
      req->delay_done = FALSE;
      if (s->token && req->t_first == 0)
        req->t_first = g_get_monotonic_time ();
      if (req->next_step + 1 == req->steps->len && req->end == END_COMPLETE)
        record_write (req); /* before the last bytes go out */
      fake_conn_body (conn, req->out->str + req->sent, s->end - req->sent);
      req->sent = s->end;
      req->next_step++;
    }
  switch (req->end)
    {
    case END_COMPLETE:
      req_end (req);
      break;
    case END_HANG:
      fake_conn_send (conn);
      break;
    case END_CUT:
      req_cut (req);
      break;
    }
}

static gboolean
headers_timer_cb (gpointer data)
{
  Req *req = data;

  req->timer = 0;
  req_continue (req);
  return G_SOURCE_REMOVE;
}

/* A whole, non-streamed body, after its delay. */
static gboolean
whole_timer_cb (gpointer data)
{
  Req *req = data;

  req->timer = 0;
  if (req->status == 200)
    req->t_first = g_get_monotonic_time ();
  record_write (req);
  fake_conn_head (req->conn, req->status, status_phrase (req->status),
                  (const char *const *)req->headers->pdata, (int64_t)req->out->len);
  fake_conn_body (req->conn, req->out->str, req->out->len);
  req_end (req);
  return G_SOURCE_REMOVE;
}

/* Answer at once with an OpenAI error object. */
static void
send_error (FakeConn *conn, unsigned status, const char *type, const char *message,
            const char *const *extra)
{
  g_autoptr (GString) body = g_string_new ("{\"error\":{\"message\":");
  const char *headers[] = { "Content-Type", "application/json", extra ? extra[0] : NULL,
                            extra ? extra[1] : NULL, NULL };

  fake_json_append_string (body, message);
  g_string_append (body, ",\"type\":");
  fake_json_append_string (body, type);
  g_string_append (body, ",\"param\":null,\"code\":null}}");
  fake_conn_head (conn, status, status_phrase (status), headers, (int64_t)body->len);
  fake_conn_body (conn, body->str, body->len);
  fake_conn_end (conn);
}

static void
send_json (FakeConn *conn, const char *json, size_t len)
{
  static const char *const headers[] = { "Content-Type", "application/json", NULL };

  fake_conn_head (conn, 200, "OK", headers, (int64_t)len);
  fake_conn_body (conn, json, len);
  fake_conn_end (conn);
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

/* The headers of @r's answer: Content-Type (scripted or @dflt), no-cache
 * for an SSE stream, then the other scripted ones.  (transfer full) */
static GPtrArray *
response_headers (const Response *r, const char *dflt, gboolean sse)
{
  GPtrArray *h = g_ptr_array_sized_new (6 + r->extra->len);

  g_ptr_array_add (h, (char *)"Content-Type");
  g_ptr_array_add (h, (char *)(r->content_type ? r->content_type : dflt));
  if (sse)
    {
      g_ptr_array_add (h, (char *)"Cache-Control");
      g_ptr_array_add (h, (char *)"no-cache");
    }
  for (unsigned i = 0; i + 1 < r->extra->len; i += 2)
    if (!sse || g_ascii_strcasecmp (g_ptr_array_index (r->extra, i), "Cache-Control") != 0)
      {
        g_ptr_array_add (h, g_ptr_array_index (r->extra, i));
        g_ptr_array_add (h, g_ptr_array_index (r->extra, i + 1));
      }
  g_ptr_array_add (h, NULL);
  return h;
}

static void
handle_chat (FakeConn *conn, const FakeRequest *hreq, Api api)
{
  g_autoptr (GString) model = NULL;
  g_autofree char *prefix = NULL;
  FakeJsonFacts facts;
  const Response *r;
  Req *req;
  Render rd = { 0 };
  gboolean stream;
  unsigned headers_ms;

  req = g_new0 (Req, 1);
  req->link.data = req;
  req->conn = conn;
  req->path = g_strdup (hreq->path);
  req->auth = g_strdup (hreq->authorization);
  req->bytes = hreq->body_len;
  req->t_recv = hreq->t_read;
  req->t_arrived = hreq->t_arrived;
  g_queue_push_tail_link (&fake.active, &req->link);
  fake_conn_on_gone (conn, req_gone_cb, req);

  if (!fake_json_scan_object (hreq->body, hreq->body_len, &facts))
    {
      /* Recorded (body null) but takes no response from the script. */
      record_write (req);
      req->conn = NULL;
      req_free (req);
      send_error (conn, 400, "invalid_request_error", "request body is not a JSON object", NULL);
      return;
    }
  if (fake.record_fd >= 0)
    {
      req->body = g_memdup2 (hreq->body, hreq->body_len);
      req->body_spaced = facts.spaced;
    }

  r = req->resp = script_next ();
  fake.seq++;
  if (fake.verbose)
    g_printerr ("fake-llm: %s #%u, response %u, %zu bytes\n", hreq->path, fake.seq,
                MIN (fake.next, fake.responses->len), req->bytes);

  model = g_string_sized_new (32);
  if (facts.model)
    fake_json_append_span (model, facts.model, facts.model_len, facts.model_escaped);
  else
    g_string_append (model, "\"fake\"");
  rd.r = r;
  rd.api = api;
  rd.model_json = model->str;
  rd.seq = fake.seq;
  rd.first = TRUE;
  rd.cut = r->cut == 0;
  rd.eol = r->crlf ? "\r\n" : "\n";
  rd.prompt_tokens = r->usage_set ? r->usage_prompt : MAX (1, (unsigned)(req->bytes / 4));
  rd.completion_tokens = r->usage_set ? r->usage_completion : count_completion_tokens (r);
  /* OpenAI streams only when asked; Ollama unless asked not to. */
  stream = facts.stream >= 0 ? facts.stream == 1 : api == API_OLLAMA;
  rd.usage_null = !r->no_usage && (r->usage_set || facts.include_usage);
  req->out = g_string_sized_new (r->events->len * 256 + 1024);
  rd.out = req->out;

  if (r->status != 200 || r->body || !stream)
    {
      req->status = r->status;
      req->headers = response_headers (r, "application/json", FALSE);
      if (r->hang_headers)
        return;
      if (r->body)
        g_string_append (req->out, r->body);
      else if (r->status >= 300)
        {
          /* The default error body: OpenAI's error object. */
          const char *type = r->status == 429   ? "rate_limit_error"
                             : r->status >= 500 ? "server_error"
                                                : "invalid_request_error";
          g_string_append (req->out, "{\"error\":{\"message\":");
          fake_json_append_string (req->out, status_phrase (r->status));
          g_string_append (req->out, ",\"type\":");
          fake_json_append_string (req->out, type);
          g_string_append (req->out, ",\"param\":null,\"code\":null}}");
        }
      else
        render_whole (&rd);
      headers_ms = r->delay_headers + r->delay_first;
      if (headers_ms == 0)
        whole_timer_cb (req);
      else
        req->timer = g_timeout_add (headers_ms, whole_timer_cb, req);
      return;
    }

  req->headers = response_headers (
      r, api == API_OPENAI ? "text/event-stream" : "application/x-ndjson", api == API_OPENAI);
  if (r->hang_headers)
    return; /* never a byte; recorded when the client goes or the fake stops */
  if (api == API_OPENAI)
    {
      g_autoptr (GString) p = g_string_new (NULL);

      g_string_printf (p,
                       "\"id\":\"chatcmpl-fake%u\",\"object\":\"chat.completion.chunk\","
                       "\"created\":%d,\"model\":",
                       fake.seq, FAKE_CREATED);
      g_string_append (p, rd.model_json);
      prefix = g_string_free (g_steal_pointer (&p), FALSE);
      rd.prefix = prefix;
    }
  req->steps = g_array_new (FALSE, FALSE, sizeof (Step));
  rd.steps = req->steps;
  render_stream (&rd);
  req->end = r->cut >= 0 ? END_CUT : r->hang ? END_HANG : END_COMPLETE;
  if (r->delay_headers)
    req->timer = g_timeout_add (r->delay_headers, headers_timer_cb, req);
  else
    req_continue (req);
}

static void
server_cb (FakeConn *conn, const FakeRequest *req, void *data)
{
  const char *path = req->path;
  gboolean get = strcmp (req->method, "GET") == 0;
  gboolean post = strcmp (req->method, "POST") == 0;
  Api api;

  if (strcmp (path, "/v1/chat/completions") == 0 || strcmp (path, "/chat/completions") == 0)
    api = API_OPENAI;
  else if (strcmp (path, "/api/chat") == 0)
    api = API_OLLAMA;
  else if (get && (strcmp (path, "/v1/models") == 0 || strcmp (path, "/models") == 0))
    {
      static const char models[] = "{\"object\":\"list\",\"data\":[{\"id\":\"fake\",\"object\":"
                                   "\"model\",\"created\":0,\"owned_by\":\"lares-tests\"}]}";
      send_json (conn, models, sizeof models - 1);
      return;
    }
  else if (get && strcmp (path, "/api/tags") == 0)
    {
      static const char tags[] =
          "{\"models\":[{\"name\":\"fake\",\"model\":\"fake\",\"modified_at\":\"" FAKE_CREATED_AT
          "\",\"size\":0,\"digest\":\"0000000000000000000000000000000000000000000000000000000000"
          "000000\",\"details\":{\"format\":\"gguf\",\"family\":\"fake\",\"parameter_size\":\"0\","
          "\"quantization_level\":\"none\"}}]}";
      send_json (conn, tags, sizeof tags - 1);
      return;
    }
  else if (get && (strcmp (path, "/health") == 0 || strcmp (path, "/v1/health") == 0))
    {
      static const char ok[] = "{\"status\":\"ok\"}";
      send_json (conn, ok, sizeof ok - 1);
      return;
    }
  else
    {
      send_error (conn, 404, "invalid_request_error", "unknown path", NULL);
      return;
    }
  if (!post)
    {
      static const char *const allow[] = { "Allow", "POST" };
      send_error (conn, 405, "invalid_request_error", "method not allowed", allow);
      return;
    }
  handle_chat (conn, req, api);
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
  response_finish (r);
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
  FakeHttp *http;

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
  if (record &&
      (fake.record_fd = open (record, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666)) < 0)
    {
      g_printerr ("fake-llm: cannot open '%s': %s\n", record, g_strerror (errno));
      return 2;
    }
  fake.line = g_string_sized_new (16384);
  signal (SIGPIPE, SIG_IGN);

  /* A backlog of 1024: GLib's default of 10 drops the SYNs of a hundred
   * connections opened at once (each retried a second later). */
  http = fake_http_new ((uint16_t)port, 1024, server_cb, NULL, &error);
  if (http == NULL)
    {
      g_printerr ("fake-llm: cannot listen on port %d: %s\n", port, error->message);
      return 2;
    }
  printf ("port %u\n", fake_http_port (http));
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
  fake_http_free (http);
  g_main_loop_unref (fake.loop);
  g_ptr_array_unref (fake.responses);
  g_string_free (fake.line, TRUE);
  if (fake.record_fd >= 0)
    close (fake.record_fd);
  return 0;
}
