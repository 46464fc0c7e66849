// One task: spec, event timeline, live output, iterations with verification reports, usage, branch / PR;
// actions: cancel, retry, approve or reject with feedback.
import { html, safeUrl, set, statusTag, time } from '../html.js';

export const title = (route) => `Task ${route.id}`;
const FINAL = new Set(['completed', 'cancelled']);

function spec(t) {
  return html`<dl class="kv">
    <dt>Id</dt><dd>${t.id}</dd><dt>Lane</dt><dd>${t.lane}</dd><dt>Repo</dt><dd>${t.repo ?? '—'}</dd>
    <dt>Executor</dt><dd>${t.executor ?? 'any'}${t.model ? ` / ${t.model}` : ''}</dd>
    <dt>Command</dt><dd>${t.command ? html`<code>${t.command}</code>` : '—'}</dd>
    <dt>Complexity</dt><dd>${t.complexity} (${t.complexity_reason})</dd>
    <dt>Route</dt><dd id="task-route">${route(t)}</dd>
    <dt>Attempts</dt><dd>${t.attempts} of ${t.max_attempts}</dd><dt>Review</dt><dd>${t.review ? 'required' : 'no'}</dd>
    <dt>Agent</dt><dd>${t.lease?.agent_id ?? t.agent ?? '—'}</dd>
    <dt>Depends on</dt><dd>${t.depends_on.length ? t.depends_on.map((d) => html`<a href="#/tasks/${d}">${d}</a> `) : '—'}</dd>
    <dt>Created</dt><dd>${time(t.created_at)} by ${t.created_by}</dd>
    <dt>Success criteria</dt><dd>${t.success_criteria.length ? html`<ul>${t.success_criteria.map((c) => html`<li>${c}</li>`)}</ul>` : '—'}</dd>
    <dt>Verification</dt><dd>${t.verification.length ? t.verification.map((v) => html`<div><code>${v.type}</code> ${v.command ?? v.path ?? ''}</div>`) : '—'}</dd>
  </dl>${t.description ? html`<h3>Description</h3><pre class="output">${t.description}</pre>` : ''}`;
}

// A routed task's chain (the current candidate in bold), where routing placed it and why, and each move (docs/routing.md).
function route(t) {
  const r = t.route;
  if (!r) return '—';
  const chain = r.chain.map((c, i) => html`${i ? ' → ' : ''}${i === r.stage ? html`<strong>${c}</strong>` : c}`);
  return html`<div>${r.tier}: ${chain}</div>
    ${r.decision ? html`<div>Placed: ${r.decision.reasons} (score ${r.decision.score})</div>` : ''}
    ${r.moves.length ? html`<ul>${r.moves.map((m) => html`<li>${time(m.at)} moved to <code>${m.candidate}</code>: ${m.reason}</li>`)}</ul>` : ''}`;
}

function checks(report) {
  if (!report) return html`<p class="muted">The checks did not run.</p>`;
  return html`<p>${report.passed ? 'All checks passed' : html`<span class="error">Checks failed</span>`} (${report.duration_ms} ms)</p>
    <ul>${(report.checks ?? []).map((c) => html`<li>${c.passed ? '✔ passed' : '✘ failed'}: <code>${c.type}</code> ${c.target ?? ''}${c.output_tail ? html`<pre class="output">${c.output_tail}</pre>` : ''}</li>`)}</ul>`;
}

function outcome(t) {
  const r = t.result && typeof t.result === 'object' ? t.result : (t.last_error?.details && typeof t.last_error.details === 'object' ? t.last_error.details : null);
  const parts = [];
  if (t.last_error) parts.push(html`<p class="error">${t.last_error.code}: ${t.last_error.message}</p>`);
  if (!r) return parts.length ? html`${parts}` : html`<p class="muted">No result yet.</p>`;
  const u = r.usage;
  if (u) parts.push(html`<dl class="kv"><dt>Input tokens</dt><dd>${u.input_tokens}</dd><dt>Output tokens</dt><dd>${u.output_tokens}</dd><dt>Cost</dt><dd>$${Number(u.cost_usd ?? 0).toFixed(4)}</dd><dt>Wall time</dt><dd>${u.wall_ms} ms</dd></dl>`);
  const sub = r.submission;
  if (sub) parts.push(html`<p>Branch <code>${sub.branch}</code>${sub.commit ? html` at <code>${String(sub.commit).slice(0, 12)}</code>` : ''}${sub.pr_url ? html` — <a href="${safeUrl(sub.pr_url)}" rel="noopener">pull request</a>` : sub.url ? html` — <a href="${safeUrl(sub.url)}" rel="noopener">branch</a>` : ''}</p>`);
  if (Array.isArray(r.iterations)) {
    parts.push(html`<ol>${r.iterations.map((it) => html`<li><h3>Iteration ${it.n}</h3><p>Executor ${it.executor?.ok ? 'finished' : 'failed'}${it.usage ? ` — ${it.usage.input_tokens + it.usage.output_tokens} tokens, $${Number(it.usage.cost_usd ?? 0).toFixed(4)}` : ''}</p>${checks(it.verification)}</li>`)}</ol>`);
  } else if (r.verification) parts.push(checks(r.verification));
  if (typeof r.output_tail === 'string' || typeof r.stdout === 'string') parts.push(html`<h3>Final output</h3><pre class="output">${r.output_tail ?? r.stdout}</pre>`);
  return html`${parts}`;
}

// What the hub assembled for the agent's prompt under its token budget (docs/context.md), and what it left out.
function assembled(c) {
  if (!c) return html`<p class="muted">No context assembled (the task has not been queued since the hub began assembling).</p>`;
  return html`<p id="task-context-tokens">${c.tokens} of ${c.budget} tokens, ${c.included.length} part(s), assembled ${time(c.assembled_at)}</p>
    ${c.text ? html`<pre class="output" id="task-context-text">${c.text}</pre>` : html`<p class="muted">Nothing relevant was found.</p>`}
    ${c.left_out.length ? html`<p>Left out for the budget: ${c.left_out.map((l) => `${l.section} ${l.ref} (${l.tokens} tokens)`).join(', ')}</p>` : ''}`;
}

export function mount(el, { api, store, route }) {
  const id = route.id;
  set(el, html`<p><a href="#/tasks">← Tasks</a></p><h1 id="task-title">Task ${id}</h1><p id="task-status" aria-live="polite"></p><p id="task-waiting" class="muted"></p>
    <section aria-labelledby="t-act"><h2 id="t-act">Actions</h2>
      <div class="actions"><button type="button" id="act-cancel">Cancel</button><button type="button" id="act-retry">Retry</button></div>
      <div id="review-box" hidden><label for="feedback">Feedback (sent with a rejection)</label><br><textarea id="feedback" rows="3" cols="40" maxlength="1000"></textarea>
        <div class="actions"><button type="button" class="primary" id="act-approve">Approve</button><button type="button" id="act-reject">Reject</button></div></div>
      <p id="act-result" role="status" aria-live="polite"></p></section>
    <section aria-labelledby="t-out"><h2 id="t-out">Live output</h2><pre class="output" id="task-output" tabindex="0" aria-label="Live output">—</pre></section>
    <section aria-labelledby="t-res"><h2 id="t-res">Result, iterations and usage</h2><div id="task-result"></div></section>
    <section aria-labelledby="t-ev"><h2 id="t-ev">Timeline</h2><ol class="timeline" id="task-events"></ol></section>
    <section aria-labelledby="t-spec"><h2 id="t-spec">Spec</h2><div id="task-spec"></div></section>
    <section aria-labelledby="t-ctx"><h2 id="t-ctx">Context the agent was given</h2><div id="task-context"></div></section>`);
  const q = (sel) => el.querySelector(sel);
  let task = null;
  let events = [];
  let tail = null;
  let error = null;
  let waiting = null;

  async function load() {
    try {
      const d = await api(`/v1/tasks/${encodeURIComponent(id)}`);
      task = d.task; events = d.events; tail = d.progress_tail; error = null;
      waiting = d.waiting;
    } catch (err) { error = err; }
    lastVersion = -1;
    paint();
  }

  async function act(path, body) {
    q('#act-result').textContent = 'Working…';
    try {
      const t = await api(`/v1/tasks/${encodeURIComponent(id)}/${path}`, { method: 'POST', body: body ?? {} });
      task = t;
      q('#act-result').textContent = `Done: the task is ${t.status.replace('_', ' ')}.`;
      paint();
    } catch (err) { q('#act-result').textContent = `Refused: ${err.code}: ${err.message}`; }
  }
  q('#act-cancel').addEventListener('click', () => act('cancel', { reason: 'cancelled from the dashboard' }));
  q('#act-retry').addEventListener('click', () => act('retry'));
  q('#act-approve').addEventListener('click', () => act('approve'));
  q('#act-reject').addEventListener('click', () => { const reason = q('#feedback').value.trim(); act('reject', reason ? { reason } : {}); });

  let lastVersion = -1;
  function paint() {
    if (error) { set(q('#task-status'), html`<span class="error">${error.code === 'TASK_NOT_FOUND' ? 'No such task.' : error.message}</span>`); return; }
    if (!task) return;
    const s = store();
    const live = s.tasks.get(id);
    if (live && live.updated_at >= task.updated_at) task = live;
    const seen = new Set(events.map((e) => e.id));
    for (const f of [...s.recent].reverse()) if (f.task.id === id && !seen.has(f.event.id)) { events.push(f.event); seen.add(f.event.id); }
    q('#task-title').textContent = task.title;
    set(q('#task-status'), html`Status: ${statusTag(task.status)}`);
    el.dataset.status = task.status;
    q('#task-waiting').textContent = waiting && task.status === 'queued' ? `Waiting: ${waiting}` : '';
    q('#act-cancel').disabled = FINAL.has(task.status);
    q('#act-retry').disabled = !(task.status === 'dead_letter' || task.status === 'failed');
    q('#review-box').hidden = task.status !== 'review';
    const out = s.output.get(id);
    const text = out && (!task.lease || out.generation === task.lease.generation) ? out.text : tail;
    const pre = q('#task-output');
    if ((text ?? '—') !== pre.textContent) { pre.textContent = text ?? '—'; pre.scrollTop = pre.scrollHeight; }
    set(q('#task-result'), outcome(task));
    set(q('#task-events'), html`${events.map((e) => html`<li><time datetime="${new Date(e.at).toISOString()}">${time(e.at)}</time> — ${e.from ? html`${statusTag(e.from)} → ` : ''}${statusTag(e.to)} by ${e.actor}${e.reason ? `: ${e.reason}` : ''}</li>`)}`);
    set(q('#task-spec'), spec(task));
    set(q('#task-context'), assembled(task.assembled_context));
  }
  return {
    refresh: load,
    render() { if (store().version === lastVersion) return; lastVersion = store().version; paint(); },
  };
}
