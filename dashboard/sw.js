// The dashboard's service worker: shows the hub's push notifications and, on a click, brings the
// operator to the page the alert names (docs/push.md). Served at /sw.js so that its scope is the
// whole dashboard. A classic script (module service workers are not in every browser), so the
// helpers below are plain functions of the worker's global scope.
//
// The payload (encrypted by the hub, decrypted by the browser) is JSON:
// { title, body, url, tag, alert_id } (hub/push/notification.ts).

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

/** The notification a push message asks for; a message that is not our JSON still says something. */
function notificationOf(data) {
  let p = null;
  try {
    p = data ? data.json() : null;
  } catch {
    p = null;
  }
  if (!p || typeof p !== 'object') {
    let text = '';
    try {
      text = data ? data.text() : '';
    } catch {
      text = '';
    }
    return { title: 'Switchyard', options: { body: text || 'Something needs your attention.', tag: 'switchyard', data: { url: '/', alert_id: null } } };
  }
  const tagged = typeof p.tag === 'string' && p.tag !== '';
  return {
    title: typeof p.title === 'string' && p.title ? p.title : 'Switchyard',
    options: {
      body: typeof p.body === 'string' ? p.body : '',
      // One tag per alert: a repeat replaces the notification instead of stacking another, and
      // `renotify` makes the repeat ring again.
      tag: tagged ? p.tag : 'switchyard',
      renotify: tagged,
      data: { url: sameOriginPath(p.url), alert_id: typeof p.alert_id === 'string' ? p.alert_id : null },
    },
  };
}

/** Only a path on this dashboard is opened: a payload cannot send the operator to another site. */
function sameOriginPath(url) {
  if (typeof url !== 'string' || !url.startsWith('/') || url.startsWith('//') || url.startsWith('/\\')) return '/';
  return url;
}

/** The absolute URL a click on `notification` opens. */
function clickTarget(notification) {
  return new URL(sameOriginPath(notification && notification.data && notification.data.url), self.location.origin).href;
}

self.addEventListener('push', (event) => {
  const { title, options } = notificationOf(event.data);
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(openOrFocus(clickTarget(event.notification)));
});

/**
 * An open dashboard window is told where to go (the dashboard routes by its hash, so a message
 * keeps its session and socket, where navigate() would reload it) and focused; with none open,
 * a new window opens at the page.
 */
async function openOrFocus(target) {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const open = windows.find((c) => new URL(c.url).origin === self.location.origin);
  if (!open) return self.clients.openWindow(target);
  open.postMessage({ type: 'switchyard.navigate', url: target });
  try {
    return await open.focus();
  } catch {
    // Focus is only allowed while handling a real click; the window has its message anyway.
    return open;
  }
}
