// Heatmap explorer views (pages: heatmaps.md, calibration.md). Queries run in DuckDB-wasm on the
// attention statistics (table `attention`, schema heatkv-stats/1); charts are Observable Plot SVGs.
import * as Plot from "@observablehq/plot";
import { scasSql } from "../schema/stats.js";
import type { Database } from "./duckdb.js";

export interface ExplorerState {
  source: number;
  /** a target scale, or -1 for "every later target" (mean over t > s, as S-CAS averages) */
  target: number;
  /** class index or -1 for every class */
  classIndex: number;
  branch: "cond" | "uncond";
}

export interface Head {
  layer: number;
  head: number;
}

export interface HeadCell extends Head {
  mass: number;
}

const classWhere = (c: number) => (c >= 0 ? `class_index = ${Math.trunc(c)}` : "TRUE");
const branchSql = (b: string) => (b === "uncond" ? "'uncond'" : "'cond'");

/** SQL of the layer × head heatmap for a state (exported for tests and the page's "show SQL"). */
export function heatmapSql(s: ExplorerState): string {
  const target = s.target >= 0 ? `target_scale = ${Math.trunc(s.target)}` : `target_scale > ${Math.trunc(s.source)}`;
  return `SELECT layer, head, avg(mass) AS mass
FROM attention
WHERE branch = ${branchSql(s.branch)} AND source_scale = ${Math.trunc(s.source)} AND ${target} AND ${classWhere(s.classIndex)}
GROUP BY layer, head ORDER BY layer, head`;
}

export function headMatrixSql(h: Head, s: Pick<ExplorerState, "classIndex" | "branch">): string {
  return `SELECT target_scale, source_scale, avg(mass) AS mass
FROM attention
WHERE layer = ${Math.trunc(h.layer)} AND head = ${Math.trunc(h.head)} AND branch = ${branchSql(s.branch)} AND ${classWhere(s.classIndex)}
GROUP BY target_scale, source_scale ORDER BY target_scale, source_scale`;
}

export async function heatmapCells(db: Database, s: ExplorerState): Promise<HeadCell[]> {
  return db.query<HeadCell>(heatmapSql(s));
}

/** outline colour of the locked head */
export const SELECTED = "#ff2d55";

const COLOR = { scheme: "viridis" as const, legend: true, label: "attention mass (mean over queries, 0–1)" };

/**
 * Layer × head heatmap. Hover shows a tip; a click locks a head: the returned element's `value` becomes
 * {layer, head} and it dispatches "input" (Framework's view() follows it), hover does not.
 */
export function layerHeadHeatmap(
  cells: readonly HeadCell[],
  opts: { numLayers: number; numHeads: number; selected: Head | null; title: string; subtitle?: string; width?: number },
): HTMLElement {
  const { numLayers, numHeads, selected } = opts;
  const plot = Plot.plot({
    width: Math.min(opts.width ?? 640, 80 + numHeads * 56),
    height: 70 + numLayers * 40,
    marginLeft: 60,
    title: opts.title,
    subtitle: opts.subtitle,
    x: { label: "head →", domain: Array.from({ length: numHeads }, (_, i) => i), axis: "top" },
    y: { label: "layer ↓", domain: Array.from({ length: numLayers }, (_, i) => i) },
    color: { ...COLOR, domain: [0, Math.max(1e-9, ...cells.map((c) => c.mass))] },
    marks: [
      Plot.cell(cells, { x: "head", y: "layer", fill: "mass", inset: 0.5 }),
      Plot.text(cells, {
        x: "head",
        y: "layer",
        text: (d: HeadCell) => d.mass.toFixed(2),
        fill: (d: HeadCell) => (d.mass > 0.6 * Math.max(...cells.map((c) => c.mass)) ? "black" : "white"),
        fontSize: 10,
      }),
      Plot.tip(
        cells,
        Plot.pointer({ x: "head", y: "layer", title: (d: HeadCell) => `layer ${d.layer}, head ${d.head}\nmass ${d.mass.toFixed(4)}\nclick to lock` }),
      ),
    ],
  }) as HTMLElement & { value?: HeadCell };
  plot.style.cursor = "pointer";
  const wrapper = document.createElement("div") as HTMLDivElement & { value: Head | null };
  wrapper.className = "heatkv-heatmap";
  wrapper.dataset.cells = String(cells.length);
  wrapper.value = selected;
  wrapper.append(plot);
  // outline the locked head on the cell mark itself (its rects follow the data order of `cells`)
  const outline = (sel: Head | null) => {
    const rects = plot.querySelector("g[aria-label='cell']")?.querySelectorAll("rect") ?? [];
    rects.forEach((r, i) => {
      const on = sel !== null && cells[i]?.layer === sel.layer && cells[i]?.head === sel.head;
      r.setAttribute("stroke", on ? SELECTED : "none");
      r.setAttribute("stroke-width", on ? "3" : "0");
    });
  };
  outline(selected);
  plot.addEventListener("input", (e) => e.stopPropagation());
  plot.addEventListener("click", () => {
    if (!plot.value) return;
    wrapper.value = { layer: plot.value.layer, head: plot.value.head };
    outline(wrapper.value);
    wrapper.dispatchEvent(new Event("input", { bubbles: true }));
  });
  return wrapper;
}

/** Target × source scale matrix of one head (lower triangle incl. the diagonal = own scale). */
export function scaleMatrix(
  rows: readonly { target_scale: number; source_scale: number; mass: number }[],
  opts: { numScales: number; patchNums: number[]; title: string; width?: number },
): HTMLElement {
  const lab = (s: number) => `${s} (${opts.patchNums[s]}×${opts.patchNums[s]})`;
  const domain = Array.from({ length: opts.numScales }, (_, i) => i);
  return Plot.plot({
    width: Math.min(opts.width ?? 520, 520),
    height: 420,
    marginLeft: 80,
    marginBottom: 50,
    title: opts.title,
    subtitle: "row: target scale t (queries) · column: source scale s ≤ t (keys) · diagonal = own scale",
    x: { label: "source scale s (keys) →", domain, tickFormat: lab, tickRotate: -30 },
    y: { label: "↓ target scale t (queries)", domain, tickFormat: lab },
    color: { ...COLOR, domain: [0, 1] },
    marks: [
      Plot.cell(rows, { x: "source_scale", y: "target_scale", fill: "mass", inset: 0.5 }),
      Plot.text(rows, {
        x: "source_scale",
        y: "target_scale",
        text: (d: { mass: number }) => d.mass.toFixed(2),
        fill: (d: { mass: number }) => (d.mass > 0.6 ? "black" : "white"),
        fontSize: 10,
      }),
      Plot.tip(
        rows,
        Plot.pointer({
          x: "source_scale",
          y: "target_scale",
          title: (d: { target_scale: number; source_scale: number; mass: number }) => `t=${d.target_scale} → s=${d.source_scale}: ${d.mass.toFixed(4)}`,
        }),
      ),
    ],
  }) as HTMLElement;
}

export interface RankRow extends Head {
  source_scale: number;
  scas: number;
  rank: number;
}

/** Heads ranked by S-CAS for one source scale (ascending: HeatKV drops the first ones first). */
export async function ranking(db: Database, numScales: number, sigma: number, source: number, classIndex: number): Promise<RankRow[]> {
  const rows = await db.query<Omit<RankRow, "rank">>(scasSql(numScales, sigma, `${classWhere(classIndex)} AND source_scale = ${Math.trunc(source)}`));
  return rows.sort((a, b) => a.scas - b.scas || a.head - b.head || a.layer - b.layer).map((r, i) => ({ ...r, rank: i + 1 }));
}
