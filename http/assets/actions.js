// The action center: the actions waiting for a second responder (approve
// or reject, with a comment; a requester may only cancel their own) and
// the history of every action with the API's filters, paging, the CSV
// export and each action's log in a side pane. The lists refresh every
// few seconds while the page is visible. Every decision is the API's to
// allow: a refusal (403, 409) is shown with its message.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  const w = window.weft, R = window.weftRespond;
  const { api, el, $, clear } = w;
  const root = $('#action-center');
  if (!root) return;
  const PAGE = 50;
  let tab = root.dataset.tab;
  let page = Number(root.dataset.pageNumber) || 1;
  let defs = new Map();
  let paneId = '';

  const incidentLink = (a) => a.incidentId ? el('a', { href: '/incidents/' + encodeURIComponent(a.incidentId) }, a.incidentId) : el('span', { class: 'muted' }, '–');
  const targetCell = (a) => {
    const td = el('td', { class: 'wrap' }, el('a', { href: R.entityHref(a.entityType, a.target) }, a.targetName || a.target));
    td.title = a.entityType + ' ' + a.target;
    return td;
  };
  const typeCell = (a) => {
    const ps = Object.entries(a.parameters || {}).map(([k, v]) => k + '=' + v).join(', ');
    return el('td', null, el('strong', null, a.type), ps ? el('div', { class: 'muted' }, ps) : null);
  };

  function showTab(name) {
    tab = name;
    for (const t of ['pending', 'history']) {
      $('#tab-' + t).setAttribute('aria-selected', String(t === name));
      $('#panel-' + t).hidden = t !== name;
    }
    const u = new URL(location.href);
    u.searchParams.set('tab', name);
    history.replaceState(null, '', u.pathname + u.search);
    refresh();
  }
  for (const t of ['pending', 'history']) $('#tab-' + t).addEventListener('click', () => showTab(t));

  function fail(e) {
    const s = $('#actions-state');
    s.textContent = 'The actions could not be loaded: ' + e.message;
    s.className = 'state error';
    s.hidden = false;
  }

  // decide posts a decision with its comment and says what came of it.
  async function decide(a, what, comment) {
    try {
      const r = await api('POST', '/api/v1/actions/' + encodeURIComponent(a.id) + '/' + what, { body: { comment: comment || '' } });
      const verb = { approve: 'approved', reject: 'rejected', cancel: 'cancelled', undo: 'undo requested' }[what];
      w.notice(what === 'undo'
        ? 'Undo of action ' + a.id + ' requested: ' + r.data.type + ' (action ' + r.data.id + ') is ' + r.data.status + (r.data.status === 'pendingApproval' ? ', waiting for another responder.' : '.')
        : 'Action ' + a.id + ' ' + verb + '.');
      await refresh();
      if (paneId) showPane(paneId);
    } catch (e) {
      w.notice('Action ' + a.id + ' was not ' + what + (what.endsWith('e') ? 'd' : 'ed') + ': ' + e.message, 'error');
    }
  }

  // ---- pending -------------------------------------------------------------
  // The pending list pages as the history does, PAGE at a time, so that
  // no action waiting for a decision is silently left out; a page past
  // the end (after decisions emptied it) falls back to the last one.
  let pendingPage = 1;
  async function loadPending() {
    const tb = $('#pending-table tbody');
    let data;
    const read = () => api('GET', '/api/v1/actions?status=pendingApproval&$top=' + PAGE + '&$skip=' + (pendingPage - 1) * PAGE + '&$count=true');
    try {
      ({ data } = await read());
      const last = Math.max(1, Math.ceil((data['@odata.count'] || 0) / PAGE));
      if (pendingPage > last) { pendingPage = last; ({ data } = await read()); }
    } catch (e) { fail(e); return; }
    $('#actions-state').hidden = true;
    const count = data['@odata.count'] || 0, pages = Math.max(1, Math.ceil(count / PAGE));
    $('#p-pager').hidden = pages <= 1;
    $('#p-page-info').textContent = data.value.length ? ((pendingPage - 1) * PAGE + 1) + '–' + ((pendingPage - 1) * PAGE + data.value.length) + ' of ' + count + ' · page ' + pendingPage + ' of ' + pages : '';
    $('#p-prev').disabled = pendingPage <= 1;
    $('#p-next').disabled = pendingPage >= pages;
    // A comment being typed survives the refresh.
    const typed = new Map([...tb.querySelectorAll('input[data-comment]')].map((i) => [i.dataset.comment, i.value]));
    clear(tb);
    $('#pending-count').textContent = data['@odata.count'] ? String(data['@odata.count']) : '';
    for (const a of data.value) {
      const decideCell = el('td', { class: 'decide' });
      if (R.mine(a.requestedBy)) {
        const cancel = el('button', { type: 'button', 'data-do': 'cancel' }, 'Cancel');
        cancel.addEventListener('click', () => decide(a, 'cancel', ''));
        decideCell.append(el('div', { class: 'muted own' }, 'Your request: another responder must approve it.'), cancel);
      } else {
        const c = el('input', { type: 'text', 'data-comment': a.id, placeholder: 'comment', size: '16', 'aria-label': 'Comment on action ' + a.id });
        c.value = typed.get(a.id) || '';
        const ok = el('button', { type: 'button', class: 'primary', 'data-do': 'approve' }, 'Approve');
        const no = el('button', { type: 'button', 'data-do': 'reject' }, 'Reject');
        ok.addEventListener('click', () => decide(a, 'approve', c.value));
        no.addEventListener('click', () => decide(a, 'reject', c.value));
        decideCell.append(c, ' ', ok, ' ', no);
      }
      const open = el('button', { type: 'button', class: 'link' }, w.time(a.createdDateTime));
      open.addEventListener('click', () => showPane(a.id));
      tb.appendChild(el('tr', { 'data-id': a.id }, el('td', null, open), typeCell(a), targetCell(a), el('td', null, incidentLink(a)),
        el('td', null, R.who(a.requestedBy)), el('td', { class: 'wrap' }, a.comment || '–'), decideCell));
    }
    if (!data.value.length) tb.appendChild(el('tr', null, el('td', { colspan: '7', class: 'muted' }, 'Nothing waits for approval.')));
    document.body.dataset.actionsLoaded = String(Date.now());
  }

  $('#p-prev').addEventListener('click', () => { if (pendingPage > 1) { pendingPage--; refresh(); } });
  $('#p-next').addEventListener('click', () => { pendingPage++; refresh(); });

  // ---- history ---------------------------------------------------------------
  // filters are the history form's values as the API's query parameters.
  function filters() {
    const f = $('#action-filters'), q = new URLSearchParams();
    const statuses = [...f.querySelectorAll('input[name=status]:checked')].map((i) => i.value);
    if (statuses.length) q.set('status', statuses.join(','));
    for (const k of ['type', 'entityType', 'target', 'incidentId', 'requestedBy']) {
      const v = f.elements[k].value.trim();
      if (v) q.set(k, v);
    }
    return q;
  }
  async function loadHistory() {
    const tb = $('#history-table tbody');
    const q = filters();
    $('#export-csv').setAttribute('href', '/api/v1/actions/export.csv' + (q.toString() ? '?' + q : ''));
    q.set('$top', String(PAGE)); q.set('$skip', String((page - 1) * PAGE)); q.set('$count', 'true');
    let data;
    try { ({ data } = await api('GET', '/api/v1/actions?' + q)); } catch (e) { fail(e); return; }
    $('#actions-state').hidden = true;
    clear(tb);
    for (const a of data.value) {
      const def = defs.get(a.type);
      const ops = el('td', { class: 'decide' });
      if (a.status === 'succeeded' && def && def.inverse && !a.undoneBy) {
        const b = el('button', { type: 'button', 'data-do': 'undo' }, 'Undo (' + def.inverse + ')');
        b.addEventListener('click', () => decide(a, 'undo', ''));
        ops.appendChild(b);
      }
      if (a.status === 'pendingApproval' || a.status === 'approved') {
        const b = el('button', { type: 'button', 'data-do': 'cancel' }, 'Cancel');
        b.addEventListener('click', () => decide(a, 'cancel', ''));
        ops.appendChild(b);
      }
      const open = el('button', { type: 'button', class: 'link' }, a.id);
      open.addEventListener('click', () => showPane(a.id));
      tb.appendChild(el('tr', { 'data-id': a.id, 'data-status': a.status, class: a.id === paneId ? 'cursor' : '' }, el('td', null, open), el('td', null, R.statusChip(a.status)),
        typeCell(a), targetCell(a), el('td', null, incidentLink(a)), el('td', null, R.who(a.requestedBy)), el('td', null, R.who(a.decidedBy)),
        el('td', null, w.timeEl(a.createdDateTime)), el('td', null, w.timeEl(a.lastUpdateDateTime)), ops));
    }
    if (!data.value.length) tb.appendChild(el('tr', null, el('td', { colspan: '10', class: 'muted' }, 'No action matches these filters.')));
    const n = data['@odata.count'] || 0;
    $('#a-page-info').textContent = n ? ((page - 1) * PAGE + 1) + '–' + ((page - 1) * PAGE + data.value.length) + ' of ' + n : '0 actions';
    $('#a-prev').disabled = page <= 1;
    $('#a-next').disabled = !data['@odata.nextLink'];
    document.body.dataset.actionsLoaded = String(Date.now());
  }
  function goPage(p) {
    page = p;
    $('#a-page').value = String(p);
    const u = new URL(location.href);
    u.searchParams.set('page', String(p));
    history.replaceState(null, '', u.pathname + u.search);
    loadHistory();
  }
  $('#a-prev').addEventListener('click', () => goPage(Math.max(1, page - 1)));
  $('#a-next').addEventListener('click', () => goPage(page + 1));
  // A new filter starts at its first page.
  $('#action-filters').addEventListener('submit', () => { $('#a-page').value = '1'; });

  // The export follows the filters; fetched with the tenant's header (a
  // plain link could not send it) and saved from a blob.
  $('#export-csv').addEventListener('click', async (ev) => {
    ev.preventDefault();
    const headers = {};
    try { const t = localStorage.getItem('weft.tenant'); if (t) headers['Weft-Tenant'] = t; } catch (e) { /* storage off */ }
    try {
      const resp = await fetch($('#export-csv').getAttribute('href'), { headers, credentials: 'same-origin' });
      if (!resp.ok) { const j = await resp.json().catch(() => null); throw new Error((j && j.error && j.error.message) || 'the server answered ' + resp.status); }
      const url = URL.createObjectURL(await resp.blob());
      const a = document.createElement('a');
      a.href = url; a.download = 'actions.csv';
      document.body.appendChild(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) { w.notice('The export failed: ' + e.message, 'error'); }
  });

  // ---- side pane: the action and its log -----------------------------------------
  async function showPane(id) {
    paneId = id;
    const pane = $('#action-pane');
    let a, log;
    try {
      const [x, y] = await Promise.all([api('GET', '/api/v1/actions/' + encodeURIComponent(id)), api('GET', '/api/v1/actions/' + encodeURIComponent(id) + '/log')]);
      a = x.data; log = y.data.value || [];
    } catch (e) { clear(pane).appendChild(el('p', { class: 'error' }, 'Action ' + id + ' could not be read: ' + e.message)); pane.hidden = false; return; }
    const dl = el('dl');
    const fact = (k, v) => dl.append(el('dt', null, k), el('dd', { class: 'break' }, v));
    fact('Status', R.statusChip(a.status));
    fact('Target', el('a', { href: R.entityHref(a.entityType, a.target) }, a.targetName || a.target));
    fact('Key', a.target);
    if (Object.keys(a.parameters || {}).length) fact('Parameters', Object.entries(a.parameters).map(([k, v]) => k + '=' + v).join(', '));
    fact('Incident', incidentLink(a));
    fact('Requested by', R.who(a.requestedBy));
    fact('Decided by', R.who(a.decidedBy));
    fact('Connector', (a.connector || '–') + (a.attempt ? ', attempt ' + a.attempt : ''));
    fact('Expires', w.time(a.expiresDateTime));
    if (a.undoOf) fact('Undoes', 'action ' + a.undoOf);
    if (a.undoneBy) fact('Undone by', 'action ' + a.undoneBy);
    if (a.comment) fact('Comment', a.comment);
    if (a.message) fact('Message', a.message);
    const list = el('ol', { class: 'activity action-log' });
    for (const e of log) {
      list.appendChild(el('li', { 'data-to': e.to }, el('div', { class: 'meta' }, w.time(e.createdDateTime), ' · ', R.who(e.actor), ' · ', (e.from ? e.from + ' → ' : '') + e.to, e.attempt ? ' (attempt ' + e.attempt + ')' : ''),
        e.message ? el('div', null, e.message) : null));
    }
    const close = el('button', { type: 'button' }, 'Close');
    close.addEventListener('click', () => { paneId = ''; pane.hidden = true; });
    clear(pane).append(el('h2', null, 'Action ' + a.id + ': ' + a.type), dl, el('h3', null, 'Log'), list, close);
    pane.dataset.actionId = a.id;
    pane.hidden = false;
  }

  // ---- refresh ------------------------------------------------------------------
  let busy = false;
  async function refresh() {
    if (busy) return;
    busy = true;
    try { if (tab === 'pending') await loadPending(); else await loadHistory(); } finally { busy = false; }
  }
  // Every few seconds while the page is visible, unless the analyst is
  // typing in a list (their comment is kept across a refresh, the focus
  // would not be).
  setInterval(() => {
    if (document.visibilityState !== 'visible') return;
    const f = document.activeElement;
    if (f && f.closest && f.closest('#pending-table, #action-filters') && f.tagName === 'INPUT') return;
    refresh();
    if (paneId && !$('#action-pane').hidden) showPane(paneId);
  }, 4000);
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') refresh(); });

  R.catalogue('').then((list) => { defs = new Map(list.map((d) => [d.type, d])); }).catch(() => { /* no undo buttons */ }).finally(() => refresh());
  // The pending count shows on the history tab too.
  api('GET', '/api/v1/actions?status=pendingApproval&$top=1&$count=true').then(({ data }) => { $('#pending-count').textContent = data['@odata.count'] ? String(data['@odata.count']) : ''; }).catch(() => {});
});
