/* lares-llm.h — one streaming interface over the LLM providers.
 *
 * A LaresLlm is a configured client (provider, base URL, model, key,
 * timeouts) holding one SoupSession tuned for long streams and, for a
 * plain-HTTP server on the loopback interface, lares's own HTTP/1.1
 * transport with its keep-alive pool (docs/internals/llm.md), which then
 * carries the chat requests; the probe always uses the SoupSession.  Each
 * lares_llm_chat() sends one request and streams the answer back on the
 * caller's main context: on_text for each piece of assistant text as it
 * arrives, then on_done exactly once with the assembled result or an error.
 *
 * Messages and tools are given in OpenAI's chat-completions form (PROTOCOLS.md
 * §3.1) whatever the provider; the ollama adapter translates them (§3.3).
 * Tool-call arguments come back as JSON text in both cases (Ollama's whole
 * objects are serialized), already merged by index for OpenAI streams.
 *
 * Main-context only.  Cancelling the GCancellable aborts the upstream
 * request at once; on_done still runs, with G_IO_ERROR_CANCELLED.  On
 * lares's own transport the GCancellable must be cancelled on the thread
 * running the request's main context (the thread-default one when
 * lares_llm_chat() was called), as lares does: cancelling wakes the
 * request through that context's poller.  A cancel from another thread
 * while that context is in use is reported with a critical, and the
 * request then ends only at its next socket event or deadline.  On
 * libsoup any thread may cancel.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define LARES_LLM_ERROR (lares_llm_error_quark ())
GQuark lares_llm_error_quark (void);

typedef enum
{
  LARES_LLM_ERROR_CONNECT,     /* could not connect (refused, DNS, TLS) or connect timeout */
  LARES_LLM_ERROR_TIMEOUT,     /* no first token, or the answer outlived the total timeout */
  LARES_LLM_ERROR_HTTP,        /* a non-2xx status (429, 5xx, …); see result->http_status */
  LARES_LLM_ERROR_PROTOCOL,    /* a body that is not the provider's stream format */
  LARES_LLM_ERROR_TRUNCATED,   /* the stream ended before the answer was finished */
  LARES_LLM_ERROR_UNCONFIGURED /* no provider, base URL or model */
} LaresLlmError;

typedef enum
{
  LARES_LLM_OPENAI,
  LARES_LLM_OLLAMA,
} LaresLlmProvider;

/* Which HTTP client carries chat requests (llm.http_client). */
typedef enum
{
  LARES_LLM_HTTP_AUTO,    /* lares's own transport for http:// loopback servers, else libsoup */
  LARES_LLM_HTTP_LIBSOUP, /* libsoup for every server */
} LaresLlmHttpClient;

typedef struct
{
  LaresLlmProvider provider;
  const char *base_url; /* openai: ".../v1" (chat at <base>/chat/completions);
                           ollama: "http://host:11434" (chat at <base>/api/chat) */
  const char *model;
  const char *api_key; /* nullable; sent as "Authorization: Bearer" */
  uint64_t connect_timeout_ms;
  uint64_t first_token_timeout_ms; /* request sent -> first text or tool-call piece */
  uint64_t total_timeout_ms;       /* request sent -> end of stream */
  unsigned max_concurrent;         /* connections kept: SoupSession max-conns(-per-host),
                                      idle connections of lares's own transport */
  LaresLlmHttpClient http_client;
} LaresLlmOptions;

typedef struct
{
  char *id;        /* "call_…"; made up when the provider sends none (owned) */
  char *name;      /* function name as the model wrote it (owned) */
  char *arguments; /* JSON text, not validated here (owned) */
} LaresLlmToolCall;

typedef struct
{
  GString *text;         /* all assistant text */
  GPtrArray *tool_calls; /* LaresLlmToolCall*, in index order */
  char *finish_reason;   /* "stop", "tool_calls", "length", …; NULL if never sent (owned) */
  int64_t prompt_tokens; /* from the usage chunk / prompt_eval_count; -1 if absent */
  int64_t completion_tokens;
  gboolean finished;    /* [DONE] (openai) or "done":true (ollama) arrived */
  unsigned http_status; /* 0 when no response arrived */
  uint64_t bytes_sent;  /* request body size */
  uint64_t bytes_received;
  int64_t first_token_us; /* from send to the first text/tool piece; -1 if none */
  int64_t total_us;       /* from send to the end */
} LaresLlmResult;

typedef struct
{
  /* A piece of assistant text (@len bytes of valid UTF-8, not NUL-terminated). */
  void (*on_text) (const char *text, size_t len, gpointer user_data);
  /* Exactly once.  @result is complete only when @error is NULL; on an error
   * it holds what arrived so far (transfer none, valid during the call). */
  void (*on_done) (const LaresLlmResult *result, const GError *error, gpointer user_data);
} LaresLlmCallbacks;

typedef struct _LaresLlm LaresLlm;

/* Fails with UNCONFIGURED when the base URL or model is empty or the URL
 * does not parse. */
LaresLlm *lares_llm_new (const LaresLlmOptions *options, GError **error);
void lares_llm_free (LaresLlm *llm);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresLlm, lares_llm_free)

const char *lares_llm_get_model (const LaresLlm *llm);
LaresLlmProvider lares_llm_get_provider (const LaresLlm *llm);

/* Start one streamed chat completion.  @messages: a JSON array of OpenAI
 * messages (transfer none); @tools: a JSON array of OpenAI tool schemas, or
 * NULL (transfer none).  Both are serialized before this returns. */
void lares_llm_chat (LaresLlm *llm, JsonNode *messages, JsonNode *tools, GCancellable *cancellable,
                     const LaresLlmCallbacks *callbacks, gpointer user_data);

/* The request body lares_llm_chat() would send, for tests and benches.
 * (transfer full) */
char *lares_llm_build_request (const LaresLlm *llm, JsonNode *messages, JsonNode *tools,
                               size_t *len);

/* Probe the server (GET <base>/models, or <base>/api/tags for ollama): for
 * `lares doctor` and the settings page's "test connection". */
void lares_llm_probe_async (LaresLlm *llm, GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data);
gboolean lares_llm_probe_finish (LaresLlm *llm, GAsyncResult *result, GError **error);

G_END_DECLS
