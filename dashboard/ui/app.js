// The dashboard's entry: sign-in, the feed, the router, and the current view.
import { api, ApiError, token, whenUnauthorized } from './api.js';
import { connectFeed } from './feed.js';
import { scheduleRender, setRenderer } from './render.js';
import { onRoute, parseRoute } from './router.js';
import { createStore } from './store.js';

const VIEWS = {
  overview: () => import('./views/overview.js'),
  agents: () => import('./views/agents.js'),
  tasks: () => import('./views/tasks.js'),
  task: () => import('./views/task.js'),
  'dead-letter': () => import('./views/dead-letter.js'),
  alerts: () => import('./views/alerts.js'),
};

const $ = (id) => document.getElementById(id);
let store = createStore();
let feed = null;
let current = null;
let routeSeq = 0;
let routed = false;

function showSignIn(message = '') {
  feed?.close();
  feed = null;
  current?.unmount?.();
  current = null;
  store = createStore();
  $('view').replaceChildren();
  $('nav').hidden = true;
  $('sign-out').hidden = true;
  $('conn').textContent = '';
  $('sign-in').hidden = false;
  $('sign-in-error').textContent = message;
  $('token').focus();
}

async function signedIn() {
  $('sign-in').hidden = true;
  $('nav').hidden = false;
  $('sign-out').hidden = false;
  feed = connectFeed({
    token: token.get(),
    onFrame: (f) => { store.apply(f); scheduleRender(); },
    onState: (state, delay) => {
      $('conn').textContent = state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting…' : `Reconnecting in ${Math.ceil(delay / 1000)} s…`;
      document.body.dataset.feed = state;
    },
    // After a reconnect the hello resets the store; the view refetches what it lists.
    onOpen: () => current?.refresh?.(),
    onRefused: () => checkToken(),
  });
  if (routed) show(parseRoute());
  else { routed = true; onRoute(show); }
}

async function checkToken() {
  try {
    await api('/v1/tasks?limit=1');
    return true;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      token.clear();
      showSignIn(err.status === 401 ? 'The hub refused that token.' : 'That token may not read the fleet (an admin token is needed).');
    }
    return false;
  }
}

async function show(route) {
  if (!token.get()) return;
  const seq = ++routeSeq;
  const mod = await VIEWS[route.view]();
  if (seq !== routeSeq) return;
  current?.unmount?.();
  // Each mount gets an element of its own: the listeners a view puts on it go with it, so a view opened
  // twice does not answer one click twice (a leftover "Retry selected" handler once retried a task twice).
  const el = document.createElement('div');
  $('view').replaceChildren(el);
  for (const a of document.querySelectorAll('#nav a')) {
    const target = a.getAttribute('href').slice(2);
    if (target === route.view || (route.view === 'task' && target === 'tasks')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  current = mod.mount(el, { api, store: () => store, route, rerender: scheduleRender });
  document.title = `${mod.title?.(route) ?? route.view} — Switchyard`;
  current.refresh?.();
  scheduleRender();
}

setRenderer(() => current?.render?.());
whenUnauthorized(() => { token.clear(); showSignIn('The hub refused the token; sign in again.'); });

$('sign-in-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const value = $('token').value.trim();
  if (!value) return;
  token.set(value);
  $('token').value = '';
  if (await checkToken()) signedIn();
});
$('sign-out').addEventListener('click', () => { token.clear(); showSignIn(); });

if (token.get()) checkToken().then((ok) => ok && signedIn());
else showSignIn();
