// Dead letter: tasks that ran out of attempts, grouped by error code; retry or cancel one or many.
import { esc, html, set, time } from '../html.js';

export const title = () => 'Dead letter';
const MAX = 2000;

export function mount(el, { api, store }) {
  // Two lines: what is listed (repainted on each reload) and the last action's outcome, which a reload
  // (a feed event after the retry) must not overwrite before the operator has read it.
  set(el, html`<h1>Dead letter</h1><p id="dl-note" class="muted" role="status" aria-live="polite">Loading…</p><p id="dl-result" role="status" aria-live="polite"></p>
    <div class="actions"><button type="button" id="dl-retry" class="primary">Retry selected</button><button type="button" id="dl-cancel">Cancel selected</button></div>
    <div id="dl-groups"></div>`);
  const q = (sel) => el.querySelector(sel);
  let tasks = [];
  const selected = new Set();

  async function load() {
    const all = [];
    let after = null;
    try {
      do {
        const page = await api(`/v1/tasks?status=dead_letter&limit=1000${after ? `&after=${encodeURIComponent(after)}` : ''}`);
        all.push(...page.tasks);
        after = page.next;
      } while (after && all.length < MAX);
      tasks = all;
      for (const id of [...selected]) if (!tasks.some((t) => t.id === id)) selected.delete(id);
      paint();
    } catch (err) { q('#dl-note').textContent = `Could not load: ${err.message}`; }
  }

  function paint() {
    const groups = new Map();
    for (const t of tasks) {
      const code = t.last_error?.code ?? 'NO_ERROR_CODE';
      if (!groups.has(code)) groups.set(code, []);
      groups.get(code).push(t);
    }
    q('#dl-note').textContent = tasks.length ? `${tasks.length} task(s) in ${groups.size} group(s)${tasks.length >= MAX ? ' (the first 2,000 shown)' : ''}.` : 'Nothing is dead-lettered.';
    set(q('#dl-groups'), html`${[...groups].map(([code, list], gi) => html`<section class="card" aria-labelledby="dl-g${gi}">
      <h2 id="dl-g${gi}"><code>${code}</code> — ${list.length}</h2>
      <label><input type="checkbox" data-group="${code}" ${list.every((t) => selected.has(t.id)) ? 'checked' : ''}> Select all ${list.length} in ${code}</label>
      <div class="table-wrap"><table class="stack"><thead><tr><th scope="col">Select</th><th scope="col">Task</th><th scope="col">Error</th><th scope="col">Updated</th><th scope="col">Actions</th></tr></thead><tbody>
      ${list.map((t) => html`<tr data-task="${t.id}"><td data-label="Select"><input type="checkbox" id="sel-${t.id}" data-id="${t.id}" aria-label="Select ${t.title}" ${selected.has(t.id) ? 'checked' : ''}></td>
        <td data-label="Task"><a href="#/tasks/${t.id}">${t.title}</a></td><td data-label="Error">${t.last_error?.message ?? '—'}</td><td data-label="Updated">${time(t.updated_at)}</td>
        <td data-label="Actions"><button type="button" data-retry="${t.id}" aria-label="Retry ${esc(t.title)}">Retry</button> <button type="button" data-cancel="${t.id}" aria-label="Cancel ${esc(t.title)}">Cancel</button></td></tr>`)}
      </tbody></table></div></section>`)}`);
  }

  async function run(ids, path) {
    let ok = 0;
    const failed = [];
    for (const id of ids) {
      try { await api(`/v1/tasks/${encodeURIComponent(id)}/${path}`, { method: 'POST', body: path === 'cancel' ? { reason: 'cancelled from the dashboard (dead letter)' } : {} }); ok++; selected.delete(id); }
      catch (err) { failed.push(`${id}: ${err.code}`); }
    }
    await load();
    q('#dl-result').textContent = `${path === 'retry' ? 'Retried' : 'Cancelled'} ${ok} task(s)${failed.length ? `; refused: ${failed.join(', ')}` : ''}.`;
  }

  el.addEventListener('change', (ev) => {
    const box = ev.target;
    if (box.dataset.id) box.checked ? selected.add(box.dataset.id) : selected.delete(box.dataset.id);
    if (box.dataset.group) {
      for (const t of tasks) if ((t.last_error?.code ?? 'NO_ERROR_CODE') === box.dataset.group) box.checked ? selected.add(t.id) : selected.delete(t.id);
      paint();
    }
  });
  el.addEventListener('click', (ev) => {
    const b = ev.target.closest('button');
    if (!b) return;
    if (b.dataset.retry) run([b.dataset.retry], 'retry');
    else if (b.dataset.cancel) run([b.dataset.cancel], 'cancel');
    else if (b.id === 'dl-retry') run([...selected], 'retry');
    else if (b.id === 'dl-cancel') run([...selected], 'cancel');
  });

  // Reload (at most every 2 s) when a task enters or leaves dead letter.
  let seen = 0;
  let timer = null;
  return {
    refresh: load,
    render() {
      const recent = store().recent;
      const fresh = recent.findIndex((f) => f.event.id === seen);
      const news = fresh < 0 ? recent : recent.slice(0, fresh);
      if (recent[0]) seen = recent[0].event.id;
      if (news.some((f) => f.event.to === 'dead_letter' || f.event.from === 'dead_letter') && !timer) timer = setTimeout(() => { timer = null; load(); }, 500);
    },
    unmount() { clearTimeout(timer); },
  };
}
