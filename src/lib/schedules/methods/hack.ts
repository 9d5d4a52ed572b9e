/**
 * hack (HACK-style, arXiv 2504.09261): heads classified offline from the calibration stats.
 *   locality(l, h) = mean over targets t ≥ 1 of (mass on t's own keys + mass on scale t−1)
 * The `structuralFraction` most local heads are STRUCTURAL (diagonal/spatially local attention: they keep
 * the most recent tokens, i.e. the newest scale(s)); the rest are CONTEXTUAL (broad, column-sparse mass on
 * early scales: they keep their top accumulated-attention tokens, H2O scorer with `recentRatio`).
 * Asymmetric budgets, same total: per-head weights structuralWeight vs contextualWeight (our constants:
 * 0.5 vs 1.5 — contextual heads need a broad history, structural ones only the neighbourhood).
 */
import { dynamicCounts } from "../allocate.js";
import { ScheduleError } from "../errors.js";
import { defineMethod } from "../method.js";
import { DEFAULT_SCORER, type ScorerName } from "../schedule.js";
import { type HeadScaleStats, massIndex } from "../stats.js";

export function headLocality(stats: HeadScaleStats): Float64Array {
  const K = stats.numScales;
  const N = stats.numLayers * stats.numHeads;
  return Float64Array.from({ length: N }, (_, lh) => {
    let s = 0;
    for (let t = 1; t < K; t++) s += stats.mass[massIndex(lh, t, t, K)] + stats.mass[massIndex(lh, t, t - 1, K)];
    return s / (K - 1);
  });
}

export const hack = defineMethod({
  name: "hack",
  summary: "HACK-style: structural (local) heads keep recent scales, contextual heads keep top-attended tokens; asymmetric budgets, same total.",
  kind: "dynamic",
  needsStats: true,
  params: {
    structuralFraction: { type: "number", default: 0.5, min: 0, max: 1, doc: "fraction of heads (most local first) classified structural" },
    structuralWeight: { type: "number", default: 0.5, min: 0, minExclusive: true, doc: "relative per-head budget of structural heads" },
    contextualWeight: { type: "number", default: 1.5, min: 0, minExclusive: true, doc: "relative per-head budget of contextual heads" },
    recentRatio: {
      type: "number",
      default: 0,
      min: 0,
      max: 1,
      doc: "contextual heads: fraction of their count reserved for recent tokens (0 = pure top attention)",
    },
  },
  build({ shape, model, limit, stats, source }, p) {
    if (!stats)
      throw new ScheduleError(
        source,
        "stats",
        `are required by method "hack" (head classification from calibration attention mass); run the calibration first`,
      );
    const N = model.numLayers * model.numHeads;
    const loc = headLocality(stats);
    const nStruct = Math.round(p.structuralFraction * N);
    const byLocality = Array.from({ length: N }, (_, i) => i).sort((a, b) => loc[b] - loc[a] || a - b);
    const structural = new Uint8Array(N);
    for (const i of byLocality.slice(0, nStruct)) structural[i] = 1;
    const rules: ScorerName[] = Array.from(structural, (s) => (s ? "recent" : "h2o"));
    const w = Float64Array.from(structural, (s) => (s ? p.structuralWeight : p.contextualWeight));
    return {
      kind: "dynamic",
      counts: dynamicCounts(shape, N, limit, () => w),
      rules,
      scorer: { ...DEFAULT_SCORER, recentRatio: p.recentRatio },
      details: { structuralHeads: Array.from(structural), locality: Array.from(loc) },
    };
  },
});
