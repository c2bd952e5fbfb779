// e2e.test.mjs — the dashboard in Debian's Chromium against a real daemon.
//
// One `lares serve` (fresh data directory) talks to tests/fake-llm, whose
// script below answers the chat turns in order: a streamed reply with an
// emotion tag, a tool call and its follow-up, a long reply to stop, a
// slow reply to survive a dropped WebSocket, and two bulk deletes that wait
// for the owner's approval (one approved, one rejected).  Each test drives the UI as a
// person would (labels and roles, the keyboard where it matters) and waits
// for events with deadlines, never for fixed times.  Screenshots of every
// page at desktop and phone width go to $LARES_WEB_SCREENSHOTS, and every
// page is watched for console errors.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startFakeLlm, startDaemon, launchChromium, newContext } from './harness.mjs';
import { addDays, weekdayOf, WEEKDAYS } from '../../data/web/js/recur.js';

const SHOTS = process.env.LARES_WEB_SCREENSHOTS || join(tmpdir(), 'lares-web-screenshots');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const SCRIPT = `
# 1: streamed, with an emotion tag, Markdown and hostile HTML
delay 120
token [happy] Once
token \\supon a time
token \\sthere was **a lighthouse**
token \\sand <img src=x onerror="document.title='pwned'">
token \\s[a link](javascript:alert(1)).
usage 40 12
---
# 2: a tool call, then 3: the answer built on it
call 0 time_now
args 0 {}
---
token The clock agrees: it is time.
---
# 4: long and slow, to be stopped
delay 400
token Roses
token \\sare
token \\sred,
token \\sviolets
token \\sare
token \\sblue,
token \\sthis
token \\spoem
token \\sis
token \\sfar
token \\stoo
token \\slong.
---
# 5: slow, to survive a dropped WebSocket
delay 300
token alpha
token \\sbeta
token \\sgamma
token \\sdelta
token \\sepsilon
token \\szeta
token \\seta
token \\stheta
---
# 6: a reply worth a screenshot
delay 40
token [happy] Here is a light list for **two days** on the trail:
token \\n\\n- Water: *2 litres* and a filter
token \\n- Layers: a fleece and a rain shell
token \\n- Food: oats, nuts, and one treat
token \\n\\nI added the tasks to your \`hike\` project.
usage 120 48
---
# 7: a bulk delete, which waits for the owner's approval
call 0 task_delete_many
args 0 {"project":"groceries"}
---
# 8: another, to be rejected
call 0 task_delete_many
args 0 {"project":"garden"}
`;

let fake;
let daemon;
let browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  fake = await startFakeLlm(SCRIPT);
  daemon = await startDaemon(['llm.provider=openai', `llm.base_url=${fake.url}`, 'llm.model=fake', 'llm.prices=fake=150/600', 'budget.daily=5']);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await daemon?.stop();
  await fake?.stop();
});

async function login(page, password = daemon.password) {
  await page.goto('/');
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('textbox', { name: 'Message' }).waitFor();
}

async function loggedIn(opts = {}) {
  const { context, errors } = await newContext(browser, daemon.base, opts);
  const page = await context.newPage();
  await login(page);
  return { context, page, errors };
}

async function send(page, text) {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}

const lastTurn = (page) => page.locator('.msg-assistant').last();

// The JSON API from inside the page, with its session cookie.
function apiCall(page, method, path, body) {
  return page.evaluate(async ([m, p, b]) => {
    const r = await fetch(p, { method: m, headers: b ? { 'Content-Type': 'application/json' } : {}, body: b ? JSON.stringify(b) : undefined });
    return { status: r.status, body: await r.json() };
  }, [method, path, body]);
}

async function pendingTasks(page, project) {
  const r = await apiCall(page, 'GET', `/api/v1/tasks?status=pending&project=${project}`);
  return r.body.tasks.map((t) => t.description).sort();
}

test('static files: CSP, caching, versioned assets', async () => {
  const res = await fetch(daemon.base + '/');
  assert.equal(res.status, 200);
  const html = await res.text();
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self';/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(res.headers.get('cache-control'), 'no-cache');
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  const etag = res.headers.get('etag');
  assert.ok(etag);
  assert.doesNotMatch(html, /<script>|style=/, 'no inline script or style');
  const again = await fetch(daemon.base + '/', { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  const css = /href="(\/static\/[0-9a-f]{16}\/app\.css)"/.exec(html)[1];
  const asset = await fetch(daemon.base + css);
  assert.equal(asset.status, 200);
  assert.match(asset.headers.get('content-type'), /^text\/css/);
  assert.match(asset.headers.get('cache-control'), /immutable/);
  const stale = await fetch(daemon.base + '/static/0123456789abcdef/app.css');
  assert.equal(stale.status, 404);
  const traversal = (await fetch(daemon.base + css.replace('app.css', '..%2f..%2fhealthz'))).status;
  assert.ok(traversal === 400 || traversal === 404, `traversal answered ${traversal}`);
  assert.equal((await fetch(daemon.base + css.replace('app.css', '.hidden'))).status, 404);
  assert.equal((await fetch(daemon.base + '/static/')).status, 404);
  assert.equal((await fetch(daemon.base + css, { method: 'POST' })).status, 405);
});

test('log in: a wrong password is refused clearly, the right one opens the chat', async () => {
  const { context, errors } = await newContext(browser, daemon.base);
  const page = await context.newPage();
  await page.goto('/');
  await page.screenshot({ path: join(SHOTS, 'login-desktop.png') });
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('Enter your user name and password.').waitFor();
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Wrong user name or password.' }).waitFor();
  await login(page);
  assert.equal(await page.title(), 'Chat · lares');
  // The refused login is the only console error (the browser reports the 401).
  assert.deepEqual(errors.filter((e) => !/401/.test(e)), []);
  await context.close();
});

test('chat: tokens stream in, the emotion shows, Markdown is rendered safely, timings on demand', async () => {
  const { context, page, errors } = await loggedIn();
  // Record every text the reply bubble shows, as it changes.
  await page.evaluate(() => {
    window.__seen = [];
    new MutationObserver(() => {
      const b = document.querySelector('.msg-assistant .bubble');
      if (b && b.textContent !== window.__seen.at(-1)) window.__seen.push(b.textContent);
    }).observe(document.querySelector('.thread'), { subtree: true, childList: true, characterData: true });
  });
  await send(page, 'tell me a story');
  const turn = lastTurn(page);
  await turn.and(page.locator('[data-status="done"]')).waitFor();
  const seen = await page.evaluate(() => window.__seen.filter(Boolean));
  assert.ok(seen.length >= 3, `the reply grew in steps: ${JSON.stringify(seen)}`);
  assert.ok(seen.some((t) => t.includes('Once') && !t.includes('lighthouse')), 'a partial reply was on screen');
  const bubble = turn.locator('.bubble');
  await assert.doesNotReject(bubble.getByText('a lighthouse').waitFor());
  assert.equal(await bubble.locator('strong').textContent(), 'a lighthouse');
  // Hostile model output stays text: no image, no script link, title intact.
  assert.equal(await bubble.locator('img').count(), 0);
  assert.equal(await bubble.locator('a').count(), 0);
  assert.match(await bubble.textContent(), /<img src=x onerror=/);
  assert.match(await bubble.textContent(), /\[a link\]\(javascript:alert\(1\)\)/);
  assert.equal(await page.title(), 'Chat · lares');
  await page.locator('.emotion').getByText('happy').waitFor();
  // Timings: folded until asked for.
  const timings = turn.locator('.timings');
  assert.equal(await timings.locator('dl').isVisible(), false);
  await timings.locator('summary').click();
  await timings.getByText('first token').waitFor();
  // The conversation is listed under its first message.
  await page.getByRole('link', { name: /tell me a story/ }).waitFor();
  await page.screenshot({ path: join(SHOTS, 'chat-stream-desktop.png') });
  assert.deepEqual(errors, []);
  await context.close();
});

test('chat: a tool call shows as a compact card', async () => {
  const { context, page, errors } = await loggedIn();
  await send(page, 'could you consult your instruments');
  const turn = lastTurn(page);
  await turn.and(page.locator('[data-status="done"]')).waitFor();
  const card = turn.locator('.tool-card');
  await card.filter({ hasText: 'time.now' }).waitFor();
  assert.equal(await card.getAttribute('data-status'), 'done');
  await turn.locator('.bubble').getByText('The clock agrees').waitFor();
  await card.locator('summary').click();
  await card.locator('.tool-detail').getByText('"arguments"').waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('chat: the stop button cancels the running turn', async () => {
  const { context, page, errors } = await loggedIn();
  await send(page, 'write me a very long poem');
  const turn = lastTurn(page);
  await turn.locator('.bubble').getByText('Roses').waitFor();
  const stop = page.getByRole('button', { name: 'Stop' });
  await stop.click();
  await turn.and(page.locator('[data-status="cancelled"]')).waitFor();
  await turn.getByText('Stopped').waitFor();
  assert.doesNotMatch(await turn.locator('.bubble').textContent(), /far too long/);
  await page.getByRole('button', { name: 'Send' }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('chat: a dropped WebSocket reconnects and the turn still completes', async () => {
  const { context, errors } = await newContext(browser, daemon.base);
  const page = await context.newPage();
  const sockets = [];
  await page.routeWebSocket(/\/ws$/, (ws) => {
    ws.connectToServer();
    sockets.push(ws);
  });
  await login(page);
  await send(page, 'count in greek letters');
  const turn = lastTurn(page);
  await turn.locator('.bubble').getByText('alpha').waitFor();
  assert.equal(sockets.length, 1);
  await sockets[0].close({ code: 4001, reason: 'test drop' });
  await page.getByText('Connection lost — reconnecting…').waitFor();
  await page.getByText('Connected again.').waitFor();
  assert.ok(sockets.length >= 2, 'a new connection was opened');
  await page.locator('.msg-assistant[data-status="done"]').last().getByText('alpha beta gamma delta epsilon zeta eta theta').waitFor();
  // The turn is there once, not twice.
  assert.equal(await page.locator('.msg-user').getByText('count in greek letters').count(), 1);
  assert.deepEqual(errors, []);
  await context.close();
});

test('conversations: rename and delete', async () => {
  const { context, page, errors } = await loggedIn();
  await page.getByRole('button', { name: 'Rename “tell me a story”' }).click();
  const field = page.getByRole('textbox', { name: 'New name' });
  await field.fill('Lighthouse story');
  await field.press('Enter');
  await page.getByRole('link', { name: /Lighthouse story/ }).waitFor();
  await page.getByRole('button', { name: 'Delete “Lighthouse story”' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('link', { name: /Lighthouse story/ }).waitFor({ state: 'detached' });
  assert.deepEqual(errors, []);
  await context.close();
});

test('tasks: add one, complete it', async () => {
  const { context, page, errors } = await loggedIn();
  await page.getByRole('link', { name: 'Tasks' }).click();
  await page.getByText('Nothing to do').waitFor();
  const form = page.getByRole('form', { name: 'Add a task' });
  await form.getByLabel('Task').fill('Buy milk');
  await form.getByLabel('Project').fill('home');
  await form.getByLabel('Tags').fill('shop');
  await form.getByLabel('Priority').selectOption('H');
  await form.getByRole('button', { name: 'Add task' }).click();
  const row = page.locator('li.task').filter({ hasText: 'Buy milk' });
  await row.waitFor();
  await row.getByText('home').waitFor();
  await row.getByText('#shop').waitFor();
  await row.getByText('High').waitFor();
  // Completed tasks leave the pending list at once: click, then see it go.
  await row.getByRole('checkbox', { name: 'Complete “Buy milk”' }).click();
  await row.waitFor({ state: 'detached' });
  await page.getByLabel('Status').selectOption('completed');
  const done = page.locator('li.task.done').filter({ hasText: 'Buy milk' });
  await done.waitFor();
  assert.equal(await done.getByRole('checkbox').isChecked(), true);
  assert.deepEqual(errors, []);
  await context.close();
});

test('reminders: one due in 3 s fires a notification on every open tab', async () => {
  const { context, page, errors } = await loggedIn();
  const other = await context.newPage();
  await other.goto('/#/notes');
  await other.getByRole('heading', { name: 'Notes' }).waitFor();
  await page.getByRole('link', { name: 'Reminders' }).click();
  const form = page.getByRole('form', { name: 'Add a reminder, timer or alarm' });
  await form.getByLabel('What').fill('Stretch your legs');
  const due = await page.evaluate(() => {
    const d = new Date(Date.now() + 3000);
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  });
  await form.getByLabel('When').fill(due);
  await form.getByRole('button', { name: 'Add reminder' }).click();
  await page.locator('li.job').filter({ hasText: 'Stretch your legs' }).locator('.countdown').waitFor();
  // Event-driven: the toast appears when the firing reaches the tab.
  for (const p of [page, other]) {
    await p.locator('.toast-fired').filter({ hasText: 'Reminder: Stretch your legs' }).waitFor({ timeout: 20000 });
  }
  await page.screenshot({ path: join(SHOTS, 'reminder-fired-desktop.png') });
  await page.locator('.toast-fired').getByRole('button', { name: 'Dismiss' }).click();
  await page.locator('.toast-fired').waitFor({ state: 'detached' });
  assert.deepEqual(errors, []);
  await context.close();
});

test('notes: add with a tag, search with highlighted matches', async () => {
  const { context, page, errors } = await loggedIn();
  await page.getByRole('link', { name: 'Notes' }).click();
  const form = page.getByRole('form', { name: 'Add a note' });
  await form.getByLabel('Title').fill('Wifi');
  await form.getByLabel('Note').fill('The wifi password is on the **router** label.');
  await form.getByLabel('Tags').fill('home network');
  await form.getByRole('button', { name: 'Add note' }).click();
  await page.locator('article.note').filter({ hasText: 'Wifi' }).waitFor();
  await page.getByRole('button', { name: '#network' }).first().waitFor();
  await page.getByRole('searchbox', { name: 'Search notes' }).fill('router');
  const hit = page.locator('article.hit');
  await hit.locator('mark', { hasText: 'router' }).waitFor();
  await page.getByText('1 note matches “router”').waitFor();
  await page.getByRole('searchbox', { name: 'Search notes' }).fill('zzzznothing');
  await page.getByText('Nothing found').waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('session expiry: the page asks for the password again and carries on', async () => {
  const { context, page } = await loggedIn();
  await page.getByRole('link', { name: 'Tasks' }).click();
  await page.locator('li.task, .empty').first().waitFor();
  // The session ends behind the page's back (as after the idle timeout).
  await page.evaluate(() => fetch('/api/v1/auth/logout', { method: 'POST' }));
  await page.getByLabel('Status').selectOption('all');
  const dialog = page.getByRole('dialog', { name: 'Session ended' });
  await dialog.waitFor();
  await dialog.getByLabel('Password').fill(daemon.password);
  await dialog.getByRole('button', { name: 'Log in' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByRole('heading', { name: 'Tasks' }).waitFor();
  await page.locator('li.task').filter({ hasText: 'Buy milk' }).waitFor();
  await context.close();
});

test('keyboard: skip link, navigation and sending without a mouse', async () => {
  const { context, page, errors } = await loggedIn();
  await page.goto('/#/tasks');
  await page.reload();
  await page.getByRole('heading', { name: 'Tasks' }).waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
  // Tab to the Chat link and follow it.
  for (let i = 0; i < 10; i++) {
    await page.keyboard.press('Tab');
    if ((await page.evaluate(() => document.activeElement.textContent)) === 'Chat') break;
  }
  await page.keyboard.press('Enter');
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.waitFor();
  await box.focus();
  await page.keyboard.type('what should I pack for the weekend hike?');
  await page.keyboard.press('Enter');
  await page.locator('.msg-user').getByText('what should I pack for the weekend hike?').waitFor();
  await lastTurn(page).and(page.locator('[data-status="done"]')).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('approvals: approve a high-risk action in chat and see it run', async () => {
  const { context, page, errors } = await loggedIn();
  for (const d of ['milk', 'eggs', 'bread']) await apiCall(page, 'POST', '/api/v1/tasks', { description: d, project: 'groceries' });
  await apiCall(page, 'POST', '/api/v1/tasks', { description: 'paint the hall', project: 'home' });
  await send(page, 'tidy up my shopping list');
  const turn = lastTurn(page);
  const card = turn.locator('.approval-card').filter({ hasText: 'Delete 3 pending tasks in project groceries' });
  await card.waitFor();
  const tool = turn.locator('.tool-card').filter({ hasText: 'task.delete_many' });
  await tool.locator('.tool-status').getByText('waiting for approval').waitFor();
  await turn.and(page.locator('[data-status="done"]')).waitFor();
  await turn.locator('.bubble').getByText(/This needs your approval: Delete 3 pending tasks/).waitFor();
  // The navigation counts what waits; nothing has run.
  const badge = page.getByRole('navigation', { name: 'Main' }).locator('.nav-badge');
  await badge.getByText('1', { exact: true }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Approvals 1 waiting' }).count(), 1);
  assert.deepEqual(await pendingTasks(page, 'groceries'), ['bread', 'eggs', 'milk']);
  await page.screenshot({ path: join(SHOTS, 'approval-chat-desktop.png') });

  await card.getByRole('button', { name: 'Approve' }).click();
  await card.getByText('Approved — done.', { exact: true }).waitFor();
  await card.locator('.approval-result').getByText('Deleted 3 tasks.').waitFor();
  await tool.locator('.tool-status').getByText('executed').waitFor();
  assert.equal(await tool.getAttribute('data-status'), 'executed');
  assert.equal(await card.getByRole('button').count(), 0, 'a decided card has no buttons');
  await badge.waitFor({ state: 'hidden' });

  // The Tasks page: the groceries are gone, the hall is still to paint.
  await page.getByRole('link', { name: 'Tasks' }).click();
  await page.locator('li.task .task-desc').getByText('paint the hall', { exact: true }).waitFor();
  for (const d of ['milk', 'eggs', 'bread']) assert.equal(await page.locator('li.task .task-desc').getByText(d, { exact: true }).count(), 0, d);
  assert.deepEqual(await pendingTasks(page, 'groceries'), []);

  // Read back from the store, the conversation shows how it ended.
  await page.goBack();
  const again = page.locator('.approval-card').filter({ hasText: 'Delete 3 pending tasks in project groceries' });
  await again.getByText('Approved — done.', { exact: true }).waitFor();
  await page.locator('.tool-card[data-status="executed"]').filter({ hasText: 'task.delete_many' }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('approvals: rejecting in chat runs nothing', async () => {
  const { context, page, errors } = await loggedIn();
  for (const d of ['rake the leaves', 'plant the bulbs']) await apiCall(page, 'POST', '/api/v1/tasks', { description: d, project: 'garden' });
  await send(page, 'clear out the garden jobs');
  const turn = lastTurn(page);
  const card = turn.locator('.approval-card').filter({ hasText: 'Delete 2 pending tasks in project garden' });
  await card.waitFor();
  await turn.and(page.locator('[data-status="done"]')).waitFor();
  // A second tab reads the conversation from the store, with the approval
  // still waiting; it never hears how approvals end (those notifications
  // are dropped), so its card goes stale.
  const other = await context.newPage();
  await other.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    server.onMessage((m) => {
      if (typeof m === 'string' && m.includes('"kind":"approval"')) return;
      ws.send(m);
    });
  });
  await other.goto('/' + new URL(page.url()).hash);
  const stale = other.locator('.approval-card').filter({ hasText: 'Delete 2 pending tasks in project garden' });
  await stale.getByRole('button', { name: 'Approve' }).waitFor();

  await card.getByRole('button', { name: 'Reject' }).click();
  await card.getByText('Rejected — nothing was changed.', { exact: true }).waitFor();
  // Approving the stale card is refused ({"type":"error","code":"conflict","id"}),
  // and the card then shows what really happened.
  await stale.getByRole('button', { name: 'Approve' }).click();
  await stale.getByText('Rejected — nothing was changed.', { exact: true }).waitFor();
  await other.close();
  const tool = turn.locator('.tool-card').filter({ hasText: 'task.delete_many' });
  await tool.locator('.tool-status').getByText('rejected').waitFor();
  assert.deepEqual(await pendingTasks(page, 'garden'), ['plant the bulbs', 'rake the leaves']);
  await page.getByRole('link', { name: 'Tasks' }).click();
  await page.locator('li.task .task-desc').getByText('rake the leaves', { exact: true }).waitFor();
  await page.locator('li.task .task-desc').getByText('plant the bulbs', { exact: true }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('approvals page: new ones arrive live with a countdown; decisions land in the history', async () => {
  const { context, page, errors } = await loggedIn();
  await page.getByRole('link', { name: 'Approvals' }).click();
  await page.getByText('Nothing waits for you').waitFor();
  const history = page.getByRole('list', { name: 'History' });
  await history.locator('.history-row[data-status="executed"]').filter({ hasText: 'Delete 3 pending tasks in project groceries' }).getByText('Deleted 3 tasks.', { exact: true }).waitFor();
  await history.locator('.history-row[data-status="rejected"]').filter({ hasText: 'Delete 2 pending tasks in project garden' }).getByText('Rejected', { exact: true }).waitFor();

  // Asked through REST while the page is open: it appears by itself.
  const asked = await apiCall(page, 'POST', '/api/v1/tools/task.delete_many', { project: 'garden' });
  assert.equal(asked.status, 202);
  const card = page.locator('.approval-pending').filter({ hasText: 'Delete 2 pending tasks in project garden' });
  await card.waitFor();
  await card.locator('.approval-args dd').getByText('garden', { exact: true }).waitFor();
  await card.locator('.countdown').getByText(/^\d{1,2}:\d{2}$/).waitFor();
  await page.getByRole('navigation', { name: 'Main' }).locator('.nav-badge').getByText('1', { exact: true }).waitFor();
  await card.getByRole('button', { name: /^Approve/ }).click();
  await page.getByText('Done: Delete 2 pending tasks in project garden. Deleted 2 tasks.').waitFor();
  await card.waitFor({ state: 'detached' });
  await page.getByText('Nothing waits for you').waitFor();
  assert.equal(await history.locator('.history-row[data-status="executed"]').count(), 2);
  assert.deepEqual(await pendingTasks(page, 'garden'), []);
  // The filter shows one kind.
  await page.getByLabel('Show in history').selectOption('rejected');
  await history.locator('.history-row').first().waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('.history-row')].every((r) => r.dataset.status === 'rejected'));
  await page.getByLabel('Show in history').selectOption('');

  // One left waiting, for the screenshots.
  assert.equal((await apiCall(page, 'POST', '/api/v1/tools/task.delete_many', { project: 'home' })).status, 202);
  await page.locator('.approval-pending').filter({ hasText: 'Delete 1 pending task in project home' }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('calendar: a weekly event made in the dialog shows on its days, this week, next week and in the month', async () => {
  const { context, page, errors } = await loggedIn();
  await page.getByRole('link', { name: 'Calendar' }).click();
  await page.locator('.cal-week .cal-col').first().waitFor();
  const week = await page.locator('.cal-col').evaluateAll((cols) => cols.map((c) => c.dataset.date));
  assert.equal(week.length, 7);
  assert.equal(weekdayOf(week[0]), 0, 'en-GB weeks start on Monday');
  const [mon, tue, wed, thu] = week;

  await page.getByRole('button', { name: 'New event' }).click();
  const dialog = page.getByRole('dialog', { name: 'New event' });
  await dialog.getByLabel('Title', { exact: true }).fill('Team standup');
  await dialog.getByLabel('Starts', { exact: true }).fill(tue);
  await dialog.getByLabel('Start time').fill('10:00');
  await dialog.getByLabel('End time').fill('10:30');
  assert.equal(await dialog.getByLabel('Ends', { exact: true }).inputValue(), tue, 'the end follows the start');
  assert.equal(await dialog.getByLabel('Time zone').inputValue(), 'Europe/Paris', "the browser's zone");
  await dialog.getByLabel('Repeat', { exact: true }).selectOption('weekly');
  assert.equal(await dialog.getByRole('button', { name: 'Tuesday' }).getAttribute('aria-pressed'), 'true', "the start's weekday");
  await dialog.getByRole('button', { name: 'Thursday' }).click();
  await dialog.getByText('Every week on Tuesday and Thursday').waitFor();
  await dialog.getByLabel('Reminder').selectOption('10');
  await dialog.getByLabel('Location').fill('Room 4');
  await page.screenshot({ path: join(SHOTS, 'event-dialog-desktop.png') });
  await dialog.getByRole('button', { name: 'Add event' }).click();
  await dialog.waitFor({ state: 'detached' });

  const ev = (date, title = 'Team standup') => page.locator(`.cal-col[data-date="${date}"] .cal-event`).filter({ hasText: title });
  await ev(tue).waitFor();
  await ev(thu).waitFor();
  assert.equal(await ev(mon).count() + await ev(wed).count(), 0);
  assert.equal(await page.locator('.cal-event').filter({ hasText: 'Team standup' }).count(), 2);
  assert.match(await ev(tue).getAttribute('aria-label'), /^Team standup, .*10:00 – 10:30, repeats, Room 4$/);
  const id = Number(await ev(tue).getAttribute('data-event-id'));
  const stored = (await apiCall(page, 'GET', `/api/v1/events/${id}`)).body.event;
  assert.equal(stored.rrule, 'FREQ=WEEKLY;BYDAY=TU,TH');
  assert.equal(stored.tz, 'Europe/Paris');
  assert.equal(stored.remind_minutes, 10);
  assert.equal(stored.location, 'Room 4');

  // Next week, on the same weekdays.
  await page.getByRole('button', { name: 'Next week' }).click();
  const next = week.map((d) => addDays(d, 7));
  await ev(next[1]).waitFor();
  await ev(next[3]).waitFor();
  assert.equal(await page.locator('.cal-event').filter({ hasText: 'Team standup' }).count(), 2);

  // One occurrence changed alone: next Thursday moves to 11:00 with a new title.
  await ev(next[3]).click();
  const edit = page.getByRole('dialog', { name: 'Edit repeating event' });
  assert.equal(await edit.getByRole('radio', { name: 'This occurrence' }).getAttribute('aria-checked'), 'true');
  await edit.getByLabel('Title', { exact: true }).fill('Team standup (planning)');
  await edit.getByLabel('Start time').fill('11:00');
  await edit.getByRole('button', { name: 'Save' }).click();
  await edit.waitFor({ state: 'detached' });
  await ev(next[3], 'Team standup (planning)').waitFor();
  assert.match(await ev(next[3], 'Team standup (planning)').getAttribute('aria-label'), /11:00 – 11:30/);
  // And next Tuesday's is cancelled; the rest of the series stays.
  await ev(next[1]).click();
  await edit.getByRole('button', { name: 'Delete this occurrence' }).click();
  await page.getByRole('dialog', { name: 'Delete this occurrence' }).getByRole('button', { name: 'Delete' }).click();
  await ev(next[1]).waitFor({ state: 'detached' });
  await ev(next[3], 'Team standup (planning)').waitFor();

  // The keyboard goes back a week; this week is as it was.
  await page.getByRole('button', { name: 'Next week' }).focus();
  await page.keyboard.press('ArrowLeft');
  await ev(tue).waitFor();
  await ev(thu).waitFor();
  assert.equal(await ev(thu, 'planning').count(), 0);

  // The month: every Tuesday and Thursday from the first one on.
  await page.getByRole('radio', { name: 'Month' }).click();
  await page.locator('.cal-month').waitFor();
  await page.locator(`.cal-cell[data-date="${tue}"] .cal-chip`).filter({ hasText: 'Team standup' }).waitFor();
  const cells = await page.locator('.cal-cell').evaluateAll((els) => els.map((e) => ({
    date: e.dataset.date, weekday: e.dataset.weekday,
    standup: [...e.querySelectorAll('.cal-chip')].filter((c) => c.textContent.includes('Team standup')).length,
  })));
  const expected = cells.filter((c) => c.date >= tue && ['TU', 'TH'].includes(c.weekday) && c.date !== next[1]);
  assert.ok(expected.length >= 4);
  assert.deepEqual(cells.filter((c) => c.standup).map((c) => c.date), expected.map((c) => c.date));
  assert.ok(cells.filter((c) => c.standup).every((c) => WEEKDAYS.indexOf(c.weekday) === weekdayOf(c.date)));
  await page.screenshot({ path: join(SHOTS, 'calendar-month-desktop.png'), fullPage: true });

  // A few more events, for the screenshots of the week.
  const tz = 'Europe/Paris';
  for (const e of [
    { title: 'Morning run', start: `${mon}T07:30:00`, end: `${mon}T08:15:00`, rrule: 'FREQ=WEEKLY;BYDAY=MO,WE,FR', location: 'Parc Monceau' },
    { title: 'Dentist', start: `${wed}T14:00:00`, end: `${wed}T15:00:00`, location: '12 rue de la Paix', remind_minutes: 60 },
    { title: 'Lunch with Sam', start: `${thu}T12:30:00`, end: `${thu}T13:45:00`, location: 'Chez Janou' },
    { title: 'Call Mum', start: `${thu}T13:00:00`, end: `${thu}T13:45:00` },
    { title: 'Piano lesson', start: `${week[4]}T17:00:00`, end: `${week[4]}T18:00:00`, rrule: 'FREQ=WEEKLY' },
  ]) assert.equal((await apiCall(page, 'POST', '/api/v1/events', { tz, ...e })).status, 201);
  assert.equal((await apiCall(page, 'POST', '/api/v1/events', { title: 'Pay the rent', start: week[4], all_day: true, rrule: 'FREQ=MONTHLY' })).status, 201);
  // They arrive live (event_created on /ws).
  await page.locator(`.cal-cell[data-date="${week[4]}"] .cal-chip`).filter({ hasText: 'Pay the rent' }).waitFor();
  await page.getByRole('radio', { name: 'Week' }).click();
  await ev(wed, 'Dentist').waitFor();

  // An all-day event over the weekend, from the dialog: one banner over two days.
  await page.getByRole('button', { name: 'New event' }).click();
  const trip = page.getByRole('dialog', { name: 'New event' });
  await trip.getByLabel('Title', { exact: true }).fill('Weekend in Lyon');
  await trip.getByLabel('All day').check();
  await trip.getByLabel('Starts', { exact: true }).fill(week[5]);
  await trip.getByLabel('Last day').fill(week[6]);
  await trip.getByRole('button', { name: 'Add event' }).click();
  const banner = page.locator('.cal-allday .cal-event').filter({ hasText: 'Weekend in Lyon' });
  await banner.waitFor();
  assert.equal(await banner.evaluate((el) => el.style.gridColumn), '6 / 8');
  const tripEvent = (await apiCall(page, 'GET', `/api/v1/events/${await banner.getAttribute('data-event-id')}`)).body.event;
  assert.deepEqual([tripEvent.all_day, tripEvent.start, tripEvent.end], [true, week[5], addDays(week[6], 1)]);

  // A rule the picker cannot show is shown as text, and kept by a save.
  const rule = 'FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=WE';
  assert.equal((await apiCall(page, 'POST', '/api/v1/events', { title: 'Book club', start: `${wed}T19:00:00`, tz, rrule: rule })).status, 201);
  await ev(wed, 'Book club').click();
  const club = page.getByRole('dialog', { name: 'Edit repeating event' });
  await club.getByRole('radio', { name: 'All occurrences' }).click();
  await club.getByText('This event repeats by a rule the picker cannot show:').waitFor();
  assert.equal(await club.locator('code.rrule').textContent(), rule);
  assert.equal(await club.getByLabel('Repeat', { exact: true }).inputValue(), 'custom');
  await club.getByLabel('Title', { exact: true }).fill('Book club (poetry)');
  await club.getByRole('button', { name: 'Save' }).click();
  await ev(wed, 'Book club (poetry)').waitFor();
  const kept = (await apiCall(page, 'GET', `/api/v1/events/${await ev(wed, 'Book club (poetry)').getAttribute('data-event-id')}`)).body.event;
  assert.equal(kept.rrule, rule);

  // At phone width the week is a list of days.
  const phone = await newContext(browser, daemon.base, { viewport: PHONE });
  const small = await phone.context.newPage();
  await login(small);
  await small.goto('/#/calendar');
  const day = small.locator(`.cal-day[data-date="${tue}"]`);
  await day.locator('.cal-event').filter({ hasText: 'Team standup' }).waitFor();
  assert.equal(await small.locator('.cal-col').count(), 0);
  assert.match(await day.getByRole('heading').textContent(), /Tuesday/);
  assert.deepEqual(phone.errors, []);
  await phone.context.close();
  assert.deepEqual(errors, []);
  await context.close();
});

test('calendar: the subscription link is made, shown and copied', async () => {
  const { context, page, errors } = await loggedIn({ permissions: ['clipboard-read', 'clipboard-write'] });
  await page.goto('/#/calendar');
  await page.getByRole('button', { name: 'Subscribe' }).click();
  const dialog = page.getByRole('dialog', { name: 'Subscribe to your calendar' });
  await dialog.getByRole('button', { name: 'Make a subscription link' }).click();
  const url = await dialog.getByLabel('Subscription link').inputValue();
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/calendar\.ics\?key=\S+$/);
  await dialog.getByRole('button', { name: 'Copy' }).click();
  await dialog.getByText('The link is on the clipboard.').waitFor();
  await page.screenshot({ path: join(SHOTS, 'calendar-subscribe-desktop.png') });
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url);
  // The link alone reads the calendar, without the session.
  const ics = await fetch(url);
  assert.equal(ics.status, 200);
  assert.match(ics.headers.get('content-type'), /^text\/calendar/);
  assert.match(await ics.text(), /SUMMARY:Team standup/);
  await dialog.getByRole('button', { name: 'Close' }).click();
  assert.deepEqual(errors, []);
  await context.close();
});

// Every page, both widths, screenshots, and no console error anywhere.
const PAGES = [
  ['chat', '.msg-assistant'],
  ['tasks', 'li.task, .empty'],
  ['reminders', 'li.job, .empty'],
  ['calendar', '.cal-event'],
  ['notes', 'article.note, .empty'],
  ['approvals', '.approval-pending'],
  ['costs', '.stat'],
  ['activity', 'table.audit, .empty'],
  ['settings', 'section[aria-labelledby="s-users"] .row'],
];

for (const [name, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  test(`every page at ${name} width: screenshots and no console errors`, async () => {
    const { context, errors } = await newContext(browser, daemon.base, { viewport });
    const page = await context.newPage();
    await page.goto('/');
    await page.getByLabel('User name').waitFor();
    if (name === 'phone') await page.screenshot({ path: join(SHOTS, `login-${name}.png`) });
    await login(page);
    for (const [id, ready] of PAGES) {
      await page.goto(`/#/${id}`);
      if (id === 'chat') {
        if (name === 'phone') await page.getByRole('button', { name: 'Conversations' }).click();
        await page.getByRole('link', { name: /weekend hike/ }).first().click();
      }
      await page.locator(ready).first().waitFor();
      await page.locator('.loading').first().waitFor({ state: 'detached' });
      await page.screenshot({ path: join(SHOTS, `${id}-${name}.png`), fullPage: id !== 'chat' });
    }
    if (name === 'phone') {
      await page.getByRole('button', { name: 'Menu' }).click();
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tasks' }).waitFor();
      await page.screenshot({ path: join(SHOTS, `menu-${name}.png`) });
    }
    // The dark theme, once.
    if (name === 'desktop') {
      await page.goto('/#/settings');
      await page.getByRole('radio', { name: 'Dark' }).click();
      await page.goto('/#/chat');
      await page.locator('.conv-link').first().click();
      await page.locator('.msg-assistant').first().waitFor();
      await page.screenshot({ path: join(SHOTS, 'chat-dark-desktop.png') });
      await page.goto('/#/calendar');
      await page.locator('.cal-event').first().waitFor();
      await page.screenshot({ path: join(SHOTS, 'calendar-dark-desktop.png') });
      await page.goto('/#/approvals');
      await page.locator('.history-row').first().waitFor();
      await page.screenshot({ path: join(SHOTS, 'approvals-dark-desktop.png') });
      await page.goto('/#/settings');
      await page.getByRole('radio', { name: 'System' }).click();
    }
    assert.deepEqual(errors, []);
    await context.close();
  });
}
