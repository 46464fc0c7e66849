// Push notifications in the dashboard: subscribe this browser to the hub's alerts, choose which,
// unsubscribe (docs/push.md). The DASHBOARD's Notifications section calls these with its `api`
// helper: api(path, init?) adds the bearer token and returns parsed JSON.
//
//   pushState(api)          -> { supported, permission, subscribed, id, kinds, reason? }
//   subscribe(api, kinds)   -> { id }           kinds: alert rules or severities; [] = every alert
//   unsubscribe(api)        -> { unsubscribed }
//
// Importing this module also follows notification clicks: the service worker (/sw.js) tells an
// open dashboard window which page the alert names ({type: 'switchyard.navigate', url}).

const SW_URL = '/sw.js';
const KINDS_KEY = 'switchyard.push.kinds';

/** Why push cannot work here, or null. */
function unsupported() {
  if (typeof window === 'undefined' || !('serviceWorker' in navigator)) return 'this browser has no service workers';
  if (!window.isSecureContext) return 'push needs a secure page: open the dashboard over https, or on localhost';
  if (!('PushManager' in window)) return 'this browser has no push support';
  if (!('Notification' in window)) return 'this browser cannot show notifications';
  return null;
}

async function registration() {
  return (await navigator.serviceWorker.getRegistration('/')) ?? navigator.serviceWorker.register(SW_URL, { scope: '/' });
}

/** The hub's id for an endpoint: the first 16 hex digits of its SHA-256 (hub/store/push-store.ts). */
async function idOf(endpoint) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(endpoint));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('').slice(0, 16);
}

function keyBytes(base64url) {
  const b64 = base64url.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(base64url.length / 4) * 4, '=');
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function storedKinds() {
  try {
    const v = JSON.parse(localStorage.getItem(KINDS_KEY) ?? '[]');
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

export async function pushState(api) {
  const reason = unsupported();
  if (reason) return { supported: false, permission: 'default', subscribed: false, id: null, kinds: [], reason };
  const reg = await navigator.serviceWorker.getRegistration('/');
  const sub = reg ? await reg.pushManager.getSubscription() : null;
  if (!sub) return { supported: true, permission: Notification.permission, subscribed: false, id: null, kinds: storedKinds() };
  const id = await idOf(sub.endpoint);
  // The hub is the truth: a subscription it pruned (410) or an operator removed is not "on".
  const { subscriptions } = await api('/v1/push/subscriptions');
  const mine = subscriptions.find((s) => s.id === id);
  return { supported: true, permission: Notification.permission, subscribed: Boolean(mine), id, kinds: mine ? mine.kinds : storedKinds() };
}

export async function subscribe(api, kinds = []) {
  const reason = unsupported();
  if (reason) throw new Error(reason);
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') throw new Error('notifications are blocked for this site: allow them in the browser settings, then try again');
  const reg = await registration();
  await navigator.serviceWorker.ready;
  const { public_key } = await api('/v1/push/key');
  let sub = await reg.pushManager.getSubscription();
  // Subscribed with another key (the hub's key file was replaced): that subscription is dead.
  if (sub && sub.options.applicationServerKey && !sameKey(sub.options.applicationServerKey, keyBytes(public_key))) {
    await sub.unsubscribe();
    sub = null;
  }
  sub ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(public_key) });
  const json = sub.toJSON();
  const body = { subscription: { endpoint: json.endpoint, keys: { p256dh: json.keys.p256dh, auth: json.keys.auth } }, kinds, label: deviceLabel() };
  const out = await api('/v1/push/subscriptions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  localStorage.setItem(KINDS_KEY, JSON.stringify(kinds));
  return { id: out.id };
}

export async function unsubscribe(api) {
  if (unsupported()) return { unsubscribed: false };
  const reg = await navigator.serviceWorker.getRegistration('/');
  const sub = reg ? await reg.pushManager.getSubscription() : null;
  if (!sub) return { unsubscribed: false };
  const id = await idOf(sub.endpoint);
  try {
    await api(`/v1/push/subscriptions/${id}`, { method: 'DELETE' });
  } catch (err) {
    // Already gone at the hub (pruned, removed elsewhere): the browser side still goes.
    if (!/NOT_FOUND|404/.test(String(err && (err.code ?? err.message)))) throw err;
  }
  await sub.unsubscribe();
  return { unsubscribed: true };
}

function sameKey(buffer, bytes) {
  const a = new Uint8Array(buffer);
  return a.length === bytes.length && a.every((v, i) => v === bytes[i]);
}

function deviceLabel() {
  const ua = navigator.userAgent;
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac OS X/.test(ua) ? 'macOS' : /Windows/.test(ua) ? 'Windows' : /Linux/.test(ua) ? 'Linux' : 'browser';
  const browser = /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrome\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'browser';
  return `${browser} on ${os}`;
}

/** Follows the service worker's "go to this page" after a notification click (same origin only). */
if (typeof navigator !== 'undefined' && 'serviceWorker' in navigator) {
  navigator.serviceWorker.addEventListener('message', (event) => {
    const m = event.data;
    if (!m || m.type !== 'switchyard.navigate' || typeof m.url !== 'string') return;
    const url = new URL(m.url, location.href);
    if (url.origin === location.origin) location.assign(url.href);
  });
}
