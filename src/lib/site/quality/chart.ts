// The quality-vs-memory chart (quality.md): mean metric vs measured peak KV bytes (log x), one line and a
// 95 % band per method label, each series with its own colour and marker (style.ts) and a direct label at
// its right end; legend and x domain follow the cells shown (the full-cache rule only when it is inside).
// chartData() is the pure cells → marks step; the reference method comes from the registry
// (src/lib/site/methods.ts).
import * as Plot from "@observablehq/plot";
import { formatBytes } from "../format.js";
import { referenceMethods } from "../methods.js";
import { byCodePoint, type Cell, metricOption, pct } from "./cells.js";
import { seriesStyles } from "./style.js";

export type ChartPoint = Cell & { kib: number };

/** Cells → the chart's points (feasible compressed cells, by label then bytes), the reference cell, the budget marks. */
export function chartData(
  cells: readonly Cell[],
  reference: readonly string[] = referenceMethods(),
): { points: ChartPoint[]; full: Cell | undefined; labels: string[]; budgetMarks: { kib: number; text: string }[] } {
  const points = cells
    .filter((c) => !reference.includes(c.method) && !c.infeasible && Number.isFinite(c.mean))
    .map((c) => ({ ...c, kib: c.bytes / 1024 }))
    .sort((a, b) => byCodePoint(a.label, b.label) || a.kib - b.kib);
  const full = cells.find((c) => reference.includes(c.method));
  // one label per swept budget, at the mean measured bytes of that budget over the methods shown
  const budgetMarks = [...new Set(points.map((d) => d.ratio))].map((ratio) => {
    const at = points.filter((d) => d.ratio === ratio);
    return { kib: at.reduce((a, d) => a + d.kib, 0) / at.length, text: pct(ratio) };
  });
  return { points, full, labels: [...new Set(points.map((d) => d.label))], budgetMarks };
}

/** The x domain (KiB) of the points shown, padded on the log scale; the full cache's rule only inside it. */
export function xDomain(points: readonly ChartPoint[]): [number, number] {
  const k = points.map((p) => p.kib).filter((v) => v > 0);
  if (k.length === 0) return [1, 2];
  const lo = Math.min(...k);
  const hi = Math.max(...k);
  return [lo / 1.15, hi * (hi === lo ? 1.3 : 1.6)]; // room on the right for the direct labels
}

/** The rightmost point of every series (where its direct label goes). */
export const seriesEnds = (points: readonly ChartPoint[]): ChartPoint[] =>
  [...new Set(points.map((p) => p.label))].map((l) => points.filter((p) => p.label === l).reduce((a, b) => (b.kib > a.kib ? b : a)));

/**
 * Mean metric vs measured peak KV bytes (log x), one line + 95 % band per method, distinct colour and marker
 * per series (assigned from `labels`, every swept label), direct labels; legend and x follow the cells shown.
 */
export function qualityChart(
  cells: readonly Cell[],
  metric: string,
  opts: { labels: string[]; width?: number; height?: number; testid?: string },
): HTMLElement {
  const m = metricOption(metric);
  const { points: data, full, labels: shown, budgetMarks } = chartData(cells);
  const styles = seriesStyles([...opts.labels, ...shown]);
  const domain = xDomain(data);
  const fullKib = full ? full.bytes / 1024 : Number.NaN;
  const plot = Plot.plot({
    width: opts.width ?? 760,
    height: opts.height ?? 440,
    marginLeft: 60,
    marginRight: 20,
    title: `${m.label} vs KV-cache memory`,
    subtitle: `mean per (method, budget)${m.setLevel ? "" : ", band = the cell's 95 % t-interval (paired differences: verdict table)"}; x = measured peak KV per image${full ? ` (full cache ${formatBytes(full.bytes)})` : ""}`,
    x: { type: "log", label: "measured peak KV cache per image (KiB, log scale) →", grid: true, domain },
    y: { label: `${m.higherIsBetter ? "↑" : "↓"} ${m.axis}`, grid: true },
    color: { legend: true, domain: shown, range: shown.map((l) => styles.get(l)!.color) },
    symbol: { domain: shown, range: shown.map((l) => styles.get(l)!.symbol) },
    marks: [
      m.setLevel ? null : Plot.areaY(data, { x: "kib", y1: "lo", y2: "hi", fill: "label", fillOpacity: 0.1, z: "label" }),
      Plot.line(data, { x: "kib", y: "mean", stroke: "label", z: "label", strokeWidth: 1.8 }),
      Plot.dot(data, { x: "kib", y: "mean", stroke: "label", symbol: "label", r: 4, strokeWidth: 1.6, fill: "white" }),
      Plot.text(seriesEnds(data), { x: "kib", y: "mean", text: "label", fill: "label", textAnchor: "start", dx: 7, fontSize: 10 }),
      Plot.text(budgetMarks, { x: "kib", text: "text", frameAnchor: "top", dy: 6, fontSize: 10, fill: "#666" }),
      Plot.tickX(budgetMarks, { x: "kib", stroke: "#bbb", strokeDasharray: "2,3" }),
      full && fullKib >= domain[0] && fullKib <= domain[1] ? Plot.ruleX([fullKib], { stroke: "#888", strokeDasharray: "4,3" }) : null,
      Plot.tip(
        data,
        Plot.pointer({
          x: "kib",
          y: "mean",
          title: (d: Cell) =>
            `${d.label} @ ${pct(d.ratio)}\n${formatBytes(d.bytes)} peak (measured)\n${m.label}: ${d.mean.toFixed(4)}${Number.isFinite(d.lo) ? ` [${d.lo.toFixed(4)}, ${d.hi.toFixed(4)}]` : ""}\nn = ${d.n}`,
        }),
      ),
    ],
  }) as HTMLElement;
  const wrapper = document.createElement("div");
  wrapper.className = "heatkv-quality";
  wrapper.dataset.testid = opts.testid ?? "quality-chart";
  wrapper.dataset.methods = JSON.stringify(shown);
  wrapper.append(plot);
  return wrapper;
}
