// Hash routes: #/overview, #/agents, #/tasks, #/tasks/<id>, #/dead-letter, #/alerts.
export const ROUTES = ['overview', 'agents', 'tasks', 'dead-letter', 'alerts'];

export function parseRoute(hash = location.hash) {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'tasks' && parts[1]) return { view: 'task', id: parts[1] };
  if (ROUTES.includes(parts[0])) return { view: parts[0] };
  return { view: 'overview' };
}

export function onRoute(fn) {
  window.addEventListener('hashchange', () => fn(parseRoute()));
  fn(parseRoute());
}
