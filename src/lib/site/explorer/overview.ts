// Overview view of the head explorer: the layers × heads grid of per-head K × K scale-mass thumbnails,
// coloured (band under each head) and optionally sorted by a metric; hover = preview tip, click = lock,
// shift-click = add to / remove from the combined selection. overviewModel() is the pure state → drawing
// data step (order, cell positions, band colours, rings, caption); drawOverview() paints it.
import * as Plot from "@observablehq/plot";
import { interpolateViridis, interpolateYlOrRd } from "d3";
import { METRIC_INFO, METRIC_NAMES } from "../../metrics/heads.js";
import type { HeadRow } from "../explorer-data.js";
import type { ExplorerState, MetricName } from "../explorer-state.js";
import { LUT_HEAT, LUT_VIRIDIS, lutCss } from "./colour.js";
import { type Dims, type ExplorerContext, headLabel } from "./context.js";
import { el, rgbaCanvas, sizeCanvas } from "./dom.js";

/** Cell side (CSS px) of the grid for a page width: 34–72 px, at least 8 columns' worth. */
export function overviewCellPx(numHeads: number, widthPx = 900): { cellPx: number; thumbPx: number } {
  const cellPx = Math.max(34, Math.min(72, Math.floor(widthPx / Math.max(8, numHeads)) - 2));
  return { cellPx, thumbPx: cellPx - 14 };
}

/** [min, max] of a metric over the heads that have a row (±Infinity when none). */
export function metricRange(rows: readonly (HeadRow | undefined)[], metric: MetricName): [number, number] {
  const v = rows
    .filter((r): r is HeadRow => !!r)
    .map((r) => r[metric])
    .filter(Number.isFinite);
  return [Math.min(...v), Math.max(...v)];
}

/** Heads in grid order (l·H + h), or by the metric (highest first; ties and missing rows by index). */
export function overviewOrder(rows: readonly (HeadRow | undefined)[], metric: MetricName, sort: boolean, count: number): number[] {
  const all = Array.from({ length: count }, (_, i) => i);
  return sort ? all.sort((a, b) => (rows[b]?.[metric] ?? -Infinity) - (rows[a]?.[metric] ?? -Infinity) || a - b) : all;
}

export interface OverviewCell {
  lh: number;
  /** top-left corner, CSS px */
  x: number;
  y: number;
  label: string;
  /** position of the head's metric on the band colour scale, 0–1 (0.5 when every head has the same value) */
  band: number;
  /** label drawn white on a dark band */
  lightLabel: boolean;
  ring: "locked" | "combined" | null;
}

export interface OverviewModel {
  order: number[];
  cellPx: number;
  thumbPx: number;
  widthPx: number;
  heightPx: number;
  range: [number, number];
  /** heads with a row, in drawing order */
  cells: OverviewCell[];
  caption: string;
  legendLabel: string;
}

/** Position (CSS px) of head lh in a grid of numHeads columns drawn in `order`. */
export function cellPosition(order: readonly number[], lh: number, numHeads: number, cellPx: number): { x: number; y: number } {
  const i = order.indexOf(lh);
  return { x: (i % numHeads) * cellPx, y: Math.floor(i / numHeads) * cellPx };
}

/** The head under a point (CSS px from the grid's corner), or null outside the grid. */
export function headAt(order: readonly number[], dims: Pick<Dims, "numLayers" | "numHeads">, cellPx: number, x: number, y: number): number | null {
  const col = Math.floor(x / cellPx);
  const row = Math.floor(y / cellPx);
  if (col < 0 || col >= dims.numHeads || row < 0 || row >= dims.numLayers) return null;
  return order[row * dims.numHeads + col] ?? null;
}

/** State → what the overview draws. */
export function overviewModel(
  state: ExplorerState,
  rows: readonly (HeadRow | undefined)[],
  dims: Pick<Dims, "numLayers" | "numHeads">,
  opts: { widthPx?: number; imageLabel: string },
): OverviewModel {
  const { numLayers: NL, numHeads: H } = dims;
  const { cellPx, thumbPx } = overviewCellPx(H, opts.widthPx);
  const order = overviewOrder(rows, state.metric, state.sort, NL * H);
  const [lo, hi] = metricRange(rows, state.metric);
  const locked = state.layer * H + state.head;
  const cells: OverviewCell[] = [];
  for (const lh of order) {
    const r = rows[lh];
    if (!r) continue;
    const band = hi > lo ? (r[state.metric] - lo) / (hi - lo) : 0.5;
    cells.push({
      lh,
      ...cellPosition(order, lh, H, cellPx),
      label: headLabel(lh, H),
      band,
      lightLabel: hi > lo && band > 0.6,
      ring: lh === locked ? "locked" : state.combine.includes(lh) ? "combined" : null,
    });
  }
  const info = METRIC_INFO[state.metric];
  const caption = `${state.sort ? `Heads sorted by ${info.label} (highest first, row by row)` : "Rows: layers 0–" + (NL - 1) + " · columns: heads 0–" + (H - 1)}. Thumbnail: target scale (rows, coarse at top) × source scale (columns), colour = √(mean attention mass). Band under each head: ${info.label}. ${opts.imageLabel}, ${state.branch}.`;
  return { order, cellPx, thumbPx, widthPx: H * cellPx, heightPx: NL * cellPx, range: [lo, hi], cells, caption, legendLabel: `${info.label} (${info.unit})` };
}

/** Every head's K × K thumbnail side by side as RGBA (K·count × K; lower triangle opaque, colour √mass). */
export function thumbnailPixels(rows: readonly (HeadRow | undefined)[], K: number, count: number): Uint8ClampedArray {
  const w = K * count;
  const d = new Uint8ClampedArray(w * K * 4);
  for (let lh = 0; lh < count; lh++) {
    const r = rows[lh];
    if (!r) continue;
    for (let t = 0; t < K; t++) {
      for (let s = 0; s <= t; s++) {
        const o = (t * w + lh * K + s) * 4;
        const j = Math.round(Math.sqrt(Math.max(0, Math.min(1, r.mass[t * K + s]))) * 255) * 3;
        d[o] = LUT_VIRIDIS[j];
        d[o + 1] = LUT_VIRIDIS[j + 1];
        d[o + 2] = LUT_VIRIDIS[j + 2];
        d[o + 3] = 255;
      }
    }
  }
  return d;
}

/** The tip's text (HTML) for one head. */
export function tipHtml(r: HeadRow, label: string): string {
  return (
    `<b>${label}</b> · ${r.scalekv} · ${r.hack}<br>` +
    METRIC_NAMES.map((m) => `${METRIC_INFO[m].label}: ${r[m].toFixed(3)}`).join("<br>") +
    `<br><i>click: lock · shift-click: combine</i>`
  );
}

/** Paint a model on the overview canvas; `thumbs` is thumbnailPixels() as a canvas. */
export function drawOverview(canvas: HTMLCanvasElement, m: OverviewModel, thumbs: CanvasImageSource, K: number): void {
  const c = sizeCanvas(canvas, m.widthPx, m.heightPx);
  c.fillStyle = "#fff";
  c.fillRect(0, 0, m.widthPx, m.heightPx);
  c.imageSmoothingEnabled = false;
  const { cellPx, thumbPx } = m;
  for (const cell of m.cells) {
    const { x, y } = cell;
    c.fillStyle = lutCss(LUT_HEAT, cell.band); // metric band behind the label
    c.fillRect(x + 1, y + thumbPx + 2, cellPx - 2, cellPx - thumbPx - 3);
    c.drawImage(thumbs, cell.lh * K, 0, K, K, x + (cellPx - thumbPx) / 2, y + 1, thumbPx, thumbPx);
    c.fillStyle = cell.lightLabel ? "#fff" : "#111";
    c.font = "9px sans-serif";
    c.textAlign = "center";
    c.fillText(cell.label, x + cellPx / 2, y + cellPx - 3);
    c.textAlign = "start";
    if (cell.ring) {
      c.strokeStyle = cell.ring === "locked" ? "#ff2d55" : "#0a84ff";
      c.lineWidth = 2.5;
      c.strokeRect(x + 1.5, y + 1.5, cellPx - 3, cellPx - 3);
    }
  }
}

/** The overview's elements and its draw(); events go through ctx.update(). */
export function createOverview(ctx: ExplorerContext) {
  const { numLayers: NL, numHeads: H, scales: K } = ctx.dims;
  const canvas = el("canvas", { "data-testid": "hx-overview", class: "hx-canvas" });
  const tip = el("div", { class: "hx-tip", "data-testid": "hx-tip" });
  tip.hidden = true;
  const legend = el("div", { class: "hx-legend" });
  const caption = el("p", { class: "hx-caption" });
  let model: OverviewModel | null = null;
  let thumbLegend: Element | undefined;
  const thumbCache = new Map<string, HTMLCanvasElement>();
  const thumbnails = (): HTMLCanvasElement => {
    const { image, branch } = ctx.state();
    const key = `${image}/${branch}`;
    let cv = thumbCache.get(key);
    if (!cv) thumbCache.set(key, (cv = rgbaCanvas(thumbnailPixels(ctx.headRows(image, branch), K, NL * H), K * NL * H, K)));
    return cv;
  };
  const pointHead = (ev: MouseEvent): number | null => {
    if (!model) return null;
    const rect = canvas.getBoundingClientRect();
    return headAt(model.order, ctx.dims, model.cellPx, ev.clientX - rect.left, ev.clientY - rect.top);
  };
  canvas.addEventListener("mousemove", (ev) => {
    const lh = pointHead(ev);
    if (lh === null || !model) return void (tip.hidden = true);
    const { image, branch } = ctx.state();
    const r = ctx.headRows(image, branch)[lh];
    if (!r) return;
    tip.hidden = false;
    const { x, y } = cellPosition(model.order, lh, H, model.cellPx);
    tip.style.left = `${x + model.cellPx + 4}px`;
    tip.style.top = `${y}px`;
    tip.innerHTML = tipHtml(r, ctx.headLabel(lh));
    // preview: the head's target × source scale mass, enlarged
    const pv = document.createElement("canvas");
    pv.width = pv.height = 96;
    pv.style.cssText = "display:block;margin-top:4px;image-rendering:pixelated";
    const pc = pv.getContext("2d")!;
    pc.imageSmoothingEnabled = false;
    pc.drawImage(thumbnails(), lh * K, 0, K, K, 0, 0, 96, 96);
    tip.append(pv);
  });
  canvas.addEventListener("mouseleave", () => void (tip.hidden = true));
  canvas.addEventListener("click", (ev) => {
    const lh = pointHead(ev);
    if (lh === null) return;
    const state = ctx.state();
    if (ev.shiftKey) {
      if (lh === state.layer * H + state.head) return;
      const combine = state.combine.includes(lh) ? state.combine.filter((x) => x !== lh) : [...state.combine, lh];
      void ctx.update({ combine });
    } else void ctx.update({ layer: Math.floor(lh / H), head: lh % H, combine: [] });
  });
  function draw(): void {
    const state = ctx.state();
    model = overviewModel(state, ctx.headRows(state.image, state.branch), ctx.dims, { widthPx: ctx.opts.width, imageLabel: ctx.imageLabel(state.image) });
    drawOverview(canvas, model, thumbnails(), K);
    caption.textContent = model.caption;
    legend.replaceChildren(
      Plot.legend({ color: { type: "linear", domain: model.range, interpolate: interpolateYlOrRd, label: model.legendLabel }, width: 320 }) as Element,
      (thumbLegend ??= Plot.legend({
        color: { type: "sqrt", domain: [0, 1], interpolate: interpolateViridis, label: "thumbnail: mean attention mass of target on source (0–1)" },
        width: 320,
      }) as Element),
    );
  }
  return { canvas, tip, legend, caption, draw };
}
