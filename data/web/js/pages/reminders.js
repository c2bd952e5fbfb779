// pages/reminders.js — reminders, timers and alarms with live countdowns.
//
// One list of pending jobs (every kind), soonest first, each with a
// countdown that one timer ticks once a second while the page is open;
// below it the recent firings that wait for a dismiss.  A firing itself is
// announced by notify.js on every tab; this page just reloads.

import { get, post, del, qs } from '../api.js';
import { h, icon, field, formStatus, chip, emptyState, loading, errorBox, formatDateTime, formatCountdown, toLocalInput, toOffsetIso, localZone, debounce, toDate } from '../dom.js';

const KIND = { reminder: { label: 'Reminder', icon: 'bell' }, timer: { label: 'Timer', icon: 'clock' }, alarm: { label: 'Alarm', icon: 'bell' } };
const REPEAT = [
  ['', 'Does not repeat'],
  ['FREQ=DAILY', 'Every day'],
  ['FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR', 'Every weekday'],
  ['FREQ=WEEKLY', 'Every week'],
  ['FREQ=MONTHLY', 'Every month'],
];

function describeRule(rrule) {
  if (!rrule) return '';
  const known = REPEAT.find(([r]) => r && r === rrule);
  if (known) return known[1];
  const m = /FREQ=(\w+)/.exec(rrule);
  return m ? `Repeats ${m[1].toLowerCase()}` : 'Repeats';
}

export default {
  id: 'reminders',
  title: 'Reminders',
  icon: 'bell',

  mount(main, ctx) {
    const s = { disposed: false, seq: 0, kind: 'reminder' };

    // ---- add form: one form, three kinds ----
    const kindBtns = Object.entries(KIND).map(([k, v]) =>
      h('button', { type: 'button', class: 'seg', role: 'radio', 'aria-checked': String(k === s.kind), dataset: { kind: k }, text: v.label }));
    const seg = h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': 'Kind' }, kindBtns);
    const text = h('input', { name: 'text', maxlength: 500, autocomplete: 'off', placeholder: 'Call the plumber' });
    const at = h('input', { name: 'at', type: 'datetime-local', step: 1 });
    const repeat = h('select', { name: 'repeat' }, REPEAT.map(([v, t]) => h('option', { value: v, text: t })));
    const minutes = h('input', { name: 'minutes', type: 'number', min: 0, max: 10080, value: 5, inputmode: 'numeric' });
    const seconds = h('input', { name: 'seconds', type: 'number', min: 0, max: 59, value: 0, inputmode: 'numeric' });
    const alarmTime = h('input', { name: 'time', type: 'time', value: '07:00' });
    const quick = h('div', { class: 'quick', role: 'group', 'aria-label': 'Quick times' },
      [['In 5 min', 5], ['In 30 min', 30], ['In 1 hour', 60], ['Tomorrow 9:00', -1]].map(([label, mins]) =>
        h('button', { class: 'btn btn-small', type: 'button', text: label, onclick: () => {
          const d = new Date();
          if (mins > 0) d.setTime(d.getTime() + mins * 60000);
          else {
            d.setDate(d.getDate() + 1);
            d.setHours(9, 0, 0, 0);
          }
          d.setSeconds(0, 0);
          at.value = toLocalInput(d, true);
        } })));
    const textField = field('What', text);
    const reminderFields = h('div', { class: 'kind-fields', dataset: { for: 'reminder' } }, field('When', at), field('Repeat', repeat), quick);
    const timerFields = h('div', { class: 'kind-fields', dataset: { for: 'timer' }, hidden: true }, field('Minutes', minutes), field('Seconds', seconds));
    const alarmFields = h('div', { class: 'kind-fields', dataset: { for: 'alarm' }, hidden: true }, field('Time', alarmTime), field('Repeat', repeat.cloneNode(true)));
    const alarmRepeat = alarmFields.querySelector('select');
    const status = formStatus();
    const submit = h('button', { class: 'btn btn-primary', type: 'submit' }, icon('plus'), h('span', { text: 'Add reminder' }));
    const form = h('form', { class: 'card add-form', 'aria-label': 'Add a reminder, timer or alarm', novalidate: true },
      seg, h('div', { class: 'form-grid form-grid-rem' }, textField, reminderFields, timerFields, alarmFields),
      h('div', { class: 'form-actions' }, status, submit));

    function setKind(k) {
      s.kind = k;
      for (const b of kindBtns) b.setAttribute('aria-checked', String(b.dataset.kind === k));
      for (const el of form.querySelectorAll('.kind-fields')) el.hidden = el.dataset.for !== k;
      submit.lastChild.textContent = `Add ${KIND[k].label.toLowerCase()}`;
      text.placeholder = k === 'timer' ? 'Pasta (optional)' : k === 'alarm' ? 'Wake up (optional)' : 'Call the plumber';
      status.set('');
    }
    seg.addEventListener('click', (ev) => {
      const b = ev.target.closest('.seg');
      if (b) setKind(b.dataset.kind);
    });
    // Arrow keys move between the radio buttons, as in a native radio group.
    seg.addEventListener('keydown', (ev) => {
      const i = kindBtns.findIndex((b) => b.dataset.kind === s.kind);
      let j = -1;
      if (ev.key === 'ArrowRight' || ev.key === 'ArrowDown') j = (i + 1) % kindBtns.length;
      if (ev.key === 'ArrowLeft' || ev.key === 'ArrowUp') j = (i + kindBtns.length - 1) % kindBtns.length;
      if (j >= 0) {
        ev.preventDefault();
        setKind(kindBtns[j].dataset.kind);
        kindBtns[j].focus();
      }
    });

    function body() {
      const t = text.value.trim();
      if (s.kind === 'timer') {
        const secs = (Number(minutes.value) || 0) * 60 + (Number(seconds.value) || 0);
        if (secs < 1) throw new Error('Set the timer to at least one second.');
        return { kind: 'timer', seconds: secs, ...(t ? { text: t } : {}) };
      }
      if (s.kind === 'alarm') {
        const [hh, mm] = alarmTime.value.split(':').map(Number);
        if (!Number.isFinite(hh)) throw new Error('Choose the alarm time.');
        const d = new Date();
        d.setHours(hh, mm || 0, 0, 0);
        if (d.getTime() <= Date.now()) d.setDate(d.getDate() + 1);
        const b = { kind: 'alarm', text: t || 'Alarm', at: toOffsetIso(d) };
        if (alarmRepeat.value) Object.assign(b, { rrule: alarmRepeat.value, tz: localZone() });
        return b;
      }
      if (!t) throw new Error('Say what to remind you of.');
      if (!at.value) throw new Error('Choose when, or use one of the quick times.');
      const d = new Date(at.value);
      if (isNaN(d.getTime())) throw new Error('That date is not valid.');
      if (!repeat.value && d.getTime() < Date.now() - 1000) throw new Error('That time has passed.');
      const b = { text: t, at: toOffsetIso(d) };
      if (repeat.value) Object.assign(b, { rrule: repeat.value, tz: localZone() });
      return b;
    }

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      let b;
      try {
        b = body();
      } catch (e) {
        status.set(e.message);
        return;
      }
      submit.disabled = true;
      try {
        const r = await post('/api/v1/reminders', b);
        status.set(`${KIND[r.kind].label} set for ${formatDateTime(r.due)}.`, 'ok');
        text.value = '';
        at.value = '';
        load();
      } catch (e) {
        status.set(e.message);
      } finally {
        submit.disabled = false;
      }
    });

    const pendingList = h('div', { class: 'list' });
    const firedList = h('div', { class: 'list' });
    const firedSection = h('section', { class: 'section', 'aria-labelledby': 'fired-h', hidden: true }, h('h2', { id: 'fired-h', text: 'Went off' }), firedList);
    main.append(h('div', { class: 'page-head' }, h('h1', { text: 'Reminders & timers' })), form,
      h('section', { class: 'section', 'aria-labelledby': 'pending-h' }, h('h2', { id: 'pending-h', text: 'Coming up' }), pendingList), firedSection);

    function actions(j) {
      const snoozeSel = h('select', { class: 'snooze-sel', 'aria-label': `Snooze “${j.text || KIND[j.kind].label}” for` },
        h('option', { value: '', text: 'Snooze…' }), [5, 10, 30, 60, 1440].map((m) => h('option', { value: m, text: m < 60 ? `${m} min` : m === 60 ? '1 hour' : '1 day' })));
      snoozeSel.addEventListener('change', async () => {
        if (!snoozeSel.value) return;
        try {
          await post(`/api/v1/reminders/${j.id}/snooze`, { minutes: Number(snoozeSel.value) });
          load();
        } catch (e) {
          status.set(e.message);
        }
      });
      const name = j.text || KIND[j.kind].label;
      return h('div', { class: 'row-actions' }, snoozeSel,
        j.status === 'fired' ? h('button', { class: 'btn btn-small', type: 'button', text: 'Dismiss', 'aria-label': `Dismiss “${name}”`, onclick: async () => {
          try {
            await post(`/api/v1/reminders/${j.id}/dismiss`);
            load();
          } catch (e) {
            status.set(e.message);
          }
        } }) : null,
        j.status === 'pending' ? h('button', { class: 'btn-icon', type: 'button', 'aria-label': `Cancel “${name}”`, title: 'Cancel', onclick: async () => {
          try {
            await del(`/api/v1/reminders/${j.id}`);
            load();
          } catch (e) {
            status.set(e.message);
          }
        } }, icon('trash')) : null);
    }

    function row(j) {
      const k = KIND[j.kind] || KIND.reminder;
      const due = toDate(j.due);
      return h('li', { class: ['job', `job-${j.kind}`, j.status === 'fired' && 'fired'], dataset: { id: String(j.id) } },
        h('span', { class: 'job-icon' }, icon(k.icon)),
        h('div', { class: 'job-main' },
          h('p', { class: 'job-text', text: j.text || k.label }),
          h('p', { class: 'job-meta' }, chip(k.label, { class: 'chip-kind' }),
            h('time', { datetime: due ? due.toISOString() : '', text: formatDateTime(j.due) }),
            j.rrule ? chip(describeRule(j.rrule), { class: 'chip-repeat', title: j.rrule }) : null,
            j.snoozes ? chip(`snoozed ${j.snoozes}×`, {}) : null)),
        j.status === 'pending' ? h('span', { class: 'countdown', dataset: { due: String(j.due_ms) }, role: 'timer', 'aria-label': 'Time left' }) : null,
        actions(j));
    }

    function tick() {
      const now = Date.now();
      for (const el of main.querySelectorAll('.countdown')) {
        const left = Number(el.dataset.due) - now;
        const txt = formatCountdown(left);
        if (el.textContent !== txt) el.textContent = txt;
        el.classList.toggle('soon', left < 60000);
      }
    }
    const ticker = setInterval(tick, 1000);

    async function load() {
      const seq = ++s.seq;
      if (!pendingList.firstChild) pendingList.replaceChildren(loading('Loading reminders…'));
      try {
        const [p, f] = await Promise.all([
          get(`/api/v1/reminders${qs({ kind: 'all', status: 'pending', limit: 500 })}`),
          get(`/api/v1/reminders${qs({ kind: 'all', status: 'fired', limit: 50 })}`),
        ]);
        if (s.disposed || seq !== s.seq) return;
        const pending = p.reminders.sort((a, b) => a.due_ms - b.due_ms);
        pendingList.replaceChildren(pending.length
          ? h('ul', { class: 'job-list', 'aria-label': 'Coming up' }, pending.map(row))
          : emptyState('bell', 'Nothing scheduled', 'Add a reminder above, or say “remind me to stretch in 20 minutes”.'));
        firedSection.hidden = !f.reminders.length;
        firedList.replaceChildren(h('ul', { class: 'job-list', 'aria-label': 'Went off' }, f.reminders.map(row)));
        tick();
      } catch (e) {
        if (!s.disposed) pendingList.replaceChildren(errorBox(e, load));
      }
    }

    const reload = debounce(load, 150);
    const offs = ['job_created', 'job_cancelled', 'job_snoozed', 'job_dismissed'].map((t) => ctx.live.on(t, reload));
    offs.push(ctx.live.on('notification', (m) => m.kind !== 'approval' && reload()));
    offs.push(ctx.live.on('open', ({ reconnected }) => reconnected && load()));
    load();
    return () => {
      s.disposed = true;
      clearInterval(ticker);
      offs.forEach((off) => off());
    };
  },
};
