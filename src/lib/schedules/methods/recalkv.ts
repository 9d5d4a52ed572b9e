/**
 * recalkv — ReCalKV (arXiv 2505.24357): compress the WIDTH of the cache instead of its length.
 * Every entry is kept; keys are cached as one rank-r_k latent per (layer, group of heads) (head-similarity
 * grouping + whitened grouped SVD) and values as one rank-r_v latent per head (SVD + one ALS calibration,
 * up-projection folded into the output projection). The factorisation is done offline by
 * train/recalkv.py, which exports one step graph per rank ratio (data/model/recalkv/recalkv.json); this
 * method only picks the variant.
 *
 * Budget (as for every method, a fraction of the FULL fp32 cache): `rankRatio = 0` (default) picks the
 * largest shipped variant whose latent cache fits; an explicit rank ratio must be a shipped one and fit.
 * Budgets below the smallest variant are infeasible (heatkv+recalkv also prunes tokens to go lower).
 *
 * `sigma` (exact sink scales, the hybrid): the cached entries of source scales < σ stay at full width and
 * only later scales' entries are latents; the variant choice counts those exact bytes. Default σ = SIGMA_DEFAULT
 * (measured: see README "ReCalKV").
 */
import type { LowRankManifest, LowRankVariant } from "../../model/index.js";
import { ScheduleError, percent } from "../errors.js";
import { defineMethod } from "../method.js";
import { type LowRankPart, staticLowRankBytes } from "../schedule.js";
import type { ScheduleModel } from "../shape.js";
import type { Budget } from "../budget.js";

export function lowRankPart(v: LowRankVariant, sigma = 0): LowRankPart {
  return {
    variant: v.id,
    rankRatio: v.rankRatio,
    groupSize: v.groupSize,
    keyWidth: v.keyLatentWidth,
    valueWidth: v.valueLatentWidth,
    groups: v.groups.map((gs) => gs.map((g) => [...g])),
    sigma,
  };
}

/** The shipped variant with this rank ratio, or one line naming the field and the shipped ratios. */
export function variantByRatio(m: LowRankManifest, ratio: number, source: string, field = "params.rankRatio"): LowRankVariant {
  const v = m.variants.find((x) => Math.abs(x.rankRatio - ratio) < 1e-9);
  if (!v) throw new ScheduleError(source, field, `must be one of the shipped ReCalKV rank ratios ${shippedRatios(m)}, got ${ratio}`);
  return v;
}

export const shippedRatios = (m: LowRankManifest) =>
  m.variants
    .map((v) => v.rankRatio)
    .sort((a, b) => b - a)
    .join(", ");

/** Peak bytes of a static keep set held as this variant's latent cache (same accounting as predictedBytes). */
export function latentPeakBytes(model: ScheduleModel, keep: Uint32Array, part: LowRankPart, budget: Budget): number {
  return staticLowRankBytes(model, keep, part, budget.rows, budget.bytesPerElement).peak;
}

export function fullKeep(K: number, N: number): Uint32Array {
  const keep = new Uint32Array(K * N);
  for (let t = 1; t < K; t++) keep.fill(((1 << t) - 1) >>> 0, t * N, (t + 1) * N);
  return keep;
}

/** recalkv's default σ (exact sink scales): the better quality in the measured sweep (README "ReCalKV"). */
export const RECALKV_SIGMA_DEFAULT = 3;

export const recalkv = defineMethod({
  name: "recalkv",
  summary: "ReCalKV: every entry kept, keys/values as low-rank latents (grouped whitened SVD keys, calibrated values) of a shipped step-graph variant.",
  kind: "static",
  needsStats: false,
  needsLowRank: true,
  params: {
    rankRatio: {
      type: "number",
      default: 0,
      min: 0,
      max: 1,
      doc: "latent width / full width of the shipped variant to run; 0 = the largest shipped variant that fits the budget",
    },
    sigma: {
      type: "integer",
      default: RECALKV_SIGMA_DEFAULT,
      min: 0,
      doc: "exact sink scales: cached entries of source scales 0..σ−1 stay full width (k and v), later ones are latents; 0 = all latent; σ ≥ K−1 = every cached scale exact",
    },
  },
  build({ shape, model, budget, lowRank, source }, p) {
    const m = lowRank as LowRankManifest;
    const K = shape.numScales;
    const sigma = Math.min(p.sigma, K - 1); // σ ≥ K−1: every cached scale (0..K−2) exact
    const keep = fullKeep(K, model.numLayers * model.numHeads);
    const sized = m.variants.map((v) => ({ v, part: lowRankPart(v, sigma) })).map((x) => ({ ...x, bytes: latentPeakBytes(model, keep, x.part, budget) }));
    const fits = (b: number) => b <= budget.bytes * (1 + 1e-12) + 1e-9;
    let pick: (typeof sized)[number] | undefined;
    if (p.rankRatio === 0) {
      pick = sized.filter((x) => fits(x.bytes)).sort((a, b) => b.v.rankRatio - a.v.rankRatio)[0];
      if (!pick) {
        const small = sized.sort((a, b) => a.bytes - b.bytes)[0];
        throw new ScheduleError(
          source,
          "budget",
          `${budget.given} is infeasible for recalkv: the smallest shipped variant ${small.v.id} (rank ratio ${small.v.rankRatio}) holds ${small.bytes} B = ${percent(small.bytes / (budget.bytes / budget.ratio))} of the full cache${sigma > 0 ? ` with scales 0..${sigma - 1} exact (sigma = ${sigma}); lower sigma or` : ";"} use heatkv+recalkv (tokens pruned too) to go lower`,
        );
      }
    } else {
      const v = variantByRatio(m, p.rankRatio, source);
      pick = sized.find((x) => x.v === v) as (typeof sized)[number];
      if (!fits(pick.bytes))
        throw new ScheduleError(
          source,
          "budget",
          `${budget.given} is infeasible for recalkv with rank ratio ${p.rankRatio}: variant ${v.id} holds ${pick.bytes} B = ${percent(pick.bytes / (budget.bytes / budget.ratio))} of the full cache`,
        );
    }
    return {
      kind: "static",
      keep,
      lowRank: pick.part,
      details: { variant: pick.v.id, sigma, latentPeakBytes: pick.bytes, shippedRankRatios: m.variants.map((v) => v.rankRatio), quality: pick.v.quality },
    };
  },
});
