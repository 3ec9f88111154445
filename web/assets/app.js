// The dashboard's shell: who is signed in, the navigation, a router over the History API, the live stream,
// and toasts. Each page is a module in pages/ exporting `title`, `signIn` ('required' | 'optional') and
// `render(context)`; the context carries what a page needs and is torn down when the page is left. Live events:
// 'notification', 'metrics.updated', 'goal.progress', and 'reconnected' (the stream was away: read again).

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

/** Where the sign-in page sends people back to: this page, query included. */
function signInPath() {
  return `/sign-in?return_to=${encodeURIComponent(location.pathname + location.search)}`;
}

/** The navigation and the account corner: drawn when who is signed in changes, updated in place otherwise. */
function renderNav() {
  const links = state.me ? NAV : [['/leaderboard', 'Leaderboard']];
  replace(document.getElementById('nav'), h('ul', null, links.map(([href, label]) => h('li', null,
    h('a', { href }, label, href === '/notifications' ? h('span', { class: 'badge', id: 'unread-count' }) : null)))));
  replace(document.getElementById('account'),
    h('button', { type: 'button', class: 'ghost', id: 'theme-toggle', 'aria-label': 'Switch light or dark', onclick: toggleTheme }),
    state.me
      ? [h('span', { class: 'who' }, state.me.login),
        h('button', { type: 'button', class: 'ghost', id: 'sign-out', onclick: signOut }, 'Sign out')]
      : h('a', { class: 'button', id: 'sign-in-link', href: signInPath() }, 'Sign in'));
  updateNav();
}

function updateNav() {
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.getAttribute('href') === location.pathname) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const badge = document.getElementById('unread-count');
  if (badge) {
    badge.hidden = state.unread <= 0;
    badge.textContent = String(state.unread);
    badge.setAttribute('aria-label', `${state.unread} unread`);
  }
  const toggle = document.getElementById('theme-toggle');
  if (toggle) toggle.textContent = document.documentElement.dataset.theme === 'dark' ? '☀' : '☾';
  document.getElementById('sign-in-link')?.setAttribute('href', signInPath());
}

function toggleTheme() {
  const next = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
  document.documentElement.dataset.theme = next;
  try {
    localStorage.setItem('devtrack-theme', next);
  } catch {
    // Storage blocked: the choice lasts for this page only.
  }
  updateNav();
}

/** Ends the session; the page changes only once the hub has ended it (a refusal is shown, not hidden). */
async function signOut() {
  try {
    await api.post('/auth/logout');
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) {
      toast(`Not signed out: ${error.message}`, 'error');
      return;
    }
  }
  state.live?.close();
  state.live = null;
  state.me = null;
  navigate('/sign-in');
}

/** Unread notifications, shown in the navigation; pages that change it call this. */
function setUnread(count) {
  state.unread = count;
  updateNav();
}

function navigate(path, { replace: replaceEntry = false } = {}) {
  if (replaceEntry) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  route();
}

async function refreshUnread() {
  try {
    setUnread((await api.get('/api/v1/notifications', { limit: 1 })).unread_count);
  } catch {
    // The badge is a convenience: the notifications page shows the error, if it persists.
  }
}

function startLive() {
  if (state.live || !state.me) return;
  state.live = new LiveStream('/api/v1/stream');
  state.live.on('notification', data => {
    if (data.id) setUnread(state.unread + 1);
    else refreshUnread(); // a notification too large for the stream comes as {}: count again
    toast(data.title ?? 'New notification');
  });
  // After a reconnect, what happened meanwhile was not streamed: count again (pages re-read on 'reconnected').
  state.live.on('reconnected', refreshUnread);
  state.live.on('signed-out', () => {
    state.me = null;
    state.live = null;
    navigate(signInPath(), { replace: true });
  });
}

/** The path and query on screen: a change of the #fragment alone moves within the page, it does not redraw it. */
let routed = null;

async function route() {
  routed = location.pathname + location.search;
  try {
    await draw();
  } catch (error) {
    replace(document.getElementById('main'), failure(error));
  }
}

async function draw() {
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
    renderNav();
    if (state.me) {
      await refreshUnread();
      startLive();
    }
  } else if (document.getElementById('sign-out') ? !state.me : state.me) {
    renderNav();
  }
  updateNav();
  const params = {};
  try {
    (match?.route.params ?? []).forEach((name, index) => { params[name] = decodeURIComponent(match.found[index + 1]); });
  } catch {
    params.invalid = true; // a malformed %-escape: no such page
  }
  if (!match || params.invalid) {
    document.title = 'Not found · DevTrack Hub';
    replace(main, h('div', { class: 'panel' }, h('h1', null, 'Not found'),
      h('p', null, 'There is no page at ', h('code', null, path), '. '), h('a', { href: '/' }, 'Back to the overview')));
    return;
  }
  const module = await import(`./pages/${match.route.page}.js`);
  if (leave.signal.aborted) return;
  if (module.signIn === 'required' && !state.me) {
    navigate(signInPath(), { replace: true });
    return;
  }
  document.title = `${typeof module.title === 'function' ? module.title(params) : module.title} · DevTrack Hub`;
  const root = h('div', { class: 'page', id: `page-${match.route.page}` });
  replace(main, root);
  const context = {
    root, params, query: new URLSearchParams(location.search), me: state.me, api, navigate, toast, setUnread, signOut,
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
window.addEventListener('popstate', () => {
  if (location.pathname + location.search !== routed) route();
});

let savedTheme = null;
try {
  savedTheme = localStorage.getItem('devtrack-theme');
} catch {
  // Storage blocked (a privacy setting): follow the system's preference.
}
document.documentElement.dataset.theme = savedTheme ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
route();
