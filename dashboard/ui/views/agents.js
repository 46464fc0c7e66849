// Agents: state, executors and models, repos, CPU / RAM / per-GPU VRAM as bars, current tasks, last heartbeat.
import { ago, html, set } from '../html.js';

export const title = (route) => (route?.id ? `Agent ${route.id}` : 'Agents');

const bar = (label, used, total, unit) => {
  const pct = total > 0 ? Math.round((used / total) * 100) : 0;
  return html`<div><div class="bar-label"><span>${label}</span><span>${Math.round(used)} / ${Math.round(total)} ${unit} (${pct}%)</span></div>
    <meter min="0" max="${total || 1}" value="${used}" aria-label="${label}: ${pct}%">${pct}%</meter></div>`;
};

const gb = (bytes) => `${(bytes / 1024 ** 3).toFixed(1)} GB`;

// The LLM registry's view of one executor's models: what each is, and whether it is warm (docs/routing.md).
function models(e) {
  if (!e.model_info?.length) return '';
  return html`<ul class="models">${e.model_info.map((m) => {
    const what = [m.family, m.parameter_size, m.quantization, m.size_bytes ? gb(m.size_bytes) : null].filter(Boolean).join(', ');
    return html`<li data-model="${m.name}"><code>${m.name}</code>${what ? ` (${what})` : ''} — ${m.loaded ? html`<strong>warm</strong>${m.vram_bytes ? `, ${gb(m.vram_bytes)} VRAM` : ''}` : 'cold'}</li>`;
  })}</ul>`;
}

function agentCard(a, selected) {
  const r = a.resources;
  return html`<article class="card${a.id === selected ? ' selected' : ''}" data-agent="${a.id}" aria-labelledby="ag-${a.id}"${a.id === selected ? html` aria-current="true" tabindex="-1"` : ''}>
    <h2 id="ag-${a.id}">${a.id} <span class="status status-${a.state}">${a.state}</span></h2>
    <dl class="kv">
      <dt>Last heartbeat</dt><dd>${ago(a.last_seen_at)}</dd>
      <dt>Capacity</dt><dd>${a.tasks.length} / ${a.max_concurrency}</dd>
      <dt>Completed today</dt><dd>${a.completed_today ?? 0}</dd>
      ${a.idle_since ? html`<dt>Idle since</dt><dd>${ago(a.idle_since)}</dd>` : ''}
      <dt>Repos</dt><dd>${a.repos === null ? 'any' : a.repos.join(', ') || 'none'}</dd>
      <dt>Capabilities</dt><dd>${a.capabilities.join(', ') || '—'}</dd>
      <dt>Executors</dt><dd>${a.executors.length ? a.executors.map((e) => html`<div>${e.name}: ${e.available ? 'available' : html`<span class="error">unavailable</span>`}${e.reason ? ` (${e.reason})` : ''}${e.models.length ? html` — models: ${e.models.join(', ')}` : ''}${models(e)}</div>`) : '—'}</dd>
      <dt>Current tasks</dt><dd>${a.tasks.length ? a.tasks.map((t) => html`<div><a href="#/tasks/${t.task_id}">${t.task_id}</a> (${t.status})</div>`) : 'none'}</dd>
    </dl>
    ${r ? html`${bar('CPU load', r.load_1m, r.cpu_count, 'cores')}${bar('RAM', r.ram_total_mb - r.ram_free_mb, r.ram_total_mb, 'MB')}
      ${r.gpus.map((g) => bar(`GPU ${g.index} ${g.name} VRAM`, g.vram_used_mb, g.vram_total_mb, 'MB'))}
      ${r.gpus.length === 0 && r.gpu_note ? html`<p class="muted">GPUs: ${r.gpu_note}</p>` : ''}` : html`<p class="muted">No resource report yet.</p>`}
  </article>`;
}

export function mount(el, { store, route }) {
  // '#/agents/<id>' (an alert's link): the same view, that agent's card highlighted and scrolled to.
  const selected = route?.id ?? null;
  set(el, html`<h1>Agents</h1><p id="agents-count" class="muted"></p><p id="agent-missing" class="muted" role="status"></p><div id="agents-list" class="grid"></div>`);
  let lastVersion = -1;
  let scrolled = false;
  return {
    render() {
      const s = store();
      if (s.version === lastVersion) return;
      lastVersion = s.version;
      const agents = [...s.agents.values()].sort((a, b) => a.id.localeCompare(b.id));
      el.querySelector('#agents-count').textContent = `${agents.length} agent(s), ${agents.filter((a) => a.state !== 'offline').length} online.`;
      // A live update redraws the cards: the selected one keeps the focus it had (a keyboard or screen-reader user stays put).
      const hadFocus = selected !== null && el.querySelector('.card.selected') === document.activeElement;
      set(el.querySelector('#agents-list'), agents.length ? html`${agents.map((a) => agentCard(a, selected))}` : html`<p>No agent has connected yet.</p>`);
      if (!selected) return;
      const card = el.querySelector('.card.selected');
      if (hadFocus) card?.focus({ preventScroll: true });
      el.querySelector('#agent-missing').textContent = card ? '' : `Agent ${selected} is not known to this hub now (removed, or not connected since the hub started).`;
      if (card && !scrolled) {
        scrolled = true;
        card.scrollIntoView({ block: 'start' });
        card.focus({ preventScroll: true });
      }
    },
  };
}
