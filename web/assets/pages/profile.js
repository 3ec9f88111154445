// A public profile, /u/{login}: only what GET /api/v1/public/{login} holds (each section only when the user
// shows it), and the user's README cards as images in the page's theme.

import { h, replace, panel, empty, failure, loading } from '../dom.js';
import { dateIn } from '../dates.js';
import { count, duration, shortDate, plural, KIND_LABELS } from '../format.js';

export const title = params => params.login;
export const signIn = 'optional';

function percent(share) {
  return `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;
}

function theme() {
  return document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light';
}

function date(value, thisYear) {
  return value ? h('time', { datetime: value }, shortDate(value, thisYear)) : '—';
}

function stat(label, value, raw, id) {
  return h('div', { id }, h('dt', null, label), h('dd', { dataset: { value: String(raw) } }, value));
}

function share(value) {
  // A bar of the share: width through CSSOM (the CSP allows it, not style attributes).
  return h('span', { class: 'share-bar', 'aria-hidden': 'true' }, h('span', { style: { width: `${Math.round(value * 100)}%` } }));
}

function summaryPanel(summary) {
  const periods = [['last_30_days', 'Last 30 days'], ['all_time', 'All time']];
  return h('section', { class: 'panel', id: 'profile-summary', 'aria-labelledby': 'profile-summary-h' },
    h('h2', { id: 'profile-summary-h' }, 'Summary'),
    h('table', null,
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Counter'),
        periods.map(([, label]) => h('th', { scope: 'col', class: 'number' }, label)))),
      h('tbody', null, Object.entries(KIND_LABELS).map(([kind, label]) => h('tr', { dataset: { kind } },
        h('th', { scope: 'row' }, label),
        periods.map(([period]) => {
          const value = summary[period]?.[kind] ?? 0;
          return h('td', { class: 'number', dataset: { period, value: String(value) } },
            kind === 'coding_seconds' ? duration(value) : count(value));
        }))))));
}

function streakPanel(streak, today) {
  const year = Number(today.slice(0, 4));
  const current = streak.current > 0
    ? h('p', { class: 'muted' }, date(streak.current_start, year), ' – ', date(streak.current_end, year),
      streak.today_active ? ' · active today' : ' · nothing yet today')
    : h('p', { class: 'muted' }, 'No current streak.');
  return h('section', { class: 'panel', id: 'profile-streak', 'aria-labelledby': 'profile-streak-h' },
    h('h2', { id: 'profile-streak-h' }, 'Streak'),
    h('dl', { class: 'stats' },
      stat('Current streak', plural(streak.current, 'day'), streak.current, 'profile-streak-current'),
      stat('Longest streak', plural(streak.longest, 'day'), streak.longest, 'profile-streak-longest'),
      stat('Contributions', count(streak.total_contributions), streak.total_contributions, 'profile-streak-total')),
    current,
    streak.longest > 0
      ? h('p', { class: 'muted' }, 'Longest: ', date(streak.longest_start, year), ' – ', date(streak.longest_end, year)) : null,
    streak.first_contribution ? h('p', { class: 'muted' }, 'Contributing since ', date(streak.first_contribution, year), '.') : null);
}

function achievementsPanel(achievements, year, zone) {
  return h('section', { class: 'panel', id: 'profile-achievements', 'aria-labelledby': 'profile-achievements-h' },
    h('h2', { id: 'profile-achievements-h' }, 'Achievements'),
    achievements.length === 0
      ? empty('No achievements unlocked yet.')
      : h('ul', { class: 'plain' }, achievements.map(achievement => h('li', { class: 'spread', dataset: { achievementId: achievement.id } },
        h('span', null, h('span', { class: `tier-${achievement.tier}`, 'aria-hidden': 'true' }, '★ '), achievement.title,
          ' ', h('span', { class: 'tag' }, achievement.tier)),
        h('time', { class: 'muted', datetime: achievement.unlocked_at }, shortDate(dateIn(achievement.unlocked_at, zone), year))))));
}

function languageTable(id, heading, rows, valueLabel, value, raw, note) {
  return h('section', { class: 'panel', id, 'aria-labelledby': `${id}-h` },
    h('h2', { id: `${id}-h` }, heading),
    note,
    rows.length === 0
      ? empty('Nothing counted yet.')
      : h('table', null,
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Language'), h('th', { scope: 'col', class: 'number' }, valueLabel),
          h('th', { scope: 'col', class: 'number' }, 'Share'))),
        h('tbody', null, rows.map(row => h('tr', { dataset: { language: row.language ?? '', value: String(raw(row)) } },
          h('td', null, row.language ?? h('span', { class: 'muted' }, 'Unknown')),
          h('td', { class: 'number' }, value(row)),
          h('td', { class: 'number' }, share(row.share), ' ', percent(row.share)))))));
}

function repositoriesPanel(repositories) {
  return h('section', { class: 'panel', id: 'profile-repositories', 'aria-labelledby': 'profile-repositories-h' },
    h('h2', { id: 'profile-repositories-h' }, 'Repositories'),
    h('p', { class: 'hint' }, 'Public repositories only, all time; Total counts every kind of contribution.'),
    repositories.length === 0
      ? empty('No public repository counted yet.')
      : h('table', null,
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Repository'), h('th', { scope: 'col', class: 'number' }, KIND_LABELS.commits),
          h('th', { scope: 'col', class: 'number' }, 'Total'))),
        h('tbody', null, repositories.map(repo => h('tr', { dataset: { repo: repo.repo, value: String(repo.total) } },
          h('td', { class: 'mono' }, repo.repo), h('td', { class: 'number' }, count(repo.commits)),
          h('td', { class: 'number' }, count(repo.total)))))));
}

function cardsPanel(profile, signal) {
  const base = `/api/v1/public/${encodeURIComponent(profile.login)}/cards/`;
  const cards = [
    ['streak', 'streak.svg', '', 'Streak card', 'Streak'],
    ['summary', 'stats.svg', '', 'Stats card', 'Counters, all time'],
    ['languages', 'languages.svg', '', 'Languages card by commits', 'Languages by commits, all time'],
    ['coding', 'languages.svg', 'by=coding', 'Languages card by coding time', 'Languages by coding time, last 30 days'],
  ].filter(([section]) => profile.sections.includes(section));
  if (cards.length === 0) return null;
  const images = cards.map(([, file, query, label, caption]) => {
    const src = () => `${base}${file}?${query ? query + '&' : ''}theme=${theme()}`;
    const img = h('img', { src: src(), alt: `${label} of ${profile.display_name}`, loading: 'lazy', decoding: 'async' });
    img.addEventListener('error', () => img.replaceWith(h('p', { class: 'error' }, `The ${label.toLowerCase()} could not be loaded.`)));
    return { img, src, figure: h('figure', null, img, h('figcaption', null, caption)) };
  });
  // Follow the theme toggle while the page is on screen.
  const observer = new MutationObserver(() => images.forEach(({ img, src }) => { img.src = src(); }));
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
  signal.addEventListener('abort', () => observer.disconnect());
  return h('section', { class: 'panel', id: 'profile-cards', 'aria-labelledby': 'profile-cards-h' },
    h('h2', { id: 'profile-cards-h' }, 'Cards'),
    h('p', { class: 'hint' }, 'Cards a README can embed, drawn by the hub.'),
    h('div', { class: 'profile-cards' }, images.map(({ figure }) => figure)));
}

function notFound(login, me) {
  const own = me && me.login.toLowerCase() === login.toLowerCase();
  return h('section', { class: 'panel', id: 'profile-not-found' },
    h('h1', null, 'No public profile named ', h('span', { class: 'mono' }, login)),
    h('p', null, 'Either no one of that login uses this hub, or their profile is private: the hub answers the same for both.'),
    own
      ? h('p', null, 'This is your login: ', h('a', { href: '/settings#profile' }, 'make your profile public in the settings'), '.')
      : h('p', null, h('a', { href: '/leaderboard' }, 'See who is on the leaderboard')));
}

function header(profile, me) {
  const own = me && me.login.toLowerCase() === profile.login.toLowerCase();
  return h('section', { class: 'panel', id: 'profile-header', dataset: { login: profile.login } },
    h('h1', null, profile.display_name),
    profile.display_name !== profile.login ? h('p', { class: 'muted mono' }, profile.login) : null,
    profile.bio ? h('p', { class: 'profile-bio', id: 'profile-bio' }, profile.bio) : null,
    h('p', { class: 'hint' }, `Days counted in ${profile.timezone}; today there is ${shortDate(profile.today)}.`),
    own ? h('p', { class: 'hint' }, 'This is your public profile. ', h('a', { href: '/settings#profile' }, 'Choose what it shows')) : null);
}

function view(profile, context) {
  const has = section => profile.sections.includes(section) && profile[section] !== undefined;
  const year = Number(profile.today.slice(0, 4));
  const parts = [
    has('summary') ? summaryPanel(profile.summary) : null,
    has('streak') ? streakPanel(profile.streak, profile.today) : null,
    has('achievements') ? achievementsPanel(profile.achievements, year, profile.timezone) : null,
    has('languages')
      ? languageTable('profile-languages', 'Languages', profile.languages, KIND_LABELS.commits, row => count(row.commits), row => row.commits,
        h('p', { class: 'hint' }, 'Commits by their repository\'s language, all time.'))
      : null,
    has('repositories') ? repositoriesPanel(profile.repositories) : null,
    has('coding')
      ? languageTable('profile-coding', KIND_LABELS.coding_seconds, profile.coding.languages, 'Time', row => duration(row.seconds),
        row => row.seconds,
        h('p', { id: 'profile-coding-total', dataset: { value: String(profile.coding.coding_seconds) } },
          h('strong', null, duration(profile.coding.coding_seconds)), ' in the last 30 days, by the editor\'s language.'))
      : null,
  ].filter(Boolean);
  return [
    header(profile, context.me),
    parts.length ? h('div', { class: 'grid profile-grid' }, parts)
      : panel(null, empty(`${profile.display_name} shows no activity sections on their profile.`)),
    cardsPanel(profile, context.signal),
  ];
}

export async function render(context) {
  const { root, params, api, signal } = context;
  const login = params.login;
  const content = h('div', { class: 'page' });
  replace(root, content);

  async function load() {
    replace(content, loading(`Loading the profile of ${login}…`));
    try {
      const profile = await api.get(`/api/v1/public/${encodeURIComponent(login)}`, undefined, { signal });
      replace(content, view(profile, context));
      document.title = `${profile.display_name} · DevTrack Hub`;
    } catch (error) {
      if (error?.name === 'AbortError') return;
      if (error?.status === 404) {
        replace(content, notFound(login, context.me));
      } else if (error?.status === 429) {
        replace(content, h('section', { class: 'panel', id: 'profile-rate-limited' }, h('h1', null, 'Too many requests'),
          failure(error),
          h('p', null, 'Public profiles answer a limited number of requests per address and minute.'),
          h('button', { type: 'button', class: 'ghost', onclick: load }, 'Try again')));
      } else {
        replace(content, h('section', { class: 'panel', id: 'profile-error' }, h('h1', null, login), failure(error),
          h('button', { type: 'button', class: 'ghost', onclick: load }, 'Try again')));
      }
    }
  }

  await load();
}
