// recur.js — the calendar's dates, zones and repeat rules, without the DOM
// (tests/web/recur.test.mjs runs it under node).
//
// Day keys are "YYYY-MM-DD" strings: a calendar day with no zone, as the
// API writes all-day dates.  Wall times are {y, m, d, h, mi, s} in a named
// IANA zone; Intl gives the zone's offsets, so the browser's own zone is
// only the default, never an assumption.
//
// The repeat picker understands a subset of RFC 5545: FREQ=DAILY, WEEKLY
// (BYDAY of plain weekdays), MONTHLY or YEARLY (on the start's day), with
// INTERVAL and COUNT or UNTIL.  parseRule() returns null for anything else;
// the dialog then shows the rule as text and keeps it unless replaced.

export const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];
export const FREQS = ['daily', 'weekly', 'monthly', 'yearly'];

const pad = (n, w = 2) => String(n).padStart(w, '0');

// ---- day keys --------------------------------------------------------------

export function dayKey(y, m, d) {
  return `${pad(y, 4)}-${pad(m)}-${pad(d)}`;
}

export function parseDayKey(key) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(key || '');
  return m ? { y: Number(m[1]), m: Number(m[2]), d: Number(m[3]) } : null;
}

// Day arithmetic in UTC, where every day has 24 hours.
export function addDays(key, n) {
  const p = parseDayKey(key);
  const t = new Date(Date.UTC(p.y, p.m - 1, p.d + n));
  return dayKey(t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate());
}

export function addMonths(key, n) {
  const p = parseDayKey(key);
  const t = new Date(Date.UTC(p.y, p.m - 1 + n, 1));
  const last = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + 1, 0)).getUTCDate();
  return dayKey(t.getUTCFullYear(), t.getUTCMonth() + 1, Math.min(p.d, last));
}

export function daysBetween(a, b) {
  const pa = parseDayKey(a);
  const pb = parseDayKey(b);
  return Math.round((Date.UTC(pb.y, pb.m - 1, pb.d) - Date.UTC(pa.y, pa.m - 1, pa.d)) / 86400000);
}

// 0 = Monday … 6 = Sunday (the index into WEEKDAYS).
export function weekdayOf(key) {
  const p = parseDayKey(key);
  return (new Date(Date.UTC(p.y, p.m - 1, p.d)).getUTCDay() + 6) % 7;
}

// The first day of the week holding @key; @firstDay 0 = Monday … 6 = Sunday.
export function startOfWeek(key, firstDay = 0) {
  return addDays(key, -((weekdayOf(key) - firstDay + 7) % 7));
}

export function startOfMonth(key) {
  const p = parseDayKey(key);
  return dayKey(p.y, p.m, 1);
}

// The day key of a Date in the browser's zone.
export function localDayKey(date) {
  return dayKey(date.getFullYear(), date.getMonth() + 1, date.getDate());
}

// Local midnight of a day key, as a Date in the browser's zone.
export function localMidnight(key) {
  const p = parseDayKey(key);
  return new Date(p.y, p.m - 1, p.d);
}

// ---- zones -----------------------------------------------------------------

const partsFormats = new Map();

function partsFormat(tz) {
  let f = partsFormats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    partsFormats.set(tz, f);
  }
  return f;
}

export function isZone(tz) {
  try {
    partsFormat(tz);
    return true;
  } catch {
    return false;
  }
}

// The wall time of the instant @ms in @tz.
export function zoneParts(ms, tz) {
  const p = {};
  for (const x of partsFormat(tz).formatToParts(new Date(ms))) p[x.type] = x.value;
  return { y: Number(p.year), m: Number(p.month), d: Number(p.day), h: Number(p.hour) % 24, mi: Number(p.minute), s: Number(p.second) };
}

// The instant of a wall time in @tz, placed as the daemon places it
// (lares_recur_wall_to_ms): the first of two in an autumn repeat, and in a
// spring-forward gap the offset from before it (RFC 5545 §3.3.5), so
// 02:30 on the night clocks go from 02:00 to 03:00 is 03:30.
function offsetAt(ms, tz) {
  const p = zoneParts(ms, tz);
  return Date.UTC(p.y, p.m - 1, p.d, p.h, p.mi, p.s) - Math.floor(ms / 1000) * 1000;
}

export function wallToMs(tz, y, m, d, h = 0, mi = 0, s = 0) {
  const local = Date.UTC(y, m - 1, d, h, mi, s);
  const before = offsetAt(local - 86400000, tz);
  const after = offsetAt(local + 86400000, tz);
  const u1 = local - before;
  if (offsetAt(u1, tz) === before) return u1;
  const u2 = local - after;
  if (offsetAt(u2, tz) === after) return u2;
  return u1;
}

// ---- rules -----------------------------------------------------------------

function ruleParts(rrule) {
  const parts = new Map();
  for (const piece of String(rrule).trim().replace(/^RRULE:/i, '').split(';')) {
    if (!piece) continue;
    const eq = piece.indexOf('=');
    if (eq <= 0) return null;
    const k = piece.slice(0, eq).toUpperCase();
    if (parts.has(k)) return null;
    parts.set(k, piece.slice(eq + 1).toUpperCase());
  }
  return parts;
}

// UNTIL as the day (in @tz) it ends on: "20261231", "20261231T225959Z", or
// a floating "20261231T235959".
export function untilDay(value, tz) {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?$/.exec(value || '');
  if (!m) return null;
  if (m[7] === 'Z') {
    const p = zoneParts(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]), tz);
    return dayKey(p.y, p.m, p.d);
  }
  return dayKey(+m[1], +m[2], +m[3]);
}

// The picker's model of @rrule for a series starting on @startKey, or null
// when the picker cannot show the rule exactly.
//   {freq, interval, byday: ['TU', 'TH'], end: 'never' | 'until' | 'count', until, count}
export function parseRule(rrule, startKey, tz = 'UTC') {
  const parts = rrule ? ruleParts(rrule) : null;
  if (!parts || !parts.has('FREQ')) return null;
  const freq = parts.get('FREQ').toLowerCase();
  if (!FREQS.includes(freq)) return null;
  const start = parseDayKey(startKey);
  const model = { freq, interval: 1, byday: [WEEKDAYS[weekdayOf(startKey)]], end: 'never', until: '', count: 0 };
  for (const [k, v] of parts) {
    switch (k) {
      case 'FREQ':
        break;
      case 'INTERVAL':
        if (!/^[1-9]\d{0,3}$/.test(v)) return null;
        model.interval = Number(v);
        break;
      case 'COUNT':
        if (!/^[1-9]\d{0,4}$/.test(v) || parts.has('UNTIL')) return null;
        model.end = 'count';
        model.count = Number(v);
        break;
      case 'UNTIL':
        model.until = untilDay(v, tz);
        if (!model.until) return null;
        model.end = 'until';
        break;
      case 'BYDAY': {
        if (freq !== 'weekly') return null;
        const days = v.split(',');
        if (!days.length || days.some((x) => !WEEKDAYS.includes(x)) || new Set(days).size !== days.length) return null;
        model.byday = WEEKDAYS.filter((x) => days.includes(x));
        break;
      }
      case 'WKST':
        // The week start changes nothing unless weeks are skipped.
        if (!WEEKDAYS.includes(v)) return null;
        if (v !== 'MO' && freq === 'weekly' && Number(parts.get('INTERVAL') || 1) > 1) return null;
        break;
      case 'BYMONTHDAY':
        if (!(freq === 'monthly' || freq === 'yearly') || Number(v) !== start.d || !/^\d+$/.test(v)) return null;
        break;
      case 'BYMONTH':
        if (freq !== 'yearly' || Number(v) !== start.m || !/^\d+$/.test(v)) return null;
        break;
      default:
        return null;
    }
  }
  return model;
}

// An RRULE for the picker's @model.  The end day is inclusive: a timed
// series ends at 23:59:59 of it in @tz, written in UTC as RFC 5545 wants
// for a start with a zone; an all-day series ends on the date.
export function buildRule(model, { allDay = false, tz = 'UTC' } = {}) {
  const out = [`FREQ=${model.freq.toUpperCase()}`];
  if (model.interval > 1) out.push(`INTERVAL=${model.interval}`);
  if (model.freq === 'weekly' && model.byday.length) out.push(`BYDAY=${WEEKDAYS.filter((d) => model.byday.includes(d)).join(',')}`);
  if (model.end === 'count') out.push(`COUNT=${model.count}`);
  if (model.end === 'until') {
    const p = parseDayKey(model.until);
    if (allDay) out.push(`UNTIL=${pad(p.y, 4)}${pad(p.m)}${pad(p.d)}`);
    else {
      const t = new Date(wallToMs(tz, p.y, p.m, p.d, 23, 59, 59));
      out.push(`UNTIL=${pad(t.getUTCFullYear(), 4)}${pad(t.getUTCMonth() + 1)}${pad(t.getUTCDate())}T${pad(t.getUTCHours())}${pad(t.getUTCMinutes())}${pad(t.getUTCSeconds())}Z`);
    }
  }
  return out.join(';');
}

export function sameModel(a, b) {
  if (!a || !b) return a === b;
  return a.freq === b.freq && a.interval === b.interval && a.end === b.end &&
    (a.end !== 'until' || a.until === b.until) && (a.end !== 'count' || a.count === b.count) &&
    (a.freq !== 'weekly' || a.byday.join() === b.byday.join());
}

// ---- words -----------------------------------------------------------------

const UNIT = { daily: ['day', 'days'], weekly: ['week', 'weeks'], monthly: ['month', 'months'], yearly: ['year', 'years'] };

export function weekdayName(code, style = 'long', locale) {
  // 2024-01-01 was a Monday.
  const d = new Date(Date.UTC(2024, 0, 1 + WEEKDAYS.indexOf(code)));
  return new Intl.DateTimeFormat(locale, { weekday: style, timeZone: 'UTC' }).format(d);
}

function list(items, locale) {
  try {
    return new Intl.ListFormat(locale, { style: 'long', type: 'conjunction' }).format(items);
  } catch {
    return items.join(', ');
  }
}

// "Every week on Tuesday and Thursday", "Every 2 days, 10 times",
// "Every month until 31 Dec 2026".
export function describeModel(model, locale) {
  const [one, many] = UNIT[model.freq];
  let s = model.interval > 1 ? `Every ${model.interval} ${many}` : `Every ${one}`;
  if (model.freq === 'weekly' && model.byday.length) {
    const weekdays = model.byday.join() === 'MO,TU,WE,TH,FR';
    s += weekdays && model.interval === 1 ? ' on weekdays' : ` on ${list(model.byday.map((d) => weekdayName(d, model.byday.length > 2 ? 'short' : 'long', locale)), locale)}`;
  }
  if (model.end === 'count') s += model.count === 1 ? ', once' : `, ${model.count} times`;
  if (model.end === 'until' && model.until) {
    const p = parseDayKey(model.until);
    s += ` until ${new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }).format(new Date(Date.UTC(p.y, p.m - 1, p.d)))}`;
  }
  return s;
}

export function describeRule(rrule, startKey, tz, locale) {
  if (!rrule) return '';
  const model = parseRule(rrule, startKey, tz);
  return model ? describeModel(model, locale) : `Repeats (${rrule})`;
}
