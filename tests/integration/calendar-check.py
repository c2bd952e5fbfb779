#!/usr/bin/python3
"""calendar-check.py FILE FROM TO — read an iCalendar feed with Debian's
python3-icalendar and expand it with python3-dateutil, independently of
lares, and print what it found as JSON:

  {"events": [{"uid", "summary", "location", "start", "end", "rrule",
               "exdates", "recurrence_id", "alarm_minutes"}],
   "occurrences": [{"uid", "summary", "start", "end"}]}   (in [FROM, TO))

Times are UTC ISO 8601 ("2026-03-23T08:00:00Z"), dates "2026-03-23".
Used by tests/integration/test-calendar.c; exits 3 when a module is
missing so the test can say so.
"""
import datetime
import json
import sys

try:
    import icalendar
    from dateutil import rrule as du_rrule
except ImportError as e:  # the test skips, saying why
    print("missing module: %s" % e, file=sys.stderr)
    sys.exit(3)

UTC = datetime.timezone.utc


def iso(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise SystemExit("floating time in the feed: %s" % value)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.strftime("%Y-%m-%d")


def localize(naive, tz):
    """A wall time in the zone of the event (pytz or zoneinfo tzinfo)."""
    if tz is None:
        return naive
    if hasattr(tz, "localize"):
        return tz.localize(naive)
    return naive.replace(tzinfo=tz)


def main():
    path, start, end = sys.argv[1], sys.argv[2], sys.argv[3]
    lo = datetime.datetime.fromisoformat(start.replace("Z", "+00:00"))
    hi = datetime.datetime.fromisoformat(end.replace("Z", "+00:00"))
    with open(path, "rb") as f:
        cal = icalendar.Calendar.from_ical(f.read())
    if cal.name != "VCALENDAR":
        raise SystemExit("not a VCALENDAR")
    events, masters, overrides = [], [], {}
    for ev in cal.walk("VEVENT"):
        dtstart = ev.decoded("DTSTART")
        dtend = ev.decoded("DTEND") if "DTEND" in ev else dtstart
        exdates = []
        raw = ev.get("EXDATE", [])
        for prop in raw if isinstance(raw, list) else [raw]:
            exdates += [iso(d.dt) for d in prop.dts]
        alarm = None
        for a in ev.walk("VALARM"):
            trig = a.decoded("TRIGGER")
            alarm = int(-trig.total_seconds() // 60)
        item = {
            "uid": str(ev["UID"]),
            "summary": str(ev.get("SUMMARY", "")),
            "location": str(ev.get("LOCATION", "")),
            "start": iso(dtstart),
            "end": iso(dtend),
            "rrule": ev["RRULE"].to_ical().decode() if "RRULE" in ev else None,
            "exdates": sorted(exdates),
            "recurrence_id": iso(ev.decoded("RECURRENCE-ID")) if "RECURRENCE-ID" in ev else None,
            "alarm_minutes": alarm,
        }
        events.append(item)
        if item["recurrence_id"]:
            overrides[(item["uid"], item["recurrence_id"])] = (dtstart, dtend, item["summary"])
        else:
            masters.append((item, dtstart, dtend))

    occ = []

    def add(uid, summary, s, e):
        s_utc = s if not isinstance(s, datetime.datetime) else s.astimezone(UTC)
        e_utc = e if not isinstance(e, datetime.datetime) else e.astimezone(UTC)
        if isinstance(s, datetime.datetime):
            if not (s_utc < hi and (e_utc > lo or (e_utc == s_utc and s_utc >= lo))):
                return
        else:
            # All-day: compare as UTC dates (the test keeps them in UTC).
            s_dt = datetime.datetime.combine(s, datetime.time(), UTC)
            e_dt = datetime.datetime.combine(e, datetime.time(), UTC)
            if not (s_dt < hi and e_dt > lo):
                return
        occ.append({"uid": uid, "summary": summary, "start": iso(s), "end": iso(e)})

    for item, dtstart, dtend in masters:
        uid = item["uid"]
        if not item["rrule"]:
            add(uid, item["summary"], dtstart, dtend)
            continue
        length = dtend - dtstart
        timed = isinstance(dtstart, datetime.datetime)
        tz = dtstart.tzinfo if timed else None
        # dateutil walks naive wall times; each is then placed in the zone,
        # so 09:00 stays 09:00 across DST (RFC 5545 §3.3.10).
        wall = dtstart.replace(tzinfo=None) if timed else datetime.datetime.combine(
            dtstart, datetime.time())
        rule_text = item["rrule"]
        if "UNTIL=" in rule_text and timed:
            # UNTIL is UTC: compare as the wall time of that instant.
            parts = dict(p.split("=", 1) for p in rule_text.split(";"))
            until = datetime.datetime.strptime(parts["UNTIL"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            parts["UNTIL"] = until.astimezone(tz).strftime("%Y%m%dT%H%M%S")
            rule_text = ";".join("%s=%s" % kv for kv in parts.items())
        rule = du_rrule.rrulestr(rule_text, dtstart=wall)
        excluded = set(item["exdates"])
        for n, w in enumerate(rule):
            if n > 20000:
                break
            s = localize(w, tz) if timed else w.date()
            if (s.astimezone(UTC) if timed else datetime.datetime.combine(s, datetime.time(), UTC)) >= hi:
                break
            rid = iso(s)
            if rid in excluded:
                continue
            if (uid, rid) in overrides:
                continue
            add(uid, item["summary"], s, s + length)
    for (uid, rid), (s, e, summary) in overrides.items():
        if rid in next((m[0]["exdates"] for m in masters if m[0]["uid"] == uid), []):
            continue
        add(uid, summary, s, e)
    occ.sort(key=lambda o: (o["start"], o["uid"]))
    json.dump({"events": events, "occurrences": occ}, sys.stdout)


if __name__ == "__main__":
    main()
