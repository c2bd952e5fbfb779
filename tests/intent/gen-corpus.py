#!/usr/bin/env python3
"""gen-corpus.py — write tests/intent/corpus/en.jsonl, the golden corpus.

The expected values are computed here, independently of the C engine, with
Python's zoneinfo: every date is a wall time in the user's zone turned into
an RFC 3339 instant.  The DST rule is the one docs/internals/intent.md
states: a wall time in a spring-forward gap becomes the first real instant
after it, a repeated one (fall back) the first occurrence.  Run it and
commit the output; test-intent-corpus reads only the .jsonl file.
"""
import datetime as dt
import json
import os
import sys
from zoneinfo import ZoneInfo

TZ = "Europe/Berlin"
Z = ZoneInfo(TZ)
NOW = dt.datetime(2025, 3, 29, 10, 0, tzinfo=Z)  # Saturday, the eve of spring-forward
UTC = dt.timezone.utc


def rfc(d):
    s = d.isoformat()
    return s


def wall(y, m, d, h=9, mi=0):
    """A local wall time as an aware datetime, DST rule applied."""
    naive = dt.datetime(y, m, d, h, mi)
    a = naive.replace(tzinfo=Z, fold=0)
    # A gap: the wall time does not survive a round trip through UTC.
    if a.astimezone(UTC).astimezone(Z).replace(tzinfo=None) != naive:
        t = naive
        while True:
            t += dt.timedelta(minutes=1)
            b = t.replace(tzinfo=Z)
            if b.astimezone(UTC).astimezone(Z).replace(tzinfo=None) == t:
                return b.astimezone(UTC).astimezone(Z)
    return a.astimezone(UTC).astimezone(Z)  # fold=0 is the first occurrence


def day(d):
    return wall(d.year, d.month, d.day)


def at(date, h, mi=0):
    return rfc(wall(date.year, date.month, date.day, h, mi))


def rng(date, days=1):
    nxt = date + dt.timedelta(days=days)
    return {"from": at(date, 0), "to": at(nxt, 0)}


TODAY = NOW.date()
TOM = TODAY + dt.timedelta(days=1)


def next_wd(wd):  # 1 = Monday; strictly after today
    delta = (wd - TODAY.isoweekday()) % 7
    return TODAY + dt.timedelta(days=delta or 7)


def plus(**kw):
    """Elapsed time: added to the instant, not to the wall clock."""
    return rfc((NOW.astimezone(UTC) + dt.timedelta(**kw)).astimezone(Z))


cases = []


def add(text, intent, args=None, **extra):
    c = {"text": text, "intent": intent}
    if intent is not None:
        c["args"] = args or {}
    c.update(extra)
    cases.append(c)


# ---- reminders with one-off times ---------------------------------------------
WHENS = [
    ("tomorrow at 5pm", at(TOM, 17)),
    ("at noon", at(TODAY, 12)),
    ("tonight", at(TODAY, 21)),
    ("tonight at 8", at(TODAY, 20)),
    ("in 20 minutes", plus(minutes=20)),
    ("in twenty minutes", plus(minutes=20)),
    ("in an hour", plus(hours=1)),
    ("in half an hour", plus(minutes=30)),
    ("in two hours", plus(hours=2)),
    ("in a couple of hours", plus(hours=2)),
    ("next friday", at(next_wd(5), 9)),
    ("on friday at 3pm", at(next_wd(5), 15)),
    ("on December 3rd", at(dt.date(2025, 12, 3), 9)),
    ("on the 14th at 9:30", at(dt.date(2025, 4, 14), 9, 30)),
    ("on the 31st at 8am", at(dt.date(2025, 3, 31), 8)),
    ("at 7", at(TODAY, 19)),
    ("at 11", at(TODAY, 11)),
    ("tomorrow morning", at(TOM, 9)),
    ("tomorrow evening", at(TOM, 19)),
    ("on monday at nine thirty", at(next_wd(1), 9, 30)),
    ("at half past five", at(TODAY, 17, 30)),
    ("at 8 in the evening", at(TODAY, 20)),
    ("on april 2nd at 10am", at(dt.date(2025, 4, 2), 10)),
    ("this afternoon", at(TODAY, 15)),
    ("tomorrow at 2:30am", at(TOM, 2, 30)),
    ("tomorrow at 7:15 am", at(TOM, 7, 15)),
    ("at 6 pm", at(TODAY, 18)),
    ("at quarter to 4", at(TODAY, 15, 45)),
    ("on the 1st of may", at(dt.date(2025, 5, 1), 9)),
    ("on 5 june at 14:00", at(dt.date(2025, 6, 5), 14)),
    ("at midnight", at(TOM, 0)),
    ("in 90 minutes", plus(minutes=90)),
    ("in an hour and a half", plus(minutes=90)),
    ("tomorrow", at(TOM, 9)),
    ("on sunday at 2:30 am", at(next_wd(7), 2, 30)),
    ("on wednesday afternoon", at(next_wd(3), 15)),
    ("2 hours from now", plus(hours=2)),
    ("at 9:45", at(TODAY, 21, 45)),
]
TEXTS = ["call mom", "buy milk", "water the plants", "take out the trash",
         "pay the electricity bill", "book a table", "check the oven", "email Alice"]
FORMS = ["remind me to {t} {w}", "remind me {w} to {t}", "can you remind me to {t} {w}",
         "set a reminder {w} to {t}", "please remind me to {t} {w}", "Remind me to {t} {w}."]
for i, (w, expect) in enumerate(WHENS):
    for k in range(3):
        form = FORMS[(i + k * 2) % len(FORMS)]
        t = TEXTS[(i * 3 + k) % len(TEXTS)]
        add(form.format(t=t, w=w), "reminder.create", {"text": t, "at": expect})

# ---- recurring reminders and alarms -------------------------------------------------
def first(pred, h, mi=0):
    d = TODAY
    for _ in range(400):
        if pred(d):
            w = wall(d.year, d.month, d.day, h, mi)
            if w > NOW:
                return rfc(w)
        d += dt.timedelta(days=1)
    raise SystemExit("no first occurrence")


def nth_wd(d, n, wd):
    if d.isoweekday() != wd:
        return False
    if n > 0:
        return (d.day - 1) // 7 == n - 1
    return (d + dt.timedelta(days=7)).month != d.month


RECS = [
    ("every weekday at 7", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=7;BYMINUTE=0",
     first(lambda d: d.isoweekday() <= 5, 7)),
    ("every day at 8am", "FREQ=DAILY;BYHOUR=8;BYMINUTE=0", first(lambda d: True, 8)),
    ("every monday at 9", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0",
     first(lambda d: d.isoweekday() == 1, 9)),
    ("every other tuesday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;BYHOUR=9;BYMINUTE=0",
     first(lambda d: d.isoweekday() == 2, 9)),
    ("on the first friday of each month", "FREQ=MONTHLY;BYDAY=1FR;BYHOUR=9;BYMINUTE=0",
     first(lambda d: nth_wd(d, 1, 5), 9)),
    ("every monday and thursday at 6pm", "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=18;BYMINUTE=0",
     first(lambda d: d.isoweekday() in (1, 4), 18)),
    ("every weekend at 10am", "FREQ=WEEKLY;BYDAY=SA,SU;BYHOUR=10;BYMINUTE=0",
     first(lambda d: d.isoweekday() >= 6, 10)),
    ("every morning", "FREQ=DAILY;BYHOUR=9;BYMINUTE=0", first(lambda d: True, 9)),
    ("every evening at 8", "FREQ=DAILY;BYHOUR=20;BYMINUTE=0", first(lambda d: True, 20)),
    ("on the last friday of every month at 5pm", "FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=17;BYMINUTE=0",
     first(lambda d: nth_wd(d, -1, 5), 17)),
    ("every month on the 15th", "FREQ=MONTHLY;BYMONTHDAY=15;BYHOUR=9;BYMINUTE=0",
     first(lambda d: d.day == 15, 9)),
    ("every sunday at noon", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=12;BYMINUTE=0",
     first(lambda d: d.isoweekday() == 7, 12)),
    ("daily at 7:30", "FREQ=DAILY;BYHOUR=7;BYMINUTE=30", first(lambda d: True, 7, 30)),
    ("every day at 2:30am", "FREQ=DAILY;BYHOUR=2;BYMINUTE=30", first(lambda d: True, 2, 30)),
    ("on the 1st of every month", "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0",
     first(lambda d: d.day == 1, 9)),
]
RFORMS = ["remind me to {t} {r}", "remind me {r} to {t}", "set a reminder {r} to {t}"]
for i, (r, rule, start) in enumerate(RECS):
    for k in range(2):
        t = TEXTS[(i + k * 3) % len(TEXTS)]
        add(RFORMS[(i + k) % len(RFORMS)].format(t=t, r=r), "reminder.create",
            {"text": t, "rrule": rule, "at": start})
    add(("set an alarm " if i % 2 else "wake me up ") + r, "alarm.set",
        {"rrule": rule, "at": start})

# ---- one-off alarms ----------------------------------------------------------------
for i, (w, expect) in enumerate(WHENS):
    if w.startswith("in ") or "from now" in w:
        continue
    form = ["set an alarm for {w}", "wake me up {w}", "set an alarm {w}",
            "can you wake me {w}"][i % 4]
    if form.endswith("for {w}") and (w.startswith("at ") or w.startswith("on ")):
        form = "set an alarm {w}"
    add(form.format(w=w), "alarm.set", {"at": expect})

# ---- timers ---------------------------------------------------------------------------
DURS = [("10 minutes", 600), ("twenty five minutes", 1500), ("an hour and a half", 5400),
        ("90 seconds", 90), ("1 hour 30 minutes", 5400), ("half an hour", 1800),
        ("2 hours", 7200), ("a couple of minutes", 120), ("45 mins", 2700),
        ("three hours and 20 minutes", 12000), ("one minute", 60), ("5 min", 300),
        ("a quarter of an hour", 900), ("two and a half hours", 9000), ("30 seconds", 30)]
TFORMS = ["set a timer for {d}", "start a {d} timer", "timer for {d}", "{d} timer",
          "can you set a timer for {d}", "Set a timer for {d}, please"]
for i, (d, secs) in enumerate(DURS):
    for k in range(2):
        add(TFORMS[(i + k * 3) % len(TFORMS)].format(d=d), "timer.start", {"seconds": secs})
add("set a pasta timer for 8 minutes", "timer.start", {"seconds": 480, "name": "pasta"})
add("set a timer for 12 minutes for the eggs", "timer.start", {"seconds": 720, "name": "eggs"})
add("start a 20 minute timer called laundry", "timer.start", {"seconds": 1200, "name": "laundry"})
for s in ["how much time is left on my timer", "how long is left", "how much time is left",
          "what's my timer at", "check my timer", "show my timers", "are there any timers running",
          "is the timer running", "when does my timer go off", "how long left on the timer"]:
    add(s, "timer.query" if s != "what's my timer at" else None, {})
for s in ["cancel the timer", "stop my timer", "cancel all timers", "turn off the timer",
          "delete the timer", "kill the timer"]:
    add(s, "timer.cancel", {})
add("cancel the pasta timer", "timer.cancel", {"name": "pasta"})
add("cancel my 10 minute timer", "timer.cancel", {"seconds": 600})

# ---- alarms cancel -----------------------------------------------------------------------
for s in ["cancel my alarm", "turn off the alarm", "delete all alarms", "don't wake me up"]:
    add(s, "alarm.cancel", {})
add("cancel my alarm for tomorrow at 7am", "alarm.cancel", {"at": at(TOM, 7)})
add("cancel the alarm on monday at 6:30", "alarm.cancel", {"at": at(next_wd(1), 6, 30)})

# ---- tasks -------------------------------------------------------------------------------
ENT = {"project": ["groceries", "home renovation", "work", "garden"],
       "list": ["shopping", "packing"], "contact": ["mom", "alice"],
       "device": ["kitchen light", "desk lamp", "floor lamp"]}
for title, proj, said in [("eggs", "groceries", "groceries"), ("paint the hall", "home renovation", "home renovation"),
                          ("send the report", "work", "work"), ("plant tulips", "garden", "garden"),
                          ("bread", "groceries", "grocries"), ("fix the door", "home renovation", "home renovaton"),
                          ("prune roses", "garden", "gardne"), ("call the plumber", "work", "work")]:
    add(f"add {title} to my {said} project", "task.add", {"title": title, "project": proj})
    add(f"put {title} on the {said} list", "task.add", {"title": title, "project": proj})
for title, lst, said in [("milk", "shopping", "shopping"), ("sunscreen", "packing", "packing"),
                         ("apples", "shopping", "shoping"), ("passport", "packing", "pakcing")]:
    add(f"add {title} to my {said} list", "task.add", {"title": title, "list": lst})
for t in ["buy stamps", "renew my passport", "clean the garage", "Call the bank", "fix the bike"]:
    add(f"add a task to {t}", "task.add", {"title": t})
    add(f"new task {t}", "task.add", {"title": t})
    add(f"add {t} to my to-do list", "task.add", {"title": t})
add("add a task to file taxes due friday", "task.add", {"title": "file taxes", "due": at(next_wd(5), 9)})
add("create a task to renew insurance by tomorrow at 5pm", "task.add",
    {"title": "renew insurance", "due": at(TOM, 17)})
add("add a task to call the vet tomorrow", "task.add", {"title": "call the vet", "due": at(TOM, 9)})
for s in ["what's on my to-do list", "show my tasks", "list my tasks", "what tasks do I have",
          "what do I need to do", "show me my to do list", "do I have any tasks", "What are my tasks?"]:
    add(s, "task.list", {})
for s, d in [("what do I need to do tomorrow", TOM), ("show my tasks for today", TODAY),
             ("what tasks do I have on friday", next_wd(5)), ("list my tasks due monday", next_wd(1))]:
    r = rng(d)
    add(s, "task.list", {"due_from": r["from"], "due_to": r["to"]})
for s, p in [("show my groceries list", "groceries"), ("what's on my garden list", "garden"),
             ("show me the tasks in the work project", "work"), ("list my grocries tasks", "groceries")]:
    add(s, "task.list", {"project": p})
add("show my shopping list", "task.list", {"list": "shopping"})
for t in ["buy milk", "call the plumber", "paint the hall", "send the report", "water the lawn"]:
    add(f"mark {t} as done", "task.done", {"title": t})
    add(f"I finished the task {t}", "task.done", {"title": t})
    add(f"check off {t}", "task.done", {"title": t})
add("cross buy milk off my list", "task.done", {"title": "buy milk"})
add("the task file taxes is done", "task.done", {"title": "file taxes"})
add("mark the task pay rent complete", "task.done", {"title": "pay rent"})
for s, p in [("delete all tasks in groceries", "groceries"), ("clear my garden list", "garden"),
             ("remove everything from the work project", "work"),
             ("delete all tasks in the home renovaton project", "home renovation")]:
    add(s, "task.delete_many", {"project": p})
add("delete all my completed tasks", "task.delete_many", {"status": "completed"})

# ---- reminders list/cancel ------------------------------------------------------------------
for s in ["what are my reminders", "show my reminders", "list my reminders",
          "what reminders do I have", "do I have any reminders", "what did I ask you to remind me about"]:
    add(s, "reminder.list", {})
for s, d in [("what reminders do I have tomorrow", TOM), ("show my reminders for friday", next_wd(5)),
             ("do I have any reminders today", TODAY)]:
    add(s, "reminder.list", rng(d))
for s, t in [("cancel my reminder to call mom", "call mom"), ("delete the reminder about the dentist", "the dentist"),
             ("remove my reminder to buy milk", "buy milk"), ("don't remind me to water the plants", "water the plants"),
             ("cancel the dentist reminder", "dentist")]:
    add(s, "reminder.cancel", {"text": t})
for s in ["cancel my reminder", "delete that reminder", "cancel all my reminders", "cancel my last reminder"]:
    add(s, "reminder.cancel", {})

# ---- calendar --------------------------------------------------------------------------------
DAYS = [("tomorrow", TOM), ("today", TODAY), ("on friday", next_wd(5)), ("monday", next_wd(1)),
        ("next tuesday", next_wd(2)), ("on april 3rd", dt.date(2025, 4, 3)),
        ("on the 14th", dt.date(2025, 4, 14)), ("this sunday", next_wd(7))]
CFORMS = ["what's on my calendar {d}", "what do I have {d}", "show my schedule for {d}",
          "do I have any meetings {d}", "what's on my agenda {d}", "am I busy {d}"]
for i, (d, date) in enumerate(DAYS):
    for k in range(3):
        f = CFORMS[(i + k * 2) % len(CFORMS)]
        text = f.format(d=d)
        if "for on" in text:
            text = text.replace("for on", "on")
        add(text, "calendar.list", rng(date))
add("what's tomorrow's schedule", "calendar.list", rng(TOM))
add("sunday's agenda", "calendar.list", rng(next_wd(7)))
for s in ["what's on my calendar", "show my calendar", "what meetings do I have", "what's coming up"]:
    add(s, "calendar.list", {})
for s, title, start in [
        ("schedule a dentist appointment on friday at 3pm", "dentist", at(next_wd(5), 15)),
        ("add lunch with Alice to my calendar tomorrow at noon", "lunch with Alice", at(TOM, 12)),
        ("book a haircut appointment on april 2nd at 10am", "haircut", at(dt.date(2025, 4, 2), 10)),
        ("create an event called team sync on monday at 9:30", "team sync", at(next_wd(1), 9, 30)),
        ("schedule book club tomorrow at 7pm", "book club", at(TOM, 19)),
        ("put a dinner party event on saturday at 8 pm", "dinner party", at(next_wd(6), 20)),
        ("add a meeting about the budget on wednesday at 2pm", "the budget", at(next_wd(3), 14)),
        ("schedule yoga for tomorrow morning", "yoga", at(TOM, 9))]:
    add(s, "calendar.create", {"title": title, "start": start})
add("schedule a 1 hour planning meeting tomorrow at 10am", "calendar.create",
    {"title": "planning", "start": at(TOM, 10), "duration": 3600})
add("book tennis on friday at 6pm for 90 minutes", "calendar.create",
    {"title": "tennis", "start": at(next_wd(5), 18), "duration": 5400})

# Weeks start on Monday; "this week" and "this weekend" are what is left of them, today
# included (NOW is a Saturday, the eve of the spring-forward change).
THIS_WEEK = rng(TODAY, 8 - TODAY.isoweekday())
NEXT_WEEK = rng(next_wd(1), 7)
THIS_WEEKEND = rng(TODAY if TODAY.isoweekday() >= 6 else next_wd(6), 1 if TODAY.isoweekday() == 7 else 2)
for s, r in [("what's on my calendar next week", NEXT_WEEK), ("what do I have this weekend", THIS_WEEKEND),
             ("show my schedule for this week", THIS_WEEK),
             ("are there any meetings on the weekend", THIS_WEEKEND)]:
    add(s, "calendar.list", r)
# The same words on a Wednesday and on a Sunday.
def days_from(y, m, d, days):
    a = dt.date(y, m, d)
    return {"from": at(a, 0), "to": at(a + dt.timedelta(days=days), 0)}
for now, s, intent, r in [
        ("2025-03-26T10:00:00+01:00", "what do I have this weekend", "calendar.list", days_from(2025, 3, 29, 2)),
        ("2025-03-26T10:00:00+01:00", "what's on my calendar this week", "calendar.list", days_from(2025, 3, 26, 5)),
        ("2025-03-26T10:00:00+01:00", "cancel all meetings next week", "calendar.delete_many", days_from(2025, 3, 31, 7)),
        ("2025-03-30T10:00:00+02:00", "clear my calendar this weekend", "calendar.delete_many", days_from(2025, 3, 30, 1)),
        ("2025-03-30T10:00:00+02:00", "delete all events this week", "calendar.delete_many", days_from(2025, 3, 30, 1)),
        ("2025-03-30T10:00:00+02:00", "what do I have next week", "calendar.list", days_from(2025, 3, 31, 7))]:
    cases.append({"text": s, "intent": intent, "args": r, "now": now})
add("show my tasks for next week", "task.list", {"due_from": NEXT_WEEK["from"], "due_to": NEXT_WEEK["to"]})
add("what reminders do I have this week", "reminder.list", THIS_WEEK)
for s, r in [("delete all events on friday", rng(next_wd(5))), ("clear my calendar tomorrow", rng(TOM)),
             ("cancel all meetings next week", NEXT_WEEK), ("remove all my appointments today", rng(TODAY)),
             ("clear my schedule for monday", rng(next_wd(1))), ("delete every event this week", THIS_WEEK),
             ("cancel everything on my calendar this weekend", THIS_WEEKEND),
             ("clear tomorrow's schedule", rng(TOM)), ("cancel my meetings tomorrow", rng(TOM)),
             ("Cancel everything on April 3rd", rng(dt.date(2025, 4, 3))),
             ("wipe my agenda for next tuesday", rng(next_wd(2))),
             ("delete all appointments on the 14th", rng(dt.date(2025, 4, 14)))]:
    add(s, "calendar.delete_many", r)
for s, title in [("delete all events called standup", "standup"),
                 ("cancel all my meetings called team sync", "team sync"),
                 ("cancel all standup meetings", "standup"), ("remove every yoga event", "yoga")]:
    add(s, "calendar.delete_many", {"title": title})
add("delete all yoga events next week", "calendar.delete_many", dict(title="yoga", **NEXT_WEEK))
add("cancel all meetings called budget review on friday", "calendar.delete_many",
    dict(title="budget review", **rng(next_wd(5))))
# Without a day or a title the tool asks which events.
for s in ["clear my calendar", "delete all my events", "cancel all meetings"]:
    add(s, "calendar.delete_many", {})

# ---- notes and memory -------------------------------------------------------------------------
for s, t in [("take a note that the wifi password is on the fridge", "the wifi password is on the fridge"),
             ("make a note: buy a new kettle", "buy a new kettle"),
             ("note that the boiler was serviced in March", "the boiler was serviced in March"),
             ("jot down that the car needs new tires", "the car needs new tires"),
             ("write a note saying call grandma on her birthday", "call grandma on her birthday"),
             ("new note the spare key is under the mat", "the spare key is under the mat"),
             ("add garden ideas to my notes", "garden ideas"),
             ("Take a note: Café opens at 8", "Café opens at 8")]:
    add(s, "note.add", {"text": t})
for s, q in [("find my notes about the boiler", "the boiler"), ("search my notes for wifi", "wifi"),
             ("do I have any notes about the car", "the car"), ("look up notes on taxes", "taxes"),
             ("search notes recipes", "recipes"), ("what did I write about the garden", "the garden")]:
    add(s, "note.search", {"query": q})
for s, f in [("remember that my sister's birthday is in June", "my sister's birthday is in June"),
             ("remember I like my coffee black", "I like my coffee black"),
             ("please remember that Alice is allergic to nuts", "Alice is allergic to nuts"),
             ("keep in mind that the gate code is 4321", "the gate code is 4321"),
             ("don't forget that I work from home on fridays", "I work from home on fridays")]:
    add(s, "memory.remember", {"fact": f})
for s, f in [("forget that I like jazz", "I like jazz"), ("forget about my old address", "my old address"),
             ("stop remembering that I smoke", "I smoke"), ("forget what I said about the car", "the car")]:
    add(s, "memory.forget", {"fact": f})

# ---- time, approvals, help --------------------------------------------------------------------
for s in ["what time is it", "What's the time?", "tell me the time", "what time is it now",
          "do you know what time it is", "current time", "WHAT TIME IS IT"]:
    add(s, "time.now", {"what": "time"})
for s in ["what's the date", "what's today's date", "what day is it", "what day is it today",
          "what is the date today", "tell me the date", "today's date"]:
    add(s, "time.now", {"what": "date"})
for s in ["yes", "Yes!", "yeah", "yep", "sure", "ok", "okay", "go ahead", "yes, do it",
          "yes please", "confirm", "approve it", "sounds good", "that's right"]:
    add(s, "approval.approve", {})
for s in ["no", "No.", "nope", "no, cancel that", "no, don't do it", "cancel that", "never mind",
          "forget it", "nah", "no thanks", "don't do that", "reject it", "no stop"]:
    add(s, "approval.reject", {})
for s in ["help", "what can you do", "What can you do for me?", "what are you able to do",
          "how do I use you", "what commands do you understand", "help me", "what can I ask you"]:
    add(s, "help", {})

# ---- normalization: case, punctuation, apostrophes, numbers, fillers, accents --------------
add("REMIND ME TO CALL MOM TOMORROW AT 5PM!!!", "reminder.create", {"text": "CALL MOM", "at": at(TOM, 17)})
add("um, remind me to, uh, buy milk in five minutes", "reminder.create", {"text": "buy milk", "at": plus(minutes=5)})
add("hey lares remind me to stretch in forty five minutes", "reminder.create", {"text": "stretch", "at": plus(minutes=45)})
add("Remind me to call Zoë at 6 p.m.", "reminder.create", {"text": "call Zoë", "at": at(TODAY, 18)})
add("remind me to call mom at six thirty pm", "reminder.create", {"text": "call mom", "at": at(TODAY, 18, 30)})
add("remind me to call mom in a couple of minutes", "reminder.create", {"text": "call mom", "at": plus(minutes=2)})
add("set a timer for one hundred and twenty seconds", "timer.start", {"seconds": 120})
add("what’s on my calendar tomorrow", "calendar.list", rng(TOM))
add("Set   a   timer  for  10   minutes", "timer.start", {"seconds": 600})
add("set a tímer for 10 minutes", "timer.start", {"seconds": 600})
add("remind me tmrw at 9 to pay rent", "reminder.create", {"text": "pay rent", "at": at(TOM, 9)})

# ---- DST edges ----------------------------------------------------------------------------------
add("wake me up tomorrow at 2:30am", "alarm.set", {"at": at(TOM, 2, 30)})
add("remind me to check the clocks tomorrow at 2am", "reminder.create",
    {"text": "check the clocks", "at": at(TOM, 2)})
add("remind me to check the clocks tomorrow at 3am", "reminder.create",
    {"text": "check the clocks", "at": at(TOM, 3)})
add("remind me to sleep in 24 hours", "reminder.create", {"text": "sleep", "at": plus(hours=24)})
# Fall back (Berlin, 2025-10-26 03:00 CEST -> 02:00 CET): 02:30 happens twice.
FALL = "2025-10-25T10:00:00+02:00"
def fb(h, mi=0):
    return rfc(wall(2025, 10, 26, h, mi))
cases.append({"text": "wake me up tomorrow at 2:30am", "intent": "alarm.set",
              "args": {"at": fb(2, 30)}, "now": FALL})
cases.append({"text": "remind me to feed the cat tomorrow at 1:30am", "intent": "reminder.create",
              "args": {"text": "feed the cat", "at": fb(1, 30)}, "now": FALL})
cases.append({"text": "remind me to feed the cat tomorrow at 3:30am", "intent": "reminder.create",
              "args": {"text": "feed the cat", "at": fb(3, 30)}, "now": FALL})
cases.append({"text": "what's on my calendar tomorrow", "intent": "calendar.list",
              "args": {"from": fb(0), "to": rfc(wall(2025, 10, 27, 0))}, "now": FALL})
# New York spring-forward (2025-03-09 02:00 EST -> 03:00 EDT).
NY = ZoneInfo("America/New_York")
cases.append({"text": "set an alarm for tomorrow at 2:15am", "intent": "alarm.set",
              "args": {"at": "2025-03-09T03:00:00-04:00"}, "now": "2025-03-08T12:00:00-05:00",
              "tz": "America/New_York"})
cases.append({"text": "remind me to jog in 2 hours", "intent": "reminder.create",
              "args": {"text": "jog", "at": "2025-03-09T04:30:00-04:00"},
              "now": "2025-03-09T01:30:00-05:00", "tz": "America/New_York"})

# ---- must not match ------------------------------------------------------------------------------
for s in ["what's the capital of France", "tell me a joke", "how tall is mount everest",
          "play some music", "turn on the kitchen light", "what's the weather like",
          "who won the game last night", "translate hello into spanish", "order a pizza",
          "i love you", "sing me a song", "how do you make pancakes", "what is 2 plus 2",
          "call mom", "send a message to alice", "book a flight to paris", "when is the next train",
          "how are you", "good morning", "thank you", "what's your name", "open the garage door",
          "read me the news", "set the thermostat to 21 degrees", "is it going to rain tomorrow",
          "remind me", "set a timer", "add to my list", "what", "", "?!?", "asdf qwerty",
          "set a timer for purple minutes", "remind me to call mom at 25:00",
          "remind me to call mom on february 30th", "wake me up at 13 pm",
          "what's on my calendar on the 32nd", "how many days until christmas",
          "dim the desk lamp", "who is the president"]:
    add(s, None)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "en.jsonl")
with open(out, "w", encoding="utf-8") as f:
    f.write(json.dumps({"defaults": {"now": NOW.isoformat(), "tz": TZ, "entities": ENT}}) + "\n")
    for c in cases:
        f.write(json.dumps(c, ensure_ascii=False) + "\n")
print(f"{len(cases)} cases -> {out}", file=sys.stderr)
