// pages/calendar.js — the calendar: a week and a month view, the event
// dialog with its repeat picker, and the subscription link.
//
// What is shown comes from GET /api/v1/events?from=&to=, which expands
// repeating events into occurrences (overrides applied, cancelled ones
// left out); the page only lays them out, in the browser's zone.  The view
// and its date live in the URL (#/calendar?view=month&date=2026-11-01).
// At phone width the week becomes a list of days and the month a grid of
// dots with the chosen day's events under it.
//
// The dialog edits wall times in the event's own zone (the browser's by
// default) and sends them without an offset, which the daemon reads in
// that zone.  An occurrence of a series can be changed alone (POST
// /api/v1/events/{id}/occurrences) or the whole series with the event.
// Changes from anywhere arrive as event_* on /ws and reload the range.

import { get, post, del, qs } from '../api.js';
import { h, append, icon, field, formStatus, loading, errorBox, openDialog, confirmDialog, debounce, localZone, toOffsetIso } from '../dom.js';
import {
  WEEKDAYS, addDays, addMonths, daysBetween, weekdayOf, startOfWeek, startOfMonth, parseDayKey, localDayKey,
  localMidnight, zoneParts, isZone, parseRule, buildRule, sameModel, describeModel, weekdayName,
} from '../recur.js';

const HOUR_PX = 48;
const MONTH_CHIPS = 3;
const PHONE = window.matchMedia('(max-width: 700px)');
const REMINDERS = [[null, 'No reminder'], [0, 'At the start'], [5, '5 minutes before'], [10, '10 minutes before'], [15, '15 minutes before'],
  [30, '30 minutes before'], [60, '1 hour before'], [120, '2 hours before'], [1440, '1 day before'], [10080, '1 week before']];
const FREQ_LABEL = { none: 'Does not repeat', daily: 'Daily', weekly: 'Weekly', monthly: 'Monthly', yearly: 'Yearly' };
const UNIT = { daily: ['day', 'days'], weekly: ['week', 'weeks'], monthly: ['month', 'months'], yearly: ['year', 'years'] };

const fmt = {
  time: new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' }),
  dow: new Intl.DateTimeFormat(undefined, { weekday: 'short', timeZone: 'UTC' }),
  dowLong: new Intl.DateTimeFormat(undefined, { weekday: 'long', timeZone: 'UTC' }),
  dayLong: new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long', timeZone: 'UTC' }),
  dayMedium: new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' }),
  range: new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }),
  month: new Intl.DateTimeFormat(undefined, { month: 'long', year: 'numeric', timeZone: 'UTC' }),
};

// A day key as a Date at midnight UTC, for the formatters above.
function utcDay(key) {
  const p = parseDayKey(key);
  return new Date(Date.UTC(p.y, p.m - 1, p.d));
}

function firstDayOfWeek() {
  try {
    const loc = new Intl.Locale(navigator.language);
    const info = typeof loc.getWeekInfo === 'function' ? loc.getWeekInfo() : loc.weekInfo;
    if (info && info.firstDay) return (info.firstDay + 6) % 7;
  } catch {
    // Older engines: Monday, as ISO 8601.
  }
  return 0;
}

function timeZones() {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return [];
  }
}

const pad = (n) => String(n).padStart(2, '0');

// ---- occurrences -----------------------------------------------------------

// An occurrence of the API with its place in the browser's days:
// first and last day keys (inclusive), and for timed ones the instants.
function place(o) {
  if (o.all_day) return { ...o, first: o.start, last: addDays(o.end, -1) };
  const start = new Date(o.start);
  const end = new Date(o.end);
  const last = end > start ? new Date(end.getTime() - 1) : start;
  return { ...o, startDate: start, endDate: end, first: localDayKey(start), last: localDayKey(last) };
}

function timeRange(o) {
  if (o.all_day) return o.first === o.last ? 'All day' : `All day, until ${fmt.dayMedium.format(utcDay(o.last))}`;
  const s = fmt.time.format(o.startDate);
  const e = fmt.time.format(o.endDate);
  return o.first === o.last ? `${s} – ${e}` : `${s} – ${fmt.dayMedium.format(utcDay(o.last))} ${e}`;
}

function describeOcc(o) {
  return [o.title, fmt.dayLong.format(utcDay(o.first)), timeRange(o), o.recurring ? 'repeats' : null, o.location || null].filter(Boolean).join(', ');
}

function hue(o) {
  return `hue-${o.event_id % 6}`;
}

function occKey(o) {
  return `${o.event_id}/${o.recurrence_id || ''}`;
}

// ---- the subscription link ---------------------------------------------------

// Shared with Settings: make (or replace) the feed key and show its URL.
export function feedPanel() {
  const status = formStatus();
  const out = h('div', { class: 'feed-out', hidden: true });
  const make = h('button', { class: 'btn', type: 'button' }, icon('link'), h('span', { text: 'Make a subscription link' }));
  make.addEventListener('click', async () => {
    if (!out.hidden && !(await confirmDialog('New subscription link', 'A new link turns the current one off: calendars subscribed to it stop updating until they get the new one.', 'Make a new link'))) return;
    make.disabled = true;
    try {
      const r = await post('/api/v1/calendar/feed');
      const url = h('input', { class: 'feed-url', readonly: true, value: r.url, 'aria-label': 'Subscription link', spellcheck: 'false' });
      url.addEventListener('focus', () => url.select());
      const copy = h('button', { class: 'btn btn-small', type: 'button' }, icon('copy'), h('span', { text: 'Copy' }));
      copy.addEventListener('click', async () => {
        try {
          await navigator.clipboard.writeText(r.url);
          copy.lastChild.textContent = 'Copied';
          status.set('The link is on the clipboard.', 'ok');
        } catch {
          url.focus();
          url.select();
          status.set('Copy the selected link (Ctrl+C).', 'ok');
        }
      });
      out.replaceChildren(h('div', { class: 'feed-row' }, url, copy),
        h('p', { class: 'hint', text: 'Anyone with this link can read your calendar. It is shown only now; making a new one turns this one off.' }));
      out.hidden = false;
      make.lastChild.textContent = 'Make a new link';
      status.set('');
    } catch (e) {
      status.set(e.message);
    } finally {
      make.disabled = false;
    }
  });
  return h('div', { class: 'feed' },
    h('p', { class: 'section-sub', text: 'Subscribe from your phone or another calendar app (iCalendar): it sees your events, and changes made here reach it on its next refresh.' }),
    out, status, h('div', { class: 'button-row' }, make));
}

// ---- the page -----------------------------------------------------------------

export default {
  id: 'calendar',
  title: 'Calendar',
  icon: 'calendar',

  mount(main, ctx) {
    const params = new URLSearchParams(location.hash.split('?')[1] || '');
    const today = () => localDayKey(new Date());
    const s = {
      view: params.get('view') === 'month' ? 'month' : 'week',
      date: parseDayKey(params.get('date')) ? params.get('date') : today(),
      firstDay: firstDayOfWeek(),
      occs: [],
      truncated: false,
      selected: null, // phone month: the chosen day
      loaded: false,
      seq: 0,
      disposed: false,
      scrolled: null,
    };

    // ---- toolbar ----
    const rangeLabel = h('h2', { class: 'cal-range', 'aria-live': 'polite', tabindex: '-1' });
    const prevBtn = h('button', { class: 'btn', type: 'button' }, icon('left'));
    const nextBtn = h('button', { class: 'btn', type: 'button' }, icon('right'));
    const todayBtn = h('button', { class: 'btn', type: 'button', text: 'Today', title: 'Today (T)' });
    const viewBtns = [['week', 'Week'], ['month', 'Month']].map(([v, t]) =>
      h('button', { type: 'button', class: 'seg', role: 'radio', 'aria-checked': String(v === s.view), dataset: { view: v }, text: t, title: `${t} (${t[0]})` }));
    const viewSeg = h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': 'View' }, viewBtns);
    const addBtn = h('button', { class: 'btn btn-primary', type: 'button', title: 'New event (N)' }, icon('plus'), h('span', { text: 'New event' }));
    const subBtn = h('button', { class: 'btn', type: 'button', title: 'Subscribe from another calendar' }, icon('link'), h('span', { class: 'label', text: 'Subscribe' }));
    const pageStatus = formStatus();
    const view = h('div', { class: 'cal-view' }, loading('Loading the calendar…'));
    main.append(
      h('div', { class: 'page-head cal-head' }, h('h1', { text: 'Calendar' }), h('div', { class: 'cal-head-tools' }, subBtn, addBtn)),
      h('div', { class: 'cal-toolbar' },
        h('div', { class: 'cal-nav' }, todayBtn, h('div', { class: 'cal-arrows' }, prevBtn, nextBtn)), rangeLabel, viewSeg),
      pageStatus, view,
      h('p', { class: 'hint cal-keys' }, 'Keys: ', h('kbd', { text: '←' }), ' ', h('kbd', { text: '→' }), ' previous and next, ',
        h('kbd', { text: 'T' }), ' today, ', h('kbd', { text: 'W' }), ' week, ', h('kbd', { text: 'M' }), ' month, ', h('kbd', { text: 'N' }), ' new event.'));

    prevBtn.addEventListener('click', () => step(-1));
    nextBtn.addEventListener('click', () => step(1));
    todayBtn.addEventListener('click', () => go(today()));
    addBtn.addEventListener('click', () => openEditor({ day: s.selected || (inRange(today()) ? today() : rangeDays()[0]) }));
    subBtn.addEventListener('click', () => openDialog('Subscribe to your calendar', () => h('div', { class: 'dialog-body' }, feedPanel())));
    viewSeg.addEventListener('click', (ev) => {
      const b = ev.target.closest('.seg');
      if (b) setView(b.dataset.view);
    });
    viewSeg.addEventListener('keydown', (ev) => {
      if (!['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown'].includes(ev.key)) return;
      ev.preventDefault();
      const next = s.view === 'week' ? 'month' : 'week';
      setView(next);
      viewBtns.find((b) => b.dataset.view === next).focus();
    });

    function setView(v) {
      if (v === s.view) return;
      s.view = v;
      for (const b of viewBtns) {
        b.setAttribute('aria-checked', String(b.dataset.view === v));
        b.tabIndex = b.dataset.view === v ? 0 : -1;
      }
      s.scrolled = null;
      changed();
    }
    for (const b of viewBtns) b.tabIndex = b.dataset.view === s.view ? 0 : -1;

    function step(n) {
      go(s.view === 'week' ? addDays(s.date, 7 * n) : addMonths(startOfMonth(s.date), n), true);
    }

    function go(key, keepSelection = false) {
      s.date = key;
      if (!keepSelection || !inRange(s.selected)) s.selected = s.view === 'month' ? key : null;
      changed();
    }

    function changed() {
      const q = qs({ view: s.view === 'month' ? 'month' : '', date: s.date !== today() ? s.date : '' });
      history.replaceState(null, '', `#/calendar${q}`);
      load();
    }

    // The days shown, and the range asked for.
    function rangeDays() {
      if (s.view === 'week') {
        const first = startOfWeek(s.date, s.firstDay);
        return Array.from({ length: 7 }, (_, i) => addDays(first, i));
      }
      const first = startOfWeek(startOfMonth(s.date), s.firstDay);
      const lastOfMonth = addDays(addMonths(startOfMonth(s.date), 1), -1);
      const weeks = Math.ceil((daysBetween(first, lastOfMonth) + 1) / 7);
      return Array.from({ length: weeks * 7 }, (_, i) => addDays(first, i));
    }

    function inRange(key) {
      const days = rangeDays();
      return !!key && key >= days[0] && key <= days[days.length - 1];
    }

    function labelRange(days) {
      const unit = s.view === 'week' ? 'week' : 'month';
      prevBtn.setAttribute('aria-label', `Previous ${unit}`);
      nextBtn.setAttribute('aria-label', `Next ${unit}`);
      prevBtn.title = `Previous ${unit} (←)`;
      nextBtn.title = `Next ${unit} (→)`;
      if (s.view === 'month') return fmt.month.format(utcDay(s.date));
      try {
        return fmt.range.formatRange(utcDay(days[0]), utcDay(days[6]));
      } catch {
        return `${fmt.range.format(utcDay(days[0]))} – ${fmt.range.format(utcDay(days[6]))}`;
      }
    }

    async function load() {
      const seq = ++s.seq;
      const days = rangeDays();
      rangeLabel.textContent = labelRange(days);
      view.setAttribute('aria-busy', 'true');
      // A day either side: all-day dates and zones far from UTC meet the edges.
      const from = toOffsetIso(localMidnight(addDays(days[0], -1)));
      const to = toOffsetIso(localMidnight(addDays(days[days.length - 1], 2)));
      try {
        const r = await get(`/api/v1/events${qs({ from, to })}`);
        if (s.disposed || seq !== s.seq) return;
        s.occs = r.occurrences.map(place).filter((o) => o.last >= days[0] && o.first <= days[days.length - 1]);
        s.truncated = !!r.truncated;
        s.loaded = true;
        render();
      } catch (e) {
        if (!s.disposed && seq === s.seq) view.replaceChildren(errorBox(e, load));
      } finally {
        if (seq === s.seq) view.removeAttribute('aria-busy');
      }
    }

    function render() {
      if (!s.loaded) return;
      const days = rangeDays();
      const keepFocus = view.contains(document.activeElement) ? document.activeElement.dataset.occ : null;
      s.today = today();
      const body = s.view === 'week' ? (PHONE.matches ? dayList(days) : weekGrid(days)) : monthGrid(days);
      view.className = `cal-view cal-view-${s.view}${PHONE.matches ? ' cal-phone' : ''}`;
      view.replaceChildren(...[s.truncated ? h('p', { class: 'alert', role: 'status', text: 'There are too many events here to show them all; a shorter range shows every one.' }) : null, body].filter(Boolean));
      if (keepFocus) view.querySelector(`[data-occ="${CSS.escape(keepFocus)}"]`)?.focus();
      if (s.view === 'week' && !PHONE.matches) scrollWeek(days);
    }

    // ---- pieces shared by the views ----
    function occButton(o, cls, ...content) {
      const b = h('button', {
        type: 'button', class: ['cal-event', ...[cls].flat(), hue(o), o.all_day && 'is-allday', o.recurring && 'is-recurring', o.overridden && 'is-moved'],
        'aria-label': describeOcc(o), title: describeOcc(o),
        dataset: { occ: occKey(o), eventId: String(o.event_id) },
      }, content);
      b.addEventListener('click', (ev) => {
        ev.stopPropagation();
        openEditor({ occ: o });
      });
      return b;
    }

    const repeatMark = (o) => (o.recurring ? h('span', { class: 'ev-repeat', title: 'Repeats' }, icon('repeat')) : null);

    function occsOn(key) {
      return s.occs.filter((o) => o.first <= key && o.last >= key)
        .sort((a, b) => (b.all_day - a.all_day) || (a.startDate && b.startDate ? a.startDate - b.startDate : 0) || a.title.localeCompare(b.title));
    }

    function dayHead(key) {
      const isToday = key === today();
      return h('div', { class: ['cal-dayhead', isToday && 'today'], dataset: { date: key } },
        h('span', { class: 'dow', text: fmt.dow.format(utcDay(key)) }),
        h('span', { class: 'dnum', text: String(parseDayKey(key).d), 'aria-label': isToday ? `${fmt.dayLong.format(utcDay(key))}, today` : fmt.dayLong.format(utcDay(key)) }));
    }

    // ---- week: a time grid ----
    function weekGrid(days) {
      const head = h('div', { class: 'cal-week-head' }, h('div', { class: 'cal-gutter' }), days.map(dayHead));
      // All-day and several-day events in a row of their own, spanning columns.
      const allday = h('div', { class: 'cal-allday-grid' });
      const banner = s.occs.filter((o) => o.all_day).sort((a, b) => a.first.localeCompare(b.first) || b.last.localeCompare(a.last));
      for (const o of banner) {
        const a = Math.max(0, daysBetween(days[0], o.first));
        const b = Math.min(6, daysBetween(days[0], o.last));
        const el = occButton(o, 'cal-banner', repeatMark(o), h('span', { class: 'ev-title', text: o.title }));
        el.style.gridColumn = `${a + 1} / ${b + 2}`;
        allday.append(el);
      }
      const alldayRow = h('div', { class: 'cal-allday' }, h('div', { class: 'cal-gutter cal-allday-label', text: 'All day' }), allday);
      const hours = h('div', { class: 'cal-hours', 'aria-hidden': 'true' },
        Array.from({ length: 24 }, (_, i) => h('span', { class: 'cal-hour', text: i ? fmt.time.format(new Date(2000, 0, 1, i)) : '' })));
      const cols = days.map((key) => dayColumn(key));
      const grid = h('div', { class: 'cal-grid' }, hours, cols);
      const scroll = h('div', { class: 'cal-scroll' }, grid);
      return h('div', { class: 'cal-week' }, head, alldayRow, scroll);
    }

    function dayColumn(key) {
      const isToday = key === today();
      const col = h('div', { class: ['cal-col', isToday && 'today'], role: 'group', 'aria-label': fmt.dayLong.format(utcDay(key)), dataset: { date: key, weekday: WEEKDAYS[weekdayOf(key)] } });
      const dayStart = localMidnight(key).getTime();
      const dayEnd = localMidnight(addDays(key, 1)).getTime();
      const dayLen = dayEnd - dayStart; // 23 or 25 hours on a DST day
      const segs = [];
      for (const o of s.occs) {
        if (o.all_day) continue;
        const a = o.startDate.getTime();
        const b = o.endDate.getTime();
        // An event of no length still shows, at its start.
        if (b > a ? b <= dayStart || a >= dayEnd : a < dayStart || a >= dayEnd) continue;
        segs.push({ o, top: Math.max(0, (a - dayStart) / dayLen), bottom: Math.min(1, (b - dayStart) / dayLen) });
      }
      layoutColumns(segs);
      for (const g of segs) {
        const o = g.o;
        // Under 40 minutes one line; under 75 two; then the place too.
        const minutes = Math.round((g.bottom - g.top) * 24 * 60);
        const short = minutes < 40;
        const el = occButton(o, ['cal-block', short && 'is-short', !short && minutes < 75 && 'is-medium'],
          h('span', { class: 'ev-title' }, repeatMark(o), o.title),
          h('span', { class: 'ev-time', text: o.first === o.last ? fmt.time.format(o.startDate) + (short ? '' : ` – ${fmt.time.format(o.endDate)}`) : timeRange(o) }),
          o.location && !short ? h('span', { class: 'ev-loc', text: o.location }) : null);
        el.style.top = `${g.top * 100}%`;
        el.style.height = `max(${(g.bottom - g.top) * 100}%, 22px)`;
        el.style.left = `calc(${(g.col / g.n) * 100}% + 2px)`;
        el.style.width = `calc(${(100 * g.span) / g.n}% - 4px)`;
        col.append(el);
      }
      if (isToday) {
        const now = h('div', { class: 'cal-now', 'aria-hidden': 'true' });
        now.style.top = `${((Date.now() - dayStart) / dayLen) * 100}%`;
        col.append(now);
      }
      // A click on an empty slot starts a new event there (the New event
      // button does the same from the keyboard).
      col.addEventListener('click', (ev) => {
        if (ev.target !== col) return;
        const minutes = Math.floor(((ev.offsetY / col.clientHeight) * 24 * 60) / 30) * 30;
        openEditor({ day: key, minutes });
      });
      return col;
    }

    // Overlapping events share the column's width: each cluster of
    // overlapping events gets as many lanes as it needs at most at once,
    // and an event widens over the lanes to its right that are free while
    // it lasts.
    function layoutColumns(segs) {
      segs.sort((a, b) => a.top - b.top || b.bottom - a.bottom);
      let cluster = [];
      let lanes = [];
      let end = -1;
      const flush = () => {
        for (const g of cluster) {
          g.n = lanes.length;
          g.span = 1;
          const meets = (x) => x.top < g.end && g.top < x.end;
          while (g.col + g.span < g.n && !cluster.some((x) => x.col === g.col + g.span && meets(x))) g.span++;
        }
        cluster = [];
        lanes = [];
      };
      for (const g of segs) {
        if (g.top >= end) {
          flush();
          end = -1;
        }
        let lane = lanes.findIndex((x) => x <= g.top);
        if (lane < 0) {
          lane = lanes.length;
          lanes.push(0);
        }
        // Drawn at least 22 px (half an hour) tall: as tall in the layout.
        g.end = Math.max(g.bottom, g.top + 0.5 / 24);
        lanes[lane] = g.end;
        g.col = lane;
        cluster.push(g);
        end = Math.max(end, lanes[lane]);
      }
      flush();
    }

    function scrollWeek(days) {
      const scroll = view.querySelector('.cal-scroll');
      if (!scroll) return;
      const key = days[0];
      if (s.scrolled === key) return;
      s.scrolled = key;
      // From 07:00, or earlier when the week starts earlier.
      let hour = 7;
      for (const o of s.occs) if (!o.all_day && o.first >= days[0]) hour = Math.min(hour, o.startDate.getHours());
      scroll.scrollTop = Math.max(0, hour * HOUR_PX - 8);
    }

    // One event in a day's list: its times, title and place.
    function agendaRow(o, key) {
      const times = o.all_day ? ['All day', null]
        : [o.first === key ? fmt.time.format(o.startDate) : '…', o.last === key ? fmt.time.format(o.endDate) : '…'];
      return occButton(o, 'cal-row',
        h('span', { class: 'row-time' }, h('span', { text: times[0] }), times[1] ? h('span', { class: 'row-end', text: times[1] }) : null),
        h('span', { class: 'row-main' }, h('span', { class: 'ev-title' }, repeatMark(o), o.title),
          o.first !== o.last ? h('span', { class: 'ev-time', text: o.all_day ? `${fmt.dayMedium.format(utcDay(o.first))} – ${fmt.dayMedium.format(utcDay(o.last))}` : timeRange(o) }) : null,
          o.location ? h('span', { class: 'ev-loc' }, icon('pin'), o.location) : null,
          o.description ? h('span', { class: 'ev-desc', text: o.description }) : null));
    }

    // ---- week on a phone: a list of days ----
    function dayList(days) {
      return h('div', { class: 'cal-daylist' }, days.map((key) => {
        const list = occsOn(key);
        const isToday = key === today();
        return h('section', { class: ['cal-day', isToday && 'today'], dataset: { date: key, weekday: WEEKDAYS[weekdayOf(key)] }, 'aria-label': fmt.dayLong.format(utcDay(key)) },
          h('div', { class: 'cal-day-head' },
            h('h3', null, h('span', { class: 'dnum', text: String(parseDayKey(key).d) }), h('span', { class: 'dname', text: fmt.dowLong.format(utcDay(key)) }), isToday ? h('span', { class: 'badge', text: 'today' }) : null),
            h('button', { class: 'btn-icon btn-tiny', type: 'button', 'aria-label': `New event on ${fmt.dayLong.format(utcDay(key))}`, onclick: () => openEditor({ day: key }) }, icon('plus'))),
          list.length
            ? h('ul', { class: 'cal-rows' }, list.map((o) => h('li', null, agendaRow(o, key))))
            : h('p', { class: 'cal-none', text: 'Nothing planned' }));
      }));
    }

    // ---- month ----
    function monthGrid(days) {
      const month = parseDayKey(s.date).m;
      const phone = PHONE.matches;
      const head = h('div', { class: 'cal-month-head', 'aria-hidden': 'true' }, days.slice(0, 7).map((k) => h('span', { text: fmt.dow.format(utcDay(k)) })));
      const cells = days.map((key) => {
        const list = occsOn(key);
        const out = parseDayKey(key).m !== month;
        const isToday = key === today();
        const label = `${fmt.dayLong.format(utcDay(key))}${isToday ? ', today' : ''}: ${list.length ? `${list.length} ${list.length === 1 ? 'event' : 'events'}` : 'no events'}`;
        const cell = h('div', { class: ['cal-cell', out && 'out', isToday && 'today', phone && s.selected === key && 'selected'], dataset: { date: key, weekday: WEEKDAYS[weekdayOf(key)] } });
        if (phone) {
          const btn = h('button', { class: 'cal-cellbtn', type: 'button', 'aria-label': label, 'aria-pressed': String(s.selected === key) },
            h('span', { class: 'dnum', text: String(parseDayKey(key).d) }),
            h('span', { class: 'cal-dots', 'aria-hidden': 'true' }, list.slice(0, 3).map((o) => h('span', { class: ['cal-dot', hue(o)] }))));
          btn.addEventListener('click', () => {
            s.selected = key;
            render();
            view.querySelector(`.cal-cell[data-date="${key}"] button`)?.focus();
          });
          cell.append(btn);
          return cell;
        }
        const dayBtn = h('button', { class: 'cal-daynum', type: 'button', 'aria-label': `${label}. Show the week`, text: String(parseDayKey(key).d) });
        dayBtn.addEventListener('click', () => {
          s.date = key;
          setView('week');
        });
        const shown = list.length > MONTH_CHIPS + 1 ? list.slice(0, MONTH_CHIPS) : list;
        append(cell, [dayBtn, h('ul', { class: 'cal-chips' }, shown.map((o) => h('li', null, occButton(o, 'cal-chip',
          o.all_day ? null : h('span', { class: 'ev-time', text: o.first === key ? fmt.time.format(o.startDate) : '…' }),
          h('span', { class: 'ev-title', text: o.title }), repeatMark(o))))),
        list.length > shown.length ? h('button', { class: 'cal-more', type: 'button', text: `+${list.length - shown.length} more`, 'aria-label': `${list.length - shown.length} more on ${fmt.dayLong.format(utcDay(key))}: show the week`, onclick: () => { s.date = key; setView('week'); } }) : null]);
        return cell;
      });
      const grid = h('div', { class: 'cal-month-grid' }, cells);
      const wrap = h('div', { class: 'cal-month' }, head, grid);
      if (!phone) return wrap;
      const sel = s.selected && inRange(s.selected) ? s.selected : (inRange(today()) && parseDayKey(today()).m === month ? today() : startOfMonth(s.date));
      s.selected = sel;
      for (const c of grid.children) {
        c.classList.toggle('selected', c.dataset.date === sel);
        c.querySelector('button').setAttribute('aria-pressed', String(c.dataset.date === sel));
      }
      const list = occsOn(sel);
      return h('div', null, wrap, h('section', { class: 'cal-day cal-agenda', dataset: { date: sel }, 'aria-label': fmt.dayLong.format(utcDay(sel)) },
        h('div', { class: 'cal-day-head' }, h('h3', { text: fmt.dayLong.format(utcDay(sel)) }),
          h('button', { class: 'btn-icon btn-tiny', type: 'button', 'aria-label': `New event on ${fmt.dayLong.format(utcDay(sel))}`, onclick: () => openEditor({ day: sel }) }, icon('plus'))),
        list.length ? h('ul', { class: 'cal-rows' }, list.map((o) => h('li', null, agendaRow(o, sel))))
          : h('p', { class: 'cal-none', text: 'Nothing planned' })));
    }

    // ---- the event dialog ----
    async function openEditor({ occ = null, day = null, minutes = null }) {
      let event = null;
      if (occ) {
        try {
          event = (await get(`/api/v1/events/${occ.event_id}`)).event;
        } catch (e) {
          pageStatus.set(e.status === 404 ? 'That event is gone.' : e.message);
          load();
          return;
        }
      }
      editor({ event, occ, day, minutes });
    }

    function editor({ event, occ, day, minutes }) {
      const tzDefault = localZone();
      const series = !!(event && event.rrule);
      const st = { mode: series && occ ? 'one' : 'all', model: null, keepRule: false };
      const zones = timeZones();

      const f = {
        title: h('input', { name: 'title', required: true, maxlength: 500, autocomplete: 'off', placeholder: 'Dentist' }),
        allDay: h('input', { type: 'checkbox', name: 'all_day', class: 'check' }),
        startDate: h('input', { type: 'date', name: 'start_date', required: true }),
        startTime: h('input', { type: 'time', name: 'start_time', step: 300 }),
        endDate: h('input', { type: 'date', name: 'end_date', required: true }),
        endTime: h('input', { type: 'time', name: 'end_time', step: 300 }),
        tz: h('input', { name: 'tz', list: 'cal-zones', autocomplete: 'off', spellcheck: 'false' }),
        repeat: h('select', { name: 'repeat' }, Object.entries(FREQ_LABEL).map(([v, t]) => h('option', { value: v, text: t }))),
        interval: h('input', { type: 'number', name: 'interval', min: 1, max: 999, value: 1, inputmode: 'numeric', class: 'input-narrow' }),
        count: h('input', { type: 'number', name: 'count', min: 1, max: 9999, value: 10, inputmode: 'numeric', class: 'input-narrow' }),
        until: h('input', { type: 'date', name: 'until' }),
        remind: h('select', { name: 'remind' }),
        location: h('input', { name: 'location', maxlength: 500, autocomplete: 'off', placeholder: 'Where' }),
        description: h('textarea', { name: 'description', rows: 3, maxlength: 10000 }),
      };
      const zoneList = h('datalist', { id: 'cal-zones' }, zones.map((z) => h('option', { value: z })));
      const status = formStatus();

      // Repeat details.
      const dayBtns = WEEKDAYS.map((code) => h('button', {
        type: 'button', class: 'daybtn', 'aria-pressed': 'false', dataset: { day: code },
        'aria-label': weekdayName(code, 'long'), title: weekdayName(code, 'long'), text: weekdayName(code, 'narrow'),
      }));
      const weekOrder = [...WEEKDAYS.slice(s.firstDay), ...WEEKDAYS.slice(0, s.firstDay)];
      const dayRow = h('div', { class: 'daybtns', role: 'group', 'aria-label': 'On these days' }, weekOrder.map((c) => dayBtns[WEEKDAYS.indexOf(c)]));
      const unit = h('span', { class: 'unit' });
      const endName = `ends${Math.random().toString(36).slice(2, 8)}`;
      const endRadios = ['never', 'until', 'count'].map((v) => h('input', { type: 'radio', name: endName, value: v, checked: v === 'never' }));
      const summary = h('p', { class: 'repeat-summary', role: 'status', id: `sum-${endName}` });
      f.interval.id = `int-${endName}`;
      f.interval.setAttribute('aria-describedby', summary.id);
      const details = h('div', { class: 'repeat-details' },
        h('div', { class: 'repeat-line' }, h('label', { for: f.interval.id, class: 'repeat-label', text: 'Every' }), f.interval, unit),
        h('div', { class: 'repeat-line repeat-days' }, h('span', { class: 'repeat-label', text: 'On' }), dayRow),
        h('div', { class: 'repeat-line repeat-ends', role: 'radiogroup', 'aria-label': 'Repeat ends' }, h('span', { class: 'repeat-label', 'aria-hidden': 'true', text: 'Ends' }),
          h('label', { class: 'radio' }, endRadios[0], 'Never'),
          h('label', { class: 'radio' }, endRadios[1], 'On', f.until),
          h('label', { class: 'radio' }, endRadios[2], 'After', f.count, 'times')),
        summary);
      f.until.setAttribute('aria-label', 'End date');
      f.count.setAttribute('aria-label', 'Number of times');
      const customBox = h('div', { class: 'repeat-custom', hidden: true });

      const repeatBlock = h('div', { class: 'repeat-block' }, field('Repeat', f.repeat), details, customBox);
      const timeField = (label, input) => {
        const el = field(label, input);
        el.classList.add('field-time');
        el.firstChild.className = 'sr-only';
        return el;
      };
      const timeRow = h('div', { class: 'when-grid' },
        field('Starts', f.startDate), timeField('Start time', f.startTime), field('Ends', f.endDate), timeField('End time', f.endTime));
      const allDayField = h('label', { class: 'check-label' }, f.allDay, 'All day');
      const tzField = field('Time zone', f.tz, null);
      const remindField = field('Reminder', f.remind);
      const modeBtns = [['one', 'This occurrence'], ['all', 'All occurrences']].map(([v, t]) =>
        h('button', { type: 'button', class: 'seg', role: 'radio', 'aria-checked': String(st.mode === v), dataset: { mode: v }, text: t }));
      const modeSeg = h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': 'Change' }, modeBtns);
      const modeNote = h('p', { class: 'hint' });
      const delBtn = h('button', { class: 'btn btn-danger btn-left', type: 'button', text: 'Delete', hidden: !event });
      const saveBtn = h('button', { class: 'btn btn-primary', type: 'submit', text: event ? 'Save' : 'Add event' });

      // ---- values ----
      const tzOf = () => (f.tz.value.trim() || tzDefault);
      function wall(iso, tz) {
        const p = zoneParts(Date.parse(iso), tz);
        return { date: `${String(p.y).padStart(4, '0')}-${pad(p.m)}-${pad(p.d)}`, time: `${pad(p.h)}:${pad(p.mi)}` };
      }
      function fillTimes(start, end, allDay, tz) {
        f.allDay.checked = allDay;
        if (allDay) {
          f.startDate.value = start;
          f.endDate.value = addDays(end, -1) < start ? start : addDays(end, -1);
          f.startTime.value = f.startTime.value || '09:00';
          f.endTime.value = f.endTime.value || '10:00';
        } else {
          const a = wall(start, tz);
          const b = wall(end, tz);
          f.startDate.value = a.date;
          f.startTime.value = a.time;
          f.endDate.value = b.date;
          f.endTime.value = b.time;
        }
      }
      function fill() {
        const e = event;
        const o = st.mode === 'one' ? occ : null;
        f.tz.value = e ? e.tz : tzDefault;
        f.remind.replaceChildren(...REMINDERS.map(([v, t]) => h('option', { value: v === null ? '' : String(v), text: t })));
        if (e && e.remind_minutes !== null && !REMINDERS.some(([v]) => v === e.remind_minutes)) {
          f.remind.append(h('option', { value: String(e.remind_minutes), text: `${e.remind_minutes} minutes before` }));
        }
        f.remind.value = e && e.remind_minutes !== null ? String(e.remind_minutes) : '';
        if (o) {
          f.title.value = o.title;
          f.location.value = o.location || '';
          f.description.value = o.description || '';
          fillTimes(o.start, o.end, o.all_day, e.tz);
        } else if (e) {
          f.title.value = e.title;
          f.location.value = e.location || '';
          f.description.value = e.description || '';
          fillTimes(e.start, e.end, e.all_day, e.tz);
        } else {
          const d = day || today();
          let startMin = minutes;
          if (startMin === null) {
            const now = new Date();
            startMin = d === today() ? Math.min(23 * 60, (now.getHours() + 1) * 60) : 9 * 60;
          }
          const endMin = Math.min(startMin + 60, 23 * 60 + 59);
          f.startDate.value = d;
          f.endDate.value = d;
          f.startTime.value = `${pad(Math.floor(startMin / 60))}:${pad(startMin % 60)}`;
          f.endTime.value = `${pad(Math.floor(endMin / 60))}:${pad(endMin % 60)}`;
        }
        // Repeat.
        st.keepRule = false;
        st.model = null;
        const startKey = f.startDate.value;
        if (e && e.rrule) {
          st.model = parseRule(e.rrule, e.all_day ? e.start : wall(e.start, e.tz).date, e.tz);
          st.keepRule = !st.model;
        }
        f.repeat.querySelector('option[value="custom"]')?.remove();
        if (st.keepRule) f.repeat.append(h('option', { value: 'custom', text: 'Its own rule (kept as it is)' }));
        setRepeatUi(st.model || defaultModel('weekly', startKey));
        f.repeat.value = st.keepRule ? 'custom' : st.model ? st.model.freq : 'none';
        st.initial = snapshot();
        syncUi();
      }

      function defaultModel(freq, startKey) {
        return { freq, interval: 1, byday: [WEEKDAYS[weekdayOf(startKey || today())]], end: 'never', until: addMonths(startKey || today(), 3), count: 10 };
      }

      function setRepeatUi(m) {
        f.interval.value = m.interval;
        for (const b of dayBtns) b.setAttribute('aria-pressed', String(m.byday.includes(b.dataset.day)));
        for (const r of endRadios) r.checked = r.value === m.end;
        f.until.value = m.until || addMonths(f.startDate.value || today(), 3);
        f.count.value = m.count || 10;
      }

      function modelFromUi() {
        const freq = f.repeat.value;
        if (freq === 'none' || freq === 'custom') return null;
        return {
          freq,
          interval: Math.max(1, Math.trunc(Number(f.interval.value)) || 1),
          byday: WEEKDAYS.filter((c) => dayBtns[WEEKDAYS.indexOf(c)].getAttribute('aria-pressed') === 'true'),
          end: endRadios.find((r) => r.checked)?.value || 'never',
          until: f.until.value,
          count: Math.max(1, Math.trunc(Number(f.count.value)) || 1),
        };
      }

      // What the form says, to find out what changed.
      function snapshot() {
        return {
          title: f.title.value.trim(), location: f.location.value.trim(), description: f.description.value.trim(),
          allDay: f.allDay.checked, tz: tzOf(),
          start: f.allDay.checked ? f.startDate.value : `${f.startDate.value}T${f.startTime.value}`,
          end: f.allDay.checked ? f.endDate.value : `${f.endDate.value}T${f.endTime.value}`,
          remind: f.remind.value,
        };
      }

      function syncUi() {
        const one = st.mode === 'one';
        for (const b of modeBtns) b.setAttribute('aria-checked', String(b.dataset.mode === st.mode));
        modeNote.textContent = one ? `Changes apply to ${fmt.dayLong.format(utcDay(occ.first))} only.` : 'Changes apply to every occurrence.';
        allDayField.hidden = one;
        tzField.hidden = one || f.allDay.checked;
        repeatBlock.hidden = one;
        remindField.hidden = one;
        f.startTime.parentElement.hidden = f.endTime.parentElement.hidden = f.allDay.checked;
        timeRow.classList.toggle('all-day', f.allDay.checked);
        f.endDate.previousSibling.textContent = f.allDay.checked ? 'Last day' : 'Ends';
        delBtn.textContent = one ? 'Delete this occurrence' : series ? 'Delete the series' : 'Delete';
        const freq = f.repeat.value;
        const custom = freq === 'custom';
        details.hidden = freq === 'none' || custom;
        customBox.hidden = !custom;
        if (custom) {
          customBox.replaceChildren(
            h('p', { text: 'This event repeats by a rule the picker cannot show:' }),
            h('code', { class: 'rrule', text: event.rrule }),
            h('p', { class: 'hint', text: 'It is kept as it is unless you choose another repeat above.' }));
        }
        if (!details.hidden) {
          const m = modelFromUi();
          const [one1, many] = UNIT[m.freq];
          unit.textContent = m.interval === 1 ? one1 : many;
          dayRow.parentElement.hidden = m.freq !== 'weekly';
          f.until.disabled = m.end !== 'until';
          f.count.disabled = m.end !== 'count';
          summary.textContent = m.freq === 'weekly' && !m.byday.length ? 'Choose at least one day.' : describeModel(m);
        }
      }

      // Keep the length when the start moves, and a weekly series on the
      // start's weekday when that was the only one.
      let lastStart = null;
      const startStamp = () => {
        const d = parseDayKey(f.startDate.value);
        if (!d) return null;
        const [hh, mm] = (f.startTime.value || '00:00').split(':').map(Number);
        return Date.UTC(d.y, d.m - 1, d.d, f.allDay.checked ? 0 : hh, f.allDay.checked ? 0 : mm);
      };
      const endStamp = () => {
        const d = parseDayKey(f.endDate.value);
        if (!d) return null;
        const [hh, mm] = (f.endTime.value || '00:00').split(':').map(Number);
        return Date.UTC(d.y, d.m - 1, d.d, f.allDay.checked ? 0 : hh, f.allDay.checked ? 0 : mm);
      };
      function onStartFocus() {
        lastStart = { start: startStamp(), end: endStamp(), key: f.startDate.value };
      }
      function onStartChange() {
        const now = startStamp();
        if (lastStart && lastStart.start !== null && lastStart.end !== null && now !== null) {
          const end = new Date(now + (lastStart.end - lastStart.start));
          f.endDate.value = `${end.getUTCFullYear()}-${pad(end.getUTCMonth() + 1)}-${pad(end.getUTCDate())}`;
          if (!f.allDay.checked) f.endTime.value = `${pad(end.getUTCHours())}:${pad(end.getUTCMinutes())}`;
        }
        const pressed = dayBtns.filter((b) => b.getAttribute('aria-pressed') === 'true');
        if (lastStart && parseDayKey(lastStart.key) && parseDayKey(f.startDate.value) && pressed.length === 1 && pressed[0].dataset.day === WEEKDAYS[weekdayOf(lastStart.key)]) {
          pressed[0].setAttribute('aria-pressed', 'false');
          dayBtns[weekdayOf(f.startDate.value)].setAttribute('aria-pressed', 'true');
        }
        onStartFocus();
        syncUi();
      }
      for (const inp of [f.startDate, f.startTime]) {
        inp.addEventListener('focus', onStartFocus);
        inp.addEventListener('change', onStartChange);
      }
      f.allDay.addEventListener('change', syncUi);
      f.repeat.addEventListener('change', () => {
        if (f.repeat.value !== 'none' && f.repeat.value !== 'custom' && !st.model) {
          const m = defaultModel(f.repeat.value, f.startDate.value);
          for (const b of dayBtns) b.setAttribute('aria-pressed', String(m.byday.includes(b.dataset.day)));
        }
        syncUi();
      });
      for (const el of [f.interval, f.count, f.until, ...endRadios]) {
        el.addEventListener('input', syncUi);
        el.addEventListener('change', syncUi);
      }
      dayRow.addEventListener('click', (ev) => {
        const b = ev.target.closest('.daybtn');
        if (!b) return;
        b.setAttribute('aria-pressed', String(b.getAttribute('aria-pressed') !== 'true'));
        syncUi();
      });
      modeSeg.addEventListener('click', (ev) => {
        const b = ev.target.closest('.seg');
        if (!b || b.dataset.mode === st.mode) return;
        st.mode = b.dataset.mode;
        fill();
      });
      modeSeg.addEventListener('keydown', (ev) => {
        if (!['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown'].includes(ev.key)) return;
        ev.preventDefault();
        st.mode = st.mode === 'one' ? 'all' : 'one';
        fill();
        modeBtns.find((b) => b.dataset.mode === st.mode).focus();
      });

      // ---- checking and saving ----
      function check() {
        const v = snapshot();
        if (!v.title) return [f.title, 'Give the event a title.'];
        if (!parseDayKey(f.startDate.value)) return [f.startDate, 'Choose the day it starts.'];
        if (!parseDayKey(f.endDate.value)) return [f.endDate, 'Choose the day it ends.'];
        if (!v.allDay && (!f.startTime.value || !f.endTime.value)) return [f.startTime.value ? f.endTime : f.startTime, 'Choose the start and end times.'];
        if (v.allDay ? v.end < v.start : v.end <= v.start) return [f.endDate, v.allDay ? 'The last day cannot be before the first.' : 'The event has to end after it starts.'];
        if (st.mode === 'all' && !v.allDay && !isZone(v.tz)) return [f.tz, 'That time zone is not known; pick one from the list, like Europe/Paris.'];
        const m = st.mode === 'all' ? modelFromUi() : null;
        if (m && m.freq === 'weekly' && !m.byday.length) return [dayBtns[0], 'Choose at least one day of the week.'];
        if (m && m.end === 'until' && (!parseDayKey(m.until) || m.until < f.startDate.value)) return [f.until, 'The repeat has to end on or after the first day.'];
        return null;
      }

      function times(v) {
        return v.allDay ? { start: v.start, end: addDays(v.end, 1) } : { start: `${v.start}:00`, end: `${v.end}:00` };
      }

      function ruleChange() {
        const m = modelFromUi();
        if (f.repeat.value === 'custom') return undefined;
        if (!m) return event && event.rrule ? null : undefined;
        if (event && event.rrule && st.model && sameModel(st.model, m) && snapshot().allDay === event.all_day && snapshot().tz === event.tz) return undefined;
        return buildRule(m, { allDay: f.allDay.checked, tz: tzOf() });
      }

      async function save() {
        const v = snapshot();
        const was = st.initial;
        if (!event) {
          const body = { title: v.title, all_day: v.allDay, tz: v.tz, ...times(v) };
          if (v.location) body.location = v.location;
          if (v.description) body.description = v.description;
          const rule = ruleChange();
          if (rule) body.rrule = rule;
          if (v.remind !== '') body.remind_minutes = Number(v.remind);
          const r = await post('/api/v1/events', body);
          return { text: `“${r.event.title}” added.`, day: f.startDate.value };
        }
        if (st.mode === 'one') {
          const body = { recurrence_id: occ.recurrence_id };
          if (v.start !== was.start || v.end !== was.end) Object.assign(body, times(v));
          for (const k of ['title', 'location', 'description']) if (v[k] !== was[k]) body[k] = v[k] || (k === 'title' ? v[k] : null);
          if (Object.keys(body).length === 1) return null;
          await post(`/api/v1/events/${event.id}/occurrences`, body);
          return { text: `This occurrence of “${v.title}” changed.`, day: f.startDate.value };
        }
        const body = {};
        for (const k of ['title', 'location', 'description']) if (v[k] !== was[k]) body[k] = v[k] || (k === 'title' ? v[k] : null);
        if (v.start !== was.start || v.end !== was.end || v.allDay !== was.allDay || v.tz !== was.tz) Object.assign(body, { all_day: v.allDay, tz: v.tz, ...times(v) });
        const rule = ruleChange();
        if (rule !== undefined) body.rrule = rule;
        if (v.remind !== was.remind) body.remind_minutes = v.remind === '' ? null : Number(v.remind);
        if (!Object.keys(body).length) return null;
        await post(`/api/v1/events/${event.id}`, body);
        return { text: `“${v.title}” saved.`, day: body.start ? f.startDate.value : null };
      }

      const title = !event ? 'New event' : series ? 'Edit repeating event' : 'Edit event';
      const { dialog, close } = openDialog(title, (closeDialog) => {
        const form = h('form', { class: 'dialog-body event-form', novalidate: true, 'aria-label': title },
          series && occ ? h('div', { class: 'mode-row' }, modeSeg, modeNote) : null,
          field('Title', f.title),
          allDayField,
          timeRow,
          h('div', { class: 'form-row' }, tzField, remindField),
          repeatBlock,
          field('Location', f.location),
          field('Description', f.description),
          zoneList,
          status,
          h('div', { class: 'dialog-actions' }, delBtn, h('button', { class: 'btn', type: 'button', text: 'Cancel', onclick: closeDialog }), saveBtn));
        form.addEventListener('submit', async (ev) => {
          ev.preventDefault();
          const bad = check();
          if (bad) {
            status.set(bad[1]);
            bad[0].focus();
            return;
          }
          saveBtn.disabled = true;
          try {
            const done = await save();
            closeDialog();
            if (done) {
              pageStatus.set(done.text, 'ok');
              if (done.day && !inRange(done.day)) go(done.day);
              else load();
            }
          } catch (e) {
            status.set(e.message);
          } finally {
            saveBtn.disabled = false;
          }
        });
        delBtn.addEventListener('click', async () => {
          const one = st.mode === 'one';
          const what = one ? `Delete “${occ.title}” on ${fmt.dayLong.format(utcDay(occ.first))}? The other occurrences stay.`
            : series ? `Delete “${event.title}” and every occurrence of it?` : `Delete “${event.title}”?`;
          if (!(await confirmDialog(one ? 'Delete this occurrence' : 'Delete event', what))) return;
          try {
            if (one) await post(`/api/v1/events/${event.id}/occurrences`, { recurrence_id: occ.recurrence_id, cancelled: true });
            else await del(`/api/v1/events/${event.id}`);
            closeDialog();
            pageStatus.set(one ? 'The occurrence was deleted.' : `“${event.title}” was deleted.`, 'ok');
            load();
          } catch (e) {
            status.set(e.message);
          }
        });
        return form;
      });
      dialog.classList.add('dialog-event');
      fill();
      setTimeout(() => f.title.focus());
      return close;
    }

    // ---- keys ----
    function onKey(ev) {
      if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey || document.querySelector('dialog[open]')) return;
      if (!(ev.target === document.body || main.contains(ev.target))) return;
      if (ev.target.closest('input, select, textarea, [role="radiogroup"]')) return;
      const map = { ArrowLeft: () => step(-1), ArrowRight: () => step(1), PageUp: () => step(-1), PageDown: () => step(1), t: () => go(today()), w: () => setView('week'), m: () => setView('month'), n: () => addBtn.click() };
      const fn = map[ev.key];
      if (!fn) return;
      ev.preventDefault();
      fn();
    }
    document.addEventListener('keydown', onKey);

    const reload = debounce(load, 120);
    const offs = ['event_created', 'event_updated', 'event_deleted'].map((t) => ctx.live.on(t, reload));
    offs.push(ctx.live.on('open', ({ reconnected }) => reconnected && load()));
    const onMedia = () => {
      s.scrolled = null;
      render();
    };
    PHONE.addEventListener('change', onMedia);
    // The "now" line and today's mark move on by themselves.
    const minuteTimer = setInterval(() => {
      const line = view.querySelector('.cal-now');
      const col = line?.parentElement;
      if (s.loaded && s.today !== today()) {
        render();
        return;
      }
      if (!col) return;
      const start = localMidnight(col.dataset.date).getTime();
      line.style.top = `${((Date.now() - start) / (localMidnight(addDays(col.dataset.date, 1)).getTime() - start)) * 100}%`;
    }, 60000);
    load();
    return () => {
      s.disposed = true;
      clearInterval(minuteTimer);
      document.removeEventListener('keydown', onKey);
      PHONE.removeEventListener('change', onMedia);
      offs.forEach((o) => o());
    };
  },
};
