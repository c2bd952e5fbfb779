// pages/chat.js — conversations and the streaming chat.
//
// A turn is started with {"type":"message"} on /ws; its events arrive on
// every connection of the user (turn_start, token, emotion, tool_call,
// approval_required, error, turn_end).  Tokens are appended to the turn's
// text and the bubble is re-rendered (safe Markdown) once per frame.
// turn_end carries the whole reply, which replaces what was streamed: if
// the connection dropped in between and tokens were lost, the final text is
// still right.  After a reconnect, the conversation is re-read from the
// store, so a turn that ended while the connection was down shows its
// stored reply.

import { get, post, del, qs } from '../api.js';
import { h, icon, formatRelative, formatDateTime, formatTime, emptyState, loading, errorBox, confirmDialog, toDate } from '../dom.js';
import { renderMarkdown } from '../markdown.js';

const EMOTION_EMOJI = {
  happy: '😊', joy: '😄', excited: '🤩', sad: '😢', angry: '😠', surprised: '😮', thinking: '🤔',
  neutral: '🙂', calm: '😌', confused: '😕', love: '🥰', worried: '😟', playful: '😜', tired: '😴',
};
const MAX_TEXT = 10000;

function emotionLabel(name) {
  return `${EMOTION_EMOJI[name] || '✨'} ${name}`;
}

function prettyJson(v) {
  try {
    return JSON.stringify(v, null, 2);
  } catch {
    return String(v);
  }
}

function argsSummary(args) {
  if (!args || typeof args !== 'object') return '';
  const parts = [];
  for (const [k, v] of Object.entries(args)) {
    let s = typeof v === 'string' ? v : JSON.stringify(v);
    if (s.length > 40) s = s.slice(0, 39) + '…';
    parts.push(`${k}: ${s}`);
    if (parts.length === 3) break;
  }
  return parts.join(' · ');
}

function resultText(result) {
  if (result && typeof result === 'object' && typeof result.text === 'string') return result.text;
  return '';
}

// What a tool card says for each status of its call (tool_call events) or
// of the approval it became (notification events).
const TOOL_STATUS = {
  running: 'running…', done: 'done', error: 'failed', needs_approval: 'waiting for approval',
  approved: 'running…', executed: 'executed', failed: 'failed', rejected: 'rejected', expired: 'expired',
};

const APPROVAL_OUTCOME = {
  approved: 'Approved — running…',
  executed: 'Approved — done.',
  failed: 'Approved, but it failed:',
  rejected: 'Rejected — nothing was changed.',
  expired: 'Expired before a decision — nothing was changed.',
};

export default {
  id: 'chat',
  title: 'Chat',
  icon: 'chat',

  mount(main, ctx) {
    const live = ctx.live;
    const s = {
      convId: ctx.args[0] ? Number(ctx.args[0]) || null : null,
      conversations: [],
      turns: new Map(), // turn_id -> view
      running: null, // turn_id of this conversation's running turn
      waiting: null, // text sent, before its turn_start arrived
      emotion: null,
      disposed: false,
      loadSeq: 0,
      approvals: new Map(), // approval id -> {tool, card} views in this thread
    };
    const offs = [];

    // ---- layout ----
    const convList = h('ul', { class: 'conv-list', 'aria-label': 'Conversations' });
    const newBtn = h('button', { class: 'btn btn-primary btn-block', type: 'button', onclick: () => openConversation(null) }, icon('plus'), 'New chat');
    const convPanel = h('aside', { class: 'conv-panel', 'aria-label': 'Conversation list' }, newBtn, convList);
    const convTitle = h('h1', { class: 'chat-title', text: 'New chat' });
    const emotion = h('span', { class: 'emotion', 'aria-live': 'polite', hidden: true });
    const convToggle = h('button', { class: 'btn btn-small conv-toggle', type: 'button', 'aria-expanded': 'false', text: 'Conversations' });
    const thread = h('div', { class: 'thread', role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages' });
    const input = h('textarea', {
      class: 'composer-input', rows: 1, maxlength: MAX_TEXT, placeholder: 'Message lares…', 'aria-label': 'Message',
      autocomplete: 'off',
    });
    const counter = h('span', { class: 'composer-count', 'aria-live': 'polite' });
    const sendBtn = h('button', { class: 'btn btn-primary composer-send', type: 'submit', 'aria-label': 'Send' }, icon('send'), h('span', { class: 'label', text: 'Send' }));
    const stopBtn = h('button', { class: 'btn btn-danger composer-stop', type: 'button', hidden: true, 'aria-label': 'Stop' }, icon('stop'), h('span', { class: 'label', text: 'Stop' }));
    const composerNote = h('p', { class: 'composer-note', role: 'status' });
    const form = h('form', { class: 'composer', 'aria-label': 'Send a message' },
      h('div', { class: 'composer-row' }, input, sendBtn, stopBtn), h('div', { class: 'composer-meta' }, composerNote, counter));
    const chatPanel = h('section', { class: 'chat-panel', 'aria-labelledby': 'chat-heading' },
      h('div', { class: 'chat-head' }, convToggle, convTitle, emotion), thread, form);
    convTitle.id = 'chat-heading';
    main.append(h('div', { class: 'chat-layout' }, convPanel, chatPanel));

    convToggle.addEventListener('click', () => {
      const open = !main.classList.contains('convs-open');
      main.classList.toggle('convs-open', open);
      convToggle.setAttribute('aria-expanded', String(open));
    });

    // ---- conversation list ----
    async function loadConversations() {
      try {
        const r = await get('/api/v1/conversations?limit=100');
        if (s.disposed) return;
        s.conversations = r.conversations;
        const cur = s.conversations.find((x) => x.id === s.convId);
        if (cur) convTitle.textContent = cur.title || 'Conversation';
        renderConversations();
      } catch (e) {
        if (!s.disposed) convList.replaceChildren(h('li', { class: 'conv-error', text: e.message }));
      }
    }

    function renderConversations() {
      if (!s.conversations.length) {
        convList.replaceChildren(h('li', { class: 'conv-empty', text: 'No conversations yet.' }));
        return;
      }
      convList.replaceChildren(...s.conversations.map((c) => {
        const title = c.title || 'Untitled';
        const link = h('a', { href: `#/chat/${c.id}`, class: 'conv-link', 'aria-current': c.id === s.convId ? 'page' : null },
          h('span', { class: 'conv-name', text: title }),
          h('span', { class: 'conv-time', text: formatRelative(c.updated_at) }));
        const renameBtn = h('button', { class: 'btn-icon btn-tiny', type: 'button', 'aria-label': `Rename “${title}”`, title: 'Rename', onclick: () => rename(c, li) }, icon('pencil'));
        const delBtn = h('button', { class: 'btn-icon btn-tiny', type: 'button', 'aria-label': `Delete “${title}”`, title: 'Delete', onclick: () => remove(c) }, icon('trash'));
        const li = h('li', { class: ['conv', c.id === s.convId && 'active'] }, link, h('span', { class: 'conv-actions' }, renameBtn, delBtn));
        return li;
      }));
    }

    function rename(c, li) {
      const field = h('input', { class: 'conv-rename', value: c.title || '', maxlength: 200, 'aria-label': 'New name' });
      const done = async (save) => {
        if (!field.isConnected) return;
        const title = field.value.trim();
        if (save && title && title !== c.title) {
          try {
            const r = await post(`/api/v1/conversations/${c.id}`, { title });
            c.title = r.title;
            if (c.id === s.convId) convTitle.textContent = r.title;
          } catch (e) {
            composerNote.textContent = `Could not rename: ${e.message}`;
          }
        }
        renderConversations();
        convList.querySelector(`a[href="#/chat/${c.id}"]`)?.focus();
      };
      field.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter') {
          ev.preventDefault();
          done(true);
        } else if (ev.key === 'Escape') {
          ev.preventDefault();
          done(false);
        }
      });
      field.addEventListener('blur', () => done(true));
      li.replaceChildren(field);
      field.focus();
      field.select();
    }

    async function remove(c) {
      const ok = await confirmDialog('Delete conversation', `Delete “${c.title || 'Untitled'}” and all its messages? This cannot be undone.`);
      if (!ok) return;
      try {
        await del(`/api/v1/conversations/${c.id}`);
        s.conversations = s.conversations.filter((x) => x.id !== c.id);
        if (c.id === s.convId) openConversation(null);
        else renderConversations();
      } catch (e) {
        composerNote.textContent = `Could not delete: ${e.message}`;
      }
    }

    // ---- thread rendering ----
    function scrollDown(force) {
      const near = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 120;
      if (force || near) thread.scrollTop = thread.scrollHeight;
    }

    function userBubble(text, when) {
      return h('div', { class: 'msg msg-user' },
        h('div', { class: 'bubble' }, h('p', { class: 'plain', text })),
        when ? h('time', { class: 'msg-time', datetime: toDate(when)?.toISOString(), text: formatDateTime(when) }) : null);
    }

    function turnView(turnId) {
      let v = s.turns.get(turnId);
      if (v) return v;
      const bubble = h('div', { class: 'bubble md' });
      const tools = h('div', { class: 'tools' });
      const foot = h('div', { class: 'msg-foot' });
      const el = h('div', { class: 'msg msg-assistant', dataset: { turn: String(turnId) } }, tools, bubble, foot);
      v = { id: turnId, el, bubble, tools, foot, text: '', cards: new Map(), frame: 0, status: 'running' };
      s.turns.set(turnId, v);
      thread.append(el);
      return v;
    }

    function renderText(v) {
      if (v.frame) return;
      v.frame = requestAnimationFrame(() => {
        v.frame = 0;
        v.bubble.replaceChildren(renderMarkdown(v.text));
        v.bubble.hidden = v.text === '' && v.status !== 'running';
        if (v.status === 'running') v.bubble.append(h('span', { class: 'caret', 'aria-hidden': 'true' }));
        scrollDown();
      });
    }

    function toolCard(v, ev) {
      let card = v.cards.get(ev.id);
      if (!card) {
        const name = h('span', { class: 'tool-name', text: ev.tool });
        const status = h('span', { class: 'tool-status' });
        const summary = h('span', { class: 'tool-args', text: argsSummary(ev.args) });
        const details = h('pre', { class: 'tool-detail' });
        const root = h('details', { class: 'tool-card' }, h('summary', null, icon('tool'), name, status, summary), details);
        card = { root, status, details, detail: {} };
        v.cards.set(ev.id, card);
        v.tools.append(root);
      }
      const detail = { arguments: ev.args };
      if (ev.result !== undefined) detail.result = ev.result;
      if (ev.error) detail.error = ev.error;
      card.detail = detail;
      setToolStatus(card, ev.status);
      if (ev.status === 'error' && ev.error?.message) card.root.title = ev.error.message;
      if (ev.approval && typeof ev.approval.id === 'number') {
        card.root.dataset.approval = String(ev.approval.id);
        approvalView(ev.approval.id).tool = card;
      }
      scrollDown();
      return card;
    }

    function setToolStatus(card, status, extra) {
      card.root.dataset.status = status;
      card.status.textContent = TOOL_STATUS[status] || status;
      if (extra) Object.assign(card.detail, extra);
      card.details.textContent = prettyJson(card.detail);
    }

    function approvalView(id) {
      let a = s.approvals.get(id);
      if (!a) {
        a = { tool: null, card: null };
        s.approvals.set(id, a);
      }
      return a;
    }

    // An inline card with Approve / Reject for approval @ev (an
    // approval_required event or an approval object); decided over /ws, the
    // outcome arrives as a notification on every tab.
    function approvalCard(v, ev) {
      const view = approvalView(ev.id);
      if (view.card) return view.card;
      const status = h('p', { class: 'approval-status', role: 'status' });
      const approve = h('button', { class: 'btn btn-primary btn-small', type: 'button' }, icon('check'), h('span', { text: 'Approve' }));
      const reject = h('button', { class: 'btn btn-small', type: 'button' }, icon('close'), h('span', { text: 'Reject' }));
      const expires = ev.expires_at ? h('span', { class: 'hint approval-expiry', text: `Waits until ${formatTime(ev.expires_at)}`, title: formatDateTime(ev.expires_at) }) : null;
      const actions = h('div', { class: 'approval-actions' }, approve, reject, expires);
      const card = h('div', { class: 'approval-card', role: 'group', 'aria-label': 'Approval needed', dataset: { approval: String(ev.id), status: 'pending' } },
        h('p', { class: 'approval-head' }, icon('shield'), h('strong', { text: 'Approval needed' }), h('span', { class: `risk risk-${ev.risk || 'high'}`, text: `${ev.risk || 'high'} risk` })),
        h('p', { class: 'approval-summary', text: ev.summary || ev.tool }),
        h('details', null, h('summary', null, h('code', { text: ev.tool })), h('pre', { class: 'tool-detail', text: prettyJson(ev.args || {}) })),
        actions, status);
      const decide = (type) => {
        approve.disabled = reject.disabled = true;
        status.textContent = type === 'approve' ? 'Approving…' : 'Rejecting…';
        live.send({ type, id: ev.id });
      };
      approve.addEventListener('click', () => decide('approve'));
      reject.addEventListener('click', () => decide('reject'));
      view.card = card;
      (v ? v.tools : thread).append(card);
      scrollDown(true);
      return card;
    }

    function resolveApproval(a) {
      const view = s.approvals.get(a.id);
      if (!view) return;
      if (a.status === 'pending') return;
      if (view.tool) setToolStatus(view.tool, a.status, a.result || a.error ? { outcome: { status: a.status, result: a.result, error: a.error } } : null);
      const card = view.card;
      if (!card) return;
      card.dataset.status = a.status;
      for (const b of card.querySelectorAll('button')) b.disabled = true;
      card.querySelector('.approval-actions')?.remove();
      const st = card.querySelector('.approval-status');
      st.replaceChildren(h('strong', { text: APPROVAL_OUTCOME[a.status] || a.status }));
      const rt = a.status === 'failed' ? a.error || 'error' : resultText(a.result);
      if (rt) st.append(h('span', { class: 'approval-result', text: ` ${rt}` }));
    }

    // A decision this tab sent was refused (already decided, expired, gone):
    // say so on the card and show what the approval became.
    async function refusedDecision(ev) {
      const view = s.approvals.get(ev.id);
      if (!view || !view.card) return;
      const st = view.card.querySelector('.approval-status');
      st.textContent = ev.message || 'The decision was refused.';
      try {
        const r = await get(`/api/v1/approvals/${ev.id}`);
        if (!s.disposed) resolveApproval(r.approval);
      } catch {
        // The message above stays.
      }
    }

    function timingsView(ev) {
      const t = ev.timings || {};
      const u = ev.usage || {};
      const row = (k, val) => (val === undefined || val === null ? null : h('div', null, h('dt', { text: k }), h('dd', { text: val })));
      const ms = (x) => (typeof x === 'number' && x >= 0 ? `${x} ms` : null);
      return h('details', { class: 'timings' }, h('summary', { 'aria-label': `Timings: ${t.total_ms ?? '?'} ms in all` }, icon('clock'), `${t.total_ms ?? '?'} ms`),
        h('dl', null,
          row('path', ev.path), row('why', ev.why), row('understanding', ms(t.understand_ms)), row('first token', ms(t.first_token_ms)),
          row('LLM', ms(t.llm_ms)), row('tools', ms(t.tools_ms)), row('total', ms(t.total_ms)),
          u.llm_calls ? row('LLM calls', String(u.llm_calls)) : null,
          u.llm_calls ? row('tokens', `${u.prompt_tokens ?? 0} in · ${u.completion_tokens ?? 0} out`) : null,
          u.cost_usd ? row('cost', `$${u.cost_usd.toFixed(5)}`) : null));
    }

    function finishTurn(v, ev) {
      v.status = ev.status || 'done';
      if (typeof ev.reply === 'string') v.text = ev.reply;
      v.el.dataset.status = v.status;
      v.foot.replaceChildren(...[
        v.status === 'cancelled' ? h('span', { class: 'turn-flag', text: 'Stopped' }) : null,
        v.status === 'error' ? h('span', { class: 'turn-flag turn-error', text: 'Failed' }) : null,
        timingsView(ev)].filter(Boolean));
      if (v.frame) {
        cancelAnimationFrame(v.frame);
        v.frame = 0;
      }
      v.bubble.replaceChildren(renderMarkdown(v.text || (v.status === 'cancelled' ? '' : '…')));
      v.bubble.hidden = !v.text && v.status === 'cancelled';
      scrollDown();
    }

    function setRunning(turnId) {
      s.running = turnId;
      const busy = turnId !== null || s.waiting !== null;
      stopBtn.hidden = !busy;
      sendBtn.hidden = busy;
      chatPanel.dataset.busy = String(busy);
      if (!busy) composerNote.textContent = '';
    }

    function renderHistory(messages) {
      thread.replaceChildren();
      s.turns.clear();
      s.approvals.clear();
      const calls = new Map();
      const asked = []; // calls that became approvals
      for (const m of messages) {
        if (m.role === 'user') {
          thread.append(userBubble(m.content, m.created_at));
        } else if (m.role === 'assistant') {
          const v = turnView(m.turn_id);
          v.status = 'done';
          const list = Array.isArray(m.tool_calls) ? m.tool_calls : [];
          for (const c of list) {
            const fn = c.function || c;
            let args = fn.arguments;
            try {
              args = typeof args === 'string' ? JSON.parse(args) : args;
            } catch {
              // Leave as text.
            }
            calls.set(c.id, { v, ev: { id: c.id, tool: fn.name, args, status: 'done' } });
            toolCard(v, { id: c.id, tool: fn.name, args, status: 'done' });
          }
          if (m.content) v.text = m.content;
          v.bubble.replaceChildren(renderMarkdown(v.text));
          v.bubble.hidden = !v.text;
        } else if (m.role === 'tool') {
          const c = calls.get(m.tool_call_id);
          if (c) {
            let result = m.content;
            try {
              result = JSON.parse(m.content);
            } catch {
              // A plain text result.
            }
            const waited = result && typeof result === 'object' && result.status === 'needs_approval' && typeof result.approval_id === 'number';
            const card = toolCard(c.v, { ...c.ev, result, status: waited ? 'needs_approval' : c.ev.status });
            if (waited) {
              card.root.dataset.approval = String(result.approval_id);
              approvalView(result.approval_id).tool = card;
              asked.push({ v: c.v, id: result.approval_id });
            }
          }
        }
      }
      if (!messages.length) thread.append(emptyState('chat', 'Start a conversation', 'Ask for the time, add a task, set a reminder, or take a note.'));
      scrollDown(true);
      if (asked.length) showAskedApprovals(asked);
    }

    // Approvals the stored turns asked for: as they stand now, and still
    // decidable here while they wait.
    async function showAskedApprovals(asked) {
      const seq = s.loadSeq;
      const found = await Promise.all(asked.map(({ id }) => get(`/api/v1/approvals/${id}`).then((r) => r.approval, () => null)));
      if (s.disposed || seq !== s.loadSeq) return;
      asked.forEach(({ v }, i) => {
        const a = found[i];
        if (!a) return;
        approvalCard(v, a);
        resolveApproval(a);
      });
    }

    async function loadMessages() {
      const seq = ++s.loadSeq;
      if (!s.convId) {
        thread.replaceChildren(emptyState('chat', 'Start a conversation', 'Ask for the time, add a task, set a reminder, or take a note. Press Enter to send, Shift+Enter for a new line.'));
        return;
      }
      thread.replaceChildren(loading('Loading messages…'));
      try {
        const r = await get(`/api/v1/conversations/${s.convId}/messages${qs({ limit: 1000 })}`);
        if (s.disposed || seq !== s.loadSeq) return;
        const running = s.running;
        renderHistory(r.messages);
        // A turn still running (reconnect): keep its live view at the end.
        if (running !== null && !r.messages.some((m) => m.role === 'assistant' && m.turn_id === running && m.content)) {
          const v = turnView(running);
          v.status = 'running';
          renderText(v);
        } else if (running !== null) {
          setRunning(null);
        }
      } catch (e) {
        if (s.disposed || seq !== s.loadSeq) return;
        if (e.status === 404) {
          openConversation(null);
          return;
        }
        thread.replaceChildren(errorBox(e, loadMessages));
      }
    }

    function openConversation(id) {
      main.classList.remove('convs-open');
      convToggle.setAttribute('aria-expanded', 'false');
      if (id === null) {
        if (location.hash !== '#/chat') history.replaceState(null, '', '#/chat');
        applyConversation(null);
      } else location.hash = `#/chat/${id}`;
      input.focus();
    }

    function applyConversation(id) {
      s.convId = id;
      s.running = null;
      s.waiting = null;
      setRunning(null);
      const c = s.conversations.find((x) => x.id === id);
      convTitle.textContent = id ? (c?.title || 'Conversation') : 'New chat';
      renderConversations();
      loadMessages();
    }

    // ---- events ----
    const mine = (ev) => ev.conversation_id === s.convId || (s.waiting !== null && ev.type === 'turn_start' && s.convId === null);

    offs.push(live.on('turn_start', (ev) => {
      if (s.waiting !== null && s.convId === null && ev.text === s.waiting) {
        // Our new conversation got its id.
        s.convId = ev.conversation_id;
        convTitle.textContent = ev.text.length > 60 ? ev.text.slice(0, 59) + '…' : ev.text;
        history.replaceState(null, '', `#/chat/${s.convId}`);
        thread.replaceChildren();
      }
      if (ev.conversation_id !== s.convId) {
        loadConversations();
        return;
      }
      if (s.waiting !== null && ev.text === s.waiting) {
        s.waiting = null;
      }
      if (!s.turns.has(ev.turn_id)) {
        thread.querySelector('.empty')?.remove();
        thread.append(userBubble(ev.text, Date.now()));
        const v = turnView(ev.turn_id);
        renderText(v);
      }
      setRunning(ev.turn_id);
      scrollDown(true);
    }));
    offs.push(live.on('token', (ev) => {
      if (!mine(ev)) return;
      const v = turnView(ev.turn_id);
      v.text += ev.text;
      renderText(v);
    }));
    offs.push(live.on('emotion', (ev) => {
      s.emotion = ev.name;
      emotion.hidden = false;
      emotion.textContent = emotionLabel(ev.name);
      emotion.title = `lares feels ${ev.name}`;
      emotion.setAttribute('aria-label', `lares feels ${ev.name}`);
    }));
    offs.push(live.on('tool_call', (ev) => {
      if (!mine(ev)) return;
      toolCard(turnView(ev.turn_id), ev);
    }));
    offs.push(live.on('approval_required', (ev) => {
      // Asked in this conversation (REST and other chats: the badge and a toast).
      if (!ev.conversation_id || ev.conversation_id !== s.convId) return;
      const v = ev.turn_id ? s.turns.get(ev.turn_id) : null;
      approvalCard(v || null, ev);
    }));
    offs.push(live.on('notification', (ev) => {
      if (ev.kind === 'approval' && ev.approval) resolveApproval(ev.approval);
    }));
    offs.push(live.on('error', (ev) => {
      if (typeof ev.id === 'number' && ev.turn_id === undefined) {
        // A refused approve/reject ({"type":"error","code","id"}).
        refusedDecision(ev);
        return;
      }
      if (ev.conversation_id !== undefined && ev.conversation_id !== s.convId) return;
      if (ev.turn_id === undefined && s.waiting !== null) {
        // The turn did not start (busy, too long, …).
        s.waiting = null;
        setRunning(null);
      }
      composerNote.textContent = ev.message || 'Something went wrong.';
      composerNote.className = 'composer-note error';
    }));
    offs.push(live.on('turn_end', (ev) => {
      if (ev.conversation_id !== s.convId) {
        loadConversations();
        return;
      }
      finishTurn(turnView(ev.turn_id), ev);
      if (s.running === ev.turn_id || s.running === null) setRunning(null);
      loadConversations();
    }));
    offs.push(live.on('open', ({ reconnected }) => {
      if (!reconnected) return;
      // Whatever happened while we were away is in the store.
      loadConversations();
      if (s.convId) loadMessages();
    }));

    // ---- composer ----
    function autosize() {
      input.style.height = 'auto';
      input.style.height = Math.min(input.scrollHeight, 220) + 'px';
      const n = input.value.length;
      counter.textContent = n > MAX_TEXT * 0.9 ? `${n} / ${MAX_TEXT}` : '';
    }
    input.addEventListener('input', autosize);
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const text = input.value.trim();
      if (!text || s.running !== null || s.waiting !== null) return;
      composerNote.textContent = live.state === 'open' ? '' : 'Offline — the message will be sent when the connection is back.';
      composerNote.className = 'composer-note';
      s.waiting = text;
      setRunning(null);
      const msg = { type: 'message', text };
      if (s.convId) msg.conversation_id = s.convId;
      live.send(msg);
      input.value = '';
      autosize();
    });
    stopBtn.addEventListener('click', () => {
      const msg = { type: 'cancel' };
      if (s.running !== null) msg.turn_id = s.running;
      live.send(msg);
      composerNote.textContent = 'Stopping…';
    });

    loadConversations().then(() => {
      const c = s.conversations.find((x) => x.id === s.convId);
      if (c) convTitle.textContent = c.title || 'Conversation';
    });
    applyConversation(s.convId);
    setTimeout(() => input.focus());

    this.update = (args) => {
      const id = args[0] ? Number(args[0]) || null : null;
      if (id !== s.convId) applyConversation(id);
      return true;
    };

    return () => {
      s.disposed = true;
      for (const off of offs) off();
      this.update = null;
    };
  },
};
