// Notifications: the in-app list, newest first, in cursor pages; read one or all; new ones arrive live.
// The nav badge follows the API's unread_count (and our own count after each change).

import { h, replace, empty, failure, loading, latest, pager } from '../dom.js';
import { ago, plural, instant } from '../format.js';

export const title = 'Notifications';
export const signIn = 'required';

const PAGE = 20;

// What each type is about, and where to act on it (only pages that exist).
const KINDS = {
  'goal.completed': ['Goal', '/goals', 'See your goals'],
  'goal.deadline_near': ['Goal', '/goals', 'See your goals'],
  'achievement.unlocked': ['Achievement'],
  'streak.milestone': ['Streak'],
  'streak.at_risk': ['Streak', '/', 'See today’s activity'],
  'daily.summary': ['Summary'],
  'weekly.summary': ['Summary'],
};
// Whole families of types, the ones to come included: where each is set up.
const FAMILIES = {
  account: ['Account', '/settings#accounts', 'Open your GitHub accounts'],
  discord: ['Discord', '/settings#discord', 'Open the Discord settings'],
};

function kindOf(type) {
  return KINDS[type] ?? FAMILIES[String(type).split('.')[0]] ?? ['Notice'];
}

export async function render(context) {
  const { root, api, signal, query, me } = context;
  const unreadOnly = query.get('unread') === 'true';
  const state = { unread: 0, ids: new Set() };

  const status = h('p', { class: 'muted', id: 'notifications-status', 'aria-live': 'polite' });
  const actionError = h('div', { 'aria-live': 'assertive' });
  const markAll = h('button', { type: 'button', class: 'ghost', id: 'mark-all-read', disabled: true, onclick: markAllRead },
    'Mark all read');
  const filter = h('label', { class: 'check' },
    h('input', {
      type: 'checkbox', id: 'notifications-unread-only', checked: unreadOnly,
      onchange: event => context.navigate(event.target.checked ? '/notifications?unread=true' : '/notifications'),
    }),
    'Unread only');
  const list = h('ul', { class: 'plain', id: 'notifications-list', 'aria-label': 'Notifications', tabindex: '-1' });
  const body = h('div', { id: 'notifications-body' });
  // A new first page (a reconnect, a dropped live payload) aborts the read before it and any "Load more" under way.
  const nextRead = latest(signal);
  let reading = signal;
  const more = pager({
    id: 'notifications-more',
    next: async cursor => {
      const page = await fetchPage(cursor, reading);
      state.unread = page.unread_count;
      return { items: page.notifications, next_cursor: page.next_cursor };
    },
    append: notifications => {
      const before = list.childElementCount;
      append(notifications);
      showUnread();
      return list.children[before]; // the keyboard goes to the first new one, not back to the page's top
    },
  });

  replace(root,
    h('section', { class: 'panel', id: 'notifications', 'aria-labelledby': 'notifications-heading' },
      h('div', { class: 'spread' }, h('h1', { id: 'notifications-heading' }, 'Notifications'), h('div', { class: 'row' }, filter, markAll)),
      status, actionError, body, more.element));

  function showUnread() {
    context.setUnread(state.unread);
    if (signal.aborted) return; // the page was left: the badge is all there is to update
    markAll.disabled = state.unread === 0;
    // The empty state says enough on its own.
    const none = list.childElementCount === 0 ? '' : 'Everything is read.';
    status.textContent = state.unread === 0 ? none : `${plural(state.unread, 'unread notification')}.`;
  }

  function item(notification) {
    const unread = notification.read_at === null || notification.read_at === undefined;
    const [kind, href, linkText] = kindOf(notification.type);
    const li = h('li', {
      class: ['notification', unread && 'unread'], tabindex: '-1',
      dataset: { notificationId: notification.id, unread: String(unread), type: notification.type },
    },
    h('div', { class: 'spread' },
      h('span', { class: 'row' }, h('span', { class: 'tag' }, kind), h('strong', { class: 'notification-title' }, notification.title)),
      h('time', { datetime: notification.created_at, class: 'muted', title: instant(notification.created_at, me.timezone) },
        ago(notification.created_at))),
    notification.body ? h('p', { class: 'notification-body' }, notification.body) : null,
    href || unread ? h('div', { class: 'row' }, href ? h('a', { href }, linkText) : null, unread ? readButton(notification) : null) : null);
    return li;
  }

  function readButton(notification) {
    const button = h('button', {
      type: 'button', class: 'ghost mark-read', 'aria-label': `Mark read: ${notification.title}`,
      onclick: () => markRead(notification, button),
    }, 'Mark read');
    return button;
  }

  // Writes are not tied to the page: one sent before leaving still lands, and the badge follows its answer.
  async function markRead(notification, button) {
    button.disabled = true;
    replace(actionError);
    try {
      const updated = await api.post(`/api/v1/notifications/${encodeURIComponent(notification.id)}/read`);
      const old = list.querySelector(`[data-notification-id="${CSS.escape(notification.id)}"]`);
      if (old?.dataset.unread === 'true') state.unread = Math.max(0, state.unread - 1);
      showUnread();
      if (signal.aborted || !old) return;
      const fresh = item({ ...notification, ...updated, read_at: updated?.read_at ?? new Date().toISOString() });
      old.replaceWith(fresh);
      fresh.focus(); // the button is gone: keep the keyboard in the list
    } catch (error) {
      if (signal.aborted) return;
      button.disabled = false;
      replace(actionError, failure(error));
    }
  }

  async function markAllRead() {
    markAll.disabled = true;
    replace(actionError);
    try {
      const { marked } = await api.post('/api/v1/notifications/read-all');
      state.unread = 0;
      showUnread();
      if (signal.aborted) return;
      for (const li of list.querySelectorAll('[data-unread="true"]')) {
        li.classList.remove('unread');
        li.dataset.unread = 'false';
        li.querySelector('.mark-read')?.remove();
      }
      status.textContent = `Marked ${plural(marked, 'notification')} read.`;
      list.focus(); // the button is disabled now: keep the keyboard in the list
    } catch (error) {
      if (signal.aborted) return;
      markAll.disabled = false;
      replace(actionError, failure(error));
    }
  }

  function emptyState() {
    if (unreadOnly) return empty('No unread notifications.', h('a', { href: '/notifications' }, 'Show all notifications'));
    return empty('No notifications yet. The hub tells you here when you complete a goal or its deadline is a day away, '
      + 'unlock an achievement, reach a streak milestone (7, 30, 100 or 365 days) or are about to lose a streak, '
      + 'and sums up your active days and weeks.',
    h('a', { class: 'button', href: '/goals' }, 'Set a goal'));
  }

  function append(notifications) {
    for (const notification of notifications) {
      if (state.ids.has(notification.id)) continue;
      state.ids.add(notification.id);
      list.append(item(notification));
    }
    if (list.childElementCount === 0) replace(body, emptyState());
    else if (!list.isConnected) replace(body, list);
  }

  function fetchPage(cursor, asked) {
    return api.get('/api/v1/notifications', { limit: PAGE, cursor, unread: unreadOnly ? 'true' : undefined }, { signal: asked });
  }

  async function firstPage() {
    const asked = nextRead();
    reading = asked;
    more.reset(null);
    if (!list.isConnected) replace(body, loading());
    try {
      const page = await fetchPage(undefined, asked);
      list.replaceChildren();
      state.ids.clear();
      state.unread = page.unread_count;
      append(page.notifications);
      showUnread();
      more.reset(page.next_cursor);
    } catch (error) {
      if (error?.name === 'AbortError') return;
      const retry = h('button', { type: 'button', class: 'ghost', onclick: firstPage }, 'Try again');
      // A list on screen stays there (it is only older than it could be); the error says why it did not change.
      if (list.isConnected) replace(actionError, failure(error), retry);
      else replace(body, failure(error), retry);
    }
  }

  // The event carries id, type, title, body and created_at: all the list shows (a new one is unread).
  // Anything less (a payload the hub had to drop) and the first page is read again.
  context.live('notification', data => {
    if (!data?.id || typeof data.title !== 'string' || !data.created_at) {
      firstPage();
      return;
    }
    if (state.ids.has(data.id)) {
      context.setUnread(state.unread); // the shell counted it again: put the badge back
      return;
    }
    state.ids.add(data.id);
    state.unread += 1;
    list.prepend(item({ ...data, body: data.body ?? '', data: {}, read_at: null }));
    if (!list.isConnected) replace(body, list);
    showUnread();
    status.textContent = `New: ${data.title}. ${plural(state.unread, 'unread notification')}.`;
  });
  // The stream was away: what came meanwhile was not streamed, so the list is read again.
  context.live('reconnected', firstPage);

  await firstPage();
}
