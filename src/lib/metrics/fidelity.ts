/**
 * Teacher-forced cache fidelity (llama.cpp's KL-divergence check, for a VAR): generate with the full cache,
 * then replay exactly those tokens through the compressed cache (the cache policy enforced as in generation:
 * it sees the attention of this replay, i.e. what it would observe generating these tokens) and compare the
 * two runs' next-token distributions position by position. No sampling happens in the replay, so the metrics
 * carry no sampling noise: `full` replayed against itself gives exactly 0 KL and 100 % top-1.
 *
 * Per position i (p = full run, q = compressed replay, both after CFG):
 *  - kl:       KL(p ‖ q) of the distributions actually sampled from (temperature, top-k, top-p applied;
 *              q floored at KL_FLOOR where the compressed run's truncation masked a code p can sample), nats;
 *  - klLogits: KL(softmax(z_full) ‖ softmax(z_comp)) of the CFG-mixed logits before truncation and
 *              temperature, nats;
 *  - tv:       total variation ½ Σ|p − q| of the sampled distributions: the least possible probability that
 *              any coupling of the two draws picks different codes;
 *  - top1:     argmax z_comp = argmax z_full;
 *  - pRef:     q(token the full run sampled).
 * Per scale: means over the scale's positions; overall: means over all positions of the image (token-weighted).
 */
import type { CachePolicy, GenerateResult, VarModel } from "../var/runtime.js";
import { mixRow, type SamplerOptions, samplingDistribution } from "../var/sampler.js";

/** q is floored at this probability inside KL(p ‖ q) where truncation removed a code p can sample. */
export const KL_FLOOR = 1e-6;

export interface PositionStats {
  kl: number;
  klLogits: number;
  tv: number;
  top1: number;
  pRef: number;
}

export interface ScaleFidelity extends PositionStats {
  scale: number;
  tokens: number;
}

export interface Fidelity {
  perScale: ScaleFidelity[];
  /** token-weighted means over every position of the image */
  overall: PositionStats;
}

/** The fidelity metrics as the sweep stores them (per image; `<key>_s<k>` per scale) and their direction. */
export const FIDELITY_METRICS = {
  tf_kl: { field: "kl", label: "KL(full ‖ compressed), sampled distribution (nats/token)", higherIsBetter: false },
  tf_kl_logits: { field: "klLogits", label: "KL(full ‖ compressed), CFG-mixed logits (nats/token)", higherIsBetter: false },
  tf_tv: { field: "tv", label: "total variation, sampled distribution", higherIsBetter: false },
  tf_top1: { field: "top1", label: "top-1 agreement (teacher-forced)", higherIsBetter: true },
  tf_p_ref: { field: "pRef", label: "p(full run's token) under the compressed cache", higherIsBetter: true },
} as const satisfies Record<string, { field: keyof PositionStats; label: string; higherIsBetter: boolean }>;
export type FidelityMetric = keyof typeof FIDELITY_METRICS;

/** The CFG-mixed logits of one scale, [n, V] row-major, in double precision exactly as the sampler mixes them. */
export function mixedLogits(logits: Float32Array, n: number, vocab: number, guidance: number, useUncond: boolean): Float64Array {
  const out = new Float64Array(n * vocab);
  const row = new Float64Array(vocab);
  for (let i = 0; i < n; i++) out.set(mixRow(logits, n, vocab, i, guidance, useUncond, row), i * vocab);
  return out;
}

function logSoftmax(z: Float64Array, out: Float64Array): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (let v = 0; v < z.length; v++) if (z[v] > max) max = z[v];
  let s = 0;
  for (let v = 0; v < z.length; v++) s += Math.exp(z[v] - max);
  const lse = max + Math.log(s);
  for (let v = 0; v < z.length; v++) out[v] = z[v] - lse;
  return out;
}

const argmax = (z: Float64Array) => {
  let b = 0;
  for (let v = 1; v < z.length; v++) if (z[v] > z[b]) b = v;
  return b;
};

/** Compare one scale: `full` and `comp` are mixedLogits() of the two runs, `refTokens` the full run's tokens. */
export function compareScale(scale: number, full: Float64Array, comp: Float64Array, vocab: number, refTokens: Int32Array, o: SamplerOptions): ScaleFidelity {
  const n = refTokens.length;
  if (full.length !== n * vocab || comp.length !== n * vocab)
    throw new Error(`compareScale: scale ${scale} needs ${n} × ${vocab} logits, got ${full.length} (full) and ${comp.length} (compressed)`);
  const p = new Float64Array(vocab);
  const q = new Float64Array(vocab);
  const lp = new Float64Array(vocab);
  const lq = new Float64Array(vocab);
  const sorted = new Float64Array(vocab);
  const acc: ScaleFidelity = { scale, tokens: n, kl: 0, klLogits: 0, tv: 0, top1: 0, pRef: 0 };
  for (let i = 0; i < n; i++) {
    const zf = full.subarray(i * vocab, (i + 1) * vocab);
    const zc = comp.subarray(i * vocab, (i + 1) * vocab);
    samplingDistribution(zf, o, p, sorted);
    samplingDistribution(zc, o, q, sorted);
    logSoftmax(zf, lp);
    logSoftmax(zc, lq);
    let kl = 0;
    let tv = 0;
    let klz = 0;
    for (let v = 0; v < vocab; v++) {
      if (p[v] > 0) kl += p[v] * Math.log(p[v] / Math.max(q[v], KL_FLOOR));
      tv += Math.abs(p[v] - q[v]);
      const e = Math.exp(lp[v]);
      if (e > 0) klz += e * (lp[v] - lq[v]);
    }
    acc.kl += kl;
    acc.klLogits += klz;
    acc.tv += tv / 2;
    acc.top1 += argmax(zf) === argmax(zc) ? 1 : 0;
    acc.pRef += q[refTokens[i]];
  }
  for (const k of ["kl", "klLogits", "tv", "top1", "pRef"] as const) acc[k] /= Math.max(1, n);
  return acc;
}

/** Per-scale means → the image's token-weighted means. */
export function summarizeFidelity(perScale: ScaleFidelity[]): Fidelity {
  const overall: PositionStats = { kl: 0, klLogits: 0, tv: 0, top1: 0, pRef: 0 };
  const total = perScale.reduce((a, s) => a + s.tokens, 0);
  for (const s of perScale) for (const k of ["kl", "klLogits", "tv", "top1", "pRef"] as const) overall[k] += (s[k] * s.tokens) / Math.max(1, total);
  return { perScale, overall };
}

/** A full-cache run with its CFG-mixed logits per scale (what compressed replays are compared with). */
export interface FidelityReference {
  result: GenerateResult;
  mixed: Float64Array[];
}

/** Generate (free-running, sampling as usual) and keep every scale's mixed logits. */
export async function generateWithLogits(model: VarModel, opts: Parameters<VarModel["generate"]>[0]): Promise<FidelityReference> {
  const mixed: Float64Array[] = [];
  const V = model.config.vocabSize;
  const result = await model.generate({
    ...opts,
    onLogits: (t, logits, g, u) => {
      mixed[t] = mixedLogits(logits, model.shape.tokensPerScale[t], V, g, u);
      opts.onLogits?.(t, logits, g, u);
    },
  });
  return { result, mixed };
}

/**
 * Replay the reference's tokens through `model` with `policy` (fresh per image: dynamic scorers keep state)
 * and compare every scale's distributions with the reference's. Returns the fidelity and the replay's
 * peak cache bytes (equal to the free-running generation's: the schedule fixes the lengths). The sampler
 * settings are the reference run's.
 */
export async function replayFidelity(model: VarModel, ref: FidelityReference, policy?: CachePolicy): Promise<Fidelity & { peakCacheBytes: number }> {
  const V = model.config.vocabSize;
  const sampler = ref.result.sampler; // the reference's own settings: the same CFG, truncation and temperature
  const perScale: ScaleFidelity[] = [];
  const r = await model.generate({
    classIndex: ref.result.classIndex,
    seed: ref.result.seed,
    ...sampler,
    policy,
    forceTokens: ref.result.tokens,
    skipDecode: true,
    onLogits: (t, logits, g, u) => {
      const n = model.shape.tokensPerScale[t];
      perScale.push(compareScale(t, ref.mixed[t], mixedLogits(logits, n, V, g, u), V, ref.result.tokens[t], sampler));
    },
  });
  return { ...summarizeFidelity(perScale), peakCacheBytes: r.peakCacheBytes };
}
