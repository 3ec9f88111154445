// Coding time from editor heartbeats: a range, the time per day stacked by language or project, the top
// projects, languages, editors and machines, and when in the week the user codes.

import { h, replace, empty, failure, loading, latest, toggleGroup } from '../dom.js';
import { stackedBars, hourGrid } from '../charts.js';
import { addDays, todayIn } from '../dates.js';
import { duration, plural, shortDate } from '../format.js';

export const title = 'Coding';
export const signIn = 'required';

const RANGES = [7, 30, 90, 365];
const STACKS = [['language', 'By language'], ['project', 'By project']];
const TOP = 7; // the CSS has 8 series colours: 7 names and "Other"
const TABLES = [['projects', 'Top projects', 'Project'], ['languages', 'Languages', 'Language'],
  ['editors', 'Editors', 'Editor'], ['machines', 'Machines', 'Machine']];

/** The top names of the range as series, the rest summed into "Other". */
function stackSeries(daily) {
  const totals = new Map();
  for (const day of daily) {
    for (const part of day.parts ?? []) totals.set(part.name, (totals.get(part.name) ?? 0) + part.seconds);
  }
  const top = [...totals].filter(([, seconds]) => seconds > 0).sort((a, b) => b[1] - a[1]).slice(0, TOP).map(([name]) => name);
  const series = top.map(name => ({
    name, total: totals.get(name), values: daily.map(day => day.parts?.find(part => part.name === name)?.seconds ?? 0),
  }));
  const rest = daily.map(day => (day.parts ?? []).reduce((sum, part) => sum + (top.includes(part.name) ? 0 : part.seconds), 0));
  const restTotal = rest.reduce((sum, value) => sum + value, 0);
  if (restTotal > 0) series.push({ name: 'Other', other: true, total: restTotal, values: rest });
  return series;
}

function share(seconds, total) {
  return total > 0 ? `${((seconds / total) * 100).toFixed(1)}%` : '—';
}

/** Where a WakaTime plugin sends heartbeats: the ingest's public address, which index.html carries. */
function heartbeatURL() {
  const base = document.querySelector('meta[name="devtrack-ingest-url"]')?.content ?? '';
  return /^https?:\/\//.test(base) ? `${base.replace(/\/+$/, '')}/api/compat/wakatime/v1` : null;
}

function connectHelp() {
  const url = heartbeatURL();
  return h('div', { class: 'connect', id: 'coding-connect' },
    h('ol', null,
      h('li', null, 'Create a coding key in ', h('a', { href: '/settings#coding-keys' }, 'Settings → Coding keys'), '.'),
      h('li', null, 'Install the WakaTime plugin for your editor (VS Code, JetBrains, Vim, …).'),
      h('li', null, 'Point it at this hub in ', h('code', null, '~/.wakatime.cfg'), ' (or the plugin’s settings):')),
    h('pre', { 'data-heartbeat-url': url ?? '' },
      `[settings]\napi_url = ${url ?? 'http://<your hub’s ingest address>/api/compat/wakatime/v1'}\napi_key = <your coding key>`),
    h('p', { class: 'hint' }, 'Time shows up here a few seconds after your editor sends its first heartbeats.'));
}

function summaryStats(summary) {
  const days = summary.daily.length || 1;
  const coded = summary.daily.filter(day => day.seconds > 0);
  const best = summary.daily.reduce((top, day) => (day.seconds > (top?.seconds ?? 0) ? day : top), null);
  const stat = (label, value, raw) => h('div', null, h('dt', null, label), h('dd', { 'data-value': raw }, value));
  return h('dl', { class: 'stats', id: 'coding-total' },
    stat('Total', duration(summary.total_seconds), summary.total_seconds),
    stat('Daily average', duration(summary.total_seconds / days), Math.round(summary.total_seconds / days)),
    stat('Days coded', `${coded.length} / ${summary.daily.length}`, coded.length),
    stat(best ? `Best day · ${shortDate(best.date, Number(summary.to.slice(0, 4)))}` : 'Best day',
      duration(best?.seconds ?? 0), best?.seconds ?? 0));
}

function chart(summary, stack) {
  const labels = summary.daily.map(day => day.date);
  const series = stackSeries(summary.daily);
  const label = `Coding time per day from ${summary.from} to ${summary.to}, by ${stack}: ${duration(summary.total_seconds)} in total`;
  return [
    h('div', null, stackedBars(labels, series, duration, { label })),
    h('ul', { class: 'legend', id: 'coding-legend', 'aria-label': 'Legend' }, series.map((part, index) => h('li',
      { 'data-name': part.name, 'data-seconds': part.total },
      h('span', { class: ['swatch', part.other ? 'series-other' : `series-${index % 8}`], 'aria-hidden': 'true' }),
      `${part.name} · ${duration(part.total)}`))),
  ];
}

function breakdown(rows, total, column, heading) {
  if (!rows.length) return empty(`No ${heading.replace('Top ', '').toLowerCase()} in this range.`);
  const table = h('table');
  const draw = all => replace(table,
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, column), h('th', { scope: 'col', class: 'number' }, 'Time'),
      h('th', { scope: 'col', class: 'number' }, 'Share'))),
    h('tbody', null, (all ? rows : rows.slice(0, 10)).map(row => h('tr', { 'data-name': row.name, 'data-seconds': row.seconds },
      h('td', null, row.name), h('td', { class: 'number' }, duration(row.seconds)), h('td', { class: 'number' }, share(row.seconds, total))))));
  draw(false);
  const more = rows.length > 10
    ? h('button', { type: 'button', class: 'ghost', onclick: event => { draw(true); event.target.remove(); } }, `Show all ${rows.length}`)
    : null;
  return [table, more];
}

function hours(data, metric) {
  const rows = metric === 'coding' ? data.coding_seconds : data.contributions;
  const format = metric === 'coding' ? duration : value => plural(value, 'contribution');
  const names = data.weekdays.map(day => day[0].toUpperCase() + day.slice(1));
  const total = rows.flat().reduce((sum, value) => sum + value, 0);
  const grid = h('div', null, hourGrid(rows, names, format,
    `${metric === 'coding' ? 'Coding time' : 'Contributions'} by weekday and hour, ${data.from} to ${data.to} (${data.timezone})`));
  if (total === 0) {
    return [grid, empty(metric === 'coding'
      ? 'No coding time with a time of day in this range (totals reported by the original DevTrack plugin have no hour).'
      : 'No commits, PRs, reviews or issues in this range: connect GitHub or a custom source in Settings.')];
  }
  return [grid, h('p', { class: 'hint' }, `${metric === 'coding' ? duration(total) : plural(total, 'contribution')} · hours in ${data.timezone}`)];
}

export async function render({ root, query, me, api, live, signal }) {
  const days = RANGES.includes(Number(query.get('range'))) ? Number(query.get('range')) : 30;
  let stack = query.get('stack') === 'project' ? 'project' : 'language';
  let metric = 'coding';
  const to = todayIn(me.timezone);
  const from = addDays(to, -(days - 1));

  const href = value => `/coding?range=${value}${stack === 'project' ? '&stack=project' : ''}`;
  const picker = h('nav', { class: 'row', id: 'coding-range', 'aria-label': 'Range' }, RANGES.map(value => h('a', {
    href: href(value), class: ['button', value === days ? null : 'ghost'], 'aria-current': value === days ? 'true' : null,
    'data-range': value,
  }, `${value} days`)));
  const stats = h('div', { 'aria-live': 'polite' }, loading());
  const bars = h('div', null);
  const stackToggle = toggleGroup('Stack the days', STACKS, stack, value => {
    stack = value;
    const url = new URL(location.href);
    url.searchParams.set('stack', value);
    history.replaceState(null, '', url.pathname + url.search);
    for (const link of picker.querySelectorAll('a')) link.setAttribute('href', href(Number(link.dataset.range)));
    loadSummary();
  });
  const tables = TABLES.map(([key, heading]) => {
    const body = h('div', null, loading());
    return { key, body, section: h('section', { class: 'panel', id: `coding-${key}` }, h('h2', null, heading), body) };
  });
  const breakdowns = h('div', { class: 'grid', id: 'coding-breakdowns' }, tables.map(table => table.section));
  const hourBody = h('div', { 'aria-live': 'polite' }, loading());
  const hourToggle = toggleGroup('Show', [['coding', 'Coding time'], ['contributions', 'Contributions']], metric, value => {
    metric = value;
    if (hourly) replace(hourBody, hours(hourly, metric));
  });
  let hourly = null;

  replace(root,
    h('div', { class: 'spread' }, h('h1', null, 'Coding'), picker),
    h('section', { class: 'panel', id: 'coding-daily' },
      h('div', { class: 'spread' }, h('h2', null, `Time per day · last ${days} days`), stackToggle), stats, bars),
    breakdowns,
    h('section', { class: 'panel', id: 'coding-hours' },
      h('div', { class: 'spread' }, h('h2', null, 'When you code'), hourToggle), hourBody));

  // Each load aborts the one before it (a toggle pressed twice, a live reload): a late answer never draws.
  const summarySignal = latest(signal);
  const hoursSignal = latest(signal);
  const cache = new Map(); // stack → summary, so the toggle does not ask twice

  async function loadSummary(fresh = false) {
    const wanted = stack;
    const mine = summarySignal();
    if (!fresh) replace(bars, loading());
    let summary = fresh ? undefined : cache.get(wanted);
    try {
      summary ??= await api.get('/api/v1/coding/summary', { from, to, stack: wanted }, { signal: mine });
    } catch (error) {
      if (error?.name === 'AbortError') return;
      replace(stats, failure(error));
      replace(bars);
      tables.forEach(table => replace(table.body, failure(error)));
      return;
    }
    cache.set(wanted, summary);
    if (mine.aborted) return;
    stackToggle.hidden = summary.total_seconds === 0;
    breakdowns.hidden = summary.total_seconds === 0; // nothing to break down: the connect steps say what to do
    replace(stats, summaryStats(summary));
    for (const table of tables) {
      const [, heading, column] = TABLES.find(([key]) => key === table.key);
      replace(table.body, breakdown(summary[table.key] ?? [], summary.total_seconds, column, heading));
    }
    if (summary.total_seconds === 0) {
      replace(bars, empty(`No coding time in the last ${days} days. To record it, connect your editor:`));
      bars.append(connectHelp());
      return;
    }
    replace(bars, chart(summary, wanted));
  }

  async function loadHours() {
    try {
      hourly = await api.get('/api/v1/metrics/hourly', { from, to }, { signal: hoursSignal() });
      replace(hourBody, hours(hourly, metric));
    } catch (error) {
      if (error?.name !== 'AbortError') replace(hourBody, failure(error));
    }
  }

  // New heartbeats or facts (or a stream that was away): read again quietly, at most every few seconds.
  let timer = null;
  const reload = () => {
    clearTimeout(timer);
    timer = setTimeout(() => { cache.clear(); loadSummary(true); loadHours(); }, 3000);
  };
  live('metrics.updated', reload);
  live('reconnected', reload);
  signal.addEventListener('abort', () => clearTimeout(timer));

  await Promise.all([loadSummary(), loadHours()]);
}

