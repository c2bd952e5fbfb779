// notify.js — reminders that fire, and approvals asked for elsewhere, on
// every open tab.
//
// A firing arrives on /ws as {"type":"notification","kind":"reminder"|
// "timer"|"alarm","job":{…},"late":bool}.  Each tab shows it as a toast
// with Snooze and Dismiss; with the user's permission it is also a system
// notification (tagged by job and due time, so several tabs make one) with
// a short chime.  Firings are at-least-once: a repeat of the same job and
// due time is shown once.

import { post } from './api.js';
import { h, icon, formatTime } from './dom.js';
import { live } from './live.js';

const seen = new Set();
let audio = null;

const KIND_LABEL = { reminder: 'Reminder', timer: 'Timer', alarm: 'Alarm' };

export function notificationsSupported() {
  return 'Notification' in window;
}

export function notificationPermission() {
  return notificationsSupported() ? Notification.permission : 'unsupported';
}

export async function askNotificationPermission() {
  if (!notificationsSupported()) return 'unsupported';
  unlockAudio();
  return Notification.requestPermission();
}

// Browsers start audio only after a user gesture: the first click or key
// press of the page prepares it.
export function unlockAudio() {
  if (audio || !window.AudioContext) return;
  try {
    audio = new AudioContext();
  } catch {
    audio = null;
  }
}

export function chime() {
  if (!audio) return;
  if (audio.state === 'suspended') audio.resume().catch(() => {});
  const t = audio.currentTime;
  [880, 1175].forEach((freq, i) => {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = 'sine';
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t + i * 0.18);
    gain.gain.exponentialRampToValueAtTime(0.25, t + i * 0.18 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.18 + 0.5);
    osc.connect(gain).connect(audio.destination);
    osc.start(t + i * 0.18);
    osc.stop(t + i * 0.18 + 0.55);
  });
}

// A toast in the corner; returns its element.  @actions: [{label, run}].
export function toast(title, text, { kind = 'info', actions = [], timeout = 0, iconName = 'bell' } = {}) {
  const box = document.getElementById('toasts');
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' || kind === 'alarm' ? 'alert' : 'status' });
  const close = () => {
    el.classList.add('leaving');
    setTimeout(() => el.remove(), 180);
  };
  el.append(
    icon(iconName, 'toast-icon'),
    h('div', { class: 'toast-body' }, h('p', { class: 'toast-title', text: title }), text ? h('p', { class: 'toast-text', text }) : null,
      actions.length
        ? h('div', { class: 'toast-actions' }, actions.map((a) =>
            h('button', { class: 'btn btn-small', type: 'button', text: a.label, onclick: async () => {
              try {
                await a.run();
                close();
              } catch (e) {
                el.querySelector('.toast-text')?.replaceChildren(e.message);
              }
            } })))
        : null),
    h('button', { class: 'btn-icon toast-close', type: 'button', 'aria-label': 'Close notification', onclick: close }, icon('close')),
  );
  box.appendChild(el);
  if (timeout) setTimeout(close, timeout);
  return el;
}

function onFired(msg) {
  const job = msg.job;
  if (!job || typeof job.id !== 'number') return;
  const key = `${job.id}:${job.fired_due || job.due || ''}`;
  if (seen.has(key)) return;
  seen.add(key);
  const label = KIND_LABEL[msg.kind] || 'Reminder';
  const text = job.text || (msg.kind === 'timer' ? 'Time is up' : '');
  const when = msg.late ? `Late — was due ${formatTime(job.fired_due || job.due)}` : `Due ${formatTime(job.fired_due || job.due)}`;
  const el = toast(`${label}: ${text}`, when, {
    kind: msg.kind === 'alarm' ? 'alarm' : 'reminder',
    iconName: msg.kind === 'timer' ? 'clock' : 'bell',
    actions: [
      { label: 'Snooze 10 min', run: () => post(`/api/v1/reminders/${job.id}/snooze`, { minutes: 10 }) },
      { label: 'Dismiss', run: () => post(`/api/v1/reminders/${job.id}/dismiss`) },
    ],
  });
  el.classList.add('toast-fired');
  el.dataset.job = String(job.id);
  chime();
  if (notificationPermission() === 'granted') {
    try {
      const n = new Notification(`${label}: ${text}`, { body: when, tag: `lares-${key}`, icon: document.querySelector('link[rel=icon]')?.href });
      n.onclick = () => {
        window.focus();
        n.close();
      };
    } catch {
      // Some platforms allow notifications only from a service worker.
    }
  }
}

// An approval is shown where it was asked (the chat's card, the
// Approvals page); elsewhere a toast says what waits or how it ended.
function approvalOnScreen(id) {
  return location.hash.startsWith('#/approvals') || document.querySelector(`.approval-card[data-approval="${id}"]`) !== null;
}

function onApprovalAsked(msg) {
  if (typeof msg.id !== 'number' || approvalOnScreen(msg.id)) return;
  if (msg.conversation_id && location.hash === `#/chat/${msg.conversation_id}`) return;
  const el = toast('Approval needed', msg.summary || msg.tool, {
    kind: 'approval',
    iconName: 'shield',
    timeout: 15000,
    actions: [{ label: 'Review', run: () => { location.hash = '#/approvals'; } }],
  });
  el.dataset.approval = String(msg.id);
}

function onApproval(msg) {
  const a = msg.approval;
  if (!a) return;
  document.querySelector(`.toast[data-approval="${a.id}"]`)?.remove();
  if (approvalOnScreen(a.id)) return;
  const text = a.summary || a.tool;
  const outcome = { executed: 'was carried out', failed: 'failed', rejected: 'was rejected', expired: 'expired' }[a.status] || a.status;
  toast(`Approval ${outcome}`, text, { kind: a.status === 'failed' ? 'error' : 'info', iconName: 'shield', timeout: 8000 });
}

export function startNotifications() {
  live.on('notification', (msg) => {
    if (msg.kind === 'approval') onApproval(msg);
    else onFired(msg);
  });
  live.on('approval_required', onApprovalAsked);
  const unlock = () => {
    unlockAudio();
    window.removeEventListener('pointerdown', unlock);
    window.removeEventListener('keydown', unlock);
  };
  window.addEventListener('pointerdown', unlock);
  window.addEventListener('keydown', unlock);
}
