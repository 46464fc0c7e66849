// Client state, fed by the feed's frames and by REST answers. Views read it on each render.
// Counts of statuses the hub does not count (completed, cancelled) are "since this page synced".
const MAX_OUTPUT = 64 * 1024;
const MAX_RECENT = 200;

export function createStore() {
  const s = {
    agents: new Map(),
    stats: null,
    counts: {},
    /** Tasks seen on the feed or fetched, by id (bounded: most recent changes kept). */
    tasks: new Map(),
    /** Recent task changes, newest first: { task, event }. */
    recent: [],
    /** Live output of running tasks: id -> { generation, text }. */
    output: new Map(),
    alerts: new Map(),
    executorAlerts: [],
    storeHealthy: true,
    lastChange: null,
    version: 0,
  };

  /**
   * A REST list of alerts (`state=all`: open ones first, then the newest history) replaces what the
   * store had, so one cleared while the page was away does not linger; a feed frame newer than the
   * answer (an ack that raced the request) is kept.
   */
  s.setAlerts = (list) => {
    const changedAt = (a) => Math.max(a.last_fired_at, a.acked_at ?? 0, a.cleared_at ?? 0);
    const next = new Map();
    for (const a of list) {
      const cur = s.alerts.get(a.id);
      next.set(a.id, cur && changedAt(cur) > changedAt(a) ? cur : a);
    }
    s.alerts = next;
    s.version++;
  };

  s.apply = (f) => {
    s.version++;
    switch (f.type) {
      case 'hello':
        // A snapshot: the state of the world now, whatever was missed while disconnected.
        s.agents = new Map(f.agents.map((a) => [a.id, a]));
        s.stats = { ...f.stats, queued: { ...f.stats.queued } };
        s.counts = { ...f.stats.byStatus };
        // Changes these counts already hold, whose frames are still to come: not counted twice.
        s.counted = new Set(f.counted ?? []);
        return;
      case 'task.changed': {
        const { task, event } = f;
        s.tasks.set(task.id, task);
        if (s.tasks.size > 5000) s.tasks.delete(s.tasks.keys().next().value);
        const inSnapshot = s.counted?.delete(event.id) ?? false;
        if (!inSnapshot && event.from && s.counts[event.from] !== undefined) s.counts[event.from] = Math.max(0, s.counts[event.from] - 1);
        if (!inSnapshot) s.counts[event.to] = (s.counts[event.to] ?? 0) + 1;
        // Queued by lane follows too (a task keeps its lane while queued).
        if (s.stats && !inSnapshot) {
          const lanes = s.stats.queued;
          if (event.from === 'queued' && event.to !== 'queued') lanes[task.lane] = Math.max(0, (lanes[task.lane] ?? 0) - 1);
          if (event.to === 'queued' && event.from !== 'queued') lanes[task.lane] = (lanes[task.lane] ?? 0) + 1;
        }
        s.recent.unshift(f);
        if (s.recent.length > MAX_RECENT) s.recent.length = MAX_RECENT;
        s.lastChange = { id: task.id, at: event.at, to: event.to, event: event.id };
        return;
      }
      case 'agent.changed':
        s.agents.set(f.agent.id, f.agent);
        return;
      case 'task.progress': {
        const cur = s.output.get(f.task_id);
        const text = (cur && cur.generation === f.generation ? cur.text : '') + f.data.map((d) => d.data).join('');
        s.output.set(f.task_id, { generation: f.generation, text: text.length > MAX_OUTPUT ? text.slice(-MAX_OUTPUT) : text });
        return;
      }
      case 'alert.changed':
        s.alerts.set(f.alert.id, f.alert);
        return;
      case 'alert':
        s.executorAlerts.unshift(f.alert);
        s.executorAlerts.length = Math.min(s.executorAlerts.length, 50);
        return;
      case 'store.health':
        s.storeHealthy = f.healthy;
        return;
      default:
        // A frame from a newer hub: ignored.
    }
  };
  return s;
}
