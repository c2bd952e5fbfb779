// api.js — the JSON API with the session cookie.
//
// Every failure becomes an ApiError with the server's stable code and
// message ({"error":{"code","message"}}).  A 401 on any call means the
// session ended (idle, logged out elsewhere, password changed): the app
// listens for 'lares:unauthorized' and asks for the password again without
// leaving the page.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch {
    throw new ApiError(0, 'network', 'lares cannot be reached; check that it is running');
  }
  let data = null;
  if (res.status !== 204) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const e = data && data.error ? data.error : {};
    if (res.status === 401 && !path.startsWith('/api/v1/auth/login')) {
      window.dispatchEvent(new CustomEvent('lares:unauthorized'));
    }
    throw new ApiError(res.status, e.code || `http_${res.status}`, e.message || res.statusText || 'request failed');
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body = {}) => api('POST', path, body);
export const del = (path) => api('DELETE', path);

export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? '?' + s : '';
}
