// Hand-made SVG charts. Colours come from CSS classes (light and dark themes); every chart has a text
// alternative (a <title> per cell or bar, and an aria-label on the whole).

import { s } from './dom.js';
import { calendarWeeks, levels, WEEKDAYS } from './dates.js';

const CELL = 11;
const GAP = 3;

/**
 * The 365-day contribution calendar ending `to`. `values` maps date → number; `describe(date, value)` is each
 * cell's tooltip.
 */
export function calendar(to, values, describe, days = 365) {
  const { weeks, months } = calendarWeeks(to, days);
  const left = 28;
  const top = 16;
  const width = left + weeks.length * (CELL + GAP);
  const height = top + 7 * (CELL + GAP);
  const level = levels([...values.values()]);
  const total = [...values.values()].reduce((sum, value) => sum + value, 0);
  const svg = s('svg', {
    class: 'calendar', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
    'aria-label': `Contribution calendar: ${total} in the last ${days} days, ending ${to}`,
  });
  for (const { column, label } of months) {
    svg.append(s('text', { x: left + column * (CELL + GAP), y: 10, class: 'axis' }, label));
  }
  for (const row of [1, 3, 5]) {
    svg.append(s('text', { x: 0, y: top + row * (CELL + GAP) + 9, class: 'axis' }, WEEKDAYS[row]));
  }
  weeks.forEach((week, column) => {
    week.forEach((date, row) => {
      if (!date) return;
      const value = values.get(date) ?? 0;
      svg.append(s('rect', {
        x: left + column * (CELL + GAP), y: top + row * (CELL + GAP), width: CELL, height: CELL, rx: 2,
        class: `day level-${level(value)}`, 'data-date': date, 'data-count': value,
      }, s('title', null, describe(date, value))));
    });
  });
  return svg;
}

/**
 * Stacked bars, one per label. `series` = [{name, values: [number per label]}]; `format(value)` for tooltips.
 * Each series gets the colour class `series-{index}` (the CSS holds 8 and a grey for "other").
 */
export function stackedBars(labels, series, format, { height = 160, label = 'Bar chart' } = {}) {
  const barWidth = Math.max(4, Math.min(24, Math.floor(640 / Math.max(1, labels.length)) - 2));
  const step = barWidth + 2;
  const width = Math.max(step * labels.length, 40);
  const totals = labels.map((_, index) => series.reduce((sum, part) => sum + (part.values[index] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const svg = s('svg', {
    class: 'bars', viewBox: `0 0 ${width} ${height + 14}`, width, height: height + 14, role: 'img', 'aria-label': label,
    preserveAspectRatio: 'none',
  });
  labels.forEach((name, index) => {
    let y = height;
    const group = s('g', { 'data-label': name, 'data-total': totals[index] });
    series.forEach((part, partIndex) => {
      const value = part.values[index] ?? 0;
      if (value <= 0) return;
      const barHeight = Math.max(1, (value / max) * (height - 4));
      y -= barHeight;
      group.append(s('rect', {
        x: index * step, y, width: barWidth, height: barHeight,
        class: part.other ? 'series-other' : `series-${partIndex % 8}`,
      }, s('title', null, `${name} · ${part.name}: ${format(value)}`)));
    });
    if (totals[index] === 0) {
      group.append(s('rect', { x: index * step, y: height - 1, width: barWidth, height: 1, class: 'baseline' },
        s('title', null, `${name}: ${format(0)}`)));
    }
    svg.append(group);
  });
  const every = Math.ceil(labels.length / 8);
  labels.forEach((name, index) => {
    if (index % every === 0) svg.append(s('text', { x: index * step, y: height + 12, class: 'axis' }, name.slice(5)));
  });
  return svg;
}

/** The weekday × hour grid (rows Monday…Sunday, columns 0–23 local hours), shaded by value. */
export function hourGrid(rows, weekdayNames, format, label) {
  const cell = 16;
  const left = 34;
  const top = 14;
  const flat = rows.flat();
  const level = levels(flat);
  const svg = s('svg', {
    class: 'hour-grid', viewBox: `0 0 ${left + 24 * (cell + 2)} ${top + 7 * (cell + 2)}`,
    width: left + 24 * (cell + 2), height: top + 7 * (cell + 2), role: 'img', 'aria-label': label,
  });
  for (let hour = 0; hour < 24; hour += 3) {
    svg.append(s('text', { x: left + hour * (cell + 2), y: 10, class: 'axis' }, String(hour).padStart(2, '0')));
  }
  rows.forEach((hours, row) => {
    const name = weekdayNames[row];
    svg.append(s('text', { x: 0, y: top + row * (cell + 2) + 12, class: 'axis' }, name.slice(0, 3)));
    hours.forEach((value, hour) => {
      svg.append(s('rect', {
        x: left + hour * (cell + 2), y: top + row * (cell + 2), width: cell, height: cell, rx: 2,
        class: `day level-${level(value)}`, 'data-weekday': name, 'data-hour': hour, 'data-value': value,
      }, s('title', null, `${name} ${String(hour).padStart(2, '0')}:00–${String(hour + 1).padStart(2, '0')}:00: ${format(value)}`)));
    });
  });
  return svg;
}

/** A progress bar (0–100, more is clamped), with its value for assistive technology. */
export function progress(percent, label) {
  const clamped = Math.max(0, Math.min(100, percent ?? 0));
  const svg = s('svg', {
    class: 'progress', viewBox: '0 0 100 8', preserveAspectRatio: 'none', role: 'progressbar',
    'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(clamped), 'aria-label': label,
  });
  svg.append(s('rect', { x: 0, y: 0, width: 100, height: 8, rx: 4, class: 'track' }));
  if (clamped > 0) svg.append(s('rect', { x: 0, y: 0, width: clamped, height: 8, rx: 4, class: 'fill' }));
  return svg;
}
