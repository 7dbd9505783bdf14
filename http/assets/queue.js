// The incident queue page. The filter form is an ordinary GET form, so the
// page's address holds the whole view (a shareable, bookmarkable URL); this
// script turns the form's values into the API's $filter, $search,
// $orderby, $top and $skip, shows the rows, and keeps them current from
// the event stream without moving the analyst's place.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  const w = window.weft;
  const { api, el, $, $$, clear } = w;
  const PAGE = 50;
  const ALL_STATUSES = ['active', 'inProgress', 'awaitingAction', 'resolved'];
  const ALL_SEVERITIES = ['high', 'medium', 'low', 'informational', 'unknown'];
  const SORTS = { priority: 'priorityScore desc', updated: 'lastUpdateDateTime desc', created: 'createdDateTime desc', severity: 'severity desc, priorityScore desc', alerts: 'alertCount desc' };
  const SINCE = { '24h': 864e5, '7d': 7 * 864e5, '30d': 30 * 864e5 };

  const form = $('#filters'), table = $('#queue'), tbody = table.querySelector('tbody'), state = $('#queue-state');
  let rows = [];          // the incidents shown, in order
  let cursor = -1;        // the index of the row the keyboard is on
  const selected = new Set();
  let total = 0;
  const page = Math.max(1, parseInt(new URLSearchParams(location.search).get('page') || '1', 10) || 1);

  // OData string literal: quotes doubled.
  const lit = (s) => "'" + String(s).replace(/'/g, "''") + "'";
  const list = (s) => [...new Set(String(s || '').split(',').map((x) => x.trim()).filter(Boolean))];
  const checked = (name) => $$('input[name="' + name + '"]:checked', form).map((i) => i.value);

  // query builds the API query of the form's view.
  function query(skip) {
    const f = new FormData(form);
    const terms = [];
    const statuses = checked('status');
    terms.push('status in (' + (statuses.length ? statuses : ALL_STATUSES).map(lit).join(', ') + ')');
    const sevs = checked('severity');
    if (sevs.length && sevs.length < ALL_SEVERITIES.length) terms.push('severity in (' + sevs.map(lit).join(', ') + ')');
    const assigned = String(f.get('assigned') || '').trim();
    if (assigned === 'me') terms.push('assignedTo eq ' + lit(w.user));
    else if (assigned === 'none') terms.push('assignedTo eq null');
    else if (assigned) terms.push('assignedTo eq ' + lit(assigned));
    const any = (field, v, values) => { if (values.length) terms.push(field + '/any(' + v + ': ' + v + ' in (' + values.map(lit).join(', ') + '))'); };
    any('customTags', 't', list(f.get('tags')));
    any('categories', 'c', list(f.get('categories')));
    any('serviceSources', 's', list(f.get('sources')));
    any('deviceGroups', 'g', list(f.get('groups')));
    any('entities', 'e', list(f.get('entities')));
    const one = (field, name) => { const v = String(f.get(name) || ''); if (v) terms.push(field + ' eq ' + lit(v)); };
    one('classification', 'classification');
    one('determination', 'determination');
    // A minimum the control cannot hold (not a whole number in range) is
    // left out, as the server leaves it out of the form it shows.
    const min = (field, name, lo, hi) => {
      const raw = String(f.get(name) || '').trim();
      const n = Number(raw);
      if (raw !== '' && Number.isInteger(n) && n >= lo && n <= hi) terms.push(field + ' ge ' + n);
    };
    min('priorityScore', 'minPriority', 0, 100);
    min('alertCount', 'minAlerts', 1, 1e6);
    const multi = String(f.get('multi') || '');
    if (multi === 'yes' || multi === 'no') terms.push('multipleSources eq ' + (multi === 'yes'));
    const since = SINCE[f.get('since')];
    if (since) terms.push('lastActivityDateTime ge ' + new Date(Date.now() - since).toISOString().replace(/\.\d+Z$/, 'Z'));
    const p = new URLSearchParams();
    p.set('$filter', terms.join(' and '));
    const search = String(f.get('search') || '').trim();
    if (search) p.set('$search', search);
    p.set('$orderby', SORTS[f.get('sort')] || SORTS.priority);
    p.set('$top', String(PAGE));
    p.set('$skip', String(skip));
    p.set('$count', 'true');
    return p.toString();
  }

  function showState(msg, kind, action) {
    clear(state);
    state.className = 'state' + (kind ? ' ' + kind : '');
    state.appendChild(el('p', null, msg));
    if (action) state.appendChild(action);
    state.hidden = false;
  }

  // load reads the view's page and shows it. The incident the cursor is
  // on (keepId; the current one when not given) keeps the cursor, and
  // the focus if a control of its row had it; the row the analyst looks
  // at (that one, else the first on screen) stays where it was on the
  // screen, so rows that move around it do not move the analyst's place.
  // live marks the rows not shown before (data-new) so they stand out.
  let loadSeq = 0;
  async function load(opts) {
    opts = opts || {};
    const started = performance.now();
    const seq = ++loadSeq;
    if (!rows.length) showState('Loading incidents…');
    let data;
    try {
      ({ data } = await api('GET', '/api/v1/incidents?' + query((page - 1) * PAGE)));
    } catch (e) {
      if (seq !== loadSeq) return;
      if (opts.live) return; // a live re-read that failed leaves the rows as they were
      table.hidden = true; $('#pager').hidden = true;
      const retry = el('button', { type: 'button' }, 'Retry');
      retry.addEventListener('click', () => load());
      showState(e.status === 400 ? 'The queue refused this view: ' + e.message + '. Change the filters or Reset them.' : 'The queue could not be loaded: ' + e.message, 'error', retry);
      return;
    }
    if (seq !== loadSeq) return; // a later read supersedes this one
    const keepId = opts.keepId !== undefined ? opts.keepId : (cursor >= 0 && rows[cursor] ? rows[cursor].id : '');
    const place = placeOf(keepId);
    const before = new Map(rows.map((r) => [r.id, r.version]));
    const shownBefore = rows.length > 0;
    rows = data.value || [];
    total = data['@odata.count'] || 0;
    render();
    if (opts.live && shownBefore) {
      for (const tr of $$('tr', tbody)) {
        const id = tr.dataset.id;
        if (!before.has(id)) tr.dataset.new = 'true';
        else if (before.get(id) !== rows.find((r) => r.id === id).version) tr.classList.add('flash');
      }
    }
    cursor = keepId ? rows.findIndex((r) => r.id === keepId) : -1;
    if (cursor >= 0) moveCursor(cursor, false);
    else if (keepId && !$('#pane').hidden) $('#pane').prepend(el('p', { class: 'state', id: 'pane-gone' }, 'This incident is no longer in this view.'));
    restorePlace(place);
    // For measurement (the browser suite reads them): how long this load
    // took, and the time from navigation to the first rows shown.
    document.body.dataset.queueRenderMs = String(Math.round(performance.now() - started));
    if (!document.body.dataset.queueFirstRenderMs) document.body.dataset.queueFirstRenderMs = String(Math.round(performance.now()));
    document.body.dataset.queueLoaded = 'true';
    document.body.dataset.queueLoads = String(Number(document.body.dataset.queueLoads || 0) + 1);
  }

  // placeOf notes the analyst's place before the rows are replaced: the
  // rows to keep on screen, in order of preference (the cursor's, then the
  // first visible one, for when the cursor's leaves the view) with their
  // distance from the top of the window, and which control of a row has
  // the focus.
  function placeOf(keepId) {
    const trs = $$('tr', tbody);
    const anchors = [keepId ? trs.find((t) => t.dataset.id === keepId) : null, trs.find((t) => t.getBoundingClientRect().bottom > 0)]
      .filter(Boolean).map((t) => ({ id: t.dataset.id, top: t.getBoundingClientRect().top }));
    const a = document.activeElement;
    const focusTr = a && tbody.contains(a) ? a.closest('tr') : null;
    return {
      anchors,
      focusId: focusTr ? focusTr.dataset.id : '',
      focusWhat: !focusTr ? '' : a === focusTr ? 'row' : a.matches('input[type=checkbox]') ? 'box' : a.matches('a') ? 'link' : 'row',
    };
  }
  function restorePlace(p) {
    const find = (id) => (id ? tbody.querySelector('tr[data-id="' + CSS.escape(id) + '"]') : null);
    for (const at of p.anchors) {
      const tr = find(at.id);
      if (!tr) continue;
      const dy = tr.getBoundingClientRect().top - at.top;
      if (dy) window.scrollBy(0, dy);
      break;
    }
    const ftr = find(p.focusId);
    if (ftr) {
      const target = p.focusWhat === 'box' ? ftr.querySelector('input[type=checkbox]') : p.focusWhat === 'link' ? ftr.querySelector('td.name a') : ftr;
      target.focus({ preventScroll: true });
    }
  }

  function render() {
    clear(tbody);
    // The selection is of rows shown: an incident that left the view
    // (resolved by a bulk change, re-ranked off the page, filtered out)
    // is never changed by a later bulk action the analyst cannot see.
    const shown = new Set(rows.map((r) => r.id));
    for (const id of [...selected]) if (!shown.has(id)) selected.delete(id);
    if (!rows.length) {
      table.hidden = true;
      const reset = el('a', { href: '/incidents', class: 'button' }, 'Reset the filters');
      showState(page > 1 && total > 0 ? 'This page is past the last incident of the view.' : 'No incident matches this view. Widen the filters (status, severity, time range) or reset them.', '', reset);
    } else {
      state.hidden = true;
      table.hidden = false;
      for (const inc of rows) tbody.appendChild(row(inc));
    }
    const pages = Math.max(1, Math.ceil(total / PAGE));
    $('#pager').hidden = total <= PAGE && page === 1;
    $('#page-info').textContent = rows.length ? ((page - 1) * PAGE + 1) + '–' + ((page - 1) * PAGE + rows.length) + ' of ' + total + ' · page ' + page + ' of ' + pages : '';
    $('#prev').disabled = page <= 1;
    $('#next').disabled = page >= pages;
    $('#select-all').checked = rows.length > 0 && rows.every((r) => selected.has(r.id));
    updateBulk();
  }

  function row(inc) {
    const tr = el('tr', { 'data-id': inc.id, tabindex: '-1' });
    fillRow(tr, inc);
    return tr;
  }
  function fillRow(tr, inc) {
    clear(tr);
    const box = el('input', { type: 'checkbox', 'aria-label': 'Select incident ' + inc.id });
    box.checked = selected.has(inc.id);
    box.addEventListener('change', () => { toggle(inc.id, box.checked); });
    const name = el('a', { href: '/incidents/' + encodeURIComponent(inc.id) }, inc.displayName);
    tr.append(
      el('td', { class: 'sel' }, box),
      el('td', null, w.priorityBadge(inc)),
      el('td', { class: 'name' }, name, ' ', el('span', { class: 'muted' }, '#' + inc.id)),
      el('td', null, w.severity(inc.severity)),
      el('td', null, inc.status),
      el('td', { class: 'assignee' }, inc.assignedTo || el('span', { class: 'muted' }, 'unassigned')),
      el('td', { class: 'opt' }, w.chips(inc.customTags, 3)),
      el('td', { class: 'opt' }, w.chips(inc.categories, 2)),
      el('td', { class: 'opt' }, w.chips((inc.impactedEntities || []).map((e) => e.name || e.key), 2)),
      el('td', { class: 'opt' }, w.chips(inc.serviceSources, 2)),
      el('td', { class: 'num' }, String(inc.alertCount)),
      el('td', null, w.timeEl(inc.lastActivityDateTime)),
    );
  }

  tbody.addEventListener('click', (ev) => {
    if (ev.target.closest('a, input, button')) return;
    const tr = ev.target.closest('tr');
    if (tr) moveCursor(rows.findIndex((r) => r.id === tr.dataset.id), true);
  });

  function moveCursor(i, focus) {
    if (i < 0 || i >= rows.length) return;
    const trs = $$('tr', tbody);
    trs.forEach((t) => t.classList.remove('cursor'));
    cursor = i;
    const tr = trs[i];
    tr.classList.add('cursor');
    if (focus) { tr.focus({ preventScroll: true }); tr.scrollIntoView({ block: 'nearest' }); }
    showPane(rows[i]);
  }

  // The side pane: the summary of the incident under the cursor.
  function showPane(inc) {
    const pane = $('#pane');
    clear(pane);
    const facts = el('dl', null);
    const fact = (k, v) => facts.append(el('dt', null, k), el('dd', null, v));
    fact('Severity', w.severity(inc.severity));
    fact('Status', inc.status);
    fact('Assigned to', inc.assignedTo || 'unassigned');
    fact('Classification', inc.classification + (inc.determination && inc.determination !== 'unknown' ? ' · ' + inc.determination : ''));
    fact('Alerts', String(inc.alertCount));
    fact('First activity', w.time(inc.firstActivityDateTime));
    fact('Last activity', w.time(inc.lastActivityDateTime));
    fact('Created', w.time(inc.createdDateTime));
    fact('Sources', (inc.serviceSources || []).join(', ') || '–');
    fact('Detection', (inc.detectionSources || []).join(', ') || '–');
    const factors = el('ul', { class: 'factors' });
    for (const f of inc.priorityFactors || []) factors.appendChild(el('li', null, (f.points >= 0 ? '+' : '') + f.points + ' ' + f.name + (f.detail ? ': ' + f.detail : '')));
    const assets = el('ul', { class: 'factors' });
    for (const e of (inc.impactedEntities || []).slice(0, 20)) assets.appendChild(el('li', null, el('span', { class: 'muted' }, e.entityType + ' '), e.name || e.key));
    if ((inc.impactedEntities || []).length > 20) assets.appendChild(el('li', { class: 'muted' }, 'and ' + (inc.impactedEntities.length - 20) + ' more'));
    pane.append(
      el('h2', null, w.priorityBadge(inc), ' ', inc.displayName),
      el('p', null, el('a', { href: '/incidents/' + encodeURIComponent(inc.id), class: 'button primary' }, 'Open incident ' + inc.id)),
      facts,
      el('h3', null, 'Why this priority'), factors.childNodes.length ? factors : el('p', { class: 'muted' }, 'Not scored yet.'),
      el('h3', null, 'Categories'), w.chips(inc.categories),
      el('h3', null, 'Tags'), (inc.customTags || []).length ? w.chips(inc.customTags) : el('p', { class: 'muted' }, 'No tags.'),
      el('h3', null, 'Impacted assets'), assets,
      inc.description ? el('p', null, inc.description) : null,
    );
    pane.hidden = false;
  }

  // Selection and bulk changes.
  function toggle(id, on) {
    if (on) selected.add(id); else selected.delete(id);
    const tr = tbody.querySelector('tr[data-id="' + CSS.escape(id) + '"]');
    if (tr) tr.querySelector('input[type=checkbox]').checked = on;
    updateBulk();
  }
  function updateBulk() {
    $('#bulk').hidden = selected.size === 0;
    $('#bulk-count').textContent = selected.size + ' selected';
  }
  $('#select-all').addEventListener('change', (ev) => { for (const r of rows) toggle(r.id, ev.target.checked); });
  $('#bulk-clear').addEventListener('click', () => { for (const id of [...selected]) toggle(id, false); });
  w.fillClassification($('#bulk-classify select[name=classification]'), $('#bulk-classify select[name=determination]'), 'truePositive', 'unknown');

  // selectedRows are the selected incidents, in the order shown: what
  // every bulk action changes (render keeps the selection to rows shown).
  const selectedRows = () => rows.filter((r) => selected.has(r.id));
  // Bulk changes run one after the other, each after the reload that
  // follows the one before: a change made while that reload is on its way
  // would otherwise go to the rows as they were, and a tag, sent with the
  // version shown (If-Match), be refused as a conflict with the change the
  // analyst had just made.
  let bulkBusy = false;
  let bulkQueue = Promise.resolve();
  function serial(fn) {
    const run = bulkQueue.then(async () => {
      bulkBusy = true;
      try { await fn(); } finally { bulkBusy = false; }
    });
    bulkQueue = run.catch(() => {});
    return run;
  }
  function bulk(changes) {
    return serial(async () => {
      const ids = selectedRows().map((r) => r.id);
      if (!ids.length) { w.notice('Select the incidents to change first.', 'error'); return; }
      try {
        const { data } = await api('PATCH', '/api/v1/incidents', { body: { incidentIds: ids, changes } });
        report(data.succeeded, (data.value || []).filter((r) => r.error).map((r) => '#' + r.id + ': ' + r.error.message));
      } catch (e) { w.notice('The change was refused: ' + e.message, 'error'); }
      await load();
    });
  }
  function report(ok, failures) {
    w.notice(ok + ' incident' + (ok === 1 ? '' : 's') + ' changed' + (failures.length ? '; ' + failures.length + ' refused: ' + failures.join('; ') : '.'), failures.length ? 'error' : '');
  }
  $('#bulk-assign').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = ev.target.assignee.value.trim();
    bulk({ assignedTo: v === 'me' ? w.user : v });
  });
  $('#bulk-status').addEventListener('submit', (ev) => { ev.preventDefault(); bulk({ status: ev.target.status.value }); });
  $('#bulk-classify').addEventListener('submit', (ev) => { ev.preventDefault(); bulk({ classification: ev.target.classification.value, determination: ev.target.determination.value }); });
  // A tag is added to each incident's own list (customTags replaces the
  // list), each change sent with the version shown (If-Match).
  $('#bulk-tag').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const tag = ev.target.tag.value.trim();
    if (!tag) return;
    ev.target.tag.value = '';
    serial(async () => {
      const incs = selectedRows();
      if (!incs.length) { w.notice('Select the incidents to change first.', 'error'); return; }
      let ok = 0; const failures = [];
      for (const inc of incs) {
        const id = inc.id;
        const tags = inc.customTags || [];
        if (tags.some((t) => t.toLowerCase() === tag.toLowerCase())) { ok++; continue; }
        try {
          await api('PATCH', '/api/v1/incidents/' + encodeURIComponent(id), { body: { customTags: [...tags, tag] }, headers: { 'If-Match': '"' + inc.version + '"' } });
          ok++;
        } catch (e) { failures.push('#' + id + ': ' + e.message); }
      }
      report(ok, failures);
      await load();
    });
  });

  // Paging keeps the view and changes the page.
  const goPage = (n) => { const p = new URLSearchParams(location.search); p.set('page', String(n)); location.search = p.toString(); };
  $('#prev').addEventListener('click', () => goPage(page - 1));
  $('#next').addEventListener('click', () => goPage(page + 1));
  form.addEventListener('submit', () => { $('#f-page').value = '1'; });
  $('#f-sort').addEventListener('change', () => form.requestSubmit());

  // Keyboard: j/k move, Enter opens, x selects, / searches.
  document.addEventListener('keydown', (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.target.closest('input, select, textarea')) { if (ev.key === 'Escape') ev.target.blur(); return; }
    switch (ev.key) {
      case 'j': moveCursor(Math.min(cursor + 1, rows.length - 1), true); break;
      case 'k': moveCursor(Math.max(cursor - 1, 0), true); break;
      case 'Enter': if (cursor >= 0 && !ev.target.closest('a, button')) location.assign('/incidents/' + encodeURIComponent(rows[cursor].id)); else return; break;
      case 'x': if (cursor >= 0) toggle(rows[cursor].id, !selected.has(rows[cursor].id)); break;
      case '/': $('#f-search').focus(); break;
      default: return;
    }
    ev.preventDefault();
  });

  // Live updates: an event about any incident re-reads the view's page
  // (at most once per LIVE_MS) and shows it in its new order, new rows
  // marked, the analyst's row keeping the cursor, the focus and its place
  // on the screen (load). While the analyst is typing or choosing in a
  // control, or a bulk change is running, the rows do not move: a shown
  // incident that changed is updated where it is, the rest is counted in
  // a banner, and the page is read again when the analyst asks.
  const LIVE_MS = 1000;
  const newIds = new Set(), changedIds = new Set();
  let liveTimer = null;
  function typing() {
    const a = document.activeElement;
    if (!a || a === document.body || tbody.contains(a)) return false;
    return a.matches('select, textarea, input:not([type=checkbox]):not([type=radio]):not([type=button]):not([type=submit])');
  }
  function liveEvent(ev) {
    const id = ev.incidentId;
    if (!rows.some((r) => r.id === id)) { if (ev.type === 'incidentCreated') newIds.add(id); else changedIds.add(id); }
    else pendingShown.add(id);
    if (!liveTimer) liveTimer = setTimeout(liveNow, LIVE_MS);
  }
  const pendingShown = new Set();
  async function liveNow() {
    liveTimer = null;
    if (typing() || bulkBusy) {
      for (const id of pendingShown) refreshRow(id);
      pendingShown.clear();
      banner();
      return;
    }
    pendingShown.clear(); newIds.clear(); changedIds.clear(); banner();
    await load({ live: true });
  }
  async function refreshRow(id) {
    const i = rows.findIndex((r) => r.id === id);
    if (i < 0) return;
    try {
      const { data } = await api('GET', '/api/v1/incidents/' + encodeURIComponent(id));
      const j = rows.findIndex((r) => r.id === id);
      if (j < 0) return;
      rows[j] = data;
      const tr = tbody.querySelector('tr[data-id="' + CSS.escape(id) + '"]');
      if (tr) { fillRow(tr, data); tr.classList.remove('flash'); void tr.offsetWidth; tr.classList.add('flash'); }
      if (j === cursor) showPane(data);
    } catch (e) { /* gone or no longer readable: left as it was */ }
  }
  function banner() {
    const live = $('#live');
    const parts = [];
    if (newIds.size) parts.push(newIds.size + ' new incident' + (newIds.size === 1 ? '' : 's'));
    if (changedIds.size) parts.push(changedIds.size + ' other incident' + (changedIds.size === 1 ? '' : 's') + ' changed');
    live.hidden = !parts.length;
    $('#live-show').textContent = parts.join(' · ') + ' — show the current queue';
  }
  $('#live-show').addEventListener('click', () => { newIds.clear(); changedIds.clear(); banner(); load({ live: true }); });
  // data-queue-live tells the browser suite the stream is open.
  w.stream('', liveEvent, () => { document.body.dataset.queueLive = 'open'; });

  load();
});
