// Settings: one panel per concern (profile, Discord, coding keys, webhooks, sources, tokens, GitHub accounts, your data),
// each reachable by its hash. Secrets the API shows once are shown once here too, in a .secret box.

import { h, replace, empty, fill } from '../dom.js';
import { ago, count, instant } from '../format.js';
import { dataPanel } from './settings-data.js';
import {
  since, words, cells, tag, hint, note, status, val, picked, field, input, options, say, checks, button, confirmed, form, snippet, secret,
  collection, row, log,
} from './settings-parts.js';

export const title = 'Settings';
export const signIn = 'required';

const EVENTS = {
  'goal.completed': 'Goal completed', 'goal.deadline_near': 'Goal deadline near', 'achievement.unlocked': 'Achievement unlocked',
  'streak.milestone': 'Streak milestone', 'streak.at_risk': 'Streak at risk', 'daily.summary': 'Daily summary',
  'weekly.summary': 'Weekly summary', 'account.reauth_needed': 'GitHub account needs reconnecting',
  'goal.created': 'Goal created', 'metrics.updated': 'New activity counted', test: 'Test',
};
// Discord gets the notification types only: the last three are webhook-only.
const DISCORD = Object.keys(EVENTS).slice(0, 8);
const SECTIONS = { summary: 'Summary (stats card, badges)', streak: 'Streak (streak card)', achievements: 'Achievements',
  languages: 'Languages (languages card)', repositories: 'Repositories (public ones only)', coding: 'Coding time by language' };
const PANELS = { profile: 'Profile', discord: 'Discord', 'coding-keys': 'Coding keys', webhooks: 'Webhooks', sources: 'Sources',
  tokens: 'API tokens', accounts: 'GitHub accounts', data: 'Your data' };

export async function render({ root, me, api, signal, signOut }) {
  const get = (path, query) => api.get(path, query, { signal });
  // Times read in the user's zone, as it is now (a saved profile may change it).
  const when = iso => instant(iso, me.timezone);
  const day = iso => instant(iso, me.timezone, { dateStyle: 'medium' });
  const login = encodeURIComponent(me.login);
  const state = {};
  const patch = async body => { state.settings = await api.patch('/api/v1/settings', body); };
  const settingsLoad = get('/api/v1/settings').then(settings => { state.settings = settings; });
  // Where plugins and senders reach the ingest server: the page's <meta>, else a source's URL, else the user types it.
  const meta = document.querySelector('meta[name="devtrack-ingest-url"]')?.content ?? '';
  const ingest = { base: /^https?:\/\//.test(meta) ? meta.replace(/\/+$/, '') : '', listeners: [] };
  const learnIngest = sources => {
    const found = sources.map(source => /^(.*)\/webhooks\/(github|custom)\/[^/]+$/.exec(source.url)?.[1]).find(Boolean);
    if (ingest.base || !found) return;
    ingest.base = found;
    ingest.listeners.forEach(listener => listener());
  };
  const rotate = (path, out, shown) => button('Rotate secret', out, async () => replace(shown, secret('New secret',
    (await api.post(`${path}/rotate-secret`)).secret, hint('The old one stays valid beside it for a grace period (24 hours by default).'))));
  const del = (label, out, path, refresh) => confirmed(label, out, async () => { await api.delete(path); refresh(); });

  // ---- Profile
  const snippets = h('div', { id: 'profile-snippets', 'aria-live': 'polite' });
  const drawSnippets = () => {
    const { is_public: open, profile_sections: shown } = state.settings;
    if (!open) return replace(snippets, empty('Your profile is private. Make it public for a profile page, README cards and badges.'));
    const base = `${location.origin}/api/v1/public/${login}`;
    const page = `${location.origin}/u/${login}`;
    const has = name => shown.includes(name);
    const card = (name, file) => snippet(`${name} card`, `[![${name}](${base}/cards/${file}.svg)](${page})`);
    const badges = [has('summary') && `![Commits](${base}/badges/commits.svg)`, has('summary') && `![Coding time](${base}/badges/coding_time.svg)`,
      has('streak') && `![Streak](${base}/badges/current_streak.svg)`].filter(Boolean);
    replace(snippets, h('h3', null, 'For your README'),
      hint('Cards take ', h('code', null, '?theme=dark'), ' (or radical, tokyonight, gruvbox, highcontrast).'), snippet('Profile page', page),
      has('streak') && card('Streak', 'streak'), has('summary') && card('Stats', 'stats'), has('languages') && card('Top languages', 'languages'),
      badges.length ? snippet('Badges', badges.join(' ')) : null,
      has('streak') ? h('figure', null, h('img', { src: `/api/v1/public/${login}/cards/streak.svg`, alt: 'Your streak card' }),
        h('figcaption', { class: 'hint' }, 'Preview (cards are cached for a minute)')) : hint('Show the streak section for a streak card.'));
  };
  const profileForm = () => {
    const settings = state.settings;
    const zones = Intl.supportedValuesOf?.('timeZone') ?? [];
    if (!zones.includes('UTC')) zones.unshift('UTC');
    const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const zone = input('timezone', { id: 'timezone', list: 'timezones', value: settings.timezone, spellcheck: 'false' });
    const saved = note();
    const box = (name, label) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name, checked: settings[name] }), label);
    drawSnippets();
    return [form([
      field('Time zone', zone, 'Days, streaks and goals follow it; a new zone re-counts your history in it.'),
      h('datalist', { id: 'timezones' }, zones.map(name => h('option', { value: name }))),
      h('div', null, h('button', { type: 'button', class: 'ghost', onclick: () => { zone.value = browserZone; zone.focus(); } },
        `Use this browser’s zone (${browserZone})`)),
      field('Display name', input('display_name', { value: settings.display_name ?? '', placeholder: me.login }),
        'Public pages and cards show it instead of your login.'),
      field('Bio', h('textarea', { name: 'bio', rows: 3 }, settings.bio ?? '')),
      box('is_public', 'Public profile: anyone may see my profile page, cards and badges'),
      box('leaderboard_opt_in', 'List me on the leaderboard (needs a public profile)'),
      checks('The public profile shows', 'profile_sections', SECTIONS, settings.profile_sections), saved,
    ], 'Save profile', async element => {
      const text = name => val(element, name) || null;
      const body = { display_name: text('display_name'), bio: text('bio'), is_public: element.elements.is_public.checked,
        leaderboard_opt_in: element.elements.leaderboard_opt_in.checked, profile_sections: picked(element, 'profile_sections') };
      // Only a changed zone is sent: a new one re-buckets the whole history.
      const moved = val(element, 'timezone') !== state.settings.timezone;
      if (moved) body.timezone = val(element, 'timezone');
      say(saved, 'Saving…');
      await patch(body);
      me.timezone = state.settings.timezone; // the shell's user: other pages take "today" from it
      say(saved, moved ? `Saved: your history is now counted in ${me.timezone}.` : 'Saved.', 'ok');
      drawSnippets();
    }, { id: 'save-profile' }), snippets];
  };

  // ---- Discord
  const discordForm = () => {
    const standing = status();
    const out = note();
    const test = note();
    const draw = () => {
      const s = state.settings;
      replace(standing, hint(s.discord_webhook_url ? ['Sending to ', h('code', { class: 'snippet' }, s.discord_webhook_url)] : 'No webhook set.'),
        s.discord_disabled_reason && h('p', { class: 'error' }, `Stopped: ${s.discord_disabled_reason}. Set the URL again to resume.`),
        Date.parse(s.discord_muted_until) > Date.now() && h('div', { class: 'row' }, `Muted until ${when(s.discord_muted_until)}.`,
          button('Unmute', out, async () => { await patch({ discord_muted_until: null }); draw(); })));
    };
    draw();
    return [standing, form([
      field('Webhook URL', input('discord_webhook_url', { type: 'url', placeholder: 'https://discord.com/api/webhooks/…' }),
        'Discord: channel settings → Integrations → Webhooks. Empty keeps the current one.'),
      checks('Send to Discord', 'discord_sent', Object.fromEntries(DISCORD.map(type => [type, EVENTS[type]])),
        DISCORD.filter(type => !state.settings.discord_opt_outs.includes(type))),
      field('Mute', h('select', { name: 'discord_muted_until' },
        options([['', 'Don’t change'], ['1', 'For an hour'], ['8', 'For 8 hours'], ['24', 'For a day'], ['168', 'For a week']]))),
    ], 'Save Discord settings', async element => {
      // The boxes say what is sent; the API keeps what is not.
      const sent = picked(element, 'discord_sent');
      const body = { discord_opt_outs: DISCORD.filter(type => !sent.includes(type)) };
      const hours = Number(val(element, 'discord_muted_until'));
      if (val(element, 'discord_webhook_url')) body.discord_webhook_url = val(element, 'discord_webhook_url');
      if (hours) body.discord_muted_until = new Date(Date.now() + hours * 3_600_000).toISOString();
      await patch(body);
      element.elements.discord_webhook_url.value = element.elements.discord_muted_until.value = '';
      draw();
      say(out, 'Saved.', 'ok');
    }), out, h('div', { class: 'row' },
      button('Send test', test, async () => {
        say(test, 'Sending…');
        const r = await api.post('/api/v1/settings/discord/test');
        const why = r.status_code === 404 ? 'Discord says this webhook is gone, so the hub stopped using it'
          : [r.status_code && `Discord answered ${r.status_code}`, r.error].filter(Boolean).join(': ') || 'no answer';
        say(test, r.delivered ? `Delivered in ${r.latency_ms} ms.` : `Not delivered: ${why}.`, r.delivered ? 'ok' : 'error');
        if (r.status_code === 404) { state.settings = await get('/api/v1/settings'); draw(); }
      }),
      confirmed('Remove webhook', out, async () => { await patch({ discord_webhook_url: null }); draw(); say(out, 'Removed.', 'ok'); })), test];
  };

  // ---- Coding keys
  const ingestField = input('ingest', { type: 'url', placeholder: 'https://ingest.example' });
  const ingestNote = h('div');
  const apiUrl = () => `${ingest.base || ingestField.value.trim().replace(/\/+$/, '') || 'https://YOUR-INGEST-HOST'}/api/compat/wakatime/v1`;
  const drawIngest = () => replace(ingestNote, ingest.base ? hint('Plugins send to ', h('code', null, apiUrl()), '.')
    : field('Your hub’s ingest URL', ingestField, 'Where editors reach the hub’s ingest server; it fills in the lines below.'));
  ingest.listeners.push(drawIngest);
  drawIngest();
  // The ~/.wakatime.cfg lines of the key shown last, kept up to date with the ingest URL (one listener for all keys).
  const shownKey = { key: null, code: null };
  const drawConfig = () => {
    if (shownKey.code) shownKey.code.textContent = `[settings]\napi_url = ${apiUrl()}\napi_key = ${shownKey.key}`;
  };
  ingestField.addEventListener('input', drawConfig);
  ingest.listeners.push(drawConfig);
  const keyShown = status();
  const keys = collection(async () => (await get('/api/v1/coding/keys')).keys, (key, refresh) => {
    const out = note();
    return row({ keyId: key.id }, key.name, [h('code', null, key.hint)], del('Delete', out, `/api/v1/coding/keys/${key.id}`, refresh),
      hint(`Created ${ago(key.created_at)} · last used ${since(key.last_used_at)}`), out);
  }, 'No coding keys yet. Create one per machine and give it to your editor’s WakaTime plugin.');
  const keyForm = form([field('Name', input('name', { placeholder: 'laptop' }))], 'Create key', async element => {
    const key = await api.post('/api/v1/coding/keys', { name: val(element, 'name') });
    element.reset();
    const cfg = snippet(['Paste into ', h('code', null, '~/.wakatime.cfg'), ':'], '');
    Object.assign(shownKey, { key: key.key, code: cfg.code });
    drawConfig();
    replace(keyShown, secret(`Coding key “${key.name}”`, key.key, cfg));
    keys.refresh();
  }, { cls: 'inline' });

  // ---- Outbound webhooks
  const hookShown = status();
  const hooks = collection(async () => (await get('/api/v1/webhooks')).webhooks, (hook, refresh) => {
    const out = note();
    const shown = status();
    const path = `/api/v1/webhooks/${hook.id}`;
    const deliveries = log(['When', 'Event', 'Status', 'Attempts', 'Last answer', ''],
      async () => (await get(`${path}/deliveries`, { limit: 20 })).deliveries, d => h('tr', { dataset: { deliveryId: d.id, status: d.status } },
        cells(ago(d.created_at), EVENTS[d.event] ?? d.event, words(d.status), d.attempt_count,
          [d.response_code ?? '—', d.latency_ms == null ? '' : `, ${d.latency_ms} ms`, d.error && h('div', { class: 'field-error' }, d.error)],
          (d.status === 'failed' || d.status === 'dropped') && button('Retry', out, async () => {
            await api.post(`${path}/deliveries/${d.id}/retry`);
            say(out, 'Sent again: pending.', 'ok');
            deliveries.reload();
          }))));
    return row({ webhookId: hook.id }, hook.name, [!hook.enabled && tag('disabled', 'warn')], [
      button('Send test', out, async () => {
        const r = await api.post(`${path}/test`);
        say(out, r.delivery_id ? 'Test queued: see the delivery log.' : 'Nothing was queued.', r.delivery_id ? 'ok' : 'error');
        deliveries.reload();
      }),
      rotate(path, out, shown),
      del('Delete', out, path, refresh)],
    h('code', { class: 'snippet' }, hook.url), hook.disabled_reason && h('p', { class: 'field-error' }, hook.disabled_reason),
    hint(hook.events.map(type => EVENTS[type] ?? type).join(' · ')), out, shown, deliveries);
  }, 'No webhooks yet. Add an https endpoint to receive events as signed POSTs.');
  const hookForm = form([field('Name', input('name', { placeholder: 'My bot' })),
    field('URL', input('url', { type: 'url', placeholder: 'https://example.com/devtrack' })),
    checks('Events', 'events', EVENTS, ['goal.completed', 'achievement.unlocked', 'streak.milestone', 'test']),
  ], 'Add webhook', async element => {
    const hook = await api.post('/api/v1/webhooks', { name: val(element, 'name'), url: val(element, 'url'), events: picked(element, 'events') });
    element.elements.name.value = element.elements.url.value = '';
    replace(hookShown, secret(`Signing secret of “${hook.name}”`, hook.secret, hint('Deliveries are signed with Standard Webhooks.')));
    hooks.refresh();
  });

  // ---- Inbound sources
  const sourceShown = status();
  const instructions = ({ kind, url }) => (kind === 'github'
    ? [hint('In GitHub: the repository’s (or organization’s) Settings → Webhooks → Add webhook.'), snippet('Payload URL', url, true),
      hint('Content type: ', h('code', null, 'application/json'), '. Secret: the one above. Events: “Send me everything”.')]
    : [snippet('POST events to', url, true), hint('Sign them with Standard Webhooks or X-Hub-Signature-256 (see “Custom sources” in '
      + 'docs/http-api.md). GitLab: give the secret as the webhook’s Secret token.')]);
  const sources = collection(async () => {
    const { sources: list } = await get('/api/v1/sources');
    learnIngest(list);
    return list;
  }, function item(source, refresh) {
    const out = note();
    const shown = status();
    const path = `/api/v1/sources/${source.id}`;
    const deliveries = log(['Received', 'Status', 'Facts', 'Bytes', 'Signature', 'Error'],
      async () => (await get(`${path}/deliveries`, { limit: 20 })).deliveries,
      d => h('tr', { dataset: { deliveryId: d.delivery_id, status: d.status } },
        cells(ago(d.received_at), words(d.status), d.facts, d.bytes == null ? '' : count(d.bytes), d.signature, d.error)));
    const li = row({ sourceId: source.id }, source.name || 'Unnamed source', [tag(source.kind === 'github' ? 'GitHub' : 'custom'),
      source.mapping && tag('mapped'), !source.enabled && tag('disabled', 'warn')], [
      source.kind === 'custom' && button('Send test', out, async () => {
        say(out, 'Sending…');
        const r = await api.post(`${path}/test`);
        say(out, r.status_code == null ? `Ingest could not be reached: ${r.error ?? 'no answer'}.`
          : `Ingest answered ${r.status_code} in ${r.latency_ms} ms${r.response ? `: ${r.response.slice(0, 200)}` : '.'}`,
        r.status_code >= 200 && r.status_code < 300 ? 'ok' : 'error');
        deliveries.reload();
      }),
      rotate(path, out, shown),
      button(source.enabled ? 'Disable' : 'Enable', out, async () => {
        li.replaceWith(item(await api.patch(path, { enabled: !source.enabled }), refresh));
      }),
      del('Delete', out, path, refresh)],
    snippet('Ingest URL', source.url, true),
    hint(`Created ${ago(source.created_at)}${source.rotated_at ? ` · secret rotated ${ago(source.rotated_at)}` : ''}`), out, shown, deliveries);
    return li;
  }, 'No sources yet. Add a GitHub webhook, or a custom source for CI, GitLab or any system.');
  const preset = field('Payload format', h('select', { name: 'preset' }, options([['', 'Native DevTrack events'],
    ['gitlab-push', 'GitLab push'], ['gitlab-merge-request', 'GitLab merge request'], ['ci-pipeline', 'CI pipeline']])));
  preset.hidden = true;
  const sourceForm = form([
    field('Kind', h('select', { name: 'kind', onchange: event => { preset.hidden = event.target.value !== 'custom'; } },
      options([['github', 'GitHub webhook'], ['custom', 'Custom: CI, GitLab, any system']]))),
    field('Name', input('name', { placeholder: 'acme/api' })), preset,
  ], 'Add source', async element => {
    const body = { kind: val(element, 'kind'), name: val(element, 'name') };
    if (body.kind === 'custom' && val(element, 'preset')) body.preset = val(element, 'preset');
    const source = await api.post('/api/v1/sources', body);
    element.elements.name.value = '';
    replace(sourceShown, secret(`Secret of “${source.name || 'the new source'}”`, source.secret, instructions(source)));
    sources.refresh();
  });

  // ---- API tokens
  const tokenShown = status();
  const tokens = collection(async () => (await get('/api/v1/tokens')).tokens, (token, refresh) => {
    const out = note();
    const expiry = token.expires_at ? `${token.expired ? 'expired' : 'expires'} ${when(token.expires_at)}` : 'never expires';
    return row({ tokenId: token.id }, token.name, [token.expired && tag('expired', 'warn')],
      del('Revoke', out, `/api/v1/tokens/${token.id}`, refresh),
      hint(`Created ${ago(token.created_at)} · last used ${since(token.last_used_at)} · ${expiry}`), out);
  }, 'No API tokens. Create one for a script or another system.');
  const tokenForm = form([field('Name', input('name', { placeholder: 'backup script' })),
    field('Expires in days', input('expires_in_days', { type: 'number', min: 1, max: 3650 }), 'Empty: never.'),
  ], 'Create token', async element => {
    const days = element.elements.expires_in_days;
    // A number field reads '' for text that is no number: say so rather than make a token that never expires.
    if (days.validity.badInput) throw Object.assign(new Error('expires_in_days must be a whole number'), { code: 'invalid_expires_in_days' });
    const token = await api.post('/api/v1/tokens', { name: val(element, 'name'), expires_in_days: days.value ? Number(days.value) : null });
    element.reset();
    replace(tokenShown, secret(`API token “${token.name}”`, token.token, hint('Send it as ', h('code', null, 'Authorization: Bearer …'), '.')));
    tokens.refresh();
  }, { cls: 'inline' });

  // ---- GitHub accounts
  const canLink = document.querySelector('meta[name="devtrack-sign-in"]')?.content === 'github';
  const back = `return_to=${encodeURIComponent('/settings#accounts')}`;
  const syncText = s => {
    const p = s.progress;
    const line = {
      running: `Syncing now${p ? `: ${words(p.step)}, ${p.repositories_done} of ${p.repositories_total} repositories` : ''}.`,
      waiting: `Paused until ${when(s.next_run_at)}.`,
      idle: `Up to date${s.next_run_at ? `; next sync ${when(s.next_run_at)}` : ''}.`,
      needs_reauth: 'GitHub refused the token: reconnect this account to sync it.',
      no_token: 'Not synced: the hub has no GitHub token for this account yet.',
    }[s.state] ?? s.state;
    return [hint(line, s.covered ? ` History read: ${day(s.covered.from)} – ${day(s.covered.to)}.` : '',
      ` ${count(s.facts_total)} contributions from ${count(s.requests_total)} requests; last finished ${since(s.last_success_at)}.`),
    s.last_error && h('p', { class: 'field-error' }, s.last_error)];
  };
  const accounts = collection(async () => (await get('/api/v1/accounts')).accounts, (account, refresh) => {
    const out = note();
    const sync = status();
    fill(sync, async () => syncText(await get(`/api/v1/accounts/${account.id}/sync`)));
    return row({ accountId: account.id }, account.login, [account.primary && tag('sign-up account'),
      account.status !== 'active' && tag(account.status === 'needs_reauth' ? 'needs reconnecting' : 'no token', 'warn')],
    account.primary ? null : del('Unlink', out, `/api/v1/accounts/${account.id}`, refresh),
    hint(`Linked ${day(account.linked_at)}`, account.scopes.length ? ` · scopes: ${account.scopes.join(', ')}` : ''), sync,
    account.status === 'needs_reauth' && canLink && h('a', { href: `/auth/github?link=${!account.primary}&${back}` }, 'Reconnect'), out);
  }, 'No GitHub account is linked.');

  const reveal = hash => {
    const target = hash.length > 1 && document.getElementById(hash.slice(1));
    if (!target || !root.contains(target)) return;
    // The header is sticky: scroll the panel to just below it, then move focus to its heading.
    scrollTo({ top: target.getBoundingClientRect().top + scrollY - (document.querySelector('.topbar')?.offsetHeight ?? 0) - 8 });
    (target.querySelector('h2') ?? target).focus({ preventScroll: true });
  };
  const panel = (id, intro, ...children) => h('section', { class: 'panel', id, 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title`, tabindex: '-1' }, PANELS[id]), intro && hint(intro), ...children);
  const profileBody = h('div');
  const discordBody = h('div');

  replace(root,
    h('div', { class: 'spread' }, h('h1', null, 'Settings'),
      h('button', { type: 'button', class: 'ghost', id: 'settings-sign-out', onclick: () => signOut() }, 'Sign out')),
    // The shell leaves same-page #links to the browser, which would add a history entry per click and leave focus
    // where it was: these replace the hash instead and move focus to the panel's heading.
    h('nav', { class: 'toc', 'aria-label': 'Settings sections' }, h('ul', null, Object.entries(PANELS).map(([id, label]) => h('li', null,
      h('a', { href: `#${id}`, onclick: event => { event.preventDefault(); history.replaceState(null, '', `#${id}`); reveal(`#${id}`); } },
        label))))),
    panel('profile', null, profileBody),
    panel('discord', 'Notifications in a Discord channel, through its webhook.', discordBody),
    panel('coding-keys', 'Editors report coding time through any WakaTime plugin pointed at this hub.', ingestNote, keyForm, keyShown, keys.list),
    panel('webhooks', 'Your endpoints get a signed POST for each event they subscribe to.', hookForm, hookShown, hooks.list),
    panel('sources', 'Where activity comes in: GitHub webhooks and custom senders, each with its URL and secret.',
      sourceForm, sourceShown, sources.list),
    panel('tokens', 'For scripts and other systems calling the API.', tokenForm, tokenShown, tokens.list),
    panel('accounts', 'The activity of every linked account counts for you.', accounts.list,
      canLink ? h('a', { class: 'button ghost', href: `/auth/github?link=true&${back}` }, 'Link another GitHub account')
        : hint('Linking another account needs GitHub sign-in, which this hub has not set up.')),
    panel('data', 'Take a copy of everything the hub holds about you, or leave it.', dataPanel({ me, api, signal })));

  await Promise.all([
    fill(profileBody, async () => { await settingsLoad; return profileForm(); }),
    fill(discordBody, async () => { await settingsLoad; return discordForm(); }),
    keys.refresh(), hooks.refresh(), sources.refresh(), tokens.refresh(), accounts.refresh(),
  ]);
  if (!signal.aborted) reveal(location.hash);
}
