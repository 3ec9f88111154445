// The dashboard's shell: who is signed in, the navigation, a router over the History API, the live stream,
// and toasts. Each page is a module in pages/ exporting `title`, `signIn` ('required' | 'optional') and
// `render(context)`; the context carries what a page needs and is torn down when the page is left.

import { api, ApiError } from './api.js';
import { h, replace, failure } from './dom.js';
import { LiveStream } from './live.js';

const ROUTES = [
  { pattern: /^\/$/, page: 'overview' },
  { pattern: /^\/coding$/, page: 'coding' },
  { pattern: /^\/goals$/, page: 'goals' },
  { pattern: /^\/notifications$/, page: 'notifications' },
  { pattern: /^\/settings$/, page: 'settings' },
  { pattern: /^\/leaderboard$/, page: 'leaderboard' },
  { pattern: /^\/u\/([^/]+)$/, page: 'profile', params: ['login'] },
  { pattern: /^\/sign-in$/, page: 'sign-in' },
];

const NAV = [
  ['/', 'Overview'], ['/coding', 'Coding'], ['/goals', 'Goals'], ['/notifications', 'Notifications'],
  ['/leaderboard', 'Leaderboard'], ['/settings', 'Settings'],
];

const state = {
  me: undefined, // undefined: not asked yet; null: signed out
  live: null,
  unread: 0,
  leave: null, // AbortController of the page on screen
};

function toast(message, kind = 'info') {
  const item = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
  document.getElementById('toasts').append(item);
  setTimeout(() => item.remove(), 6000);
}

async function whoAmI() {
  try {
    return await api.get('/api/v1/me');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

function renderNav() {
  const nav = document.getElementById('nav');
  const path = location.pathname;
  const links = state.me ? NAV : [['/leaderboard', 'Leaderboard']];
  replace(nav, h('ul', null, links.map(([href, label]) => h('li', null,
    h('a', { href, 'aria-current': path === href ? 'page' : null },
      label, href === '/notifications' && state.unread > 0
        ? h('span', { class: 'badge', id: 'unread-count', 'aria-label': `${state.unread} unread` }, String(state.unread)) : null)))));
  const account = document.getElementById('account');
  replace(account,
    h('button', { type: 'button', class: 'ghost', id: 'theme-toggle', 'aria-label': 'Switch light or dark', onclick: toggleTheme },
      document.documentElement.dataset.theme === 'dark' ? '☀' : '☾'),
    state.me
      ? [h('span', { class: 'who' }, state.me.login),
        h('button', { type: 'button', class: 'ghost', id: 'sign-out', onclick: signOut }, 'Sign out')]
      : h('a', { class: 'button', href: `/sign-in?return_to=${encodeURIComponent(location.pathname)}` }, 'Sign in'));
}

function toggleTheme() {
  const next = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
  document.documentElement.dataset.theme = next;
  localStorage.setItem('devtrack-theme', next);
  renderNav();
}

async function signOut() {
  try {
    await fetch('/auth/logout', { method: 'POST', headers: { 'X-CSRF-Token': csrf() }, credentials: 'same-origin' });
  } finally {
    state.live?.close();
    state.live = null;
    state.me = null;
    navigate('/sign-in');
  }
}

function csrf() {
  const match = document.cookie.split(';').map(part => part.trim()).find(part => part.startsWith('devtrack_csrf='));
  return match ? decodeURIComponent(match.slice('devtrack_csrf='.length)) : '';
}

/** Unread notifications, shown in the navigation; pages that change it call this. */
export function setUnread(count) {
  state.unread = count;
  const badge = document.getElementById('unread-count');
  if (badge && count > 0) {
    badge.textContent = String(count);
    badge.setAttribute('aria-label', `${count} unread`);
  } else {
    renderNav();
  }
}

export function navigate(path, { replace: replaceEntry = false } = {}) {
  if (replaceEntry) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  route();
}

function startLive() {
  if (state.live || !state.me) return;
  state.live = new LiveStream('/api/v1/stream');
  state.live.on('notification', data => {
    setUnread(state.unread + 1);
    toast(data.title ?? 'New notification');
  });
  state.live.on('signed-out', () => {
    state.me = null;
    state.live = null;
    navigate(`/sign-in?return_to=${encodeURIComponent(location.pathname)}`, { replace: true });
  });
}

async function route() {
  state.leave?.abort();
  const leave = new AbortController();
  state.leave = leave;
  const main = document.getElementById('main');
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const match = ROUTES.map(route => ({ route, found: route.pattern.exec(path) })).find(({ found }) => found);
  if (state.me === undefined) {
    try {
      state.me = await whoAmI();
    } catch (error) {
      replace(main, failure(error));
      return;
    }
    if (state.me) {
      try {
        setUnread((await api.get('/api/v1/notifications', { limit: 1 })).unread_count);
      } catch {
        // The badge is a convenience: the notifications page shows the error, if it persists.
      }
      startLive();
    }
  }
  renderNav();
  if (!match) {
    document.title = 'Not found · DevTrack Hub';
    replace(main, h('div', { class: 'panel' }, h('h1', null, 'Not found'),
      h('p', null, 'There is no page at ', h('code', null, path), '. '), h('a', { href: '/' }, 'Back to the overview')));
    return;
  }
  const params = {};
  (match.route.params ?? []).forEach((name, index) => { params[name] = decodeURIComponent(match.found[index + 1]); });
  const module = await import(`./pages/${match.route.page}.js`);
  if (leave.signal.aborted) return;
  if (module.signIn === 'required' && !state.me) {
    navigate(`/sign-in?return_to=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
    return;
  }
  document.title = `${typeof module.title === 'function' ? module.title(params) : module.title} · DevTrack Hub`;
  const root = h('div', { class: 'page', id: `page-${match.route.page}` });
  replace(main, root);
  const context = {
    root, params, query: new URLSearchParams(location.search), me: state.me, api, navigate, toast, setUnread,
    signal: leave.signal,
    /** Subscribes to a live event type for as long as the page is on screen. */
    live(type, handler) {
      if (!state.live) return;
      const off = state.live.on(type, handler);
      leave.signal.addEventListener('abort', off);
    },
  };
  try {
    await module.render(context);
  } catch (error) {
    if (error?.name !== 'AbortError') replace(root, failure(error));
  }
  if (leave.signal.aborted) return;
  // A link into a part of a page (/settings#coding-keys): that part, once the page has drawn it.
  const target = location.hash.length > 1 ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
  if (target) target.scrollIntoView();
  else if (document.activeElement === document.body) main.focus({ preventScroll: true });
}

// Same-origin links move within the page; /auth/ and /api/ ones (sign-in, downloads) are real navigations.
document.addEventListener('click', event => {
  const link = event.target.closest?.('a[href]');
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || link.target || link.hasAttribute('download')) return;
  if (url.pathname.startsWith('/auth/') || url.pathname.startsWith('/api/')) return;
  // A link to a part of this same page (#coding-keys) is the browser's to follow.
  if (url.pathname === location.pathname && url.search === location.search && url.hash) return;
  event.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search + url.hash);
});
window.addEventListener('popstate', route);

const savedTheme = localStorage.getItem('devtrack-theme');
document.documentElement.dataset.theme = savedTheme ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
route();
