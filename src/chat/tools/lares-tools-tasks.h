/* lares-tools-tasks.h — the task tools: task.add, task.list, task.done and
 * task.delete_many.
 *
 * Their arguments are what the intent engine's tasks.yaml sends (title,
 * project or list, due as ISO 8601; due_from/due_to for a day) plus what
 * an LLM may add (tags, priority, id).  All but task.delete_many are low
 * risk: they act on the user's own tasks.  task.delete_many (by ids, or by
 * project, tag and status) is high risk: it runs only as an approved plan
 * (docs/internals/policy.md).  task.done finds a pending task by its
 * description (case-insensitive: an exact match first, else the tasks
 * containing the words) and asks which one when several match.
 */
#pragma once

#include "lares-tools.h"

G_BEGIN_DECLS

void lares_tools_tasks_register (LaresToolRegistry *reg);

G_END_DECLS
