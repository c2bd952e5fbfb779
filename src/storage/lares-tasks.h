/* lares-tasks.h — tasks in Taskwarrior's model, their urgency, and
 * Taskwarrior's JSON export format.
 *
 * Store functions are plain functions over a connection, meant to run
 * inside a LaresStoreFunc on a store thread; every one takes the owner's
 * user id and filters by it (another user's task is NOT_FOUND).  The JSON
 * functions are pure and run anywhere; the Taskwarrior parser takes outside
 * input and is fuzzed (fuzz/fuzz-tasks-import.c).
 *
 * Invariants of a LaresTask: description is non-empty UTF-8; project is ""
 * when unset; priority is "", "H", "M" or "L"; times are Unix ms (UTC), 0
 * when unset; tags and depends are NULL-terminated vectors (never NULL);
 * uuid is a lower-case RFC 4122 text.  docs/internals/tasks.md has the
 * urgency formula.
 */
#pragma once

#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <stdint.h>

G_BEGIN_DECLS

#define LARES_TASK_ERROR (lares_task_error_quark ())
GQuark lares_task_error_quark (void);

typedef enum
{
  LARES_TASK_ERROR_INVALID, /* a field has a wrong type or value; the message names it */
} LaresTaskError;

#define LARES_TASK_DESCRIPTION_MAX 10000 /* characters */
#define LARES_TASK_NAME_MAX        200   /* project, tag: characters */
#define LARES_TASK_TAGS_MAX        64
#define LARES_TASK_ANNOTATIONS_MAX 1000
#define LARES_TASK_DEPENDS_MAX     1000

typedef enum
{
  LARES_TASK_PENDING,
  LARES_TASK_COMPLETED,
  LARES_TASK_DELETED,
  LARES_TASK_WAITING,
  LARES_TASK_RECURRING,
} LaresTaskStatus;

typedef struct
{
  int64_t entry; /* Unix ms */
  char *description;
} LaresTaskAnnotation;

typedef struct
{
  int64_t id; /* 0 until stored */
  int64_t user_id;
  char uuid[37];
  char *description;
  char *project;
  char priority[2];
  LaresTaskStatus status;
  int64_t entry, modified, end, start, due, scheduled, wait, until; /* Unix ms; 0 unset */
  char **tags;
  char **depends;         /* uuids of tasks this one waits for */
  GPtrArray *annotations; /* LaresTaskAnnotation* (owned) */
  JsonObject *extra;      /* nullable: imported members lares does not model */
  gboolean blocked;       /* depends on a pending task (set by get/list) */
  gboolean blocking;      /* a pending task depends on it (set by get/list) */
  double urgency;         /* set by get/list */
} LaresTask;

LaresTask *lares_task_new (void);
void lares_task_free (LaresTask *task);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresTask, lares_task_free)

const char *lares_task_status_to_string (LaresTaskStatus status);
gboolean lares_task_status_from_string (const char *text, LaresTaskStatus *out);

/* Taskwarrior's urgency with its default coefficients, at @now_ms.  Uses
 * task->blocked and task->blocking as they are. */
double lares_task_urgency (const LaresTask *task, int64_t now_ms);

/* Dates.  Parse Taskwarrior's "20261121T093000Z" or ISO 8601 with a zone
 * ("2026-11-21T09:30:00+01:00"; without one it is UTC), or a date alone
 * ("2026-11-21", midnight UTC).  Format writes Taskwarrior's form.
 * (transfer full) */
gboolean lares_task_date_parse (const char *text, int64_t *out_ms);
char *lares_task_date_format (int64_t ms);

/* Apply the members of @o (the REST shape: description, project, tags,
 * priority, due, scheduled, wait, until, status, depends, annotate, active)
 * to @task.  Dates are Unix ms integers or date strings; null clears.
 * @creating requires a description.  Unknown members fail; @task may be
 * half-changed on failure. */
gboolean lares_task_apply_json (LaresTask *task, JsonObject *o, int64_t now_ms, gboolean creating,
                                GError **error);

/* The REST shape.  (transfer full) */
JsonNode *lares_task_to_json (const LaresTask *task);
/* One task in Taskwarrior's export format.  (transfer full) */
JsonNode *lares_task_to_tw_json (const LaresTask *task);

/* Parse `task export` output (a JSON array of task objects).  Tasks
 * without a uuid get a new one; "id" and "urgency" are ignored; members
 * lares does not model go to task->extra.  The first bad task fails the
 * whole array with a message naming it.  (transfer full) GPtrArray of
 * LaresTask. */
GPtrArray *lares_tasks_parse_tw (JsonNode *root, int64_t now_ms, GError **error);

/* ---- store ---------------------------------------------------------------------------------- */

typedef struct
{
  const char *project; /* nullable: this project and its subprojects ("home" has "home.bills") */
  const char *tag;     /* nullable */
  int status;          /* a LaresTaskStatus, or -1 for all */
  int64_t due_before;  /* 0: none; else due < this */
  int64_t due_after;   /* 0: none; else due >= this */
  gboolean by_urgency; /* most urgent first; else by id */
  unsigned limit;      /* 0: all */
} LaresTaskFilter;

/* Insert @task (its uuid, if empty, is made).  Sets task->id. */
gboolean lares_tasks_insert (sqlite3 *db, int64_t user_id, LaresTask *task, GError **error);
/* Write every field of the stored task task->id. */
gboolean lares_tasks_update (sqlite3 *db, int64_t user_id, LaresTask *task, GError **error);
/* (transfer full) or NULL with NOT_FOUND; urgency computed at @now_ms. */
LaresTask *lares_tasks_get (sqlite3 *db, int64_t user_id, int64_t id, int64_t now_ms,
                            GError **error);
gboolean lares_tasks_delete (sqlite3 *db, int64_t user_id, int64_t id, GError **error);
/* Delete those of @ids (@n of them) that are tasks of @user_id; the others
 * are skipped.  OUT @deleted (nullable): the ids deleted, in @ids' order
 * (transfer full, a GArray of int64_t). */
gboolean lares_tasks_delete_many (sqlite3 *db, int64_t user_id, const int64_t *ids, unsigned n,
                                  GArray **deleted, GError **error);
/* (transfer full) GPtrArray of LaresTask, urgency computed at @now_ms. */
GPtrArray *lares_tasks_list (sqlite3 *db, int64_t user_id, const LaresTaskFilter *filter,
                             int64_t now_ms, GError **error);
/* Insert or replace (by uuid) each of @tasks.  The caller's transaction
 * makes it all or nothing.  OUT: @added, @updated (nullable). */
gboolean lares_tasks_import (sqlite3 *db, int64_t user_id, GPtrArray *tasks, unsigned *added,
                             unsigned *updated, GError **error);

/* The distinct project names of the user's pending and waiting tasks, for
 * the intent engine's entity matching.  (transfer full) GStrv. */
char **lares_tasks_project_names (sqlite3 *db, int64_t user_id, GError **error);

G_END_DECLS
