// app.js — the dashboard's shell: session, navigation, theme, routing.
//
// Routes are URL fragments (#/chat/12, #/tasks), so the daemon serves one
// document at "/" and every page is a module here.  A page module exports
// {id, title, icon, mount(el, ctx)} where mount returns a cleanup function
// (listeners on the live connection, timers).  Pages whose backend is not
// part of this daemon yet would be listed in HIDDEN: not in the navigation
// and not routable.  The navigation carries the number of approvals that
// wait for the owner, kept current from /ws.

import { api, get, post } from './api.js';
import { h, icon, field, formStatus, debounce } from './dom.js';
import { live } from './live.js';
import { startNotifications } from './notify.js';
import { applyTheme } from './theme.js';
import chat from './pages/chat.js';
import tasks from './pages/tasks.js';
import reminders from './pages/reminders.js';
import notes from './pages/notes.js';
import costs from './pages/costs.js';
import activity from './pages/activity.js';
import settings from './pages/settings.js';
import approvals from './pages/approvals.js';
import calendar from './pages/calendar.js';

const PAGES = [chat, tasks, reminders, calendar, notes, approvals, costs, activity, settings];
// Pages whose backend is still to come (none today).
const HIDDEN = new Set();

const state = { user: null, page: null, cleanup: null, shell: null, reauth: null, pending: 0, offs: [] };

// ---- login -----------------------------------------------------------------

function loginForm(onDone, { expired = false } = {}) {
  const user = h('input', { name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const status = formStatus();
  const submit = h('button', { class: 'btn btn-primary btn-block', type: 'submit', text: 'Log in' });
  if (expired && state.user) user.value = state.user.name;
  const form = h('form', {
    class: 'login-form',
    novalidate: true,
    onsubmit: async (ev) => {
      ev.preventDefault();
      if (!user.value.trim() || !pass.value) {
        status.set('Enter your user name and password.');
        (user.value.trim() ? pass : user).focus();
        return;
      }
      submit.disabled = true;
      submit.textContent = 'Logging in…';
      status.set('');
      try {
        const me = await api('POST', '/api/v1/auth/login', { username: user.value.trim(), password: pass.value });
        pass.value = '';
        onDone(me);
      } catch (e) {
        status.set(e.code === 'locked_out' ? e.message : e.status === 401 ? 'Wrong user name or password.' : e.message);
        pass.select();
        pass.focus();
      } finally {
        submit.disabled = false;
        submit.textContent = 'Log in';
      }
    },
  },
  expired ? h('p', { class: 'login-note', text: 'Your session has ended. Log in again to carry on where you were.' }) : null,
  field('User name', user), field('Password', pass), status, submit);
  setTimeout(() => (expired && user.value ? pass : user).focus());
  return form;
}

function showLogin() {
  stopShell();
  const app = document.getElementById('app');
  app.setAttribute('aria-busy', 'false');
  app.className = 'app app-login';
  app.replaceChildren(
    h('main', { id: 'main', class: 'login' },
      h('div', { class: 'login-card' },
        h('div', { class: 'brand brand-large' }, h('img', { src: document.querySelector('link[rel=icon]').href, alt: '', width: 40, height: 40 }), h('span', { text: 'lares' })),
        h('h1', { class: 'login-title', text: 'Log in' }),
        h('p', { class: 'login-sub', text: 'Your assistant, on your own machine.' }),
        loginForm((me) => {
          state.user = me;
          startShell();
        }))));
  document.title = 'Log in · lares';
}

// The session ended while a page was open: ask again in a dialog and keep
// the page as it is.
function reauthenticate() {
  if (state.reauth || !state.shell) return;
  live.stop();
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'reauth-title' });
  dialog.addEventListener('cancel', (ev) => ev.preventDefault());
  dialog.append(h('div', { class: 'dialog-head' }, h('h2', { id: 'reauth-title', text: 'Session ended' })),
    h('div', { class: 'dialog-body' }, loginForm((me) => {
      const changed = !state.user || me.id !== state.user.id;
      state.user = me;
      dialog.close();
      dialog.remove();
      state.reauth = null;
      if (changed) startShell();
      else {
        live.start();
        route();
      }
    }, { expired: true })));
  document.body.appendChild(dialog);
  state.reauth = dialog;
  dialog.showModal();
}

// ---- shell -----------------------------------------------------------------

function visiblePages() {
  return PAGES.filter((p) => !HIDDEN.has(p.id) && (!p.adminOnly || state.user.role === 'admin'));
}

function stopShell() {
  if (state.cleanup) state.cleanup();
  state.cleanup = null;
  state.page = null;
  state.shell = null;
  for (const off of state.offs.splice(0)) off();
  live.stop();
}

// ---- the approvals badge -------------------------------------------------------

function showPending(n) {
  state.pending = n;
  if (!state.shell) return;
  const { badge, menuBtn } = state.shell;
  badge.hidden = n === 0;
  badge.firstChild.textContent = n > 99 ? '99+' : String(n);
  badge.lastChild.textContent = ` ${n} waiting`;
  menuBtn.classList.toggle('has-badge', n > 0);
  menuBtn.setAttribute('aria-label', n ? `Menu (${n} ${n === 1 ? 'approval' : 'approvals'} waiting)` : 'Menu');
}

async function countPending() {
  if (!state.shell) return;
  try {
    const r = await get('/api/v1/approvals?status=pending&limit=500');
    showPending(r.approvals.length);
  } catch {
    // Offline or logged out: the next event or reconnect counts again.
  }
}

function connectionBanner() {
  const el = h('div', { class: 'conn', role: 'status', 'aria-live': 'polite', hidden: true });
  live.on('state', (s) => {
    if (s === 'reconnecting') {
      el.hidden = false;
      el.textContent = 'Connection lost — reconnecting…';
      el.className = 'conn conn-down';
    } else if (s === 'open' && !el.hidden) {
      el.textContent = 'Connected again.';
      el.className = 'conn conn-up';
      setTimeout(() => {
        if (live.state === 'open') el.hidden = true;
      }, 2500);
    }
  });
  return el;
}

function startShell() {
  stopShell();
  const app = document.getElementById('app');
  app.className = 'app';
  const navList = h('ul', { class: 'nav-list' });
  const badge = h('span', { class: 'nav-badge', hidden: true }, h('span', { 'aria-hidden': 'true' }), h('span', { class: 'sr-only' }));
  for (const p of visiblePages()) {
    navList.append(h('li', null, h('a', { href: `#/${p.id}`, class: 'nav-link', dataset: { page: p.id } }, icon(p.icon), h('span', { text: p.title }),
      p.id === 'approvals' ? badge : null)));
  }
  const nav = h('nav', { class: 'sidebar', id: 'sidebar', 'aria-label': 'Main' },
    h('div', { class: 'brand' }, h('img', { src: document.querySelector('link[rel=icon]').href, alt: '', width: 28, height: 28 }), h('span', { text: 'lares' })),
    navList,
    h('div', { class: 'sidebar-foot' },
      h('span', { class: 'whoami' }, icon('user'), h('span', { text: state.user.name }), state.user.role === 'admin' ? h('span', { class: 'badge', text: 'admin' }) : null),
      h('button', { class: 'btn-icon', type: 'button', 'aria-label': 'Log out', title: 'Log out', onclick: logout }, icon('logout'))));
  const menuBtn = h('button', { class: 'btn-icon menu-btn', type: 'button', 'aria-label': 'Menu', 'aria-controls': 'sidebar', 'aria-expanded': 'false' }, icon('menu'));
  const title = h('span', { class: 'topbar-title' });
  const topbar = h('header', { class: 'topbar' }, menuBtn, title);
  const main = h('main', { id: 'main', class: 'main', tabindex: '-1' });
  const scrim = h('div', { class: 'scrim', hidden: true });
  const setMenu = (open) => {
    app.classList.toggle('nav-open', open);
    menuBtn.setAttribute('aria-expanded', String(open));
    scrim.hidden = !open;
  };
  menuBtn.addEventListener('click', () => setMenu(!app.classList.contains('nav-open')));
  scrim.addEventListener('click', () => setMenu(false));
  nav.addEventListener('click', (ev) => {
    if (ev.target.closest('a')) setMenu(false);
  });
  nav.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') setMenu(false);
  });
  app.replaceChildren(topbar, nav, scrim, h('div', { class: 'content' }, connectionBanner(), main));
  app.setAttribute('aria-busy', 'false');
  state.shell = { main, title, nav, badge, menuBtn };
  const recount = debounce(countPending, 100);
  state.offs.push(live.on('approval_required', recount),
    live.on('notification', (m) => m.kind === 'approval' && recount()),
    live.on('open', recount));
  live.start();
  route();
}

async function logout() {
  try {
    await post('/api/v1/auth/logout');
  } catch {
    // Already gone: the login form is what is wanted anyway.
  }
  state.user = null;
  location.hash = '';
  showLogin();
}

// ---- routing -----------------------------------------------------------------

function route() {
  if (!state.shell) return;
  const parts = location.hash.replace(/^#\/?/, '').split('?')[0].split('/').filter(Boolean);
  const pages = visiblePages();
  const page = pages.find((p) => p.id === parts[0]) || pages[0];
  if (!parts.length || page.id !== parts[0]) {
    history.replaceState(null, '', `#/${page.id}`);
  }
  const same = state.page === page;
  const first = state.page === null;
  if (same && page.update && page.update(parts.slice(1))) return;
  if (state.cleanup) state.cleanup();
  state.cleanup = null;
  state.page = page;
  const { main, title, nav } = state.shell;
  main.replaceChildren();
  main.className = `main page-${page.id}`;
  title.textContent = page.title;
  document.title = `${page.title} · lares`;
  for (const a of nav.querySelectorAll('.nav-link')) {
    if (a.dataset.page === page.id) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const ctx = { user: state.user, args: parts.slice(1), live };
  state.cleanup = page.mount(main, ctx) || null;
  // After a navigation, a screen reader starts at the new page; on the
  // first load the document's own start (the skip link) comes first.
  if (!same && !first) main.focus({ preventScroll: true });
}

// ---- boot --------------------------------------------------------------------

async function boot() {
  applyTheme();
  startNotifications();
  window.addEventListener('hashchange', route);
  window.addEventListener('lares:unauthorized', () => {
    if (state.shell) reauthenticate();
  });
  try {
    const s = await get('/api/v1/auth/session');
    state.user = s.user;
  } catch (e) {
    const app = document.getElementById('app');
    app.setAttribute('aria-busy', 'false');
    app.replaceChildren(h('main', { id: 'main', class: 'login' }, h('div', { class: 'login-card' },
      h('h1', { class: 'login-title', text: 'lares is not answering' }), h('p', { text: e.message }),
      h('button', { class: 'btn btn-primary', type: 'button', text: 'Try again', onclick: () => location.reload() }))));
    return;
  }
  if (state.user) startShell();
  else showLogin();
}

boot();
