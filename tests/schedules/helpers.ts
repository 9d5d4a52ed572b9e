/** Shared test helpers: the demo config, tiny models, and a fake runtime loop that drives a CachePolicy. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MODEL_DIR } from "../../node/paths.js";
import type { Schedule } from "../../src/lib/schedules/schedule.js";
import type { ScheduleModel } from "../../src/lib/schedules/shape.js";
import { type ModelConfig, modelShape, parseConfig } from "../../src/lib/model/index.js";
import { type CacheStore, KVCache } from "../../src/lib/var/kvcache.js";
import type { LowRankLayout } from "../../src/lib/model/index.js";
import { LatentCache } from "../../src/lib/var/latentcache.js";
import { type LowRankManifest, parseLowRankManifest } from "../../src/lib/model/index.js";
import type { CachePolicy, ScaleObservation } from "../../src/lib/var/runtime.js";

/** The shipped ReCalKV variants of the demo model (data/model/recalkv/recalkv.json). */
export function demoLowRank(): LowRankManifest {
  const path = join(MODEL_DIR, "recalkv", "recalkv.json");
  return parseLowRankManifest(JSON.parse(readFileSync(path, "utf8")), demoConfig(), path);
}

export function demoConfig(): ModelConfig {
  const path = join(MODEL_DIR, "config.json");
  return parseConfig(JSON.parse(readFileSync(path, "utf8")), path);
}

/** patch 1,2,3,4 → n = 1,4,9,16, C_t = 0,1,5,14, C_max = 14 */
export const TINY: ScheduleModel = { modelId: "tiny", configHash: "aaaa1111", patchNums: [1, 2, 3, 4], numLayers: 2, numHeads: 2, headDim: 2 };
/** patch 1..5 → n = 1,4,9,16,25, C_t = 0,1,5,14,30, C_max = 30 */
export const TINY5: ScheduleModel = { modelId: "tiny5", configHash: "bbbb2222", patchNums: [1, 2, 3, 4, 5], numLayers: 2, numHeads: 1, headDim: 2 };

export const key = (s: number, t: number) => `${s}:${t}`;

export interface Simulation {
  /** per scale t: entries fed per head */
  fedLengths: number[][];
  /** per scale t: cache.bytes() fed to the step (what the runtime reports as cacheBytes) */
  fedBytes: number[];
  /** per scale t, per head: the (scale:token) keys fed */
  fedKeys: Set<string>[][];
}

/**
 * The runtime's loop without ONNX: for t = 0..K−1 record what is fed, build an observation with
 * `attention(t, lh, P, n)` (mass per fed entry then per own key, one row; rows are duplicated ×0.5),
 * append scale t's keys and call policy.afterScale(t) for t ≤ K−2.
 */
export function simulate(
  model: ScheduleModel,
  policy: CachePolicy | undefined,
  attention: (t: number, lh: number, fedScale: Int16Array, fedToken: Int32Array, n: number) => Float32Array,
  rows = 2,
  /** run on a low-rank LatentCache with this layout instead of the full-width KVCache */
  lowRank?: LowRankLayout,
  /** low rank: sink scales σ held exact (default: the policy's sigma) */
  sigmaOverride?: number,
): Simulation {
  const shape = modelShape(model);
  const { numLayers: L, numHeads: H, headDim: d } = model;
  const sigma = sigmaOverride ?? policy?.sigma ?? 0;
  const cache: CacheStore = lowRank ? new LatentCache(L, H, lowRank, rows, { sigma, headDim: d }) : new KVCache(L, H, d, rows);
  const heads = () => Array.from({ length: L * H }, (_, i) => cache.head(Math.floor(i / H), i % H));
  const sim: Simulation = { fedLengths: [], fedBytes: [], fedKeys: [] };
  for (let t = 0; t < shape.numScales; t++) {
    const n = shape.tokensPerScale[t];
    sim.fedLengths.push(cache.lengths());
    sim.fedBytes.push(cache.bytes());
    sim.fedKeys.push(heads().map((hc) => new Set(Array.from(hc.scale, (s, i) => key(s, hc.token[i])))));
    const attn = heads().map((hc, lh) => {
      const one = attention(t, lh, hc.scale, hc.token, n);
      if (one.length !== hc.scale.length + n) throw new Error("attention(): wrong length");
      const a = new Float32Array(rows * one.length);
      for (let r = 0; r < rows; r++) for (let i = 0; i < one.length; i++) a[r * one.length + i] = one[i] * (r === 0 ? 1 : 0.5);
      return a;
    });
    const obs: ScaleObservation = { scale: t, tokens: n, rows, attn, fedScale: heads().map((h) => h.scale), fedToken: heads().map((h) => h.token) };
    if (t < shape.numScales - 1) {
      const out: Record<string, { data: Float32Array; dims: number[] }> = {};
      for (let l = 0; l < L; l++) {
        if (lowRank && t >= sigma) {
          const G = lowRank.groups[l].length;
          out[`present_kz_L${l}`] = { data: new Float32Array(rows * G * n * lowRank.keyWidth), dims: [rows, G, n, lowRank.keyWidth] };
          out[`present_vz_L${l}`] = { data: new Float32Array(rows * H * n * lowRank.valueWidth), dims: [rows, H, n, lowRank.valueWidth] };
        } else {
          const data = new Float32Array(rows * H * n * d);
          out[`present_k_L${l}`] = out[`present_v_L${l}`] = { data, dims: [rows, H, n, d] };
        }
      }
      cache.appendStep(out, t);
      policy?.afterScale(t, cache, obs);
    }
  }
  return sim;
}

/** Random attention generator for simulate(). */
export function randomAttention(rnd: () => number) {
  return (_t: number, _lh: number, fedScale: Int16Array, _fedToken: Int32Array, n: number) => Float32Array.from({ length: fedScale.length + n }, () => rnd());
}

/** The kept sets of a static schedule as lists: [t][lh] → source scales. */
export function keepLists(s: Schedule): number[][][] {
  if (s.kind !== "static") throw new Error("static only");
  const N = s.model.numLayers * s.model.numHeads;
  const K = s.model.patchNums.length;
  return Array.from({ length: K }, (_, t) =>
    Array.from({ length: N }, (_, i) => Array.from({ length: t }, (_, x) => x).filter((x) => (s.keep[t * N + i] >>> x) & 1)),
  );
}
