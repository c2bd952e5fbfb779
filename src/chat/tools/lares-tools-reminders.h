/* lares-tools-reminders.h — the reminder, timer and alarm tools.
 *
 * reminder.create/list/cancel, timer.start/query/cancel, alarm.set/cancel,
 * with argument schemas that take exactly what the intent engine sends
 * (data/intents/en/reminders.yaml, timers.yaml) and what a model needs.
 * They act through the scheduler in the tool context; without one they
 * fail with a clear message.
 */
#pragma once

#include "lares-tools.h"

G_BEGIN_DECLS

void lares_tools_reminders_register (LaresToolRegistry *reg);

G_END_DECLS
