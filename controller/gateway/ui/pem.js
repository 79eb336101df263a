// SPDX-License-Identifier: Apache-2.0
// pem.js - reads the certificates of a PEM chain in the browser (a small DER reader): subject,
// issuer, serial and validity of each. Only CERTIFICATE blocks are read; anything else is ignored.

function der(bytes, pos) {
  const tag = bytes[pos];
  let len = bytes[pos + 1], off = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[off + i];
    off += n;
  }
  return { tag, start: off, end: off + len };
}

function children(bytes, node) {
  const out = [];
  for (let p = node.start; p < node.end;) {
    const c = der(bytes, p);
    out.push(c);
    p = c.end;
  }
  return out;
}

function oid(bytes, node) {
  const b = bytes.subarray(node.start, node.end);
  const parts = [Math.floor(b[0] / 40), b[0] % 40];
  let v = 0;
  for (let i = 1; i < b.length; i++) {
    v = v * 128 + (b[i] & 0x7f);
    if (!(b[i] & 0x80)) { parts.push(v); v = 0; }
  }
  return parts.join('.');
}

const NAMES = { '2.5.4.3': 'CN', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O',
  '2.5.4.11': 'OU', '1.2.840.113549.1.9.1': 'emailAddress' };

function name(bytes, node) {
  const dec = new TextDecoder();
  const parts = [];
  for (const set of children(bytes, node)) {
    for (const atv of children(bytes, set)) {
      const [o, v] = children(bytes, atv);
      const k = NAMES[oid(bytes, o)] || oid(bytes, o);
      parts.push(k + '=' + dec.decode(bytes.subarray(v.start, v.end)));
    }
  }
  return parts.join(', ');
}

function time(bytes, node) {
  const s = new TextDecoder().decode(bytes.subarray(node.start, node.end));
  const full = node.tag === 0x17 ? (Number(s.slice(0, 2)) >= 50 ? '19' : '20') + s : s;
  const iso = full.slice(0, 4) + '-' + full.slice(4, 6) + '-' + full.slice(6, 8) + 'T' +
    full.slice(8, 10) + ':' + full.slice(10, 12) + ':' + full.slice(12, 14) + 'Z';
  return new Date(iso);
}

function hex(bytes, node) {
  let h = '';
  for (let i = node.start; i < node.end; i++) h += bytes[i].toString(16).padStart(2, '0');
  return h.replace(/^00(?=.)/, '');
}

// One DER certificate -> { subject, issuer, serial, notBefore, notAfter }.
export function parseCert(bytes) {
  const cert = der(bytes, 0);
  const tbs = children(bytes, cert)[0];
  let f = children(bytes, tbs);
  if (f[0].tag === 0xa0) f = f.slice(1); // explicit version
  const [serial, , issuer, validity, subject] = f;
  const [nb, na] = children(bytes, validity);
  return { serial: hex(bytes, serial), issuer: name(bytes, issuer), subject: name(bytes, subject),
    notBefore: time(bytes, nb), notAfter: time(bytes, na) };
}

// Every CERTIFICATE of a PEM text, in order (leaf first for a fullchain). Unreadable ones are
// returned as { error }.
export function parseChain(pem) {
  const out = [];
  const re = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
  let m;
  while ((m = re.exec(pem || '')) !== null) {
    try {
      const bin = atob(m[1].replace(/\s+/g, ''));
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      out.push(parseCert(bytes));
    } catch (e) {
      out.push({ error: 'unreadable certificate: ' + e.message });
    }
  }
  return out;
}
