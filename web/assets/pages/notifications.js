// Notifications: the in-app list, newest first, in cursor pages; read one or all; new ones arrive live.
// The nav badge follows the API's unread_count (and our own count after each change).

import { h, replace, empty, failure, loading } from '../dom.js';
import { ago, plural } from '../format.js';

export const title = 'Notifications';
export const signIn = 'required';

const PAGE = 20;

// What each type is about, and where to act on it (only pages that exist).
const KINDS = {
  'goal.completed': ['Goal', '/goals', 'See your goals'],
  'goal.deadline_near': ['Goal', '/goals', 'See your goals'],
  'achievement.unlocked': ['Achievement'],
  'streak.milestone': ['Streak'],
  'streak.at_risk': ['Streak', '/coding', 'See your activity'],
  'daily.summary': ['Summary'],
  'weekly.summary': ['Summary'],
  'account.reauth_needed': ['Account', '/settings', 'Open settings'],
  'discord.disabled': ['Discord', '/settings', 'Open settings'],
};

export async function render(context) {
  const { root, api, signal, query } = context;
  const unreadOnly = query.get('unread') === 'true';
  const state = { unread: 0, cursor: null, ids: new Set() };

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
  const more = h('div', { class: 'row', id: 'notifications-more' });

  replace(root,
    h('section', { class: 'panel', id: 'notifications', 'aria-labelledby': 'notifications-heading' },
      h('div', { class: 'spread' }, h('h1', { id: 'notifications-heading' }, 'Notifications'), h('div', { class: 'row' }, filter, markAll)),
      status, actionError, body, more));

  function showUnread() {
    markAll.disabled = state.unread === 0;
    // The empty state says enough on its own.
    const none = list.childElementCount === 0 ? '' : 'Everything is read.';
    status.textContent = state.unread === 0 ? none : `${plural(state.unread, 'unread notification')}.`;
    context.setUnread(state.unread);
  }

  function item(notification) {
    const unread = notification.read_at === null || notification.read_at === undefined;
    const [kind, href, linkText] = KINDS[notification.type] ?? ['Notice'];
    const created = new Date(notification.created_at);
    const li = h('li', {
      class: ['notification', unread && 'unread'], tabindex: '-1',
      dataset: { notificationId: notification.id, unread: String(unread), type: notification.type },
    },
    h('div', { class: 'spread' },
      h('span', { class: 'row' }, h('span', { class: 'tag' }, kind), h('strong', { class: 'notification-title' }, notification.title)),
      h('time', {
        datetime: notification.created_at, class: 'muted',
        title: Number.isNaN(created.getTime()) ? null : created.toLocaleString(),
      }, ago(notification.created_at))),
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

  async function markRead(notification, button) {
    button.disabled = true;
    replace(actionError);
    try {
      const updated = await api.post(`/api/v1/notifications/${encodeURIComponent(notification.id)}/read`, undefined, { signal });
      const old = list.querySelector(`[data-notification-id="${CSS.escape(notification.id)}"]`);
      if (old?.dataset.unread === 'true') state.unread = Math.max(0, state.unread - 1);
      if (old) {
        const fresh = item({ ...notification, ...updated, read_at: updated?.read_at ?? new Date().toISOString() });
        old.replaceWith(fresh);
        fresh.focus(); // the button is gone: keep the keyboard in the list
      }
      showUnread();
    } catch (error) {
      if (error?.name === 'AbortError') return;
      button.disabled = false;
      replace(actionError, failure(error));
    }
  }

  async function markAllRead() {
    markAll.disabled = true;
    replace(actionError);
    try {
      const { marked } = await api.post('/api/v1/notifications/read-all', undefined, { signal });
      for (const li of list.querySelectorAll('[data-unread="true"]')) {
        const button = li.querySelector('.mark-read');
        li.classList.remove('unread');
        li.dataset.unread = 'false';
        button?.remove();
      }
      state.unread = 0;
      showUnread();
      status.textContent = `Marked ${plural(marked, 'notification')} read.`;
      list.focus(); // the button is disabled now: keep the keyboard in the list
    } catch (error) {
      if (error?.name === 'AbortError') return;
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

  function pager() {
    if (!state.cursor) return replace(more);
    const button = h('button', { type: 'button', class: 'ghost', id: 'notifications-load-more', onclick: loadMore }, 'Load more');
    replace(more, button);
  }

  async function fetchPage(cursor) {
    return api.get('/api/v1/notifications', { limit: PAGE, cursor, unread: unreadOnly ? 'true' : undefined }, { signal });
  }

  async function loadMore(event) {
    const button = event.currentTarget;
    button.disabled = true;
    button.textContent = 'Loading…';
    try {
      const page = await fetchPage(state.cursor);
      const before = list.childElementCount;
      state.cursor = page.next_cursor;
      state.unread = page.unread_count;
      append(page.notifications);
      showUnread();
      pager();
      // Put the keyboard on the first new item rather than losing it with the button.
      const first = list.children[before];
      if (first) first.focus();
      else more.querySelector('button')?.focus();
    } catch (error) {
      if (error?.name === 'AbortError') return;
      button.disabled = false;
      button.textContent = 'Load more';
      replace(more, button, failure(error));
    }
  }

  async function firstPage() {
    replace(body, loading());
    replace(more);
    try {
      const page = await fetchPage(undefined);
      list.replaceChildren();
      state.ids.clear();
      state.cursor = page.next_cursor;
      state.unread = page.unread_count;
      append(page.notifications);
      showUnread();
      pager();
    } catch (error) {
      if (error?.name === 'AbortError') return;
      replace(body, failure(error), h('button', { type: 'button', class: 'ghost', onclick: firstPage }, 'Try again'));
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

  await firstPage();
}
