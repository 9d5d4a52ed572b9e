// Calibration page views: rank stability of S-CAS orderings and per-class differences.
import * as Plot from "@observablehq/plot";
import { scasSql } from "../schema/stats.js";
import type { Database } from "./duckdb.js";

export interface StabilityRow {
  kind: "growth" | "heldout_class";
  prompts: number;
  class_index: number | null;
  class_name: string | null;
  source_scale: number;
  tau: number;
}

const sourceLabel = (patchNums: number[]) => (s: number) => `s=${s} (${patchNums[s]}×${patchNums[s]})`;

export function growthChart(rows: readonly StabilityRow[], patchNums: number[], width = 640): HTMLElement {
  const data = rows.filter((r) => r.kind === "growth").map((r) => ({ ...r, source: sourceLabel(patchNums)(r.source_scale) }));
  return Plot.plot({
    width,
    height: 320,
    title: "How stable is the head ranking as the calibration set grows?",
    subtitle: "Kendall τ-b between the S-CAS head ordering from the first m prompts and from all prompts, per source scale",
    x: { label: "calibration prompts m →", grid: true },
    y: { label: "↑ Kendall τ vs full set", domain: [Math.min(0, ...data.map((d) => d.tau)), 1], grid: true },
    color: { legend: true, label: "source scale" },
    marks: [
      Plot.ruleY([0]),
      Plot.line(data, { x: "prompts", y: "tau", stroke: "source" }),
      Plot.dot(data, { x: "prompts", y: "tau", fill: "source", r: 3, tip: true }),
    ],
  }) as HTMLElement;
}

export function heldoutChart(rows: readonly StabilityRow[], patchNums: number[], width = 640): HTMLElement {
  const data = rows.filter((r) => r.kind === "heldout_class").map((r) => ({ ...r, source: sourceLabel(patchNums)(r.source_scale) }));
  return Plot.plot({
    width,
    height: 60 + 28 * new Set(data.map((d) => d.class_name)).size,
    marginLeft: 130,
    title: "Does the ranking generalise to an unseen class?",
    subtitle: "τ between the ordering calibrated on the other classes and the one measured on the held-out class alone",
    x: { label: "Kendall τ →", domain: [Math.min(0, ...data.map((d) => d.tau)), 1], grid: true },
    y: { label: null },
    color: { legend: true, label: "source scale" },
    marks: [Plot.ruleX([0]), Plot.dot(data, { x: "tau", y: "class_name", fill: "source", r: 5, tip: true })],
  }) as HTMLElement;
}

/** Per-class S-CAS for one source scale: one small layer × head heatmap per class. */
export async function perClassScas(db: Database, numScales: number, source: number, classes: string[]) {
  const rows = await db.query<{ class_index: number; layer: number; head: number; scas: number }>(
    scasSql(numScales, 0, `source_scale = ${Math.trunc(source)}`, ["class_index"]),
  );
  return rows.map((r) => ({ ...r, class_name: classes[r.class_index] }));
}

export function perClassChart(rows: readonly { class_name: string; layer: number; head: number; scas: number }[], width = 900): HTMLElement {
  return Plot.plot({
    width,
    height: 420,
    marginLeft: 40,
    title: "Per-class S-CAS",
    subtitle: "each panel: layers (rows) × heads (columns) of one class; colour = S-CAS on the chosen source scale",
    fx: { label: null },
    fy: { label: null },
    x: { label: "head →", axis: null },
    y: { label: "layer ↓" },
    facet: { data: rows, x: (d: { class_name: string }) => d.class_name.split(" ")[0] },
    color: { scheme: "viridis", legend: true, label: "S-CAS (attention mass, 0–1)" },
    marks: [Plot.cell(rows, { x: "head", y: "layer", fill: "scas", inset: 0.3, tip: true })],
  }) as HTMLElement;
}
