// Small DOM helpers: text is always escaped (task titles and output come from anyone who can submit).
const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ESC[c]);

/** A tagged template whose interpolations are escaped unless wrapped in raw(). */
export function html(strings, ...values) {
  let out = strings[0];
  values.forEach((v, i) => {
    out += (Array.isArray(v) ? v.map(part).join('') : part(v)) + strings[i + 1];
  });
  return { __html: out };
}
const part = (v) => (v && typeof v === 'object' && '__html' in v ? v.__html : esc(v));
export const raw = (s) => ({ __html: s });
export const set = (el, h) => { el.innerHTML = h.__html; };

export const time = (ms) => (ms ? new Date(ms).toLocaleString() : '—');
export const ago = (ms) => {
  if (!ms) return '—';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
};
export const statusTag = (s) => html`<span class="status status-${s}">${String(s).replace('_', ' ')}</span>`;
export const taskLink = (t) => html`<a href="#/tasks/${t.id}">${t.title}</a>`;

/** A link target from data (an agent's PR URL, an alert's page): http(s) or this site only, never `javascript:`. */
export function safeUrl(url, fallback = '#/overview') {
  if (typeof url !== 'string') return fallback;
  if (url.startsWith('#') || (url.startsWith('/') && !url.startsWith('//'))) return url;
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : fallback;
  } catch { return fallback; }
}
