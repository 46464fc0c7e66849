// uPlot charts (vendored at /vendor/uplot/) of the hub's own last hour (GET /v1/metrics/history).
import uPlot from '/vendor/uplot/uPlot.esm.js';

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#0b57d0';

/** A line chart in `el` with one or more series over `points[].at`; replaces any chart there. */
export function lineChart(el, title, points, series) {
  el.replaceChildren();
  // The card's content width (uPlot draws at a fixed size; the card's padding is not drawable).
  const pad = parseFloat(getComputedStyle(el).paddingLeft) + parseFloat(getComputedStyle(el).paddingRight) || 0;
  const width = Math.max(240, (el.clientWidth || 320) - pad);
  // Always the last hour (seconds, as uPlot's time axis wants): a young hub's few points sit at the right,
  // instead of one point stretched over a range of years.
  const end = (points.at(-1)?.at ?? Date.now()) / 1000;
  const data = [points.map((p) => p.at / 1000), ...series.map((s) => points.map((p) => p[s.key] ?? null))];
  const colors = [css('--accent'), css('--warn'), css('--ok'), css('--bad')];
  const chart = new uPlot(
    {
      title,
      width,
      height: 180,
      scales: { x: { time: true, range: () => [end - 3600, end] } },
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
