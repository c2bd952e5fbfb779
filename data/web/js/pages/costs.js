// pages/costs.js — LLM spend per day this month, and the budget left.
//
// The chart is an SVG built node by node (bars with <title>s for hover and a
// table alternative for screen readers).

import { get } from '../api.js';
import { h, icon, emptyState, loading, errorBox, formatUsd, formatNumber, formatDay } from '../dom.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}

function stat(label, value, sub) {
  return h('div', { class: 'stat card' }, h('p', { class: 'stat-label', text: label }), h('p', { class: 'stat-value', text: value }), sub ? h('p', { class: 'stat-sub', text: sub }) : null);
}

// Every day of this month up to today, with the spend of those that had any.
function monthDays(days) {
  const byDay = new Map(days.map((d) => [d.day, d]));
  const now = new Date();
  const out = [];
  for (let d = 1; d <= now.getDate(); d++) {
    const key = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
    out.push(byDay.get(key) || { day: key, calls: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 });
  }
  return out;
}

function chart(days, budgetDaily) {
  const W = 720;
  const H = 220;
  const pad = { l: 48, r: 12, t: 12, b: 28 };
  const top = Math.max(budgetDaily || 0, ...days.map((d) => d.cost_usd), 0.0001);
  // A round top for the axis: 1, 2, 2.5 or 5 times a power of ten.
  const p10 = Math.pow(10, Math.floor(Math.log10(top)));
  const max = [1, 2, 2.5, 5, 10].map((m) => m * p10).find((v) => v >= top);
  const decimals = Math.max(0, -Math.floor(Math.log10(max / 4)) + 1);
  const bw = (W - pad.l - pad.r) / Math.max(days.length, 1);
  const y = (v) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': 'chart-title' },
    svg('title', { id: 'chart-title' }, 'Spend per day this month'));
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    g.append(svg('line', { x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v), class: 'grid' }),
      svg('text', { x: pad.l - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, v === 0 ? '$0' : `$${v.toFixed(Math.min(decimals, 6))}`));
  }
  days.forEach((d, i) => {
    const x = pad.l + i * bw + bw * 0.15;
    const top = y(d.cost_usd);
    g.append(svg('rect', { x, y: top, width: Math.max(bw * 0.7, 1), height: Math.max(H - pad.b - top, d.cost_usd > 0 ? 1 : 0), class: 'bar', rx: 2 },
      svg('title', {}, `${d.day}: ${formatUsd(d.cost_usd)} · ${d.calls} calls`)));
    if (days.length <= 12 || i % Math.ceil(days.length / 10) === 0 || i === days.length - 1) {
      g.append(svg('text', { x: x + bw * 0.35, y: H - 8, class: 'axis', 'text-anchor': 'middle' }, String(Number(d.day.slice(8)))));
    }
  });
  if (budgetDaily) g.append(svg('line', { x1: pad.l, x2: W - pad.r, y1: y(budgetDaily), y2: y(budgetDaily), class: 'budget-line' }),
    svg('text', { x: W - pad.r, y: y(budgetDaily) - 4, class: 'axis budget-label', 'text-anchor': 'end' }, 'daily budget'));
  return g;
}

export default {
  id: 'costs',
  title: 'Costs',
  icon: 'chart',

  mount(main) {
    let disposed = false;
    const body = h('div', null, loading('Loading spend…'));
    main.append(h('div', { class: 'page-head' }, h('h1', { text: 'Costs' }), h('p', { class: 'page-sub', text: 'What the LLM cost you, from each call’s tokens and llm.prices.' })), body);

    async function load() {
      try {
        const [day, month] = await Promise.all([get('/api/v1/costs?period=day'), get('/api/v1/costs?period=month')]);
        if (disposed) return;
        const days = monthDays(month.days || []);
        const left = (r) => (r.budget_usd === null ? 'No budget set' : `${formatUsd(r.remaining_usd)} left of ${formatUsd(r.budget_usd)}`);
        body.replaceChildren(
          h('div', { class: 'stats' },
            stat('Today', formatUsd(day.cost_usd), left(day)),
            stat('This month', formatUsd(month.cost_usd), left(month)),
            stat('LLM calls this month', formatNumber(month.llm_calls), `${formatNumber(month.prompt_tokens)} tokens in · ${formatNumber(month.completion_tokens)} out`)),
          h('section', { class: 'card chart-card', 'aria-labelledby': 'spend-h' },
            h('h2', { id: 'spend-h', text: 'Spend per day' }),
            month.llm_calls ? chart(days, day.budget_usd) : emptyState('chart', 'No LLM calls this month', 'Answers from the intent engine cost nothing. Configure llm.prices to see the cost of LLM calls.'),
            month.llm_calls ? h('details', { class: 'chart-table' }, h('summary', { text: 'Show as a table' }),
              h('table', { class: 'table' }, h('thead', null, h('tr', null, ['Day', 'Calls', 'Tokens in', 'Tokens out', 'Cost'].map((t) => h('th', { scope: 'col', text: t })))),
                h('tbody', null, days.filter((d) => d.calls).map((d) => h('tr', null, h('td', { text: formatDay(d.day + 'T12:00:00') }), h('td', { text: formatNumber(d.calls) }),
                  h('td', { text: formatNumber(d.prompt_tokens) }), h('td', { text: formatNumber(d.completion_tokens) }), h('td', { text: formatUsd(d.cost_usd) })))))) : null));
      } catch (e) {
        if (!disposed) body.replaceChildren(errorBox(e, load));
      }
    }
    load();
    void icon;
    return () => {
      disposed = true;
    };
  },
};
