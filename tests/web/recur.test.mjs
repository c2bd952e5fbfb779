// recur.test.mjs — the calendar's day arithmetic, zone conversion and
// repeat picker (data/web/js/recur.js) under node's own test runner.
//
// The zones are named in every call, so the results do not depend on the
// machine's zone; the RFC 5545 examples are those of PROTOCOLS.md §7.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addDays, addMonths, daysBetween, weekdayOf, startOfWeek, startOfMonth, wallToMs, zoneParts, isZone,
  parseRule, buildRule, sameModel, describeModel, describeRule, untilDay,
} from '../../data/web/js/recur.js';

const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');

test('day keys: arithmetic across months, years and DST changes', () => {
  assert.equal(addDays('2026-02-28', 1), '2026-03-01');
  assert.equal(addDays('2028-02-28', 1), '2028-02-29');
  assert.equal(addDays('2026-12-31', 1), '2027-01-01');
  assert.equal(addDays('2026-03-29', -1), '2026-03-28');
  assert.equal(addDays('2026-10-25', 7), '2026-11-01');
  assert.equal(addMonths('2026-01-31', 1), '2026-02-28');
  assert.equal(addMonths('2026-12-15', 1), '2027-01-15');
  assert.equal(addMonths('2026-01-15', -1), '2025-12-15');
  assert.equal(daysBetween('2026-03-28', '2026-03-30'), 2);
  assert.equal(daysBetween('2026-11-30', '2026-11-23'), -7);
  assert.equal(weekdayOf('2026-11-23'), 0); // a Monday
  assert.equal(weekdayOf('2026-11-29'), 6);
  assert.equal(startOfWeek('2026-11-26'), '2026-11-23');
  assert.equal(startOfWeek('2026-11-23'), '2026-11-23');
  assert.equal(startOfWeek('2026-11-29'), '2026-11-23');
  assert.equal(startOfWeek('2026-11-26', 6), '2026-11-22'); // weeks from Sunday
  assert.equal(startOfWeek('2026-11-22', 6), '2026-11-22');
  assert.equal(startOfMonth('2026-11-26'), '2026-11-01');
});

test('zones: wall times to instants and back, across DST', () => {
  assert.equal(iso(wallToMs('Europe/Paris', 2026, 1, 5, 9, 0)), '2026-01-05T08:00:00Z');
  assert.equal(iso(wallToMs('Europe/Paris', 2026, 3, 30, 9, 0)), '2026-03-30T07:00:00Z');
  // The spring-forward gap: 02:30 does not exist in Paris on 29 March.
  assert.equal(iso(wallToMs('Europe/Paris', 2026, 3, 29, 2, 30)), '2026-03-29T01:30:00Z');
  // The autumn repeat: 02:30 happens twice; the first is summer time.
  assert.equal(iso(wallToMs('Europe/Paris', 2026, 10, 25, 2, 30)), '2026-10-25T00:30:00Z');
  assert.equal(iso(wallToMs('America/New_York', 2026, 11, 21, 23, 59, 59)), '2026-11-22T04:59:59Z');
  assert.equal(iso(wallToMs('Asia/Kolkata', 2026, 6, 1, 0, 0)), '2026-05-31T18:30:00Z');
  assert.deepEqual(zoneParts(Date.UTC(2026, 6, 1, 22, 30), 'Europe/Paris'), { y: 2026, m: 7, d: 2, h: 0, mi: 30, s: 0 });
  assert.deepEqual(zoneParts(Date.UTC(2026, 0, 1, 0, 0), 'UTC'), { y: 2026, m: 1, d: 1, h: 0, mi: 0, s: 0 });
  assert.equal(isZone('Europe/Paris'), true);
  assert.equal(isZone('Mars/Olympus_Mons'), false);
});

test('rules the picker shows', () => {
  const tue = '2026-11-24';
  assert.deepEqual(parseRule('FREQ=WEEKLY;BYDAY=TU,TH', tue),
    { freq: 'weekly', interval: 1, byday: ['TU', 'TH'], end: 'never', until: '', count: 0 });
  assert.deepEqual(parseRule('FREQ=WEEKLY', tue).byday, ['TU'], 'a plain weekly rule repeats the start weekday');
  assert.deepEqual(parseRule('FREQ=WEEKLY;BYDAY=TH,TU', tue).byday, ['TU', 'TH'], 'week order');
  assert.deepEqual(parseRule('freq=daily;interval=10;count=5', tue),
    { freq: 'daily', interval: 10, byday: ['TU'], end: 'count', until: '', count: 5 });
  assert.equal(parseRule('FREQ=MONTHLY;UNTIL=20270630', tue).until, '2027-06-30');
  assert.equal(parseRule('FREQ=MONTHLY;BYMONTHDAY=24', tue).freq, 'monthly');
  assert.equal(parseRule('FREQ=YEARLY;BYMONTH=11;BYMONTHDAY=24', tue).freq, 'yearly');
  assert.equal(parseRule('RRULE:FREQ=YEARLY', tue).freq, 'yearly');
  // UNTIL in UTC names the day it falls on in the event's zone.
  assert.equal(parseRule('FREQ=WEEKLY;UNTIL=19971007T000000Z;WKST=SU;BYDAY=TU,TH', '1997-09-02', 'America/New_York').until, '1997-10-06');
  assert.equal(untilDay('20261231T225959Z', 'Europe/Paris'), '2026-12-31');
  assert.equal(untilDay('20261231T235959', 'Europe/Paris'), '2026-12-31');
});

test('rules the picker cannot show are left alone', () => {
  const tue = '2026-11-24';
  for (const r of [
    'FREQ=MONTHLY;COUNT=10;BYDAY=1FR', // RFC 5545: the first Friday
    'FREQ=WEEKLY;INTERVAL=2;COUNT=8;WKST=SU;BYDAY=TU,TH', // WKST matters with INTERVAL
    'FREQ=HOURLY;INTERVAL=3',
    'FREQ=MONTHLY;BYMONTHDAY=1,15',
    'FREQ=MONTHLY;BYMONTHDAY=-1',
    'FREQ=YEARLY;BYMONTH=1,7',
    'FREQ=DAILY;BYHOUR=9,17',
    'FREQ=WEEKLY;BYDAY=XX',
    'FREQ=WEEKLY;BYDAY=MO,MO',
    'FREQ=DAILY;COUNT=0',
    'FREQ=DAILY;COUNT=3;UNTIL=20270101',
    'FREQ=DAILY;FREQ=WEEKLY',
    'FREQ=DAILY;INTERVAL=x',
    'INTERVAL=2',
    'FREQ=WEEKLY;BYSETPOS=1',
    'nonsense',
    '',
  ]) assert.equal(parseRule(r, tue, 'Europe/Paris'), null, r);
});

test('building rules: weekdays, intervals, counts and inclusive end days', () => {
  const m = (o) => ({ freq: 'weekly', interval: 1, byday: ['TU'], end: 'never', until: '', count: 0, ...o });
  assert.equal(buildRule(m({ byday: ['TH', 'TU'] })), 'FREQ=WEEKLY;BYDAY=TU,TH');
  assert.equal(buildRule(m({ freq: 'daily', interval: 2, end: 'count', count: 10 })), 'FREQ=DAILY;INTERVAL=2;COUNT=10');
  assert.equal(buildRule(m({ freq: 'monthly', end: 'until', until: '2026-12-31' }), { tz: 'Europe/Paris' }),
    'FREQ=MONTHLY;UNTIL=20261231T225959Z');
  assert.equal(buildRule(m({ freq: 'monthly', end: 'until', until: '2026-07-31' }), { tz: 'Europe/Paris' }),
    'FREQ=MONTHLY;UNTIL=20260731T215959Z', 'summer time');
  assert.equal(buildRule(m({ freq: 'yearly', end: 'until', until: '2030-01-01' }), { allDay: true, tz: 'Europe/Paris' }),
    'FREQ=YEARLY;UNTIL=20300101');
  // Whatever the picker builds, it reads back the same.
  for (const model of [
    m({}), m({ byday: ['MO', 'WE', 'FR'], interval: 3 }), m({ freq: 'daily', end: 'count', count: 7 }),
    m({ freq: 'monthly', end: 'until', until: '2027-03-28' }), m({ freq: 'yearly', interval: 2 }),
  ]) {
    for (const tz of ['Europe/Paris', 'America/New_York', 'Pacific/Kiritimati', 'UTC']) {
      for (const allDay of [false, true]) {
        const back = parseRule(buildRule(model, { tz, allDay }), '2026-11-24', tz);
        assert.ok(sameModel(model, back), `${JSON.stringify(model)} in ${tz} (all day: ${allDay}) → ${JSON.stringify(back)}`);
      }
    }
  }
});

test('rules in words', () => {
  const m = (o) => ({ freq: 'weekly', interval: 1, byday: ['TU'], end: 'never', until: '', count: 0, ...o });
  assert.equal(describeModel(m({ byday: ['TU', 'TH'] }), 'en-GB'), 'Every week on Tuesday and Thursday');
  assert.equal(describeModel(m({ byday: ['MO', 'TU', 'WE', 'TH', 'FR'] }), 'en-GB'), 'Every week on weekdays');
  assert.equal(describeModel(m({ byday: ['MO', 'WE', 'FR'], interval: 2 }), 'en-GB'), 'Every 2 weeks on Mon, Wed and Fri');
  assert.equal(describeModel(m({ freq: 'daily', interval: 2, end: 'count', count: 10 }), 'en-GB'), 'Every 2 days, 10 times');
  assert.equal(describeModel(m({ freq: 'monthly', end: 'until', until: '2026-12-31' }), 'en-GB'), 'Every month until 31 Dec 2026');
  assert.equal(describeModel(m({ freq: 'yearly' }), 'en-GB'), 'Every year');
  assert.equal(describeRule('FREQ=MONTHLY;BYDAY=-1FR', '2026-11-27', 'UTC', 'en-GB'), 'Repeats (FREQ=MONTHLY;BYDAY=-1FR)');
  assert.equal(describeRule(null, '2026-11-27', 'UTC', 'en-GB'), '');
});
