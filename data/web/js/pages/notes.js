// pages/notes.js — notes with tags, and full-text search.
//
// Search hits carry their title and snippet as segments
// ([{"text"}, {"text","match":true}]); each match becomes a <mark> around a
// text node, so nothing in a note is ever parsed as HTML.

import { get, post, del, qs } from '../api.js';
import { h, icon, field, formStatus, chip, emptyState, loading, errorBox, openDialog, confirmDialog, formatRelative, formatDateTime, debounce } from '../dom.js';
import { renderMarkdown } from '../markdown.js';

function parseTags(text) {
  return text.split(/[\s,]+/).map((t) => t.replace(/^#/, '').toLowerCase()).filter(Boolean);
}

function segments(segs, cls) {
  return h('span', { class: cls }, (segs || []).map((sg) => (sg.match ? h('mark', { text: sg.text }) : sg.text)));
}

export default {
  id: 'notes',
  title: 'Notes',
  icon: 'note',

  mount(main, ctx) {
    const s = { disposed: false, seq: 0, tag: '', query: '', next: null, notes: [] };

    // ---- search ----
    const q = h('input', { type: 'search', name: 'q', class: 'search-input', placeholder: 'Search your notes', autocomplete: 'off', 'aria-label': 'Search notes', maxlength: 500 });
    const searchForm = h('form', { class: 'search', role: 'search' }, icon('search', 'search-icon'), q);
    searchForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      runSearch();
    });
    q.addEventListener('input', debounce(() => runSearch(), 250));
    q.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && q.value) {
        q.value = '';
        runSearch();
      }
    });

    // ---- add ----
    const title = h('input', { name: 'title', maxlength: 200, autocomplete: 'off', placeholder: 'Optional' });
    const body = h('textarea', { name: 'body', rows: 3, maxlength: 100000, placeholder: 'The spare key is under the blue pot' });
    const tags = h('input', { name: 'tags', autocomplete: 'off', placeholder: 'home keys' });
    const addStatus = formStatus();
    const addForm = h('form', { class: 'card add-form', 'aria-label': 'Add a note', novalidate: true },
      h('div', { class: 'form-grid form-grid-note' }, field('Title', title), field('Tags', tags, 'Separated by spaces'), h('div', { class: 'span-all note-field' }, field('Note', body, 'Markdown works: **bold**, lists, links.'))),
      h('div', { class: 'form-actions' }, addStatus, h('button', { class: 'btn btn-primary', type: 'submit' }, icon('plus'), 'Add note')));
    addForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!body.value.trim()) {
        addStatus.set('Write something first.');
        body.focus();
        return;
      }
      try {
        const b = { body: body.value, tags: parseTags(tags.value) };
        if (title.value.trim()) b.title = title.value.trim();
        await post('/api/v1/notes', b);
        addForm.reset();
        addStatus.set('Note saved.', 'ok');
        load();
      } catch (e) {
        addStatus.set(e.message);
      }
    });

    const tagBar = h('div', { class: 'tag-bar', role: 'group', 'aria-label': 'Filter by tag' });
    const results = h('div', { class: 'list', 'aria-live': 'polite' });
    const more = h('button', { class: 'btn', type: 'button', text: 'Load older notes', hidden: true, onclick: () => load(true) });
    main.append(h('div', { class: 'page-head' }, h('h1', { text: 'Notes' })), searchForm, addForm, tagBar, results, h('div', { class: 'more' }, more));

    // ---- rendering ----
    function noteCard(n) {
      return h('article', { class: 'card note', dataset: { id: String(n.id) }, 'aria-label': n.title || 'Note' },
        h('header', { class: 'note-head' },
          h('h3', { class: 'note-title', text: n.title || 'Untitled' }),
          h('time', { class: 'note-time', title: formatDateTime(n.updated_at), text: formatRelative(n.updated_at) }),
          h('button', { class: 'btn-icon', type: 'button', 'aria-label': `Edit “${n.title || 'note'}”`, title: 'Edit', onclick: () => edit(n) }, icon('pencil'))),
        h('div', { class: 'note-body md' }, renderMarkdown(n.body)),
        n.tags.length ? h('div', { class: 'note-tags' }, n.tags.map((t) => h('button', { class: 'chip chip-tag', type: 'button', text: '#' + t, onclick: () => setTag(t) }))) : null);
    }

    function hitCard(hit) {
      const n = hit.note;
      return h('article', { class: 'card note hit', dataset: { id: String(n.id) } },
        h('header', { class: 'note-head' },
          h('h3', { class: 'note-title' }, hit.title && hit.title.length && hit.title.some((x) => x.text) ? segments(hit.title) : 'Untitled'),
          h('time', { class: 'note-time', text: formatRelative(n.updated_at) }),
          h('button', { class: 'btn-icon', type: 'button', 'aria-label': `Edit “${n.title || 'note'}”`, title: 'Edit', onclick: () => edit(n) }, icon('pencil'))),
        h('p', { class: 'snippet' }, segments(hit.snippet)),
        n.tags.length ? h('div', { class: 'note-tags' }, n.tags.map((t) => chip('#' + t, { class: 'chip-tag' }))) : null);
    }

    function renderTags() {
      const all = new Set(s.notes.flatMap((n) => n.tags));
      if (s.tag) all.add(s.tag);
      tagBar.replaceChildren(...(all.size ? [h('span', { class: 'tag-bar-label', text: 'Tags' })] : []),
        ...[...all].sort().map((t) => h('button', { type: 'button', class: ['chip', 'chip-tag', s.tag === t && 'on'], 'aria-pressed': String(s.tag === t), text: '#' + t, onclick: () => setTag(s.tag === t ? '' : t) })));
    }

    function setTag(t) {
      s.tag = t;
      q.value = '';
      s.query = '';
      load();
    }

    async function load(older = false) {
      const seq = ++s.seq;
      if (s.query) return runSearch();
      if (!older) {
        s.next = null;
        if (!s.notes.length) results.replaceChildren(loading('Loading notes…'));
      }
      try {
        const r = await get(`/api/v1/notes${qs({ tag: s.tag, limit: 50, before: older ? s.next : '' })}`);
        if (s.disposed || seq !== s.seq) return;
        s.notes = older ? s.notes.concat(r.notes) : r.notes;
        s.next = r.next_before || null;
        more.hidden = !s.next;
        renderTags();
        if (!s.notes.length) {
          results.replaceChildren(emptyState('note', s.tag ? `No notes tagged #${s.tag}` : 'No notes yet', s.tag ? '' : 'Write one above, or tell lares “take a note that the wifi password is on the router”.'));
          return;
        }
        results.replaceChildren(h('div', { class: 'note-grid' }, s.notes.map(noteCard)));
      } catch (e) {
        if (!s.disposed) results.replaceChildren(errorBox(e, () => load()));
      }
    }

    async function runSearch() {
      const text = q.value.trim();
      s.query = text;
      if (!text) {
        load();
        return;
      }
      const seq = ++s.seq;
      more.hidden = true;
      try {
        const r = await get(`/api/v1/search${qs({ q: text, limit: 50 })}`);
        if (s.disposed || seq !== s.seq) return;
        results.replaceChildren(
          h('p', { class: 'list-count', role: 'status', text: `${r.hits.length} ${r.hits.length === 1 ? 'note matches' : 'notes match'} “${text}”` }),
          r.hits.length ? h('div', { class: 'note-grid' }, r.hits.map(hitCard)) : emptyState('search', 'Nothing found', 'Every word must match; end a word with * to match its beginning (pass*).'));
      } catch (e) {
        if (s.disposed || seq !== s.seq) return;
        results.replaceChildren(e.status === 400 ? h('p', { class: 'alert', role: 'alert', text: e.message }) : errorBox(e, runSearch));
      }
    }

    function edit(n) {
      const et = h('input', { name: 'title', maxlength: 200, value: n.title || '' });
      const eb = h('textarea', { name: 'body', rows: 8, value: n.body });
      const eg = h('input', { name: 'tags', value: n.tags.join(' ') });
      const st = formStatus();
      openDialog('Edit note', (close) => {
        const form = h('form', { class: 'dialog-body', novalidate: true }, field('Title', et), field('Note', eb), field('Tags', eg, 'Separated by spaces'), st,
          h('div', { class: 'dialog-actions' },
            h('button', { class: 'btn btn-danger btn-left', type: 'button', text: 'Delete', onclick: async () => {
              if (!(await confirmDialog('Delete note', `Delete “${n.title || 'this note'}”?`))) return;
              try {
                await del(`/api/v1/notes/${n.id}`);
                close();
                load();
              } catch (e) {
                st.set(e.message);
              }
            } }),
            h('button', { class: 'btn', type: 'button', text: 'Cancel', onclick: close }),
            h('button', { class: 'btn btn-primary', type: 'submit', text: 'Save' })));
        form.addEventListener('submit', async (ev) => {
          ev.preventDefault();
          if (!eb.value.trim()) {
            st.set('A note cannot be empty.');
            return;
          }
          try {
            await post(`/api/v1/notes/${n.id}`, { title: et.value.trim(), body: eb.value, tags: parseTags(eg.value) });
            close();
            load();
          } catch (e) {
            st.set(e.message);
          }
        });
        return form;
      });
    }

    const reload = debounce(() => load(), 150);
    const offs = ['note_created', 'note_updated', 'note_deleted'].map((t) => ctx.live.on(t, reload));
    offs.push(ctx.live.on('open', ({ reconnected }) => reconnected && load()));
    load();
    return () => {
      s.disposed = true;
      offs.forEach((off) => off());
    };
  },
};
