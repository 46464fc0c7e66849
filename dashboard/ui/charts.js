// uPlot charts (vendored at /vendor/uplot/) of the hub's own last hour (GET /v1/metrics/history).
import uPlot from '/vendor/uplot/uPlot.esm.js';

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#0b57d0';

/** A line chart in `el` with one or more series over `points[].at`; replaces any chart there. */
export function lineChart(el, title, points, series) {
  el.replaceChildren();
  const width = Math.max(260, el.clientWidth || 320);
  const data = [points.map((p) => p.at / 1000), ...series.map((s) => points.map((p) => p[s.key] ?? null))];
  const colors = [css('--accent'), css('--warn'), css('--ok'), css('--bad')];
  const chart = new uPlot(
    {
      title,
      width,
      height: 180,
      axes: [{ stroke: css('--fg') }, { stroke: css('--fg') }],
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: colors[i % colors.length], width: 2 }))],
    },
    data,
    el,
  );
  el.setAttribute('role', 'img');
  el.setAttribute('aria-label', `${title}: ${series.map((s) => `${s.label} now ${points.at(-1)?.[s.key] ?? 'unknown'}`).join(', ')}`);
  return chart;
}
