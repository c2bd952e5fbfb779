// pages/activity.js — the audit log (admins): logins, tokens, users, and
// tool runs and approvals as they are recorded.

import { get, qs } from '../api.js';
import { h, emptyState, loading, errorBox, formatDateTime, formatRelative } from '../dom.js';

const EVENT_LABEL = {
  login: 'Logged in', logout: 'Logged out', login_failed: 'Failed login', lockout: 'Locked out',
  password_changed: 'Password changed', password_change_failed: 'Wrong current password',
  user_created: 'User created', user_deleted: 'User deleted', token_created: 'Token created',
  token_revoked: 'Token revoked', 'history.clear': 'History cleared', tool: 'Tool run',
  approval_created: 'Approval requested', approval_approved: 'Approved', approval_rejected: 'Rejected', approval_expired: 'Approval expired',
};
const WARN = new Set(['login_failed', 'lockout', 'password_change_failed', 'approval_rejected', 'approval_expired']);

function detailText(e) {
  const d = e.detail;
  if (!d || typeof d !== 'object') return '';
  if (e.event === 'tool') return [d.tool, d.status, d.via && `via ${d.via}`, d.result_text || d.error].filter(Boolean).join(' · ');
  return Object.entries(d).map(([k, v]) => `${k.replace(/_/g, ' ')}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' · ');
}

export default {
  id: 'activity',
  title: 'Activity',
  icon: 'activity',
  adminOnly: true,

  mount(main) {
    let disposed = false;
    let before = null;
    const rows = h('tbody');
    const table = h('table', { class: 'table audit' }, h('caption', { class: 'sr-only', text: 'Audit log, newest first' }),
      h('thead', null, h('tr', null, ['When', 'Who', 'What', 'Details', 'From'].map((t) => h('th', { scope: 'col', text: t })))), rows);
    const body = h('div', { class: 'card table-card' }, loading('Loading activity…'));
    const more = h('button', { class: 'btn', type: 'button', text: 'Load older', hidden: true, onclick: () => load(true) });
    main.append(h('div', { class: 'page-head' }, h('h1', { text: 'Activity' }), h('p', { class: 'page-sub', text: 'Security events and actions, newest first. The log cannot be changed.' })), body, h('div', { class: 'more' }, more));

    async function load(older = false) {
      try {
        const r = await get(`/api/v1/audit${qs({ limit: 100, before: older ? before : '' })}`);
        if (disposed) return;
        if (!older) rows.replaceChildren();
        for (const e of r.events) {
          rows.append(h('tr', { class: WARN.has(e.event) ? 'warn' : '' },
            h('td', null, h('time', { title: formatDateTime(e.at), text: formatRelative(e.at) })),
            h('td', { text: e.user || (e.user_id ? `#${e.user_id}` : '—') }),
            h('td', null, h('span', { class: ['event', WARN.has(e.event) && 'event-warn'], text: EVENT_LABEL[e.event] || e.event })),
            h('td', { class: 'detail', text: detailText(e) }),
            h('td', { class: 'ip', text: e.ip || '' })));
        }
        before = r.events.length ? r.events[r.events.length - 1].id : before;
        more.hidden = r.events.length < 100;
        body.replaceChildren(rows.children.length ? h('div', { class: 'table-scroll' }, table) : emptyState('activity', 'Nothing recorded yet'));
      } catch (e) {
        if (!disposed) body.replaceChildren(errorBox(e, () => load(older)));
      }
    }
    load();
    return () => {
      disposed = true;
    };
  },
};
