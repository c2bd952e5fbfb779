// pages/approvals.js — high-risk actions waiting for the owner (plan →
// confirm → execute, SPEC §5).
//
// Waiting approvals come first, each with what would happen (the planner's
// summary), the tool and its arguments, and a countdown to its expiry; then
// the history with how each ended and what the run answered.  Deciding here
// is POST /api/v1/approvals/{id}/approve|reject, which answers after the
// tool ran; the same outcome reaches every tab as a notification of kind
// "approval", and a new approval as approval_required, so the lists follow
// decisions taken in chat, on the command line or in another tab.

import { get, post, qs } from '../api.js';
import { h, icon, chip, emptyState, loading, errorBox, formatRelative, formatDateTime, formatCountdown, formStatus, debounce, toDate } from '../dom.js';

const STATUS = {
  pending: { label: 'Waiting', cls: 'st-wait' },
  approved: { label: 'Running', cls: 'st-wait' },
  executed: { label: 'Carried out', cls: 'st-ok' },
  failed: { label: 'Failed', cls: 'st-bad' },
  rejected: { label: 'Rejected', cls: 'st-off' },
  expired: { label: 'Expired', cls: 'st-off' },
};
const HISTORY_FILTERS = [['', 'Everything'], ['executed', 'Carried out'], ['failed', 'Failed'], ['rejected', 'Rejected'], ['expired', 'Expired']];

function argValue(v) {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x !== 'object')) return v.join(', ');
  return JSON.stringify(v);
}

// The arguments as a short definition list, the JSON on demand.
function argsView(args) {
  const entries = args && typeof args === 'object' ? Object.entries(args) : [];
  return h('div', { class: 'approval-args' },
    entries.length
      ? h('dl', { class: 'kv kv-compact' }, entries.map(([k, v]) => h('div', null, h('dt', { text: k }), h('dd', null, h('code', { text: argValue(v) })))))
      : h('p', { class: 'hint', text: 'No arguments.' }),
    h('details', { class: 'raw' }, h('summary', { text: 'As JSON' }), h('pre', { class: 'tool-detail', text: JSON.stringify(args ?? {}, null, 2) })));
}

function resultText(a) {
  if (a.error) return a.error;
  if (a.result && typeof a.result.text === 'string') return a.result.text;
  return '';
}

export function statusChip(status) {
  const st = STATUS[status] || { label: status, cls: '' };
  return chip(st.label, { class: ['chip-status', st.cls] });
}

export default {
  id: 'approvals',
  title: 'Approvals',
  icon: 'shield',

  mount(main, ctx) {
    const s = { disposed: false, seq: 0, filter: '', busy: new Set() };
    const count = h('p', { class: 'list-count', role: 'status' });
    const pageStatus = formStatus();
    const waiting = h('div', { class: 'list', 'aria-live': 'polite' }, loading('Loading approvals…'));
    const history = h('div', { class: 'list' });
    const filter = h('select', { class: 'select-inline', 'aria-label': 'Show in history' }, HISTORY_FILTERS.map(([v, t]) => h('option', { value: v, text: t })));
    filter.addEventListener('change', () => {
      s.filter = filter.value;
      load();
    });
    main.append(
      h('div', { class: 'page-head' }, h('h1', { text: 'Approvals' }), count,
        h('p', { class: 'page-sub', text: 'Bulk deletes and other high-risk actions wait here until you decide. Nothing runs without your approval; what you do not answer expires.' })),
      pageStatus,
      h('section', { class: 'section section-first', 'aria-labelledby': 'ap-wait' }, h('h2', { id: 'ap-wait', text: 'Waiting for you' }), waiting),
      h('section', { class: 'section', 'aria-labelledby': 'ap-hist' }, h('div', { class: 'section-head' }, h('h2', { id: 'ap-hist', text: 'History' }), filter), history));

    async function decide(a, what, buttons) {
      s.busy.add(a.id);
      for (const b of buttons) b.disabled = true;
      buttons[what === 'approve' ? 0 : 1].textContent = what === 'approve' ? 'Approving…' : 'Rejecting…';
      try {
        const r = await post(`/api/v1/approvals/${a.id}/${what}`);
        const x = r.approval;
        const text = resultText(x);
        pageStatus.set(x.status === 'executed' ? `Done: ${x.summary}.${text ? ` ${text}` : ''}`
          : x.status === 'failed' ? `It failed: ${text || x.summary}`
            : `Rejected: ${x.summary}.`, x.status === 'failed' ? 'error' : 'ok');
      } catch (e) {
        pageStatus.set(e.code === 'expired' ? `Too late: “${a.summary}” expired.` : e.code === 'conflict' ? `Already decided: ${e.message}` : e.message);
      } finally {
        s.busy.delete(a.id);
        load();
      }
    }

    function pendingCard(a) {
      const approve = h('button', { class: 'btn btn-primary', type: 'button' }, icon('check'), h('span', { text: 'Approve' }));
      const reject = h('button', { class: 'btn', type: 'button' }, icon('close'), h('span', { text: 'Reject' }));
      approve.setAttribute('aria-label', `Approve: ${a.summary}`);
      reject.setAttribute('aria-label', `Reject: ${a.summary}`);
      approve.addEventListener('click', () => decide(a, 'approve', [approve, reject]));
      reject.addEventListener('click', () => decide(a, 'reject', [approve, reject]));
      if (s.busy.has(a.id)) approve.disabled = reject.disabled = true;
      const expires = toDate(a.expires_at);
      return h('li', { class: 'approval-card approval-pending card', dataset: { approval: String(a.id), status: a.status } },
        h('div', { class: 'approval-top' },
          h('span', { class: 'approval-icon' }, icon('shield')),
          h('div', { class: 'approval-main' },
            h('p', { class: 'approval-summary', text: a.summary || a.tool }),
            h('p', { class: 'approval-meta' },
              h('code', { class: 'tool-name', text: a.tool }),
              h('span', { class: `risk risk-${a.risk || 'high'}`, text: `${a.risk || 'high'} risk` }),
              h('span', { text: `asked ${formatRelative(a.created_at)}` }),
              a.conversation_id ? h('a', { href: `#/chat/${a.conversation_id}`, text: 'from a conversation' }) : null)),
          a.status === 'pending' && expires
            ? h('div', { class: 'expiry' }, h('span', { class: 'expiry-label', text: 'Expires in' }),
              h('span', { class: 'countdown', role: 'timer', dataset: { due: String(expires.getTime()) }, title: formatDateTime(a.expires_at) }))
            : statusChip(a.status)),
        argsView(a.args),
        a.status === 'pending' ? h('div', { class: 'approval-actions' }, approve, reject) : null);
    }

    function historyRow(a) {
      const text = resultText(a);
      return h('li', { class: ['history-row', `status-${a.status}`], dataset: { approval: String(a.id), status: a.status } },
        statusChip(a.status),
        h('div', { class: 'history-main' },
          h('p', { class: 'history-summary', text: a.summary || a.tool }),
          text ? h('p', { class: ['history-result', a.error && 'error'], text }) : null,
          h('details', { class: 'raw' }, h('summary', { text: `${a.tool}` }), h('pre', { class: 'tool-detail', text: JSON.stringify({ arguments: a.args, result: a.result, error: a.error }, null, 2) }))),
        h('time', { class: 'history-time', datetime: toDate(a.decided_at || a.created_at)?.toISOString(), title: formatDateTime(a.decided_at || a.created_at), text: formatRelative(a.decided_at || a.created_at) }));
    }

    function tick() {
      const now = Date.now();
      for (const el of main.querySelectorAll('.countdown')) {
        const left = Number(el.dataset.due) - now;
        const txt = left > 0 ? formatCountdown(left) : 'expiring…';
        if (el.textContent !== txt) el.textContent = txt;
        el.classList.toggle('soon', left < 60000);
      }
    }
    const ticker = setInterval(tick, 1000);

    async function load() {
      const seq = ++s.seq;
      try {
        const [p, all] = await Promise.all([
          get(`/api/v1/approvals${qs({ status: 'pending', limit: 500 })}`),
          get(`/api/v1/approvals${qs({ status: s.filter || 'all', limit: 100 })}`),
        ]);
        if (s.disposed || seq !== s.seq) return;
        const pending = p.approvals.sort((a, b) => (toDate(a.expires_at) || 0) - (toDate(b.expires_at) || 0));
        count.textContent = pending.length ? `${pending.length} waiting` : '';
        waiting.replaceChildren(pending.length
          ? h('ul', { class: 'approval-list', 'aria-label': 'Waiting for you' }, pending.map(pendingCard))
          : emptyState('shield', 'Nothing waits for you', 'When you ask lares for something risky — deleting many tasks at once, say — it asks here (and in the chat) before doing it.'));
        const done = all.approvals.filter((a) => a.status !== 'pending');
        history.replaceChildren(done.length
          ? h('ul', { class: 'history-list card', 'aria-label': 'History' }, done.map(historyRow))
          : h('p', { class: 'hint empty-line', text: s.filter ? 'Nothing like that yet.' : 'No decisions yet.' }));
        tick();
      } catch (e) {
        if (!s.disposed) waiting.replaceChildren(errorBox(e, load));
      }
    }

    const reload = debounce(load, 120);
    const offs = [
      ctx.live.on('approval_required', reload),
      ctx.live.on('notification', (m) => m.kind === 'approval' && reload()),
      ctx.live.on('open', ({ reconnected }) => reconnected && load()),
    ];
    load();
    return () => {
      s.disposed = true;
      clearInterval(ticker);
      offs.forEach((o) => o());
    };
  },
};
