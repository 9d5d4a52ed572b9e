/**
 * scalekv (ScaleKV-style, StargazerX0/ScaleKV). Per target scale t, layers are split into drafters and
 * refiners by an Attention Selectivity Index from the calibration stats:
 *   ASI(l, h, t) = E_q[attention on the current map] · E_q[top-K' attention mass on history]
 * APPROXIMATION: the stats hold mass per (target, source scale), not per token, so the top-K' history mass
 * is computed as if each source scale's mass were spread evenly over its n_s tokens: fill K' tokens from the
 * densest scales (density mass[t][s] / n_s) down. This under-estimates concentration inside a scale.
 * ASI(l, t) = mean over the layer's heads, z-scored across layers within t; the round(f·L) (≥ 1) lowest-z
 * layers are drafters. Per-head budgets: B_u = uniform budget; refiners B_r(t) = r(t)·B_u with r decaying
 * linearly from `refinerFirst` at the first compressed target to `refinerLast` at the last scale; drafters
 * B_d = (L·B_u − N_r·B_r)/N_d, so Σ budgets = L·B_u (same total as uniform). Nothing is compressed while
 * the whole cache fits. Tokens: SnapKV-style (window + max-pooled current-scale attention).
 * Defaults from ScaleKV's budgets/2b_10%_budget.json: 2 drafters of 32 layers (f = 1/16) and refiner
 * budgets ≈ 0.98 → 0.65 of uniform over the compressed scales.
 */
import { dynamicCounts, firstCompressedTarget } from "../allocate.js";
import { ScheduleError } from "../errors.js";
import { defineMethod } from "../method.js";
import { DEFAULT_SCORER } from "../schedule.js";
import { type HeadScaleStats, massIndex } from "../stats.js";

/** ASI per (layer, head) at target t (approximation above). */
export function attentionSelectivity(stats: HeadScaleStats, tokensPerScale: number[], t: number, topTokens: number): Float64Array {
  const K = stats.numScales;
  const N = stats.numLayers * stats.numHeads;
  const out = new Float64Array(N);
  const dens = new Float64Array(t);
  const used = new Uint8Array(t);
  for (let lh = 0; lh < N; lh++) {
    const current = stats.mass[massIndex(lh, t, t, K)];
    for (let s = 0; s < t; s++) dens[s] = stats.mass[massIndex(lh, t, s, K)] / tokensPerScale[s];
    used.fill(0);
    // fill K' tokens from the densest source scales down (ties: the later scale)
    let left = topTokens;
    let top = 0;
    while (left > 0) {
      let best = -1;
      for (let s = t - 1; s >= 0; s--) if (!used[s] && (best < 0 || dens[s] > dens[best])) best = s;
      if (best < 0) break;
      used[best] = 1;
      const take = Math.min(left, tokensPerScale[best]);
      top += take * dens[best];
      left -= take;
    }
    out[lh] = current * top;
  }
  return out;
}

/** z-scores (population std; all 0 when the values are equal). */
export function zScores(v: ArrayLike<number>): Float64Array {
  const n = v.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += v[i] / n;
  let varc = 0;
  for (let i = 0; i < n; i++) varc += (v[i] - mean) ** 2 / n;
  const sd = Math.sqrt(varc);
  return Float64Array.from(v, (x) => (sd > 1e-15 ? (x - mean) / sd : 0));
}

export const scalekv = defineMethod({
  name: "scalekv",
  summary: "ScaleKV-style: per-scale drafter/refiner layers by attention selectivity (calibration), refiner budget decaying with scale; SnapKV-style tokens.",
  kind: "dynamic",
  needsStats: true,
  params: {
    drafterFraction: {
      type: "number",
      default: 0.0625,
      min: 0,
      max: 1,
      minExclusive: true,
      doc: "fraction of layers that are drafters per scale (round, at least 1); ScaleKV 2B: 2 of 32",
    },
    refinerFirst: { type: "number", default: 1, min: 0, max: 1, doc: "refiner budget / uniform budget at the first compressed target scale" },
    refinerLast: { type: "number", default: 0.65, min: 0, max: 1, doc: "refiner budget / uniform budget at the last scale (linear in between)" },
    topTokens: { type: "integer", default: 16, min: 1, doc: "K' of the ASI's top-K' history mass" },
    window: { type: "integer", default: DEFAULT_SCORER.window, min: 0, doc: "observation-window tokens of the current scale (4×4 grid centres) kept first" },
    poolKernel: { type: "integer", default: DEFAULT_SCORER.poolKernel, min: 1, odd: true, doc: "1-D max-pool kernel over each source scale's token order" },
  },
  build({ shape, model, limit, stats, source }, p) {
    if (!stats)
      throw new ScheduleError(
        source,
        "stats",
        `are required by method "scalekv" (drafter/refiner split from calibration attention mass); run the calibration first`,
      );
    const { numLayers: L, numHeads: H } = model;
    const N = L * H;
    const K = shape.numScales;
    const nDrafters = Math.min(L, Math.max(1, Math.round(p.drafterFraction * L)));
    const t0 = firstCompressedTarget(shape, N, limit);
    const drafters: number[][] = [];
    const layerBudget: number[][] = [];
    const weights: Float64Array[] = [];
    for (let t = 0; t < K; t++) {
      const asi = attentionSelectivity(stats, shape.tokensPerScale, t, p.topTokens);
      const perLayer = Float64Array.from({ length: L }, (_, l) => {
        let s = 0;
        for (let h = 0; h < H; h++) s += asi[l * H + h] / H;
        return s;
      });
      const z = zScores(perLayer);
      const d = Array.from({ length: L }, (_, l) => l)
        .sort((a, b) => z[a] - z[b] || a - b)
        .slice(0, nDrafters)
        .sort((a, b) => a - b);
      const r = t0 >= K - 1 ? p.refinerFirst : p.refinerFirst + ((p.refinerLast - p.refinerFirst) * Math.max(0, t - t0)) / (K - 1 - t0);
      const nR = L - nDrafters;
      const bd = (L - nR * r) / nDrafters; // in units of the uniform per-head budget
      const isD = new Uint8Array(L);
      for (const l of d) isD[l] = 1;
      const lb = Array.from({ length: L }, (_, l) => (isD[l] ? bd : r));
      drafters.push(d);
      layerBudget.push(lb);
      weights.push(Float64Array.from({ length: N }, (_, i) => lb[Math.floor(i / H)]));
    }
    return {
      kind: "dynamic",
      counts: dynamicCounts(shape, N, limit, (t) => weights[t]),
      rules: new Array(N).fill("snapkv"),
      scorer: { ...DEFAULT_SCORER, window: p.window, poolKernel: p.poolKernel },
      details: { firstCompressedTarget: t0, drafters, layerBudgetRatio: layerBudget },
    };
  },
});
