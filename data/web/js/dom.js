// dom.js — building DOM nodes, formatting, small shared widgets.
//
// Pages never assign HTML strings (the CSP's Trusted Types rule would
// refuse it anyway): h() creates elements, sets properties and attributes
// one by one, and appends text as text nodes.

const SVG_NS = 'http://www.w3.org/2000/svg';

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden')
        el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Simple line icons (24×24, stroked), decorative: hidden from screen readers.
const ICONS = {
  chat: 'M4 5h16v11H9l-5 4z',
  tasks: 'M9 6h11M9 12h11M9 18h11M4 6l1 1 2-2M4 12l1 1 2-2M4 18l1 1 2-2',
  bell: 'M6 16V11a6 6 0 0 1 12 0v5l2 2H4zM10 20a2 2 0 0 0 4 0',
  note: 'M6 3h9l4 4v14H6zM14 3v5h5M9 12h7M9 16h7',
  chart: 'M4 20h16M7 16v-5M12 16V7M17 16v-8',
  shield: 'M12 3l7 3v6c0 4-3 7-7 9-4-2-7-5-7-9V6z',
  activity: 'M3 12h4l3 7 4-14 3 7h4',
  gear: 'M12 9a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM12 2v3M12 19v3M4.9 4.9l2.1 2.1M17 17l2.1 2.1M2 12h3M19 12h3M4.9 19.1 7 17M17 7l2.1-2.1',
  plus: 'M12 5v14M5 12h14',
  trash: 'M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13',
  pencil: 'M4 20h4L19 9l-4-4L4 16zM13 7l4 4',
  send: 'M4 12l16-8-6 16-2-6z',
  stop: 'M7 7h10v10H7z',
  menu: 'M4 6h16M4 12h16M4 18h16',
  close: 'M6 6l12 12M18 6 6 18',
  logout: 'M14 4h5v16h-5M10 8l-4 4 4 4M6 12h10',
  check: 'M5 12l5 5 9-10',
  clock: 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM12 7v5l3 2',
  search: 'M11 4a7 7 0 1 0 0 14 7 7 0 0 0 0-14zM16 16l5 5',
  tool: 'M14 6a4 4 0 0 0 5 5l-8 8a2 2 0 0 1-3-3l8-8a4 4 0 0 1-2-2z',
  calendar: 'M4 6h16v14H4zM4 10h16M8 3v5M16 3v5',
  key: 'M8 14a4 4 0 1 1 3-7l9 0v3h-2v2h-3v-2h-4a4 4 0 0 1-3 4z',
  user: 'M12 4a4 4 0 1 0 0 8 4 4 0 0 0 0-8zM4 21c1-4 4-6 8-6s7 2 8 6',
  sun: 'M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8zM12 2v2M12 20v2M2 12h2M20 12h2M5 5l1.5 1.5M17.5 17.5 19 19M5 19l1.5-1.5M17.5 6.5 19 5',
  snooze: 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM9 9h6l-6 6h6',
  left: 'M15 5l-7 7 7 7',
  right: 'M9 5l7 7-7 7',
  repeat: 'M17 3l3 3-3 3M4 11V9a3 3 0 0 1 3-3h13M7 21l-3-3 3-3M20 13v2a3 3 0 0 1-3 3H4',
  pin: 'M12 21s-6.5-6-6.5-11a6.5 6.5 0 0 1 13 0c0 5-6.5 11-6.5 11zM12 8a2 2 0 1 0 0 4 2 2 0 0 0 0-4z',
  link: 'M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1',
  copy: 'M9 9h11v11H9zM5 15H4V4h11v1',
};

export function icon(name, cls) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', 'icon' + (cls ? ' ' + cls : ''));
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', ICONS[name] || ICONS.chat);
  svg.appendChild(path);
  return svg;
}

// ---- time ----------------------------------------------------------------

// The API gives Unix ms (tasks, notes, chat) or ISO 8601 strings (reminders).
export function toDate(v) {
  if (v === null || v === undefined || v === '') return null;
  const d = typeof v === 'number' ? new Date(v) : new Date(v);
  return isNaN(d.getTime()) ? null : d;
}

const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short', month: 'short', day: 'numeric' });
const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

export function formatDateTime(v) {
  const d = toDate(v);
  return d ? dtf.format(d) : '';
}

export function formatTime(v) {
  const d = toDate(v);
  return d ? timeFmt.format(d) : '';
}

export function formatDay(v) {
  const d = toDate(v);
  return d ? dayFmt.format(d) : '';
}

// "in 5 minutes", "2 hours ago", "yesterday".
export function formatRelative(v, now = Date.now()) {
  const d = toDate(v);
  if (!d) return '';
  const s = (d.getTime() - now) / 1000;
  const a = Math.abs(s);
  if (a < 45) return rtf.format(Math.round(s), 'second');
  if (a < 45 * 60) return rtf.format(Math.round(s / 60), 'minute');
  if (a < 22 * 3600) return rtf.format(Math.round(s / 3600), 'hour');
  if (a < 26 * 86400) return rtf.format(Math.round(s / 86400), 'day');
  if (a < 320 * 86400) return rtf.format(Math.round(s / (30 * 86400)), 'month');
  return rtf.format(Math.round(s / (365 * 86400)), 'year');
}

// A countdown "2:05:09" / "4:07" / "0:03"; negative durations show "now".
export function formatCountdown(ms) {
  if (ms <= 0) return 'now';
  const t = Math.ceil(ms / 1000);
  const hh = Math.floor(t / 3600);
  const mm = Math.floor((t % 3600) / 60);
  const ss = t % 60;
  if (t >= 86400) return `${Math.floor(t / 86400)} d ${hh % 24} h`;
  const pad = (n) => String(n).padStart(2, '0');
  return hh > 0 ? `${hh}:${pad(mm)}:${pad(ss)}` : `${mm}:${pad(ss)}`;
}

// The value of an <input type="datetime-local"> for a Date (local time).
export function toLocalInput(d, seconds = false) {
  const pad = (n) => String(n).padStart(2, '0');
  const base = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return seconds ? `${base}:${pad(d.getSeconds())}` : base;
}

// An ISO 8601 time with the local offset, "2026-11-21T09:30:00+01:00".
export function toOffsetIso(d) {
  const pad = (n) => String(Math.abs(n)).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  return `${toLocalInput(d, true)}${sign}${pad(Math.trunc(off / 60))}:${pad(off % 60)}`;
}

export function localZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

// ---- widgets ---------------------------------------------------------------

export function emptyState(iconName, title, text, ...actions) {
  return h('div', { class: 'empty' }, icon(iconName, 'empty-icon'), h('p', { class: 'empty-title', text: title }),
    text ? h('p', { class: 'empty-text', text }) : null, actions.length ? h('div', { class: 'empty-actions' }, actions) : null);
}

export function loading(text = 'Loading…') {
  return h('div', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), text);
}

export function errorBox(err, retry) {
  return h('div', { class: 'alert alert-error', role: 'alert' },
    h('strong', { text: 'Something went wrong. ' }),
    h('span', { text: err && err.message ? err.message : String(err) }),
    retry ? h('button', { class: 'btn btn-small', type: 'button', onclick: retry, text: 'Try again' }) : null);
}

// A form-level message area; set(text, kind) with kind 'error' | 'ok' | ''.
export function formStatus() {
  const el = h('p', { class: 'form-status', role: 'status', 'aria-live': 'polite' });
  el.set = (text, kind = 'error') => {
    el.textContent = text || '';
    el.className = 'form-status' + (text ? ' ' + kind : '');
    if (kind === 'error' && text) el.setAttribute('role', 'alert');
    else el.setAttribute('role', 'status');
  };
  return el;
}

let fieldSeq = 0;

// A labelled form field.  @input is an element; returns the wrapper.
export function field(label, input, hint) {
  const id = input.id || `f${++fieldSeq}`;
  input.id = id;
  const hintEl = hint ? h('span', { class: 'hint', id: id + '-hint', text: hint }) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), input, hintEl);
}

export function chip(text, attrs = {}) {
  const { class: cls, ...rest } = attrs;
  return h('span', { ...rest, class: ['chip', ...[cls].flat()], text });
}

// A modal dialog (native <dialog>: focus is trapped, Escape closes it).
// Returns { dialog, close }.  @build(close) gives the content.
export function openDialog(title, build, { onClose } = {}) {
  const titleId = `dlg${++fieldSeq}`;
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId });
  const close = () => {
    if (dialog.open) dialog.close();
  };
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (onClose) onClose();
  });
  dialog.append(
    h('div', { class: 'dialog-head' }, h('h2', { id: titleId, text: title }),
      h('button', { class: 'btn-icon', type: 'button', 'aria-label': 'Close', onclick: close }, icon('close'))),
    build(close),
  );
  document.body.appendChild(dialog);
  dialog.showModal();
  return { dialog, close };
}

export function confirmDialog(title, text, confirmLabel = 'Delete') {
  return new Promise((resolve) => {
    let answer = false;
    openDialog(title, (close) =>
      h('div', { class: 'dialog-body' }, h('p', { text }),
        h('div', { class: 'dialog-actions' },
          h('button', { class: 'btn', type: 'button', onclick: close, text: 'Cancel' }),
          h('button', { class: 'btn btn-danger', type: 'button', text: confirmLabel, onclick: () => { answer = true; close(); } }))),
      { onClose: () => resolve(answer) });
  });
}

export function debounce(fn, ms) {
  let t = 0;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

export function formatUsd(v, digits = 4) {
  if (v === null || v === undefined) return '—';
  if (v === 0) return '$0';
  return '$' + (v < 0.01 ? v.toFixed(digits) : v.toFixed(2));
}

export function formatNumber(n) {
  return new Intl.NumberFormat().format(n || 0);
}
