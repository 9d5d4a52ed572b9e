/**
 * Seeded synthetic calibration statistics and a synthetic Infinity-2B-shaped model, for tests, the
 * benchmark and demos before real calibration exists. Not a substitute for calibration.
 */
import { type HeadScaleStats, massIndex, scasFromMass } from "./stats.js";
import { type ScheduleModel, checkedShape } from "./shape.js";
import { type LowRankManifest, latentWidths } from "../model/index.js";

/** Infinity-2B at 1024 px: 13 scales n = 1..4096 (C_max = 6425), 32 layers × 16 heads, head dim 128. */
export const INFINITY_2B_MODEL: ScheduleModel = {
  modelId: "infinity-2b-synthetic",
  configHash: "00000000000002b0",
  patchNums: [1, 2, 4, 6, 8, 12, 16, 20, 24, 32, 40, 48, 64],
  numLayers: 32,
  numHeads: 16,
  headDim: 128,
};

/** mulberry32: small seeded PRNG in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Per head a random locality λ: mass of target t spread as λ·(own scale) + a share on scale t−1, and the
 * rest over earlier scales with random weights (some heads favour the first scales: "contextual").
 * Each (head, target) row sums to 1 over s ≤ t. S-CAS computed for every s (sigma 0).
 */
export function syntheticStats(model: ScheduleModel, seed = 1): HeadScaleStats {
  const shape = checkedShape(model);
  const K = shape.numScales;
  const N = model.numLayers * model.numHeads;
  const rnd = seededRandom(seed);
  const mass = new Float64Array(N * K * K);
  const w = new Float64Array(K);
  for (let lh = 0; lh < N; lh++) {
    const locality = 0.2 + 0.75 * rnd();
    const earlyBias = rnd() < 0.4 ? 2 + 4 * rnd() : 0;
    for (let t = 0; t < K; t++) {
      let sum = 0;
      for (let s = 0; s <= t; s++) {
        w[s] = s === t ? 0 : (0.2 + rnd()) * (1 + earlyBias * Math.exp(-s));
        sum += w[s];
      }
      const own = t === 0 ? 1 : locality * (0.5 + 0.5 * rnd());
      for (let s = 0; s <= t; s++) mass[massIndex(lh, t, s, K)] = s === t ? own : ((1 - own) * w[s]) / sum;
    }
  }
  return {
    configHash: model.configHash,
    numLayers: model.numLayers,
    numHeads: model.numHeads,
    numScales: K,
    scas: scasFromMass(mass, { numLayers: model.numLayers, numHeads: model.numHeads, numScales: K }, 0),
    mass,
    prompts: 1,
  };
}

/**
 * A ReCalKV variant manifest shaped like train/recalkv.py's recalkv.json for any model (tests, property
 * tests and benchmarks on models without exported variants): heads grouped consecutively in groups of
 * `groupSize` (or 1 when it does not divide the heads), widths latentWidths() (round(ratio · full width) as train/recalkv.py, at least 1).
 */
export function syntheticLowRank(model: ScheduleModel, ratios = [0.75, 0.5, 0.25], groupSize = 2): LowRankManifest {
  const H = model.numHeads;
  const g = H % groupSize === 0 ? groupSize : 1;
  const groups = Array.from({ length: model.numLayers }, () => Array.from({ length: H / g }, (_, i) => Array.from({ length: g }, (_, j) => i * g + j)));
  return {
    version: "heatkv-recalkv/1",
    modelId: model.modelId,
    configHash: model.configHash,
    weightsHash: "synthetic",
    variants: ratios.map((r) => ({
      id: `r${Math.round(r * 100)}`,
      rankRatio: r,
      groupSize: g,
      numGroups: H / g,
      keyLatentWidth: latentWidths(r, g, model.headDim).keyWidth,
      valueLatentWidth: latentWidths(r, g, model.headDim).valueWidth,
      groups: groups.map((gs) => gs.map((x) => [...x])),
      file: `synthetic/step_r${Math.round(r * 100)}.onnx`,
      quality: {},
    })),
  };
}
