// weft's shared page script: the API client, DOM helpers, the theme and
// tenant pickers and sign-out. Everything a page shows of the API's data
// goes through el()/text nodes: never innerHTML, so a value is text
// whatever it holds.
'use strict';
(function () {
  const meta = (name) => { const m = document.querySelector('meta[name="' + name + '"]'); return m ? m.getAttribute('content') : ''; };
  const csrf = meta('weft-csrf');
  const user = meta('weft-user');

  // ApiError is a refusal of the API: status, code and its message.
  class ApiError extends Error {
    constructor(status, code, message, body) { super(message); this.status = status; this.code = code; this.body = body; }
  }

  function tenant() { try { return localStorage.getItem('weft.tenant') || ''; } catch (e) { return ''; } }

  // api calls the JSON API as the signed-in session: the tenant picked,
  // and the CSRF token on every change. A 401 sends the browser to the
  // sign-in page, to come back here.
  async function api(method, path, opts) {
    opts = opts || {};
    const headers = Object.assign({ 'Accept': 'application/json' }, opts.headers || {});
    const t = tenant();
    if (t) headers['Weft-Tenant'] = t;
    if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf;
    let body;
    if (opts.body !== undefined) { headers['Content-Type'] = 'application/json'; body = JSON.stringify(opts.body); }
    let resp;
    try {
      resp = await fetch(path, { method, headers, body, credentials: 'same-origin', signal: opts.signal });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(0, 'network', 'weft did not answer (' + e.message + '); check that the server is running, then retry');
    }
    if (resp.status === 401 && !opts.noRedirect) {
      location.assign('/signin?next=' + encodeURIComponent(location.pathname + location.search + location.hash));
      throw new ApiError(401, 'unauthenticated', 'signed out');
    }
    let data = null;
    const ct = resp.headers.get('Content-Type') || '';
    if (resp.status !== 204 && ct.includes('json')) data = await resp.json();
    if (!resp.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(resp.status, err.code || String(resp.status), err.message || ('the server answered ' + resp.status), data);
    }
    return { status: resp.status, data, headers: resp.headers };
  }

  // el builds an element: attrs are attributes (class, data-*, aria-*,
  // href…); children are nodes or strings, which become text. An event
  // handler attribute or a link that is not a path of this site is refused.
  function el(tag, attrs, ...children) {
    const n = document.createElement(tag);
    setAttrs(n, attrs);
    append(n, children);
    return n;
  }
  const SVGNS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, ...children) {
    const n = document.createElementNS(SVGNS, tag);
    setAttrs(n, attrs);
    append(n, children);
    return n;
  }
  function setAttrs(n, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (/^on/i.test(k)) throw new Error('el: event handler attribute ' + k + ' refused');
      if ((k === 'href' || k === 'src') && !safeURL(String(v))) continue;
      n.setAttribute(k, v === true ? '' : String(v));
    }
  }
  function append(n, children) {
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      n.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    }
  }
  // safeURL: a path of this site only ("/incidents/7"), never
  // "javascript:", "//other" or another scheme.
  function safeURL(u) { return u.startsWith('/') && !u.startsWith('//') && !u.startsWith('/\\'); }
  function clear(n) { while (n.firstChild) n.removeChild(n.firstChild); return n; }
  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.from((root || document).querySelectorAll(sel)); }

  // Priority bands are Defender's (priority.Band): top above 85, low
  // below 15, medium otherwise.
  function band(score) {
    if (score === null || score === undefined) return 'none';
    return score > 85 ? 'top' : score < 15 ? 'low' : 'medium';
  }
  function factorsText(inc) {
    if (inc.priorityScore === null || inc.priorityScore === undefined) return 'Not scored yet';
    const lines = ['Priority ' + inc.priorityScore + ' (' + band(inc.priorityScore) + ' band)'];
    for (const f of inc.priorityFactors || []) lines.push((f.points >= 0 ? '+' : '') + f.points + '  ' + f.name + (f.detail ? ': ' + f.detail : ''));
    return lines.join('\n');
  }
  function priorityBadge(inc) {
    const s = inc.priorityScore;
    const b = el('span', { class: 'prio ' + band(s), tabindex: '0', 'aria-label': 'priority ' + (s === null || s === undefined ? 'not scored' : s) }, s === null || s === undefined ? '–' : String(s));
    b.title = factorsText(inc);
    return b;
  }
  function severity(s) { return el('span', { class: 'sev ' + s }, s || 'unknown'); }
  function chips(list, max) {
    const box = el('span', { class: 'chips' });
    const items = list || [];
    for (const x of items.slice(0, max || items.length)) {
      const c = el('span', { class: 'chip' }, x);
      c.title = x;
      box.appendChild(c);
    }
    if (max && items.length > max) {
      const more = el('span', { class: 'more' }, '+' + (items.length - max));
      more.title = items.slice(max).join('\n');
      box.appendChild(more);
    }
    return box;
  }
  function time(iso) {
    if (!iso || iso.startsWith('0001-')) return '–';
    const d = new Date(iso);
    return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }
  function ago(iso) {
    if (!iso || iso.startsWith('0001-')) return '–';
    const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
    if (s < 60) return s <= 1 ? 'just now' : s + ' s ago';
    if (s < 3600) return Math.round(s / 60) + ' min ago';
    if (s < 86400) return Math.round(s / 3600) + ' h ago';
    return Math.round(s / 86400) + ' d ago';
  }
  function timeEl(iso) { const t = el('time', { datetime: iso }, ago(iso)); t.title = time(iso); return t; }

  // notice shows a message under the top bar (kind: '' or 'error').
  let noticeTimer;
  function notice(msg, kind) {
    const n = $('#notice');
    if (!n) return;
    n.textContent = msg;
    n.className = 'notice' + (kind ? ' ' + kind : '');
    n.hidden = !msg;
    clearTimeout(noticeTimer);
    if (msg && kind !== 'error') noticeTimer = setTimeout(() => { n.hidden = true; }, 6000);
  }

  // Classifications and the determinations that fit each (docs/api.md,
  // "Validation").
  const determinations = {
    unknown: ['unknown'],
    truePositive: ['unknown', 'multiStagedAttack', 'maliciousUserActivity', 'compromisedAccount', 'malware', 'phishing', 'unwantedSoftware', 'other'],
    informationalExpectedActivity: ['unknown', 'securityTesting', 'lineOfBusinessApplication', 'confirmedActivity', 'other'],
    falsePositive: ['unknown', 'notMalicious', 'notEnoughDataToValidate', 'other'],
  };
  function fillClassification(classSel, detSel, cls, det) {
    clear(classSel);
    for (const c of Object.keys(determinations)) classSel.appendChild(el('option', { value: c }, c));
    classSel.value = determinations[cls] ? cls : 'unknown';
    const fill = (keep) => {
      clear(detSel);
      for (const d of determinations[classSel.value]) detSel.appendChild(el('option', { value: d }, d));
      detSel.value = determinations[classSel.value].includes(keep) ? keep : 'unknown';
    };
    fill(det);
    classSel.onchange = () => fill(detSel.value);
  }

  // stream follows GET /api/v1/events with fetch, so that the tenant
  // header goes with it (EventSource cannot send headers), and resumes
  // after a drop from the last event id, as EventSource would. onOpen,
  // when given, is called each time the stream is (re)connected.
  function stream(query, onEvent, onOpen) {
    let last = '', stopped = false, ctrl;
    async function run() {
      while (!stopped) {
        ctrl = new AbortController();
        try {
          const headers = { 'Accept': 'text/event-stream' };
          const t = tenant();
          if (t) headers['Weft-Tenant'] = t;
          if (last) headers['Last-Event-ID'] = last;
          const resp = await fetch('/api/v1/events' + (query ? '?' + query : ''), { headers, credentials: 'same-origin', signal: ctrl.signal });
          if (resp.status === 401) { stopped = true; return; }
          if (!resp.ok || !resp.body) throw new Error('events: ' + resp.status);
          if (onOpen) onOpen();
          const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
          let buf = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += value;
            let i;
            while ((i = buf.indexOf('\n\n')) >= 0) {
              const frame = buf.slice(0, i); buf = buf.slice(i + 2);
              let id = '', type = 'message', data = '';
              for (const line of frame.split('\n')) {
                if (line.startsWith('id:')) id = line.slice(3).trim();
                else if (line.startsWith('event:')) type = line.slice(6).trim();
                else if (line.startsWith('data:')) data += line.slice(5).trim();
              }
              if (type === 'end') { stopped = true; return; }
              if (id) last = id;
              if (data) { try { onEvent(JSON.parse(data)); } catch (e) { /* a frame that is not JSON is skipped */ } }
            }
          }
        } catch (e) {
          if (stopped) return;
        }
        await new Promise((r) => setTimeout(r, 3000));
      }
    }
    run();
    return { stop() { stopped = true; if (ctrl) ctrl.abort(); } };
  }

  // The theme: system (prefers-color-scheme), light or dark, kept in
  // localStorage; the toggle cycles through them.
  function applyTheme(t) {
    if (t === 'light' || t === 'dark') document.documentElement.dataset.theme = t; else delete document.documentElement.dataset.theme;
    const b = $('#theme-toggle');
    if (b) b.textContent = 'Theme: ' + (t || 'system');
  }
  // The choice is also kept in a cookie, which the server reads to set
  // the theme on <html> before the first paint (no flash of the light
  // theme); a theme kept only in localStorage from before is copied to it.
  function saveThemeCookie(t) {
    document.cookie = 'weft-theme=' + (t || '') + '; path=/; max-age=' + (t ? 31536000 : 0) + '; SameSite=Lax' + (location.protocol === 'https:' ? '; Secure' : '');
  }
  function initTheme() {
    let t = '';
    try { t = localStorage.getItem('weft.theme') || ''; } catch (e) { /* storage off */ }
    const served = document.documentElement.dataset.theme || '';
    applyTheme(t);
    if (served !== t) saveThemeCookie(t);
    const b = $('#theme-toggle');
    if (b) b.addEventListener('click', () => {
      const next = t === '' ? 'dark' : t === 'dark' ? 'light' : '';
      t = next;
      try { localStorage.setItem('weft.theme', t); } catch (e) { /* storage off */ }
      saveThemeCookie(t);
      applyTheme(t);
    });
  }

  async function initTenants() {
    if (!user || document.body.dataset.page === 'signin') return;
    try {
      const { data } = await api('GET', '/api/v1/tenants');
      const ts = (data && data.value) || [];
      // A tenant picked before and no longer held is forgotten.
      if (tenant() && !ts.some((t) => t.id === tenant())) {
        try { localStorage.removeItem('weft.tenant'); } catch (e) { /* storage off */ }
        location.reload();
        return;
      }
      if (ts.length < 2) return;
      const sel = $('#tenant');
      for (const t of ts) sel.appendChild(el('option', { value: t.id }, t.name || t.id));
      sel.value = tenant() || 'default';
      sel.closest('label').hidden = false;
      sel.addEventListener('change', () => {
        try { localStorage.setItem('weft.tenant', sel.value === 'default' ? '' : sel.value); } catch (e) { /* storage off */ }
        location.assign('/incidents');
      });
    } catch (e) { /* the picker stays hidden */ }
  }

  function initSignOut() {
    const b = $('#signout');
    if (!b) return;
    b.addEventListener('click', async () => {
      try { await api('POST', '/api/v1/auth/logout', { noRedirect: true }); } catch (e) { /* signed out already */ }
      location.assign('/signin');
    });
  }

  document.addEventListener('DOMContentLoaded', () => { initTheme(); initSignOut(); initTenants(); });

  window.weft = { api, ApiError, el, svg, clear, $, $$, safeURL, band, factorsText, priorityBadge, severity, chips, time, ago, timeEl, notice, user, csrf, determinations, fillClassification, stream };
})();
