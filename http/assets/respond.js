// The response-action dialog, shared by the incident page, the entity
// pages and the action center: the catalogue's actions for an entity
// type, their parameters and a comment, sent as POST /api/v1/actions. The
// answer says whether the action was created (201) or an open one repeats
// it (200), and whether it waits for another responder's approval; a
// refusal is shown in the dialog with the API's message. Like every page
// script it builds the document with el(), never innerHTML.
'use strict';
(function () {
  const w = window.weft;
  const { api, el, clear } = w;

  // catalogue answers the catalogue's actions, all or for one entity
  // type, read once per page.
  const catalogues = new Map();
  function catalogue(entityType) {
    const k = entityType || '';
    if (!catalogues.has(k)) {
      const p = api('GET', '/api/v1/actions/catalogue' + (k ? '?entityType=' + encodeURIComponent(k) : '')).then((r) => r.data.value || []);
      p.catch(() => catalogues.delete(k));
      catalogues.set(k, p);
    }
    return catalogues.get(k);
  }

  // entityHref is the entity page of an entity key or name.
  function entityHref(type, key) { return '/entities/' + encodeURIComponent(type) + '/' + encodeURIComponent(key); }

  // who names an actor: a user, an automation rule, a connector or weft.
  function who(a) {
    if (!a) return '–';
    if (a.kind === 'user') return a.name;
    if (a.kind === 'automation') return 'rule ' + (a.ruleId || a.name || '');
    return a.name ? a.name + ' (' + a.kind + ')' : a.kind;
  }
  function mine(a) { return !!a && a.kind === 'user' && a.name === w.user; }

  // statusChip shows an action's status; final statuses are muted.
  function statusChip(status) { return el('span', { class: 'astatus ' + status, 'data-status': status }, status); }

  // describe is a sentence on what a request's answer means.
  function describe(a, created) {
    const head = created ? 'Requested ' + a.type + ' (action ' + a.id + ')' : 'Already requested: action ' + a.id + ' (' + a.type + ') is open';
    switch (a.status) {
      case 'pendingApproval': return head + '. It waits for another responder to approve it in the action center.';
      case 'approved': return head + '. It is approved and goes to its connector.';
      default: return head + '; its status is ' + a.status + '.';
    }
  }

  let dialog = null;
  // open shows the dialog for an entity: opts.entityType, opts.target (its
  // key) and opts.targetName; or opts.choices, a list of such entities to
  // pick from (the incident header). opts.incidentId links the action to
  // its incident; opts.onDone(action, created) runs after a request.
  async function open(opts) {
    if (dialog) dialog.remove();
    dialog = el('dialog', { class: 'respond-dialog', id: 'respond-dialog', 'aria-labelledby': 'rd-title' });
    const form = el('form', { id: 'rd-form', method: 'dialog' });
    const msg = el('p', { id: 'rd-msg', class: 'msg', role: 'status', 'aria-live': 'polite' });
    const choices = (opts.choices || []).filter((c) => c.key);
    let entity = opts.target ? { entityType: opts.entityType, key: opts.target, name: opts.targetName || opts.target } : choices[0];
    const title = el('h2', { id: 'rd-title', class: 'break' });
    const pick = choices.length ? el('select', { id: 'rd-entity', 'aria-label': 'Entity' }, choices.map((c, i) => el('option', { value: String(i) }, c.entityType + ': ' + (c.name || c.key)))) : null;
    const typeSel = el('select', { id: 'rd-type', name: 'type', required: true });
    const desc = el('p', { id: 'rd-desc', class: 'hint' });
    const params = el('div', { id: 'rd-params', class: 'rd-params' });
    const comment = el('textarea', { id: 'rd-comment', name: 'comment', rows: '2', placeholder: 'why: recorded in the action log and on the incident' });
    const submit = el('button', { type: 'submit', class: 'primary', id: 'rd-submit' }, 'Request');
    const close = el('button', { type: 'button', id: 'rd-close' }, 'Close');
    close.addEventListener('click', () => dialog.close());
    form.append(...[title, pick ? el('label', null, 'Entity ', pick) : null, el('label', null, 'Action ', typeSel), desc, params,
      el('label', null, 'Comment', comment), el('div', { class: 'row' }, submit, close), msg].filter(Boolean));
    dialog.append(form);
    document.body.appendChild(dialog);
    dialog.addEventListener('close', () => { dialog.remove(); dialog = null; });
    dialog.showModal();

    let defs = [];
    const showParams = () => {
      clear(params);
      const d = defs.find((x) => x.type === typeSel.value);
      desc.textContent = d ? d.description + (d.inverse ? ' Undone by ' + d.inverse + '.' : ' It cannot be undone.') : '';
      for (const p of (d && d.parameters) || []) {
        const s = el('select', { name: p.name, 'data-param': p.name }, p.default ? null : el('option', { value: '' }, 'choose…'), p.values.map((v) => el('option', { value: v }, v)));
        s.value = p.default || '';
        params.appendChild(el('label', { title: p.description || '' }, p.name + ' ', s, el('span', { class: 'hint' }, ' ' + (p.description || ''))));
      }
    };
    const load = async () => {
      title.textContent = entity ? 'Respond on ' + entity.entityType + ' ' + (entity.name || entity.key) : 'Respond';
      clear(typeSel); clear(params); desc.textContent = '';
      if (!entity) { say('No entity of this incident can be acted on.', 'error'); submit.disabled = true; return; }
      submit.disabled = true;
      try { defs = await catalogue(entity.entityType); } catch (e) { say('The catalogue could not be read: ' + e.message, 'error'); return; }
      if (!defs.length) { say('No response action applies to a ' + entity.entityType + '.', 'error'); return; }
      for (const d of defs) typeSel.appendChild(el('option', { value: d.type }, d.type));
      typeSel.value = opts.type && defs.some((d) => d.type === opts.type) ? opts.type : defs[0].type;
      showParams();
      say('', '');
      submit.disabled = false;
    };
    function say(text, kind) { msg.textContent = text; msg.className = 'msg ' + (kind || ''); }
    typeSel.addEventListener('change', showParams);
    if (pick) pick.addEventListener('change', () => { entity = choices[Number(pick.value)]; load(); });

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const parameters = {};
      for (const s of params.querySelectorAll('select[data-param]')) {
        if (!s.value) { say('Choose a value for ' + s.name + '.', 'error'); s.focus(); return; }
        parameters[s.name] = s.value;
      }
      const body = { type: typeSel.value, target: entity.key, targetName: entity.name || '', parameters, comment: comment.value.trim() };
      if (opts.incidentId) body.incidentId = String(opts.incidentId);
      submit.disabled = true;
      say('Requesting…', '');
      try {
        const r = await api('POST', '/api/v1/actions', { body });
        const created = r.status === 201;
        say(describe(r.data, created), 'ok');
        msg.dataset.actionId = r.data.id;
        msg.dataset.created = String(created);
        msg.dataset.status = r.data.status;
        if (opts.onDone) opts.onDone(r.data, created);
      } catch (e) {
        say('Not requested: ' + e.message + (e.status === 403 ? ' (your role may not request it)' : ''), 'error');
      } finally { submit.disabled = false; }
    });
    await load();
  }

  // mount fills an actions hook (a data-hook element) with a Respond
  // button and, for one entity, a link to its entity page.
  function mount(hook, opts) {
    clear(hook);
    const b = el('button', { type: 'button', class: 'respond-open' }, opts.label || 'Respond…');
    b.addEventListener('click', () => open(typeof opts.get === 'function' ? opts.get() : opts));
    hook.appendChild(b);
    if (opts.target && opts.link !== false) hook.append(' ', el('a', { href: entityHref(opts.entityType, opts.target), class: 'entity-link' }, 'Entity page'));
  }

  window.weftRespond = { open, mount, catalogue, entityHref, who, mine, statusChip };
})();
