// How numbers, durations and times read on every page. Pure (unit-tested with node --test).

import { MONTHS } from './dates.js';

const numbers = new Intl.NumberFormat('en-US');

export function count(value) {
  return numbers.format(value ?? 0);
}

/** "0m", "45m", "3h 05m", "126h" (hours alone from 100 h on). */
export function duration(seconds) {
  const total = Math.max(0, Math.floor((seconds ?? 0) / 60));
  const hours = Math.floor(total / 60);
  const minutes = total % 60;
  if (hours === 0) return `${minutes}m`;
  if (hours >= 100) return `${count(hours)}h`;
  return `${hours}h ${String(minutes).padStart(2, '0')}m`;
}

/** "Mar 5" within `thisYear`, "Mar 5, 2024" otherwise (the streak card's rule). */
export function shortDate(date, thisYear) {
  const [year, month, day] = date.split('-').map(Number);
  const text = `${MONTHS[month - 1]} ${day}`;
  return thisYear !== undefined && year === thisYear ? text : `${text}, ${year}`;
}

/** "just now", "5 min ago", "3 h ago", "2 days ago", then the date. */
export function ago(iso, now = Date.now()) {
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  if (!Number.isFinite(seconds)) return '';
  if (seconds < 45) return 'just now';
  if (seconds < 3600) return `${Math.max(1, Math.round(seconds / 60))} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  if (seconds < 14 * 86_400) {
    const days = Math.round(seconds / 86_400);
    return days === 1 ? 'yesterday' : `${days} days ago`;
  }
  return iso.slice(0, 10);
}

/** "3 days left", "due today", "ended 2 days ago" for a deadline date seen from `today`. */
export function timeLeft(days) {
  if (days > 1) return `${days} days left`;
  if (days === 1) return '1 day left';
  if (days === 0) return 'due today';
  return days === -1 ? 'ended yesterday' : `ended ${-days} days ago`;
}

export function plural(value, one, many = one + 's') {
  return `${count(value)} ${value === 1 ? one : many}`;
}

/** Contribution kinds as people say them. */
export const KIND_LABELS = {
  commits: 'Commits', prs_opened: 'PRs opened', prs_merged: 'PRs merged', reviews: 'Reviews',
  issues_opened: 'Issues opened', issues_closed: 'Issues closed', comments: 'Comments', coding_seconds: 'Coding time',
};

/** Date and minute with the zone's abbreviation ("Dec 5, 2026, 11:00 AM GMT+14"). */
const MINUTE = { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short' };

/**
 * An instant from the API as a date and time in the user's zone (the browser's, if it does not know that zone);
 * `style` is Intl.DateTimeFormat's. Empty for a value that is not a time.
 */
export function instant(iso, zone, style = MINUTE) {
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return '';
  let format;
  try {
    format = new Intl.DateTimeFormat('en-US', { ...style, timeZone: zone });
  } catch {
    format = new Intl.DateTimeFormat('en-US', style);
  }
  return format.format(time);
}
