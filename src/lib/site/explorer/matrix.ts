// The query × key matrix image of the head explorer (pure, no DOM): which rows and columns a state shows,
// max-pooling a packed block-causal matrix to ≤ 720 px per side with per-pixel flags (visible, masked sink
// scale, dropped by a schedule), the colour range and the attention mass a schedule keeps, and the RGBA
// pixels under the log / linear colour scale. Used by the detail and the compare view.
import { LOG8, type ScaleLayout } from "../../metrics/heads.js";
import type { PackedMatrix } from "../explorer-data.js";
import type { ExplorerState } from "../explorer-state.js";
import { colourPosition, LUT_VIRIDIS } from "./colour.js";

export const MAX_PIXELS = 720;

/** Pixel flags of a pooled matrix. */
export const FLAG_EMPTY = 0;
export const FLAG_VISIBLE = 1;
export const FLAG_SINK = 2;
export const FLAG_DROPPED = 3;

/** Query rows [r0, r1) and key columns [0, c1) shown for a target scale (−1 = every scale). */
export function matrixWindow(scale: number, lay: ScaleLayout): { r0: number; r1: number; c1: number; rows: number } {
  const r0 = scale < 0 ? 0 : lay.begin[scale];
  const r1 = scale < 0 ? lay.total : lay.begin[scale] + lay.tokens[scale];
  return { r0, r1, c1: scale < 0 ? lay.total : lay.visible[scale], rows: r1 - r0 };
}

export interface PooledMatrix {
  r0: number;
  r1: number;
  /** shown rows and columns (tokens) */
  rows: number;
  cols: number;
  /** pixels */
  pw: number;
  ph: number;
  /** pooled values (max over the tokens a pixel covers), decoded */
  pooled: Float32Array;
  /** pooled log8 codes when the matrix is one head's codes, else null */
  codes: Uint8Array | null;
  /** FLAG_* per pixel (the largest of the tokens it covers) */
  flag: Uint8Array;
  /** largest value of any row (scale-0 row and masked sink scales excluded) */
  vmax: number;
  /** attention mass in the shown rows not dropped by the schedule, and all of it */
  keptMass: number;
  totalMass: number;
  /** a position-weighted sum of the pooled values (tests compare drawings by it) */
  checksum: number;
}

export interface PoolOptions {
  scale: number;
  /** mask the sink scales 0..sigma−1 */
  sink: boolean;
  sigma: number;
  /** (target scale, source scale) blocks a schedule drops, or null */
  dropped: ((t: number, s: number) => boolean) | null;
  maxPixels?: number;
}

/** Max-pool rows [r0, r1) × columns [0, c1) of a packed matrix; a single head stays in log8 codes (monotone: max of codes = code of max). */
export function poolMatrix(A: PackedMatrix, lay: ScaleLayout, o: PoolOptions): PooledMatrix {
  const { r0, r1, c1, rows } = matrixWindow(o.scale, lay);
  const max = o.maxPixels ?? MAX_PIXELS;
  const sinkEnd = o.sink ? lay.visible[o.sigma - 1] : 0;
  const pw = Math.min(max, c1);
  const ph = Math.min(max, rows);
  const isCodes = A instanceof Uint8Array;
  const pooled = new Float32Array(pw * ph);
  const pooledCode = new Uint8Array(pw * ph);
  const flag = new Uint8Array(pw * ph);
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
      const drop = o.dropped?.(tq, s) ?? false;
      const f = k0 < sinkEnd ? FLAG_SINK : drop ? FLAG_DROPPED : FLAG_VISIBLE;
      let blockMass = 0;
      if (f === FLAG_SINK) {
        // masked sink scale: hatched, left out of the pooled values and the colour range
        for (let k = k0; k < k1; k++) {
          blockMass += isCodes ? LOG8[A[base + k]] : A[base + k];
          flag[rowPx + colPx[k]] = Math.max(flag[rowPx + colPx[k]], FLAG_SINK);
        }
      } else if (isCodes) {
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
      if (!drop) keptMass += blockMass;
      if (f !== FLAG_SINK && tq > 0) {
        // scale 0's single query sees only itself (always 1): left out of the colour range
        for (let k = k0; k < k1; k++) if (A[base + k] > rowMax) rowMax = A[base + k];
      }
    }
    const rm = isCodes ? LOG8[rowMax] : rowMax;
    if (rm > vmax) vmax = rm;
  }
  if (isCodes) for (let i = 0; i < pooled.length; i++) pooled[i] = LOG8[pooledCode[i]];
  let checksum = 0;
  for (let i = 0; i < pooled.length; i++) checksum += pooled[i] * (i % 97);
  return { r0, r1, rows, cols: c1, pw, ph, pooled, codes: isCodes ? pooledCode : null, flag, vmax, keptMass, totalMass, checksum };
}

/** Top of the colour range: 1 (global probability) or the view's vmax (per head; 1 when it is 0). */
export const colourTop = (p: Pick<PooledMatrix, "vmax">, norm: ExplorerState["norm"]): number => (norm === "global" ? 1 : p.vmax || 1);

/** RGBA pixels of a pooled matrix: viridis, white above the diagonal, hatched sink scales, grey dropped blocks. */
export function matrixPixels(p: PooledMatrix, top: number, color: ExplorerState["color"]): Uint8ClampedArray {
  // colour of every code (codes path) or per pixel (combined heads)
  const codeColour = new Int32Array(256);
  for (let c = 0; c < 256; c++) codeColour[c] = Math.round(colourPosition(LOG8[c], top, color) * 255) * 3;
  // combined heads (floats): colour index by binary search over the 255 value thresholds (no log per pixel)
  const thresholds = new Float64Array(255);
  for (let j = 1; j < 256; j++) thresholds[j - 1] = color === "linear" ? (top * (j - 0.5)) / 255 : top * 10 ** (4 * ((j - 0.5) / 255) - 4);
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
  const { pw, ph, flag, codes, pooled } = p;
  const d = new Uint8ClampedArray(pw * ph * 4);
  for (let i = 0; i < pw * ph; i++) {
    const o = i * 4;
    d[o + 3] = 255;
    const fl = flag[i];
    if (fl === FLAG_EMPTY) {
      d[o] = d[o + 1] = d[o + 2] = 255;
    } else if (fl === FLAG_SINK) {
      const stripe = ((i % pw) + Math.floor(i / pw)) % 6 < 3;
      d[o] = d[o + 1] = d[o + 2] = stripe ? 200 : 230;
    } else {
      const j = codes ? codeColour[codes[i]] : floatColour(pooled[i]);
      if (fl === FLAG_DROPPED) {
        const g = 0.3 * LUT_VIRIDIS[j] + 0.59 * LUT_VIRIDIS[j + 1] + 0.11 * LUT_VIRIDIS[j + 2];
        d[o] = d[o + 1] = d[o + 2] = Math.round(150 + g * 0.35);
      } else {
        d[o] = LUT_VIRIDIS[j];
        d[o + 1] = LUT_VIRIDIS[j + 1];
        d[o + 2] = LUT_VIRIDIS[j + 2];
      }
    }
  }
  return d;
}
