// Alerts: active, acknowledged, history; acknowledge. And the Notifications section (push.js, PUSH's module).
import { notAvailable } from '../api.js';
import { ago, html, safeUrl, set, time } from '../html.js';

export const title = () => 'Alerts';
const KINDS = ['critical', 'warning', 'info'];

function table(list, withAck) {
  if (!list.length) return html`<p>None.</p>`;
  return html`<div class="table-wrap"><table class="stack"><thead><tr><th scope="col">Severity</th><th scope="col">Alert</th><th scope="col">Fired</th><th scope="col">Count</th><th scope="col">${withAck ? 'Action' : 'State'}</th></tr></thead><tbody>
    ${list.map((a) => html`<tr data-alert="${a.id}"><td data-label="Severity" class="sev-${a.severity}">${a.severity}</td><td data-label="Alert"><a href="${safeUrl(a.url, '#/alerts')}">${a.title}</a><div>${a.message}</div></td>
      <td data-label="Fired">${time(a.fired_at)} (last ${ago(a.last_fired_at)})</td><td data-label="Count">${a.count}</td>
      <td data-label="${withAck ? 'Action' : 'State'}">${withAck ? html`<button type="button" data-ack="${a.id}" aria-label="Acknowledge: ${a.title}">Acknowledge</button>` : html`${a.state}${a.acked_by ? ` by ${a.acked_by}` : ''}`}</td></tr>`)}
  </tbody></table></div>`;
}

export function mount(el, { api, store }) {
  set(el, html`<h1>Alerts</h1><p id="al-note" class="muted" role="status" aria-live="polite"></p>
    <section aria-labelledby="al-a"><h2 id="al-a">Active</h2><div id="al-active">Loading…</div></section>
    <section aria-labelledby="al-k"><h2 id="al-k">Acknowledged</h2><div id="al-acked"></div></section>
    <section aria-labelledby="al-h"><h2 id="al-h">History</h2><div id="al-cleared"></div></section>
    <section aria-labelledby="al-x"><h2 id="al-x">Executor alerts</h2><div id="al-exec"></div></section>
    <section aria-labelledby="al-n" id="notifications" hidden><h2 id="al-n">Notifications</h2>
      <p id="push-state" role="status" aria-live="polite"></p>
      <fieldset><legend>Alert kinds to receive (none ticked: all)</legend>${KINDS.map((k) => html`<label><input type="checkbox" name="kind" value="${k}"> ${k}</label> `)}</fieldset>
      <div class="actions"><button type="button" id="push-sub" class="primary">Subscribe this browser</button><button type="button" id="push-unsub">Unsubscribe</button></div>
    </section>`);
  const q = (sel) => el.querySelector(sel);
  let available = true;

  async function load() {
    try {
      const { alerts } = await api('/v1/alerts?state=all&limit=200');
      store().setAlerts(alerts);
      available = true;
      paint();
    } catch (err) {
      available = false;
      const msg = notAvailable(err) ? 'Alerts are not available on this hub.' : err.message;
      q('#al-note').textContent = msg;
      for (const id of ['#al-active', '#al-acked', '#al-cleared']) q(id).textContent = '—';
      paint();
    }
  }
  function paint() {
    const all = [...store().alerts.values()].sort((a, b) => b.last_fired_at - a.last_fired_at);
    if (available) {
      set(q('#al-active'), table(all.filter((a) => a.state === 'active'), true));
      set(q('#al-acked'), table(all.filter((a) => a.state === 'acknowledged'), false));
      set(q('#al-cleared'), table(all.filter((a) => a.state === 'cleared'), false));
    }
    const ex = store().executorAlerts;
    set(q('#al-exec'), ex.length ? html`<ul>${ex.map((a) => html`<li>${time(a.at)} <code>${a.code}</code> ${a.message}</li>`)}</ul>` : html`<p>None since this page opened.</p>`);
  }
  el.addEventListener('click', async (ev) => {
    const id = ev.target.closest('button')?.dataset.ack;
    if (!id) return;
    try { const { alert } = await api(`/v1/alerts/${encodeURIComponent(id)}/ack`, { method: 'POST', body: {} }); store().alerts.set(alert.id, alert); paint(); }
    catch (err) { q('#al-note').textContent = `Could not acknowledge: ${err.message}`; }
  });

  // Notifications: PUSH's module. If it does not load, the section stays hidden; what it cannot do, it says.
  (async () => {
    let push;
    try { push = await import('../push.js'); } catch { return; }
    const section = q('#notifications');
    const buttons = { sub: q('#push-sub'), unsub: q('#push-unsub') };
    // pushState's answer (push.js) in words, and only the buttons that can do something now.
    const describe = (st) => {
      const line = q('#push-state');
      section.dataset.push = !st?.supported ? 'unsupported' : st.subscribed ? 'subscribed' : st.permission === 'denied' ? 'blocked' : 'not-subscribed';
      if (!st?.supported) line.textContent = `Notifications are not available in this browser: ${st?.reason ?? 'unknown reason'}.`;
      else if (st.subscribed) line.textContent = `This browser is subscribed to ${st.kinds?.length ? st.kinds.join(', ') : 'every alert'}.`;
      else if (st.permission === 'denied') line.textContent = 'This browser is not subscribed: notifications are blocked for this site (allow them in the browser settings to subscribe).';
      else line.textContent = 'This browser is not subscribed. Subscribe to get alerts as notifications, even with this page closed.';
      for (const box of el.querySelectorAll('input[name=kind]')) box.checked = Boolean(st?.kinds?.includes(box.value));
      buttons.sub.disabled = !st?.supported;
      buttons.unsub.disabled = !st?.subscribed;
      buttons.sub.textContent = st?.subscribed ? 'Update the kinds' : 'Subscribe this browser';
    };
    const showState = async () => {
      try { const st = await push.pushState(api); describe(st); section.hidden = false; }
      catch (err) {
        section.dataset.push = 'error';
        q('#push-state').textContent = notAvailable(err) ? 'Notifications are not available on this hub (no /v1/push routes).' : `Could not read the notification state: ${err.message}`;
        section.hidden = false;
      }
    };
    q('#push-sub').addEventListener('click', async () => {
      const kinds = [...el.querySelectorAll('input[name=kind]:checked')].map((i) => i.value);
      try { await push.subscribe(api, kinds); } catch (err) { q('#push-state').textContent = `Could not subscribe: ${err.message}`; return; }
      showState();
    });
    q('#push-unsub').addEventListener('click', async () => { try { await push.unsubscribe(api); } catch (err) { q('#push-state').textContent = err.message; return; } showState(); });
    showState();
  })();

  let lastVersion = -1;
  return { refresh: load, render() { if (store().version === lastVersion) return; lastVersion = store().version; paint(); } };
}
