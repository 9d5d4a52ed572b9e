/**
 * Synthetic full attention at the shapes of real next-scale models, for the head explorer's benchmark
 * (bench/bench-explorer.ts). Companion of synthetic-stats.ts (same shapes, same head types): there the
 * scale-level statistics, here whole query × key matrices in the explorer's storage format.
 *
 *   VAR-d16      patch nums 1,2,3,4,5,6,8,10,13,16 (680 tokens), 16 layers × 16 heads — every head stored
 *   Infinity-2B  patch nums 1,2,4,…,64 (10,521 tokens), 32 layers × 16 heads — a full matrix would be 110 M
 *                entries per head, so scales above 10 × 10 are pooled to a 10 × 10 grid of cells ("pooled to
 *                screen resolution": 921 cells per side, still more than the detail canvas's pixels) and
 *                matrices are stored for a subset of heads only (layers 0, 15 and 31); every head still has
 *                its summary row. `infinity2bAttention(12)` gives 1,273 cells, (16) 2,057.
 *
 * Generator (deterministic in (shape, image, branch, layer, head)): a head type from a hash — ~15 % "sink"
 * (mass on scales 0–2), ~15 % "broad" (uniform over keys), the rest "local" (own scale and spatially near
 * keys, more local in deeper layers). Row q of scale t, key cell k of scale s ≤ t with centres c_q, c_k on the
 * common [0, 1]² grid: logit = profile(type, t − s, ‖c_q − c_k‖) + ln(tokens pooled in k) + hashed noise;
 * the row is the softmax over its visible keys (so a pooled cell carries the mass of all its tokens).
 */
import { headMetrics, headScaleMass, labelHeads, METRIC_NAMES, packHead, scaleLayout, type ScaleLayout } from "../src/lib/metrics/heads.js";

export interface AttentionShape {
  name: string;
  patchNums: number[];
  /** stored grid per scale (≤ patchNums) */
  gridNums: number[];
  numLayers: number;
  numHeads: number;
  /** l*H+h with a stored matrix; undefined = every head */
  matrixHeads?: number[];
  images: number;
  imageSize: number;
  /** summary rows are computed on a grid capped at this many cells per side (cost) */
  summaryGrid: number;
}

export const VAR_D16_ATTENTION: AttentionShape = {
  name: "VAR-d16",
  patchNums: [1, 2, 3, 4, 5, 6, 8, 10, 13, 16],
  gridNums: [1, 2, 3, 4, 5, 6, 8, 10, 13, 16],
  numLayers: 16,
  numHeads: 16,
  images: 2,
  imageSize: 64,
  summaryGrid: 6,
};

const INF_PN = [1, 2, 4, 6, 8, 12, 16, 20, 24, 32, 40, 48, 64];
/** cells per side of a pooled Infinity-2B scale: at 12 the largest matrix fetches pushed single interactions past 100 ms (measured) */
export const INFINITY_GRID = 10;
/** Infinity-2B with scales above cap × cap tokens pooled to cap × cap cells (default 10: 921 cells per side) */
export function infinity2bAttention(cap = INFINITY_GRID): AttentionShape {
  return { ...INFINITY_2B_ATTENTION, gridNums: INF_PN.map((p) => Math.min(p, cap)) };
}
export const INFINITY_2B_ATTENTION: AttentionShape = {
  name: "Infinity-2B",
  patchNums: INF_PN,
  gridNums: INF_PN.map((p) => Math.min(p, INFINITY_GRID)),
  numLayers: 32,
  numHeads: 16,
  matrixHeads: [0, 15, 31].flatMap((l) => Array.from({ length: 16 }, (_, h) => l * 16 + h)),
  images: 2,
  imageSize: 64,
  summaryGrid: 4,
};

function hash(a: number, b: number, c: number, d: number): number {
  let x = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) ^ Math.imul(c + 0x1b873593, 0x27d4eb2f);
  x = Math.imul(x ^ (x >>> 13), 0x165667b1) ^ Math.imul(d + 0x7f4a7c15, 0x9e3779b1);
  x ^= x >>> 16;
  return (x >>> 0) / 4294967296;
}

export type HeadType = "sink" | "broad" | "local";
export function headType(layer: number, head: number): HeadType {
  const u = hash(layer, head, 7, 11);
  return u < 0.15 ? "sink" : u < 0.3 ? "broad" : "local";
}

/** Dense L × L (L = the grid's token count) attention of one head. */
export function syntheticHead(
  shape: AttentionShape,
  lay: ScaleLayout,
  grid: number[],
  image: number,
  branch: number,
  layer: number,
  head: number,
): Float32Array {
  const L = lay.total;
  const A = new Float32Array(L * L);
  const type = headType(layer, head);
  const depth = layer / Math.max(1, shape.numLayers - 1);
  const sharp = 6 + 8 * depth;
  const noiseAmp = branch === 1 ? 0.9 : 0.6;
  const seed = ((image * 131 + branch) * 977 + layer) * 61 + head;
  const logW = shape.patchNums.map((p, s) => 2 * Math.log(p / grid[s]));
  const row = new Float64Array(L);
  for (let q = 0; q < L; q++) {
    const t = lay.scaleOf[q];
    const vis = lay.visible[t];
    const qx = lay.centre[2 * q];
    const qy = lay.centre[2 * q + 1];
    let max = -Infinity;
    for (let k = 0; k < vis; k++) {
      const s = lay.scaleOf[k];
      const d = Math.sqrt((qx - lay.centre[2 * k]) ** 2 + (qy - lay.centre[2 * k + 1]) ** 2);
      let base: number;
      if (type === "sink") base = s < 3 ? 4 : -0.8 * (t - s) - 2 * d;
      else if (type === "broad") base = 0;
      else base = -1.2 * (t - s) - sharp * d * (s === t ? 1 : 0.5);
      const v = base + logW[s] + noiseAmp * (hash(q, k, seed, 3) - 0.5);
      row[k] = v;
      if (v > max) max = v;
    }
    let sum = 0;
    for (let k = 0; k < vis; k++) sum += row[k] = Math.exp(row[k] - max);
    const o = q * L;
    for (let k = 0; k < vis; k++) A[o + k] = row[k] / sum;
  }
  return A;
}

export function syntheticPackedHead(shape: AttentionShape, image: number, branch: number, layer: number, head: number): Uint8Array {
  const lay = scaleLayout(shape.gridNums);
  return packHead(syntheticHead(shape, lay, shape.gridNums, image, branch, layer, head), lay);
}

/** RGB bytes [S, S, 3] per scale: a smooth blob image, coarser at coarse scales (display only). */
export function syntheticPyramid(shape: AttentionShape, image: number): Uint8Array {
  const S = shape.imageSize;
  const out = new Uint8Array(shape.patchNums.length * S * S * 3);
  shape.patchNums.forEach((p, t) => {
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const cx = (Math.floor((x * p) / S) + 0.5) / p;
        const cy = (Math.floor((y * p) / S) + 0.5) / p;
        const r = Math.hypot(cx - 0.5 - 0.1 * image, cy - 0.5);
        const o = ((t * S + y) * S + x) * 3;
        out[o] = Math.round(255 * Math.max(0, 1 - r * 1.6));
        out[o + 1] = Math.round(180 * Math.max(0, 1 - r * 2.2) + 40 * image);
        out[o + 2] = Math.round(120 + 100 * Math.sin(6 * cx + 4 * cy + image));
      }
    }
  });
  return out;
}

/**
 * Summary rows (metrics + K × K scale mass) of every (image, branch, layer, head), computed from the same
 * generator on a grid capped at `summaryGrid` cells per side (VAR-d16: 6, Infinity-2B: 4 — seconds instead
 * of minutes on 2 cores; the stored matrices use gridNums).
 */
export function syntheticSummaryRows(shape: AttentionShape, summaryGrid = shape.summaryGrid): Record<string, number | string>[] {
  const grid = shape.patchNums.map((p) => Math.min(p, summaryGrid));
  const lay = scaleLayout(grid);
  const K = grid.length;
  const rows: Record<string, number | string>[] = [];
  for (let image = 0; image < shape.images; image++) {
    for (let b = 0; b < 2; b++) {
      const group: Record<string, number | string>[] = [];
      const metrics = [];
      for (let l = 0; l < shape.numLayers; l++) {
        for (let h = 0; h < shape.numHeads; h++) {
          const A = syntheticHead(shape, lay, grid, image, b, l, h);
          const m = headMetrics(A, lay);
          const mass = headScaleMass(A, lay);
          const row: Record<string, number | string> = { image, branch: b ? "uncond" : "cond", layer: l, head: h, ...m };
          for (let t = 0; t < K; t++) for (let s = 0; s <= t; s++) row[`m${t}_${s}`] = mass[t * K + s];
          group.push(row);
          metrics.push(m);
        }
      }
      labelHeads(metrics).forEach((lab, i) => Object.assign(group[i], lab));
      rows.push(...group);
    }
  }
  return rows;
}

export { METRIC_NAMES };
