// Charts drawn as SVG by hand (no library, no CDN): a column chart and a horizontal bar chart.
import { h, svg } from "./dom.js";
import { LANGUAGE_CHANGED } from "./i18n.js";

const MIN_WIDTH = 280;

/**
 * A box that draws its chart at the width it is shown at (so 12 px text stays 12 px on a phone
 * and on a wide screen), again whenever that width changes, and again in the new language's
 * words and number format after a language switch. draw(width) returns the SVG.
 */
export function fittedChart(draw) {
  const box = h("div", { class: "chart-box" });
  let drawnAt = 0;
  const redraw = (width) => {
    drawnAt = width;
    box.replaceChildren(draw(width));
  };
  new ResizeObserver(() => {
    const width = Math.max(MIN_WIDTH, Math.floor(box.clientWidth));
    if (box.isConnected && width !== drawnAt) redraw(width);
  }).observe(box);
  const relabel = () => {
    // A chart of a page left since is not drawn again (and stops listening).
    if (!box.isConnected) document.removeEventListener(LANGUAGE_CHANGED, relabel);
    else if (drawnAt) redraw(drawnAt);
  };
  document.addEventListener(LANGUAGE_CHANGED, relabel);
  return box;
}
// About how wide one character of the 12 px chart font is, in viewBox units.
const CHAR_WIDTH = 7.5;

/** Columns for a series of {label, value}; labels are thinned out so they never overlap. */
export function columnChart(points, { width, height = 220, title, format = String } = {}) {
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
  const max = Math.max(1e-9, ...points.map((point) => point.value));
  // Room for the widest axis label (the top one), so "₩12,900" is never cut at the left edge.
  const axisLabels = [0, 0.5, 1].map((fraction) => format(max * fraction));
  const left = 12 + CHAR_WIDTH * Math.max(...axisLabels.map((label) => label.length));
  const bottom = 24;
  const top = 10;
  const plotWidth = width - left - 8;
  const plotHeight = height - top - bottom;
  [0, 0.5, 1].forEach((fraction, index) => {
    const y = top + plotHeight * (1 - fraction);
    chart.append(svg("line", { x1: left, x2: width - 8, y1: y, y2: y, class: "axis" }));
    chart.append(svg("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, axisLabels[index]));
  });
  const step = plotWidth / Math.max(1, points.length);
  // Day labels ("12-01") need about 40 units each.
  const labelEvery = Math.ceil(points.length / Math.max(2, Math.floor(plotWidth / 48)));
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

/** Horizontal bars for {label, value, note}, largest first as given; one colour, one measure. */
export function barChart(rows, { width, title, format = String } = {}) {
  const rowHeight = 30;
  const labelWidth = Math.round(width * 0.3);
  const height = Math.max(rowHeight, rows.length * rowHeight) + 4;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
  const max = Math.max(1e-9, ...rows.map((row) => row.value));
  // Room on the right for the longest note.
  const noteWidth = 12 + CHAR_WIDTH * Math.max(...rows.map((row) => (row.note ?? format(row.value)).length));
  const barSpace = width - labelWidth - noteWidth;
  rows.forEach((row, index) => {
    const y = index * rowHeight + 4;
    const room = Math.floor((labelWidth - 12) / CHAR_WIDTH);
    const label = row.label.length > room ? `${row.label.slice(0, room - 1)}…` : row.label;
    chart.append(svg("text", { x: labelWidth - 8, y: y + 16, "text-anchor": "end" }, label));
    const bar = svg("rect", { x: labelWidth, y: y + 4, width: Math.max(2, (row.value / max) * barSpace), height: rowHeight - 10, rx: 3, class: "bar" });
    bar.append(svg("title", {}, `${row.label}: ${format(row.value)}`));
    chart.append(bar);
    chart.append(svg("text", { x: labelWidth + (row.value / max) * barSpace + 6, y: y + 16 }, row.note ?? format(row.value)));
  });
  return chart;
}
