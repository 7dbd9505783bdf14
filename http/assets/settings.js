// The settings page (/settings?section=KEY): each section reads and
// changes its settings through the admin API. Every value the API gives is
// shown as text (weft.el, textContent). A refused change is shown next to
// the field the server's message names ("condition: 1:23: …", "grants[1].role:
// …"), and the form keeps what was typed. Deleting asks for a second click
// on the same button instead of a dialog.
'use strict';
(function () {
  const W = window.weft;
  const { api, el, clear, $, $$, notice, timeEl } = W;
  const ROLES = ['viewer', 'analyst', 'responder', 'admin'];

  // ---- section state: loading, errors, the body ----
  function state(msg, kind, retry) {
    const s = $('#section-state');
    clear(s);
    s.className = 'state' + (kind ? ' ' + kind : '');
    s.hidden = !msg;
    if (!msg) return;
    s.appendChild(el('p', null, msg));
    if (retry) {
      const b = el('button', { type: 'button' }, 'Retry');
      b.addEventListener('click', retry);
      s.appendChild(b);
    }
  }
  function ready() { state(''); $('#section-body').hidden = false; document.body.dataset.settingsLoaded = $('#settings').dataset.section; }
  // loadFailed explains why a section could not be read.
  function loadFailed(e, retry) {
    $('#section-body').hidden = true;
    if (e.status === 403) {
      state('This section needs the admin role in every tenant (an admin grant for *): ' + e.message, 'error needs-admin');
    } else {
      state('Could not load this section: ' + e.message, 'error', retry);
    }
  }

  // ---- forms: server errors next to their field ----
  function clearErrors(form) {
    for (const n of $$('.field-error', form)) n.remove();
    for (const n of $$('[aria-invalid]', form)) n.removeAttribute('aria-invalid');
    const fe = $('.form-error', form);
    if (fe) { fe.textContent = ''; fe.hidden = true; }
  }
  // fieldOf is the field a server message starts with: "name: …",
  // "correlation policy: hubThreshold must …", "rule.condition: 1:1: …",
  // "grants[2].role: …" (index 2).
  function fieldOf(msg) {
    const m = /^(?:correlation policy: )?(?:rule\.)?([A-Za-z]+)(?:\[(\d+)\])?(?:[.:]|\s)/.exec(msg || '');
    return m ? { name: m[1], index: m[2] === undefined ? -1 : Number(m[2]) } : { name: '', index: -1 };
  }
  // showError puts err next to the field it names in form, or at the
  // form's foot. A CEL position "L:C" selects that place in the text.
  function showError(form, err) {
    const msg = (err && err.message) || String(err);
    const f = fieldOf(msg);
    const target = f.name ? form.querySelector('[data-field="' + f.name + '"]') : null;
    let text = msg;
    if (err && err.status === 412) text += ' Someone changed it since you opened it: open it again to see their change, then apply yours.';
    if (!target) {
      const fe = $('.form-error', form);
      fe.textContent = text;
      fe.hidden = false;
      return;
    }
    if (f.index >= 0 && target.tagName === 'TEXTAREA') text += ' (entry ' + (f.index + 1) + ')';
    const span = el('span', { class: 'field-error', role: 'alert', 'data-error-for': f.name }, text);
    (target.closest('label') || target).appendChild(span);
    target.setAttribute('aria-invalid', 'true');
    if (typeof target.focus === 'function') target.focus();
    const pos = /: (\d+):(\d+): /.exec(msg);
    if (pos && target.tagName === 'TEXTAREA') {
      const lines = target.value.split('\n');
      const line = Math.min(Number(pos[1]), lines.length) - 1;
      let at = 0;
      for (let i = 0; i < line; i++) at += lines[i].length + 1;
      at += Math.max(0, Number(pos[2]) - 1);
      target.setSelectionRange(at, Math.min(at + 1, target.value.length));
    }
  }
  // formError makes an error that names a field, for checks made here.
  function formError(field, msg) { const e = new Error(field + ': ' + msg); e.status = 400; return e; }
  // submitting disables form's buttons while fn runs and shows its error.
  async function submitting(form, fn) {
    clearErrors(form);
    const buttons = $$('button', form);
    for (const b of buttons) b.disabled = true;
    try {
      await fn();
      return true;
    } catch (e) {
      if (e.name === 'AbortError') return false;
      showError(form, e);
      return false;
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }
  // armed: a destructive button does its work on the second click.
  function armed(button, label, fn) {
    const text = button.textContent;
    button.addEventListener('click', async () => {
      if (button.dataset.armed !== '1') {
        button.dataset.armed = '1';
        button.textContent = label;
        button.classList.add('danger');
        setTimeout(() => { if (button.isConnected) { button.dataset.armed = ''; button.textContent = text; button.classList.remove('danger'); } }, 5000);
        return;
      }
      button.disabled = true;
      try { await fn(); } catch (e) { notice(e.message, 'error'); button.disabled = false; }
    });
  }
  function btn(label, fn, attrs) {
    const b = el('button', Object.assign({ type: 'button' }, attrs || {}), label);
    if (fn) b.addEventListener('click', fn);
    return b;
  }
  function td(...c) { return el('td', null, ...c); }
  function fill(tbody, rows, cols, empty) {
    clear(tbody);
    if (!rows.length) tbody.appendChild(el('tr', { class: 'empty' }, el('td', { colspan: String(cols) }, empty)));
    for (const r of rows) tbody.appendChild(r);
  }
  function grantsText(grants) {
    return (grants || []).map((g) => g.tenantId + ' ' + g.role + (g.deviceGroups && g.deviceGroups.length ? ' ' + g.deviceGroups.join(', ') : '')).join('\n');
  }
  // parseGrants reads "TENANT ROLE [GROUP, GROUP…]" lines.
  function parseGrants(text) {
    const out = [];
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (!line) return;
      const parts = line.split(/\s+/);
      if (parts.length < 2) throw formError('grants', 'line ' + (i + 1) + ': give a tenant and a role, e.g. "default analyst", not "' + line + '"');
      if (!ROLES.includes(parts[1])) throw formError('grants', 'line ' + (i + 1) + ': "' + parts[1] + '" is not a role; roles are ' + ROLES.join(', '));
      const groups = parts.slice(2).join(' ').split(',').map((x) => x.trim()).filter(Boolean);
      const g = { tenantId: parts[0], role: parts[1] };
      if (groups.length) g.deviceGroups = groups;
      out.push(g);
    });
    return out;
  }
  const linkIncident = (id) => id && id !== '0' ? el('a', { href: '/incidents/' + encodeURIComponent(id) }, '#' + id) : '–';

  // ---- correlation policy ----
  const POLICY_NUMBERS = ['hubThreshold', 'noisyThreshold', 'weakMaxPrincipals', 'maxIncidentAlerts'];
  const POLICY_WINDOWS = ['strongWindow', 'mediumWindow', 'weakWindow', 'repeatWindow', 'benignWindow', 'mediumSeverityWindow'];
  // shortDuration writes Go's "24h0m0s" as "24h".
  function shortDuration(d) { return String(d || '0s').replace(/([hm])0s$/, '$1').replace(/h0m$/, 'h'); }
  async function correlation() {
    const form = $('#policy-form');
    function show(p) {
      $('#policy-source').textContent = p.source + (p.source === 'default' ? ' (weft\'s built-in policy)' : p.source === 'file' ? ' (the server\'s --policy file)' : ' (set here)');
      for (const k of POLICY_WINDOWS) form.elements[k].value = shortDuration(p.policy[k]);
      for (const k of POLICY_NUMBERS) form.elements[k].value = p.policy[k];
      form.elements.exclusions.value = (p.policy.exclusions || []).join('\n');
      $('#policy-reset').disabled = p.source !== 'api';
    }
    async function load() {
      try { show((await api('GET', '/api/v1/correlation/policy')).data); ready(); } catch (e) { loadFailed(e, load); }
    }
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      submitting(form, async () => {
        const body = {};
        for (const k of POLICY_WINDOWS) body[k] = form.elements[k].value.trim();
        for (const k of POLICY_NUMBERS) {
          const v = form.elements[k].value.trim();
          if (!/^-?\d+$/.test(v)) throw formError(k, 'must be a whole number, not "' + v + '"');
          body[k] = Number(v);
        }
        body.exclusions = form.elements.exclusions.value.split('\n').map((x) => x.trim()).filter(Boolean);
        show((await api('PUT', '/api/v1/correlation/policy', { body })).data);
        notice('Correlation policy saved; it applies from the next alert.');
      });
    });
    armed($('#policy-reset'), 'Reset? Click again', async () => {
      show((await api('DELETE', '/api/v1/correlation/policy')).data);
      notice('Back to the ' + $('#policy-source').textContent + ' policy.');
    });
    await load();
  }

  // ---- assets ----
  const ASSET_FIELDS = ['id', 'kind', 'criticality', 'displayName', 'deviceGroup', 'tags', 'deviceDnsName', 'hostName', 'mdeDeviceId',
    'azureAdDeviceId', 'userPrincipalName', 'userSid', 'azureAdUserId', 'accounts', 'mailAddresses'];
  const ASSET_LISTS = ['tags', 'accounts', 'mailAddresses'];
  // parseCSV reads RFC 4180 CSV: records of cells, each with the line it
  // starts on. An unterminated quote is an error naming its line.
  function parseCSV(text) {
    const recs = [];
    let cells = [], cell = '', quoted = false, line = 1, start = 1, i = 0, any = false;
    if (text.charCodeAt(0) === 0xfeff) i = 1;
    for (; i < text.length; i++) {
      const c = text[i];
      if (quoted) {
        if (c === '"') {
          if (text[i + 1] === '"') { cell += '"'; i++; } else quoted = false;
        } else { if (c === '\n') line++; cell += c; }
        continue;
      }
      if (c === '"' && cell === '') { quoted = true; any = true; } else if (c === ',') { cells.push(cell); cell = ''; any = true; } else if (c === '\r' && text[i + 1] === '\n') { continue; } else if (c === '\n' || c === '\r') {
        cells.push(cell);
        if (any || cell !== '') recs.push({ line: start, cells });
        cells = []; cell = ''; any = false; line++; start = line;
      } else { cell += c; any = true; }
    }
    if (quoted) throw formError('csv', 'line ' + start + ': a quoted cell is not closed');
    cells.push(cell);
    if (any || cell !== '') recs.push({ line: start, cells });
    return recs;
  }
  // csvAssets turns the CSV's records into assets, each with the error
  // that keeps it from being sent, if any.
  function csvAssets(text) {
    const recs = parseCSV(text);
    if (!recs.length) throw formError('csv', 'the file is empty');
    const header = recs[0].cells.map((h) => h.trim());
    const cols = header.map((h, i) => {
      const f = ASSET_FIELDS.find((x) => x.toLowerCase() === h.toLowerCase());
      if (!f) throw formError('csv', 'line 1, column ' + (i + 1) + ': "' + h + '" is not an asset field; the fields are ' + ASSET_FIELDS.join(', '));
      return f;
    });
    const dup = cols.find((c, i) => cols.indexOf(c) !== i);
    if (dup) throw formError('csv', 'line 1: the column ' + dup + ' is given twice');
    if (!cols.includes('id') || !cols.includes('kind')) throw formError('csv', 'line 1: the columns id and kind are required');
    return {
      cols,
      rows: recs.slice(1).map((r) => {
        const row = { line: r.line, cells: r.cells, asset: null, error: '' };
        if (r.cells.length !== cols.length) { row.error = 'has ' + r.cells.length + ' cells, the header ' + cols.length; return row; }
        const a = {};
        cols.forEach((c, i) => {
          const v = r.cells[i].trim();
          if (v === '') return;
          if (ASSET_LISTS.includes(c)) a[c] = v.split(';').map((x) => x.trim()).filter(Boolean);
          else if (c === 'criticality') {
            if (!/^-?\d+$/.test(v)) row.error = row.error || 'criticality: "' + v + '" is not a number from 0 to 3';
            else a[c] = Number(v);
          } else a[c] = v;
        });
        if (!row.error) row.asset = a;
        return row;
      }),
    };
  }
  async function assets() {
    const form = $('#csv-form'), table = $('#csv-preview'), importBtn = $('#csv-import');
    const PAGE = 50;
    let skip = 0, parsed = null;
    async function load() {
      try {
        const { data } = await api('GET', '/api/v1/assets?$count=true&$top=' + PAGE + '&$skip=' + skip);
        const rows = (data.value || []).map((a) => {
          const del = btn('Delete', null, { class: 'ghost', 'aria-label': 'Delete the asset ' + a.id });
          armed(del, 'Delete? Click again', async () => { await api('DELETE', '/api/v1/assets/' + encodeURIComponent(a.id)); notice('Asset ' + a.id + ' deleted.'); await load(); });
          return el('tr', { 'data-id': a.id }, td(a.id), td(a.kind), td(a.displayName || ''), el('td', { class: 'num crit-' + a.criticality }, String(a.criticality)),
            td(a.deviceGroup || ''), td(W.chips(a.tags, 4)), el('td', { class: 'break' }, (a.identifiers || []).map((x) => x.value).join(', ')), td(timeEl(a.lastUpdateDateTime)), td(del));
        });
        fill($('#assets-table tbody'), rows, 9, 'No assets yet: import a CSV file above, or PUT /api/v1/assets.');
        const total = data['@odata.count'] || 0;
        $('#assets-pager').hidden = total <= PAGE;
        $('#assets-page').textContent = total ? (skip + 1) + '–' + Math.min(skip + PAGE, total) + ' of ' + total : '';
        $('#assets-prev').disabled = skip === 0;
        $('#assets-next').disabled = skip + PAGE >= total;
        ready();
      } catch (e) { loadFailed(e, load); }
    }
    $('#assets-prev').addEventListener('click', () => { skip = Math.max(0, skip - PAGE); load(); });
    $('#assets-next').addEventListener('click', () => { skip += PAGE; load(); });
    $('#csv-file').addEventListener('change', async () => {
      const f = $('#csv-file').files[0];
      if (f) { $('#csv-text').value = await f.text(); form.requestSubmit(); }
    });
    function preview() {
      const thead = $('thead', table), tbody = $('tbody', table);
      clear(thead); clear(tbody);
      thead.appendChild(el('tr', null, el('th', null, 'Line'), el('th', null, 'Result'), parsed.cols.map((c) => el('th', null, c))));
      for (const r of parsed.rows) {
        const result = r.result ? r.result.status : r.error ? 'not sent' : 'to import';
        const why = r.result && r.result.error ? (r.result.error.field ? r.result.error.field + ': ' : '') + r.result.error.message : r.error;
        tbody.appendChild(el('tr', { 'data-line': String(r.line), class: why ? 'rejected' : r.result ? 'done' : '' },
          el('td', { class: 'num' }, String(r.line)), el('td', { class: 'result' }, el('strong', null, result), why ? el('span', { class: 'field-error' }, ' ' + why) : null),
          parsed.cols.map((c, i) => td(r.cells[i] === undefined ? '' : r.cells[i]))));
      }
      table.hidden = false;
      const ok = parsed.rows.filter((r) => r.asset && !r.result).length;
      importBtn.disabled = ok === 0;
      importBtn.textContent = 'Import ' + ok + ' asset' + (ok === 1 ? '' : 's');
    }
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      clearErrors(form);
      $('#csv-summary').textContent = '';
      try {
        parsed = csvAssets($('#csv-text').value);
      } catch (e) {
        parsed = null; table.hidden = true; importBtn.disabled = true;
        $('#csv-text').setAttribute('data-field', 'csv');
        showError(form, e);
        return;
      }
      preview();
      const bad = parsed.rows.filter((r) => r.error).length;
      $('#csv-summary').textContent = parsed.rows.length + ' rows read' + (bad ? ', ' + bad + ' with errors (not sent)' : '');
    });
    importBtn.addEventListener('click', () => {
      submitting(form, async () => {
        const todo = parsed.rows.filter((r) => r.asset && !r.result);
        const counts = { created: 0, updated: 0, unchanged: 0, rejected: 0 };
        for (let i = 0; i < todo.length; i += 1000) {
          const part = todo.slice(i, i + 1000);
          const { data } = await api('PUT', '/api/v1/assets', { body: part.map((r) => r.asset) });
          for (const res of data.results || []) {
            part[res.index].result = res;
            counts[res.status] = (counts[res.status] || 0) + 1;
          }
        }
        preview();
        const notSent = parsed.rows.filter((r) => r.error).length;
        $('#csv-summary').textContent = counts.created + ' created, ' + counts.updated + ' updated, ' + counts.unchanged + ' unchanged, ' +
          (counts.rejected + notSent) + ' rejected (see the rows marked)';
        document.body.dataset.assetsImported = String(counts.created + counts.updated + counts.unchanged);
        await load();
      });
    });
    await load();
  }

  // ---- response: approval policy, catalogue, connectors ----
  async function response() {
    const form = $('#approval-form');
    let catalogue = [];
    function show(p) {
      const all = (p.requireApproval || []).includes('*');
      form.querySelector('input[value="*"]').checked = all;
      for (const c of $$('#approval-types input')) c.checked = all || (p.requireApproval || []).includes(c.value);
      form.elements.automationRequiresApproval.checked = !!p.automationRequiresApproval;
    }
    async function load() {
      try {
        // The server's connectors (404 from a server that reports none)
        // and those the latest actions went to.
        const conf = api('GET', '/api/v1/response/connectors').then((r) => r.data, (e) => { if (e.status === 404) return null; throw e; });
        const [cat, pol, acts, cs] = await Promise.all([api('GET', '/api/v1/actions/catalogue'), api('GET', '/api/v1/response/policy'), api('GET', '/api/v1/actions?$top=200'), conf]);
        const conns = new Map();
        const entry = (name) => { if (!conns.has(name)) conns.set(name, { kind: '–', runs: [], n: 0, last: '' }); return conns.get(name); };
        for (const c of (cs && cs.connectors) || []) entry(c.name).kind = c.kind;
        for (const a of (cs && cs.actions) || []) entry(a.connector).runs.push(a.type);
        for (const a of acts.data.value || []) {
          if (!a.connector) continue;
          const c = entry(a.connector);
          c.n++;
          if (a.lastUpdateDateTime > c.last) c.last = a.lastUpdateDateTime;
        }
        fill($('#connectors-table tbody'), [...conns].sort((x, y) => x[0].localeCompare(y[0])).map(([name, c]) => el('tr', { 'data-connector': name },
          td(el('strong', null, name), cs && name === cs.default ? el('span', { class: 'help' }, ' (default)') : null), td(c.kind),
          td(c.runs.length ? c.runs.join(', ') : cs ? 'no action type' : '–'), el('td', { class: 'num' }, String(c.n)), td(c.last ? timeEl(c.last) : '–'))),
        5, 'This server reports no connectors, and no action of this tenant has reached one yet.');
        catalogue = cat.data.value || [];
        const box = clear($('#approval-types'));
        for (const c of catalogue) box.appendChild(el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'requireApproval', value: c.type }), ' ' + c.type));
        show(pol.data);
        fill($('#catalogue-table tbody'), catalogue.map((c) => el('tr', { 'data-type': c.type }, td(el('strong', null, c.type)), td((c.entityTypes || []).join(', ')),
          td(c.role), td(c.inverse || '–'), td((c.parameters || []).map((p) => p.name + ' (' + p.values.join(' | ') + ', default ' + p.default + ')').join('; ') || '–'),
          td(c.ttlSeconds ? Math.round(c.ttlSeconds / 3600) + ' h' : '–'), td(c.description))), 7, 'The catalogue is empty.');
        ready();
      } catch (e) { loadFailed(e, load); }
    }
    form.querySelector('input[value="*"]').addEventListener('change', (ev) => { for (const c of $$('#approval-types input')) { c.checked = ev.target.checked; c.disabled = ev.target.checked; } });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      submitting(form, async () => {
        const all = form.querySelector('input[value="*"]').checked;
        const body = { requireApproval: all ? ['*'] : $$('#approval-types input:checked').map((c) => c.value), automationRequiresApproval: form.elements.automationRequiresApproval.checked };
        show((await api('PUT', '/api/v1/response/policy', { body })).data);
        notice('Approval policy saved.');
      });
    });
    await load();
  }

  // ---- automation and notification rules ----
  async function rules(kind) {
    const auto = kind === 'automation';
    const base = auto ? '/api/v1/automation/rules' : '/api/v1/notifications/rules';
    const form = $('#rule-form');
    const E = form.elements;
    let names = {};
    function reset() {
      form.reset();
      E.id.value = ''; E.version.value = '';
      $('#rule-form-title').textContent = 'New rule';
      clearErrors(form);
      clear($('#rule-test-result'));
    }
    function edit(r) {
      reset();
      E.id.value = r.id; E.version.value = r.version;
      $('#rule-form-title').textContent = 'Edit rule ' + r.name + ' (version ' + r.version + ')';
      E.name.value = r.name; E.enabled.checked = r.enabled; E.condition.value = r.condition;
      if (auto) {
        E.description.value = r.description || ''; E.order.value = r.order;
        E.actions.value = JSON.stringify(r.actions || [], null, 2);
      } else {
        for (const c of $$('input[name=events]', form)) c.checked = (r.events || []).includes(c.value);
        E.url.value = r.url || ''; E.format.value = r.format || 'generic'; E.secretFile.value = r.secretFile || '';
      }
      form.scrollIntoView({ block: 'start' });
      E.name.focus();
    }
    // rule is the form as a rule; a mistake found here names its field.
    function rule() {
      const r = { name: E.name.value.trim(), enabled: E.enabled.checked, condition: E.condition.value };
      if (auto) {
        r.description = E.description.value.trim();
        const o = E.order.value.trim();
        if (o !== '' && !/^-?\d+$/.test(o)) throw formError('order', 'must be a whole number, not "' + o + '"');
        r.order = o === '' ? 0 : Number(o);
        const a = E.actions.value.trim();
        try { r.actions = a ? JSON.parse(a) : []; } catch (e) { throw formError('actions', 'not JSON: ' + e.message); }
        if (!Array.isArray(r.actions)) throw formError('actions', 'must be a JSON array of actions, [{"type": …}]');
      } else {
        r.events = $$('input[name=events]:checked', form).map((c) => c.value);
        r.url = E.url.value.trim(); r.format = E.format.value;
        if (E.secretFile.value.trim()) r.secretFile = E.secretFile.value.trim();
      }
      return r;
    }
    async function save(r, id, version) {
      const headers = version ? { 'If-Match': '"' + version + '"' } : {};
      return (await api(id ? 'PUT' : 'POST', id ? base + '/' + encodeURIComponent(id) : base, { body: r, headers })).data;
    }
    async function load() {
      try {
        const { data } = await api('GET', base);
        const list = data.value || [];
        names = {};
        for (const r of list) names[r.id] = r.name;
        fill($('#rules-table tbody'), list.map((r) => {
          const del = btn('Delete', null, { class: 'ghost' });
          armed(del, 'Delete? Click again', async () => {
            await api('DELETE', base + '/' + encodeURIComponent(r.id), { headers: { 'If-Match': '"' + r.version + '"' } });
            notice('Rule ' + r.name + ' deleted.');
            if (E.id.value === r.id) reset();
            await load();
          });
          const toggle = btn(r.enabled ? 'Disable' : 'Enable', async () => {
            toggle.disabled = true;
            try {
              const cur = (await api('GET', base + '/' + encodeURIComponent(r.id))).data;
              cur.enabled = !r.enabled;
              await save(cur, r.id, cur.version);
              notice('Rule ' + r.name + (cur.enabled ? ' enabled.' : ' disabled.'));
              await load();
            } catch (e) { notice(e.message, 'error'); toggle.disabled = false; }
          });
          const what = auto ? (r.actions || []).map((a) => a.type + (a.value ? ' ' + a.value : '') + (a.actionType ? ' ' + a.actionType + ' on ' + a.target : '')).join('; ')
            : (r.events || []).join(', ') + ' · ' + r.format + ' · ' + r.url;
          return el('tr', { 'data-id': r.id, class: r.enabled ? '' : 'disabled' }, auto ? el('td', { class: 'num' }, String(r.order)) : null,
            td(el('strong', null, r.name), r.description ? el('div', { class: 'help' }, r.description) : null), td(r.enabled ? 'yes' : 'no'),
            el('td', null, el('code', { class: 'wrap' }, r.condition)), el('td', { class: 'wrap' }, what), el('td', { class: 'num' }, String(r.version)),
            td(timeEl(r.lastUpdateDateTime), el('div', { class: 'help' }, r.lastModifiedBy)),
            el('td', { class: 'row-actions' }, btn('Edit', async () => {
              try { edit((await api('GET', base + '/' + encodeURIComponent(r.id))).data); } catch (e) { notice(e.message, 'error'); }
            }), toggle, del));
        }), 8, 'No rules yet: write one below.');
        await loadLog();
        ready();
      } catch (e) { loadFailed(e, load); }
    }
    async function loadLog() {
      const { data } = await api('GET', (auto ? '/api/v1/automation/runs' : '/api/v1/notifications/deliveries') + '?$top=50');
      const rows = (data.value || []).map((x) => auto
        ? el('tr', { class: 'outcome-' + x.outcome }, td(timeEl(x.createdDateTime)), td(x.ruleName + ' (v' + x.ruleVersion + ')'), td(linkIncident(x.incidentId)),
          td(x.outcome), td((x.effects || []).join('; ')), el('td', { class: 'break' }, x.error || ''))
        : el('tr', { class: 'state-' + x.state }, td(timeEl(x.createdDateTime)), td(names[x.ruleId] || '#' + x.ruleId), td(linkIncident(x.incidentId)),
          td(x.kind), td(x.state), el('td', { class: 'num' }, String(x.attempts)), el('td', { class: 'break' }, x.lastError || '')));
      fill($('#log-table tbody'), rows, auto ? 6 : 7, auto ? 'No runs yet: enabled rules run on incidents as they change.' : 'Nothing delivered yet.');
    }
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      submitting(form, async () => {
        const r = await save(rule(), E.id.value, E.version.value);
        notice('Rule ' + r.name + ' saved (version ' + r.version + ').');
        edit(r);
        await load();
      });
    });
    $('#rule-new').addEventListener('click', reset);
    $('#rule-test').addEventListener('click', () => {
      const out = clear($('#rule-test-result'));
      submitting(form, async () => {
        const id = $('#rule-test-incident').value.trim().replace(/^#/, '');
        if (!/^\d+$/.test(id)) throw formError('incidentId', 'give the id of an incident, e.g. 17');
        const { data } = await api('POST', base + '/test', { body: { rule: rule(), incidentId: id } });
        out.appendChild(el('p', { class: data.matched ? 'matched' : 'unmatched' }, el('strong', null, data.matched ? 'Matched' : 'Did not match'), ' incident ', linkIncident(data.incidentId),
          data.matched ? (data.effects && data.effects.length ? '; it would:' : '; nothing to do.') : '.'));
        if (data.matched && data.effects && data.effects.length) out.appendChild(el('ul', { class: 'effects' }, data.effects.map((x) => el('li', { class: 'break' }, x))));
      });
    });
    await load();
  }

  // ---- users ----
  async function users() {
    const create = $('#user-form'), grants = $('#grants-form'), pw = $('#password-form');
    for (const f of [grants, pw]) $('.cancel', f).addEventListener('click', () => { f.hidden = true; clearErrors(f); });
    async function load() {
      try {
        const { data } = await api('GET', '/api/v1/users');
        fill($('#users-table tbody'), (data.value || []).map((u) => {
          const toggle = btn(u.disabled ? 'Enable' : 'Disable', null);
          const doToggle = async () => { await api('PATCH', '/api/v1/users/' + encodeURIComponent(u.id), { body: { disabled: !u.disabled } }); notice('User ' + u.name + (u.disabled ? ' enabled.' : ' disabled; their sessions ended.')); await load(); };
          if (u.disabled) toggle.addEventListener('click', () => doToggle().catch((e) => notice(e.message, 'error'))); else armed(toggle, 'Disable? Click again', doToggle);
          return el('tr', { 'data-id': u.id, 'data-name': u.name, class: u.disabled ? 'disabled' : '' }, td(el('strong', null, u.name)), td(u.displayName || ''),
            el('td', { class: 'pre' }, grantsText(u.grants) || 'none'), td(u.disabled ? 'disabled' : u.mustChangePassword ? 'must change password' : 'active'), td(timeEl(u.createdDateTime)),
            el('td', { class: 'row-actions' }, btn('Grants', () => {
              grants.hidden = false; clearErrors(grants); grants.elements.id.value = u.id; $('#grants-user').textContent = u.name;
              grants.elements.grants.value = grantsText(u.grants); grants.scrollIntoView({ block: 'center' }); grants.elements.grants.focus();
            }), btn('Reset password', () => {
              pw.hidden = false; clearErrors(pw); pw.elements.id.value = u.id; $('#password-user').textContent = u.name;
              pw.elements.password.value = ''; pw.scrollIntoView({ block: 'center' }); pw.elements.password.focus();
            }), toggle));
        }), 6, 'No users.');
        ready();
      } catch (e) { loadFailed(e, load); }
    }
    create.addEventListener('submit', (ev) => {
      ev.preventDefault();
      submitting(create, async () => {
        const E = create.elements;
        const body = { name: E.name.value.trim(), displayName: E.displayName.value.trim(), password: E.password.value, mustChangePassword: E.mustChangePassword.checked, grants: parseGrants(E.grants.value) };
        const { data } = await api('POST', '/api/v1/users', { body });
        notice('User ' + data.name + ' created.');
        create.reset();
        await load();
      });
    });
    grants.addEventListener('submit', (ev) => {
      ev.preventDefault();
      submitting(grants, async () => {
        await api('PATCH', '/api/v1/users/' + encodeURIComponent(grants.elements.id.value), { body: { grants: parseGrants(grants.elements.grants.value) } });
        notice('Grants of ' + $('#grants-user').textContent + ' saved.');
        grants.hidden = true;
        await load();
      });
    });
    pw.addEventListener('submit', (ev) => {
      ev.preventDefault();
      submitting(pw, async () => {
        await api('POST', '/api/v1/users/' + encodeURIComponent(pw.elements.id.value) + '/password', { body: { password: pw.elements.password.value, mustChangePassword: pw.elements.mustChangePassword.checked } });
        notice('Password of ' + $('#password-user').textContent + ' set; their sessions ended.');
        pw.elements.password.value = '';
        pw.hidden = true;
        await load();
      });
    });
    await load();
  }

  // ---- tokens ----
  async function tokens() {
    const form = $('#token-form'), box = $('#token-secret');
    async function load() {
      try {
        const { data } = await api('GET', '/api/v1/tokens');
        fill($('#tokens-table tbody'), (data.value || []).map((t) => {
          let revoke = el('span', { class: 'revoked' }, 'revoked ', t.revokedDateTime ? timeEl(t.revokedDateTime) : '');
          if (!t.revokedDateTime) {
            revoke = btn('Revoke', null, { class: 'ghost' });
            armed(revoke, 'Revoke? Click again', async () => { await api('DELETE', '/api/v1/tokens/' + encodeURIComponent(t.id)); notice('Token ' + t.name + ' revoked.'); await load(); });
          }
          return el('tr', { 'data-id': t.id, 'data-name': t.name, class: t.revokedDateTime ? 'disabled' : '' }, td(el('strong', null, t.name)), el('td', null, el('code', null, t.id)), el('td', { class: 'pre' }, grantsText(t.grants)),
            td(t.createdBy || ''), td(timeEl(t.createdDateTime)), td(t.expiresDateTime ? W.time(t.expiresDateTime) : 'never'), td(t.lastUsedDateTime ? timeEl(t.lastUsedDateTime) : 'never'), td(revoke));
        }), 8, 'No tokens.');
        ready();
      } catch (e) { loadFailed(e, load); }
    }
    function hideSecret() { $('#token-secret-value').textContent = ''; $('#token-copied').textContent = ''; box.hidden = true; }
    $('#token-secret-done').addEventListener('click', hideSecret);
    $('#token-copy').addEventListener('click', async () => {
      const v = $('#token-secret-value').textContent;
      try { await navigator.clipboard.writeText(v); $('#token-copied').textContent = 'Copied.'; } catch (e) {
        // Without clipboard access: select it for Ctrl-C.
        const r = document.createRange(); r.selectNodeContents($('#token-secret-value'));
        const s = getSelection(); s.removeAllRanges(); s.addRange(r);
        $('#token-copied').textContent = 'Selected: press Ctrl-C to copy.';
      }
    });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      submitting(form, async () => {
        const E = form.elements;
        const body = { name: E.name.value.trim(), grants: parseGrants(E.grants.value) };
        const days = E.days.value.trim();
        if (days) {
          if (!/^\d+$/.test(days) || Number(days) < 1) throw formError('expiresDateTime', 'give a whole number of days, 1 or more, or leave it empty');
          body.expiresDateTime = new Date(Date.now() + Number(days) * 86400000).toISOString();
        }
        const { data } = await api('POST', '/api/v1/tokens', { body });
        $('#token-secret-name').textContent = data.token.name;
        $('#token-secret-value').textContent = data.secret;
        box.hidden = false;
        form.reset();
        await load();
        box.scrollIntoView({ block: 'center' });
      });
    });
    await load();
  }

  // ---- tenants ----
  async function tenants() {
    const form = $('#tenant-form');
    async function patch(id, body, done) { await api('PATCH', '/api/v1/tenants/' + encodeURIComponent(id), { body }); notice(done); await load(); }
    async function load() {
      try {
        const { data } = await api('GET', '/api/v1/tenants');
        fill($('#tenants-table tbody'), (data.value || []).map((t) => {
          const nameCell = td(t.displayName);
          const rename = btn('Rename', () => {
            const f = el('form', { class: 'inline rename' }, el('input', { name: 'displayName', 'data-field': 'displayName', value: t.displayName, 'aria-label': 'New display name of ' + t.id }),
              el('button', { type: 'submit' }, 'Save'), el('p', { class: 'form-error', role: 'alert', hidden: true }));
            const cancel = btn('Cancel', () => load(), { class: 'ghost' });
            f.insertBefore(cancel, f.lastChild);
            f.addEventListener('submit', (ev) => { ev.preventDefault(); submitting(f, () => patch(t.id, { displayName: f.elements.displayName.value.trim() }, 'Tenant ' + t.id + ' renamed.')); });
            clear(nameCell).appendChild(f);
            f.elements.displayName.focus();
          });
          const toggle = btn(t.disabled ? 'Enable' : 'Disable', null);
          const doToggle = () => patch(t.id, { disabled: !t.disabled }, 'Tenant ' + t.id + (t.disabled ? ' enabled.' : ' disabled.'));
          if (t.disabled) toggle.addEventListener('click', () => doToggle().catch((e) => notice(e.message, 'error'))); else armed(toggle, 'Disable? Click again', doToggle);
          return el('tr', { 'data-id': t.id, class: t.disabled ? 'disabled' : '' }, td(el('code', null, t.id)), nameCell, td(t.disabled ? 'disabled' : 'enabled'),
            td(timeEl(t.createdDateTime)), el('td', { class: 'row-actions' }, rename, toggle));
        }), 5, 'No tenants.');
        ready();
      } catch (e) { loadFailed(e, load); }
    }
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      submitting(form, async () => {
        const { data } = await api('POST', '/api/v1/tenants', { body: { id: form.elements.id.value.trim(), displayName: form.elements.displayName.value.trim() } });
        notice('Tenant ' + data.id + ' created.');
        form.reset();
        await load();
      });
    });
    await load();
  }

  // ---- audit log ----
  async function audit() {
    const PAGE = 50;
    const q = new URLSearchParams(location.search);
    const form = $('#audit-filters');
    for (const k of ['actor', 'action', 'tenantId', 'since']) if (q.get(k)) form.elements[k].value = q.get(k);
    const page = Math.max(1, Number(q.get('page')) || 1);
    const spans = { '1h': 3600e3, '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 };
    async function load() {
      const p = new URLSearchParams({ $top: String(PAGE), $skip: String((page - 1) * PAGE) });
      for (const k of ['actor', 'action', 'tenantId']) if (q.get(k)) p.set(k, q.get(k));
      if (spans[q.get('since')]) p.set('since', new Date(Date.now() - spans[q.get('since')]).toISOString());
      try {
        const { data } = await api('GET', '/api/v1/audit?' + p.toString());
        fill($('#audit-table tbody'), (data.value || []).map((x) => el('tr', { class: 'outcome-' + x.outcome }, td(timeEl(x.createdDateTime)), td(x.actor),
          td(x.tenantId || ''), td(x.action), el('td', { class: 'break' }, x.target || ''), td(x.outcome), el('td', { class: 'break' }, x.detail || ''), td(x.remoteAddr || ''))),
        8, 'No entries match these filters.');
        const more = !!data['@odata.nextLink'];
        $('#audit-pager').hidden = page === 1 && !more;
        $('#audit-page').textContent = 'page ' + page;
        $('#audit-prev').disabled = page === 1;
        $('#audit-next').disabled = !more;
        ready();
      } catch (e) {
        if (e.status === 400) { ready(); showError($('#section-body'), e); return; }
        loadFailed(e, load);
      }
    }
    const go = (n) => { q.set('page', String(n)); location.assign('/settings?' + q.toString()); };
    $('#audit-prev').addEventListener('click', () => go(page - 1));
    $('#audit-next').addEventListener('click', () => go(page + 1));
    await load();
  }

  const sections = { correlation, assets, response, automation: () => rules('automation'), notifications: () => rules('notifications'), users, tokens, tenants, audit };
  document.addEventListener('DOMContentLoaded', () => {
    const root = $('#settings');
    if (!root) { document.body.dataset.settingsLoaded = 'needs-admin'; return; }
    const run = sections[root.dataset.section];
    if (run) run().catch((e) => state('Something went wrong: ' + e.message, 'error'));
  });
})();
