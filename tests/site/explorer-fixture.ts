// A tiny explorer set for the view tests: patch nums [1, 2] (5 tokens), 2 layers × 2 heads, two images.
import { METRIC_NAMES, scaleLayout } from "../../src/lib/metrics/heads.js";
import type { ExplorerIndex, HeadRow } from "../../src/lib/site/explorer-data.js";
import { DEFAULT_STATE, type ExplorerState } from "../../src/lib/site/explorer-state.js";

export const PATCH_NUMS = [1, 2];
export const LAY = scaleLayout(PATCH_NUMS);
export const DIMS = { numLayers: 2, numHeads: 2, scales: 2, tokens: 5 };

export const INDEX = {
  format: "t",
  model: { id: "t", patchNums: PATCH_NUMS, numLayers: 2, numHeads: 2, classes: ["cat", "dog"], imageSize: 2, totalTokens: 5 },
  images: [
    { id: 0, classIndex: 0, className: "cat", seed: 1 },
    { id: 1, classIndex: 1, className: "dog", seed: 2 },
  ],
  layout: { pyramidBytes: 24, headBytes: 21 },
  metricRules: { sigma: 1, topK: 16 },
} as ExplorerIndex;

/** One head row; every metric = `metric` unless overridden. */
export function row(layer: number, head: number, metric: number, over: Partial<HeadRow> = {}): HeadRow {
  const m = Object.fromEntries(METRIC_NAMES.map((n) => [n, metric])) as Record<(typeof METRIC_NAMES)[number], number>;
  return { image: 0, branch: "cond", layer, head, scalekv: "refiner", hack: "structural", mass: Float64Array.from([1, 0, 0.25, 0.75]), ...m, ...over };
}

export const state = (over: Partial<ExplorerState> = {}): ExplorerState => ({ ...DEFAULT_STATE, combine: [], ...over });

/** A packed float matrix (21 values) from dense rows: row q lists its visible keys. */
export function packed(rows: number[][]): Float32Array {
  const out = new Float32Array(LAY.packedSize);
  rows.forEach((r, q) => r.forEach((v, k) => (out[LAY.rowStart[q] + k] = v)));
  return out;
}

/** A valid attention matrix: token 0 sees itself; the scale-1 rows split their mass over the 5 keys. */
export const ATTENTION = [[1], [0.5, 0.2, 0.1, 0.1, 0.1], [0.1, 0.6, 0.1, 0.1, 0.1], [0.3, 0.1, 0.1, 0.4, 0.1], [0.2, 0.2, 0.2, 0.2, 0.2]];
