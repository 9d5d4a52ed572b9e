// The quality-vs-memory chart (quality.md): mean metric vs measured peak KV bytes (log x), one line and a
// 95 % band per method label, the swept budgets marked, the full-cache reference as a rule. chartData() is
// the pure cells → marks step; the reference method comes from the registry (src/lib/site/methods.ts).
import * as Plot from "@observablehq/plot";
import { formatBytes } from "../format.js";
import { referenceMethods } from "../methods.js";
import { byCodePoint, type Cell, metricOption, pct } from "./cells.js";

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

/** Mean metric vs measured peak KV bytes (log x), one line + 95 % band per method; the full cache as a rule. */
export function qualityChart(cells: readonly Cell[], metric: string, opts: { labels: string[]; width?: number }): HTMLElement {
  const m = metricOption(metric);
  const { points: data, full, labels: shown, budgetMarks } = chartData(cells);
  const plot = Plot.plot({
    width: opts.width ?? 760,
    height: 440,
    marginLeft: 60,
    marginRight: 20,
    title: `${m.label} vs KV-cache memory`,
    subtitle: `mean over the evaluation images per (method, budget)${m.setLevel ? "" : ", band = 95 % t-interval"}; x = measured peak KV cache per image (both CFG rows, fp32)${full ? `; grey rule = full cache (${formatBytes(full.bytes)})` : ""}`,
    x: { type: "log", label: "measured peak KV cache per image (KiB, log scale) →", grid: true },
    y: { label: `↑ ${m.axis}`, grid: true },
    color: { legend: true, domain: opts.labels },
    marks: [
      m.setLevel ? null : Plot.areaY(data, { x: "kib", y1: "lo", y2: "hi", fill: "label", fillOpacity: 0.14, z: "label" }),
      Plot.line(data, { x: "kib", y: "mean", stroke: "label", z: "label", strokeWidth: 1.8 }),
      Plot.dot(data, { x: "kib", y: "mean", fill: "label", r: 3.5 }),
      Plot.text(budgetMarks, { x: "kib", text: "text", frameAnchor: "top", dy: 6, fontSize: 10, fill: "#666" }),
      Plot.tickX(budgetMarks, { x: "kib", stroke: "#bbb", strokeDasharray: "2,3" }),
      full ? Plot.ruleX([full.bytes / 1024], { stroke: "#888", strokeDasharray: "4,3" }) : null,
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
  wrapper.dataset.testid = "quality-chart";
  wrapper.dataset.methods = JSON.stringify(shown);
  wrapper.append(plot);
  return wrapper;
}
