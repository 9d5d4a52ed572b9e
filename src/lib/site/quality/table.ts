// The quality page's tables (quality.md): every (method, budget) cell with its interval, bytes check and
// set-level metrics, the infeasible cells with their message, and the tune-to-target table. cellRows() and
// tuneRows() are the pure cells → rows steps.
import type { CellStat } from "../../metrics/sweep.js";
import { formatBytes, formatMs, formatNumber, renderTable } from "../format.js";
import { byCodePoint, type Cell, metricOption, pct } from "./cells.js";

const f4 = (v: number) => (Number.isFinite(v) ? formatNumber(v, 4) : "—");

/** One display row per cell, by label then budget. */
export function cellRows(cells: readonly Cell[]) {
  return [...cells]
    .sort((a, b) => byCodePoint(a.label, b.label) || a.ratio - b.ratio)
    .map((c) => ({
      method: c.label,
      budget: pct(c.ratio),
      bytes: c.infeasible ? "—" : `${formatBytes(c.bytes)}${c.bytesMatch ? " ✓" : " ≠ predicted"}`,
      n: c.n,
      value: c.infeasible ? "infeasible (below)" : `${f4(c.mean)}${Number.isFinite(c.lo) ? ` ± ${f4((c.hi - c.lo) / 2)}` : ""}`,
      identical: c.infeasible ? "—" : `${(100 * c.identical).toFixed(0)} %`,
      fd: c.fdEmoji === null ? "—" : f4(Number(c.fdEmoji)),
      acc: c.accuracy === null ? "—" : `${(100 * Number(c.accuracy)).toFixed(1)} %`,
      ms: c.infeasible ? "—" : formatMs(c.ms),
    }));
}

/** "label @ budget: message" of every infeasible cell. */
export const infeasibleLines = (cells: readonly Cell[]): string[] =>
  cells.filter((c) => c.infeasible).map((c) => `${c.label} @ ${pct(c.ratio)}: ${c.message ?? "infeasible"}`);

/** Infeasible cells collapsed per method: the budgets, and the schedule library's message (the distinct ones). */
export function infeasibleSummary(cells: readonly Cell[]): { method: string; budgets: string; why: string }[] {
  const by = new Map<string, Cell[]>();
  for (const c of cells.filter((c) => c.infeasible)) by.set(c.label, [...(by.get(c.label) ?? []), c]);
  return [...by.entries()]
    .sort(([a], [b]) => byCodePoint(a, b))
    .map(([label, cs]) => ({
      method: label,
      budgets: cs
        .map((c) => c.ratio)
        .sort((a, b) => a - b)
        .map(pct)
        .join(", "),
      why: [...new Set(cs.map((c) => c.message ?? "infeasible"))].join(" / "),
    }));
}

/** The infeasible cells as one small table (one row per method). */
export function infeasibleTable(cells: readonly Cell[]): HTMLElement {
  const t = renderTable(
    infeasibleSummary(cells),
    [{ key: "method" }, { key: "budgets", label: "infeasible at" }, { key: "why", label: "why (schedule library)" }],
    {
      caption: "Infeasible cells: no schedule exists at that budget (recorded, not run)",
    },
  );
  t.dataset.testid = "quality-infeasible";
  t.style.fontSize = "12px";
  return t;
}

/** The cells as a table (infeasible cells with their message). */
export function cellsTable(cells: readonly Cell[], metric: string): HTMLElement {
  const m = metricOption(metric);
  const t = renderTable(
    cellRows(cells),
    [
      { key: "method" },
      { key: "budget", label: "budget", align: "right" },
      { key: "bytes", label: "peak KV (measured; ✓ = predicted)", align: "right" },
      { key: "n", label: "images", align: "right" },
      { key: "value", label: `${m.label}: mean${m.setLevel ? "" : " ± 95 % CI"}` },
      { key: "identical", label: "identical to full", align: "right" },
      { key: "fd", label: "FD-emoji", align: "right" },
      { key: "acc", label: "class acc.", align: "right" },
      { key: "ms", label: "ms / image", align: "right" },
    ],
    { caption: "Every (method, budget) cell of the sweep (Node, onnxruntime-node); FD-emoji and class accuracy are per cell (set-level)" },
  );
  t.dataset.testid = "quality-table";
  t.style.maxWidth = "100%";
  for (const td of t.querySelectorAll("td")) td.style.whiteSpace = "nowrap";
  const div = document.createElement("div");
  div.append(t);
  return div;
}

/** Rows of the tune-to-target table. */
export const tuneRows = (found: readonly { label: string; cell: CellStat | null }[]) =>
  found.map(({ label, cell }) => ({
    method: label,
    budget: cell ? pct(cell.ratio) : "not reached in the sweep",
    bytes: cell ? formatBytes(cell.bytes) : "—",
    mean: cell ? formatNumber(cell.mean, 4) : "—",
  }));

/** Table of the quality page's tune-to-target control. */
export function tuneTable(found: readonly { label: string; cell: CellStat | null }[], metric: string, target: number): HTMLElement {
  const m = metricOption(metric);
  const t = renderTable(
    tuneRows(found),
    [
      { key: "method" },
      { key: "budget", label: "smallest swept budget", align: "right" },
      { key: "bytes", label: "peak KV (measured)", align: "right" },
      { key: "mean", label: `mean ${m.label}`, align: "right" },
    ],
    { caption: `Smallest budget with mean ${m.label} ${m.higherIsBetter ? "≥" : "≤"} ${target}` },
  );
  t.dataset.testid = "tune-table";
  return t;
}
