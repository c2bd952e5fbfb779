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

// Every page, both widths, screenshots, and no console error anywhere.
const PAGES = [
  ['chat', '.msg-assistant'],
  ['tasks', 'li.task, .empty'],
  ['reminders', 'li.job, .empty'],
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
