/**
 * heatkv+recalkv — HeatKV's length compression composed with ReCalKV's width compression: HeatKV's static
 * whole-block pruning (S-CAS orders, σ sink scales, prune counts x_t) decides which (source scale, layer,
 * head) blocks stay; the kept entries are held as the latents of a shipped ReCalKV variant.
 *
 * Budget: bytes of the FULL fp32 cache (as for every method). It becomes HeatKV's token budget
 * b' = min(1, b / rankRatio); the keep sets are then verified against the real byte accounting (key latents
 * hold the UNION of a group's heads' kept entries, plus Int32 index lists for heads keeping a strict subset):
 * if the union makes the peak exceed the budget, b' is lowered to the largest token budget whose latent
 * cache fits — by bisection for strict = false (HeatKV's masks only shrink as b' does), by a downward scan
 * of the steps where b'·N·C_max crosses an integer for strict = true (strict masks are not monotone in b',
 * but constant between those steps). Infeasible when even HeatKV's minimum token budget (the σ sink
 * scales) does not fit; the error keeps the reason (latent peak, or HeatKV's own refusal).
 * HeatKV's σ sink scales (never pruned) are the exact scales of the hybrid cache (lowRank.sigma = σ): their
 * entries stay full width, so the first token budget b / rankRatio is an over-estimate that the byte check
 * then lowers.
 */
import type { LowRankManifest } from "../../model/index.js";
import { ScheduleError, percent } from "../errors.js";
import { type MethodContext, defineMethod } from "../method.js";
import { prefixTokens } from "../shape.js";
import type { HeadScaleStats } from "../stats.js";
import { fromReferenceOrders, heatkv, heatkvMinRatio, verifySinkScales, heatkvPruneCounts, heatkvStrictKeepMasks, ordersFromScas } from "./heatkv.js";
import { latentPeakBytes, lowRankPart, variantByRatio } from "./recalkv.js";

export const heatkvRecalkv = defineMethod({
  name: "heatkv+recalkv",
  summary: "HeatKV block pruning × ReCalKV low-rank latents: the byte budget becomes a token budget via the variant's width (union accounting verified).",
  kind: "static",
  needsStats: true,
  needsLowRank: true,
  role: "subject",
  params: {
    rankRatio: {
      type: "number",
      default: 0.5,
      min: 0,
      max: 1,
      minExclusive: true,
      doc: "rank ratio of the shipped ReCalKV variant (latent width / full width)",
    },
    sigma: { ...heatkv.params.sigma },
    strict: { ...heatkv.params.strict },
  },
  build(ctx, p) {
    const { shape, model, budget, source } = ctx;
    if (!ctx.stats && ctx.orders === undefined)
      throw new ScheduleError(
        source,
        "stats",
        `are required by method "heatkv+recalkv" (HeatKV's S-CAS orders from calibration), or pass orders in the reference format`,
      );
    const m = ctx.lowRank as LowRankManifest;
    const v = variantByRatio(m, p.rankRatio, source);
    // HeatKV's sink scales 0..σ−1 (never pruned) are held exact, full width; the rest as latents
    const part = lowRankPart(v, p.sigma);
    const N = model.numLayers * model.numHeads;
    const fullTokens = N * shape.maxCacheTokens;
    const heat = (ratio: number) => {
      const b = { ...budget, ratio, tokens: ratio * fullTokens, given: `${budget.given} (token budget ${percent(ratio)})` };
      const c: MethodContext = { ...ctx, budget: b, limit: Math.floor(b.tokens + 1e-9) };
      const o = heatkv.build(c, { sigma: p.sigma, strict: p.strict });
      if (o.kind !== "static") throw new Error("heatkv+recalkv: heatkv built a dynamic schedule"); // never: heatkv is static
      return { kind: o.kind, keep: o.keep, details: o.details ?? {} };
    };
    const peak = (keep: Uint32Array) => latentPeakBytes(model, keep, part, budget);
    const fits = (keep: Uint32Array) => peak(keep) <= budget.bytes * (1 + 1e-12) + 1e-9;
    // a token budget either fits (the keep sets) or says why not: the latent peak, or HeatKV's own reason
    // (e.g. strict mode's layer-by-layer cache staying over b·N·C_max) — kept for the final message
    type Try = { ok: true; o: ReturnType<typeof heat> } | { ok: false; why: string };
    const tryAt = (ratio: number): Try => {
      try {
        const o = heat(ratio);
        const b = peak(o.keep);
        return fits(o.keep) ? { ok: true, o } : { ok: false, why: `the latent cache peaks at ${b} B, over the budget of ${budget.bytes.toFixed(1)} B` };
      } catch (e) {
        if (e instanceof ScheduleError && e.field === "budget") return { ok: false, why: e.detail }; // infeasible token budget; anything else is a real error
        throw e;
      }
    };
    const first = Math.min(1, budget.ratio / v.rankRatio);
    const minRatio = heatkvMinRatio(shape, p.sigma);
    const infeasibleAtMin = (why: string) =>
      new ScheduleError(
        source,
        "budget",
        `${budget.given} is infeasible for heatkv+recalkv: with rank ratio ${v.rankRatio} (variant ${v.id}) even HeatKV's smallest token budget for sigma = ${p.sigma} (${percent(minRatio)}: the sink scales 0..${p.sigma - 1}) does not fit as a latent cache (${why}); raise the budget, lower sigma or pick a smaller rank ratio`,
      );
    let tokenRatio = first;
    const at = tryAt(first);
    let out = at.ok ? at.o : null;
    if (!out && p.strict) {
      // strict masks are not monotone in the token budget (early drops, infeasible points), so bisection
      // can stop below a larger budget that fits. The prune counts x_t and the strict threshold b·N·C_max
      // both step only where b·N·C_max crosses an integer T, so the masks are constant on each step
      // [T, T+1) / (N·C_max): scan the steps downward from `first`, each at its midpoint (away from the
      // floating-point edges), and take the first — the largest — that fits.
      // (the scan runs HeatKV's strict masks directly, orders sorted once; heat() only for the pick)
      const NC = N * shape.maxCacheTokens;
      const orders =
        ctx.orders !== undefined
          ? fromReferenceOrders(ctx.orders, model.numLayers, model.numHeads, shape.numScales, p.sigma, "orders")
          : ordersFromScas(ctx.stats as HeadScaleStats, p.sigma);
      const R = prefixTokens(shape, p.sigma);
      // the steps below T with the same masks: x_t is constant down to N·C_t − x_t·(C_t − R) (or N·C_t
      // when x_t = 0), the strict path down to the largest total it compared ≤ the threshold (sameAbove)
      const fastFits = (r: number, T: number): { why: string | null; next: number } => {
        try {
          const x = heatkvPruneCounts(shape, N, r, p.sigma, source, budget.given);
          const { keep, sameAbove } = heatkvStrictKeepMasks(shape, model.numLayers, model.numHeads, p.sigma, orders, x, r, source, budget.given);
          let low = sameAbove;
          shape.cacheTokensEntering.forEach((c, t) => {
            if (x[t] < N) low = Math.max(low, N * c - x[t] * (c - Math.min(R, c)));
          });
          const b = peak(keep);
          return {
            why: b <= budget.bytes * (1 + 1e-12) + 1e-9 ? null : `the latent cache peaks at ${b} B, over the budget of ${budget.bytes.toFixed(1)} B`,
            next: Math.min(T, low) - 1,
          };
        } catch (e) {
          if (e instanceof ScheduleError && e.field === "budget") return { why: e.detail, next: T - 1 };
          throw e;
        }
      };
      let why = at.ok ? "" : at.why;
      for (let T = Math.floor(first * NC + 1e-9); T >= Math.floor(minRatio * NC + 1e-9);) {
        const r = Math.min(first, (T + 0.5) / NC);
        const { why: w, next } = fastFits(r, T);
        if (w !== null) {
          why = w;
          T = next;
          continue;
        }
        const o = tryAt(r);
        if (!o.ok) throw new Error(`heatkv+recalkv: the strict scan and HeatKV disagree at token budget ${r} (internal error)`);
        out = o.o;
        tokenRatio = r;
        break;
      }
      if (!out) {
        // nothing above HeatKV's smallest token budget fits (or `first` is below it): its reason, at that budget
        const m = first < minRatio ? tryAt(minRatio) : { ok: false as const, why };
        if (!m.ok) throw infeasibleAtMin(m.why);
        out = m.o;
        tokenRatio = minRatio;
      }
    } else if (!out) {
      // strict = false: HeatKV's masks only shrink as the token budget does, so bisection finds the largest
      let lo = minRatio;
      let hi = first;
      const atMin = tryAt(lo);
      if (!atMin.ok) throw infeasibleAtMin(atMin.why);
      let best = atMin.o;
      for (let i = 0; i < 40 && hi - lo > 1e-7; i++) {
        const mid = (lo + hi) / 2;
        const o = tryAt(mid);
        if (o.ok) {
          lo = mid;
          best = o.o;
        } else hi = mid;
      }
      out = best;
      tokenRatio = lo;
    }
    return {
      kind: "static",
      keep: out.keep,
      lowRank: part,
      details: {
        ...out.details,
        variant: v.id,
        tokenRatio,
        tokenRatioFromWidth: first,
        latentPeakBytes: latentPeakBytes(model, out.keep, part, budget),
        quality: v.quality,
      },
    };
  },
  verify: (s, p, source) => verifySinkScales(s, p.sigma, source),
});
