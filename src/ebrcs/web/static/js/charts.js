// Charts drawn as SVG by hand (no library, no CDN): a column chart and a horizontal bar chart.
import { svg } from "./dom.js";

const WIDTH = 640;

/** Columns for a series of {label, value}; labels are thinned out so they never overlap. */
export function columnChart(points, { height = 220, title, format = String } = {}) {
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, role: "img", "aria-label": title });
  const left = 48;
  const bottom = 24;
  const top = 10;
  const plotWidth = WIDTH - left - 8;
  const plotHeight = height - top - bottom;
  const max = Math.max(1e-9, ...points.map((point) => point.value));
  for (const fraction of [0, 0.5, 1]) {
    const y = top + plotHeight * (1 - fraction);
    chart.append(svg("line", { x1: left, x2: WIDTH - 8, y1: y, y2: y, class: "axis" }));
    chart.append(svg("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, format(max * fraction)));
  }
  const step = plotWidth / Math.max(1, points.length);
  const labelEvery = Math.ceil(points.length / 8);
  points.forEach((point, index) => {
    const barHeight = (point.value / max) * plotHeight;
    const x = left + index * step + step * 0.15;
    const bar = svg("rect", { x, y: top + plotHeight - barHeight, width: step * 0.7, height: barHeight, rx: 2, class: "bar" });
    bar.append(svg("title", {}, `${point.label}: ${format(point.value)}`));
    chart.append(bar);
    if (index % labelEvery === 0) {
      chart.append(svg("text", { x: x + step * 0.35, y: height - 6, "text-anchor": "middle" }, point.label));
    }
  });
  return chart;
}

/** Horizontal bars for {label, value, note}, largest first as given. */
export function barChart(rows, { title, format = String, width = 900 } = {}) {
  const rowHeight = 30;
  const labelWidth = 190;
  const height = Math.max(rowHeight, rows.length * rowHeight) + 4;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
  const max = Math.max(1e-9, ...rows.map((row) => row.value));
  const barSpace = width - labelWidth - 90;
  rows.forEach((row, index) => {
    const y = index * rowHeight + 4;
    const label = row.label.length > 24 ? `${row.label.slice(0, 23)}…` : row.label;
    chart.append(svg("text", { x: labelWidth - 8, y: y + 16, "text-anchor": "end" }, label));
    const bar = svg("rect", { x: labelWidth, y: y + 4, width: Math.max(2, (row.value / max) * barSpace), height: rowHeight - 10, rx: 3, class: index % 2 ? "bar-alt" : "bar" });
    bar.append(svg("title", {}, `${row.label}: ${format(row.value)}`));
    chart.append(bar);
    chart.append(svg("text", { x: labelWidth + (row.value / max) * barSpace + 6, y: y + 16 }, row.note ?? format(row.value)));
  });
  return chart;
}
