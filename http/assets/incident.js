// The incident page: the header and its manage panel, and the tabs —
// the attack story beside the incident graph, alerts, assets, evidence
// and activity. Everything is read from the API; changes carry the
// incident's ETag (If-Match), so a change made on a stale view is refused
// and shown, never applied over someone else's.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  const w = window.weft;
  const { api, el, svg, $, $$, clear } = w;
  const root = $('#incident');
  if (!root) return;
  const id = root.dataset.incidentId;
  const base = '/api/v1/incidents/' + encodeURIComponent(id);
  // etag is the incident's version as last read; formEtag the version
  // whose values the manage panel shows, which a save sends as If-Match:
  // a live update that arrives while the analyst edits changes the first
  // only, so their save is refused rather than applied over it.
  let inc = null, etag = '', formEtag = '';
  let story = null, origin = null;
  const loaded = {};

  // ---- header and manage panel -------------------------------------------
  async function loadIncident(refill) {
    let resp;
    try {
      resp = await api('GET', base);
    } catch (e) {
      const s = $('#incident-state');
      clear(s).append(el('p', null, e.status === 404 ? 'Incident ' + id + ' was not found in this tenant, or you may not see it.' : 'The incident could not be loaded: ' + e.message),
        el('p', null, el('a', { href: '/incidents' }, 'Back to the incident queue')));
      s.className = 'state error';
      return false;
    }
    inc = resp.data; etag = resp.headers.get('ETag') || ('"' + inc.version + '"');
    renderHead();
    if (refill !== false) fillManage();
    return true;
  }

  function renderHead() {
    $('#incident-state').hidden = true;
    $('#incident-head').hidden = false;
    $('#incident-body').hidden = false;
    document.title = inc.displayName + ' · weft';
    clear($('#h-priority')).appendChild(w.priorityBadge(inc));
    $('#h-name').textContent = inc.displayName;
    clear($('#h-severity')).appendChild(w.severity(inc.severity));
    $('#h-status').textContent = inc.status;
    $('#h-assigned').textContent = inc.assignedTo || 'unassigned';
    $('#h-class').textContent = inc.classification + (inc.determination && inc.determination !== 'unknown' ? ' · ' + inc.determination : '');
    clear($('#h-tags')).appendChild((inc.customTags || []).length ? w.chips(inc.customTags) : el('span', { class: 'muted' }, 'none'));
    $('#h-alerts').textContent = String(inc.alertCount);
    $('#h-first').textContent = w.time(inc.firstActivityDateTime);
    $('#h-last').textContent = w.time(inc.lastActivityDateTime);
    $('#h-sources').textContent = (inc.serviceSources || []).join(', ') || '–';
    const f = clear($('#h-factors'));
    for (const x of inc.priorityFactors || []) f.appendChild(el('li', null, (x.points >= 0 ? '+' : '') + x.points + ' ' + x.name + (x.detail ? ': ' + x.detail : '')));
    if (!f.childNodes.length) f.appendChild(el('li', { class: 'muted' }, 'Not scored yet.'));
    mountHeaderRespond();
    if (inc.redirectIncidentId) w.notice('This incident was merged into incident ' + inc.redirectIncidentId + '; its alerts are there now.', 'error');
  }

  function fillManage() {
    formEtag = etag;
    $('#m-assigned').value = inc.assignedTo || '';
    const st = $('#m-status');
    for (const o of $$('option[data-extra]', st)) o.remove();
    if (![...st.options].some((o) => o.value === inc.status)) st.appendChild(el('option', { value: inc.status, 'data-extra': '1', disabled: true }, inc.status));
    st.value = inc.status;
    w.fillClassification($('#m-class'), $('#m-determination'), inc.classification, inc.determination);
    $('#m-tags').value = (inc.customTags || []).join(', ');
    $('#m-resolving').value = inc.resolvingComment || '';
    $('#m-resolving-wrap').hidden = inc.status !== 'resolved';
  }
  $('#m-status').addEventListener('change', (ev) => { $('#m-resolving-wrap').hidden = ev.target.value !== 'resolved'; });
  $('#m-me').addEventListener('click', () => { $('#m-assigned').value = w.user; });

  function say(p, msg, kind) { p.textContent = msg; p.className = 'msg ' + (kind || ''); }

  $('#manage-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const msg = $('#manage-msg');
    const changes = {};
    const assigned = $('#m-assigned').value.trim();
    if (assigned !== (inc.assignedTo || '')) changes.assignedTo = assigned;
    const status = $('#m-status').value;
    if (status !== inc.status) changes.status = status;
    if ($('#m-class').value !== inc.classification) changes.classification = $('#m-class').value;
    if ($('#m-determination').value !== inc.determination) changes.determination = $('#m-determination').value;
    const tags = [...new Set($('#m-tags').value.split(',').map((t) => t.trim()).filter(Boolean))];
    if (tags.join('\n') !== (inc.customTags || []).join('\n')) changes.customTags = tags;
    const resolving = $('#m-resolving').value.trim();
    if (status === 'resolved' && resolving && resolving !== (inc.resolvingComment || '')) changes.resolvingComment = resolving;
    if (!Object.keys(changes).length) { say(msg, 'Nothing to save: the form shows the incident as it is.', ''); return; }
    say(msg, 'Saving…', '');
    try {
      const resp = await api('PATCH', base, { body: changes, headers: { 'If-Match': formEtag } });
      inc = resp.data; etag = resp.headers.get('ETag') || ('"' + inc.version + '"');
      renderHead(); fillManage();
      say(msg, 'Saved.', 'ok');
      refreshTab();
    } catch (e) {
      if (e.status === 412 && e.body && e.body.incident) {
        inc = e.body.incident; etag = '"' + inc.version + '"';
        renderHead(); fillManage();
        say(msg, 'Not saved: ' + (inc.lastModifiedBy || 'someone') + ' changed this incident after you opened it. The form now shows the current values; make your change again.', 'error');
        refreshTab();
      } else {
        say(msg, 'Not saved: ' + e.message, 'error');
      }
    }
  });

  $('#comment-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const msg = $('#comment-msg'), text = $('#c-text').value.trim();
    if (!text) { say(msg, 'Write a comment first.', 'error'); return; }
    try {
      const resp = await api('POST', base + '/comments', { body: { comment: text } });
      // A comment changes the version, not the values the form shows.
      const formCurrent = formEtag === etag;
      etag = resp.headers.get('ETag') || etag;
      if (formCurrent) formEtag = etag;
      $('#c-text').value = '';
      say(msg, 'Comment added.', 'ok');
      if (current === 'activity') loadActivity(); else loaded.activity = false;
    } catch (e) { say(msg, 'Not added: ' + e.message, 'error'); }
  });

  // ---- tabs ----------------------------------------------------------------
  const tabs = ['story', 'alerts', 'assets', 'evidence', 'activity'];
  let current = 'story';
  function showTab(name) {
    if (!tabs.includes(name)) name = 'story';
    current = name;
    for (const t of tabs) {
      $('#tab-' + t).setAttribute('aria-selected', String(t === name));
      $('#panel-' + t).hidden = t !== name;
    }
    if (location.hash.slice(1) !== name) history.replaceState(null, '', name === 'story' ? location.pathname : '#' + name);
    if (!loaded[name]) refreshTab();
  }
  function refreshTab() {
    loaded[current] = true;
    ({ story: loadStory, alerts: loadAlerts, assets: loadAssets, evidence: loadEvidence, activity: loadActivity })[current]();
  }
  for (const t of tabs) $('#tab-' + t).addEventListener('click', () => showTab(t));
  $('.tabs').addEventListener('keydown', (ev) => {
    const i = tabs.indexOf(current);
    if (ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') {
      const n = tabs[(i + (ev.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
      showTab(n); $('#tab-' + n).focus(); ev.preventDefault();
    }
  });

  function failPanel(panel, what, e) {
    clear(panel).appendChild(el('div', { class: 'state error' }, 'The ' + what + ' could not be loaded: ' + e.message + '. Reload the page to try again.'));
  }
  async function getStory() {
    const [s, o] = await Promise.all([api('GET', base + '/story'), api('GET', base + '/origin')]);
    story = s.data; origin = o.data;
  }

  // contained names the state a response action left an entity in
  // (isolated, disabled, quarantined…), or '' when none contains it.
  const contained = (c) => (c && c.state && c.state !== 'none' ? c.state : '');

  // ---- attack story and graph -----------------------------------------------
  const ICONS = {
    device: 'M4 5h16v11H4z M9 20h6 M12 16v4',
    user: 'M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8z M4 21c0-4 4-6 8-6s8 2 8 6',
    mailbox: 'M3 6h18v12H3z M3 6l9 7 9-7',
    mailMessage: 'M3 6h18v12H3z M3 6l9 7 9-7 M7 15h4',
    ip: 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z M3 12h18 M12 3c3 3 3 15 0 18 M12 3c-3 3-3 15 0 18',
    url: 'M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1 M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1',
    file: 'M6 3h8l4 4v14H6z M14 3v4h4',
    process: 'M4 5h16v14H4z M7 10l3 2-3 2 M12 15h5',
    cloudApplication: 'M7 18h10a4 4 0 0 0 0-8 6 6 0 0 0-11.5 1.5A3.5 3.5 0 0 0 7 18z',
    oauthApplication: 'M7 18h10a4 4 0 0 0 0-8 6 6 0 0 0-11.5 1.5A3.5 3.5 0 0 0 7 18z M12 12v3',
  };
  const DEFAULT_ICON = 'M12 4l8 8-8 8-8-8z';
  const LANES = ['user', 'mailbox', 'mailMessage', 'device', 'process', 'file', 'ip', 'url', 'cloudApplication', 'oauthApplication'];

  let graph = null;      // the graph as drawn: {nodes, lines, byKey}
  let step = 0;          // alerts shown (0..alerts.length)
  let timer = null;
  const view = { x: 0, y: 0, w: 800, h: 600 };
  let selectedKey = '';

  async function loadStory() {
    try { await getStory(); } catch (e) { failPanel($('#story-alerts'), 'attack story', e); return; }
    const list = clear($('#story-alerts'));
    story.alerts.forEach((a, i) => {
      const li = el('li', { 'data-index': String(i), tabindex: '0' },
        el('div', { class: 't' }, w.time(a.firstActivityDateTime), ' · ', w.severity(a.severity)),
        el('div', null, el('strong', null, a.title)),
        el('div', { class: 't' }, [a.category, a.serviceSource].filter(Boolean).join(' · ')),
        a.correlation ? el('div', { class: 'why' }, a.correlation) : null);
      li.addEventListener('click', () => setStep(i + 1));
      list.appendChild(li);
    });
    if (!story.alerts.length) list.appendChild(el('li', { class: 'muted' }, 'This incident has no alerts.'));
    if (story.truncated) list.appendChild(el('li', { class: 'muted' }, 'Only the first ' + story.alerts.length + ' of ' + story.alertCount + ' alerts are shown.'));
    showOrigin();
    buildGraph();
    const r = $('#g-time');
    r.max = String(story.alerts.length);
    setStep(story.alerts.length);
    // The story opens at its beginning: the entry alert on top, whatever
    // step the graph shows.
    list.scrollTop = 0;
    fit();
  }

  // showOrigin says how the attack started, above the graph: the entry
  // alert, the entities it named, and the entities reached next in the
  // order first seen (GET …/origin).
  function showOrigin() {
    const box = $('#origin-line');
    clear(box);
    const a = origin && origin.entryAlert;
    if (!a) { box.hidden = true; return; }
    const entry = new Set((origin.entryEntities || []).map((n) => n.key));
    const named = (origin.entryEntities || []).map((n) => n.name || n.key);
    const next = (origin.path || []).filter((p) => !entry.has(p.entityKey));
    const MAX = 5;
    box.append('Started with ', el('strong', null, a.title), ' at ', el('time', { datetime: a.firstActivityDateTime }, w.time(a.firstActivityDateTime)));
    if (named.length) box.append(' on ', el('span', { class: 'origin-entities' }, named.slice(0, MAX).join(', ') + (named.length > MAX ? ' and ' + (named.length - MAX) + ' more' : '')));
    if (next.length) {
      box.append(', then ', el('span', { class: 'origin-path' }, next.slice(0, MAX).map((p) => (p.name || p.entityKey) + ' (' + p.entityType + ')').join(' → ')));
      if (next.length > MAX) box.append(' → ' + (next.length - MAX) + ' more');
    }
    box.append('.');
    box.hidden = false;
  }

  // buildGraph lays the graph out as a timeline: an entity's column is
  // the order in which it was first named, its lane its type. Alerts are
  // the edges: each alert joins its first entity to its others. With
  // "group similar", entities of one type named by exactly the same
  // alerts are one node.
  function buildGraph() {
    const g = story.graph;
    const alertIndex = new Map(story.alerts.map((a, i) => [a.id, i]));
    const entry = new Set(((origin && origin.entryEntities) || []).map((n) => n.key));
    let nodes = g.nodes.map((n) => ({
      key: n.key, type: n.entityType, name: n.name || n.key, members: [n],
      first: Math.min(...(n.alertIds || []).map((a) => alertIndex.has(a) ? alertIndex.get(a) : Infinity)),
      alertIds: n.alertIds || [], entry: entry.has(n.key), containment: contained(n.containment),
    }));
    const groupOf = new Map(nodes.map((n) => [n.key, n.key]));
    if ($('#g-group').checked) {
      const groups = new Map();
      for (const n of nodes) {
        const k = n.type + '|' + [...n.alertIds].sort().join(',');
        if (!groups.has(k)) groups.set(k, []);
        groups.get(k).push(n);
      }
      nodes = [];
      for (const [k, ms] of groups) {
        if (ms.length === 1) { nodes.push(ms[0]); continue; }
        const gk = 'group:' + k;
        for (const m of ms) groupOf.set(m.key, gk);
        nodes.push({ key: gk, type: ms[0].type, name: ms.length + ' ' + ms[0].type + ' entities', members: ms.flatMap((m) => m.members),
          first: Math.min(...ms.map((m) => m.first)), alertIds: ms[0].alertIds, entry: ms.some((m) => m.entry), containment: ms.some((m) => m.containment) ? 'some contained' : '', group: ms.length });
      }
    }
    // Columns: the distinct first alerts, in order; rows: lanes by type.
    const firsts = [...new Set(nodes.map((n) => n.first))].sort((a, b) => a - b);
    const col = new Map(firsts.map((f, i) => [f, i]));
    const laneOf = (t) => { const i = LANES.indexOf(t); return i < 0 ? LANES.length : i; };
    const cells = new Map();
    nodes.sort((a, b) => a.first - b.first || laneOf(a.type) - laneOf(b.type) || a.key.localeCompare(b.key));
    const laneDepth = new Map();
    for (const n of nodes) {
      const c = col.get(n.first), l = laneOf(n.type), ck = c + ':' + l;
      n.slot = cells.get(ck) || 0; cells.set(ck, n.slot + 1);
      laneDepth.set(l, Math.max(laneDepth.get(l) || 0, n.slot + 1));
    }
    const laneY = new Map(); let y = 0;
    for (let l = 0; l <= LANES.length; l++) { if (laneDepth.has(l)) { laneY.set(l, y); y += laneDepth.get(l) * 70 + 30; } }
    for (const n of nodes) { n.x = col.get(n.first) * 120; n.y = laneY.get(laneOf(n.type)) + n.slot * 70; }
    const byKey = new Map(nodes.map((n) => [n.key, n]));
    // Lines: per alert, from its first entity to each other one.
    const perAlert = new Map();
    for (const e of g.edges) {
      const k = groupOf.get(e.entityKey) || e.entityKey;
      if (!perAlert.has(e.alertId)) perAlert.set(e.alertId, []);
      const l = perAlert.get(e.alertId);
      if (!l.includes(k)) l.push(k);
    }
    const lines = [];
    for (const [alertId, keys] of perAlert) {
      const i = alertIndex.get(alertId);
      for (const k of keys.slice(1)) lines.push({ alert: i, from: keys[0], to: k });
    }
    relax(nodes, lines, byKey);
    graph = { nodes, lines, byKey, perAlert, alertIndex };
    drawGraph();
  }

  // relax moves the timeline layout's nodes with a force-directed pass
  // (Fruchterman–Reingold): nodes repel each other, an alert's edges pull
  // its entities together, and each node is held near its place in time
  // order, so the graph is compact and still reads left to right. It is
  // deterministic: the same incident gives the same picture.
  function relax(nodes, lines, byKey) {
    const n = nodes.length;
    if (n < 2 || n > 600) return;
    const idx = new Map(nodes.map((x, i) => [x.key, i]));
    const links = lines.map((l) => [idx.get(l.from), idx.get(l.to)]).filter(([a, b]) => a !== undefined && b !== undefined && a !== b);
    const x = Float64Array.from(nodes, (v) => v.x), y = Float64Array.from(nodes, (v) => v.y);
    const ax = Float64Array.from(x, (v) => v * 0.6);
    const k = 85;
    let temp = 80;
    const iterations = n > 200 ? 120 : 300;
    for (let it = 0; it < iterations; it++) {
      const dx = new Float64Array(n), dy = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          let vx = x[i] - x[j], vy = y[i] - y[j];
          let d2 = vx * vx + vy * vy;
          if (d2 < 0.01) { vx = (i - j) * 0.1; vy = 0.1; d2 = vx * vx + vy * vy; }
          const f = (k * k) / d2;
          dx[i] += vx * f; dy[i] += vy * f; dx[j] -= vx * f; dy[j] -= vy * f;
        }
      }
      for (const [a, b] of links) {
        const vx = x[b] - x[a], vy = y[b] - y[a];
        const d = Math.sqrt(vx * vx + vy * vy) || 0.1;
        const f = d / k;
        dx[a] += vx * f; dy[a] += vy * f; dx[b] -= vx * f; dy[b] -= vy * f;
      }
      for (let i = 0; i < n; i++) {
        dx[i] += (ax[i] - x[i]) * 0.06;
        const d = Math.sqrt(dx[i] * dx[i] + dy[i] * dy[i]) || 1;
        const step = Math.min(d, temp);
        x[i] += dx[i] / d * step; y[i] += dy[i] / d * step;
      }
      temp = Math.max(temp * 0.985, 2);
    }
    nodes.forEach((v, i) => { v.x = x[i]; v.y = y[i]; });
  }

  function drawGraph() {
    const s = clear($('#graph'));
    const edges = svg('g', { class: 'edges' }), nodesG = svg('g', { class: 'nodes' });
    s.append(edges, nodesG);
    for (const l of graph.lines) {
      const a = graph.byKey.get(l.from), b = graph.byKey.get(l.to);
      if (!a || !b) continue;
      const line = svg('line', { class: 'edge', x1: a.x, y1: a.y, x2: b.x, y2: b.y, 'data-alert': String(l.alert) });
      const al = story.alerts[l.alert];
      line.appendChild(svg('title', null, al ? al.title : ''));
      l.el = line;
      edges.appendChild(line);
    }
    for (const n of graph.nodes) {
      const g = svg('g', { class: 'node', transform: 'translate(' + n.x + ',' + n.y + ')', 'data-key': n.key, 'data-type': n.type, tabindex: '0', role: 'button' });
      g.appendChild(svg('title', null, n.type + ': ' + n.name));
      if (n.entry) g.appendChild(svg('circle', { class: 'entry-ring', r: 25 }));
      g.appendChild(svg('circle', { class: 'body', r: 19 }));
      g.appendChild(svg('path', { class: 'icon', d: ICONS[n.type] || DEFAULT_ICON, transform: 'translate(-9,-9) scale(.75)' }));
      if (n.group) g.appendChild(svg('text', { class: 'count', x: 14, y: -14 }, '×' + n.group));
      if (n.containment) {
        const c = svg('circle', { class: 'contained', r: 6, cx: 15, cy: 15 });
        c.appendChild(svg('title', null, 'contained: ' + n.containment));
        g.appendChild(c);
      }
      const label = n.name.length > 26 ? n.name.slice(0, 25) + '…' : n.name;
      g.appendChild(svg('text', { y: 25, 'text-anchor': 'middle', 'dominant-baseline': 'hanging', class: 'label' }, label));
      if (n.entry) g.appendChild(svg('text', { y: -28, 'text-anchor': 'middle', class: 'count' }, 'entry point'));
      g.addEventListener('click', (ev) => { ev.stopPropagation(); selectNode(n.key); });
      g.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); selectNode(n.key); } });
      n.el = g;
      nodesG.appendChild(g);
    }
    const legend = clear($('#g-legend'));
    for (const t of [...new Set(graph.nodes.map((n) => n.type))]) {
      const icon = svg('svg', { width: 16, height: 16, viewBox: '0 0 24 24', class: 'legend-icon' });
      icon.appendChild(svg('path', { d: ICONS[t] || DEFAULT_ICON, fill: 'none', stroke: 'currentColor', 'stroke-width': 2 }));
      legend.appendChild(el('span', null, icon, ' ', t, ' (' + graph.nodes.filter((n) => n.type === t).length + ')'));
    }
    legend.appendChild(el('span', null, '◌ dashed ring: entry point'));
    legend.appendChild(el('span', null, '● green dot: contained'));
    legend.appendChild(el('span', { id: 'g-count' }, graph.nodes.length + ' nodes, ' + graph.lines.length + ' edges'));
    s.dataset.nodes = String(graph.nodes.length);
    applyView();
    if (selectedKey) selectNode(selectedKey);
  }

  function selectNode(key) {
    const box = $('#node-detail');
    for (const n of graph.nodes) n.el.classList.toggle('selected', n.key === key);
    const n = graph.byKey.get(key);
    selectedKey = n ? key : '';
    if (!n) { box.hidden = true; return; }
    const dl = el('dl');
    const fact = (k, v) => dl.append(el('dt', null, k), el('dd', null, v));
    const m = n.members;
    fact('Type', n.type);
    if (m.length === 1) {
      fact('Key', m[0].key);
      if ((m[0].aliases || []).length) fact('Also', m[0].aliases.join(', '));
      fact('Criticality', String(m[0].criticality || 0));
      fact('Roles', (m[0].roles || []).join(', ') || '–');
      fact('First seen', w.time(m[0].firstSeenDateTime));
      fact('Last seen', w.time(m[0].lastSeenDateTime));
    } else {
      fact('Entities', String(m.length));
    }
    if (n.entry) fact('Entry point', 'named by the first alert');
    fact('Containment', n.containment || 'none known');
    const alerts = el('ul', { class: 'factors' });
    for (const aid of n.alertIds) {
      const i = graph.alertIndex.get(aid);
      const a = story.alerts[i];
      const b = el('button', { type: 'button', class: 'link' }, a ? a.title : aid);
      b.addEventListener('click', () => setStep(i + 1));
      alerts.appendChild(el('li', null, b));
    }
    const close = el('button', { type: 'button', class: 'ghost' }, 'Close');
    close.addEventListener('click', () => selectNode(''));
    const members = m.length > 1 ? el('ul', { class: 'factors' }, m.slice(0, 50).map((x) => el('li', { class: 'break' }, x.name || x.key))) : null;
    const hook = el('div', { class: 'actions-hook', 'data-hook': 'entity-actions', 'data-entity-type': n.type, 'data-entity-key': m.length === 1 ? m[0].key : '' });
    clear(box).append(...[el('h3', { class: 'break' }, n.name), dl, members, el('h4', null, 'Alerts'), alerts, hook, close].filter(Boolean));
    if (m.length === 1) mountRespond(hook, m[0].entityType || n.type, m[0].key, m[0].name || m[0].key);
    box.hidden = false;
  }
  $('#graph').addEventListener('click', () => selectNode(''));

  // Playback: step n shows the first n alerts, the entities they named and
  // their edges; the nth alert is highlighted in the list and the graph.
  function setStep(n) {
    if (!graph) return;
    step = Math.max(0, Math.min(n, story.alerts.length));
    $('#g-time').value = String(step);
    for (const node of graph.nodes) {
      node.el.classList.toggle('hidden', node.first >= step);
      node.el.classList.toggle('now', step > 0 && step < story.alerts.length && node.alertIds.some((a) => graph.alertIndex.get(a) === step - 1));
    }
    for (const l of graph.lines) {
      if (!l.el) continue;
      l.el.classList.toggle('hidden', l.alert >= step);
      l.el.classList.toggle('now', l.alert === step - 1 && step < story.alerts.length);
    }
    const list = $('#story-alerts');
    $$('li[data-index]', list).forEach((li) => {
      const i = Number(li.dataset.index);
      li.classList.toggle('future', i >= step);
      li.classList.toggle('now', i === step - 1 && step < story.alerts.length);
      // Keep the current alert in sight in the list (only the list scrolls).
      if (i === step - 1 && (li.offsetTop < list.scrollTop || li.offsetTop + li.offsetHeight > list.scrollTop + list.clientHeight)) {
        list.scrollTop = Math.max(0, li.offsetTop - 8);
      }
    });
    const a = story.alerts[step - 1];
    $('#g-time-label').textContent = step === 0 ? 'before the first alert' : 'alert ' + step + ' of ' + story.alerts.length + (a ? ' · ' + w.time(a.firstActivityDateTime) : '');
    $('#graph').dataset.step = String(step);
    $('#graph').dataset.visible = String(graph.nodes.filter((x) => x.first < step).length);
  }
  function stop() { clearInterval(timer); timer = null; $('#g-play').textContent = '▶ Play'; }
  $('#g-play').addEventListener('click', () => {
    if (timer) { stop(); return; }
    if (step >= story.alerts.length) setStep(0);
    $('#g-play').textContent = '⏸ Pause';
    timer = setInterval(() => { setStep(step + 1); if (step >= story.alerts.length) stop(); }, 900);
  });
  $('#g-step').addEventListener('click', () => { stop(); setStep(step + 1); });
  $('#g-start').addEventListener('click', () => { stop(); setStep(0); });
  $('#g-end').addEventListener('click', () => { stop(); setStep(story.alerts.length); });
  $('#g-time').addEventListener('input', (ev) => { stop(); setStep(Number(ev.target.value)); });
  $('#g-group').addEventListener('change', () => { const s = step; buildGraph(); setStep(s); fit(); });

  // Zoom and pan move the SVG's viewBox.
  // applyView also keeps the labels readable: their size in graph units
  // grows as the view zooms out so that they stay at least LABEL_PX on
  // the screen, up to LABEL_MAX_SCALE times their size; zoomed out
  // further, the labels are hidden (class "far") and a node's label shows
  // on hover, on focus and when the node is selected.
  const LABEL = 12, LABEL_PX = 12, LABEL_MAX_SCALE = 2.5;
  function applyView() {
    const g = $('#graph');
    g.setAttribute('viewBox', [view.x, view.y, view.w, view.h].map((v) => v.toFixed(1)).join(' '));
    const r = g.getBoundingClientRect();
    if (!r.width || !r.height) return;
    // The viewBox is fitted inside the box keeping its aspect (meet).
    const pxPerUnit = Math.min(r.width / view.w, r.height / view.h);
    const size = Math.max(LABEL, LABEL_PX / pxPerUnit);
    const far = size > LABEL * LABEL_MAX_SCALE;
    g.classList.toggle('far', far);
    g.style.setProperty('--label-size', (far ? LABEL_PX / pxPerUnit : size).toFixed(2) + 'px');
    g.dataset.labelPx = (Math.min(size, LABEL * LABEL_MAX_SCALE) * pxPerUnit).toFixed(1);
  }
  function fit() {
    if (!graph || !graph.nodes.length) return;
    const xs = graph.nodes.map((n) => n.x), ys = graph.nodes.map((n) => n.y);
    const minX = Math.min(...xs) - 90, maxX = Math.max(...xs) + 90, minY = Math.min(...ys) - 60, maxY = Math.max(...ys) + 60;
    const box = $('#graph').getBoundingClientRect();
    const aspect = box.width && box.height ? box.width / box.height : 4 / 3;
    let wd = maxX - minX, ht = maxY - minY;
    if (wd / ht < aspect) wd = ht * aspect; else ht = wd / aspect;
    view.w = Math.max(wd, 300); view.h = Math.max(ht, 300 / aspect);
    view.x = (minX + maxX) / 2 - view.w / 2; view.y = (minY + maxY) / 2 - view.h / 2;
    applyView();
  }
  function zoom(f, cx, cy) {
    if (cx === undefined) { cx = view.x + view.w / 2; cy = view.y + view.h / 2; }
    const nw = Math.min(Math.max(view.w * f, 100), 50000);
    const k = nw / view.w;
    view.x = cx - (cx - view.x) * k; view.y = cy - (cy - view.y) * k;
    view.w = nw; view.h *= k;
    applyView();
  }
  $('#g-zoom-in').addEventListener('click', () => zoom(0.8));
  $('#g-zoom-out').addEventListener('click', () => zoom(1.25));
  $('#g-fit').addEventListener('click', fit);
  const gsvg = $('#graph');
  gsvg.addEventListener('wheel', (ev) => {
    ev.preventDefault();
    const r = gsvg.getBoundingClientRect();
    zoom(ev.deltaY > 0 ? 1.15 : 0.87, view.x + (ev.clientX - r.left) / r.width * view.w, view.y + (ev.clientY - r.top) / r.height * view.h);
  }, { passive: false });
  let drag = null;
  gsvg.addEventListener('pointerdown', (ev) => {
    if (ev.target.closest('.node')) return;
    drag = { x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y, moved: false };
    gsvg.setPointerCapture(ev.pointerId); gsvg.classList.add('dragging');
  });
  gsvg.addEventListener('pointermove', (ev) => {
    if (!drag) return;
    const r = gsvg.getBoundingClientRect();
    const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    view.x = drag.vx - dx / r.width * view.w; view.y = drag.vy - dy / r.height * view.h;
    applyView();
  });
  gsvg.addEventListener('pointerup', () => { drag = null; gsvg.classList.remove('dragging'); });

  // ---- alerts --------------------------------------------------------------
  const movePick = new Set();
  async function loadAlerts() {
    const tb = $('#alerts-table tbody');
    try { if (!story || loaded.alertsStale) await getStory(); } catch (e) { failPanel(tb, 'alerts', e); return; }
    clear(tb); movePick.clear(); updateMove();
    for (const a of story.alerts) {
      const box = el('input', { type: 'checkbox', 'aria-label': 'Select alert ' + a.id });
      box.addEventListener('change', () => { if (box.checked) movePick.add(a.id); else movePick.delete(a.id); updateMove(); });
      tb.appendChild(el('tr', null, el('td', { class: 'sel' }, box), el('td', null, w.time(a.firstActivityDateTime)),
        el('td', null, el('strong', null, a.title), el('div', { class: 'muted' }, a.id)),
        el('td', null, w.severity(a.severity)), el('td', null, a.category || '–'), el('td', null, a.serviceSource || a.detectionSource || '–'),
        el('td', null, w.chips(a.correlationReasons), a.correlation ? el('div', { class: 'muted' }, a.correlation) : (a.correlationReasons || []).length ? null : el('span', { class: 'muted' }, 'first alert of the incident'))));
    }
    if (!story.alerts.length) tb.appendChild(el('tr', null, el('td', { colspan: '7', class: 'muted' }, 'This incident has no alerts.')));
  }
  function updateMove() { $('#move-count').textContent = movePick.size ? movePick.size + ' alert' + (movePick.size === 1 ? '' : 's') + ' selected' : 'Select alerts to move them.'; }
  $('#move-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!movePick.size) { w.notice('Select the alerts to move first.', 'error'); return; }
    const t = ev.target.target.value.trim();
    if (t && !/^[1-9][0-9]*$/.test(t)) { w.notice('"' + t + '" is not an incident id; give a number, or leave it empty for a new incident.', 'error'); return; }
    try {
      const { data } = await api('POST', '/api/v1/alerts/moveAlerts', { body: { alertIds: [...movePick], incidentId: t || null, alertComment: ev.target.comment.value } });
      w.notice(movePick.size + ' alert(s) moved to incident ' + data.targetIncidentId + '.');
      ev.target.reset();
      story = null;
      await loadIncident(false);
      for (const k of tabs) loaded[k] = false;
      refreshTab();
    } catch (e) { w.notice('The alerts were not moved: ' + e.message, 'error'); }
  });

  // ---- assets, evidence, activity ------------------------------------------------
  async function loadAssets() {
    const p = $('#panel-assets');
    let data;
    try { ({ data } = await api('GET', base + '/assets')); } catch (e) { failPanel(p, 'assets', e); return; }
    clear(p);
    for (const g of data.groups) {
      const sec = el('section', { class: 'assets-group' }, el('h3', null, g.entityType + ' (' + g.count + ')'));
      if (!g.assets.length) { sec.appendChild(el('p', { class: 'muted' }, 'None.')); p.appendChild(sec); continue; }
      const tb = el('tbody');
      for (const a of g.assets) {
        const name = el('td', { class: 'break' }, a.name || a.key);
        name.title = [a.key, ...(a.aliases || [])].join('\n');
        tb.appendChild(el('tr', null, name, el('td', { class: 'num' }, String(a.criticality)), el('td', { class: 'num' }, String(a.alertCount)),
          el('td', null, (a.roles || []).join(', ') || '–'), el('td', null, w.time(a.firstSeenDateTime)), el('td', null, w.time(a.lastSeenDateTime)),
          el('td', { class: 'containment', 'data-state': contained(a.containment) || 'none' }, contained(a.containment) || 'none known'),
          respondCell(g.entityType, a.key, a.name || a.key)));
      }
      sec.appendChild(el('table', { class: 'grid' }, el('thead', null, el('tr', null, ['Name', 'Criticality', 'Alerts', 'Roles', 'First seen', 'Last seen', 'Containment', 'Response'].map((h) => el('th', null, h)))), tb));
      p.appendChild(sec);
    }
  }
  async function loadEvidence() {
    const tb = $('#evidence-table tbody');
    let data;
    try {
      if (!story) await getStory();
      ({ data } = await api('GET', base + '/evidence'));
    } catch (e) { failPanel(tb, 'evidence', e); return; }
    clear(tb);
    const head = $('#evidence-table thead tr');
    if (!head.querySelector('th[data-col="response"]')) head.appendChild(el('th', { 'data-col': 'response' }, 'Response'));
    const titles = new Map(story.alerts.map((a) => [a.id, a.title]));
    for (const ev of data.evidence) {
      const name = el('td', { class: 'break' }, ev.name || ev.key || '(no identifier)');
      name.title = ev.key || '';
      const rem = el('td', null, ev.remediationStatus || '–');
      if (ev.remediationStatusDetails) rem.title = ev.remediationStatusDetails;
      tb.appendChild(el('tr', null, el('td', null, titles.get(ev.alertId) || ev.alertId), el('td', null, ev.entityType), name,
        el('td', null, ev.verdict || '–'), rem, el('td', null, (ev.roles || []).join(', ') || '–'),
        ev.key ? respondCell(ev.entityType, ev.key, ev.name || ev.key) : el('td', { class: 'muted' }, '–')));
    }
    if (!data.evidence.length) tb.appendChild(el('tr', null, el('td', { colspan: '7', class: 'muted' }, 'No evidence.')));
    await loadIncidentActions();
  }

  // ---- response actions (respond.js) -------------------------------------------
  // The action dialog opens from the header (on any impacted entity), a
  // graph node's details, and the assets and evidence rows; the evidence
  // tab lists the incident's actions with their status.
  const R = window.weftRespond;
  const afterRequest = () => { loaded.evidence = false; if (current === 'evidence') loadIncidentActions(); };
  function mountRespond(hook, type, key, name) {
    if (R) R.mount(hook, { entityType: type, target: key, targetName: name, incidentId: id, onDone: afterRequest });
  }
  function respondCell(type, key, name) {
    const td = el('td', { class: 'respond-cell' });
    mountRespond(td, type, key, name);
    return td;
  }
  function mountHeaderRespond() {
    const hook = $('#actions-hook');
    if (!R || hook.firstChild) return;
    const b = el('button', { type: 'button', class: 'respond-open', id: 'respond-header' }, 'Respond…');
    b.addEventListener('click', async () => {
      // The choices: the incident's entities a catalogue action applies to.
      let choices = [];
      try {
        const [defs] = await Promise.all([R.catalogue(''), story ? null : getStory()]);
        const types = new Set(defs.flatMap((d) => d.entityTypes));
        choices = story.graph.nodes.filter((n) => types.has(n.entityType)).map((n) => ({ entityType: n.entityType, key: n.key, name: n.name || n.key }));
      } catch (e) { w.notice('The incident\'s entities could not be read: ' + e.message, 'error'); return; }
      R.open({ choices, incidentId: id, onDone: afterRequest });
    });
    hook.append(b, ' ', el('a', { href: '/actions?tab=history&incidentId=' + encodeURIComponent(id) }, 'Actions of this incident in the action center'));
  }
  async function loadIncidentActions() {
    const p = $('#panel-evidence');
    let box = $('#incident-actions');
    if (!box) {
      box = el('section', { id: 'incident-actions', class: 'incident-actions' });
      p.appendChild(box);
    }
    let data;
    try { ({ data } = await api('GET', base + '/actions?$top=100')); } catch (e) {
      clear(box).append(el('h3', null, 'Response actions'), el('p', { class: e.status === 400 ? 'muted' : 'error' }, 'The actions could not be read: ' + e.message));
      return;
    }
    const tb = el('tbody');
    for (const a of data.value) {
      tb.appendChild(el('tr', { 'data-id': a.id, 'data-status': a.status }, el('td', null, el('a', { href: '/actions?tab=history&incidentId=' + encodeURIComponent(id) }, a.id)),
        el('td', null, R ? R.statusChip(a.status) : a.status), el('td', null, a.type),
        el('td', { class: 'break' }, el('a', { href: R ? R.entityHref(a.entityType, a.target) : '/entities' }, a.targetName || a.target)),
        el('td', null, R ? R.who(a.requestedBy) : ''), el('td', null, R ? R.who(a.decidedBy) : ''), el('td', null, w.timeEl(a.lastUpdateDateTime))));
    }
    if (!data.value.length) tb.appendChild(el('tr', null, el('td', { colspan: '7', class: 'muted' }, 'No response action was taken from this incident.')));
    clear(box).append(el('h3', null, 'Response actions'), el('table', { class: 'grid', id: 'incident-actions-table' },
      el('thead', null, el('tr', null, ['Id', 'Status', 'Action', 'Target', 'Requested by', 'Decided by', 'Updated'].map((h) => el('th', null, h)))), tb));
  }
  async function loadActivity() {
    const list = $('#activity');
    let data;
    try { ({ data } = await api('GET', base + '/activity')); } catch (e) { failPanel(list, 'activity', e); return; }
    clear(list);
    const items = [...(data.value || [])].sort((a, b) => Number(b.id) - Number(a.id));
    for (const a of items) {
      const comment = a.type === 'commentAdded';
      list.appendChild(el('li', { class: comment ? 'comment' : '', 'data-type': a.type },
        el('div', { class: 'meta' }, w.time(a.createdDateTime), ' · ', a.actor, ' · ', a.type),
        el('div', { class: comment ? 'text' : '' }, a.message)));
    }
    if (!items.length) list.appendChild(el('li', { class: 'muted' }, 'Nothing has happened to this incident yet.'));
  }

  // ---- live updates ------------------------------------------------------------
  let liveTimer = null;
  w.stream('incidentId=' + encodeURIComponent(id), (ev) => {
    clearTimeout(liveTimer);
    liveTimer = setTimeout(async () => {
      const editing = $('#manage-form').contains(document.activeElement);
      await loadIncident(!editing);
      if (editing && formEtag !== etag) say($('#manage-msg'), (ev.actor || 'Someone') + ' changed this incident while you were editing; saving will show you the current values first.', '');
      if (ev.actor && ev.actor !== w.user) w.notice(ev.actor + ': ' + ev.message);
      for (const k of tabs) loaded[k] = false;
      if (current !== 'story' || !timer) refreshTab();
    }, 500);
  });

  loadIncident().then((ok) => { if (ok) showTab(location.hash.slice(1) || 'story'); });
});
