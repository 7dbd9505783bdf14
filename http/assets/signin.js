// The sign-in page: POST /api/v1/auth/login, and for an account with a
// one-time password POST /api/v1/auth/password before going on. The
// session cookie is HttpOnly; the CSRF token comes with each page.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  const { api, $ } = window.weft;
  const form = $('#signin-form'), pwForm = $('#password-form');
  const next = form.dataset.next && window.weft.safeURL(form.dataset.next) ? form.dataset.next : '/incidents';
  let csrf = '';
  const show = (p, msg) => { p.textContent = msg; p.hidden = !msg; };

  // A session that must change its password lands here from a page
  // (?change=1).
  if (new URLSearchParams(location.search).get('change') === '1') api('GET', '/api/v1/auth/me', { noRedirect: true }).then(({ data }) => {
    if (data && data.user && data.user.mustChangePassword) { csrf = data.csrfToken; form.hidden = true; pwForm.hidden = false; }
  }).catch(() => {});

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    show($('#signin-error'), '');
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      const { data } = await api('POST', '/api/v1/auth/login', { noRedirect: true, body: { name: $('#signin-name').value, password: $('#signin-password').value } });
      csrf = data.csrfToken;
      if (data.user && data.user.mustChangePassword) {
        form.hidden = true; pwForm.hidden = false;
        $('#pw-current').value = $('#signin-password').value;
        $('#pw-new').focus();
        return;
      }
      location.assign(next);
    } catch (e) {
      show($('#signin-error'), e.status === 401 ? 'Wrong name or password.' : e.message);
    } finally { button.disabled = false; }
  });

  pwForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const msg = $('#password-error');
    show(msg, '');
    if ($('#pw-new').value !== $('#pw-again').value) { show(msg, 'The two new passwords differ.'); return; }
    try {
      const resp = await fetch('/api/v1/auth/password', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
        body: JSON.stringify({ currentPassword: $('#pw-current').value, newPassword: $('#pw-new').value }),
      });
      if (!resp.ok) {
        const data = await resp.json().catch(() => ({}));
        show(msg, (data.error && data.error.message) || ('the server answered ' + resp.status));
        return;
      }
      location.assign(next);
    } catch (e) { show(msg, e.message); }
  });
});
