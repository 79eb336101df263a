// SPDX-License-Identifier: Apache-2.0
// app.js - the console: sign-in, pages (#/certificates, #/certificate/NAME, #/edges), the live
// state from the Watch stream, and the actions the token's scopes allow (GET /v1/whoami).
import * as api from './api.js';
import { h, STATES, timeline, certTable, certDetails, chainView, historyView, edgeTable, stateBadge } from './views.js';

const $ = (id) => document.getElementById(id);
const st = { certs: new Map(), pending: null, events: new Map(), revision: null, scopes: [], stop: null,
  q: '', state: '', synced: false, edges: [], edgeTimer: null };
const isAdmin = () => st.scopes.includes('admin');

function setLive(text, cls) { const l = $('live'); l.textContent = text; l.className = 'live ' + (cls || ''); }

function onEvent(ev) {
  if (ev.type === 'SNAPSHOT_BEGIN') { st.pending = new Map(); return; }
  if (ev.type === 'SNAPSHOT_END') {
    st.certs = st.pending || new Map(); st.pending = null; st.synced = true;
    st.revision = ev.revision; render(); return;
  }
  const into = st.pending || st.certs;
  if (ev.type === 'UPSERT' && ev.certificate) into.set(ev.certificate.name, ev.certificate);
  else if (ev.type === 'DELETE') into.delete(ev.name);
  else return;
  const name = ev.name || (ev.certificate && ev.certificate.name);
  if (!st.events.has(name)) st.events.set(name, []);
  st.events.get(name).push({ seen: new Date().toISOString(), type: ev.type, revision: ev.revision,
    state: ev.certificate && ev.certificate.state, lastError: ev.certificate && ev.certificate.lastError });
  if (!st.pending) { st.revision = ev.revision; scheduleRender(); }
}

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; render(true); });
}

function message(text, cls) { return h('p', { class: 'msg ' + (cls || ''), role: cls === 'error' ? 'alert' : 'status' }, text); }

function signInPage(err) {
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const form = h('form', { id: 'signin', class: 'card', onsubmit: async (e) => {
    e.preventDefault();
    api.setToken(input.value.trim());
    input.value = '';
    await start();
  } },
  h('h1', {}, 'Sign in'),
  h('p', {}, 'Paste an API token (read or admin scope). It is kept in this tab only and sent as a bearer header.'),
  h('label', { for: 'token' }, 'API token'), input,
  h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
  err ? message(err, 'error') : null);
  $('main').replaceChildren(form);
  input.focus();
}

async function start() {
  try {
    st.scopes = (await api.whoami()).scopes || [];
  } catch (e) {
    api.clearToken();
    return signInPage(e.status === 401 ? 'That token is not valid.' : 'Sign-in failed: ' + e.message);
  }
  $('nav').hidden = false; $('signout').hidden = false;
  $('who').textContent = 'scope: ' + (isAdmin() ? 'admin' : st.scopes.join(', '));
  $('who').dataset.scopes = st.scopes.join(' ');
  if (st.stop) st.stop();
  st.synced = false; st.certs = new Map(); st.events = new Map();
  setLive('connecting…');
  st.stop = api.watch(onEvent, (s) => setLive(s === 'live' ? 'live' : s, s));
  render();
}

function signOut() {
  if (st.stop) st.stop();
  st.stop = null;
  clearInterval(st.edgeTimer);
  api.clearToken();
  st.scopes = []; st.certs = new Map();
  $('nav').hidden = true; $('signout').hidden = true; $('who').textContent = ''; setLive('');
  location.hash = '#/certificates';
  signInPage();
}

function route() {
  const m = /^#\/(certificate)\/(.+)$/.exec(location.hash) || /^#\/(edges)$/.exec(location.hash);
  return m ? { page: m[1], name: m[2] && decodeURIComponent(m[2]) } : { page: 'certificates' };
}

function render(live) {
  if (!api.token()) { if (!$('signin')) signInPage(); return; } // keep what is being typed
  const r = route();
  for (const a of document.querySelectorAll('#nav a'))
    a.setAttribute('aria-current', a.dataset.page === r.page || (r.page === 'certificate' && a.dataset.page === 'certificates') ? 'page' : 'false');
  if (r.page !== 'edges') clearInterval(st.edgeTimer);
  if (r.page === 'certificate') return certPage(r.name, live);
  if (r.page === 'edges') return edgesPage(live);
  return listPage(live);
}

const sortedCerts = () => [...st.certs.values()].sort((a, b) => a.name.localeCompare(b.name));
const tableSlotNow = () => h('div', { id: 'table-slot' }, certTable(sortedCerts(), st.q, st.state));

function listPage(live) {
  const certs = sortedCerts();
  const tableSlot = tableSlotNow();
  if (live && $('table-slot') && $('timeline-slot')) { // keep the controls (and focus) as they are
    const focused = document.activeElement && document.activeElement.id;
    $('table-slot').replaceWith(tableSlot);
    $('timeline-slot').replaceChildren(timeline(certs));
    if (focused && $(focused) && document.activeElement !== $(focused) && !$('dialog').open) $(focused).focus();
    return;
  }
  const search = h('input', { id: 'search', type: 'search', value: st.q, placeholder: 'name, DNS name, issuer, error',
    oninput: (e) => { st.q = e.target.value; $('table-slot').replaceWith(tableSlotNow()); } });
  const filter = h('select', { id: 'state-filter', onchange: (e) => { st.state = e.target.value; $('table-slot').replaceWith(tableSlotNow()); } },
    h('option', { value: '' }, 'all states'), STATES.map((s) => h('option', { value: s, selected: st.state === s }, s)));
  $('main').replaceChildren(
    h('section', { 'aria-labelledby': 'h-certs' },
      h('div', { class: 'bar-row' }, h('h1', { id: 'h-certs' }, 'Certificates'),
        isAdmin() ? h('button', { id: 'new-cert', type: 'button', class: 'primary', onclick: createDialog }, 'New certificate') : null),
      st.synced ? null : message('Loading the certificates…'),
      h('h2', {}, 'Expiry timeline'), h('div', { id: 'timeline-slot' }, timeline(certs)),
      h('h2', {}, 'All certificates'),
      h('div', { class: 'controls' }, h('label', { for: 'search' }, 'Search'), search,
        h('label', { for: 'state-filter' }, 'State'), filter),
      tableSlot));
}

async function certPage(name, live) {
  let c = st.certs.get(name);
  if (!live || !$('cert-page') || $('cert-page').dataset.name !== name) {
    $('main').replaceChildren(h('section', { id: 'cert-page', 'data-name': name }, h('h1', {}, name), message('Loading…')));
  }
  let failed = null;
  try {
    c = await api.getCert(name); // the full chain PEM (never the key: not asked for)
  } catch (e) {
    failed = e;
  }
  const pg = $('cert-page');
  if (route().name !== name || !pg || pg.dataset.name !== name) return; // navigated away meanwhile
  if (!c) return pg.replaceChildren(h('h1', {}, name), message(failed ? failed.message : 'not found', 'error'));
  const actions = isAdmin() ? h('div', { class: 'actions', id: 'actions' },
    h('button', { type: 'button', id: 'renew', onclick: () => act('Renew', () => api.renewCert(name)) }, 'Renew now'),
    c.state !== 'REVOKED' ? h('button', { type: 'button', id: 'revoke', class: 'danger', onclick: () => revokeDialog(name) }, 'Revoke…') : null,
    h('button', { type: 'button', id: 'delete', class: 'danger', onclick: () => deleteDialog(name) }, 'Delete…')) : null;
  const focused = document.activeElement && document.activeElement.id; // live updates keep focus
  pg.replaceChildren(
    h('p', {}, h('a', { href: '#/certificates' }, '← All certificates')),
    h('div', { class: 'bar-row' }, h('h1', {}, name, ' ', stateBadge(c.state)), actions),
    h('div', { id: 'action-msg' }, st.actionMsg && st.actionMsg.name === name ? st.actionMsg.node : null),
    h('h2', {}, 'Details'), certDetails(c),
    h('h2', {}, 'Chain'), chainView(c.fullchainPem),
    h('h2', {}, 'History'), historyView(c, st.events.get(name) || []),
    h('p', { class: 'muted' }, 'Events are those seen by this console since sign-in, with the record\'s own times.'));
  if (focused && $(focused) && !$('dialog').open) $(focused).focus();
}

// Runs an action of the certificate page; its outcome stays shown across live updates.
async function act(what, fn) {
  const name = route().name;
  let node;
  try {
    await fn();
    node = message(`${what}: accepted. The page follows the Watch stream.`, 'ok');
  } catch (e) {
    node = message(`${what} failed: ${e.message}`, 'error');
  }
  st.actionMsg = { name, node };
  if ($('action-msg')) $('action-msg').replaceChildren(node);
}

async function edgesPage(live) {
  if (!live || !$('edges-page')) {
    $('main').replaceChildren(h('section', { id: 'edges-page' }, h('h1', {}, 'Edges'), message('Loading…')));
    clearInterval(st.edgeTimer);
    st.edgeTimer = setInterval(() => route().page === 'edges' && edgesPage(true), 5000);
  }
  let failed = null;
  try { st.edges = (await api.listEdges()).edges || []; } catch (e) { failed = e; }
  if (!$('edges-page')) return; // navigated away meanwhile
  if (failed) return $('edges-page').replaceChildren(h('h1', {}, 'Edges'), message(failed.message, 'error'));
  $('edges-page').replaceChildren(h('h1', {}, 'Edges'),
    h('p', { class: 'muted' }, `Controller revision: ${st.revision || '?'}. Lag: revisions the edge has not applied yet.`),
    edgeTable(st.edges, st.revision));
}

// A modal dialog (Escape or Cancel closes it); onOk(form) runs on submit, its error is shown.
function dialog(title, body, okText, okClass, onOk) {
  const d = $('dialog');
  const err = h('div', { class: 'dialog-err' });
  const form = h('form', { method: 'dialog', onsubmit: async (e) => {
    e.preventDefault();
    try { await onOk(form); d.close(); } catch (x) { err.replaceChildren(message(x.message, 'error')); }
  } },
  h('h2', { id: 'dialog-title' }, title), body, err,
  h('div', { class: 'actions' },
    h('button', { type: 'button', id: 'dialog-cancel', onclick: () => d.close() }, 'Cancel'),
    h('button', { type: 'submit', id: 'dialog-ok', class: okClass }, okText)));
  d.replaceChildren(form);
  d.showModal();
  const first = form.querySelector('input, select') || form.querySelector('#dialog-cancel');
  first.focus();
}

function field(id, label, attrs) {
  return [h('label', { for: id }, label), h('input', Object.assign({ id, name: id }, attrs || {}))];
}

function createDialog() {
  dialog('New certificate', h('div', { class: 'form-grid' },
    field('c-name', 'Name', { required: true, pattern: '[a-z0-9][a-z0-9.\\-]{0,62}', autocomplete: 'off' }),
    field('c-domains', 'DNS names (comma separated)', { required: true, autocomplete: 'off' }),
    field('c-email', 'Contact email (empty: the controller\'s)', { type: 'email', autocomplete: 'off' })),
  'Create', 'primary', async (f) => {
    const c = { name: f.querySelector('#c-name').value.trim(),
      domains: f.querySelector('#c-domains').value.split(',').map((s) => s.trim()).filter(Boolean) };
    const email = f.querySelector('#c-email').value.trim();
    if (email) c.email = email;
    await api.createCert(c);
    location.hash = '#/certificates';
  });
}

function revokeDialog(name) {
  const reasons = [[0, 'unspecified'], [1, 'key compromise'], [3, 'affiliation changed'], [4, 'superseded'], [5, 'cessation of operation']];
  dialog(`Revoke ${name}?`, [h('p', {}, 'The CA revokes the certificate; edges stop serving it. This cannot be undone.'),
    h('label', { for: 'r-reason' }, 'Reason'),
    h('select', { id: 'r-reason' }, reasons.map(([v, t]) => h('option', { value: v }, t)))],
  'Revoke', 'danger', async (f) => {
    const reason = Number(f.querySelector('#r-reason').value);
    await act('Revoke', () => api.revokeCert(name, reason));
  });
}

function deleteDialog(name) {
  dialog(`Delete ${name}?`, h('p', {}, 'certplane forgets the certificate and edges stop serving it. The CA is not told.'),
    'Delete', 'danger', async () => {
      await api.deleteCert(name);
      location.hash = '#/certificates';
    });
}

let lastWidth = window.innerWidth;
window.addEventListener('resize', () => { // the timeline is drawn for the width
  if (window.innerWidth !== lastWidth && $('timeline-slot')) { lastWidth = window.innerWidth; scheduleRender(); }
});
window.addEventListener('hashchange', () => { render(); $('main').focus({ preventScroll: true }); });
$('signout').addEventListener('click', signOut);
if (api.token()) start(); else signInPage();
