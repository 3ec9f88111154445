// The overview: today / this week / this month, the streak, a year's contribution calendar, goals, recent
// achievements and activity. Numbers follow the live stream: a new fact redraws them without a reload.

import { h, panel, empty, replace, fill, failure } from '../dom.js';
import { calendar, progress } from '../charts.js';
import { addDays, daysBetween, todayIn } from '../dates.js';
import { count, duration, shortDate, ago, timeLeft, plural } from '../format.js';
import { periodStarts, sumDays, contributions } from '../metrics.js';

export const title = 'Overview';
export const signIn = 'required';

const PERIOD_FIELDS = [
  ['commits', 'Commits'], ['prs_opened', 'PRs opened'], ['prs_merged', 'PRs merged'], ['reviews', 'Reviews'],
  ['issues_opened', 'Issues opened'], ['coding_seconds', 'Coding time'],
];

const KIND_NAMES = {
  commit: 'Commit', pr_opened: 'Opened a pull request', pr_merged: 'Merged a pull request', review: 'Reviewed',
  issue_opened: 'Opened an issue', issue_closed: 'Closed an issue', comment: 'Commented',
};

export async function render({ root, api, live, signal }) {
  // Asked again rather than taken from the shell: the zone may have changed in Settings since sign-in.
  const me = await api.get('/api/v1/me', undefined, { signal });
  const today = () => todayIn(me.timezone);
  const parts = {
    periods: h('section', { class: 'panel', id: 'overview-periods', 'aria-live': 'polite' }),
    streak: h('section', { class: 'panel', id: 'overview-streak', 'aria-live': 'polite' }),
    calendar: h('section', { class: 'panel', id: 'overview-calendar' }),
    goals: h('section', { class: 'panel', id: 'overview-goals', 'aria-live': 'polite' }),
    achievements: h('section', { class: 'panel', id: 'overview-achievements' }),
    activity: h('section', { class: 'panel', id: 'overview-activity' }),
  };
  root.append(
    h('div', { class: 'spread' }, h('h1', null, `Hello, ${me.login}`),
      h('span', { class: 'muted', id: 'overview-today', 'data-date': today() }, `${shortDate(today())} · ${me.timezone}`)),
    parts.periods, h('div', { class: 'grid' }, parts.streak, parts.goals), parts.calendar,
    h('div', { class: 'grid' }, parts.achievements, parts.activity));

  const load = {
    metrics: () => loadMetrics(api, today, parts, signal),
    goals: () => fill(parts.goals, () => goalsPanel(api, me.timezone, signal)),
    achievements: () => fill(parts.achievements, () => achievementsPanel(api, signal)),
    activity: () => fill(parts.activity, () => activityPanel(api, signal)),
  };
  await Promise.all(Object.values(load).map(run => run()));

  // Several facts arrive together: one redraw per burst.
  const due = new Set();
  let timer = null;
  const soon = (...names) => {
    names.forEach(name => due.add(name));
    clearTimeout(timer);
    timer = setTimeout(() => {
      const now = [...due];
      due.clear();
      if (!signal.aborted) now.forEach(name => load[name]());
    }, 250);
  };
  live('metrics.updated', () => soon('metrics', 'activity', 'goals'));
  live('goal.progress', () => soon('goals'));
  live('notification', data => { if (data.type === 'achievement.unlocked' || !data.type) soon('achievements'); });
  live('reconnected', () => soon(...Object.keys(load)));
}

async function loadMetrics(api, todayNow, parts, signal) {
  // Today is asked each time: a page left open past midnight moves on to the new day.
  const today = todayNow();
  try {
    const from = addDays(today, -364);
    const [daily, streak] = await Promise.all([
      api.get('/api/v1/metrics/daily', { from, to: today }, { signal }),
      api.get('/api/v1/metrics/streak', undefined, { signal }),
    ]);
    replace(parts.periods, periodsPanel(daily.days, today));
    replace(parts.streak, streakPanel(streak, today));
    replace(parts.calendar, calendarPanel(daily.days, today));
    // For the browser tests' budget figure: time from navigation to a drawn calendar.
    if (performance.getEntriesByName('calendar-rendered').length === 0) performance.mark('calendar-rendered');
  } catch (error) {
    if (error?.name === 'AbortError') return;
    for (const part of [parts.periods, parts.streak, parts.calendar]) replace(part, failure(error));
  }
}

function periodsPanel(days, today) {
  const starts = periodStarts(today);
  const periods = [['today', 'Today', starts.today], ['week', 'This week', starts.week], ['month', 'This month', starts.month]];
  const year = sumDays(days, addDays(today, -364), today);
  const nothing = Object.values(year).every(value => value === 0);
  return [
    h('h2', null, 'Activity'),
    nothing ? gettingStarted() : null,
    h('div', { class: 'grid periods' }, periods.map(([key, label, from]) => {
      const totals = sumDays(days, from, today);
      return h('div', { class: 'period', 'data-period': key, 'data-from': from },
        h('h3', null, label),
        h('dl', { class: 'stats' }, PERIOD_FIELDS.map(([field, name]) => h('div', null,
          h('dt', null, name),
          h('dd', { 'data-field': field, 'data-value': totals[field] },
            field === 'coding_seconds' ? duration(totals[field]) : count(totals[field]))))));
    })),
  ];
}

function gettingStarted() {
  return empty('Nothing counted yet. To start:',
    h('ul', null,
      h('li', null, h('a', { href: '/settings#sources' }, 'Connect GitHub'), ': add a webhook source to your repositories.'),
      h('li', null, h('a', { href: '/settings#coding-keys' }, 'Install an editor plugin'), ': any WakaTime plugin, with a coding key.'),
      h('li', null, h('a', { href: '/goals' }, 'Set a goal'), ' to see your progress here.')));
}

function streakPanel(streak, today) {
  const year = Number(today.slice(0, 4));
  const todayState = streak.today_active
    ? h('p', { class: 'ok', id: 'streak-today', 'data-active': 'true' }, 'Active today ✓')
    : h('p', { class: 'muted', id: 'streak-today', 'data-active': 'false' },
      streak.current > 0 ? 'Nothing yet today: contribute or code before midnight to keep the streak.' : 'Nothing yet today.');
  return [
    h('h2', null, 'Streak'),
    h('dl', { class: 'stats' },
      [['current', 'Current streak'], ['longest', 'Longest streak']].map(([key, label]) => h('div', null, h('dt', null, label),
        h('dd', { id: `streak-${key}`, 'data-value': streak[key] }, plural(streak[key], 'day'))))),
    streak.current > 0 && streak.current_start
      ? h('p', { class: 'muted' }, `Since ${shortDate(streak.current_start, year)}`) : null,
    streak.longest > 0 && streak.longest_start
      ? h('p', { class: 'muted' }, `Longest: ${shortDate(streak.longest_start, year)} – ${shortDate(streak.longest_end, year)}`) : null,
    todayState,
  ];
}

function calendarPanel(days, today) {
  const values = new Map(days.map(day => [day.date, contributions(day)]));
  const total = [...values.values()].reduce((sum, value) => sum + value, 0);
  const year = Number(today.slice(0, 4));
  return [
    h('div', { class: 'spread' }, h('h2', null, 'Contributions'),
      h('span', { class: 'muted', id: 'calendar-total', 'data-value': total }, `${count(total)} in the last year`)),
    h('div', { class: 'calendar-scroll' }, calendar(today, values,
      (date, value) => `${value === 1 ? '1 contribution' : `${count(value)} contributions`} on ${shortDate(date, year)}`)),
    h('div', { class: 'legend', 'aria-hidden': 'true' }, 'Less',
      [0, 1, 2, 3, 4].map(level => h('span', { class: `swatch level-${level}` })), 'More'),
  ];
}

async function goalsPanel(api, zone, signal) {
  const { goals } = await api.get('/api/v1/goals', undefined, { signal });
  if (goals.length === 0) {
    return [h('h2', null, 'Goals'), empty('No goals yet.', h('a', { class: 'button', href: '/goals' }, 'Create a goal'))];
  }
  return [
    h('div', { class: 'spread' }, h('h2', null, 'Goals'), h('a', { href: '/goals' }, 'All goals')),
    h('ul', { class: 'plain' }, goals.slice(0, 6).map(goal => {
      const done = goal.percent >= 100;
      const end = goal.period === 'once' ? goal.deadline : goal.period_end;
      const today = todayIn(goal.timezone ?? zone); // a goal counts in its own zone, if it has one
      return h('li', { 'data-goal-id': goal.id, 'data-current': goal.current, 'data-target': goal.target },
        h('div', { class: 'spread' }, h('strong', null, goal.title),
          h('span', { class: done ? 'ok' : 'muted' }, `${count(goal.current)} / ${count(goal.target)}`)),
        progress(goal.percent, `${goal.title}: ${Math.floor(goal.percent)}%`),
        h('span', { class: 'hint' }, done ? 'Reached ✓' : end ? timeLeft(daysBetween(today, end)) : 'No deadline'));
    })),
  ];
}

async function achievementsPanel(api, signal) {
  const { achievements } = await api.get('/api/v1/achievements', undefined, { signal });
  const unlocked = achievements.filter(item => item.unlocked).sort((a, b) => (b.unlocked_at ?? '').localeCompare(a.unlocked_at ?? ''));
  return [
    h('div', { class: 'spread' }, h('h2', null, 'Recent achievements'),
      h('a', { href: '/goals#achievements' }, `${unlocked.length} of ${achievements.length}`)),
    unlocked.length === 0
      ? empty('None unlocked yet: your first commit unlocks the first one.')
      : h('ul', { class: 'plain' }, unlocked.slice(0, 5).map(item => h('li', { 'data-achievement-id': item.id },
        h('div', { class: 'spread' }, h('strong', { class: `tier-${item.tier}` }, item.title),
          h('span', { class: 'muted' }, ago(item.unlocked_at))),
        h('span', { class: 'hint' }, item.description)))),
  ];
}

async function activityPanel(api, signal) {
  const { items } = await api.get('/api/v1/activity', { limit: 8 }, { signal });
  return [
    h('h2', null, 'Recent activity'),
    items.length === 0
      ? empty('No activity yet: pushes, pull requests and reviews appear here as they happen.')
      : h('ul', { class: 'plain', id: 'activity-feed' }, items.map(item => h('li', { 'data-fact-id': item.id },
        h('div', { class: 'spread' },
          h('span', null, KIND_NAMES[item.kind] ?? item.kind, item.repo ? h('span', { class: 'muted' }, ` · ${item.repo}`) : null),
          h('span', { class: 'muted' }, ago(item.occurred_at))),
        item.title ? (item.url ? h('a', { href: item.url, rel: 'noreferrer', target: '_blank' }, item.title) : h('span', null, item.title)) : null))),
  ];
}
