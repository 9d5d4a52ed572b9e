// The head-attention explorer (page: explorer.md; benchmark: bench/bench-explorer.ts): composes the views
// of ./explorer/ around one state (mirrored in the URL query string) and redraws only the views a change
// touches. Every matrix and grid is drawn on <canvas> (never one DOM element per cell); Plot draws the
// colour legends. Views, each a module with its pure state → drawing-data functions:
//   overview     explorer/overview.ts     layers × heads grid of scale-mass thumbnails, coloured/sorted by a metric
//   detail       explorer/head-detail.ts  the locked head's (or combination's) query × key matrix (pixels: explorer/matrix.ts)
//   compare      explorer/compare.ts      a second head or image beside it (a schedule greys the detail's blocks)
//   pyramid      explorer/pyramid.ts      the image after every scale; a clicked token's attention over the scales
//   export       explorer/export.ts       PNG and SVG of every view
import { METRIC_INFO, METRIC_NAMES } from "../metrics/heads.js";
import type { ExplorerSource } from "./explorer-data.js";
import { BRANCHES } from "./explorer-data.js";
import { decodeState, DEFAULT_STATE, encodeState, type ExplorerState } from "./explorer-state.js";
import { createCompare, compareControls } from "./explorer/compare.js";
import { createContext, type ExplorerContext, type ExplorerOptions, type ExportView, selectedHeads } from "./explorer/context.js";
import { el, select } from "./explorer/dom.js";
import { download, exportBlob, exportButtons, exportFileName, type ExportSource, stitchCanvases } from "./explorer/export.js";
import { createHeadDetail, detailControls } from "./explorer/head-detail.js";
import { createOverview } from "./explorer/overview.js";
import { createPyramid } from "./explorer/pyramid.js";

export { colourPosition } from "./explorer/colour.js";
export type { ExplorerOptions, ExportView, ScheduleProvider, ScheduleView } from "./explorer/context.js";
export { decodeState, DEFAULT_STATE, encodeState, type ExplorerState };

export interface ExplorerElement extends HTMLElement {
  state: ExplorerState;
  /** merge a change into the state and resolve when every view is redrawn */
  update(change: Partial<ExplorerState>): Promise<void>;
  /** last export: what was produced (for tests) */
  lastExport?: { view: string; format: "png" | "svg"; bytes: number; type: string };
  exportView(view: ExportView, format: "png" | "svg"): Promise<Blob>;
}

/** State keys whose change redraws each part (an empty change = the first render redraws everything). */
export const REDRAW_ON: Record<"controls" | "overview" | "detailControls" | "pyramidControls" | "detail" | "compare" | "pyramid", (keyof ExplorerState)[]> = {
  controls: ["image", "branch", "metric", "sort", "agg"],
  overview: ["image", "branch", "metric", "sort", "layer", "head", "combine"],
  detailControls: ["cmp", "scale", "color", "norm", "sink", "cmpLayer", "cmpHead", "cmpImage", "sched", "budget"],
  pyramidControls: ["dir"],
  detail: ["image", "branch", "layer", "head", "combine", "agg", "scale", "patch", "dir", "norm", "color", "sink", "cmp", "sched", "budget"],
  compare: ["image", "branch", "layer", "head", "scale", "patch", "dir", "norm", "color", "sink", "cmp", "cmpLayer", "cmpHead", "cmpImage"],
  pyramid: ["image", "branch", "layer", "head", "combine", "agg", "patch", "dir"],
};

/** The parts of the explorer a state change redraws. */
export function partsToRedraw(change: Partial<ExplorerState>): Set<keyof typeof REDRAW_ON> {
  const keys = Object.keys(change) as (keyof ExplorerState)[];
  const parts = Object.keys(REDRAW_ON) as (keyof typeof REDRAW_ON)[];
  return new Set(parts.filter((p) => keys.length === 0 || REDRAW_ON[p].some((k) => keys.includes(k))));
}

/** The top controls: class and seed over the stored images, branch, metric, order, combination. */
function topControls(ctx: ExplorerContext): HTMLElement[] {
  const { idx } = ctx;
  const state = ctx.state();
  const current = idx.images[state.image];
  const metricOptions = METRIC_NAMES.map((m) => ({ value: m, text: METRIC_INFO[m].label }));
  return [
    // a class keeps the seed when it has it
    select(
      "class",
      "hx-class",
      [...new Set(idx.images.map((im) => im.classIndex))].map((c) => ({ value: c, text: idx.images.find((im) => im.classIndex === c)!.className })),
      current.classIndex,
      (c) => {
        const i = idx.images.findIndex((im) => im.classIndex === c && im.seed === current.seed);
        void ctx.update({ image: i >= 0 ? i : idx.images.findIndex((im) => im.classIndex === c), patch: -1 });
      },
    ),
    select(
      "seed",
      "hx-seed",
      idx.images.filter((im) => im.classIndex === current.classIndex).map((im) => ({ value: im.seed, text: String(im.seed) })),
      current.seed,
      (seed) => {
        void ctx.update({ image: idx.images.findIndex((im) => im.classIndex === current.classIndex && im.seed === seed), patch: -1 });
      },
    ),
    select(
      "branch",
      "hx-branch",
      BRANCHES.map((b) => ({ value: b, text: b === "cond" ? "cond (class)" : "uncond (CFG null class)" })),
      state.branch,
      (v) => void ctx.update({ branch: v }),
    ),
    select("colour / sort heads by", "hx-metric", metricOptions, state.metric, (v) => void ctx.update({ metric: v })),
    select(
      "order",
      "hx-sort",
      [
        { value: "grid", text: "layer × head grid" },
        { value: "sorted", text: "sorted by metric" },
      ],
      state.sort ? "sorted" : "grid",
      (v) => void ctx.update({ sort: v === "sorted" }),
    ),
    select(
      "combine",
      "hx-agg",
      [
        { value: "mean", text: "mean" },
        { value: "max", text: "max" },
      ],
      state.agg,
      (v) => void ctx.update({ agg: v }),
    ),
  ];
}

const STYLE = `.heatkv-explorer .hx-controls{display:flex;flex-wrap:wrap;gap:.4rem 1rem;margin:.5rem 0;font:13px sans-serif}
.heatkv-explorer .hx-overview{position:relative;display:inline-block}
.heatkv-explorer .hx-canvas{display:block;cursor:crosshair}
.heatkv-explorer .hx-tip{position:absolute;z-index:3;background:#fff;border:1px solid #999;padding:4px 6px;font:11px sans-serif;width:230px;pointer-events:none}
.heatkv-explorer .hx-pyramid{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end}
.heatkv-explorer .hx-pyramid figure{margin:0}.heatkv-explorer figcaption{font:11px sans-serif;text-align:center}
.heatkv-explorer .hx-pair{display:flex;flex-wrap:wrap;gap:20px}
.heatkv-explorer .hx-info,.heatkv-explorer .hx-caption{font:12px sans-serif;max-width:900px}
.heatkv-explorer h3{font:600 14px sans-serif;margin:.6rem 0 .3rem}
.heatkv-explorer .hx-export button{font:11px sans-serif;margin-left:4px}`;

export function createExplorer(source: ExplorerSource, opts: ExplorerOptions = {}): ExplorerElement {
  const idx = source.index;
  const { numLayers: NL, numHeads: H, patchNums } = idx.model;
  const useUrl = opts.url ?? true;
  const root = el("div", { class: "heatkv-explorer" }) as unknown as ExplorerElement;
  const ctx = createContext(source, opts, {
    state: () => state,
    update: (change) => root.update(change),
    exportButtons: (view) => exportButtons(view, (v, f) => void root.exportView(v, f)),
  });
  const limits = { numLayers: NL, numHeads: H, images: idx.images.length, scales: patchNums.length, tokens: ctx.lay.total };
  let state: ExplorerState = useUrl ? decodeState(location.search, limits) : { ...DEFAULT_STATE, combine: [] };

  const controls = el("div", { class: "hx-controls" });
  const overview = createOverview(ctx);
  const detail = createHeadDetail(ctx);
  const compare = createCompare(ctx);
  const pyramid = createPyramid(ctx);
  const detailControlBox = el("div", { class: "hx-controls" });

  const sources: Record<ExportView, ExportSource> = {
    overview: { canvas: () => overview.canvas, title: () => overview.caption.textContent ?? "", legend: () => overview.legend.querySelector("svg") },
    detail: { canvas: () => detail.canvas, title: () => detail.title.textContent ?? "", legend: () => detail.legend.querySelector("svg") },
    compare: { canvas: () => compare.canvas, title: compare.title, legend: () => detail.legend.querySelector("svg") },
    pyramid: { canvas: () => stitchCanvases(pyramid.canvases), title: () => pyramid.info.textContent ?? "", legend: () => null },
  };
  root.exportView = async (view, format) => {
    const blob = await exportBlob(sources[view], format);
    root.lastExport = { view, format, bytes: blob.size, type: blob.type };
    root.dataset.lastExport = `${view}.${format}:${blob.size}`;
    download(blob, exportFileName(view, format, state));
    return blob;
  };

  root.append(
    el("style", {}, STYLE),
    controls,
    el("h3", {}, "Overview: every head ", ctx.exportButtons("overview")),
    el("div", { class: "hx-overview" }, overview.canvas, overview.tip),
    overview.caption,
    overview.legend,
    el("h3", {}, "Head detail: query × key ", ctx.exportButtons("detail")),
    detailControlBox,
    el("div", { class: "hx-pair" }, el("div", {}, detail.title, detail.canvas, detail.legend), compare.box),
    detail.info,
    el("h3", {}, "Image-linked: the scale pyramid ", ctx.exportButtons("pyramid")),
    pyramid.controls,
    pyramid.box,
    pyramid.info,
  );

  let pending: Promise<void> = Promise.resolve();
  let version = 0;
  async function render(change: Partial<ExplorerState>) {
    const v = ++version;
    const parts = partsToRedraw(change);
    if (parts.has("controls")) controls.replaceChildren(...topControls(ctx));
    const tm: Record<string, number> = {};
    // start the network first (matrix and pyramid files), draw the overview while they arrive
    const sel = selectedHeads(state, H);
    const matrix = ctx.hasMatrices(sel) ? ctx.selectedMatrix(state.image, state.branch, sel) : null;
    const images = pyramid.images(state.image);
    let t0 = performance.now();
    if (parts.has("overview")) overview.draw();
    tm.overview = performance.now() - t0;
    if (parts.has("detailControls")) detailControlBox.replaceChildren(...detailControls(ctx), ...compareControls(ctx));
    if (parts.has("pyramidControls")) pyramid.rebuildControls();
    t0 = performance.now();
    await Promise.all([matrix, images]);
    tm.fetchDecode = performance.now() - t0;
    t0 = performance.now();
    await Promise.all([parts.has("detail") ? detail.draw() : null, parts.has("compare") ? compare.draw() : null, parts.has("pyramid") ? pyramid.draw() : null]);
    tm.draw = performance.now() - t0;
    root.dataset.timing = Object.entries(tm)
      .map(([k, x]) => `${k} ${x.toFixed(1)}`)
      .join(", ");
    if (v === version) root.dataset.rendered = String(v);
  }
  root.state = state;
  root.update = (change) => {
    state = { ...state, ...change };
    if (change.layer !== undefined || change.head !== undefined) state.combine = state.combine.filter((x) => x !== state.layer * H + state.head);
    root.state = state;
    if (useUrl) {
      const q = encodeState(state);
      history.replaceState(null, "", q ? `?${q}` : location.pathname);
    }
    pending = pending
      .then(() => render(change))
      .catch((e) => {
        root.dataset.error = String(e?.message ?? e);
        console.warn(e);
      });
    return pending;
  };
  root.dataset.cells = String(NL * H);
  pending = render({});
  (root as unknown as { ready: Promise<void> }).ready = pending;
  return root;
}
