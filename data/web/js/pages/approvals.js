// pages/approvals.js — high-risk actions waiting for the owner (plan →
// confirm → execute).  Hidden until the approvals API is part of the daemon
// (app.js HIDDEN); written against GET /api/v1/approvals and
// POST /api/v1/approvals/{id}/approve|reject.

import { get, post, qs } from '../api.js';
import { h, emptyState, loading, errorBox, formatRelative, formatDateTime, debounce } from '../dom.js';

export default {
  id: 'approvals',
  title: 'Approvals',
  icon: 'shield',

  mount(main, ctx) {
    let disposed = false;
    let status = 'pending';
    const list = h('div', { class: 'list' }, loading('Loading approvals…'));
    const sel = h('select', { 'aria-label': 'Show' }, [['pending', 'Waiting'], ['all', 'All']].map(([v, t]) => h('option', { value: v, text: t })));
    sel.addEventListener('change', () => {
      status = sel.value;
      load();
    });
    main.append(h('div', { class: 'page-head' }, h('h1', { text: 'Approvals' }), sel), list);

    function card(a) {
      const msg = h('p', { class: 'approval-status', role: 'status' });
      const decide = async (what) => {
        try {
          const r = await post(`/api/v1/approvals/${a.id}/${what}`);
          msg.textContent = r.approval.status === 'executed' ? 'Done.' : r.approval.status;
          load();
        } catch (e) {
          msg.textContent = e.message;
        }
      };
      return h('li', { class: ['approval-card', `status-${a.status}`], dataset: { approval: String(a.id) } },
        h('p', { class: 'approval-head' }, h('strong', { text: a.summary || a.tool }), h('span', { class: `risk risk-${a.risk}`, text: `${a.risk} risk` })),
        h('p', { class: 'hint', text: `${a.tool} · asked ${formatRelative(a.created_at)} · ${a.status === 'pending' ? `expires ${formatRelative(a.expires_at)}` : a.status}` }),
        h('details', null, h('summary', { text: 'Arguments' }), h('pre', { class: 'tool-detail', text: JSON.stringify(a.args, null, 2) })),
        a.error ? h('p', { class: 'alert alert-error', text: a.error }) : null,
        a.status === 'pending' ? h('div', { class: 'approval-actions' },
          h('button', { class: 'btn btn-primary btn-small', type: 'button', text: 'Approve', onclick: () => decide('approve') }),
          h('button', { class: 'btn btn-small', type: 'button', text: 'Reject', onclick: () => decide('reject') })) : h('p', { class: 'hint', text: formatDateTime(a.decided_at) }),
        msg);
    }

    async function load() {
      try {
        const r = await get(`/api/v1/approvals${qs({ status, limit: 100 })}`);
        if (disposed) return;
        list.replaceChildren(r.approvals.length ? h('ul', { class: 'approval-list' }, r.approvals.map(card))
          : emptyState('shield', status === 'pending' ? 'Nothing waits for you' : 'No approvals yet', 'High-risk actions (bulk deletes, messages to others, locks) wait here for your decision.'));
      } catch (e) {
        if (!disposed) list.replaceChildren(errorBox(e, load));
      }
    }
    const reload = debounce(load, 150);
    const offs = [ctx.live.on('approval_required', reload), ctx.live.on('notification', (m) => m.kind === 'approval' && reload())];
    load();
    return () => {
      disposed = true;
      offs.forEach((o) => o());
    };
  },
};
