import { test } from 'node:test';
import assert from 'node:assert/strict';
import { count, duration, shortDate, ago, timeLeft, plural } from '../../web/assets/format.js';
import { periodStarts, sumDays, contributions } from '../../web/assets/metrics.js';

test('durations read as hours and minutes', () => {
  assert.equal(duration(0), '0m');
  assert.equal(duration(59), '0m');
  assert.equal(duration(60 * 45), '45m');
  assert.equal(duration(3600 * 3 + 60 * 5), '3h 05m');
  assert.equal(duration(3600 * 126), '126h');
  assert.equal(duration(-5), '0m');
  assert.equal(count(1234567), '1,234,567');
  assert.equal(plural(1, 'day'), '1 day');
  assert.equal(plural(2, 'day'), '2 days');
});

test('dates and times relative to now', () => {
  assert.equal(shortDate('2026-03-05', 2026), 'Mar 5');
  assert.equal(shortDate('2024-03-05', 2026), 'Mar 5, 2024');
  const now = Date.parse('2026-12-01T12:00:00Z');
  assert.equal(ago('2026-12-01T11:59:30Z', now), 'just now');
  assert.equal(ago('2026-12-01T11:30:00Z', now), '30 min ago');
  assert.equal(ago('2026-12-01T09:00:00Z', now), '3 h ago');
  assert.equal(ago('2026-11-30T12:00:00Z', now), 'yesterday');
  assert.equal(ago('2026-11-28T12:00:00Z', now), '3 days ago');
  assert.equal(ago('2026-10-01T12:00:00Z', now), '2026-10-01');
  assert.equal(timeLeft(5), '5 days left');
  assert.equal(timeLeft(1), '1 day left');
  assert.equal(timeLeft(0), 'due today');
  assert.equal(timeLeft(-3), 'ended 3 days ago');
});

test('periods: today, the ISO week from Monday, the calendar month', () => {
  assert.deepEqual(periodStarts('2026-12-01'), { today: '2026-12-01', week: '2026-11-30', month: '2026-12-01' });
  assert.deepEqual(periodStarts('2026-11-29'), { today: '2026-11-29', week: '2026-11-23', month: '2026-11-01' });
  const days = [
    { date: '2026-11-29', commits: 4, coding_seconds: 100 },
    { date: '2026-11-30', commits: 2, reviews: 1 },
    { date: '2026-12-01', commits: 1, prs_opened: 1, issues_opened: 1, comments: 3 },
  ];
  assert.equal(sumDays(days, '2026-11-30', '2026-12-01').commits, 3);
  assert.equal(sumDays(days, '2026-11-01', '2026-12-01').coding_seconds, 100);
  assert.equal(sumDays(days, '2026-12-02', '2026-12-31').commits, 0);
  assert.equal(contributions(days[2]), 3); // comments are not contributions
});
