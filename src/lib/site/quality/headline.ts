// The quality page's headline (quality.md, report.md): the best baseline at a reference budget and, per
// method, the smallest swept budget whose mean reaches it (rule: src/lib/metrics/sweep.ts headline()).
// headlineText() and headlineRows() are the pure headline → text / rows steps.
import { headline, type Headline } from "../../metrics/sweep.js";
import type { Database } from "../duckdb.js";
import { formatBytes, formatNumber, renderTable } from "../format.js";
import { metricOption, pct, queryCells } from "./cells.js";

/** The headline for one metric over all cells (every budget, not the filtered view). */
export async function queryHeadline(db: Database, metric: string, referenceRatio = 0.2): Promise<Headline> {
  const cells = await queryCells(db, metric);
  return headline(cells, { higherIsBetter: metricOption(metric).higherIsBetter, referenceRatio });
}

/** The sentence above the headline table. */
export function headlineText(h: Headline, metric: string): string {
  const m = metricOption(metric);
  return h.reference
    ? `${m.label}: the best baseline at ${pct(h.referenceRatio)} is ${h.reference.label} with mean ${formatNumber(h.target!, 4)} (${formatBytes(h.reference.bytes)} peak). Smallest swept budget per method whose mean ${m.higherIsBetter ? "≥" : "≤"} that:`
    : `${m.label}: no baseline was swept at ${pct(h.referenceRatio)}.`;
}

export const headlineRows = (h: Headline) =>
  h.rows.map((r) => ({
    method: r.label,
    budget: r.ratio === null ? "not reached in the sweep" : pct(r.ratio),
    bytes: r.bytes === null ? "—" : formatBytes(r.bytes),
    mean: r.mean === null ? "—" : formatNumber(r.mean, 4),
    memory: r.memoryRatio === null ? "—" : `${r.memoryRatio.toFixed(2)}×`,
  }));

export function headlineTable(h: Headline, metric: string): HTMLElement {
  const m = metricOption(metric);
  const div = document.createElement("div");
  div.dataset.testid = `headline-${metric}`;
  const p = document.createElement("p");
  p.textContent = headlineText(h, metric);
  div.append(p);
  div.append(
    renderTable(headlineRows(h), [
      { key: "method" },
      { key: "budget", label: "smallest matching budget", align: "right" },
      { key: "bytes", label: "peak KV (measured)", align: "right" },
      { key: "mean", label: `mean ${m.label}`, align: "right" },
      { key: "memory", label: "KV bytes ÷ best baseline's (< 1 = less memory)", align: "right" },
    ]),
  );
  return div;
}
