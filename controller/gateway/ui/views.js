// SPDX-License-Identifier: Apache-2.0
// views.js - DOM builders of the console's pages. Text always goes in as text nodes (never HTML).
import { parseChain } from './pem.js';

export function h(tag, attrs, ...kids) {
  const svg = ['svg', 'line', 'rect', 'text', 'g', 'circle', 'title'].includes(tag);
  const e = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of kids.flat(Infinity)) if (c !== null && c !== undefined && c !== false)
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

export const STATES = ['PENDING', 'ISSUING', 'VALID', 'RENEWING', 'FAILED', 'REVOKED'];

export function fmtTime(t) {
  if (!t) return '–';
  const d = t instanceof Date ? t : new Date(t);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(/:\d\dZ$/, 'Z');
}

function relDays(t) {
  if (!t) return '';
  const days = (new Date(t) - Date.now()) / 86400000;
  return days >= 0 ? `in ${days.toFixed(days < 2 ? 1 : 0)} d` : `${(-days).toFixed(0)} d ago`;
}

function cn(dn) { const m = /(?:^|, )CN=([^,]*)/.exec(dn || ''); return m ? m[1] : (dn || ''); }

export const stateBadge = (s) => h('span', { class: 'state state-' + (s || 'UNKNOWN').toLowerCase(), 'data-state': s }, s || '?');

// The expiry timeline: one row per certificate, its validity as a bar, renew-after as a mark, "now"
// as a line; x from 30 days ago (or the earliest not-before) to the latest not-after.
export function timeline(certs) {
  const rows = certs.filter((c) => c.notAfter).sort((a, b) => new Date(a.notAfter) - new Date(b.notAfter));
  if (rows.length === 0) return h('p', { class: 'muted', id: 'timeline-empty' }, 'No issued certificates yet: the timeline appears after the first issuance.');
  const now = Date.now(), day = 86400000;
  let t0 = now - 7 * day, t1 = now + 30 * day;
  for (const c of rows) {
    t0 = Math.min(t0, new Date(c.notBefore || c.notAfter).getTime());
    t1 = Math.max(t1, new Date(c.notAfter).getTime() + day);
  }
  // Drawn for the width it gets, so labels stay readable on a phone (re-drawn on resize).
  const W = Math.max(320, Math.min(1200, document.documentElement.clientWidth - 40));
  const L = W < 600 ? 90 : 150, R = 20, rowH = 22, top = 24, H = top + rows.length * rowH + 10;
  const maxLabel = W < 600 ? 11 : 20;
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const svg = h('svg', { viewBox: `0 0 ${W} ${H}`, class: 'timeline', role: 'img', id: 'timeline',
    'aria-label': `Expiry timeline of ${rows.length} certificates` });
  const span = (t1 - t0) / day, ticks = W < 600 ? 4 : 8;
  const step = [7, 14, 30, 90, 180, 365, 730].find((s) => span / s <= ticks) || 1461;
  for (let t = Math.ceil(t0 / (step * day)) * step * day; t <= t1; t += step * day) {
    const iso = new Date(t).toISOString();
    svg.append(h('line', { x1: x(t), x2: x(t), y1: top - 6, y2: H, class: 'grid' }),
      h('text', { x: x(t) + 2, y: 12, class: 'axis' }, span > 400 ? iso.slice(0, 7) : iso.slice(5, 10)));
  }
  rows.forEach((c, i) => {
    const y = top + i * rowH;
    const b = new Date(c.notBefore || c.notAfter).getTime(), e = new Date(c.notAfter).getTime();
    svg.append(h('g', { class: 'tl-row', 'data-name': c.name },
      h('text', { x: 4, y: y + 14, class: 'label' }, c.name.length > maxLabel ? c.name.slice(0, maxLabel - 1) + '…' : c.name),
      h('rect', { x: x(b), y: y + 3, width: Math.max(2, x(e) - x(b)), height: rowH - 8, rx: 3,
        class: 'bar state-' + (c.state || '').toLowerCase() },
        h('title', {}, `${c.name}: ${c.state}, not after ${fmtTime(c.notAfter)} (${relDays(c.notAfter)})`)),
      c.renewAfter ? h('circle', { cx: x(new Date(c.renewAfter).getTime()), cy: y + rowH / 2 - 1, r: 4, class: 'renew' },
        h('title', {}, `renew after ${fmtTime(c.renewAfter)}`)) : null));
  });
  svg.append(h('line', { x1: x(now), x2: x(now), y1: top - 6, y2: H, class: 'now' }),
    h('text', { x: x(now) + 3, y: H - 2, class: 'axis now-label' }, 'now'));
  return h('figure', { class: 'timeline-wrap' }, svg,
    h('figcaption', { class: 'muted' }, 'Bars: validity (colour = state); dots: renew after; red line: now.'));
}

// The certificate table, filtered by a search text (name, names, issuer, error) and a state.
export function certTable(certs, q, state) {
  const needle = (q || '').toLowerCase();
  const shown = certs.filter((c) => (!state || c.state === state) && (!needle ||
    [c.name, ...(c.domains || []), ...(c.ipAddresses || []), c.issuer, c.issuedBy, c.lastError]
      .some((v) => (v || '').toLowerCase().includes(needle))));
  const body = shown.map((c) => h('tr', { 'data-name': c.name, 'data-state': c.state },
    h('td', {}, h('a', { href: '#/certificate/' + encodeURIComponent(c.name), id: 'cert-link-' + c.name }, c.name)),
    h('td', { class: 'names' }, [...(c.domains || []), ...(c.ipAddresses || [])].join(', ')),
    h('td', {}, stateBadge(c.state)),
    h('td', {}, cn(c.issuer) || '–', c.issuedBy ? h('div', { class: 'muted' }, c.issuedBy) : null),
    h('td', {}, fmtTime(c.notAfter), h('div', { class: 'muted' }, relDays(c.notAfter))),
    h('td', {}, fmtTime(c.renewAfter)),
    h('td', { class: 'error' }, c.lastError || '')));
  return h('div', { class: 'scroll' }, h('table', { id: 'cert-table' },
    h('caption', { class: 'muted' }, `${shown.length} of ${certs.length} certificates`),
    h('thead', {}, h('tr', {}, ['Name', 'Names', 'State', 'Issuer / CA', 'Not after', 'Renew after', 'Last error']
      .map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, body)));
}

function dl(pairs) {
  return h('dl', { class: 'fields' }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

export function certDetails(c) {
  return dl([['Names', [...(c.domains || []), ...(c.ipAddresses || [])].join(', ')],
    ['State', stateBadge(c.state)], ['Email', c.email], ['Provider', c.provider || 'default'],
    ['Issued by', c.issuedBy], ['Issuer', c.issuer], ['Serial', c.serial], ['Key type', c.keyType || 'RSA_2048 (default)'],
    ['Not before', fmtTime(c.notBefore)], ['Not after', c.notAfter ? `${fmtTime(c.notAfter)} (${relDays(c.notAfter)})` : null],
    ['Renew after', c.renewAfter && fmtTime(c.renewAfter)], ['Failures', c.failureCount],
    ['Last error', c.lastError], ['Revision', c.revision],
    ['ARI window', c.ariWindowStart && `${fmtTime(c.ariWindowStart)} – ${fmtTime(c.ariWindowEnd)}`]]);
}

export function chainView(pem) {
  const chain = parseChain(pem);
  if (chain.length === 0) return h('p', { class: 'muted', id: 'chain-empty' }, 'No certificate issued yet.');
  return h('ol', { class: 'chain', id: 'chain' }, chain.map((c, i) => h('li', { class: 'chain-cert' },
    c.error ? c.error : [h('h4', {}, i === 0 ? 'Leaf' : `Chain certificate ${i}`),
      dl([['Subject', c.subject], ['Issuer', c.issuer], ['Serial', c.serial],
        ['Not before', fmtTime(c.notBefore)], ['Not after', fmtTime(c.notAfter)]])])));
}

// The history of one certificate: what its record says, then every Watch event seen for it.
export function historyView(c, events) {
  const items = [];
  if (c.createTime) items.push([c.createTime, 'created']);
  if (c.notBefore) items.push([c.notBefore, `current certificate valid from (serial ${c.serial || '?'})`]);
  if (c.revokeRequestTime) items.push([c.revokeRequestTime, `revocation requested (reason ${c.revocationReason || 0})`]);
  if (c.updateTime) items.push([c.updateTime, `last change: ${c.state}` + (c.lastError ? ` – ${c.lastError}` : '')]);
  for (const e of events) items.push([e.seen, `event ${e.type} at revision ${e.revision}` + (e.state ? `: ${e.state}` : '') + (e.lastError ? ` – ${e.lastError}` : '')]);
  items.sort((a, b) => new Date(a[0]) - new Date(b[0]));
  return h('ol', { class: 'history', id: 'history' }, items.map(([t, what]) => h('li', {}, h('time', {}, fmtTime(t)), ' ', what)));
}

export function edgeTable(edges, revision) {
  if (edges.length === 0) return h('p', { class: 'muted', id: 'edges-empty' }, 'No edge has reported within its TTL.');
  return h('div', { class: 'scroll' }, h('table', { id: 'edge-table' },
    h('thead', {}, h('tr', {}, ['Edge', 'Address', 'Version', 'Certificates', 'Applied revision', 'Lag', 'Last seen']
      .map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, edges.map((e) => {
      const lag = revision && e.appliedRevision !== undefined ? Math.max(0, Number(revision) - Number(e.appliedRevision || 0)) : null;
      return h('tr', { 'data-edge': e.edgeId },
        h('td', {}, e.edgeId), h('td', {}, e.address || ''), h('td', {}, e.version || ''),
        h('td', {}, e.certificates || 0), h('td', { class: 'applied' }, e.appliedRevision || '0'),
        h('td', { class: 'lag' + (lag ? ' lagging' : '') }, lag === null ? '?' : `${lag} revision${lag === 1 ? '' : 's'}`),
        h('td', {}, fmtTime(e.lastSeen)));
    }))));
}
