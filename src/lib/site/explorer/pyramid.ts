// Pyramid view of the head explorer: the image decoded after every scale; click a token of scale t → the
// attention it gives to every earlier scale drawn over those scales ("gives"), or who attends to it from the
// later scales ("receives"). pyramidOverlay() is the pure state → drawing data step (per-scale values, their
// sums, the common normalisation); drawPyramidScale() paints one scale.
import type { ScaleLayout } from "../../metrics/heads.js";
import type { PackedMatrix } from "../explorer-data.js";
import type { ExplorerState } from "../explorer-state.js";
import { type ExplorerContext, packedValue, selectedHeads } from "./context.js";
import { el, rgbaCanvas, select, sizeCanvas } from "./dom.js";
import { selectionLabel } from "./head-detail.js";

/** The token (absolute index in the stored grid) at fractions (fx, fy) ∈ [0, 1) of scale t's image. */
export function pyramidTokenAt(lay: ScaleLayout, grid: readonly number[], t: number, fx: number, fy: number): number {
  const g = grid[t];
  const j = Math.min(g - 1, Math.floor(fx * g));
  const i = Math.min(g - 1, Math.floor(fy * g));
  return lay.begin[t] + i * g + j;
}

/** Side (CSS px) of each scale's image: 72–120 px, the K scales side by side in the page width. */
export const pyramidSizePx = (scales: number, widthPx = 900): number => Math.max(72, Math.min(120, Math.floor((widthPx - 20) / scales) - 8));

export interface ScaleOverlay {
  /** the token's attention to (gives) or from (receives) each cell of this scale, g × g row-major */
  values: Float32Array;
  /** Σ of the values */
  sum: number;
}

export interface PyramidOverlay {
  /** scale of the clicked token (−1 = none) */
  tokenScale: number;
  /** largest value on any scale (the common normalisation) */
  gmax: number;
  /** per scale: its overlay, or null where nothing is drawn */
  scales: (ScaleOverlay | null)[];
  /** "scale s: Σ …" (gives) / "scale s: mean over queries …" (receives) per drawn scale */
  sums: string[];
}

/** State → the overlay values of every scale (packed: A[q, k] = A[rowStart[q] + k] for k < visible(q)). */
export function pyramidOverlay(A: PackedMatrix | null, lay: ScaleLayout, grid: readonly number[], patch: number, dir: ExplorerState["dir"]): PyramidOverlay {
  const tq = patch >= 0 ? lay.scaleOf[patch] : -1;
  let gmax = 0;
  // gives reads row q, receives column q of the later rows
  if (A && patch >= 0) {
    if (dir === "gives") for (let k = 0; k < lay.visible[tq]; k++) gmax = Math.max(gmax, packedValue(A, lay.rowStart[patch] + k));
    else for (let r = lay.begin[tq]; r < lay.total; r++) gmax = Math.max(gmax, packedValue(A, lay.rowStart[r] + patch));
  }
  const sums: string[] = [];
  const scales = grid.map((g, s): ScaleOverlay | null => {
    if (!A || patch < 0 || !((dir === "gives" && s <= tq) || (dir === "receives" && s >= tq))) return null;
    const values = new Float32Array(g * g);
    for (let i = 0; i < g * g; i++) {
      const tok = lay.begin[s] + i;
      values[i] = dir === "gives" ? packedValue(A, lay.rowStart[patch] + tok) : packedValue(A, lay.rowStart[tok] + patch);
    }
    let sum = 0;
    for (const v of values) sum += v;
    sums.push(dir === "gives" ? `scale ${s}: Σ ${sum.toFixed(3)}` : `scale ${s}: mean over queries ${(sum / (g * g)).toFixed(4)}`);
    return { values, sum };
  });
  return { tokenScale: tq, gmax, scales, sums };
}

/** Opacity (0–0.85) of a cell's red overlay: √(value / gmax). */
export const overlayAlpha = (v: number, gmax: number): number => 0.85 * (gmax > 0 ? Math.sqrt(v / gmax) : 0);

/** The sentence under the pyramid. */
export function pyramidInfo(
  state: ExplorerState,
  heads: readonly number[],
  o: PyramidOverlay,
  lay: ScaleLayout,
  grid: readonly number[],
  labels: Pick<ExplorerContext, "headLabel" | "scaleLabel">,
): string {
  if (state.patch < 0) return "Click a token (cell) on any scale to see where its attention goes.";
  const tq = o.tokenScale;
  const i = state.patch - lay.begin[tq];
  const g = grid[tq];
  return `${state.dir === "gives" ? "Attention given by" : "Attention received by"} token (row ${Math.floor(i / g)}, col ${i % g}) of scale ${labels.scaleLabel(tq)} in ${selectionLabel(state, heads, labels)}; red opacity = √(value / largest value on any scale): ${o.gmax.toPrecision(3)}. ${o.sums.join(" · ")}`;
}

/** RGB bytes [S, S, 3] → RGBA. */
export function rgbToRgba(rgb: Uint8Array, S: number): Uint8ClampedArray {
  const d = new Uint8ClampedArray(S * S * 4);
  for (let i = 0; i < S * S; i++) {
    d[i * 4] = rgb[i * 3];
    d[i * 4 + 1] = rgb[i * 3 + 1];
    d[i * 4 + 2] = rgb[i * 3 + 2];
    d[i * 4 + 3] = 255;
  }
  return d;
}

/** Paint scale s: its image (grey when the set has none), the overlay, the token grid, the clicked token. */
export function drawPyramidScale(
  canvas: HTMLCanvasElement,
  image: CanvasImageSource | null,
  sizePx: number,
  g: number,
  overlay: ScaleOverlay | null,
  gmax: number,
  clickedCell: number | null,
): void {
  const c = sizeCanvas(canvas, sizePx, sizePx);
  c.imageSmoothingEnabled = false;
  if (image) c.drawImage(image, 0, 0, sizePx, sizePx);
  else {
    c.fillStyle = "#ddd";
    c.fillRect(0, 0, sizePx, sizePx);
  }
  const cs = sizePx / g;
  if (overlay) {
    overlay.values.forEach((v, i) => {
      c.fillStyle = `rgba(255,45,85,${overlayAlpha(v, gmax).toFixed(3)})`;
      c.fillRect((i % g) * cs, Math.floor(i / g) * cs, cs, cs);
    });
    canvas.dataset.sum = overlay.sum.toPrecision(4);
  } else delete canvas.dataset.sum;
  canvas.dataset.overlay = overlay ? "1" : "0";
  c.strokeStyle = "rgba(255,255,255,0.35)";
  c.lineWidth = 0.5;
  if (g <= 32) {
    for (let i = 1; i < g; i++) {
      c.beginPath();
      c.moveTo(i * cs, 0);
      c.lineTo(i * cs, sizePx);
      c.moveTo(0, i * cs);
      c.lineTo(sizePx, i * cs);
      c.stroke();
    }
  }
  if (clickedCell !== null) {
    c.strokeStyle = "#0a84ff";
    c.lineWidth = 2.5;
    c.strokeRect((clickedCell % g) * cs + 1, Math.floor(clickedCell / g) * cs + 1, cs - 2, cs - 2);
  }
}

export function createPyramid(ctx: ExplorerContext) {
  const { lay, grid, patchNums } = ctx;
  const box = el("div", { class: "hx-pyramid", "data-testid": "hx-pyramid" });
  const controls = el("div", { class: "hx-controls" });
  const info = el("p", { class: "hx-caption", "data-testid": "hx-pyramid-info" });
  const canvases: HTMLCanvasElement[] = patchNums.map((_, t) => {
    const c = el("canvas", { "data-testid": `hx-scale-${t}`, class: "hx-canvas", "data-scale": String(t) });
    c.addEventListener("click", (ev) => {
      const rect = c.getBoundingClientRect();
      void ctx.update({ patch: pyramidTokenAt(lay, grid, t, (ev.clientX - rect.left) / rect.width, (ev.clientY - rect.top) / rect.height), scale: t });
    });
    return c;
  });
  box.append(...canvases.map((c, t) => el("figure", {}, c, el("figcaption", {}, `scale ${ctx.scaleLabel(t)}`))));
  const rebuildControls = () =>
    controls.replaceChildren(
      select(
        "direction",
        "hx-dir",
        [
          { value: "gives", text: "attention this patch gives (to earlier scales)" },
          { value: "receives", text: "who attends to this patch (later scales)" },
        ],
        ctx.state().dir,
        (v) => void ctx.update({ dir: v }),
      ),
    );
  const imgCache = new Map<number, Promise<HTMLCanvasElement[] | null>>();
  /** the decoded images of every scale of an image (fetched once) */
  function images(image: number): Promise<HTMLCanvasElement[] | null> {
    if (!imgCache.has(image)) {
      const S = ctx.idx.model.imageSize;
      imgCache.set(
        image,
        ctx.source.pyramid(image).then((p) => p?.map((rgb) => rgbaCanvas(rgbToRgba(rgb, S), S, S)) ?? null),
      );
    }
    return imgCache.get(image)!;
  }
  async function draw(): Promise<void> {
    const state = ctx.state();
    const heads = selectedHeads(state, ctx.dims.numHeads);
    const [imgs, A] = await Promise.all([images(state.image), ctx.hasMatrices(heads) ? ctx.selectedMatrix(state.image, state.branch, heads) : null]);
    const o = pyramidOverlay(A, lay, grid, state.patch, state.dir);
    const size = pyramidSizePx(ctx.dims.scales, ctx.opts.width);
    canvases.forEach((canvas, s) => {
      const clicked = state.patch >= 0 && s === o.tokenScale ? state.patch - lay.begin[s] : null;
      drawPyramidScale(canvas, imgs ? imgs[s] : null, size, grid[s], o.scales[s], o.gmax, clicked);
    });
    box.dataset.overlays = String(o.scales.filter(Boolean).length);
    info.textContent = pyramidInfo(state, heads, o, lay, grid, ctx);
  }
  return { box, controls, info, canvases, images, rebuildControls, draw };
}
