/**
 * streaming (StreamingLLM-style), static: every head keeps the first `sinkScales` scales (attention sinks)
 * and then, walking back from the newest cached scale, whole scales while the per-head budget
 * (limit / (L·H) entries) allows; it stops at the first scale that does not fit, so the recent window is
 * contiguous and a dropped scale never returns. Budgets below the sinks are infeasible.
 */
import { ScheduleError, percent } from "../errors.js";
import { defineMethod } from "../method.js";
import { prefixTokens } from "../shape.js";

export const streaming = defineMethod({
  name: "streaming",
  summary: "StreamingLLM-style: sink scales + the most recent whole scales that fit the budget.",
  kind: "static",
  needsStats: false,
  params: {
    sinkScales: {
      type: "integer",
      default: 2,
      min: 0,
      doc: "first scales always kept (attention sinks); default 2 = the first 1 + 4 tokens on square maps 1×1, 2×2",
    },
  },
  build({ shape, model, limit, budget, source }, p) {
    const K = shape.numScales;
    const N = model.numLayers * model.numHeads;
    if (p.sinkScales > K - 1)
      throw new ScheduleError(source, "params.sinkScales", `must be in [0, ${K - 1}] (the model caches ${K - 1} scales), got ${p.sinkScales}`);
    const perHead = Math.floor(limit / N);
    const sinkTokens = prefixTokens(shape, p.sinkScales);
    if (sinkTokens > perHead) {
      const min = sinkTokens / shape.maxCacheTokens;
      throw new ScheduleError(
        source,
        "budget",
        `${budget.given} is infeasible for streaming with sinkScales = ${p.sinkScales}: the sinks hold ${sinkTokens} of C_max = ${shape.maxCacheTokens} tokens per head; the minimum feasible budget is ${percent(Math.ceil(min * 1e4) / 1e4)} (or fewer sink scales)`,
      );
    }
    const keep = new Uint32Array(K * N);
    const recentScales: number[][] = [[]];
    for (let t = 1; t < K; t++) {
      let mask = 0;
      let used = 0;
      for (let s = 0; s < Math.min(p.sinkScales, t); s++) {
        mask |= 1 << s;
        used += shape.tokensPerScale[s];
      }
      const recent: number[] = [];
      for (let s = t - 1; s >= p.sinkScales; s--) {
        if (used + shape.tokensPerScale[s] > perHead) break;
        mask |= 1 << s;
        used += shape.tokensPerScale[s];
        recent.push(s);
      }
      recentScales.push(recent.reverse());
      keep.fill(mask >>> 0, t * N, (t + 1) * N);
    }
    return { kind: "static", keep, details: { perHeadTokens: perHead, sinkTokens, recentScales } };
  },
});
