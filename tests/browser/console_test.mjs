// SPDX-License-Identifier: Apache-2.0
// tests/browser/console_test.mjs - drives the web console in headless chromium (puppeteer-core)
// against a real controller (started by run_console_test.sh) and asserts on the DOM:
// sign-in, the certificate list and timeline, a certificate created in the browser becoming VALID
// through Pebble without a reload (Watch), renew, revoke with its confirmation, delete, the chain
// details, the edges page, and a read-only token that sees no action. Screenshots: CP_OUT_DIR.
import { createRequire } from 'node:module';
import path from 'node:path';

const env = (k) => { if (!process.env[k]) throw new Error(`${k} is not set`); return process.env[k]; };
const base = env('CP_CONSOLE_URL'), admin = env('CP_ADMIN_TOKEN'), reader = env('CP_READ_TOKEN');
const out = env('CP_OUT_DIR');
const require = createRequire(path.join(env('NODE_PATH'), 'x.js'));
const puppeteer = require('puppeteer-core');

let failures = 0, passed = 0;
function check(cond, what) {
  if (cond) { passed++; console.log('ok   ' + what); } else { failures++; console.log('FAIL ' + what); }
}
const T = 90000; // a step waits this long at most (ASan builds are slower)

// Chromium's sandbox refuses to start as root (CI runs as root): --no-sandbox then.
const args = ['--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions'];
if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
const browser = await puppeteer.launch({ executablePath: env('CP_CHROMIUM'), headless: true, args,
  defaultViewport: { width: 1280, height: 900 } });
const page = await browser.newPage();
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));
const requests = [];
page.on('request', (r) => requests.push(r.url()));

async function shot(name) {
  for (const [suffix, vp] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]]) {
    await page.setViewport(vp);
    await new Promise((r) => setTimeout(r, 400)); // the timeline re-draws for the width
    const file = path.join(out, `${name}-${suffix}.png`);
    await page.screenshot({ path: file, fullPage: true });
  }
  await page.setViewport({ width: 1280, height: 900 });
}
// Live updates replace the table while the test works: a click that finds its element replaced
// just before it lands is tried again with the new one.
async function click(sel) {
  for (let i = 0; ; i++) {
    try { await page.waitForSelector(sel, { timeout: T }); return await page.click(sel); } catch (e) {
      if (i >= 10 || !/detached|not clickable|no node/i.test(String(e))) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
const text = (sel) => page.$eval(sel, (e) => e.textContent);
const rowState = (name) => page.$eval(`#cert-table tr[data-name="${name}"]`, (e) => e.dataset.state).catch(() => null);

async function signIn(token) {
  await page.waitForSelector('#signin #token', { timeout: T });
  await page.type('#token', token);
  await page.keyboard.press('Enter');
}

try {
  // ---- the files: headers, 404 --------------------------------------------------------------
  const resp = await page.goto(base + '/ui/', { waitUntil: 'domcontentloaded' });
  const hd = resp.headers();
  check(resp.status() === 200 && hd['content-type'].startsWith('text/html'), '/ui/ is the console (text/html)');
  check((hd['content-security-policy'] || '').includes("default-src 'self'") &&
    !(hd['content-security-policy'] || '').includes('unsafe-inline'), `strict CSP: ${hd['content-security-policy']}`);
  check(hd['x-content-type-options'] === 'nosniff' && !!hd.etag && !!hd['cache-control'], 'nosniff, ETag and Cache-Control');
  const probe = await page.evaluate(async () => {
    const a = await fetch('/ui/app.js'), n = await fetch('/ui/nope.js'), w = await fetch('/v1/whoami');
    return { js: a.headers.get('content-type'), missing: n.status, whoami: w.status };
  });
  check(probe.js.startsWith('text/javascript'), `app.js as ${probe.js}`);
  check(probe.missing === 404, 'an unknown /ui/ file is 404');
  check(probe.whoami === 401, '/v1/whoami without a token is 401');

  const noSlash = await page.evaluate(async () => (await fetch('/ui')).headers.get('content-type'));
  check((noSlash || '').startsWith('text/html'), '/ui (no slash) is the console too');

  // ---- sign in as admin: the list, the timeline --------------------------------------------
  await page.waitForSelector('#signin #token', { timeout: T });
  await shot('signin');
  await signIn('not-a-token');
  await page.waitForSelector('#signin .msg.error', { timeout: T });
  check((await text('#signin .msg.error')).includes('not valid'), 'a wrong token is refused on the sign-in page');
  await signIn(admin);
  await page.waitForSelector('#cert-table tr[data-name="shop"]', { timeout: T });
  check((await text('#who')).includes('admin'), 'signed in with the admin scope');
  const stored = await page.evaluate(() => ({ s: sessionStorage.getItem('certplane.token'), l: localStorage.length,
    c: document.cookie, u: location.href }));
  check(stored.s === admin && stored.l === 0 && stored.c === '' && !stored.u.includes(admin),
    'the token is in sessionStorage only (no localStorage, cookie or URL)');
  await page.waitForFunction(() => document.querySelector('#cert-table tr[data-name="shop"][data-state="VALID"]'), { timeout: T });
  check(true, 'shop (created before) is VALID in the table');
  await page.waitForSelector('#timeline .tl-row[data-name="shop"]', { timeout: T });
  check(true, 'the expiry timeline has a row for shop');

  // ---- create in the browser, VALID through Pebble without a reload ------------------------
  await page.evaluate(() => { window.__noReload = 1; });
  await page.focus('#new-cert'); // a real button: the keyboard opens it
  await page.keyboard.press('Enter');
  await page.waitForSelector('dialog[open] #c-name', { timeout: T });
  check(await page.evaluate(() => document.activeElement.id) === 'c-name', 'the dialog takes the focus');
  await page.keyboard.press('Escape');
  check(await page.$('dialog[open]') === null, 'Escape closes the create dialog');
  await click('#new-cert');
  await page.waitForSelector('dialog[open] #c-name', { timeout: T });
  await page.type('#c-name', 'web');
  await page.type('#c-domains', 'web.console.test, api.console.test');
  await click('#dialog-ok');
  await page.waitForSelector('#cert-table tr[data-name="web"]', { timeout: T });
  check(true, 'web appears in the table');
  await page.waitForSelector('#cert-table tr[data-name="web"][data-state="VALID"]', { timeout: T });
  check(await page.evaluate(() => window.__noReload === 1), 'web became VALID through Pebble, live (no reload)');
  await page.type('#search', 'api.console');
  await page.waitForFunction(() => document.querySelectorAll('#cert-table tbody tr').length === 1, { timeout: T });
  check(await rowState('web') === 'VALID' && await rowState('shop') === null, 'search by DNS name shows web only');
  await page.click('#search', { clickCount: 3 });
  await page.keyboard.press('Backspace');
  await page.select('#state-filter', 'FAILED');
  await page.waitForFunction(() => document.querySelectorAll('#cert-table tbody tr').length === 0, { timeout: T });
  check(true, 'the state filter FAILED hides the valid certificates');
  await page.select('#state-filter', '');
  await page.waitForSelector('#cert-table tr[data-name="web"]', { timeout: T });
  await page.waitForSelector('#timeline .tl-row[data-name="web"]', { timeout: T });
  await shot('certificates');

  // ---- the certificate page: chain details, renew --------------------------------------------
  await click('#cert-table tr[data-name="web"] a');
  await page.waitForSelector('#chain li.chain-cert', { timeout: T });
  const chain = await page.$$eval('#chain li.chain-cert', (ls) => ls.map((l) => l.textContent));
  check(chain.length >= 2, `chain details: ${chain.length} certificates`);
  check(/Pebble Intermediate/.test(chain[0]) && /Subject/.test(chain[0]) && /Serial/.test(chain[0]) && /Not after/.test(chain[0]),
    'the leaf shows subject, issuer (Pebble), serial and validity');
  const serialOf = () => page.$$eval('dl.fields', (ds) => {
    const dts = [...ds[0].querySelectorAll('dt')];
    const i = dts.findIndex((d) => d.textContent === 'Serial');
    return i >= 0 ? dts[i].nextElementSibling.textContent : null;
  });
  const serial0 = await serialOf();
  check(!!serial0, `web's serial ${serial0}`);
  const pageHasKey = await page.evaluate(() => /PRIVATE KEY/.test(document.body.innerHTML));
  check(!pageHasKey, 'no private key on the page');
  await click('#renew');
  await page.waitForSelector('#action-msg .msg.ok', { timeout: T });
  await page.waitForFunction((s) => {
    const dts = [...document.querySelectorAll('dl.fields dt')];
    const d = dts.find((x) => x.textContent === 'Serial');
    const st = document.querySelector('h1 .state');
    return d && d.nextElementSibling.textContent !== s && st && st.dataset.state === 'VALID';
  }, { timeout: T }, serial0);
  check(true, `renew: a new serial ${await serialOf()}, VALID again, live`);
  await page.waitForSelector('#history li', { timeout: T });
  check((await page.$$('#history li')).length >= 3, 'the history lists the record\'s times and the events seen');
  await shot('certificate');

  // ---- revoke shop (confirmation), delete a pending one --------------------------------------
  await page.goto(base + '/ui/#/certificate/shop');
  await page.waitForSelector('#revoke', { timeout: T });
  await click('#revoke');
  await page.waitForSelector('dialog[open] #r-reason', { timeout: T });
  await page.keyboard.press('Escape');
  check(await page.$('dialog[open]') === null && (await page.$eval('h1 .state', (e) => e.dataset.state)) === 'VALID',
    'Escape cancels the revocation');
  await click('#revoke');
  await page.waitForSelector('dialog[open] #r-reason', { timeout: T });
  await shot('revoke-dialog');
  await page.select('#r-reason', '4');
  await click('#dialog-ok');
  await page.waitForFunction(() => { const s = document.querySelector('h1 .state'); return s && s.dataset.state === 'REVOKED'; }, { timeout: T });
  check(true, 'shop revoked after the confirmation (REVOKED, live)');
  await page.goto(base + '/ui/#/certificates');
  await page.waitForSelector('#new-cert', { timeout: T });
  await click('#new-cert');
  await page.waitForSelector('dialog[open] #c-name', { timeout: T });
  await page.type('#c-name', 'gone');
  await page.type('#c-domains', 'gone.console.test');
  await click('#dialog-ok');
  await page.waitForSelector('#cert-table tr[data-name="gone"][data-state="VALID"]', { timeout: T });
  await click('#cert-table tr[data-name="gone"] a');
  await page.waitForSelector('#delete', { timeout: T });
  await click('#delete');
  await page.waitForSelector('dialog[open] #dialog-ok', { timeout: T });
  await click('#dialog-ok');
  await page.waitForSelector('#cert-table tr[data-name="web"]', { timeout: T });
  await page.waitForFunction(() => !document.querySelector('#cert-table tr[data-name="gone"]'), { timeout: T });
  check(true, 'delete after the confirmation: gone left the table');

  // ---- edges -----------------------------------------------------------------------------------
  await click('#nav a[data-page="edges"]');
  await page.waitForSelector('#edge-table tr[data-edge="console-edge"]', { timeout: T });
  const edge = await page.$eval('#edge-table tr[data-edge="console-edge"]', (r) => ({
    applied: r.querySelector('.applied').textContent, lag: r.querySelector('.lag').textContent }));
  check(Number(edge.applied) > 0 && /revision/.test(edge.lag), `edge console-edge: applied revision ${edge.applied}, lag ${edge.lag}`);
  await shot('edges');

  // ---- a read-only token: no actions -----------------------------------------------------------
  await click('#signout');
  await page.waitForSelector('#signin #token', { timeout: T });
  check(await page.evaluate(() => sessionStorage.getItem('certplane.token')) === null, 'sign-out forgets the token');
  await signIn(reader);
  await page.waitForSelector('#cert-table tr[data-name="web"]', { timeout: T });
  check((await text('#who')).includes('read'), 'signed in with the read scope');
  check(await page.$('#new-cert') === null, 'read-only: no "New certificate" button');
  await shot('certificates-readonly');
  await click('#cert-table tr[data-name="web"] a');
  await page.waitForSelector('#chain li.chain-cert', { timeout: T });
  check(await page.$('#actions') === null && await page.$('#renew') === null && await page.$('#revoke') === null &&
    await page.$('#delete') === null, 'read-only: no renew, revoke or delete on the certificate page');
  await shot('certificate-readonly');

  const foreign = requests.filter((u) => !u.startsWith(base));
  check(foreign.length === 0, `no request left the controller (${foreign.length} did)`);
  check(requests.every((u) => !u.includes(admin) && !u.includes(reader)), 'no token in any URL');
  check(consoleErrors.filter((e) => !/401|Failed to load resource/.test(e)).length === 0,
    `no script errors (${consoleErrors.join(' | ')})`);
} catch (e) {
  failures++;
  console.log('FAIL ' + (e && e.stack || e));
  try { await page.screenshot({ path: path.join(out, 'failure.png'), fullPage: true }); } catch (x) { /* none */ }
  try { console.log((await page.$eval('main', (m) => m.innerText)).slice(0, 2000)); } catch (x) { /* none */ }
} finally {
  await browser.close();
}
console.log(`console: ${passed} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
