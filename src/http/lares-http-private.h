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

#include "lares-log.h"
#include "lares-server.h"

G_BEGIN_DECLS

typedef struct _LaresRequest LaresRequest;
typedef void (*LaresRouteHandler) (LaresRequest *req);

typedef enum
{
  LARES_ROUTE_JSON_BODY = 1 << 0, /* needs an application/json body, parsed into req->body */
  LARES_ROUTE_LOOPBACK = 1 << 1,  /* only from a loopback address */
} LaresRouteFlags;

typedef struct
{
  const char *method;  /* "GET", "POST", "DELETE" (HEAD follows GET) */
  const char *pattern; /* "/api/v1/notes/{id}"; {id} matches a positive integer */
  LaresRouteHandler handler;
  LaresRouteFlags flags;
  const char *name; /* metrics label */
} LaresRoute;

struct _LaresServer
{
  const LaresConfig *cfg;
  LaresStore *store;
  LaresBus *bus;
  int64_t default_user_id;
  SoupServer *soup;
  GSocket *listen_socket;
  uint16_t port;
  int64_t started_us;
  gboolean draining;
  unsigned inflight;     /* requests between request-started and finished/aborted */
  GPtrArray *websockets; /* LaresWs* (owned) */
  GTask *shutdown_task;
  unsigned shutdown_timer;
  char id_prefix[9];
  uint64_t next_request;

  /* Metrics. */
  GHashTable *request_counts; /* "route status" -> uint64_t* */
  uint64_t latency_buckets[12];
  uint64_t latency_count;
  double latency_sum_s;
  uint64_t ws_received, ws_sent, ws_rejected;
};

struct _LaresRequest
{
  LaresServer *server;
  SoupServerMessage *msg;  /* (owned ref) */
  const LaresRoute *route; /* nullable */
  char id[20];             /* request id, also sent as X-Request-Id */
  int64_t started_us;
  int64_t user_id;
  int64_t path_id; /* the {id} segment, 0 if none */
  JsonNode *body;  /* parsed JSON body for LARES_ROUTE_JSON_BODY routes (owned) */
  gboolean paused;
  gboolean done;
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

/* Refuse chunked bodies (411) and a Content-Length over server.max_body
 * (413) from the headers alone.  Returns FALSE after responding. */
gboolean lares_request_check_body_framing (LaresRequest *req);

/* Query parameter, or NULL. */
const char *lares_request_query (LaresRequest *req, const char *name);

/* Route tables, one per group (routes/<group>.c). */
extern const LaresRoute lares_system_routes[];
extern const LaresRoute lares_notes_routes[];

/* Prometheus text for /metrics.  (transfer full) */
char *lares_server_render_metrics (LaresServer *server);

/* WebSocket endpoint (lares-ws.c). */
void lares_ws_setup (LaresServer *server);
void lares_ws_close_all (LaresServer *server, unsigned short code, const char *reason);
/* Drop every remaining connection without a closing handshake (teardown). */
void lares_ws_free_all (LaresServer *server);
/* A WebSocket has closed (lets a pending shutdown complete). */
void lares_server_ws_gone (LaresServer *server);

/* Mint a request id into @out (20 bytes). */
void lares_server_next_id (LaresServer *server, char out[20]);

G_END_DECLS
