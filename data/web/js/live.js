// live.js — the /ws connection: one per tab, reconnecting.
//
// Every event of the user reaches every connection (SPEC §3), so each tab
// sees chat turns, data changes and reminders as they happen.  When the
// connection drops, it is opened again with a growing delay (0.5 s … 10 s,
// with jitter); pages listen for 'open' with {reconnected: true} to catch
// up on what they missed (chat re-reads the conversation, lists reload).
// Before reconnecting, the session is checked: if it ended, the app shows
// the login form instead of retrying forever.

import { get } from './api.js';

export class Live {
  constructor() {
    this.listeners = new Map();
    this.ws = null;
    this.state = 'idle';
    this.delay = 500;
    this.timer = 0;
    this.stopped = true;
    this.everOpen = false;
    this.outbox = [];
  }

  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type).delete(fn);
  }

  emit(type, data) {
    for (const fn of this.listeners.get(type) || []) {
      try {
        fn(data);
      } catch (e) {
        // A page's handler must not stop the others.
        setTimeout(() => {
          throw e;
        });
      }
    }
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000, 'logged out');
    this.ws = null;
    this.setState('idle');
  }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    this.emit('state', s);
  }

  connect() {
    if (this.stopped) return;
    const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
    const ws = new WebSocket(url);
    this.ws = ws;
    this.setState(this.everOpen ? 'reconnecting' : 'connecting');
    ws.addEventListener('open', () => {
      if (ws !== this.ws) return;
      const reconnected = this.everOpen;
      this.everOpen = true;
      this.delay = 500;
      this.setState('open');
      const pending = this.outbox.splice(0);
      for (const m of pending) ws.send(JSON.stringify(m));
      this.emit('open', { reconnected });
    });
    ws.addEventListener('message', (ev) => {
      if (ws !== this.ws || typeof ev.data !== 'string') return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (!msg || typeof msg.type !== 'string') return;
      this.emit(msg.type, msg);
      this.emit('*', msg);
    });
    ws.addEventListener('close', () => {
      if (ws !== this.ws) return;
      this.ws = null;
      if (this.stopped) return;
      this.setState('reconnecting');
      this.emit('close');
      this.schedule();
    });
  }

  async schedule() {
    clearTimeout(this.timer);
    const wait = this.delay * (0.75 + Math.random() * 0.5);
    this.delay = Math.min(this.delay * 2, 10000);
    this.timer = setTimeout(async () => {
      if (this.stopped) return;
      try {
        const s = await get('/api/v1/auth/session');
        if (!s.user) {
          this.stop();
          window.dispatchEvent(new CustomEvent('lares:unauthorized'));
          return;
        }
      } catch {
        // The daemon is down or restarting: try again later.
        this.schedule();
        return;
      }
      this.connect();
    }, wait);
  }

  // Send now, or as soon as the connection is open again.
  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(msg));
      return true;
    }
    this.outbox.push(msg);
    return false;
  }

  // For tests and the "reconnect" button: drop the connection now.
  reconnectNow() {
    this.delay = 500;
    if (this.ws) this.ws.close(4000, 'reconnect');
    else this.connect();
  }
}

export const live = new Live();
