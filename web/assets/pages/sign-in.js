// Sign-in: GitHub's OAuth flow when the operator configured an OAuth App, else one-time links. Settings sends people
// here with ?deleted=1 once their account is deleted, and the auth routes with ?error=CODE when a sign-in failed.

import { h, panel } from '../dom.js';

export const title = 'Sign in';
export const signIn = 'optional';

const ERRORS = {
  sign_in_link_invalid: 'That sign-in link is unknown, already used or expired. Links work once: ask for a new one.',
};

export async function render({ root, query, me, navigate }) {
  if (me) {
    navigate(safePath(query.get('return_to')), { replace: true });
    return;
  }
  const method = document.querySelector('meta[name="devtrack-sign-in"]')?.content;
  const returnTo = safePath(query.get('return_to'));
  const error = query.get('error');
  const deleted = query.get('deleted') === '1';
  root.append(panel(null,
    h('h1', null, 'Sign in to DevTrack Hub'),
    deleted ? h('p', { class: 'ok', role: 'status', id: 'sign-in-deleted' }, 'Your account and its data were deleted.') : null,
    error ? h('div', { class: 'error', role: 'alert', id: 'sign-in-error' }, ERRORS[error] ?? 'Sign-in failed. Try again.') : null,
    method === 'github'
      ? [h('p', null, 'Your commits, pull requests, reviews and coding time in one place, from your GitHub account and your editor.'),
        h('a', { class: 'button', id: 'sign-in-github', href: `/auth/github?return_to=${encodeURIComponent(returnTo)}` },
          'Sign in with GitHub')]
      : [h('p', null, 'This hub has no GitHub OAuth App configured, so people sign in with one-time links.'),
        h('p', null, 'On ', h('code', null, 'devtrack dev'), ', open the link the banner printed. Otherwise ask the operator for one:'),
        h('pre', null, 'devtrack users sign-in-link --login YOUR_LOGIN'),
        h('p', { class: 'hint' }, 'The operator enables “Sign in with GitHub” by registering an OAuth App (docs/sign-in.md).')],
    h('p', { class: 'muted' }, 'Public profiles and the ', h('a', { href: '/leaderboard' }, 'leaderboard'), ' need no sign-in.')));
}

/** Only a path of this hub (the server's return_to rule): no other origin, however the browser would read it. */
function safePath(path) {
  if (!path || !path.startsWith('/') || path.length > 500 || /[\u0000-\u001F\u007F-\u009F\\]/.test(path)) return '/';
  const url = new URL(path, location.origin);
  if (url.origin !== location.origin || url.pathname.startsWith('/sign-in')) return '/';
  return url.pathname + url.search + url.hash;
}
