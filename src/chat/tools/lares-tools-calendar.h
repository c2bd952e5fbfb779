/* lares-tools-calendar.h — the calendar tools: calendar.create,
 * calendar.list, calendar.delete and calendar.delete_many.
 *
 * Their arguments are what the intent engine's calendar.yaml sends (title,
 * start as ISO 8601 with the user's offset, duration in seconds; from/to
 * for a day or a week) plus what an LLM may add (end, location, rrule,
 * remind_minutes...).  The first three are low risk: they act on the
 * user's own calendar, one event at a time.  calendar.delete finds an
 * event by its title (case-insensitive: an exact match first, else the
 * titles containing the words) and asks which one when several match.
 *
 * calendar.delete_many {ids?, title?, from?, to?} (at least one; from and
 * to together) is high risk: its planner names the events every given
 * condition selects ({"text", "ids", "count", "repeating"}), and the
 * approved run deletes only those planned ids that still match, with
 * every repeat and pending reminder of each.
 */
#pragma once

#include "lares-tools.h"

G_BEGIN_DECLS

void lares_tools_calendar_register (LaresToolRegistry *reg);

G_END_DECLS
