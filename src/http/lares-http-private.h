/* lares-http-private.h — what route handlers and the WebSocket code share
 * with the server core.
 *
 * A handler gets a LaresRequest and must eventually call exactly one
 * lares_request_respond_*() function, either before returning (synchronous)
 * or later from a callback (asynchronous: the server pauses the message when
 * the handler returns without a response and resumes it on respond).  The
 * respond call frees the request.
 */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "lares-auth.h"
#include "lares-chat.h"
#include "lares-log.h"
#include "lares-scheduler.h"
#include "lares-server.h"

G_BEGIN_DECLS

typedef struct _LaresRequest LaresRequest;
typedef void (*LaresRouteHandler) (LaresRequest *req);
typedef void (*LaresRequestGoneFunc) (gpointer data);

typedef enum
{
  LARES_ROUTE_JSON_BODY = 1 << 0,      /* needs an application/json body, parsed into req->body */
  LARES_ROUTE_PUBLIC = 1 << 1,         /* no credentials needed */
  LARES_ROUTE_ADMIN = 1 << 2,          /* credentials of an admin */
  LARES_ROUTE_LOCAL_OR_ADMIN = 1 << 3, /* open from loopback, else an admin only */
  LARES_ROUTE_JSON_ANY = 1 << 4,       /* with JSON_BODY: any JSON value, not only an object */
  LARES_ROUTE_FEED_KEY = 1 << 5,       /* a calendar feed key in ?key= may stand for credentials */
} LaresRouteFlags;

typedef struct
{
  const char *method;  /* "GET", "POST", "DELETE" (HEAD follows GET) */
  const char *pattern; /* "/api/v1/notes/{id}"; {id} matches a positive integer, {name} a
                          tool name (read it with lares_request_path_name) */
  LaresRouteHandler handler;
  LaresRouteFlags flags;
  const char *name;  /* metrics label */
  uint64_t max_body; /* body cap in bytes; 0: server.max_body */
} LaresRoute;

struct _LaresServer
{
  const LaresConfig *cfg;
  LaresStore *store;
  LaresBus *bus;
  LaresChat *chat;
  LaresScheduler *scheduler; /* reminders, timers, alarms; freed before the chat */
  SoupServer *soup;
  sqlite3 *auth_db;            /* read-only, main thread only: credential point lookups */
  LaresRateLimit *login_limit; /* by IP and by user name */
  LaresAllowList *allow;
  gboolean tls;
  GSocket *listen_socket;
  unsigned accept_source; /* main-loop watch accepting on listen_socket (lares-server.c) */
  unsigned accept_pause;  /* timeout bringing accept_source back after a failed accept */
  /* (owned) (nullable) listen_socket's address when it is one address (not
   * 0.0.0.0 or ::), which is then every accepted connection's local one. */
  GSocketAddress *local_address;
  GTlsCertificate *tls_cert; /* nullable: serve HTTPS with it */
  uint16_t port;
  int64_t started_us;
  gboolean draining;
  gboolean shutdown_cut; /* the shutdown timeout passed */
  unsigned inflight;     /* requests counted by lares_server_count, not yet done */
  GPtrArray *websockets; /* LaresWs* (owned) */
  /* (owned) The WebSocket I/O thread (lares-ws-io.h). */
  struct _LaresWsIo *ws_io;
  /* Streams with bytes written since their last flush (LaresRequest.
   * flush_link), handed on by one source once the main loop has
   * dispatched what was ready: the tokens of one LLM read leave as one
   * write. */
  GQueue flush_queue;
  GSource *flush_source; /* (owned) */
  GTask *shutdown_task;
  unsigned shutdown_timer;
  gboolean shutdown_flushed; /* the timeout passed, then the grace for the cut turns' last bytes */
  char id_prefix[9];
  uint64_t next_request;

  /* Metrics. */
  GHashTable *request_counts; /* "route status" -> uint64_t* */
  uint64_t latency_buckets[12];
  uint64_t latency_count;
  double latency_sum_s;
  uint64_t ws_received, ws_sent, ws_rejected;
  uint64_t ws_dropped; /* clients dropped for not reading (lares-ws.c) */
};

struct _LaresRequest
{
  LaresServer *server;
  SoupServerMessage *msg;  /* (owned ref) */
  const LaresRoute *route; /* nullable */
  char id[20];             /* request id, also sent as X-Request-Id */
  int64_t started_us;
  int64_t user_id;      /* authenticated user, 0 on public routes */
  LaresCredential cred; /* how they authenticated (valid when user_id != 0) */
  char ip[48];          /* remote address, for throttling and the audit log */
  int64_t path_id;      /* the {id} segment, 0 if none */
  JsonNode *body;       /* parsed JSON body for LARES_ROUTE_JSON_BODY routes (owned) */
  gboolean paused;
  gboolean done;
  gboolean streaming;
  GString *pending; /* stream bytes not yet handed on */
  GList flush_link; /* in server->flush_queue while @pending waits for a flush */
  /* A stream on a plain connection is written by the I/O thread: the
   * connection is stolen from libsoup at the start, and the request is then
   * owned here instead of by the message (lares-server.c, streams). */
  struct _LaresWsConn *stream_conn;
  SoupServerMessage *stolen_from; /* (owned ref) while stream_conn is set */
  LaresRequestGoneFunc gone;
  gpointer gone_data;
};

/* Responses.  Each frees @req (and resumes a paused message). */
void lares_request_respond_json (LaresRequest *req, unsigned status, JsonNode *node);
void lares_request_respond_text (LaresRequest *req, unsigned status, const char *content_type,
                                 char *text, size_t len); /* takes @text */
void lares_request_respond_empty (LaresRequest *req, unsigned status);
void lares_request_respond_error (LaresRequest *req, unsigned status, const char *code,
                                  const char *format, ...) G_GNUC_PRINTF (4, 5);
/* Map a GError from a lower layer to a status and a stable code. */
void lares_request_respond_gerror (LaresRequest *req, const GError *error);

/* Streamed responses (SSE): begin sends the status and headers with the
 * first chunk @prelude (a paused response sends nothing until it has a
 * chunk); write queues a chunk; end finishes the response and frees @req.
 * Until end, the request counts as in flight. */
void lares_request_stream_begin (LaresRequest *req, const char *content_type, const char *prelude);
void lares_request_stream_write (LaresRequest *req, const char *data, size_t len);
void lares_request_stream_end (LaresRequest *req);

/* Call @func once if the client goes away before the response is done;
 * @req is freed right after, so @func must forget it. */
void lares_request_watch_gone (LaresRequest *req, LaresRequestGoneFunc func, gpointer data);

/* The body cap for this request: the route's own, else server.max_body. */
uint64_t lares_request_max_body (LaresRequest *req);

/* Refuse chunked bodies (411) and a Content-Length over the cap (413) from
 * the headers alone.  Returns FALSE after responding. */
gboolean lares_request_check_body_framing (LaresRequest *req);

/* Drop the connection unless the peer is loopback or in server.allow_from;
 * also records the peer's address in req->ip.  FALSE when dropped. */
gboolean lares_request_admit (LaresRequest *req);

/* The request's last path segment (a route's trailing {name}).
 * (transfer none) */
const char *lares_request_path_name (LaresRequest *req);

/* Query parameter, or NULL. */
const char *lares_request_query (LaresRequest *req, const char *name);
/* An optional integer query parameter in [@min, @max]; @out is left alone
 * when absent.  FALSE after answering 400. */
gboolean lares_request_query_int (LaresRequest *req, const char *name, int64_t min, int64_t max,
                                  int64_t *out);

/* Routing (lares-http-route.c).  The route for @method @path, with its
 * {id} in *@id.  NULL when none: then @allow (empty on entry) holds the
 * methods the path does have ("GET, HEAD, POST"; 405), or stays empty
 * (404).  A route is also returned with *@id_ok FALSE when the path has its
 * shape and method but the {id} segment is not an id (404).  A literal
 * path beats a {id} route of the same shape (docs/internals/http.md). */
const LaresRoute *lares_route_find (const char *method, const char *path, int64_t *id,
                                    gboolean *id_ok, GString *allow);
/* Every route table, in precedence order.  (transfer none) */
const LaresRoute *const *lares_route_tables (size_t *n_tables);

/* Route tables, one per group (routes/<group>.c). */
extern const LaresRoute lares_system_routes[];
extern const LaresRoute lares_notes_routes[];
extern const LaresRoute lares_auth_routes[];
extern const LaresRoute lares_chat_routes[];
extern const LaresRoute lares_openai_routes[];
extern const LaresRoute lares_tasks_routes[];
extern const LaresRoute lares_reminders_routes[];
extern const LaresRoute lares_settings_routes[];
extern const LaresRoute lares_web_routes[];
/* GET /static/…: matched by prefix (routes/web.c). */
extern const LaresRoute lares_web_static_route;
/* The version segment of the dashboard's asset URLs (a digest of the
 * embedded files).  (transfer none) */
const char *lares_web_version (void);
extern const LaresRoute lares_approvals_routes[];
extern const LaresRoute lares_calendar_routes[];

/* Run tool @name with @args (transfer none) for the request's user, the
 * authenticated owner, through the policy exactly as POST
 * /api/v1/tools/{name} does (routes/approvals.c): 200 {"result"}, or 202
 * {"approval"} for a high-risk call (every connection of the user is also
 * sent approval_required), or the error.  Responds. */
void lares_request_run_tool (LaresRequest *req, const char *name, JsonNode *args);

/* Authentication (lares-http-auth.c).  Each returns FALSE after responding.
 * Check the credentials the request carries (bearer token or session
 * cookie) and, for cookie requests with an unsafe method, that they come
 * from our own origin. */
gboolean lares_request_authenticate (LaresRequest *req);
/* The same for a public route that answers either way: 1 when the
 * request carries valid credentials (req->user_id and req->cred set), 0
 * when it carries none or invalid ones (nothing answered), -1 after a
 * store error was answered. */
int lares_request_identify (LaresRequest *req);
/* Fetch Metadata / Origin say the request comes from our own pages (or
 * from something that is not a browser). */
gboolean lares_request_same_origin (LaresRequest *req);
/* Apply the route's access flags (public, admin, local-or-admin). */
gboolean lares_request_check_access (LaresRequest *req);
/* Record a security event (asynchronously; failures are logged).  @detail:
 * a JSON object text or NULL; never a secret. */
void lares_server_audit (LaresServer *server, int64_t user_id, const char *event, const char *ip,
                         const char *detail);
/* Tell every connection of @user_id that a row changed, after the current
 * response: {"type": @type, @member: @row} or, with @row NULL,
 * {"type": @type, "id": @id}.  Nothing is built when nobody listens. */
void lares_server_publish_change (LaresServer *server, int64_t user_id, const char *type,
                                  const char *member, JsonNode *row, int64_t id);
/* Unix milliseconds. */
int64_t lares_now_ms (void);

/* Prometheus text for /metrics.  (transfer full) */
char *lares_server_render_metrics (LaresServer *server);

/* Chat over a WebSocket message (routes/chat.c): start a turn for
 * @user_id from a {"type":"message"} object, or cancel one.  Returns an
 * error code and sets *@message on refusal, NULL when the turn started. */
const char *lares_chat_ws_message (LaresServer *server, int64_t user_id, JsonObject *msg,
                                   char **message);
void lares_chat_ws_cancel (LaresServer *server, int64_t user_id, JsonObject *msg);

/* WebSocket endpoint (lares-ws.c): its handlers and its I/O thread.
 * FALSE with @error set when the thread cannot start. */
gboolean lares_ws_setup (LaresServer *server, GError **error);
void lares_ws_close_all (LaresServer *server, unsigned short code, const char *reason);
/* Drop every remaining connection without a closing handshake (teardown). */
void lares_ws_free_all (LaresServer *server);
/* Count a request as in flight from its early handler; uncount when it is
 * finished, aborted or its connection stolen (idempotent). */
void lares_server_count (LaresServer *server, SoupServerMessage *msg);
void lares_server_uncount (LaresServer *server, SoupServerMessage *msg);
/* A WebSocket has closed (lets a pending shutdown complete). */
void lares_server_ws_gone (LaresServer *server);

/* Mint a request id into @out (20 bytes). */
void lares_server_next_id (LaresServer *server, char out[20]);

G_END_DECLS
