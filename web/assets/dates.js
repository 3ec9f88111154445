// Calendar dates ("YYYY-MM-DD") as the hub uses them: days of the user's time zone, which the server has
// already applied. The client never buckets timestamps itself except through todayIn(); it only lays
// dates out, so arithmetic here is on the calendar (UTC noon), free of the browser's own zone and DST.
// Pure functions: unit-tested with `node --test` (Tests/Web).

const DAY_MS = 86_400_000;

/** Milliseconds at 12:00 UTC of a date: stepping by days from there never crosses a date line. */
function noon(date) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) throw new RangeError(`not a date: ${date}`);
  return Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]), 12);
}

function format(ms) {
  const d = new Date(ms);
  const pad = (n, width = 2) => String(n).padStart(width, '0');
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

export function addDays(date, days) {
  return format(noon(date) + days * DAY_MS);
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from, to) {
  return Math.round((noon(to) - noon(from)) / DAY_MS);
}

/** 0 = Sunday … 6 = Saturday. */
export function weekday(date) {
  return new Date(noon(date)).getUTCDay();
}

/** Monday-first index (0 = Monday … 6 = Sunday), as /metrics/hourly orders its rows. */
export function isoWeekday(date) {
  return (weekday(date) + 6) % 7;
}

function month(date) {
  return Number(date.slice(5, 7));
}

/**
 * Today in an IANA zone at `now` (a Date), as the server computes it for that zone. A zone this browser does not
 * know (its time zone data is older than the server's) falls back to UTC rather than breaking the page.
 */
export function todayIn(zone, now = new Date()) {
  let format;
  try {
    format = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
  } catch {
    format = new Intl.DateTimeFormat('en-CA', { timeZone: 'UTC', year: 'numeric', month: '2-digit', day: '2-digit' });
  }
  const parts = format.formatToParts(now);
  const get = type => parts.find(part => part.type === type).value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** The date of an instant (an ISO 8601 timestamp from the API) in a zone: the day it counts on there. */
export function dateIn(iso, zone) {
  return todayIn(zone, new Date(iso));
}

/**
 * GitHub's contribution calendar: one column per week (Sunday first), `days` days ending `to`.
 * Returns {weeks: [[date|null × 7]], months: [{column, label}]}: null pads the first and last weeks.
 */
export function calendarWeeks(to, days = 365) {
  const from = addDays(to, -(days - 1));
  const start = addDays(from, -weekday(from));
  const weeks = [];
  const months = [];
  for (let sunday = start; sunday <= to; sunday = addDays(sunday, 7)) {
    const week = [];
    for (let offset = 0; offset < 7; offset++) {
      const date = addDays(sunday, offset);
      week.push(date >= from && date <= to ? date : null);
    }
    const first = week.find(date => date !== null);
    const previous = weeks.length ? weeks[weeks.length - 1].find(date => date !== null) : null;
    if (first && (previous === null || month(first) !== month(previous))) {
      months.push({ column: weeks.length, label: MONTHS[month(first) - 1] });
    }
    weeks.push(week);
  }
  // A month label squeezed into the first column or two would overlap the next one: GitHub drops it too.
  if (months.length > 1 && months[1].column - months[0].column < 2) months.shift();
  return { weeks, months };
}

/** Level 0–4 of a day's count, by quartiles of the non-zero counts (GitHub's way of shading). */
export function levels(counts) {
  const sorted = counts.filter(count => count > 0).sort((a, b) => a - b);
  if (sorted.length === 0) return () => 0;
  const quantile = q => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const cuts = [quantile(0.25), quantile(0.5), quantile(0.75)];
  return count => (count <= 0 ? 0 : count <= cuts[0] ? 1 : count <= cuts[1] ? 2 : count <= cuts[2] ? 3 : 4);
}

export const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
export const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
