// The head-attention explorer (page: explorer.md; benchmark: loaders/bench-explorer.ts). One controller
// owns the state (mirrored in the URL query string), every matrix and grid is drawn on <canvas> (never one
// DOM element per cell); Plot draws the colour legends. Views:
//   overview   layers × heads grid of per-head K × K scale-mass thumbnails, coloured/sorted by a metric;
//              hover = preview tip, click = lock, shift-click = add to a combined (mean / max) selection
//   detail     the locked head's (or combination's) query × key matrix for one image and branch, scale
//              gridlines, log / linear colour, global / per-head normalisation, sink-scale masking
//   pyramid    the image decoded after every scale; click a token of scale t → the attention it gives to
//              every earlier scale drawn over those scales (or, reversed, who attends to it)
//   compare    a second head, a second image, or a cache schedule: blocks the schedule drops are greyed out
//   export     PNG (canvas.toBlob) and SVG (embedded raster + vector labels) of every view
import * as Plot from "@observablehq/plot";
import { interpolateViridis, interpolateYlOrRd } from "d3";
import { LOG8, METRIC_INFO, METRIC_NAMES } from "../metrics/heads.js";
import { decodeState, DEFAULT_STATE, encodeState, type ExplorerState } from "./explorer-state.js";

export { decodeState, DEFAULT_STATE, encodeState, type ExplorerState };
import { type Branch, BRANCHES, type ExplorerSource, type HeadRow, MatrixCache, type PackedMatrix } from "./explorer-data.js";

export type ExportView = "overview" | "detail" | "compare" | "pyramid";

/** What a cache schedule keeps: keep(t, s, layer, head) for static (whole-block) schedules. */
export interface ScheduleView {
  label: string;
  keep(target: number, source: number, layer: number, head: number): boolean;
}
export type ScheduleProvider = (method: string, budgetPercent: number) => ScheduleView | { error: string };

export interface ExplorerOptions {
  /** static schedule methods offered for the comparison */
  scheduleMethods?: string[];
  schedule?: ScheduleProvider;
  /** sync the state to location (default true) */
  url?: boolean;
  width?: number;
}

// ------------------------------------------------------------------------------------------ colour
const LUT_VIRIDIS = lut(interpolateViridis);
const LUT_HEAT = lut(interpolateYlOrRd);
function lut(f: (t: number) => string): Uint8Array {
  const out = new Uint8Array(256 * 3);
  const c = document.createElement("canvas").getContext("2d")!;
  for (let i = 0; i < 256; i++) {
    c.fillStyle = f(i / 255);
    const hex = c.fillStyle as string; // normalised to #rrggbb
    out[i * 3] = parseInt(hex.slice(1, 3), 16);
    out[i * 3 + 1] = parseInt(hex.slice(3, 5), 16);
    out[i * 3 + 2] = parseInt(hex.slice(5, 7), 16);
  }
  return out;
}
const css = (l: Uint8Array, v: number) => {
  const i = Math.max(0, Math.min(255, Math.round(v * 255))) * 3;
  return `rgb(${l[i]},${l[i + 1]},${l[i + 2]})`;
};

/** value → [0, 1] under the colour scale; NaN below the visible range */
export function colourPosition(v: number, vmax: number, scale: "log" | "linear", decades = 4): number {
  if (scale === "linear") return Math.min(1, v / vmax);
  if (!(v > 0)) return 0;
  return Math.max(0, Math.min(1, (Math.log10(v / vmax) + decades) / decades));
}

// ------------------------------------------------------------------------------------------ controller
export interface ExplorerElement extends HTMLElement {
  state: ExplorerState;
  /** merge a change into the state and resolve when every view is redrawn */
  update(change: Partial<ExplorerState>): Promise<void>;
  /** last export: what was produced (for tests) */
  lastExport?: { view: string; format: "png" | "svg"; bytes: number; type: string };
  exportView(view: ExportView, format: "png" | "svg"): Promise<Blob>;
}

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
};

function select<T extends string | number>(label: string, testid: string, options: { value: T; text: string }[], value: T, on: (v: T) => void): HTMLLabelElement {
  const s = el("select", { "data-testid": testid });
  for (const o of options) s.append(el("option", { value: String(o.value) }, o.text));
  s.value = String(value);
  s.addEventListener("change", () => on((typeof value === "number" ? Number(s.value) : s.value) as T));
  return el("label", { class: "hx-control" }, `${label} `, s);
}

export function createExplorer(source: ExplorerSource, opts: ExplorerOptions = {}): ExplorerElement {
  const idx = source.index;
  const { numLayers: NL, numHeads: H, patchNums } = idx.model;
  const matrices = new MatrixCache(source);
  const lay = matrices.layout;
  const grid = idx.gridNums ?? patchNums;
  const K = patchNums.length;
  const L = lay.total;
  const sigma = idx.metricRules.sigma;
  const useUrl = opts.url ?? true;
  const limits = { numLayers: NL, numHeads: H, images: idx.images.length, scales: K, tokens: L };
  let state = useUrl ? decodeState(location.search, limits) : { ...DEFAULT_STATE, combine: [] };

  const root = el("div", { class: "heatkv-explorer" }) as unknown as ExplorerElement;
  const rowsBy = new Map<string, HeadRow[]>();
  for (const r of source.rows) {
    const k = `${r.image}/${r.branch}`;
    if (!rowsBy.has(k)) rowsBy.set(k, []);
    rowsBy.get(k)!.push(r);
  }
  const headRows = (image: number, branch: Branch) => {
    const rows = rowsBy.get(`${image}/${branch}`) ?? [];
    const out: HeadRow[] = new Array(NL * H);
    for (const r of rows) out[r.layer * H + r.head] = r;
    return out;
  };
  const imageLabel = (i: number) => `${idx.images[i].className} · seed ${idx.images[i].seed}`;
  const headLabel = (lh: number) => `L${Math.floor(lh / H)}·H${lh % H}`;
  const scaleLabel = (t: number) => `${t} (${patchNums[t]}×${patchNums[t]})`;

  // ---- controls
  const controls = el("div", { class: "hx-controls" });
  const metricOptions = METRIC_NAMES.map((m) => ({ value: m, text: METRIC_INFO[m].label }));
  const rebuildControls = () => {
    controls.replaceChildren(
      // class and seed pickers over the stored images (a class keeps the seed when it has it)
      select("class", "hx-class", [...new Set(idx.images.map((im) => im.classIndex))].map((c) => ({ value: c, text: idx.images.find((im) => im.classIndex === c)!.className })), idx.images[state.image].classIndex, (c) => {
        const seed = idx.images[state.image].seed;
        const i = idx.images.findIndex((im) => im.classIndex === c && im.seed === seed);
        void root.update({ image: i >= 0 ? i : idx.images.findIndex((im) => im.classIndex === c), patch: -1 });
      }),
      select("seed", "hx-seed", idx.images.filter((im) => im.classIndex === idx.images[state.image].classIndex).map((im) => ({ value: im.seed, text: String(im.seed) })), idx.images[state.image].seed, (seed) => {
        const c = idx.images[state.image].classIndex;
        void root.update({ image: idx.images.findIndex((im) => im.classIndex === c && im.seed === seed), patch: -1 });
      }),
      select("branch", "hx-branch", BRANCHES.map((b) => ({ value: b, text: b === "cond" ? "cond (class)" : "uncond (CFG null class)" })), state.branch, (v) => void root.update({ branch: v })),
      select("colour / sort heads by", "hx-metric", metricOptions, state.metric, (v) => void root.update({ metric: v })),
      select("order", "hx-sort", [{ value: "grid", text: "layer × head grid" }, { value: "sorted", text: "sorted by metric" }], state.sort ? "sorted" : "grid", (v) => void root.update({ sort: v === "sorted" })),
      select("combine", "hx-agg", [{ value: "mean", text: "mean" }, { value: "max", text: "max" }], state.agg, (v) => void root.update({ agg: v })),
    );
  };

  // ---- overview
  const ovCanvas = el("canvas", { "data-testid": "hx-overview", class: "hx-canvas" }) as HTMLCanvasElement;
  const ovTip = el("div", { class: "hx-tip", "data-testid": "hx-tip" });
  ovTip.hidden = true;
  const ovLegend = el("div", { class: "hx-legend" });
  const ovCaption = el("p", { class: "hx-caption" });
  const cellW = Math.max(34, Math.min(72, Math.floor((opts.width ?? 900) / Math.max(8, H)) - 2));
  const thumbH = cellW - 14;
  let ovOrder: number[] = [];
  let thumbLegend: Element | undefined;
  const ovPos = (lh: number) => {
    const i = ovOrder.indexOf(lh);
    return { x: (i % H) * cellW, y: Math.floor(i / H) * cellW };
  };
  function metricRange(rows: HeadRow[]): [number, number] {
    const v = rows.filter(Boolean).map((r) => r[state.metric]).filter(Number.isFinite);
    return [Math.min(...v), Math.max(...v)];
  }
  /** every head's K × K thumbnail as one K·N × K image (lower triangle opaque), made once per image/branch */
  const thumbCache = new Map<string, HTMLCanvasElement>();
  function thumbnails(image: number, branch: Branch, rows: HeadRow[]): HTMLCanvasElement {
    const key = `${image}/${branch}`;
    let cv = thumbCache.get(key);
    if (cv) return cv;
    cv = document.createElement("canvas");
    cv.width = K * NL * H;
    cv.height = K;
    const img = new ImageData(cv.width, K);
    rows.forEach((r, lh) => {
      if (!r) return;
      for (let t = 0; t < K; t++) {
        for (let s = 0; s <= t; s++) {
          const o = (t * cv!.width + lh * K + s) * 4;
          const j = Math.round(Math.sqrt(Math.max(0, Math.min(1, r.mass[t * K + s]))) * 255) * 3;
          img.data[o] = LUT_VIRIDIS[j];
          img.data[o + 1] = LUT_VIRIDIS[j + 1];
          img.data[o + 2] = LUT_VIRIDIS[j + 2];
          img.data[o + 3] = 255;
        }
      }
    });
    cv.getContext("2d")!.putImageData(img, 0, 0);
    thumbCache.set(key, cv);
    return cv;
  }
  function drawOverview() {
    const rows = headRows(state.image, state.branch);
    const all = Array.from({ length: NL * H }, (_, i) => i);
    ovOrder = state.sort ? all.sort((a, b) => (rows[b]?.[state.metric] ?? -Infinity) - (rows[a]?.[state.metric] ?? -Infinity) || a - b) : all;
    const Wc = H * cellW;
    const Hc = NL * cellW;
    const c = sizeCanvas(ovCanvas, Wc, Hc);
    c.fillStyle = "#fff";
    c.fillRect(0, 0, Wc, Hc);
    const [lo, hi] = metricRange(rows);
    const locked = state.layer * H + state.head;
    const thumbs = thumbnails(state.image, state.branch, rows);
    c.imageSmoothingEnabled = false;
    for (const lh of ovOrder) {
      const r = rows[lh];
      const { x, y } = ovPos(lh);
      if (!r) continue;
      // metric band behind the label
      c.fillStyle = css(LUT_HEAT, hi > lo ? (r[state.metric] - lo) / (hi - lo) : 0.5);
      c.fillRect(x + 1, y + thumbH + 2, cellW - 2, cellW - thumbH - 3);
      c.drawImage(thumbs, lh * K, 0, K, K, x + (cellW - thumbH) / 2, y + 1, thumbH, thumbH);
      c.fillStyle = hi > lo && (r[state.metric] - lo) / (hi - lo) > 0.6 ? "#fff" : "#111";
      c.font = "9px sans-serif";
      c.textAlign = "center";
      c.fillText(headLabel(lh), x + cellW / 2, y + cellW - 3);
      c.textAlign = "start";
      const on = lh === locked || state.combine.includes(lh);
      if (on) {
        c.strokeStyle = lh === locked ? "#ff2d55" : "#0a84ff";
        c.lineWidth = 2.5;
        c.strokeRect(x + 1.5, y + 1.5, cellW - 3, cellW - 3);
      }
    }
    ovCaption.textContent = `${state.sort ? `Heads sorted by ${METRIC_INFO[state.metric].label} (highest first, row by row)` : "Rows: layers 0–" + (NL - 1) + " · columns: heads 0–" + (H - 1)}. Thumbnail: target scale (rows, coarse at top) × source scale (columns), colour = √(mean attention mass). Band under each head: ${METRIC_INFO[state.metric].label}. ${imageLabel(state.image)}, ${state.branch}.`;
    ovLegend.replaceChildren(
      Plot.legend({ color: { type: "linear", domain: [lo, hi], interpolate: interpolateYlOrRd, label: `${METRIC_INFO[state.metric].label} (${METRIC_INFO[state.metric].unit})` }, width: 320 }) as Element,
      (thumbLegend ??= Plot.legend({ color: { type: "sqrt", domain: [0, 1], interpolate: interpolateViridis, label: "thumbnail: mean attention mass of target on source (0–1)" }, width: 320 }) as Element),
    );
  }
  const headAt = (ev: MouseEvent): number | null => {
    const rect = ovCanvas.getBoundingClientRect();
    const col = Math.floor((ev.clientX - rect.left) / cellW);
    const row = Math.floor((ev.clientY - rect.top) / cellW);
    if (col < 0 || col >= H || row < 0 || row >= NL) return null;
    return ovOrder[row * H + col] ?? null;
  };
  ovCanvas.addEventListener("mousemove", (ev) => {
    const lh = headAt(ev);
    if (lh === null) return void (ovTip.hidden = true);
    const r = headRows(state.image, state.branch)[lh];
    if (!r) return;
    ovTip.hidden = false;
    const { x, y } = ovPos(lh);
    ovTip.style.left = `${x + cellW + 4}px`;
    ovTip.style.top = `${y}px`;
    ovTip.innerHTML = `<b>${headLabel(lh)}</b> · ${r.scalekv} · ${r.hack}<br>` + METRIC_NAMES.map((m) => `${METRIC_INFO[m].label}: ${r[m].toFixed(3)}`).join("<br>") + `<br><i>click: lock · shift-click: combine</i>`;
    // preview: the head's target × source scale mass, enlarged
    const pv = document.createElement("canvas");
    pv.width = pv.height = 96;
    pv.style.cssText = "display:block;margin-top:4px;image-rendering:pixelated";
    const pc = pv.getContext("2d")!;
    pc.imageSmoothingEnabled = false;
    pc.drawImage(thumbnails(state.image, state.branch, headRows(state.image, state.branch)), lh * K, 0, K, K, 0, 0, 96, 96);
    ovTip.append(pv);
  });
  ovCanvas.addEventListener("mouseleave", () => void (ovTip.hidden = true));
  ovCanvas.addEventListener("click", (ev) => {
    const lh = headAt(ev);
    if (lh === null) return;
    if (ev.shiftKey) {
      const locked = state.layer * H + state.head;
      if (lh === locked) return;
      const combine = state.combine.includes(lh) ? state.combine.filter((x) => x !== lh) : [...state.combine, lh];
      void root.update({ combine });
    } else {
      void root.update({ layer: Math.floor(lh / H), head: lh % H, combine: [] });
    }
  });

  // ---- detail
  const detailControls = el("div", { class: "hx-controls" });
  const detailTitle = el("h3", { "data-testid": "hx-detail-title" });
  const detailCanvas = el("canvas", { "data-testid": "hx-detail", class: "hx-canvas" }) as HTMLCanvasElement;
  const cmpCanvas = el("canvas", { "data-testid": "hx-compare", class: "hx-canvas" }) as HTMLCanvasElement;
  const cmpTitle = el("h3", { "data-testid": "hx-compare-title" });
  let cmpTitleText = "";
  const detailLegend = el("div", { class: "hx-legend", "data-testid": "hx-legend" });
  const detailInfo = el("div", { class: "hx-info", "data-testid": "hx-info" });
  const cmpInfo = el("div", { class: "hx-info", "data-testid": "hx-compare-info" });
  const rebuildDetailControls = () => {
    const heads = Array.from({ length: NL * H }, (_, i) => ({ value: i, text: headLabel(i) }));
    const schedOpts = (opts.scheduleMethods ?? []).map((m) => ({ value: m, text: m }));
    detailControls.replaceChildren(
      select("query rows", "hx-scale", [{ value: -1, text: "every scale" }, ...patchNums.map((_, t) => ({ value: t, text: `scale ${scaleLabel(t)}` }))], state.scale, (v) => void root.update({ scale: v })),
      select("colour", "hx-color", [{ value: "log", text: "log (4 decades)" }, { value: "linear", text: "linear" }], state.color, (v) => void root.update({ color: v })),
      select("normalise", "hx-norm", [{ value: "head", text: "per head (max of this view)" }, { value: "global", text: "global (probability 0–1)" }], state.norm, (v) => void root.update({ norm: v })),
      select("sink scales", "hx-sink", [{ value: "show", text: "shown" }, { value: "mask", text: `masked (scales 0–${sigma - 1})` }], state.sink ? "mask" : "show", (v) => void root.update({ sink: v === "mask" })),
      select("compare with", "hx-cmp", [{ value: "none", text: "nothing" }, { value: "head", text: "another head" }, { value: "image", text: "another image" }, ...(schedOpts.length ? [{ value: "schedule", text: "a cache schedule" }] : [])], state.cmp, (v) => void root.update({ cmp: v as ExplorerState["cmp"] })),
      ...(state.cmp === "head" ? [select("head", "hx-cmp-head", heads, state.cmpLayer * H + state.cmpHead, (v) => void root.update({ cmpLayer: Math.floor(v / H), cmpHead: v % H }))] : []),
      ...(state.cmp === "image" ? [select("image", "hx-cmp-image", idx.images.map((_, i) => ({ value: i, text: imageLabel(i) })), state.cmpImage, (v) => void root.update({ cmpImage: v }))] : []),
      ...(state.cmp === "schedule"
        ? [
            select("method", "hx-sched", schedOpts, state.sched, (v) => void root.update({ sched: v })),
            select("budget", "hx-budget", [5, 10, 20, 30, 50, 75].map((b) => ({ value: b, text: `${b} %` })), state.budget, (v) => void root.update({ budget: v })),
          ]
        : []),
    );
  };

  /** the locked head, or the mean/max of the locked head and the combined ones (packed layout; memoised) */
  let memo: { key: string; m: Promise<PackedMatrix> } | null = null;
  function selectedMatrix(image: number, branch: Branch, heads: number[]): Promise<PackedMatrix> {
    const key = `${image}/${branch}/${state.agg}/${heads.join(",")}`;
    if (memo?.key === key) return memo.m;
    const agg = state.agg;
    const m = Promise.all(heads.map((lh) => matrices.get(image, branch, Math.floor(lh / H), lh % H))).then((ms): PackedMatrix => {
      if (ms.length === 1) return ms[0];
      if (agg === "max") {
        // codes are monotone in the value: max of codes, decoded once
        const c = new Uint8Array(ms[0].length);
        for (const x of ms) for (let i = 0; i < c.length; i++) if (x[i] > c[i]) c[i] = x[i];
        return c;
      }
      const w = 1 / ms.length;
      const out = new Float32Array(ms[0].length);
      for (const x of ms) for (let i = 0; i < out.length; i++) out[i] += LOG8[x[i]] * w;
      return out;
    });
    memo = { key, m };
    return m;
  }

  const MAX_PIXELS = 720;
  /** Draws rows [r0, r1) × columns [0, c1) of a packed matrix on a canvas (max-pooled to ≤ 720 px). */
  function drawMatrix(canvas: HTMLCanvasElement, A: PackedMatrix, dropped: ((t: number, s: number) => boolean) | null): { vmax: number; keptMass: number; totalMass: number } {
    const t = state.scale;
    const r0 = t < 0 ? 0 : lay.begin[t];
    const r1 = t < 0 ? L : lay.begin[t] + lay.tokens[t];
    const c1 = t < 0 ? L : lay.visible[t];
    const rows = r1 - r0;
    const sinkEnd = state.sink ? lay.visible[sigma - 1] : 0;
    const pw = Math.min(MAX_PIXELS, c1);
    const ph = Math.min(MAX_PIXELS, rows);
    // max-pooling to ≤ 720 px; a single head stays in log8 codes (monotone: max of codes = code of max)
    const codes = A instanceof Uint8Array;
    const pooled = new Float32Array(pw * ph);
    const pooledCode = new Uint8Array(pw * ph);
    const flag = new Uint8Array(pw * ph); // 1 visible, 2 sink-masked, 3 dropped by the schedule
    let vmax = 0;
    let keptMass = 0;
    let totalMass = 0;
    const colPx = new Int32Array(c1);
    for (let k = 0; k < c1; k++) colPx[k] = Math.floor((k * pw) / c1);
    for (let q = r0; q < r1; q++) {
      const py = Math.floor(((q - r0) * ph) / rows);
      const tq = lay.scaleOf[q];
      const base = lay.rowStart[q];
      const rowPx = py * pw;
      let rowMax = 0;
      for (let s = 0; s <= tq; s++) {
        const k0 = lay.begin[s];
        const k1 = Math.min(c1, k0 + lay.tokens[s]);
        const f = k0 < sinkEnd ? 2 : dropped?.(tq, s) ? 3 : 1;
        let blockMass = 0;
        if (f === 2) {
          // masked sink scale: hatched, left out of the pooled values and the colour range
          for (let k = k0; k < k1; k++) {
            blockMass += codes ? LOG8[A[base + k]] : A[base + k];
            flag[rowPx + colPx[k]] = Math.max(flag[rowPx + colPx[k]], 2);
          }
        } else if (codes) {
          for (let k = k0; k < k1; k++) {
            const c = A[base + k];
            const i = rowPx + colPx[k];
            blockMass += LOG8[c];
            if (c > pooledCode[i]) pooledCode[i] = c;
            if (f > flag[i]) flag[i] = f;
          }
        } else {
          for (let k = k0; k < k1; k++) {
            const v = A[base + k];
            const i = rowPx + colPx[k];
            blockMass += v;
            if (v > pooled[i]) pooled[i] = v;
            if (f > flag[i]) flag[i] = f;
          }
        }
        totalMass += blockMass;
        // kept = not dropped by the schedule, whatever the display does with it (a masked sink scale is kept)
        if (!dropped?.(tq, s)) keptMass += blockMass;
        if (f !== 2 && tq > 0) {
          // scale 0's single query sees only itself (always 1): left out of the colour range
          if (codes) {
            for (let k = k0; k < k1; k++) if (A[base + k] > rowMax) rowMax = A[base + k];
          } else for (let k = k0; k < k1; k++) if (A[base + k] > rowMax) rowMax = A[base + k];
        }
      }
      const rm = codes ? LOG8[rowMax] : rowMax;
      if (rm > vmax) vmax = rm;
    }
    if (codes) for (let i = 0; i < pooled.length; i++) pooled[i] = LOG8[pooledCode[i]];
    let checksum = 0;
    for (let i = 0; i < pooled.length; i++) checksum += pooled[i] * (i % 97);
    const top = state.norm === "global" ? 1 : vmax || 1;
    // colour of every code (codes path) or per pixel (combined heads)
    const codeColour = new Int32Array(256);
    for (let c = 0; c < 256; c++) codeColour[c] = Math.round(colourPosition(LOG8[c], top, state.color) * 255) * 3;
    // combined heads (floats): colour index by binary search over the 255 value thresholds (no log per pixel)
    const thresholds = new Float64Array(255);
    for (let j = 1; j < 256; j++) thresholds[j - 1] = state.color === "linear" ? (top * (j - 0.5)) / 255 : top * 10 ** (4 * ((j - 0.5) / 255) - 4);
    const floatColour = (v: number) => {
      let lo = 0;
      let hi = 255;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (thresholds[mid] <= v) lo = mid + 1;
        else hi = mid;
      }
      return lo * 3;
    };
    const img = new ImageData(pw, ph);
    const d = img.data;
    for (let i = 0; i < pw * ph; i++) {
      const o = i * 4;
      d[o + 3] = 255;
      const fl = flag[i];
      if (fl === 0) {
        d[o] = d[o + 1] = d[o + 2] = 255;
      } else if (fl === 2) {
        const stripe = ((i % pw) + Math.floor(i / pw)) % 6 < 3;
        d[o] = d[o + 1] = d[o + 2] = stripe ? 200 : 230;
      } else {
        const j = codes ? codeColour[pooledCode[i]] : floatColour(pooled[i]);
        if (fl === 3) {
          const g = 0.3 * LUT_VIRIDIS[j] + 0.59 * LUT_VIRIDIS[j + 1] + 0.11 * LUT_VIRIDIS[j + 2];
          d[o] = d[o + 1] = d[o + 2] = Math.round(150 + g * 0.35);
        } else {
          d[o] = LUT_VIRIDIS[j];
          d[o + 1] = LUT_VIRIDIS[j + 1];
          d[o + 2] = LUT_VIRIDIS[j + 2];
        }
      }
    }
    const size = Math.min(opts.width ? opts.width / 2 - 30 : 440, 440);
    const Wd = size;
    const Hd = Math.max(40, Math.round((size * ph) / pw));
    const c = sizeCanvas(canvas, Wd, Hd);
    const off = document.createElement("canvas");
    off.width = pw;
    off.height = ph;
    off.getContext("2d")!.putImageData(img, 0, 0);
    c.imageSmoothingEnabled = false;
    c.drawImage(off, 0, 0, Wd, Hd);
    // scale gridlines
    c.strokeStyle = "rgba(255,255,255,0.85)";
    c.lineWidth = 1;
    for (let s = 1; s < K; s++) {
      const b = lay.begin[s];
      if (b < c1) {
        const x = (b / c1) * Wd;
        c.beginPath();
        c.moveTo(x, 0);
        c.lineTo(x, Hd);
        c.stroke();
      }
      if (t < 0) {
        const y = (b / L) * Hd;
        c.beginPath();
        c.moveTo(0, y);
        c.lineTo(Wd, y);
        c.stroke();
      }
    }
    // the clicked patch
    if (state.patch >= 0) {
      c.strokeStyle = "#ff2d55";
      c.lineWidth = 1.5;
      if (state.dir === "gives" && state.patch >= r0 && state.patch < r1) {
        const y = ((state.patch - r0 + 0.5) / rows) * Hd;
        c.strokeRect(0, y - 2, Wd, 4);
      } else if (state.dir === "receives" && state.patch < c1) {
        const x = ((state.patch + 0.5) / c1) * Wd;
        c.strokeRect(x - 2, 0, 4, Hd);
      }
    }
    canvas.dataset.rows = String(rows);
    canvas.dataset.cols = String(c1);
    canvas.dataset.vmax = vmax.toPrecision(4);
    canvas.dataset.checksum = checksum.toPrecision(8);
    return { vmax: top, keptMass, totalMass };
  }

  function legendFor(vmax: number): Element {
    const label = `attention probability A[q, k] (${state.norm === "global" ? "global 0–1" : "max of this view, scale-0 row excluded"}${state.sink ? `; hatched = sink scales 0–${sigma - 1} masked` : ""})`;
    return state.color === "log"
      ? (Plot.legend({ color: { type: "log", domain: [vmax * 1e-4, vmax], interpolate: interpolateViridis, label }, width: 360, tickFormat: "~e" }) as Element)
      : (Plot.legend({ color: { type: "linear", domain: [0, vmax], interpolate: interpolateViridis, label }, width: 360 }) as Element);
  }

  let currentSchedule: ScheduleView | null = null;
  async function drawDetail() {
    const locked = state.layer * H + state.head;
    const heads = [locked, ...state.combine];
    const label = heads.length > 1 ? `${state.agg} of ${heads.map(headLabel).join(", ")}` : headLabel(locked);
    detailTitle.textContent = `${label} · ${imageLabel(state.image)} · ${state.branch}${state.scale >= 0 ? ` · queries of scale ${scaleLabel(state.scale)}` : ""}`;
    const rows = headRows(state.image, state.branch);
    const r = rows[locked];
    if (!heads.every((lh) => matrices.hasMatrix(Math.floor(lh / H), lh % H))) {
      detailInfo.textContent = `No stored matrix for ${label} in this set (${idx.note ?? "matrices for a subset of heads"}).`;
      detailCanvas.getContext("2d")?.clearRect(0, 0, detailCanvas.width, detailCanvas.height);
      return;
    }
    const A = await selectedMatrix(state.image, state.branch, heads);
    currentSchedule = null;
    let schedNote = "";
    if (state.cmp === "schedule" && opts.schedule) {
      const sv = opts.schedule(state.sched, state.budget);
      if ("error" in sv) schedNote = `⚠ ${sv.error}`;
      else currentSchedule = sv;
    }
    const dropped = currentSchedule && heads.length === 1 ? (t: number, s: number) => !currentSchedule!.keep(t, s, state.layer, state.head) : null;
    const res = drawMatrix(detailCanvas, A, dropped);
    detailLegend.replaceChildren(legendFor(res.vmax));
    const rowsText = r ? `${r.scalekv} (ScaleKV) · ${r.hack} (HACK) · ` + METRIC_NAMES.map((m) => `${METRIC_INFO[m].label} ${r[m].toFixed(3)}`).join(" · ") : "";
    detailInfo.replaceChildren(
      el("p", {}, `Rows: query tokens${state.scale >= 0 ? ` of scale ${scaleLabel(state.scale)}` : ", scale by scale (coarse at top)"}; columns: key tokens of every visible scale; white lines = scale boundaries; white area = later scales (block-causal mask). ${grid.some((g, i) => g !== patchNums[i]) ? "Big scales are stored pooled to the grid " + grid.join(",") + "; " : ""}${Number(detailCanvas.dataset.cols) > MAX_PIXELS ? `max-pooled to ${MAX_PIXELS} px per side.` : ""}`),
      el("p", {}, heads.length === 1 ? rowsText : ""),
      ...(dropped ? [el("p", { "data-testid": "hx-schedule-note" }, `${currentSchedule!.label}: grey blocks are the (target scale, source scale) entries it drops for ${label}; it keeps ${((100 * res.keptMass) / Math.max(1e-12, res.totalMass)).toFixed(1)} % of this head's attention mass in the shown rows.`)] : []),
      ...(schedNote ? [el("p", { class: "heatkv-error" }, schedNote)] : []),
      ...(currentSchedule && heads.length > 1 ? [el("p", {}, "Schedule greying applies to a single locked head (clear the combination).")] : []),
    );
  }

  async function drawCompare() {
    cmpBox.hidden = state.cmp !== "head" && state.cmp !== "image";
    if (cmpBox.hidden) return;
    const image = state.cmp === "image" ? state.cmpImage : state.image;
    const [l, h] = state.cmp === "head" ? [state.cmpLayer, state.cmpHead] : [state.layer, state.head];
    cmpTitleText = `compare: ${headLabel(l * H + h)} · ${imageLabel(image)} · ${state.branch}`;
    cmpTitle.replaceChildren(`${cmpTitleText} `, exportButtons("compare"));
    if (!matrices.hasMatrix(l, h)) return void (cmpInfo.textContent = "no stored matrix for this head");
    const A = await matrices.get(image, state.branch, l, h);
    drawMatrix(cmpCanvas, A, null);
    const r = headRows(image, state.branch)[l * H + h];
    cmpInfo.textContent = r ? `${r.scalekv} · ${r.hack} · ${METRIC_NAMES.map((m) => `${METRIC_INFO[m].label} ${r[m].toFixed(3)}`).join(" · ")}` : "";
  }

  // ---- pyramid
  const pyrBox = el("div", { class: "hx-pyramid", "data-testid": "hx-pyramid" });
  const pyrControls = el("div", { class: "hx-controls" });
  const pyrInfo = el("p", { class: "hx-caption", "data-testid": "hx-pyramid-info" });
  const pyrCanvases: HTMLCanvasElement[] = patchNums.map((_, t) => {
    const c = el("canvas", { "data-testid": `hx-scale-${t}`, class: "hx-canvas", "data-scale": String(t) }) as HTMLCanvasElement;
    c.addEventListener("click", (ev) => {
      const rect = c.getBoundingClientRect();
      const g = grid[t];
      const j = Math.min(g - 1, Math.floor(((ev.clientX - rect.left) / rect.width) * g));
      const i = Math.min(g - 1, Math.floor(((ev.clientY - rect.top) / rect.height) * g));
      void root.update({ patch: lay.begin[t] + i * g + j, scale: t });
    });
    return c;
  });
  const rebuildPyrControls = () =>
    pyrControls.replaceChildren(
      select("direction", "hx-dir", [{ value: "gives", text: "attention this patch gives (to earlier scales)" }, { value: "receives", text: "who attends to this patch (later scales)" }], state.dir, (v) => void root.update({ dir: v })),
    );
  pyrBox.append(...pyrCanvases.map((c, t) => el("figure", {}, c, el("figcaption", {}, `scale ${scaleLabel(t)}`))));
  const imgCache = new Map<number, Promise<HTMLCanvasElement[] | null>>();
  function pyramidImages(image: number): Promise<HTMLCanvasElement[] | null> {
    if (!imgCache.has(image)) {
      const S = idx.model.imageSize;
      imgCache.set(
        image,
        source.pyramid(image).then((p) => p?.map((rgb) => {
          const c = document.createElement("canvas");
          c.width = c.height = S;
          const d = new ImageData(S, S);
          for (let i = 0; i < S * S; i++) {
            d.data[i * 4] = rgb[i * 3];
            d.data[i * 4 + 1] = rgb[i * 3 + 1];
            d.data[i * 4 + 2] = rgb[i * 3 + 2];
            d.data[i * 4 + 3] = 255;
          }
          c.getContext("2d")!.putImageData(d, 0, 0);
          return c;
        }) ?? null),
      );
    }
    return imgCache.get(image)!;
  }
  async function drawPyramid() {
    const locked = state.layer * H + state.head;
    const heads = [locked, ...state.combine];
    const [imgs, A] = await Promise.all([pyramidImages(state.image), heads.every((lh) => matrices.hasMatrix(Math.floor(lh / H), lh % H)) ? selectedMatrix(state.image, state.branch, heads) : null]);
    const q = state.patch;
    const tq = q >= 0 ? lay.scaleOf[q] : -1;
    const size = Math.max(72, Math.min(120, Math.floor(((opts.width ?? 900) - 20) / K) - 8));
    const sums: string[] = [];
    let overlays = 0;
    // one normalisation over the whole pyramid: a scale with little attention stays faint
    let gmax = 0;
    // packed: A[q, k] = A[rowStart[q] + k] for k ≤ visible(q); gives reads row q, receives column q of later rows
    const val = (i: number) => (A instanceof Uint8Array ? LOG8[A[i]] : A![i]);
    if (A && q >= 0) {
      if (state.dir === "gives") for (let k = 0; k < lay.visible[tq]; k++) gmax = Math.max(gmax, val(lay.rowStart[q] + k));
      else for (let r = lay.begin[tq]; r < L; r++) gmax = Math.max(gmax, val(lay.rowStart[r] + q));
    }
    pyrCanvases.forEach((canvas, s) => {
      const c = sizeCanvas(canvas, size, size);
      c.imageSmoothingEnabled = false;
      if (imgs) c.drawImage(imgs[s], 0, 0, size, size);
      else {
        c.fillStyle = "#ddd";
        c.fillRect(0, 0, size, size);
      }
      const g = grid[s];
      const cs = size / g;
      // the overlay: values of the keys of s (gives, s ≤ t) or of the queries of s (receives, s ≥ t)
      let drawn = false;
      if (A && q >= 0 && ((state.dir === "gives" && s <= tq) || (state.dir === "receives" && s >= tq))) {
        const vals = new Float32Array(g * g);
        for (let i = 0; i < g * g; i++) {
          const tok = lay.begin[s] + i;
          vals[i] = state.dir === "gives" ? val(lay.rowStart[q] + tok) : val(lay.rowStart[tok] + q);
        }
        let sum = 0;
        for (const v of vals) sum += v;
        for (let i = 0; i < g * g; i++) {
          const a = gmax > 0 ? Math.sqrt(vals[i] / gmax) : 0;
          c.fillStyle = `rgba(255,45,85,${(0.85 * a).toFixed(3)})`;
          c.fillRect((i % g) * cs, Math.floor(i / g) * cs, cs, cs);
        }
        drawn = true;
        overlays++;
        sums.push(state.dir === "gives" ? `scale ${s}: Σ ${sum.toFixed(3)}` : `scale ${s}: mean over queries ${(sum / (g * g)).toFixed(4)}`);
        canvas.dataset.sum = sum.toPrecision(4);
      } else delete canvas.dataset.sum;
      canvas.dataset.overlay = drawn ? "1" : "0";
      c.strokeStyle = "rgba(255,255,255,0.35)";
      c.lineWidth = 0.5;
      if (g <= 32) {
        for (let i = 1; i < g; i++) {
          c.beginPath();
          c.moveTo(i * cs, 0);
          c.lineTo(i * cs, size);
          c.moveTo(0, i * cs);
          c.lineTo(size, i * cs);
          c.stroke();
        }
      }
      if (q >= 0 && s === tq) {
        const i = q - lay.begin[s];
        c.strokeStyle = "#0a84ff";
        c.lineWidth = 2.5;
        c.strokeRect((i % g) * cs + 1, Math.floor(i / g) * cs + 1, cs - 2, cs - 2);
      }
    });
    pyrBox.dataset.overlays = String(overlays);
    if (q < 0) pyrInfo.textContent = "Click a token (cell) on any scale to see where its attention goes.";
    else {
      const i = q - lay.begin[tq];
      const g = grid[tq];
      pyrInfo.textContent = `${state.dir === "gives" ? "Attention given by" : "Attention received by"} token (row ${Math.floor(i / g)}, col ${i % g}) of scale ${scaleLabel(tq)} in ${heads.length > 1 ? `${state.agg} of ${heads.map(headLabel).join(", ")}` : headLabel(locked)}; red opacity = √(value / largest value on any scale): ${gmax.toPrecision(3)}. ${sums.join(" · ")}`;
    }
  }

  // ---- export
  const download = (blob: Blob, name: string) => {
    const a = el("a", { href: URL.createObjectURL(blob), download: name });
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.getAttribute("href")!), 10_000);
  };
  function viewCanvas(view: ExportView): HTMLCanvasElement {
    if (view === "overview") return ovCanvas;
    if (view === "compare") return cmpCanvas;
    if (view === "detail") return detailCanvas;
    const w = pyrCanvases.reduce((a, c) => a + c.width + 8, 0);
    const out = document.createElement("canvas");
    out.width = w;
    out.height = pyrCanvases[0].height;
    const c = out.getContext("2d")!;
    c.fillStyle = "#fff";
    c.fillRect(0, 0, out.width, out.height);
    let x = 0;
    for (const p of pyrCanvases) {
      c.drawImage(p, x, 0);
      x += p.width + 8;
    }
    return out;
  }
  root.exportView = async (view, format) => {
    const canvas = viewCanvas(view);
    const png = await new Promise<Blob>((res, rej) => canvas.toBlob((b) => (b ? res(b) : rej(new Error("toBlob failed"))), "image/png"));
    let blob = png;
    if (format === "svg") {
      const url = await new Promise<string>((res) => {
        const fr = new FileReader();
        fr.onload = () => res(String(fr.result));
        fr.readAsDataURL(png);
      });
      const w = parseFloat(canvas.style.width) || canvas.width / 2;
      const h = parseFloat(canvas.style.height) || canvas.height / 2;
      const title = view === "detail" ? detailTitle.textContent : view === "compare" ? cmpTitleText : view === "overview" ? ovCaption.textContent : pyrInfo.textContent;
      const legend = view === "detail" || view === "compare" ? detailLegend.querySelector("svg") : view === "overview" ? ovLegend.querySelector("svg") : null;
      const lw = legend ? Number(legend.getAttribute("width")) || 360 : 0;
      const lh = legend ? Number(legend.getAttribute("height")) || 50 : 0;
      const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${Math.max(w, lw)}" height="${h + lh + 24}" font-family="sans-serif">` +
        `<text x="0" y="14" font-size="12">${esc(title ?? "")}</text>` +
        `<image x="0" y="20" width="${w}" height="${h}" href="${url}" style="image-rendering:pixelated"/>` +
        (legend ? `<g transform="translate(0,${h + 22})">${new XMLSerializer().serializeToString(legend).replace(/ xmlns:ns\d+="http:\/\/www\.w3\.org\/1999\/xlink"/g, "").replace(/ ns\d+:href=/g, " href=")}</g>` : "") +
        `</svg>`;
      blob = new Blob([svg], { type: "image/svg+xml" });
    }
    root.lastExport = { view, format, bytes: blob.size, type: blob.type };
    root.dataset.lastExport = `${view}.${format}:${blob.size}`;
    download(blob, `heatkv-${view}-${headLabel(state.layer * H + state.head).replace("·", "")}-img${state.image}-${state.branch}.${format}`);
    return blob;
  };
  const exportButtons = (view: ExportView) =>
    el(
      "span",
      { class: "hx-export" },
      ...(["png", "svg"] as const).map((f) => {
        const b = el("button", { "data-testid": `hx-export-${view}-${f}`, type: "button" }, `${f.toUpperCase()}`);
        b.addEventListener("click", () => void root.exportView(view, f));
        return b;
      }),
    );

  const cmpBox = el("div", {}, cmpTitle, cmpCanvas, cmpInfo);

  // ---- layout
  const style = el(
    "style",
    {},
    `.heatkv-explorer .hx-controls{display:flex;flex-wrap:wrap;gap:.4rem 1rem;margin:.5rem 0;font:13px sans-serif}
.heatkv-explorer .hx-overview{position:relative;display:inline-block}
.heatkv-explorer .hx-canvas{display:block;cursor:crosshair}
.heatkv-explorer .hx-tip{position:absolute;z-index:3;background:#fff;border:1px solid #999;padding:4px 6px;font:11px sans-serif;width:230px;pointer-events:none}
.heatkv-explorer .hx-pyramid{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end}
.heatkv-explorer .hx-pyramid figure{margin:0}.heatkv-explorer figcaption{font:11px sans-serif;text-align:center}
.heatkv-explorer .hx-pair{display:flex;flex-wrap:wrap;gap:20px}
.heatkv-explorer .hx-info,.heatkv-explorer .hx-caption{font:12px sans-serif;max-width:900px}
.heatkv-explorer h3{font:600 14px sans-serif;margin:.6rem 0 .3rem}
.heatkv-explorer .hx-export button{font:11px sans-serif;margin-left:4px}`,
  );
  root.append(
    style,
    controls,
    el("h3", {}, "Overview: every head ", exportButtons("overview")),
    el("div", { class: "hx-overview" }, ovCanvas, ovTip),
    ovCaption,
    ovLegend,
    el("h3", {}, "Head detail: query × key ", exportButtons("detail")),
    detailControls,
    el("div", { class: "hx-pair" }, el("div", {}, detailTitle, detailCanvas, detailLegend), cmpBox),
    detailInfo,
    el("h3", {}, "Image-linked: the scale pyramid ", exportButtons("pyramid")),
    pyrControls,
    pyrBox,
    pyrInfo,
  );

  let pending: Promise<void> = Promise.resolve();
  let version = 0;
  async function render(change: Partial<ExplorerState>) {
    const v = ++version;
    const keys = Object.keys(change) as (keyof ExplorerState)[];
    const any = (...k: (keyof ExplorerState)[]) => keys.length === 0 || k.some((x) => keys.includes(x));
    if (any("image", "branch", "metric", "sort", "agg")) rebuildControls();
    const tm: Record<string, number> = {};
    // start the network first (matrix and pyramid files), draw the overview while they arrive
    const sel = [state.layer * H + state.head, ...state.combine];
    const matrix = sel.every((lh) => matrices.hasMatrix(Math.floor(lh / H), lh % H)) ? selectedMatrix(state.image, state.branch, sel) : null;
    const images = pyramidImages(state.image);
    let t0 = performance.now();
    if (any("image", "branch", "metric", "sort", "layer", "head", "combine")) drawOverview();
    tm.overview = performance.now() - t0;
    if (any("cmp", "scale", "color", "norm", "sink", "cmpLayer", "cmpHead", "cmpImage", "sched", "budget")) rebuildDetailControls();
    if (any("dir")) rebuildPyrControls();
    t0 = performance.now();
    await Promise.all([matrix, images]);
    tm.fetchDecode = performance.now() - t0;
    t0 = performance.now();
    const detail = any("image", "branch", "layer", "head", "combine", "agg", "scale", "patch", "dir", "norm", "color", "sink", "cmp", "sched", "budget") ? drawDetail() : null;
    const cmp = any("image", "branch", "layer", "head", "scale", "patch", "dir", "norm", "color", "sink", "cmp", "cmpLayer", "cmpHead", "cmpImage") ? drawCompare() : null;
    const pyr = any("image", "branch", "layer", "head", "combine", "agg", "patch", "dir") ? drawPyramid() : null;
    await Promise.all([detail, cmp, pyr]);
    tm.draw = performance.now() - t0;
    root.dataset.timing = Object.entries(tm).map(([k, x]) => `${k} ${x.toFixed(1)}`).join(", ");
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
    pending = pending.then(() => render(change)).catch((e) => {
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

/** Size a canvas to w × h CSS pixels at 2 device pixels per pixel (sharp on HiDPI and in PNG exports); its 2-D context drawing in CSS pixels. */
function sizeCanvas(canvas: HTMLCanvasElement, w: number, h: number): CanvasRenderingContext2D {
  const dpr = 2;
  canvas.width = w * dpr;
  canvas.height = h * dpr;
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  const c = canvas.getContext("2d")!;
  c.setTransform(dpr, 0, 0, dpr, 0, 0);
  return c;
}
