// Goals (progress, history, create / edit / delete, live progress), the achievement catalogue, and
// streak freezes. Forms send what was typed and show the API's own validation message beside them.

import { h, s, replace, empty, failure, loading, fill, latest, formErrors, toggleGroup, confirmButton } from '../dom.js';
import { progress } from '../charts.js';
import { addDays, daysBetween, todayIn, dateIn, MONTHS } from '../dates.js';
import { count, shortDate, timeLeft, plural } from '../format.js';

export const title = 'Goals & achievements';
export const signIn = 'required';

const UNITS = [['commits', 'Commits'], ['prs_opened', 'PRs opened'], ['prs_merged', 'PRs merged'], ['reviews', 'Reviews'],
  ['issues_closed', 'Issues closed'], ['coding_minutes', 'Coding minutes'], ['active_days', 'Active days'], ['custom', 'Custom events…']];
const PERIODS = [['weekly', 'Every week (Monday to Sunday)'], ['daily', 'Every day'], ['monthly', 'Every month'],
  ['once', 'Once (until the deadline)']];
const PERIOD_TAGS = { once: 'Once', daily: 'Daily', weekly: 'Weekly', monthly: 'Monthly' };
const METRICS = {
  commits: 'Commits', prs_opened: 'PRs opened', prs_merged: 'PRs merged', reviews: 'Reviews',
  issues_closed: 'Issues closed', streak_days: 'Streaks', night_owl_days: 'Night owl', early_bird_days: 'Early bird',
  active_weekends: 'Weekends', languages: 'Languages', coding_hours: 'Coding hours',
};
const TIERS = ['bronze', 'silver', 'gold', 'platinum'];

function unitLabel(unit) {
  if (unit.startsWith('custom:')) return `${unit.slice(7)} events`;
  return (UNITS.find(([value]) => value === unit)?.[1] ?? unit).replace(/^[A-Z][a-z]/, text => text.toLowerCase());
}

function percentOf(current, target) {
  return target > 0 ? Math.min(100, Math.round((Math.max(0, current) / target) * 10_000) / 100) : 0;
}

function span(start, end, year) {
  return start === end ? shortDate(start, year) : `${shortDate(start, year)} – ${shortDate(end, year)}`;
}

function field(label, control, hint) {
  return h('label', null, label, control, hint ? h('span', { class: 'hint' }, hint) : null);
}

function options(list, current) {
  return list.map(([value, text]) => h('option', { value, selected: value === current }, text));
}

/** Sets a charts.progress() bar to `percent` without replacing it, so live updates move the bar in place. */
function setBar(svg, percent, label) {
  const value = Math.max(0, Math.min(100, percent));
  svg.setAttribute('aria-valuenow', String(Math.round(value)));
  svg.setAttribute('aria-label', label);
  let bar = svg.querySelector('.fill');
  if (value > 0 && !bar) svg.append(bar = s('rect', { x: 0, y: 0, height: 8, rx: 4, class: 'fill' }));
  if (bar) value > 0 ? bar.setAttribute('width', String(value)) : bar.remove();
}

export async function render({ root, me, api, live, signal }) {
  const today = todayIn(me.timezone);
  const year = Number(today.slice(0, 4));
  const zones = Intl.supportedValuesOf?.('timeZone') ?? [];
  if (!zones.includes('UTC')) zones.unshift('UTC'); // Intl lists the named zones only
  const items = new Map(); // goal id → item
  const status = h('p', { id: 'goals-status', class: 'hint', 'aria-live': 'polite' });
  const problem = h('div');
  const list = h('ul', { class: 'plain', id: 'goals-list' });
  const none = empty('No goals yet. Set one below, for example 10 commits a week or 30 coding minutes a day.');
  const summary = h('span', { class: 'muted' });
  const tally = () => {
    const goals = [...items.values()].map(item => item.goal);
    none.hidden = goals.length > 0;
    summary.textContent = goals.length ? `${plural(goals.length, 'goal')} · ${count(goals.filter(reached).length)} reached` : '';
  };
  const zoneOf = goal => goal.timezone ?? me.timezone;
  const reached = goal => goal.current >= goal.target || Boolean(goal.completed_at);

  function goalItem(goal) {
    const item = { goal, mode: null };
    const head = h('div', { class: 'spread' });
    const bar = progress(0, '');
    const numbers = h('p', { class: 'spread goal-numbers' });
    const region = h('div', { class: 'goal-detail', id: `goal-detail-${goal.id}` });
    const failed = h('div');
    const li = h('li', { class: 'goal', dataset: { goalId: goal.id } }, head, bar, numbers);
    // A mode change aborts the history read under way; a live change aborts the re-read before it.
    const detail = latest(signal);
    const reread = latest(signal);
    const buttons = {};
    const open = mode => {
      item.mode = item.mode === mode ? null : mode;
      const mine = detail();
      for (const [name, button] of Object.entries(buttons)) button.setAttribute('aria-expanded', String(item.mode === name));
      if (item.mode === 'history') showHistory(item, region, mine);
      else if (item.mode === 'edit') replace(region, editForm(item)).querySelector('input').focus();
      else replace(region);
    };
    for (const [mode, text] of [['history', 'History'], ['edit', 'Edit']]) {
      buttons[mode] = h('button', {
        type: 'button', class: 'ghost', 'aria-expanded': 'false', 'aria-controls': region.id,
        'aria-describedby': `goal-title-${goal.id}`, 'data-action': mode, onclick: () => open(mode),
      }, text);
    }
    const remove = confirmButton('Delete', async () => {
      replace(failed);
      await api.delete(`/api/v1/goals/${item.goal.id}`);
      li.remove();
      items.delete(item.goal.id);
      tally();
      status.textContent = `Deleted “${item.goal.title}” and its history.`;
      list.focus();
    }, { onError: error => replace(failed, failure(error)) });
    remove.dataset.action = 'delete';
    remove.setAttribute('aria-describedby', `goal-title-${goal.id}`);
    li.append(h('div', { class: 'row goal-actions' }, Object.values(buttons), remove), failed, region);
    item.li = li;
    // Closing puts focus back on the button that opened the form, not on the page's start.
    item.close = () => { const from = buttons[item.mode]; open(item.mode); from?.focus(); };
    item.set = next => {
      item.goal = next;
      const done = reached(next);
      const unit = unitLabel(next.unit);
      const left = next.deadline ? daysBetween(todayIn(zoneOf(next)), next.deadline) : null;
      const bounds = span(next.period_start, next.period_end, year);
      const when = next.period === 'once' ? `since ${shortDate(next.period_start, year)}${next.deadline ? '' : ' · no deadline'}`
        : next.period === 'daily' ? 'today' : `this ${next.period === 'weekly' ? 'week' : 'month'}: ${bounds}`;
      replace(head, h('h3', { id: `goal-title-${next.id}` }, next.title), h('span', { class: 'row' },
        h('span', { class: 'tag' }, PERIOD_TAGS[next.period] ?? next.period),
        next.timezone && next.timezone !== me.timezone ? h('span', { class: 'tag' }, next.timezone) : null,
        done ? h('span', { class: 'tag ok' }, '✓ Reached') : null));
      const raw = { current: String(next.current), target: String(next.target), percent: String(next.percent) };
      Object.assign(li.dataset, raw);
      Object.assign(bar.dataset, raw);
      setBar(bar, next.percent, `${next.title}: ${next.current} of ${next.target} ${unit}`);
      replace(numbers,
        h('span', { class: 'goal-value', dataset: raw }, `${count(next.current)} / ${count(next.target)} ${unit} · ${Math.floor(next.percent)}%`),
        h('span', { class: left !== null && left < 0 && !done ? 'muted' : null },
          when, left !== null ? ` · due ${shortDate(next.deadline, year)} (${timeLeft(left)})` : '',
          next.completed_at ? ` · reached ${shortDate(dateIn(next.completed_at, zoneOf(next)), year)}` : ''));
    };
    // A live change: exact progress moves the bar at once; what the event cannot tell (when the goal was reached,
    // the bounds of a new period) is read again.
    item.update = async change => {
      const mine = reread();
      const goal = item.goal;
      const target = change.target ?? goal.target;
      if (!Number.isInteger(change.progress)) return item.set(await api.get(`/api/v1/goals/${goal.id}`, null, { signal: mine }));
      const completedAt = change.completed === false ? null : goal.completed_at;
      item.set({ ...goal, current: change.progress, target, percent: percentOf(change.progress, target), completed_at: completedAt });
      // A "once" goal past its deadline has no next period to read.
      const ended = todayIn(zoneOf(goal)) > goal.period_end && !(goal.period === 'once' && goal.deadline);
      if ((change.completed === true && !completedAt) || ended) {
        item.set(await api.get(`/api/v1/goals/${goal.id}`, null, { signal: mine }));
      }
    };
    item.set(goal);
    return item;
  }

  async function showHistory(item, region, mine) {
    replace(region, loading());
    try {
      const node = await history(item.goal, mine);
      // Edit (or Close) pressed meanwhile: the region is no longer the history's.
      if (item.mode === 'history' && !mine.aborted) replace(region, node);
    } catch (error) {
      if (error?.name !== 'AbortError' && item.mode === 'history') replace(region, failure(error));
    }
  }

  async function history(goal, mine) {
    const { history: rows } = await api.get(`/api/v1/goals/${goal.id}/history`, null, { signal: mine });
    if (!rows.length) return empty(`No finished period yet: the current one ends on ${shortDate(goal.period_end, year)}.`);
    const label = row => goal.period === 'monthly'
      ? `${MONTHS[Number(row.period_start.slice(5, 7)) - 1]} ${row.period_start.slice(0, 4)}` : span(row.period_start, row.period_end, year);
    return h('div', { class: 'goal-history' }, h('table', null,
      h('caption', null, `Reached in ${count(rows.filter(row => row.completed).length)} of ${plural(rows.length, 'finished period')}`),
      h('thead', null, h('tr', null, ['Period', 'Achieved', 'Target', 'Reached'].map((text, index) =>
        h('th', { scope: 'col', class: index ? 'number' : null }, text)))),
      h('tbody', null, rows.map(row => h('tr', {
        dataset: { periodStart: row.period_start, achieved: String(row.achieved), completed: String(row.completed) },
      }, h('td', null, label(row)), h('td', { class: 'number' }, count(row.achieved)), h('td', { class: 'number' }, count(row.target)),
      h('td', { class: ['number', row.completed ? 'ok' : 'muted'] }, row.completed ? '✓' : '—'))))));
  }

  function editForm(item) {
    const { goal } = item;
    const box = h('div', { id: `goal-edit-error-${goal.id}` });
    const save = h('button', { type: 'submit' }, 'Save');
    const form = h('form', { class: 'goal-edit', novalidate: true, 'aria-label': `Edit ${goal.title}` },
      field('Title', h('input', { name: 'title', value: goal.title, maxlength: '200', required: true })),
      field('Target', h('input', { name: 'target', type: 'number', min: '1', step: '1', inputmode: 'numeric', value: String(goal.target) })),
      field('Deadline', h('input', { name: 'deadline', type: 'date', value: goal.deadline ?? '' }),
        goal.deadline ? 'It can move, not go away.' : 'Optional.'),
      field('Time zone', h('input', { name: 'timezone', value: goal.timezone, list: 'goal-zones', autocomplete: 'off' })),
      h('p', { class: 'hint' }, `The unit (${unitLabel(goal.unit)}) and period cannot change: create a new goal for that.`),
      box, h('div', { class: 'row' }, save, h('button', { type: 'button', class: 'ghost', onclick: item.close }, 'Cancel')));
    const errors = formErrors(form, box);
    form.addEventListener('submit', async event => {
      event.preventDefault();
      errors.clear();
      const data = Object.fromEntries(new FormData(form));
      const body = {};
      if (data.title !== goal.title) body.title = data.title;
      // An empty target would read as "unchanged" (null): say what the API says of a bad one.
      const bad = { code: 'invalid_target', message: 'target must be a whole number from 1 to 1000000000' };
      if (data.target.trim() === '') return errors.show(bad);
      if (Number(data.target) !== goal.target) body.target = Number(data.target);
      if (data.deadline && data.deadline !== goal.deadline) body.deadline = data.deadline;
      if (data.timezone.trim() && data.timezone.trim() !== goal.timezone) body.timezone = data.timezone.trim();
      if (!Object.keys(body).length) return item.close();
      save.disabled = true;
      try {
        item.set(await api.patch(`/api/v1/goals/${goal.id}`, body));
        item.close();
        status.textContent = `Saved “${item.goal.title}”.`;
        tally();
      } catch (failed) {
        errors.show(failed);
      } finally {
        save.disabled = false;
      }
    });
    return form;
  }

  function newGoalForm() {
    const box = h('div', { id: 'goal-form-error' });
    const kind = h('input', { name: 'kind', placeholder: 'deploy', autocomplete: 'off', maxlength: '64' });
    const kindField = field('Custom event type', kind, 'The type of a custom source’s events: deploy counts custom:deploy.');
    kindField.hidden = true;
    const unit = h('select', { name: 'unit', onchange: () => { kindField.hidden = unit.value !== 'custom'; } }, options(UNITS, 'commits'));
    const create = h('button', { type: 'submit' }, 'Create goal');
    const form = h('form', { id: 'goal-form', novalidate: true },
      field('Title', h('input', { name: 'title', maxlength: '200', required: true, placeholder: 'Ship something every week' })),
      h('div', { class: 'goal-form-row' },
        field('Target', h('input', { name: 'target', type: 'number', min: '1', step: '1', inputmode: 'numeric', required: true })),
        field('Unit', unit)),
      kindField,
      field('Period', h('select', { name: 'period' }, options(PERIODS, 'weekly'))),
      h('div', { class: 'goal-form-row' },
        field('Deadline', h('input', { name: 'deadline', type: 'date', min: today }), 'Optional; a “once” goal runs until it.'),
        field('Time zone', h('input', { name: 'timezone', list: 'goal-zones', autocomplete: 'off', placeholder: me.timezone }),
          'Optional; days follow yours.')),
      box, h('div', { class: 'row' }, create));
    // A refused "unit" of a custom goal is the event type typed in its own field (read when the error comes).
    const errors = formErrors(form, box, { get unit() { return unit.value === 'custom' ? 'kind' : 'unit'; } });
    form.addEventListener('submit', async event => {
      event.preventDefault();
      errors.clear();
      const data = Object.fromEntries(new FormData(form));
      const body = {
        title: data.title, target: data.target === '' ? null : Number(data.target), period: data.period,
        unit: data.unit === 'custom' ? `custom:${data.kind.trim()}` : data.unit,
      };
      if (data.deadline) body.deadline = data.deadline;
      if (data.timezone.trim()) body.timezone = data.timezone.trim();
      create.disabled = true;
      try {
        const goal = await api.post('/api/v1/goals', body);
        form.reset();
        kindField.hidden = true;
        add(goal);
        status.textContent = `Created “${goal.title}”.`;
      } catch (failed) {
        errors.show(failed);
      } finally {
        create.disabled = false;
      }
    });
    return form;
  }

  function add(goal) {
    const item = goalItem(goal);
    items.set(goal.id, item);
    list.append(item.li);
    tally();
  }

  // The list read again (a live change it cannot apply, a reconnect): the newest read wins.
  const listSignal = latest(signal);
  async function loadGoals() {
    const mine = listSignal();
    const known = new Set(items.keys()); // a goal created while this read is under way stays
    try {
      const { goals } = await api.get('/api/v1/goals', null, { signal: mine });
      const seen = new Set(goals.map(goal => goal.id));
      for (const [id, item] of items) if (known.has(id) && !seen.has(id)) { item.li.remove(); items.delete(id); }
      for (const goal of goals) items.has(goal.id) ? items.get(goal.id).set(goal) : add(goal);
      tally();
      replace(problem);
      if (!list.isConnected) replace(goalsBody, list, none);
    } catch (error) {
      if (error?.name === 'AbortError') return;
      replace(list.isConnected ? problem : goalsBody, failure(error));
    }
  }

  const goalsBody = h('div', null, loading());
  replace(root,
    h('h1', null, 'Goals & achievements'),
    h('datalist', { id: 'goal-zones' }, zones.map(zone => h('option', { value: zone }))),
    h('section', { class: 'panel', id: 'goals' }, h('div', { class: 'spread' }, h('h2', null, 'Goals'), summary), status, problem, goalsBody),
    h('section', { class: 'panel', id: 'goal-new' }, h('h2', null, 'New goal'), newGoalForm()),
    h('section', { class: 'panel', id: 'achievements' }, h('h2', null, 'Achievements'), h('div', { 'data-part': 'body' }, loading())),
    h('section', { class: 'panel', id: 'streak-freezes' }, h('h2', null, 'Streak freezes'), h('div', { 'data-part': 'body' }, loading())));
  list.tabIndex = -1;

  // Live: exact progress moves the bar; without it (or with an empty payload) the goals are read again.
  live('goal.progress', async data => {
    const changes = Array.isArray(data?.goals) ? data.goals : null;
    if (!changes || changes.some(change => !items.has(change.id))) return loadGoals();
    try {
      await Promise.all(changes.map(change => items.get(change.id).update(change)));
      tally();
    } catch (error) {
      if (error?.name !== 'AbortError') status.textContent = `Live update failed: ${error.message}`;
    }
  });
  live('reconnected', loadGoals);

  await Promise.all([
    loadGoals(),
    fill(root.querySelector('#achievements [data-part]'), () => achievements(api, me, signal)),
    fill(root.querySelector('#streak-freezes [data-part]'), () => freezes(api, today, year, signal)),
  ]);
}

async function achievements(api, me, signal) {
  const data = await api.get('/api/v1/achievements', null, { signal });
  if (!data.achievements.length) return empty('This hub has no achievements in its catalogue.');
  let dated;
  try {
    dated = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeZone: me.timezone });
  } catch {
    dated = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium' });
  }
  const card = item => h('li', {
    class: ['achievement', item.unlocked ? 'unlocked' : 'is-locked'],
    dataset: { achievementId: item.id, unlocked: String(item.unlocked), current: String(item.current), threshold: String(item.threshold) },
  },
  h('div', { class: 'spread' }, h('strong', null, item.title), h('span', { class: `tag tier-${item.tier}` }, item.tier)),
  h('p', { class: 'muted' }, item.description),
  item.unlocked
    ? h('p', { class: 'ok' }, '✓ Unlocked ',
      h('time', { datetime: item.unlocked_at }, item.unlocked_at ? dated.format(new Date(item.unlocked_at)) : ''))
    : [progress(item.percent, `${item.title}: ${item.current} of ${item.threshold}`),
      h('p', { class: 'hint' }, `${count(item.current)} / ${count(item.threshold)} · ${Math.floor(item.percent)}%`)]);
  const body = h('div', { class: 'achievement-groups' });
  const groupsOf = by => {
    const keys = by === 'tier' ? TIERS : [...new Set(data.achievements.map(item => item.metric))];
    return keys.map(key => [key, data.achievements.filter(item => item[by] === key)]).filter(([, list]) => list.length);
  };
  // Groups flow side by side, each as wide as its cards (210 px + 10 px gap; a lone card does not take a whole row).
  const draw = by => replace(body, groupsOf(by).map(([key, list]) => h('div', {
    class: 'achievement-group', dataset: { group: key }, style: { flexBasis: `${list.length * 220 - 10}px` } },
    h('h3', null, by === 'tier' ? key[0].toUpperCase() + key.slice(1) : METRICS[key] ?? key,
      h('span', { class: 'muted' }, ` · ${list.filter(item => item.unlocked).length} / ${list.length}`)),
    h('ul', { class: 'achievement-list' }, list.map(card)))));
  const switcher = toggleGroup('Group achievements', [['metric', 'By metric'], ['tier', 'By tier']], 'metric', draw);
  draw('metric');
  return [
    h('div', { class: 'spread' }, h('p', { id: 'achievements-count', dataset: { unlocked: String(data.unlocked_count), total: String(data.total) } },
      `${count(data.unlocked_count)} of ${count(data.total)} unlocked`), switcher),
    data.unlocked_count === 0 ? h('p', { class: 'hint' }, 'Your first commit unlocks the first one: connect GitHub in ',
      h('a', { href: '/settings' }, 'Settings'), '.') : null,
    body,
  ];
}

async function freezes(api, today, year, signal) {
  const body = h('div');
  const listed = h('div', { id: 'freezes-list' });
  const drawList = dates => replace(listed, dates.length
    ? h('ul', { class: 'plain' }, [...dates].sort().reverse().map(date => h('li', { dataset: { date } }, shortDate(date, year))))
    : empty('No frozen days. Freeze a day you missed to keep your streak alive (a few per month, 2 by default).'));
  let dates = (await api.get('/api/v1/streak/freezes', null, { signal })).freezes;
  drawList(dates);
  const box = h('div', { id: 'freeze-form-error' });
  const done = h('p', { class: 'hint', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit' }, 'Freeze day');
  const form = h('form', { class: 'inline', id: 'freeze-form', novalidate: true },
    field('Day', h('input', { name: 'date', type: 'date', value: addDays(today, -1), min: addDays(today, -30), max: addDays(today, 30) })),
    button, box);
  const errors = formErrors(form, box);
  form.addEventListener('submit', async event => {
    event.preventDefault();
    errors.clear();
    const date = form.elements.date.value;
    button.disabled = true;
    try {
      const answer = await api.post('/api/v1/streak/freezes', { date });
      done.textContent = `${dates.includes(date) ? 'Already frozen' : 'Frozen'}: ${shortDate(date, year)}. ` +
        `${plural(answer.remaining_this_month, 'freeze')} left this month.`;
      dates = (await api.get('/api/v1/streak/freezes', null, { signal })).freezes;
      drawList(dates);
    } catch (failed) {
      if (failed?.name !== 'AbortError') errors.show(failed);
    } finally {
      button.disabled = false;
    }
  });
  replace(body, listed, form, done);
  return body;
}
