// Overview: tasks by status and lane, agents by state, the last hour's charts, hub health, active alerts.
import { ApiError, notAvailable } from '../api.js';
import { lineChart } from '../charts.js';
import { ago, html, safeUrl, set, statusTag, taskLink, time } from '../html.js';

export const title = () => 'Overview';
const STATUSES = ['pending', 'queued', 'assigned', 'running', 'blocked', 'review', 'failed', 'dead_letter', 'completed', 'cancelled'];
const LANES = ['urgent', 'high', 'normal', 'low'];
const AGENT_STATES = ['idle', 'assigned', 'working', 'blocked', 'offline'];

/** GET /v1/health (shared/rest.ts Health) as a definition list: status, store, degraded mode and why, backups, recovery, log. */
export function healthPanel(h) {
  const d = h.degraded;
  const b = h.backups;
  const last = b?.last;
  const backupLine = !b ? 'not kept by this hub'
    : !last ? html`none yet${b.running ? ' (one is running)' : ''}`
    : last.ok ? html`<span class="ok">ok</span> ${time(last.at)} (${ago(last.at)}, took ${last.took_ms} ms)`
    : html`<span class="error">failed</span> ${time(last.at)} (${ago(last.at)})${last.error ? html`: <code>${last.error.code}</code> ${last.error.message}` : ''}`;
  const r = h.recovery;
  return html`<dl class="kv" id="health-list">
    <dt>Status</dt><dd data-health="status" class="${h.status === 'ok' ? 'ok' : 'error'}">${h.status}</dd>
    <dt>Store</dt><dd data-health="store">${h.store === 'ok' ? 'ok (takes writes)' : 'failed'}</dd>
    <dt>Degraded mode</dt><dd data-health="degraded">${d
      ? html`<span class="error">since ${time(d.since)}: ${d.reason}</span> — ${d.message}${d.needs_ack ? ' (an operator ends it: POST /v1/health/ack, docs/operations.md)' : ' (ends by itself once writes succeed)'}`
      : 'no'}</dd>
    <dt>Last backup</dt><dd data-health="backup">${backupLine}</dd>
    ${b ? html`<dt>Next backup</dt><dd>${b.next_at ? time(b.next_at) : 'on demand only'}; ${b.kept} kept</dd>` : ''}
    ${r ? html`<dt>Recovery at start</dt><dd data-health="recovery"><span class="error">${r.action}</span>: ${r.problem}</dd>` : ''}
    <dt>Up</dt><dd>${Math.round(h.uptime_s / 60)} min</dd>
    <dt>Log lines dropped</dt><dd data-health="log">${h.log?.dropped ?? 0}</dd>
  </dl>`;
}

export function mount(el, { api, store }) {
  set(el, html`
    <h1>Overview</h1>
    <div class="grid">
      <section class="card" aria-labelledby="ov-tasks"><h2 id="ov-tasks">Tasks by status</h2><div id="ov-status"></div><p class="muted">Completed and cancelled: since the page last synced.</p></section>
      <section class="card" aria-labelledby="ov-lanes"><h2 id="ov-lanes">Queued by lane</h2><div id="ov-lane"></div></section>
      <section class="card" aria-labelledby="ov-agents"><h2 id="ov-agents">Agents by state</h2><div id="ov-agent"></div></section>
      <section class="card" aria-labelledby="ov-health"><h2 id="ov-health">Hub health</h2><div id="ov-health-body">Loading…</div></section>
    </div>
    <section aria-labelledby="ov-charts"><h2 id="ov-charts">Last hour</h2><div id="ov-charts-body" class="grid"></div></section>
    <section aria-labelledby="ov-alerts"><h2 id="ov-alerts">Active alerts</h2><div id="ov-alerts-body">Loading…</div></section>
    <section aria-labelledby="ov-recent"><h2 id="ov-recent">Recent changes</h2>
      <p id="last-change" class="muted">No change since this page opened.</p>
      <div class="table-wrap"><table class="stack"><thead><tr><th scope="col">Task</th><th scope="col">Change</th><th scope="col">When</th></tr></thead><tbody id="ov-recent-body"></tbody></table></div>
    </section>`);
  const q = (sel) => el.querySelector(sel);
  let charts = [];
  let timer = null;
  let alertsLoaded = false;

  const counts = (obj, keys) => html`<dl class="kv">${keys.map((k) => html`<dt>${k.replace('_', ' ')}</dt><dd data-count="${k}">${obj?.[k] ?? 0}</dd>`)}</dl>`;

  async function loadHealth() {
    let h;
    try {
      h = await api('/v1/health');
    } catch (err) {
      // Degraded answers 503 with the full report: show it, it is what the operator needs most.
      if (err instanceof ApiError && err.status === 503 && err.body?.status) h = err.body;
      else { set(q('#ov-health-body'), html`<p class="error">${err.message}</p>`); return; }
    }
    set(q('#ov-health-body'), healthPanel(h));
  }
  async function loadCharts() {
    const box = q('#ov-charts-body');
    try {
      const { points } = await api('/v1/metrics/history');
      charts.forEach((c) => c.destroy());
      box.replaceChildren();
      // All three boxes first, then the charts: each is sized to its grid cell, which a lone box would not be.
      const boxes = [0, 1, 2].map(() => { const d = document.createElement('div'); d.className = 'card chart'; box.append(d); return d; });
      charts = [
        lineChart(boxes[0], 'Queue depth', points, [{ key: 'queued', label: 'queued' }, { key: 'running', label: 'running' }]),
        lineChart(boxes[1], 'Throughput per 10 s', points, [{ key: 'completed', label: 'completed' }, { key: 'failed', label: 'failed' }, { key: 'dead_lettered', label: 'dead-lettered' }]),
        lineChart(boxes[2], 'Enqueue → assign (ms)', points, [{ key: 'assign_p50_ms', label: 'p50' }, { key: 'assign_p99_ms', label: 'p99' }]),
      ];
    } catch (err) {
      set(box, html`<p class="muted">${notAvailable(err) ? 'Charts are not available on this hub (no /v1/metrics/history).' : err.message}</p>`);
    }
  }
  async function loadAlerts() {
    try {
      // Open ones (active and acknowledged) come first in `all`; the feed's alert.changed keeps them current.
      const { alerts } = await api('/v1/alerts?state=all&limit=200');
      store().setAlerts(alerts);
      alertsLoaded = true;
      renderAlerts();
    } catch (err) {
      set(q('#ov-alerts-body'), html`<p class="muted">${notAvailable(err) ? 'Alerts are not available on this hub.' : err.message}</p>`);
    }
  }
  function renderAlerts() {
    const all = [...store().alerts.values()].sort((a, b) => b.last_fired_at - a.last_fired_at);
    const active = all.filter((a) => a.state === 'active');
    const acked = all.filter((a) => a.state === 'acknowledged');
    set(q('#ov-alerts-body'), html`${active.length
      ? html`<ul>${active.map((a) => html`<li data-alert="${a.id}"><span class="sev-${a.severity}">${a.severity}</span> <a href="${safeUrl(a.url, '#/alerts')}">${a.title}</a> — ${a.message} (${ago(a.last_fired_at)}${a.count > 1 ? `, ${a.count} times` : ''})</li>`)}</ul>`
      : html`<p>None.</p>`}
      ${acked.length ? html`<p class="muted">${acked.length} acknowledged, still open: ${acked.map((a) => a.title).join(', ')}.</p>` : ''}
      <p><a href="#/alerts">All alerts</a></p>`);
  }

  let lastVersion = -1;
  let lastHealthy = store().storeHealthy;
  return {
    refresh() { loadHealth(); loadCharts(); loadAlerts(); clearInterval(timer); timer = setInterval(() => { loadHealth(); loadCharts(); }, 10000); },
    render() {
      const s = store();
      if (s.version === lastVersion) return;
      lastVersion = s.version;
      // The feed's store.health frame: degraded mode began or ended; the health panel says so now, not at the next poll.
      if (s.storeHealthy !== lastHealthy) { lastHealthy = s.storeHealthy; loadHealth(); }
      set(q('#ov-status'), counts(s.counts, STATUSES));
      set(q('#ov-lane'), counts(s.stats?.queued, LANES));
      const byState = {};
      for (const a of s.agents.values()) byState[a.state] = (byState[a.state] ?? 0) + 1;
      set(q('#ov-agent'), counts(byState, AGENT_STATES));
      set(q('#ov-recent-body'), html`${s.recent.slice(0, 20).map(({ task, event }) => html`<tr><td data-label="Task">${taskLink(task)}</td><td data-label="Change">${event.from ? html`${statusTag(event.from)} → ` : ''}${statusTag(event.to)}</td><td data-label="When">${time(event.at)}</td></tr>`)}`);
      const lc = q('#last-change');
      if (s.lastChange) {
        lc.dataset.task = s.lastChange.id;
        lc.dataset.event = s.lastChange.event;
        lc.dataset.at = s.lastChange.at;
        lc.textContent = `Last change: ${s.lastChange.id} → ${s.lastChange.to.replace('_', ' ')}`;
      }
      if (alertsLoaded || s.alerts.size) renderAlerts();
    },
    unmount() { clearInterval(timer); charts.forEach((c) => c.destroy()); },
  };
}
