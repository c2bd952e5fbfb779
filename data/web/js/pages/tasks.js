// pages/tasks.js — the task list (Taskwarrior's model), most urgent first.
//
// Filters are the API's (project, tag, status, sort) and live in the URL
// fragment's query so a filtered view can be bookmarked.  Changes from
// anywhere (chat, CLI, another tab) arrive as task_* events and reload
// the list.

import { get, post, del, qs } from '../api.js';
import { h, icon, field, formStatus, chip, emptyState, loading, errorBox, openDialog, confirmDialog, formatRelative, formatDateTime, toLocalInput, debounce, toDate } from '../dom.js';

const PRIORITY = { H: 'High', M: 'Medium', L: 'Low' };

function parseTags(text) {
  return text.split(/[\s,]+/).map((t) => t.replace(/^#/, '')).filter(Boolean);
}

function dueClass(due) {
  const d = toDate(due);
  if (!d) return '';
  const left = d.getTime() - Date.now();
  if (left < 0) return 'due-over';
  if (left < 86400000) return 'due-soon';
  return '';
}

// Fields shared by the add form and the edit dialog.
function taskFields(t = {}) {
  const f = {
    description: h('input', { name: 'description', required: true, maxlength: 1000, value: t.description || '', autocomplete: 'off' }),
    project: h('input', { name: 'project', value: t.project || '', list: 'task-projects', autocomplete: 'off', placeholder: 'home' }),
    tags: h('input', { name: 'tags', value: (t.tags || []).join(' '), autocomplete: 'off', placeholder: 'shop errand' }),
    priority: h('select', { name: 'priority' },
      h('option', { value: '', text: 'None' }),
      ...['H', 'M', 'L'].map((p) => h('option', { value: p, text: PRIORITY[p], selected: t.priority === p }))),
    due: h('input', { name: 'due', type: 'datetime-local', value: t.due ? toLocalInput(new Date(t.due)) : '' }),
  };
  return f;
}

function fieldsBody(f, { clear = false } = {}) {
  const body = {
    description: f.description.value.trim(),
    project: f.project.value.trim() || (clear ? null : undefined),
    tags: parseTags(f.tags.value),
    priority: f.priority.value || (clear ? null : undefined),
    due: f.due.value ? new Date(f.due.value).getTime() : clear ? null : undefined,
  };
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  return body;
}

export default {
  id: 'tasks',
  title: 'Tasks',
  icon: 'tasks',

  mount(main, ctx) {
    const params = new URLSearchParams(location.hash.split('?')[1] || '');
    const s = { status: params.get('status') || 'pending', project: params.get('project') || '', tag: params.get('tag') || '', sort: params.get('sort') || 'urgency', tasks: [], disposed: false, seq: 0 };

    // ---- add form ----
    const f = taskFields();
    f.description.placeholder = 'What needs doing?';
    const addStatus = formStatus();
    const addForm = h('form', { class: 'card add-form', 'aria-label': 'Add a task', novalidate: true },
      h('div', { class: 'form-grid form-grid-task' },
        field('Task', f.description), field('Project', f.project), field('Tags', f.tags),
        field('Priority', f.priority), field('Due', f.due)),
      h('div', { class: 'form-actions' }, addStatus, h('button', { class: 'btn btn-primary', type: 'submit' }, icon('plus'), 'Add task')));
    addForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = fieldsBody(f);
      if (!body.description) {
        addStatus.set('Describe the task first.');
        f.description.focus();
        return;
      }
      try {
        await post('/api/v1/tasks', body);
        addForm.reset();
        addStatus.set('Task added.', 'ok');
        f.description.focus();
        load();
      } catch (e) {
        addStatus.set(e.message);
      }
    });

    // ---- filters ----
    const statusSel = h('select', { name: 'status' }, ...[['pending', 'Pending'], ['waiting', 'Waiting'], ['completed', 'Completed'], ['all', 'All']].map(([v, t]) => h('option', { value: v, text: t, selected: s.status === v })));
    const projectIn = h('input', { name: 'project', value: s.project, list: 'task-projects', placeholder: 'Any', autocomplete: 'off' });
    const tagIn = h('input', { name: 'tag', value: s.tag, placeholder: 'Any', autocomplete: 'off' });
    const sortSel = h('select', { name: 'sort' }, h('option', { value: 'urgency', text: 'Urgency', selected: s.sort === 'urgency' }), h('option', { value: 'id', text: 'Oldest first', selected: s.sort === 'id' }));
    const projects = h('datalist', { id: 'task-projects' });
    const filters = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter tasks' },
      field('Status', statusSel), field('Project', projectIn), field('Tag', tagIn), field('Sort by', sortSel), projects);
    filters.addEventListener('submit', (ev) => ev.preventDefault());
    const onFilter = () => {
      s.status = statusSel.value;
      s.project = projectIn.value.trim();
      s.tag = tagIn.value.trim().replace(/^#/, '');
      s.sort = sortSel.value;
      const q = qs({ status: s.status !== 'pending' ? s.status : '', project: s.project, tag: s.tag, sort: s.sort !== 'urgency' ? s.sort : '' });
      history.replaceState(null, '', `#/tasks${q}`);
      load();
    };
    statusSel.addEventListener('change', onFilter);
    sortSel.addEventListener('change', onFilter);
    const typed = debounce(onFilter, 300);
    projectIn.addEventListener('input', typed);
    tagIn.addEventListener('input', typed);

    const list = h('div', { class: 'list', 'aria-live': 'polite' });
    const count = h('p', { class: 'list-count', role: 'status' });
    main.append(h('div', { class: 'page-head' }, h('h1', { text: 'Tasks' }), count), addForm, filters, list);

    // ---- list ----
    function row(t) {
      const done = t.status === 'completed';
      const box = h('input', { type: 'checkbox', class: 'check', checked: done, disabled: t.status === 'deleted', 'aria-label': done ? `Completed: ${t.description}` : `Complete “${t.description}”` });
      box.addEventListener('change', async () => {
        box.disabled = true;
        try {
          if (box.checked) await post(`/api/v1/tasks/${t.id}/done`);
          else await post(`/api/v1/tasks/${t.id}`, { status: 'pending' });
          load();
        } catch (e) {
          box.checked = !box.checked;
          box.disabled = false;
          count.textContent = e.message;
        }
      });
      const meta = h('div', { class: 'task-meta' },
        t.project ? chip(t.project, { class: 'chip-project', title: 'Project' }) : null,
        ...(t.tags || []).map((tag) => chip('#' + tag, { class: 'chip-tag' })),
        t.priority ? chip(PRIORITY[t.priority], { class: `chip-pri pri-${t.priority}` }) : null,
        t.due ? h('span', { class: ['due', !done && dueClass(t.due)], title: formatDateTime(t.due) }, icon('clock'), formatRelative(t.due)) : null,
        t.active ? chip('active', { class: 'chip-active' }) : null,
        t.blocked ? chip('blocked', { class: 'chip-blocked' }) : null);
      return h('li', { class: ['task', done && 'done'], dataset: { id: String(t.id) } },
        box,
        h('div', { class: 'task-main' }, h('p', { class: 'task-desc', text: t.description }), meta),
        t.status === 'pending' || t.status === 'waiting' ? h('span', { class: 'urgency', title: 'Urgency (Taskwarrior)', text: t.urgency.toFixed(1) }) : null,
        h('button', { class: 'btn-icon', type: 'button', 'aria-label': `Edit “${t.description}”`, title: 'Edit', onclick: () => edit(t) }, icon('pencil')));
    }

    async function load() {
      const seq = ++s.seq;
      if (!s.tasks.length) list.replaceChildren(loading('Loading tasks…'));
      try {
        const r = await get(`/api/v1/tasks${qs({ status: s.status, project: s.project, tag: s.tag, sort: s.sort, limit: 1000 })}`);
        if (s.disposed || seq !== s.seq) return;
        s.tasks = r.tasks;
        const names = new Set(r.tasks.map((t) => t.project).filter(Boolean));
        projects.replaceChildren(...[...names].sort().map((p) => h('option', { value: p })));
        count.textContent = `${r.tasks.length} ${r.tasks.length === 1 ? 'task' : 'tasks'}`;
        if (!r.tasks.length) {
          const filtered = s.project || s.tag;
          list.replaceChildren(emptyState('tasks', filtered ? 'No tasks match these filters' : s.status === 'pending' ? 'Nothing to do' : 'No tasks here',
            filtered ? 'Clear the project or tag to see more.' : 'Add a task above, or tell lares in chat: “add buy milk to my list”.'));
          return;
        }
        list.replaceChildren(h('ul', { class: 'task-list', 'aria-label': 'Tasks' }, r.tasks.map(row)));
      } catch (e) {
        if (!s.disposed) list.replaceChildren(errorBox(e, load));
      }
    }

    function edit(t) {
      const ef = taskFields(t);
      const st = formStatus();
      openDialog('Edit task', (close) => {
        const form = h('form', { class: 'dialog-body', novalidate: true },
          field('Task', ef.description), field('Project', ef.project), field('Tags', ef.tags, 'Separated by spaces'),
          h('div', { class: 'form-row' }, field('Priority', ef.priority), field('Due', ef.due)),
          st,
          h('div', { class: 'dialog-actions' },
            h('button', { class: 'btn btn-danger btn-left', type: 'button', text: 'Delete', onclick: async () => {
              if (!(await confirmDialog('Delete task', `Delete “${t.description}”?`))) return;
              try {
                await del(`/api/v1/tasks/${t.id}`);
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
          const body = fieldsBody(ef, { clear: true });
          if (!body.description) {
            st.set('The task needs a description.');
            return;
          }
          try {
            await post(`/api/v1/tasks/${t.id}`, body);
            close();
            load();
          } catch (e) {
            st.set(e.message);
          }
        });
        return form;
      });
    }

    const reload = debounce(load, 150);
    const offs = ['task_created', 'task_updated', 'task_deleted'].map((type) => ctx.live.on(type, reload));
    offs.push(ctx.live.on('open', ({ reconnected }) => reconnected && load()));
    load();
    return () => {
      s.disposed = true;
      offs.forEach((off) => off());
    };
  },
};
