// The dashboard's pure date logic, run with `node --test Tests/Web` (scripts/test does).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addDays, daysBetween, weekday, isoWeekday, todayIn, dateIn, calendarWeeks, levels } from '../../web/assets/dates.js';

test('day arithmetic crosses months, leap days and DST changes of any zone the machine runs in', () => {
  assert.equal(addDays('2024-02-28', 1), '2024-02-29');
  assert.equal(addDays('2024-02-29', 1), '2024-03-01');
  assert.equal(addDays('2023-12-31', 1), '2024-01-01');
  assert.equal(addDays('2024-03-31', -31), '2024-02-29');
  assert.equal(addDays('2026-03-29', 1), '2026-03-30'); // Europe's spring change
  assert.equal(daysBetween('2024-01-01', '2025-01-01'), 366);
  assert.equal(daysBetween('2025-01-01', '2024-12-31'), -1);
  assert.throws(() => addDays('2024-1-1', 1), RangeError);
});

test('weekdays: Sunday-first for the calendar, Monday-first as the hourly grid and weekly goals', () => {
  assert.equal(weekday('2026-12-01'), 2); // a Tuesday
  assert.equal(isoWeekday('2026-12-01'), 1);
  assert.equal(weekday('2026-11-29'), 0);
  assert.equal(isoWeekday('2026-11-29'), 6);
});

test('today in a zone is the date there, not the browser\'s', () => {
  const instant = new Date('2026-12-01T23:30:00Z');
  assert.equal(todayIn('UTC', instant), '2026-12-01');
  assert.equal(todayIn('Asia/Tokyo', instant), '2026-12-02');
  assert.equal(todayIn('America/Los_Angeles', instant), '2026-12-01');
  assert.equal(todayIn('Asia/Kolkata', new Date('2026-12-01T18:29:59Z')), '2026-12-01');
  assert.equal(todayIn('Asia/Kolkata', new Date('2026-12-01T18:30:00Z')), '2026-12-02');
  // DST: Berlin's autumn change at 01:00 UTC.
  assert.equal(todayIn('Europe/Berlin', new Date('2026-10-24T22:30:00Z')), '2026-10-25');
  assert.equal(todayIn('Pacific/Kiritimati', new Date('2026-12-01T10:00:00Z')), '2026-12-02');
  assert.equal(todayIn('Not/AZone', instant), '2026-12-01', 'an unknown zone falls back to UTC');
  assert.equal(dateIn('2026-12-01T23:30:00Z', 'Asia/Tokyo'), '2026-12-02');
  assert.equal(dateIn('2026-12-01T23:30:00.123Z', 'UTC'), '2026-12-01');
});

test('the calendar has 365 days in Sunday-first weeks, padded at both ends', () => {
  const { weeks, months } = calendarWeeks('2026-12-01', 365);
  const dates = weeks.flat().filter(Boolean);
  assert.equal(dates.length, 365);
  assert.equal(dates[0], '2025-12-02');
  assert.equal(dates.at(-1), '2026-12-01');
  assert.ok(weeks.every(week => week.length === 7));
  assert.equal(weeks[0][weekday('2025-12-02')], '2025-12-02');
  assert.equal(weeks[0][0], null);
  assert.equal(weeks.at(-1)[2], '2026-12-01');
  assert.equal(weeks.at(-1)[3], null);
  for (const week of weeks) {
    week.filter(Boolean).forEach(date => assert.equal(week.indexOf(date), weekday(date)));
  }
  assert.deepEqual(months.map(month => month.label).slice(0, 3), ['Dec', 'Jan', 'Feb']);
  // A month holding only the first column would print over the next month's label: it is left out.
  assert.deepEqual(calendarWeeks('2026-11-29', 365).months.map(month => month.label).slice(0, 2), ['Dec', 'Jan']);
  assert.ok(months.every((month, index) => index === 0 || month.column > months[index - 1].column));
});

test('shading levels split the non-zero days in quartiles', () => {
  const level = levels([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(level(0), 0);
  assert.equal(level(1), 1);
  assert.equal(level(8), 4);
  assert.ok(level(4) >= level(3));
  assert.equal(levels([0, 0])(5), 0);
});
