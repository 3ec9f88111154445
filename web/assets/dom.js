// Building DOM without innerHTML: every text from the API goes in as a text node, so nothing it holds
// can become markup (and the Content-Security-Policy forbids inline scripts and style attributes anyway).

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function assign(element, props, isSVG) {
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      element.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'class') {
      element.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    } else if (key === 'style') {
      // CSSOM writes are allowed by the CSP (style attributes are not).
      Object.assign(element.style, value);
    } else if (key === 'dataset') {
      Object.assign(element.dataset, value);
    } else if ((key === 'href' || key === 'src') && safeUrl(value) === null) {
      // A link from API data that is neither this hub's path nor http(s) (javascript:, data:) is not made.
      continue;
    } else if (!isSVG && key in element && typeof value !== 'string') {
      element[key] = value;
    } else {
      element.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

/** `text` as a URL a page may link to: a path, query or fragment of this hub, or http(s); else null. */
export function safeUrl(text) {
  const value = String(text);
  if (/^[/?#]/.test(value) && !value.startsWith('//') && !value.includes('\\')) return value;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

/** An HTML element: h('a', {href: '/x', class: 'link'}, 'text', child, [more]). */
export function h(tag, props, ...children) {
  const element = document.createElement(tag);
  assign(element, props, false);
  append(element, children);
  return element;
}

/** An SVG element, same shape as h(). */
export function s(tag, props, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  assign(element, props, true);
  append(element, children);
  return element;
}

/** Replaces an element's children. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** A section with a heading: the building block of every page. */
export function panel(title, ...children) {
  return h('section', { class: 'panel' }, title ? h('h2', null, title) : null, ...children);
}

/** What a list or chart shows when it has nothing yet: what it is and what to do next. */
export function empty(message, ...next) {
  return h('div', { class: 'empty' }, h('p', null, message), ...next);
}

/** An error in words (an ApiError's message, or anything thrown). */
export function failure(error) {
  const message = error?.message ?? String(error);
  return h('div', { class: 'error', role: 'alert' }, message);
}

/** A placeholder shown while a part of a page loads. */
export function loading(label = 'Loading…') {
  return h('p', { class: 'loading', 'aria-busy': 'true' }, label);
}

/** Fills `element` with what `load()` renders, showing loading and error states on the way. */
export async function fill(element, load) {
  replace(element, loading());
  try {
    replace(element, await load());
  } catch (error) {
    if (error?.name === 'AbortError') return;
    replace(element, failure(error));
  }
}

/**
 * For a view that loads again when its controls change (a range, a toggle, a filter): each call gives a signal that
 * aborts the previous one's request, and the page's own, so an answer arriving late never draws over a newer one.
 */
export function latest(pageSignal) {
  let current = null;
  return () => {
    current?.abort();
    current = new AbortController();
    return AbortSignal.any([pageSignal, current.signal]);
  };
}

/**
 * A form's error box: show(error) writes the API's message and marks the field it names (the error code
 * `invalid_<name>`, or the message's first word, a field name as the API writes them) aria-invalid; clear() undoes it.
 * `aliases` maps other names the API uses to the form's field names.
 */
let formErrorBoxes = 0;

export function formErrors(form, box, aliases = {}) {
  if (!box.id) box.id = `form-error-${++formErrorBoxes}`;
  box.setAttribute('role', 'alert');
  box.classList.add('error');
  box.hidden = true;
  const clear = () => {
    box.hidden = true;
    box.textContent = '';
    for (const field of form.querySelectorAll('[aria-invalid="true"]')) {
      field.removeAttribute('aria-invalid');
      field.removeAttribute('aria-describedby');
    }
  };
  const show = error => {
    clear();
    box.textContent = error?.message ?? String(error);
    box.hidden = false;
    const fromCode = /^invalid_(.+)$/.exec(error?.code ?? '')?.[1];
    const fromMessage = /^([a-z_]+)\b/.exec(error?.message ?? '')?.[1];
    for (const name of [fromCode, fromMessage].filter(Boolean).map(name => aliases[name] ?? name)) {
      const field = form.elements.namedItem(name);
      if (field && 'setAttribute' in field) {
        field.setAttribute('aria-invalid', 'true');
        field.setAttribute('aria-describedby', box.id);
        field.focus?.(); // the keyboard goes where the correction is
        break;
      }
    }
  };
  return { show, clear };
}

/**
 * Buttons of which one is chosen (aria-pressed), updated in place so keyboard focus stays where it was.
 * `options` = [[value, text]]; `onChange(value)` runs when another one is chosen.
 */
export function toggleGroup(label, options, current, onChange) {
  const group = h('div', { class: 'toggle-group', role: 'group', 'aria-label': label });
  const buttons = options.map(([value, text]) => h('button', {
    type: 'button', class: 'ghost', 'data-value': value,
    onclick: () => {
      if (value === current) return;
      current = value;
      mark();
      onChange(value);
    },
  }, text));
  const mark = () => buttons.forEach(button => {
    const on = button.dataset.value === current;
    button.setAttribute('aria-pressed', String(on));
    button.classList.toggle('ghost', !on);
  });
  mark();
  group.append(...buttons);
  return group;
}

/**
 * A button that asks once more before `work()` ("Delete" → "Confirm: delete" for `ms`), and shows the
 * outcome: the label comes back after a failure, and the failure goes to `onError`.
 */
export function confirmButton(label, work, { onError, ms = 5000 } = {}) {
  let armed = null;
  const button = h('button', { type: 'button', class: 'danger' }, label);
  const reset = () => {
    clearTimeout(armed);
    armed = null;
    button.textContent = label;
    button.disabled = false;
  };
  button.addEventListener('click', async () => {
    if (!armed) {
      button.textContent = `Confirm: ${label.toLowerCase()}`;
      armed = setTimeout(reset, ms);
      return;
    }
    clearTimeout(armed);
    button.disabled = true;
    try {
      await work();
    } catch (error) {
      onError?.(error);
    } finally {
      if (button.isConnected) reset();
    }
  });
  return button;
}

/**
 * "Load more" under a list: `next(cursor)` resolves to {items, next_cursor}; `append(items)` adds them and returns
 * the first new element (focused, so the keyboard does not fall back to the page's top). Returns {element, reset}.
 */
export function pager({ id, next, append }) {
  const element = h('div', { class: 'pager', id });
  let cursor = null;
  let generation = 0; // bumped by reset(): an answer to an older list is dropped
  const button = h('button', { type: 'button', class: 'ghost' }, 'Load more');
  const show = () => replace(element, cursor ? button : null);
  button.addEventListener('click', async () => {
    button.disabled = true;
    button.textContent = 'Loading…';
    const asked = generation;
    try {
      const page = await next(cursor);
      if (asked !== generation) return;
      cursor = page.next_cursor ?? null;
      const first = append(page.items);
      show();
      (first ?? button).focus?.();
    } catch (error) {
      if (error?.name === 'AbortError') return;
      replace(element, button, failure(error));
    } finally {
      button.disabled = false;
      button.textContent = 'Load more';
    }
  });
  return { element, reset(nextCursor) { generation += 1; cursor = nextCursor ?? null; show(); } };
}
