// Totals over the server's daily rows (already days of the user's zone): today, this ISO week, this month.
// Pure, unit-tested with node --test; the browser tests compare the result with /metrics/summary.

import { addDays, isoWeekday } from './dates.js';

export const FIELDS = ['commits', 'prs_opened', 'prs_merged', 'reviews', 'issues_opened', 'issues_closed', 'comments', 'coding_seconds'];

/** The first day of each period containing `today`: the week starts on Monday (as weekly goals do). */
export function periodStarts(today) {
  return { today, week: addDays(today, -isoWeekday(today)), month: `${today.slice(0, 8)}01` };
}

/** Sums of FIELDS over the rows dated from `from` to `to` (both included). */
export function sumDays(days, from, to) {
  const totals = Object.fromEntries(FIELDS.map(field => [field, 0]));
  for (const day of days) {
    if (day.date < from || day.date > to) continue;
    for (const field of FIELDS) totals[field] += day[field] ?? 0;
  }
  return totals;
}

/** What the calendar shades: GitHub's contributions (commits, PRs opened, reviews, issues opened). */
export function contributions(day) {
  return (day.commits ?? 0) + (day.prs_opened ?? 0) + (day.reviews ?? 0) + (day.issues_opened ?? 0);
}
