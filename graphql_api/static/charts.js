// Small SVG charts with axes, gridlines and units. No dependencies.

const SVG = "http://www.w3.org/2000/svg";
const MARGIN = { top: 14, right: 16, bottom: 30, left: 58 };

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function size(container) {
  return { width: Math.max(container.clientWidth, 200), height: Math.max(container.clientHeight, 120) };
}

function svgFor(container) {
  const { width, height } = size(container);
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  return { svg, width, height };
}

export function niceTicks(max, count = 4) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  const ticks = [];
  for (let v = 0; v <= max + step * 0.001; v += step) ticks.push(Number(v.toFixed(10)));
  if (ticks[ticks.length - 1] < max) ticks.push(Number((ticks[ticks.length - 1] + step).toFixed(10)));
  return ticks;
}

export const fmt = {
  int: (v) => Math.round(v).toLocaleString("en-US"),
  compact: (v) => (Math.abs(v) >= 10000 ? new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 }).format(v) : Math.round(v * 100) / 100 + ""),
  usd: (v) => "$" + (Math.abs(v) >= 10000
    ? new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 }).format(v)
    : v.toLocaleString("en-US", { minimumFractionDigits: v < 100 ? 2 : 0, maximumFractionDigits: v < 100 ? 2 : 0 })),
  usdAxis: (v) => "$" + (Math.abs(v) >= 10000
    ? new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 }).format(v)
    : v.toLocaleString("en-US", { maximumFractionDigits: Number.isInteger(v) ? 0 : 2 })),
  pct: (v) => (v === null || v === undefined ? "–" : (v * 100).toFixed(v < 0.1 ? 1 : 0) + "%"),
  clock: (d) => d.toISOString().slice(11, 19),
  day: (d) => d.toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" }),
  hour: (d) => d.toISOString().slice(11, 16),
  seconds: (s) => (s === null || s === undefined ? "–" : s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`),
};

function empty(container, text) {
  const { svg, width, height } = svgFor(container);
  svg.append(el("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "empty" }, text));
  container.replaceChildren(svg);
}

function axes(svg, width, height, yTicks, yScale, yFormat, yTitle) {
  const g = el("g", { class: "axis" });
  for (const t of yTicks) {
    const y = yScale(t);
    g.append(el("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: y, y2: y, class: t === 0 ? "baseline" : "gridline" }));
    g.append(el("text", { x: MARGIN.left - 8, y: y + 3.5, "text-anchor": "end" }, yFormat(t)));
  }
  const midY = (MARGIN.top + height - MARGIN.bottom) / 2;
  g.append(el("text", { class: "axis-title", transform: `translate(13 ${midY}) rotate(-90)`, "text-anchor": "middle" }, yTitle));
  svg.append(g);
}

function xLabels(svg, height, items) {
  const g = el("g", { class: "axis" });
  for (const { x, label, anchor = "middle" } of items) {
    g.append(el("line", { x1: x, x2: x, y1: height - MARGIN.bottom, y2: height - MARGIN.bottom + 4, class: "baseline" }));
    g.append(el("text", { x, y: height - MARGIN.bottom + 17, "text-anchor": anchor }, label));
  }
  svg.append(g);
}

// A line (with area) over time. points: [{x: Date, y: number}]; domain: [Date, Date] or null.
// partialLast: the last point is a period still running (today): drawn dashed, with a hollow dot.
export function lineChart(container, { points, domain = null, yTitle, yFormat = fmt.compact, xFormat = fmt.day, emptyText = "No data in this range", minY = 1, partialLast = false }) {
  container.dataset.points = String(points.length);
  container.dataset.max = String(points.reduce((m, p) => Math.max(m, p.y), 0));
  container.dataset.last = points.length ? String(points[points.length - 1].y) : "";
  if (!points.length) return empty(container, emptyText);
  const { svg, width, height } = svgFor(container);
  const [x0, x1] = domain || [points[0].x, points[points.length - 1].x];
  const span = Math.max(x1 - x0, 1);
  const maxY = Math.max(minY, ...points.map((p) => p.y));
  const yTicks = niceTicks(maxY);
  const top = yTicks[yTicks.length - 1];
  const xs = (x) => MARGIN.left + ((x - x0) / span) * (width - MARGIN.left - MARGIN.right);
  const ys = (y) => height - MARGIN.bottom - (y / top) * (height - MARGIN.top - MARGIN.bottom);
  axes(svg, width, height, yTicks, ys, yFormat, yTitle);
  const visible = points.filter((p) => p.x >= x0 && p.x <= x1);
  const solid = partialLast && visible.length > 1 ? visible.slice(0, -1) : visible;
  const path = solid.map((p, i) => `${i ? "L" : "M"}${xs(p.x).toFixed(1)},${ys(p.y).toFixed(1)}`).join("");
  if (solid.length) {
    const first = xs(solid[0].x).toFixed(1), last = xs(solid[solid.length - 1].x).toFixed(1);
    svg.append(el("path", { d: `${path}L${last},${ys(0)}L${first},${ys(0)}Z`, class: "area" }));
    svg.append(el("path", { d: path, class: "line" }));
    const end = visible[visible.length - 1];
    if (solid !== visible) {
      const prev = solid[solid.length - 1];
      svg.append(el("path", { d: `M${xs(prev.x)},${ys(prev.y)}L${xs(end.x)},${ys(end.y)}`, class: "line partial" }));
      const dot = el("circle", { cx: xs(end.x), cy: ys(end.y), r: 3.5, class: "dot partial" });
      dot.append(el("title", {}, `${xFormat(end.x)} so far: ${yFormat(end.y)}`));
      svg.append(dot);
    } else {
      svg.append(el("circle", { cx: xs(end.x), cy: ys(end.y), r: 3.5, class: "dot" }));
    }
  }
  const ticks = 6;
  const labels = [];
  for (let i = 0; i <= ticks; i++) {
    const x = new Date(x0.getTime() + (span * i) / ticks);
    labels.push({ x: xs(x), label: xFormat(x), anchor: i === 0 ? "start" : i === ticks ? "end" : "middle" });
  }
  xLabels(svg, height, labels);
  container.replaceChildren(svg);
}

// Vertical bars per day. points: [{x: Date, y: number}].
export function barChart(container, { points, yTitle, yFormat = fmt.compact, xFormat = fmt.day, emptyText = "No data in this range" }) {
  if (!points.length || points.every((p) => p.y === 0)) return empty(container, emptyText);
  const { svg, width, height } = svgFor(container);
  const yTicks = niceTicks(Math.max(...points.map((p) => p.y)));
  const top = yTicks[yTicks.length - 1];
  const ys = (y) => height - MARGIN.bottom - (y / top) * (height - MARGIN.top - MARGIN.bottom);
  axes(svg, width, height, yTicks, ys, yFormat, yTitle);
  const band = (width - MARGIN.left - MARGIN.right) / points.length;
  const barWidth = Math.max(2, Math.min(28, band * 0.7));
  const every = Math.ceil(points.length / 8);
  const labels = [];
  points.forEach((p, i) => {
    const cx = MARGIN.left + band * (i + 0.5);
    const rect = el("rect", { x: cx - barWidth / 2, y: ys(p.y), width: barWidth, height: Math.max(0, ys(0) - ys(p.y)), rx: 3, class: "bar" });
    rect.append(el("title", {}, `${xFormat(p.x)}: ${yFormat(p.y)}`));
    svg.append(rect);
    if (i % every === 0) labels.push({ x: cx, label: xFormat(p.x) });
  });
  xLabels(svg, height, labels);
  container.replaceChildren(svg);
}

// Horizontal funnel: steps [{label, players, conversion, stepConversion}].
export function funnelChart(container, steps) {
  if (!steps.length || steps[0].players === 0) return empty(container, "Nobody entered the funnel in this range");
  const { svg, width, height } = svgFor(container);
  const right = 64;
  const barSpace = width - right;
  const rowHeight = Math.min(58, (height - 4) / steps.length);
  const first = steps[0].players;
  steps.forEach((s, i) => {
    const y = 2 + i * rowHeight;
    const barY = y + 18, h = Math.min(20, rowHeight - 26);
    svg.append(el("text", { x: 0, y: y + 12, class: "value" }, `${i + 1}. ${s.label}`));
    svg.append(el("text", { x: barSpace, y: y + 12, "text-anchor": "end", class: "label" },
      `${fmt.int(s.players)} players${i ? ` · ${fmt.pct(s.stepConversion)} of previous step` : ""}`));
    svg.append(el("rect", { x: 0, y: barY, width: barSpace, height: h, rx: 4, class: "funnel-rest" }));
    svg.append(el("rect", { x: 0, y: barY, width: Math.max(2, (s.players / first) * barSpace), height: h, rx: 4, class: "funnel-bar" }));
    svg.append(el("text", { x: width, y: barY + h / 2 + 5, "text-anchor": "end", class: "value-strong" }, fmt.pct(s.conversion)));
  });
  container.replaceChildren(svg);
}

// 100% stacked bars per mode: modes [{mode, matches, winRate, drawRate, lossRate}].
export function outcomeChart(container, modes) {
  if (!modes.length) return empty(container, "No match results in this range");
  const { svg, width, height } = svgFor(container);
  const labelWidth = 96, right = 70, top = 18, legendHeight = 22;
  const rows = modes.slice(0, 6);
  const rowHeight = Math.min(40, (height - top - legendHeight - 22) / rows.length);
  const barSpace = width - labelWidth - right;
  const xs = (v) => labelWidth + v * barSpace;
  const bottom = top + rows.length * rowHeight;
  const g = el("g", { class: "axis" });
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    g.append(el("line", { x1: xs(t), x2: xs(t), y1: top, y2: bottom, class: t === 0 ? "baseline" : "gridline" }));
    g.append(el("text", { x: xs(t), y: bottom + 14, "text-anchor": "middle" }, `${t * 100}%`));
  }
  g.append(el("text", { x: width, y: 10, "text-anchor": "end" }, "results"));
  svg.append(g);
  rows.forEach((m, i) => {
    const y = top + i * rowHeight + rowHeight * 0.18;
    const h = rowHeight * 0.64;
    svg.append(el("text", { x: 0, y: y + h / 2 + 4, class: "value" }, m.mode));
    let at = 0;
    for (const [cls, share] of [["win", m.winRate], ["draw", m.drawRate], ["loss", m.lossRate]]) {
      const rect = el("rect", { x: xs(at), y, width: Math.max(0, share * barSpace), height: h, class: cls });
      rect.append(el("title", {}, `${m.mode}: ${cls} ${fmt.pct(share)}`));
      svg.append(rect);
      if (share >= 0.08) {
        svg.append(el("text", { x: xs(at + share / 2), y: y + h / 2 + 4, "text-anchor": "middle", class: "on-bar" }, fmt.pct(share)));
      }
      at += share;
    }
    svg.append(el("text", { x: width, y: y + h / 2 + 4, "text-anchor": "end", class: "label" }, fmt.int(m.matches)));
  });
  let x = labelWidth;
  for (const [cls, name] of [["win", "Win"], ["draw", "Draw"], ["loss", "Loss"]]) {
    svg.append(el("rect", { x, y: height - 12, width: 10, height: 10, rx: 2, class: cls }));
    svg.append(el("text", { x: x + 15, y: height - 3, class: "label" }, name));
    x += 64;
  }
  container.replaceChildren(svg);
}
