// pages/settings.js — appearance, notifications, persona mode, the LLM,
// the account, API tokens, the calendar's subscription link and (for
// admins) users.

import { get, post, del, api } from '../api.js';
import { h, icon, field, formStatus, loading, errorBox, confirmDialog, formatRelative, formatDateTime } from '../dom.js';
import { setTheme } from '../theme.js';
import { askNotificationPermission, notificationPermission, chime, unlockAudio } from '../notify.js';
import { feedPanel } from './calendar.js';

function section(id, title, sub, ...body) {
  return h('section', { class: 'card settings-section', 'aria-labelledby': id },
    h('h2', { id, text: title }), sub ? h('p', { class: 'section-sub', text: sub }) : null, ...body);
}

function kv(rows) {
  return h('dl', { class: 'kv' }, rows.filter(Boolean).map(([k, v]) => h('div', null, h('dt', { text: k }), h('dd', null, v))));
}

export default {
  id: 'settings',
  title: 'Settings',
  icon: 'gear',

  mount(main, ctx) {
    let disposed = false;
    const admin = ctx.user.role === 'admin';
    main.append(h('div', { class: 'page-head' }, h('h1', { text: 'Settings' })));
    const grid = h('div', { class: 'settings' });
    main.append(grid);

    // ---- appearance ----
    const current = localStorage.getItem('lares.theme') || 'system';
    const themes = h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': 'Theme' },
      [['system', 'System'], ['light', 'Light'], ['dark', 'Dark']].map(([v, t]) => h('button', {
        type: 'button', class: 'seg', role: 'radio', 'aria-checked': String(current === v), text: t, dataset: { theme: v },
        onclick: (ev) => {
          setTheme(v);
          for (const b of themes.children) b.setAttribute('aria-checked', String(b === ev.currentTarget));
        },
      })));
    grid.append(section('s-look', 'Appearance', 'Light, dark, or whatever your system uses.', themes));

    // ---- notifications ----
    const perm = h('p', { class: 'hint', role: 'status' });
    const showPerm = () => {
      const p = notificationPermission();
      perm.textContent = { granted: 'System notifications are on for this browser.', denied: 'This browser blocks notifications from lares; allow them in the site settings.', default: 'Reminders show inside the page. Allow system notifications to see them in other tabs and apps too.', unsupported: 'This browser has no system notifications; reminders show inside the page.' }[p];
      enable.hidden = p !== 'default';
    };
    const enable = h('button', { class: 'btn btn-primary', type: 'button', text: 'Allow notifications', onclick: async () => {
      await askNotificationPermission();
      showPerm();
    } });
    const test = h('button', { class: 'btn', type: 'button', text: 'Play the chime', onclick: () => {
      unlockAudio();
      chime();
    } });
    grid.append(section('s-notify', 'Notifications', null, perm, h('div', { class: 'button-row' }, enable, test)));
    showPerm();

    // ---- persona and LLM (from GET /api/v1/settings) ----
    const persona = h('div', null, loading());
    const llm = h('div', null, loading());
    grid.append(section('s-persona', 'Persona', 'Who answers, and how.', persona), section('s-llm', 'Language model', 'Without one, lares answers with its built-in intent engine.', llm));

    async function loadSettings() {
      try {
        const st = await get('/api/v1/settings');
        if (disposed) return;
        const modeSel = h('select', { name: 'mode' }, h('option', { value: '', text: 'Default' }),
          st.persona.modes.map((m) => h('option', { value: m, text: m[0].toUpperCase() + m.slice(1), selected: st.persona.mode === m })));
        const modeStatus = formStatus();
        modeSel.addEventListener('change', async () => {
          try {
            const r = await post('/api/v1/settings/mode', { mode: modeSel.value || null });
            modeStatus.set(r.mode ? `Replies are now ${r.mode}.` : 'Back to the default mode.', 'ok');
          } catch (e) {
            modeStatus.set(e.message);
          }
        });
        persona.replaceChildren(kv([['Name', st.persona.name], st.persona.emotions.length ? ['Emotions', st.persona.emotions.join(', ')] : null]),
          st.persona.modes.length ? field('Mode', modeSel, 'Also in chat: /mode concise') : null, modeStatus);

        const result = h('p', { class: 'form-status', role: 'status', 'aria-live': 'polite' });
        const testBtn = h('button', { class: 'btn', type: 'button', text: 'Test connection', disabled: !st.llm.configured || !admin });
        testBtn.addEventListener('click', async () => {
          testBtn.disabled = true;
          result.className = 'form-status';
          result.textContent = 'Testing…';
          try {
            const r = await post('/api/v1/llm/test');
            result.className = `form-status ${r.ok ? 'ok' : 'error'}`;
            result.textContent = r.ok ? `Connected: the server answered in ${r.ms} ms.` : `Not reachable: ${r.error}`;
          } catch (e) {
            result.className = 'form-status error';
            result.textContent = e.message;
          } finally {
            testBtn.disabled = false;
          }
        });
        llm.replaceChildren(kv([
          ['Provider', st.llm.configured ? st.llm.provider : 'none (intent engine only)'],
          st.llm.model ? ['Model', st.llm.model] : null,
          st.llm.base_url ? ['Server', h('code', { text: st.llm.base_url })] : null,
          st.llm.configured ? ['Tool calls', st.llm.tools] : null,
          st.llm.configured ? ['API key', st.llm.api_key_set ? 'set' : 'not set'] : null,
          ['Daily budget', st.budget.daily_usd ? `$${st.budget.daily_usd}` : 'none'],
          ['Monthly budget', st.budget.monthly_usd ? `$${st.budget.monthly_usd}` : 'none'],
          ['Version', st.version]]),
        h('div', { class: 'button-row' }, testBtn), result,
        h('p', { class: 'hint', text: admin ? 'Change these in lares.conf (llm.provider, llm.base_url, llm.model) and restart.' : 'An admin configures the model.' }));
      } catch (e) {
        if (!disposed) {
          persona.replaceChildren(errorBox(e, loadSettings));
          llm.replaceChildren();
        }
      }
    }

    // ---- account ----
    const cur = h('input', { type: 'password', autocomplete: 'current-password', name: 'current' });
    const next = h('input', { type: 'password', autocomplete: 'new-password', name: 'new', minlength: 8 });
    const pwStatus = formStatus();
    const pwForm = h('form', { class: 'stack', novalidate: true, 'aria-label': 'Change password' }, field('Current password', cur), field('New password', next, 'At least 8 characters. Other sessions are logged out.'), pwStatus,
      h('div', { class: 'button-row' }, h('button', { class: 'btn', type: 'submit', text: 'Change password' })));
    pwForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!cur.value || next.value.length < 8) {
        pwStatus.set(!cur.value ? 'Enter your current password.' : 'The new password needs at least 8 characters.');
        return;
      }
      try {
        await post('/api/v1/auth/password', { current_password: cur.value, new_password: next.value });
        pwForm.reset();
        pwStatus.set('Password changed.', 'ok');
      } catch (e) {
        pwStatus.set(e.message);
      }
    });
    grid.append(section('s-account', 'Account', null, kv([['User', ctx.user.name], ['Role', ctx.user.role]]), pwForm));

    // ---- tokens ----
    const tokList = h('div', null, loading());
    const tName = h('input', { name: 'name', maxlength: 64, placeholder: 'laptop CLI', autocomplete: 'off' });
    const tDays = h('select', { name: 'expires' }, [['', 'Never'], ['30', '30 days'], ['90', '90 days'], ['365', 'A year']].map(([v, t]) => h('option', { value: v, text: t })));
    const tStatus = formStatus();
    const secret = h('div', { class: 'secret', hidden: true });
    const tForm = h('form', { class: 'inline-form', novalidate: true, 'aria-label': 'Create a token' }, field('Name', tName), field('Expires', tDays),
      h('button', { class: 'btn btn-primary', type: 'submit' }, icon('plus'), 'Create token'));
    tForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!tName.value.trim()) {
        tStatus.set('Give the token a name, e.g. where it will be used.');
        return;
      }
      try {
        const b = { name: tName.value.trim() };
        if (tDays.value) b.expires_in_days = Number(tDays.value);
        const r = await post('/api/v1/tokens', b);
        tForm.reset();
        tStatus.set('');
        const code = h('code', { class: 'secret-value', text: r.token });
        secret.replaceChildren(h('p', null, h('strong', { text: `Token “${r.name}” — ` }), 'copy it now; it is not shown again.'), code,
          h('button', { class: 'btn btn-small', type: 'button', text: 'Copy', onclick: async (e2) => {
            try {
              await navigator.clipboard.writeText(r.token);
              e2.target.textContent = 'Copied';
            } catch {
              getSelection().selectAllChildren(code);
            }
          } }));
        secret.hidden = false;
        loadTokens();
      } catch (e) {
        tStatus.set(e.message);
      }
    });
    grid.append(section('s-tokens', 'API tokens', 'For the command line (LARES_TOKEN), scripts and OpenAI clients.', tForm, tStatus, secret, tokList));

    // ---- calendar subscription ----
    grid.append(section('s-feed', 'Calendar subscription', null, feedPanel()));

    async function loadTokens() {
      try {
        const r = await get('/api/v1/tokens');
        if (disposed) return;
        const live = r.tokens.filter((t) => !t.revoked_at);
        tokList.replaceChildren(live.length ? h('ul', { class: 'rows' }, live.map((t) => h('li', { class: 'row' },
          icon('key'), h('div', { class: 'row-main' }, h('p', { class: 'row-title', text: t.name }),
            h('p', { class: 'hint', text: [`created ${formatRelative(t.created_at)}`, t.last_used_at ? `used ${formatRelative(t.last_used_at)}` : 'never used', t.expires_at ? `expires ${formatDateTime(t.expires_at)}` : null].filter(Boolean).join(' · ') })),
          h('button', { class: 'btn btn-small btn-danger', type: 'button', text: 'Revoke', 'aria-label': `Revoke “${t.name}”`, onclick: async () => {
            if (!(await confirmDialog('Revoke token', `Programs using “${t.name}” will stop working.`, 'Revoke'))) return;
            try {
              await del(`/api/v1/tokens/${t.id}`);
              loadTokens();
            } catch (e) {
              tStatus.set(e.message);
            }
          } })))) : h('p', { class: 'hint', text: 'No tokens yet.' }));
      } catch (e) {
        if (!disposed) tokList.replaceChildren(errorBox(e, loadTokens));
      }
    }

    // ---- users (admins) ----
    const userList = h('div', null, loading());
    async function loadUsers() {
      try {
        const r = await get('/api/v1/users');
        if (disposed) return;
        userList.replaceChildren(h('ul', { class: 'rows' }, r.users.map((u) => h('li', { class: 'row' },
          icon('user'), h('div', { class: 'row-main' }, h('p', { class: 'row-title' }, u.name, u.role === 'admin' ? h('span', { class: 'badge', text: 'admin' }) : null),
            h('p', { class: 'hint', text: `since ${formatDateTime(u.created_at)}` })),
          u.id === ctx.user.id ? h('span', { class: 'hint', text: 'you' }) : h('button', { class: 'btn btn-small btn-danger', type: 'button', text: 'Delete', 'aria-label': `Delete user ${u.name}`, onclick: async () => {
            if (!(await confirmDialog('Delete user', `Delete ${u.name} and everything they stored?`))) return;
            try {
              await del(`/api/v1/users/${u.id}`);
              loadUsers();
            } catch (e) {
              uStatus.set(e.message);
            }
          } })))));
      } catch (e) {
        if (!disposed) userList.replaceChildren(errorBox(e, loadUsers));
      }
    }
    const uName = h('input', { name: 'name', maxlength: 64, autocomplete: 'off', placeholder: 'alice' });
    const uPass = h('input', { name: 'password', type: 'password', autocomplete: 'new-password' });
    const uRole = h('select', { name: 'role' }, h('option', { value: 'user', text: 'User' }), h('option', { value: 'admin', text: 'Admin' }));
    const uStatus = formStatus();
    const uForm = h('form', { class: 'inline-form', novalidate: true, 'aria-label': 'Add a user' }, field('Name', uName), field('Password', uPass), field('Role', uRole),
      h('button', { class: 'btn btn-primary', type: 'submit' }, icon('plus'), 'Add user'));
    uForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(uName.value.trim())) {
        uStatus.set('A user name is 1 to 64 letters, digits, “.”, “_” or “-”.');
        return;
      }
      if (uPass.value.length < 8) {
        uStatus.set('The password needs at least 8 characters.');
        return;
      }
      try {
        await api('POST', '/api/v1/users', { name: uName.value.trim(), password: uPass.value, role: uRole.value });
        uForm.reset();
        uStatus.set('User added.', 'ok');
        loadUsers();
      } catch (e) {
        uStatus.set(e.message);
      }
    });
    if (admin) grid.append(section('s-users', 'Users', 'Everyone in the household has their own tasks, notes and reminders.', uForm, uStatus, userList));

    loadSettings();
    loadTokens();
    if (admin) loadUsers();
    return () => {
      disposed = true;
    };
  },
};
