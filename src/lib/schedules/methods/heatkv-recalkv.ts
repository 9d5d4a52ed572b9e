/**
 * heatkv+recalkv — HeatKV's length compression composed with ReCalKV's width compression: HeatKV's static
 * whole-block pruning (S-CAS orders, σ sink scales, prune counts x_t) decides which (source scale, layer,
 * head) blocks stay; the kept entries are held as the latents of a shipped ReCalKV variant.
 *
 * Budget: bytes of the FULL fp32 cache (as for every method). It becomes HeatKV's token budget
 * b' = min(1, b / rankRatio); the keep sets are then verified against the real byte accounting (key latents
 * hold the UNION of a group's heads' kept entries, plus Int32 index lists for heads keeping a strict subset):
 * if the union makes the peak exceed the budget, b' is lowered (bisection; HeatKV's masks only shrink as b'
 * does) to the largest token budget whose latent cache fits. Infeasible when even HeatKV's minimum token
 * budget (the σ sink scales) does not fit.
 */
import type { LowRankManifest } from "../../var/lowrank.js";
import { ScheduleError, percent } from "../errors.js";
import { type MethodContext, defineMethod } from "../method.js";
import { heatkv, heatkvMinRatio } from "./heatkv.js";
import { latentPeakBytes, lowRankPart, variantByRatio } from "./recalkv.js";

export const heatkvRecalkv = defineMethod({
  name: "heatkv+recalkv",
  summary: "HeatKV block pruning × ReCalKV low-rank latents: the byte budget becomes a token budget via the variant's width (union accounting verified).",
  kind: "static",
  needsStats: true,
  needsLowRank: true,
  params: {
    rankRatio: { type: "number", default: 0.5, min: 0, max: 1, minExclusive: true, doc: "rank ratio of the shipped ReCalKV variant (latent width / full width)" },
    sigma: { ...heatkv.params.sigma },
    strict: { ...heatkv.params.strict },
  },
  build(ctx, p) {
    const { shape, model, budget, source } = ctx;
    const m = ctx.lowRank as LowRankManifest;
    const v = variantByRatio(m, p.rankRatio, source);
    const part = lowRankPart(v);
    const N = model.numLayers * model.numHeads;
    const fullTokens = N * shape.maxCacheTokens;
    const heat = (ratio: number) => {
      const b = { ...budget, ratio, tokens: ratio * fullTokens, given: `${budget.given} (token budget ${percent(ratio)})` };
      const c: MethodContext = { ...ctx, budget: b, limit: Math.floor(b.tokens + 1e-9) };
      return heatkv.build(c, { sigma: p.sigma, strict: p.strict }) as { kind: "static"; keep: Uint32Array; details: Record<string, unknown> };
    };
    const fits = (keep: Uint32Array) => latentPeakBytes(model, keep, part, budget) <= budget.bytes * (1 + 1e-12) + 1e-9;
    const tryAt = (ratio: number) => {
      try {
        const o = heat(ratio);
        return fits(o.keep) ? o : null;
      } catch (e) {
        if (e instanceof ScheduleError && e.field === "budget") return null; // infeasible token budget; anything else is a real error
        throw e;
      }
    };
    const first = Math.min(1, budget.ratio / v.rankRatio);
    let tokenRatio = first;
    let out = tryAt(first);
    if (!out) {
      const minRatio = heatkvMinRatio(shape, p.sigma);
      let lo = minRatio;
      let hi = first;
      let best = tryAt(lo);
      if (!best) {
        throw new ScheduleError(
          source,
          "budget",
          `${budget.given} is infeasible for heatkv+recalkv: with rank ratio ${v.rankRatio} (variant ${v.id}) even HeatKV's smallest token budget for sigma = ${p.sigma} (${percent(minRatio)}: the sink scales 0..${p.sigma - 1}) does not fit as a latent cache; raise the budget, lower sigma or pick a smaller rank ratio`,
        );
      }
      for (let i = 0; i < 40 && hi - lo > 1e-7; i++) {
        const mid = (lo + hi) / 2;
        const o = tryAt(mid);
        if (o) {
          lo = mid;
          best = o;
        } else hi = mid;
      }
      out = best;
      tokenRatio = lo;
    }
    return {
      kind: "static",
      keep: out.keep,
      lowRank: part,
      details: { ...out.details, variant: v.id, tokenRatio, tokenRatioFromWidth: first, latentPeakBytes: latentPeakBytes(model, out.keep, part, budget), quality: v.quality },
    };
  },
});
