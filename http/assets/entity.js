// The entity pages: the search (GET /api/v1/entities?search=) and one
// entity (GET /api/v1/entities/{type}/{id}) — its names, criticality,
// device group, first and last seen, containment and the action that left
// it, its incidents, its alerts page by page, and the response actions
// taken on it, with the action dialog. While an action on the entity is
// open the page re-reads it every few seconds, so containment shows when
// the action completes.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  const w = window.weft, R = window.weftRespond;
  const { api, el, $, clear } = w;
  const PAGE = 25;
  const FINAL = ['rejected', 'cancelled', 'succeeded', 'failed', 'expired', 'undone'];

  // ---- search ------------------------------------------------------------
  const results = $('#entity-results');
  if (results) {
    const q = $('#e-search').value.trim();
    if (!q) { $('#e-search').focus(); return; }
    (async () => {
      const p = new URLSearchParams({ search: q, $top: '100' });
      if ($('#e-type').value) p.set('type', $('#e-type').value);
      const state = $('#entity-results-state');
      let data;
      try { ({ data } = await api('GET', '/api/v1/entities?' + p)); } catch (e) {
        state.textContent = 'The search failed: ' + e.message; state.className = 'state error'; return;
      }
      const tb = clear($('tbody', results));
      for (const x of data.value) {
        tb.appendChild(el('tr', { 'data-key': x.key }, el('td', null, x.entityType),
          el('td', { class: 'break name' }, el('a', { href: R.entityHref(x.entityType, x.key) }, x.name || x.key)),
          el('td', { class: 'break muted' }, x.key), el('td', null, w.timeEl(x.lastSeenDateTime)), el('td', { class: 'num' }, String(x.alertCount))));
      }
      state.hidden = data.value.length > 0;
      state.textContent = 'No entity\'s name or key starts with "' + q + '".';
      results.hidden = !data.value.length;
      document.body.dataset.entityLoaded = '1';
    })();
    return;
  }

  // ---- one entity --------------------------------------------------------------
  const root = $('#entity');
  if (!root) return;
  const type = root.dataset.entityType, id = root.dataset.entityId;
  const base = '/api/v1/entities/' + encodeURIComponent(type) + '/' + encodeURIComponent(id);
  let skip = 0, ent = null, pollTimer = null;

  async function load() {
    let data;
    try { ({ data } = await api('GET', base + '?$top=' + PAGE + '&$skip=' + skip)); } catch (e) {
      const s = $('#entity-state');
      clear(s).append(el('p', null, e.status === 404 ? 'No ' + type + ' "' + id + '" was found in this tenant.' : e.status === 400 ? e.message : 'The entity could not be loaded: ' + e.message),
        el('p', null, el('a', { href: '/entities?search=' + encodeURIComponent(id) }, 'Search for it')));
      s.className = 'state error';
      s.hidden = false;
      return;
    }
    ent = data;
    render();
    await loadActions();
  }

  function render() {
    $('#entity-state').hidden = true;
    $('#entity-head').hidden = false;
    $('#entity-body').hidden = false;
    document.title = ent.entityType + ' ' + ent.name + ' · weft';
    $('#e-kind').textContent = ent.entityType;
    $('#e-name').textContent = ent.name || ent.key;
    $('#e-key').textContent = ent.key;
    $('#e-criticality').textContent = String(ent.criticality || 0);
    $('#e-group').textContent = ent.deviceGroup || '–';
    $('#e-asset').textContent = ent.assetId || '–';
    $('#e-first').textContent = w.time(ent.firstSeenDateTime);
    $('#e-last').textContent = w.time(ent.lastSeenDateTime);
    $('#e-alerts').textContent = String(ent.alertCount);
    $('#e-incidents').textContent = String(ent.incidentCount);
    const c = ent.containment, st = ent.containmentState || 'none';
    const cd = clear($('#e-containment'));
    cd.dataset.state = st;
    if (st !== 'none' && c) {
      cd.append(el('strong', { class: 'contained-text' }, st), ' since ', w.time(c.sinceDateTime), ' by ',
        el('a', { href: '/actions?tab=history&target=' + encodeURIComponent(ent.key) }, 'action ' + c.actionId));
    } else cd.append(st === 'none' ? 'none' : st);
    const al = clear($('#e-aliases'));
    for (const a of ent.aliases || []) al.appendChild(el('li', { class: 'break' }, a));
    if (!(ent.aliases || []).length) al.appendChild(el('li', { class: 'muted' }, 'none'));
    $('#e-aliases-title').textContent = 'Other names (' + (ent.aliasCount || 0) + ')';
    R.mount($('#entity-actions'), { entityType: ent.entityType, target: ent.key, targetName: ent.name, link: false, onDone: () => load() });

    const it = clear($('#e-incidents-table tbody'));
    for (const i of ent.incidents || []) {
      it.appendChild(el('tr', { 'data-id': i.id }, el('td', null, w.priorityBadge(i)),
        el('td', { class: 'name' }, el('a', { href: '/incidents/' + encodeURIComponent(i.id) }, i.displayName), el('div', { class: 'muted' }, 'Incident ' + i.id)),
        el('td', null, i.status), el('td', null, w.severity(i.severity)), el('td', { class: 'num' }, String(i.alertCount)), el('td', null, w.timeEl(i.lastActivityDateTime))));
    }
    if (!(ent.incidents || []).length) it.appendChild(el('tr', null, el('td', { colspan: '6', class: 'muted' }, 'In no incident.')));
    if (ent.incidentCount > (ent.incidents || []).length) it.appendChild(el('tr', null, el('td', { colspan: '6', class: 'muted' }, 'The ' + ent.incidents.length + ' it was most recently seen in of ' + ent.incidentCount + '.')));

    const at = clear($('#e-alerts-table tbody'));
    for (const a of ent.alerts || []) {
      at.appendChild(el('tr', { 'data-id': a.id }, el('td', null, w.time(a.firstActivityDateTime)), el('td', null, el('strong', null, a.title), el('div', { class: 'muted' }, a.id)),
        el('td', null, w.severity(a.severity)), el('td', null, a.status || '–'), el('td', null, (a.roles || []).join(', ') || '–'),
        el('td', null, a.incidentId ? el('a', { href: '/incidents/' + encodeURIComponent(a.incidentId) }, a.incidentId) : el('span', { class: 'muted' }, 'awaiting correlation'))));
    }
    if (!(ent.alerts || []).length) at.appendChild(el('tr', null, el('td', { colspan: '6', class: 'muted' }, 'No alerts on this page.')));
    const shown = (ent.alerts || []).length;
    $('#e-page-info').textContent = shown ? (skip + 1) + '–' + (skip + shown) + ' of ' + ent.alertCount : '';
    $('#e-prev').disabled = skip === 0;
    $('#e-next').disabled = !ent['@odata.nextLink'];
  }
  $('#e-prev').addEventListener('click', () => { skip = Math.max(0, skip - PAGE); load(); });
  $('#e-next').addEventListener('click', () => { skip += PAGE; load(); });

  // loadActions lists the actions taken on the entity under its key or any
  // name of it that is a key ("kind:value"), as containment is found.
  async function loadActions() {
    const keys = [ent.key, ...(ent.aliases || []).filter((a) => /^[a-z]+\.[A-Za-z]+:/.test(a))].slice(0, 12);
    const tb = $('#e-actions-table tbody');
    let all;
    try {
      const pages = await Promise.all(keys.map((k) => api('GET', '/api/v1/actions?$top=50&target=' + encodeURIComponent(k)).then((r) => r.data.value)));
      all = new Map(pages.flat().map((a) => [a.id, a])).values();
    } catch (e) {
      clear(tb).appendChild(el('tr', null, el('td', { colspan: '6', class: e.status === 400 ? 'muted' : 'error' }, 'The actions could not be read: ' + e.message)));
      document.body.dataset.entityLoaded = String(Date.now());
      return;
    }
    const list = [...all].sort((a, b) => Number(b.id) - Number(a.id));
    clear(tb);
    for (const a of list) {
      tb.appendChild(el('tr', { 'data-id': a.id, 'data-status': a.status }, el('td', null, el('a', { href: '/actions?tab=history&target=' + encodeURIComponent(a.target) }, a.id)),
        el('td', null, R.statusChip(a.status)), el('td', null, a.type), el('td', null, a.incidentId ? el('a', { href: '/incidents/' + encodeURIComponent(a.incidentId) }, a.incidentId) : '–'),
        el('td', null, R.who(a.requestedBy)), el('td', null, w.timeEl(a.lastUpdateDateTime))));
    }
    if (!list.length) tb.appendChild(el('tr', null, el('td', { colspan: '6', class: 'muted' }, 'No response action was taken on it.')));
    document.body.dataset.entityLoaded = String(Date.now());
    // While an action is open, its outcome will change the containment.
    clearTimeout(pollTimer);
    if (list.some((a) => !FINAL.includes(a.status))) pollTimer = setTimeout(() => { if (document.visibilityState === 'visible') load(); else pollTimer = setTimeout(load, 4000); }, 4000);
  }

  load();
});
