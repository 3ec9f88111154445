// Settings → "Your data": a copy of everything the hub holds about you (an NDJSON export), and deleting the account.
// A module of its own, imported by settings.js.

import { h, replace, failure, loading, formErrors } from '../dom.js';
import { count, instant } from '../format.js';

const hint = (...text) => h('p', { class: 'hint' }, ...text);

/** "1,204 heartbeats", "0 goal history": the API's section names as words, its counts with thousands separators. */
const rowText = (section, rows) => `${count(rows)} ${section.replace(/_/g, ' ')}`;

/** The two parts of the panel, for `panel('data', …)` in settings.js. */
export function dataPanel({ me, api, signal }) {
  return [exportPart(me, api, signal), deletePart(me, api)];
}

function exportPart(me, api, signal) {
  const result = h('div', { id: 'export-result', 'aria-live': 'polite' });
  const start = h('button', { type: 'button', id: 'export-data', onclick: async () => {
    start.disabled = true;
    replace(result, loading('Preparing your export…'));
    try {
      replace(result, drawExport(await api.post('/api/v1/export', {}, { signal }), me));
    } catch (error) {
      // A 429 export_limit says when the next export is allowed: its message is shown as it is.
      if (error?.name !== 'AbortError') replace(result, failure(error));
    } finally {
      start.disabled = false;
    }
  } }, 'Export my data');
  return h('div', { class: 'data-export' }, h('h3', null, 'Export'),
    hint('A copy of your profile, settings, sources, webhooks, keys, tokens, goals, achievements, activity and notifications, '
      + 'as one file.'),
    hint('It is NDJSON: one JSON object per line. The first line describes the export, the last one (',
      h('code', null, '{"type":"end","rows":{…}}'), ') repeats the counts, so a download that was cut off can be told from a whole one.'),
    h('div', { class: 'row' }, start), result);
}

// The sections in the order the API gives them, those with 0 rows too (so "0 webhooks" reads as checked, not forgotten);
// data-* carry the numbers for the browser test.
function drawExport(done, me) {
  return [
    h('p', { class: 'ok' }, 'Your export is ready:'),
    h('ul', { class: 'export-rows', id: 'export-rows' }, Object.entries(done.rows ?? {}).map(([section, rows]) =>
      h('li', { dataset: { section, rows: String(rows) } }, rowText(section, rows)))),
    h('div', { class: 'row' },
      h('a', { class: 'button', id: 'export-download', href: done.download_url, download: '', dataset: { exportId: done.id } },
        'Download (NDJSON)'),
      h('span', { class: 'hint' }, `The link works until ${instant(done.expires_at, me.timezone)}.`)),
  ];
}

function deletePart(me, api) {
  const typed = h('input', { name: 'confirm_login', id: 'confirm-login', autocomplete: 'off', spellcheck: 'false',
    autocapitalize: 'off', oninput: () => { remove.disabled = !matches(); } });
  const matches = () => typed.value.trim().toLowerCase() === me.login.toLowerCase();
  const remove = h('button', { type: 'submit', class: 'danger', id: 'delete-account', disabled: true }, 'Delete my account');
  const box = h('div', { id: 'delete-account-error' });
  const form = h('form', { id: 'delete-account-form', novalidate: true, onsubmit: async event => {
    event.preventDefault();
    if (!matches()) return;
    errors.clear();
    remove.disabled = true;
    try {
      // No page signal: once asked, the deletion runs to its answer even if the page is left meanwhile.
      await api.delete('/api/v1/me', { body: { confirm_login: typed.value.trim() } });
      // A full load, not navigate(): the shell forgets the user and closes its stream, and the session cookies are
      // gone already; replace() so that Back does not return to the settings of an account that no longer exists.
      location.replace('/sign-in?deleted=1');
    } catch (error) {
      errors.show(error); // a 400 confirmation_mismatch names confirm_login: the field is marked
      remove.disabled = !matches();
    }
  } }, h('label', null, `Type your login (${me.login}) to confirm`, typed), h('div', { class: 'row' }, remove), box);
  const errors = formErrors(form, box);
  return h('div', { class: 'danger-zone', id: 'delete-account-part' }, h('h3', null, 'Delete the account'),
    h('p', null, 'This deletes your account and everything in it — facts, coding time, goals, achievements, notifications, '
      + 'sources, webhooks and tokens — immediately and for good. It cannot be undone: export your data first to keep a copy.'),
    hint('GitHub webhooks and editor plugins still sending to its sources and coding keys will be refused.'), form);
}
