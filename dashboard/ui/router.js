// Hash routes: #/overview, #/agents, #/agents/<id>, #/tasks, #/tasks/<id>, #/dead-letter, #/alerts.
// Alerts link here as '/#/...' (shared/alerts.ts `url`); ids are URI-encoded in the hash.
export const ROUTES = ['overview', 'agents', 'tasks', 'dead-letter', 'alerts'];

export function parseRoute(hash = location.hash) {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'tasks' && parts[1]) return { view: 'task', id: parts[1] };
  // An agent has no page of its own: the Agents view, scrolled to its card and highlighting it.
  if (parts[0] === 'agents' && parts[1]) return { view: 'agents', id: parts[1] };
  if (ROUTES.includes(parts[0])) return { view: parts[0] };
  return { view: 'overview' };
}

export function onRoute(fn) {
  window.addEventListener('hashchange', () => fn(parseRoute()));
  fn(parseRoute());
}
