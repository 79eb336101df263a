// SPDX-License-Identifier: Apache-2.0
// api.js - the console's only way to the controller: the REST API with the bearer token the user
// typed in. The token lives in this tab's sessionStorage only (never a URL, a cookie or a log).
const KEY = 'certplane.token';

export function token() { return sessionStorage.getItem(KEY); }
export function setToken(t) { sessionStorage.setItem(KEY, t); }
export function clearToken() { sessionStorage.removeItem(KEY); }

export class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

function headers(extra) {
  return Object.assign({ Authorization: 'Bearer ' + token() }, extra || {});
}

// One REST call; resolves to the parsed JSON answer, rejects with ApiError.
export async function call(method, path, body) {
  const init = { method, headers: headers(), cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  const text = await r.text();
  let j = {};
  try { j = text ? JSON.parse(text) : {}; } catch (e) { j = { message: text }; }
  if (!r.ok) throw new ApiError(r.status, j.code, j.message || r.statusText);
  return j;
}

export const whoami = () => call('GET', '/v1/whoami');
export const listEdges = () => call('GET', '/v1/edges');
export const getCert = (n) => call('GET', '/v1/certificates/' + encodeURIComponent(n));
export const createCert = (c) => call('POST', '/v1/certificates', c);
export const renewCert = (n) => call('POST', '/v1/certificates/' + encodeURIComponent(n) + ':renew', {});
export const revokeCert = (n, reason) =>
  call('POST', '/v1/certificates/' + encodeURIComponent(n) + ':revoke', { reason });
export const deleteCert = (n) => call('DELETE', '/v1/certificates/' + encodeURIComponent(n));

// The Watch stream (NDJSON over fetch, with the bearer header): onEvent(event) for every line,
// onState('live' | 'reconnecting' | ...) as the connection changes. Reconnects with the last
// revision applied (or a new snapshot), backing off up to 10 s. Returns a stop function.
export function watch(onEvent, onState) {
  let stopped = false, resume = '0', delay = 500, ctl = null;
  async function once() {
    ctl = new AbortController();
    const r = await fetch('/v1/watch?fromRevision=' + resume,
      { headers: headers(), signal: ctl.signal, cache: 'no-store', credentials: 'omit' });
    if (!r.ok) throw new ApiError(r.status, 0, 'watch: HTTP ' + r.status);
    onState('live');
    delay = 500;
    const reader = r.body.getReader(), dec = new TextDecoder();
    let buf = '', inSnapshot = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const ev = JSON.parse(line);
        if (ev.error) throw new ApiError(0, ev.error.code, ev.error.message);
        if (ev.type === 'SNAPSHOT_BEGIN') inSnapshot = true;
        if (ev.type === 'SNAPSHOT_END') inSnapshot = false;
        onEvent(ev);
        if (!inSnapshot && ev.revision) resume = ev.revision;
      }
    }
  }
  (async () => {
    while (!stopped) {
      try { await once(); } catch (e) {
        if (stopped) return;
        if (e instanceof ApiError && (e.status === 401 || e.status === 403)) { onState('denied'); return; }
      }
      if (stopped) return;
      onState('reconnecting');
      await new Promise((res) => setTimeout(res, delay));
      delay = Math.min(delay * 2, 10000);
    }
  })();
  return () => { stopped = true; if (ctl) ctl.abort(); };
}
