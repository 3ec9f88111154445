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
    } else if (!isSVG && key in element && typeof value !== 'string') {
      element[key] = value;
    } else {
      element.setAttribute(key, value === true ? '' : String(value));
    }
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
