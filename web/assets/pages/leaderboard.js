// The hub's leaderboard: one metric over a rolling period (optionally one language), in cursor pages.
// The pickers live in the URL query (shareable, kept on reload); a signed-in caller also sees their own place.

import { h, replace, empty, loading, latest, formErrors, pager } from '../dom.js';
import { count, duration, plural } from '../format.js';

export const title = 'Leaderboard';
export const signIn = 'optional';

const PAGE = 50;
const METRICS = [
  ['commits', 'Commits'], ['prs_merged', 'PRs merged'], ['reviews', 'Reviews'], ['coding_seconds', 'Coding time'],
  ['current_streak', 'Current streak'],
];
const PERIODS = [['week', 'Last 7 days'], ['month', 'Last 30 days'], ['year', 'Last 365 days'], ['all', 'All time']];
const WITH_LANGUAGE = new Set(['commits', 'coding_seconds']);

function value(metric, score) {
  if (metric === 'coding_seconds') return duration(score);
  if (metric === 'current_streak') return plural(score, 'day');
  return count(score);
}

function pick(text, choices, fallback) {
  return choices.some(([key]) => key === text) ? text : fallback;
}

export async function render(context) {
  const { root, api, signal, me } = context;
  const picked = {
    metric: pick(context.query.get('metric'), METRICS, 'commits'),
    period: pick(context.query.get('period'), PERIODS, 'week'),
    language: (context.query.get('language') ?? '').trim(),
  };
  const signInLink = text => h('a', { href: `/sign-in?return_to=${encodeURIComponent(location.pathname + location.search)}` }, text);

  const select = (name, label, choices) => h('label', null, label,
    h('select', { name, id: `leaderboard-${name}` },
      choices.map(([key, text]) => h('option', { value: key, selected: key === picked[name] }, text))));
  const metricField = select('metric', 'Metric', METRICS);
  const periodField = select('period', 'Period', PERIODS);
  const languageInput = h('input', {
    name: 'language', id: 'leaderboard-language', type: 'text', value: picked.language, maxLength: 100,
    placeholder: 'any', autocomplete: 'off', 'aria-describedby': 'leaderboard-language-hint',
  });
  const languageField = h('label', null, 'Language', languageInput,
    h('span', { class: 'hint', id: 'leaderboard-language-hint' }, 'Commits and coding time only'));
  const formError = h('div', { id: 'leaderboard-error' });
  const form = h('form', { class: 'inline', id: 'leaderboard-form', 'aria-label': 'Leaderboard options', onsubmit: apply },
    metricField, periodField, languageField, h('button', { type: 'submit' }, 'Show'));
  const errors = formErrors(form, formError);
  const metricSelect = metricField.querySelector('select');
  const periodSelect = periodField.querySelector('select');
  metricSelect.addEventListener('change', apply);
  periodSelect.addEventListener('change', apply);

  const status = h('p', { class: 'muted', id: 'leaderboard-status', 'aria-live': 'polite' });
  const mine = h('div', { id: 'leaderboard-me' });
  const body = h('div', { id: 'leaderboard-body' });
  // Each new query aborts the one before (a metric changed twice) and any "Load more" of it: its cursor is stale.
  const nextQuery = latest(signal);
  let current = signal;
  const more = pager({
    id: 'leaderboard-more',
    next: async cursor => {
      const board = await fetchBoard(cursor, current);
      return { items: board.entries.map(entry => row(entry, board.metric)), next_cursor: board.next_cursor };
    },
    append: rows => {
      const tbody = body.querySelector('tbody');
      const seen = new Set([...tbody.rows].map(tr => tr.dataset.login));
      const fresh = rows.filter(tr => !seen.has(tr.dataset.login));
      tbody.append(...fresh);
      status.textContent = `Showing ${plural(tbody.rows.length, 'person', 'people')}.`;
      return fresh[0]?.querySelector('a');
    },
  });

  replace(root,
    h('section', { class: 'panel', id: 'leaderboard', 'aria-labelledby': 'leaderboard-heading' },
      h('h1', { id: 'leaderboard-heading' }, 'Leaderboard'),
      h('p', { class: 'hint' }, 'People on this hub with a public profile who chose to be listed. Scores update about once a minute.'),
      form, formError, mine, status, body, more.element));

  function syncFields() {
    const streak = picked.metric === 'current_streak';
    periodSelect.disabled = streak; // the streak is what it is today: the API ignores the period
    languageInput.disabled = !WITH_LANGUAGE.has(picked.metric);
  }

  function params(cursor) {
    return {
      metric: picked.metric,
      period: picked.metric === 'current_streak' ? undefined : picked.period,
      language: WITH_LANGUAGE.has(picked.metric) && picked.language ? picked.language : undefined,
      limit: PAGE, cursor,
    };
  }

  // A signed-out browser's stale session cookie is read as no credential by the hub: no retry needed.
  function fetchBoard(cursor, asked) {
    return api.get('/api/v1/leaderboard', params(cursor), { signal: asked });
  }

  function apply(event) {
    event?.preventDefault?.();
    picked.metric = metricSelect.value;
    picked.period = periodSelect.value;
    picked.language = languageInput.value.trim();
    const query = new URLSearchParams();
    if (picked.metric !== 'commits') query.set('metric', picked.metric);
    if (picked.period !== 'week' && picked.metric !== 'current_streak') query.set('period', picked.period);
    if (picked.language && WITH_LANGUAGE.has(picked.metric)) query.set('language', picked.language);
    const text = query.toString();
    // Replace, not push: the pickers change the view, not the page (Back leaves the leaderboard).
    history.replaceState(null, '', text ? `/leaderboard?${text}` : '/leaderboard');
    load();
  }

  function describe() {
    const metric = METRICS.find(([key]) => key === picked.metric)[1];
    const language = WITH_LANGUAGE.has(picked.metric) && picked.language ? ` in ${picked.language}` : '';
    if (picked.metric === 'current_streak') return `${metric}`;
    return `${metric}${language}, ${PERIODS.find(([key]) => key === picked.period)[1].toLowerCase()}`;
  }

  function row(entry, metric) {
    const isMe = me && entry.login.toLowerCase() === me.login.toLowerCase();
    return h('tr', {
      class: isMe ? 'leaderboard-me' : null,
      dataset: { login: entry.login, rank: String(entry.rank), value: String(entry.score), ...(isMe ? { me: 'true' } : {}) },
      'aria-current': isMe ? 'true' : null,
    },
    h('td', { class: 'number' }, `#${entry.rank}`),
    h('td', null, h('a', { href: `/u/${encodeURIComponent(entry.login)}` }, entry.login),
      entry.display_name && entry.display_name !== entry.login ? h('span', { class: 'muted leaderboard-name' }, entry.display_name) : null,
      isMe ? h('span', { class: 'tag' }, 'you') : null),
    h('td', { class: 'number' }, value(metric, entry.score)));
  }

  function showMine(board) {
    if (!me) {
      replace(mine, h('p', { class: 'hint' }, signInLink('Sign in'), ' to see your own place.'));
      return;
    }
    if (!('me' in board)) return replace(mine);
    if (board.me) {
      const dataset = { rank: String(board.me.rank), value: String(board.me.score) };
      replace(mine, h('p', { class: 'leaderboard-you', id: 'leaderboard-you', dataset },
        'Your place: ', h('strong', null, `#${board.me.rank}`), ' with ', h('strong', null, value(board.metric, board.me.score)), '.'));
    } else {
      replace(mine, h('p', { class: 'hint', id: 'leaderboard-you' },
        'You are not on this leaderboard. To be listed, make your profile public and opt in ',
        h('a', { href: '/settings#profile' }, 'in the settings'),
        ' (a score of zero is not listed either).'));
    }
  }

  function table() {
    return h('table', { id: 'leaderboard-table' },
      h('caption', { class: 'muted' }, describe()),
      h('thead', null, h('tr', null, h('th', { scope: 'col', class: 'number' }, 'Rank'), h('th', { scope: 'col' }, 'User'),
        h('th', { scope: 'col', class: 'number' }, 'Value'))),
      h('tbody'));
  }

  async function load() {
    const asked = nextQuery();
    current = asked;
    syncFields();
    errors.clear();
    replace(body, loading());
    more.reset(null);
    status.textContent = '';
    try {
      const board = await fetchBoard(undefined, asked);
      showMine(board);
      if (board.entries.length === 0) {
        status.textContent = `Nobody is listed yet (${describe()}).`;
        replace(body, empty('People appear here once their profile is public, they opted in, and they have a score above zero.',
          h('p', null,
            me ? h('a', { href: '/settings#profile' }, 'Join from your settings') : signInLink('Sign in to join'),
            picked.metric !== 'current_streak' && (picked.language || picked.period !== 'all') ? ', or try another period or language.' : '.')));
        return;
      }
      const ranking = table();
      const tbody = ranking.querySelector('tbody');
      for (const entry of board.entries) tbody.append(row(entry, board.metric));
      replace(body, ranking);
      status.textContent = `Showing ${plural(board.entries.length, 'person', 'people')}.`;
      more.reset(board.next_cursor);
    } catch (error) {
      if (error?.name === 'AbortError') return;
      replace(body);
      errors.show(error); // "language …" marks that field, so a screen reader lands on what to fix
      replace(mine);
    }
  }

  await load();
}
