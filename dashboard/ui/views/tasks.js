// Tasks: search by id, title, repo, agent; filters by status and lane; cursor paging (newest first).
import { html, set, statusTag, taskLink, time } from '../html.js';

export const title = () => 'Tasks';
const STATUSES = ['pending', 'queued', 'assigned', 'running', 'blocked', 'review', 'completed', 'failed', 'dead_letter', 'cancelled'];
const LANES = ['urgent', 'high', 'normal', 'low'];
const PAGE = 50;

export function mount(el, { api, store }) {
  const opts = (list) => html`<option value="">any</option>${list.map((v) => html`<option value="${v}">${v.replace('_', ' ')}</option>`)}`;
  set(el, html`
    <h1>Tasks</h1>
    <form class="filters" id="task-search" role="search" aria-label="Search tasks">
      <div><label for="f-q">Title or id</label><input id="f-q" name="q" type="search" maxlength="200"></div>
      <div><label for="f-status">Status</label><select id="f-status" name="status">${opts(STATUSES)}</select></div>
      <div><label for="f-lane">Lane</label><select id="f-lane" name="lane">${opts(LANES)}</select></div>
      <div><label for="f-repo">Repo</label><input id="f-repo" name="repo" maxlength="256"></div>
      <div><label for="f-agent">Agent</label><input id="f-agent" name="agent" maxlength="256"></div>
      <button type="submit" class="primary">Search</button>
    </form>
    <p id="tasks-note" class="muted" role="status" aria-live="polite"></p>
    <div class="table-wrap"><table class="stack" aria-describedby="tasks-note">
      <thead><tr><th scope="col">Task</th><th scope="col">Status</th><th scope="col">Lane</th><th scope="col">Repo</th><th scope="col">Agent</th><th scope="col">Created</th></tr></thead>
      <tbody id="tasks-body"></tbody></table></div>
    <div class="actions"><button type="button" id="tasks-prev">Previous page</button><button type="button" id="tasks-next">Next page</button></div>`);
  const q = (sel) => el.querySelector(sel);
  const form = q('#task-search');
  let filters = {};
  let rows = [];
  let cursors = [null];
  let pageIndex = 0;
  let next = null;
  let loading = false;

  function params(after) {
    const p = new URLSearchParams({ limit: String(PAGE), order: 'desc' });
    for (const [k, v] of Object.entries(filters)) if (v) p.set(k, v);
    if (after) p.set('after', after);
    return p;
  }

  async function load() {
    loading = true;
    q('#tasks-note').textContent = 'Searching…';
    try {
      const page = await api(`/v1/tasks?${params(cursors[pageIndex])}`);
      rows = page.tasks;
      next = page.next;
      const shortPage = rows.length < PAGE && next;
      q('#tasks-note').textContent = rows.length === 0 && !next ? 'No task matches.'
        : `${rows.length} task(s) on page ${pageIndex + 1}${shortPage ? ' (a search reads at most 10,000 tasks per page: more may follow on the next page)' : ''}.`;
    } catch (err) {
      rows = [];
      next = null;
      q('#tasks-note').textContent = `Search failed: ${err.message}`;
    }
    loading = false;
    paint();
  }

  const matches = (t) => (!filters.status || t.status === filters.status) && (!filters.lane || t.lane === filters.lane) && (!filters.repo || t.repo === filters.repo)
    && (!filters.agent || t.lease?.agent_id === filters.agent) && (!filters.q || t.title.toLowerCase().includes(filters.q.toLowerCase()) || t.id.toLowerCase().includes(filters.q.toLowerCase()));

  function paint() {
    const s = store();
    // Rows follow the feed: a task that changed shows its new state; a new match joins page 1.
    const ids = new Set(rows.map((t) => t.id));
    if (pageIndex === 0 && !loading) {
      for (const { task } of [...s.recent].reverse()) if (!ids.has(task.id) && task.created_at >= (rows[0]?.created_at ?? 0) && matches(task)) { rows.unshift(task); ids.add(task.id); }
    }
    const shown = rows.map((t) => s.tasks.get(t.id) ?? t).filter((t) => !filters.status || t.status === filters.status || ids.has(t.id));
    set(q('#tasks-body'), html`${shown.map((t) => html`<tr data-task="${t.id}"><td data-label="Task">${taskLink(t)}<div class="muted">${t.id}</div></td><td data-label="Status">${statusTag(t.status)}</td>
      <td data-label="Lane">${t.lane}</td><td data-label="Repo">${t.repo ?? '—'}</td><td data-label="Agent">${t.lease?.agent_id ?? t.agent ?? '—'}</td><td data-label="Created">${time(t.created_at)}</td></tr>`)}`);
    q('#tasks-prev').disabled = pageIndex === 0;
    q('#tasks-next').disabled = !next;
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    filters = Object.fromEntries([...new FormData(form)].map(([k, v]) => [k, String(v).trim()]));
    cursors = [null];
    pageIndex = 0;
    load();
  });
  q('#tasks-next').addEventListener('click', () => { if (!next) return; cursors[pageIndex + 1] = next; pageIndex++; load(); });
  q('#tasks-prev').addEventListener('click', () => { if (pageIndex === 0) return; pageIndex--; load(); });

  let lastVersion = -1;
  return {
    refresh: load,
    render() {
      if (store().version === lastVersion) return;
      lastVersion = store().version;
      paint();
    },
  };
}
