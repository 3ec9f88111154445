// The pieces every panel of the Settings page is built from: labelled inputs, forms whose 400s show beside the field,
// buttons that say their failure, text to copy, secrets shown once, self-reloading lists and delivery logs.

import { h, empty, fill, formErrors, confirmButton } from '../dom.js';
import { ago } from '../format.js';

let seq = 0;
export const since = iso => (iso ? ago(iso) : 'never');
export const words = text => text.replace(/_/g, ' ');
export const cells = (...values) => values.map(value => h('td', null, value));
export const tag = (text, cls) => h('span', { class: ['tag', cls] }, text);
export const hint = (...text) => h('p', { class: 'hint' }, ...text);
export const note = () => h('p', { class: 'hint', role: 'status', 'aria-live': 'polite' });
export const status = () => h('div', { 'aria-live': 'polite' });
export const val = (form, name) => form.elements[name].value.trim();
export const picked = (form, name) => [...form.querySelectorAll(`[name="${name}"]:checked`)].map(input => input.value);
export const field = (label, input, text) => h('label', null, label, input, text ? h('span', { class: 'hint' }, text) : null);
export const input = (name, props) => h('input', { name, autocomplete: 'off', ...props });
export const options = (pairs, selected) => pairs.map(([value, label]) => h('option', { value, selected: value === selected }, label));

export function say(out, text, kind = 'hint') {
  out.className = kind === 'error' ? 'field-error' : kind;
  out.textContent = text;
}

export function checks(legend, name, labels, checked) {
  return h('fieldset', { class: 'checks' }, h('legend', null, legend), Object.entries(labels).map(([value, label]) =>
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name, value, checked: checked.includes(value) }), label)));
}

// Runs `work` with `control` disabled meanwhile; a failure goes to `fail` (leaving the page is none).
async function guard(control, work, fail) {
  control.disabled = true;
  try {
    await work();
  } catch (error) {
    if (error?.name !== 'AbortError') fail(error);
  } finally {
    control.disabled = false;
  }
}

export const button = (label, out, work) => h('button', {
  type: 'button', class: 'ghost', onclick: ({ currentTarget: target }) => guard(target, work, error => say(out, error.message, 'error')),
}, label);

// Destructive actions ask twice (confirmButton); a refusal is said in `out`.
export const confirmed = (label, out, work) => confirmButton(label, work, { onError: error => say(out, error.message, 'error') });

// A form whose 400 shows under it, marking the field it names (formErrors; a source's "mapping" is its preset).
export function form(children, label, submit, { id, cls } = {}) {
  const box = h('div', { id: `settings-error-${++seq}` });
  const send = h('button', { type: 'submit', id }, label);
  const element = h('form', { class: cls, novalidate: true, onsubmit: event => {
    event.preventDefault();
    errors.clear();
    guard(send, () => submit(element), errors.show);
  } }, children, h('div', { class: 'row' }, send), box);
  const errors = formErrors(element, box, { mapping: 'preset' });
  return element;
}

// A text to copy: a <pre> (or inline <code>) and a button.
export function snippet(label, text, inline = false) {
  const code = h(inline ? 'code' : 'pre', { class: 'snippet' }, text);
  const control = h('button', {
    type: 'button', class: 'ghost', 'aria-live': 'polite', onclick: async () => {
      try {
        await navigator.clipboard.writeText(code.textContent);
        control.textContent = 'Copied';
      } catch {
        // No clipboard API (plain http) or refused: select the text so that Ctrl+C copies it.
        getSelection().selectAllChildren(code);
        control.textContent = 'Selected: press Ctrl+C';
      }
      setTimeout(() => { control.textContent = 'Copy'; }, 2500);
    },
  }, 'Copy');
  const box = h('div', { class: 'copyable' }, label ? h('span', { class: 'hint' }, label) : null, h('div', { class: 'row' }, code, control));
  box.code = code;
  return box;
}

export function secret(label, value, ...more) {
  return h('div', { class: 'secret' }, h('p', null, h('strong', null, label), ': copy it now, it is not shown again.'),
    snippet(null, value, true), ...more);
}

// A list that reloads itself; `drawItem(item, refresh)` draws a row, `nothing` says what to do next.
export function collection(load, drawItem, nothing) {
  const list = status();
  const refresh = () => fill(list, async () => {
    const items = await load();
    return items.length ? h('ul', { class: 'plain' }, items.map(item => drawItem(item, refresh))) : empty(nothing);
  });
  return { list, refresh };
}

export function row(data, name, tags, actions, ...rest) {
  return h('li', { dataset: data }, h('div', { class: 'spread' },
    h('span', null, h('strong', null, name), tags.filter(Boolean).map(each => [' ', each])), h('span', { class: 'row' }, actions)), ...rest);
}

// A delivery log, read when opened (and by reload() while open).
export function log(headings, load, cells) {
  const box = h('div');
  const reload = () => fill(box, async () => {
    const rows = await load();
    return rows.length ? h('table', null, h('thead', null, h('tr', null, headings.map(text => h('th', { scope: 'col' }, text)))),
      h('tbody', null, rows.map(cells))) : empty('Nothing yet: send a test, or wait for the next event.');
  });
  const element = h('details', { ontoggle: () => element.open && reload() }, h('summary', null, 'Delivery log'),
    h('button', { type: 'button', class: 'ghost', onclick: reload }, 'Refresh'), box);
  element.reload = () => element.open && reload();
  return element;
}
