// Detail view of the head explorer: the locked head's (or the combination's) query × key matrix for one
// image and branch, with scale gridlines, log / linear colour, per-head / global normalisation, sink-scale
// masking and, when comparing with a cache schedule, the blocks it drops greyed. Pure state → text steps
// (title, legend label, notes) here; the pixels come from ./matrix.ts; drawMatrix() paints a canvas and is
// shared with the compare view.
import * as Plot from "@observablehq/plot";
import { interpolateViridis } from "d3";
import { METRIC_INFO, METRIC_NAMES, type ScaleLayout } from "../../metrics/heads.js";
import type { HeadRow, PackedMatrix } from "../explorer-data.js";
import type { ExplorerState } from "../explorer-state.js";
import { type ExplorerContext, type ScheduleProvider, type ScheduleView, selectedHeads } from "./context.js";
import { el, rgbaCanvas, select, sizeCanvas } from "./dom.js";
import { colourTop, MAX_PIXELS, matrixPixels, poolMatrix } from "./matrix.js";

type Labels = Pick<ExplorerContext, "headLabel" | "imageLabel" | "scaleLabel">;

/** "L0·H1" or "mean of L0·H1, L2·H3" for the selected heads. */
export const selectionLabel = (state: ExplorerState, heads: readonly number[], labels: Pick<Labels, "headLabel">): string =>
  heads.length > 1 ? `${state.agg} of ${heads.map(labels.headLabel).join(", ")}` : labels.headLabel(heads[0]);

export function detailTitle(state: ExplorerState, heads: readonly number[], labels: Labels): string {
  return `${selectionLabel(state, heads, labels)} · ${labels.imageLabel(state.image)} · ${state.branch}${state.scale >= 0 ? ` · queries of scale ${labels.scaleLabel(state.scale)}` : ""}`;
}

/** The colour legend's label. */
export function legendLabel(state: Pick<ExplorerState, "norm" | "sink">, sigma: number): string {
  return `attention probability A[q, k] (${state.norm === "global" ? "global 0–1" : "max of this view, scale-0 row excluded"}${state.sink ? `; hatched = sink scales 0–${sigma - 1} masked` : ""})`;
}

/** One head's labels and metrics in a line. */
export const headFacts = (r: HeadRow, named = false): string =>
  `${r.scalekv}${named ? " (ScaleKV)" : ""} · ${r.hack}${named ? " (HACK)" : ""} · ` +
  METRIC_NAMES.map((m) => `${METRIC_INFO[m].label} ${r[m].toFixed(3)}`).join(" · ");

/** The caption under the matrix: rows, columns, pooling. */
export function detailCaption(
  state: Pick<ExplorerState, "scale">,
  grid: readonly number[],
  patchNums: readonly number[],
  cols: number,
  labels: Pick<Labels, "scaleLabel">,
): string {
  return `Rows: query tokens${state.scale >= 0 ? ` of scale ${labels.scaleLabel(state.scale)}` : ", scale by scale (coarse at top)"}; columns: key tokens of every visible scale; white lines = scale boundaries; white area = later scales (block-causal mask). ${grid.some((g, i) => g !== patchNums[i]) ? "Big scales are stored pooled to the grid " + grid.join(",") + "; " : ""}${cols > MAX_PIXELS ? `max-pooled to ${MAX_PIXELS} px per side.` : ""}`;
}

/** What a schedule keeps of the shown attention mass, as a sentence. */
export const scheduleNote = (scheduleLabel: string, selection: string, keptMass: number, totalMass: number): string =>
  `${scheduleLabel}: grey blocks are the (target scale, source scale) entries it drops for ${selection}; it keeps ${((100 * keptMass) / Math.max(1e-12, totalMass)).toFixed(1)} % of this head's attention mass in the shown rows.`;

/**
 * The schedule compared with (state.cmp = "schedule"): its view, or the provider's error; `dropped` greys
 * its dropped blocks of the locked head (null for a combination of heads, which it does not apply to).
 */
export function resolveSchedule(
  state: ExplorerState,
  provider: ScheduleProvider | undefined,
  selectedCount: number,
): { view: ScheduleView | null; error: string; dropped: ((t: number, s: number) => boolean) | null } {
  if (state.cmp !== "schedule" || !provider) return { view: null, error: "", dropped: null };
  const sv = provider(state.sched, state.budget);
  if ("error" in sv) return { view: null, error: sv.error, dropped: null };
  const { layer, head } = state;
  return { view: sv, error: "", dropped: selectedCount === 1 ? (t, s) => !sv.keep(t, s, layer, head) : null };
}

/** Scale gridlines (x at every key scale start before c1; y too when every row is shown) as fractions of the side. */
export function gridlines(lay: ScaleLayout, scale: number, c1: number): { x: number[]; y: number[] } {
  const x: number[] = [];
  const y: number[] = [];
  for (let s = 1; s < lay.patchNums.length; s++) {
    const b = lay.begin[s];
    if (b < c1) x.push(b / c1);
    if (scale < 0) y.push(b / lay.total);
  }
  return { x, y };
}

/** Draw a packed matrix on a canvas under the current state; returns the colour top and the masses. */
export function drawMatrix(
  ctx: Pick<ExplorerContext, "lay" | "sigma" | "opts">,
  state: ExplorerState,
  canvas: HTMLCanvasElement,
  A: PackedMatrix,
  dropped: ((t: number, s: number) => boolean) | null,
): { vmax: number; keptMass: number; totalMass: number } {
  const p = poolMatrix(A, ctx.lay, { scale: state.scale, sink: state.sink, sigma: ctx.sigma, dropped });
  const top = colourTop(p, state.norm);
  const size = Math.min(ctx.opts.width ? ctx.opts.width / 2 - 30 : 440, 440);
  const Wd = size;
  const Hd = Math.max(40, Math.round((size * p.ph) / p.pw));
  const c = sizeCanvas(canvas, Wd, Hd);
  c.imageSmoothingEnabled = false;
  c.drawImage(rgbaCanvas(matrixPixels(p, top, state.color), p.pw, p.ph), 0, 0, Wd, Hd);
  c.strokeStyle = "rgba(255,255,255,0.85)";
  c.lineWidth = 1;
  const g = gridlines(ctx.lay, state.scale, p.cols);
  for (const fx of g.x) {
    c.beginPath();
    c.moveTo(fx * Wd, 0);
    c.lineTo(fx * Wd, Hd);
    c.stroke();
  }
  for (const fy of g.y) {
    c.beginPath();
    c.moveTo(0, fy * Hd);
    c.lineTo(Wd, fy * Hd);
    c.stroke();
  }
  // the clicked patch: its row (gives) or its column (receives)
  if (state.patch >= 0) {
    c.strokeStyle = "#ff2d55";
    c.lineWidth = 1.5;
    if (state.dir === "gives" && state.patch >= p.r0 && state.patch < p.r1) {
      const y = ((state.patch - p.r0 + 0.5) / p.rows) * Hd;
      c.strokeRect(0, y - 2, Wd, 4);
    } else if (state.dir === "receives" && state.patch < p.cols) {
      const x = ((state.patch + 0.5) / p.cols) * Wd;
      c.strokeRect(x - 2, 0, 4, Hd);
    }
  }
  canvas.dataset.rows = String(p.rows);
  canvas.dataset.cols = String(p.cols);
  canvas.dataset.vmax = p.vmax.toPrecision(4);
  canvas.dataset.checksum = p.checksum.toPrecision(8);
  return { vmax: top, keptMass: p.keptMass, totalMass: p.totalMass };
}

export function legendFor(state: ExplorerState, sigma: number, vmax: number): Element {
  const label = legendLabel(state, sigma);
  return state.color === "log"
    ? (Plot.legend({ color: { type: "log", domain: [vmax * 1e-4, vmax], interpolate: interpolateViridis, label }, width: 360, tickFormat: "~e" }) as Element)
    : (Plot.legend({ color: { type: "linear", domain: [0, vmax], interpolate: interpolateViridis, label }, width: 360 }) as Element);
}

/** The detail view's controls (query rows, colour, normalisation, sink scales). */
export function detailControls(ctx: ExplorerContext): HTMLElement[] {
  const state = ctx.state();
  return [
    select(
      "query rows",
      "hx-scale",
      [{ value: -1, text: "every scale" }, ...ctx.patchNums.map((_, t) => ({ value: t, text: `scale ${ctx.scaleLabel(t)}` }))],
      state.scale,
      (v) => void ctx.update({ scale: v }),
    ),
    select(
      "colour",
      "hx-color",
      [
        { value: "log", text: "log (4 decades)" },
        { value: "linear", text: "linear" },
      ],
      state.color,
      (v) => void ctx.update({ color: v }),
    ),
    select(
      "normalise",
      "hx-norm",
      [
        { value: "head", text: "per head (max of this view)" },
        { value: "global", text: "global (probability 0–1)" },
      ],
      state.norm,
      (v) => void ctx.update({ norm: v }),
    ),
    select(
      "sink scales",
      "hx-sink",
      [
        { value: "show", text: "shown" },
        { value: "mask", text: `masked (scales 0–${ctx.sigma - 1})` },
      ],
      state.sink ? "mask" : "show",
      (v) => void ctx.update({ sink: v === "mask" }),
    ),
  ];
}

export function createHeadDetail(ctx: ExplorerContext) {
  const title = el("h3", { "data-testid": "hx-detail-title" });
  const canvas = el("canvas", { "data-testid": "hx-detail", class: "hx-canvas" });
  const legend = el("div", { class: "hx-legend", "data-testid": "hx-legend" });
  const info = el("div", { class: "hx-info", "data-testid": "hx-info" });
  async function draw(): Promise<void> {
    const state = ctx.state();
    const heads = selectedHeads(state, ctx.dims.numHeads);
    const label = selectionLabel(state, heads, ctx);
    title.textContent = detailTitle(state, heads, ctx);
    const r = ctx.headRows(state.image, state.branch)[heads[0]];
    if (!ctx.hasMatrices(heads)) {
      info.textContent = `No stored matrix for ${label} in this set (${ctx.idx.note ?? "matrices for a subset of heads"}).`;
      canvas.getContext("2d")?.clearRect(0, 0, canvas.width, canvas.height);
      return;
    }
    const A = await ctx.selectedMatrix(state.image, state.branch, heads);
    const sched = resolveSchedule(state, ctx.opts.schedule, heads.length);
    const res = drawMatrix(ctx, state, canvas, A, sched.dropped);
    legend.replaceChildren(legendFor(state, ctx.sigma, res.vmax));
    info.replaceChildren(
      el("p", {}, detailCaption(state, ctx.grid, ctx.patchNums, Number(canvas.dataset.cols), ctx)),
      el("p", {}, heads.length === 1 && r ? headFacts(r, true) : ""),
      ...(sched.dropped && sched.view
        ? [el("p", { "data-testid": "hx-schedule-note" }, scheduleNote(sched.view.label, label, res.keptMass, res.totalMass))]
        : []),
      ...(sched.error ? [el("p", { class: "heatkv-error" }, `⚠ ${sched.error}`)] : []),
      ...(sched.view && heads.length > 1 ? [el("p", {}, "Schedule greying applies to a single locked head (clear the combination).")] : []),
    );
  }
  return { title, canvas, legend, info, draw };
}
