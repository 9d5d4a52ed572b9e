/**
 * Property test (seeded): many random model shapes × budgets × methods × parameters. Every schedule that
 * builds stays within its budget at every target scale, never re-adds a dropped entry, keeps only earlier
 * scales (a scale's own keys are the runtime's, never the cache's), keeps its sink scales, and its policy —
 * driven through a fake runtime with random attention — feeds exactly keptTokens / predictedBytes.
 */
import { describe, expect, it } from "vitest";
import { ScheduleError } from "../../src/lib/schedules/errors.js";
import { scheduleToPolicy } from "../../src/lib/enforce/policy.js";
import { heatkvMinRatio } from "../../src/lib/schedules/methods/heatkv.js";
import { METHOD_NAMES, buildSchedule } from "../../src/lib/schedules/registry.js";
import { parseBudget } from "../../src/lib/schedules/budget.js";
import { keptTokens, keptTotals, predictedBytes } from "../../src/lib/schedules/schedule.js";
import type { ScheduleModel } from "../../src/lib/schedules/shape.js";
import { seededRandom, syntheticLowRank, syntheticStats } from "../../src/lib/schedules/synthetic.js";
import { modelShape } from "../../src/lib/model/index.js";
import { randomAttention, simulate } from "./helpers.js";

const CASES = 240;

function randomCase(rnd: () => number, i: number) {
  const K = 3 + Math.floor(rnd() * 6);
  const patchNums = [1];
  while (patchNums.length < K) patchNums.push(patchNums[patchNums.length - 1] + 1 + Math.floor(rnd() * 2));
  const model: ScheduleModel = {
    modelId: `rand${i}`,
    configHash: `c0ffee${i}`,
    patchNums,
    numLayers: 1 + Math.floor(rnd() * 4),
    numHeads: 1 + Math.floor(rnd() * 4),
    headDim: 1 + Math.floor(rnd() * 3),
  };
  const method = METHOD_NAMES[i % METHOD_NAMES.length];
  const ratio = 0.01 + 0.99 * rnd();
  const N = model.numLayers * model.numHeads;
  const cmax = modelShape(model).maxCacheTokens;
  const form = Math.floor(rnd() * 3);
  const budget = form === 0 ? `${(ratio * 100).toFixed(2)}%` : form === 1 ? ratio.toFixed(4) : `${Math.max(1, Math.round(ratio * N * cmax))}tok`;
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  const params: Record<string, unknown> = {
    full: {},
    uniform: {},
    streaming: { sinkScales: Math.floor(rnd() * K) },
    pyramid: { beta: 1 + 30 * rnd(), window: pick([0, 1, 4, 16]), poolKernel: pick([1, 3, 5]) },
    h2o: { recentRatio: rnd() },
    scalekv: { drafterFraction: 0.01 + 0.99 * rnd(), refinerFirst: rnd(), refinerLast: rnd(), topTokens: 1 + Math.floor(rnd() * 20), window: pick([0, 4, 16]) },
    hack: { structuralFraction: rnd(), structuralWeight: 0.1 + rnd(), contextualWeight: 0.1 + 2 * rnd(), recentRatio: rnd() },
    heatkv: { sigma: Math.floor(rnd() * (K - 1)), strict: rnd() < 0.5 },
    recalkv: { rankRatio: pick([0, 0, 0.75, 0.5, 0.25]), sigma: pick([0, 0, 1, 2, 3]) },
    "heatkv+recalkv": { rankRatio: pick([0.75, 0.5, 0.25]), sigma: Math.floor(rnd() * (K - 1)), strict: rnd() < 0.5 },
  }[method] as Record<string, unknown>;
  return { model, method, budget, params, stats: syntheticStats(model, i + 1), lowRank: syntheticLowRank(model) };
}

describe("schedules: properties over random stats × budgets × methods", () => {
  it(`${CASES} seeded cases`, () => {
    const rnd = seededRandom(20260501);
    const built: Record<string, number> = {};
    const infeasible: Record<string, number> = {};
    for (let i = 0; i < CASES; i++) {
      const c = randomCase(rnd, i);
      const ctx = `case ${i}: ${c.method} ${JSON.stringify(c.params)} at ${c.budget} on ${c.model.patchNums} ${c.model.numLayers}x${c.model.numHeads}`;
      let s;
      try {
        s = buildSchedule(c.method, c.model, c.budget, { params: c.params, stats: c.stats, lowRank: c.lowRank });
      } catch (e) {
        // only budgets below a protected prefix, or below one cache entry, may fail, and they say so
        expect(e, ctx).toBeInstanceOf(ScheduleError);
        if (/keeps less than one cache entry/.test((e as Error).message)) {
          expect(
            (c.budget.endsWith("%") ? Number(c.budget.slice(0, -1)) / 100 : Number(c.budget)) *
              c.model.numLayers *
              c.model.numHeads *
              modelShape(c.model).maxCacheTokens,
            ctx,
          ).toBeLessThan(1);
          infeasible[c.method] = (infeasible[c.method] ?? 0) + 1;
          continue;
        }
        expect((e as Error).message, ctx).toMatch(/is infeasible for (heatkv|streaming|recalkv|heatkv\+recalkv)/);
        const ratio = parseBudget(c.budget, c.model).ratio;
        const shape = modelShape(c.model);
        if (c.method === "heatkv" && !c.params.strict) expect(ratio + 1e-12, ctx).toBeLessThan(heatkvMinRatio(shape, c.params.sigma as number));
        if (c.method === "streaming") {
          const sinks = shape.tokensPerScale.slice(0, c.params.sinkScales as number).reduce((a, b) => a + b, 0);
          expect(sinks, ctx).toBeGreaterThan(ratio * shape.maxCacheTokens);
        }
        infeasible[c.method] = (infeasible[c.method] ?? 0) + 1;
        continue;
      }
      built[c.method] = (built[c.method] ?? 0) + 1;
      const shape = modelShape(c.model);
      const K = shape.numScales;
      const N = c.model.numLayers * c.model.numHeads;
      // 1. budget at every target scale
      const cap = s.budget.ratio * N * shape.maxCacheTokens * (1 + 1e-12) + 1e-9;
      if (s.lowRank) {
        // low rank: the latent cache's bytes (union accounting) within the byte budget of the full cache
        predictedBytes(s, 2, 4).perScale.forEach((b, t) => expect(b, `${ctx} t=${t}`).toBeLessThanOrEqual(s.budget.bytes * (1 + 1e-12) + 1e-9));
      } else keptTotals(s).forEach((n, t) => expect(n, `${ctx} t=${t}`).toBeLessThanOrEqual(c.method === "full" ? N * shape.cacheTokensEntering[t] : cap));
      // 2. static: only earlier scales, monotone, sinks kept
      if (s.kind === "static") {
        const sinks =
          c.method === "heatkv" || c.method === "heatkv+recalkv" ? (c.params.sigma as number) : c.method === "streaming" ? (c.params.sinkScales as number) : 0;
        for (let t = 1; t < K; t++) {
          for (let lh = 0; lh < N; lh++) {
            const m = s.keep[t * N + lh];
            expect(m >>> t, ctx).toBe(0);
            expect((m & ~(s.keep[(t - 1) * N + lh] | (1 << (t - 1)))) >>> 0, ctx).toBe(0);
            for (let x = 0; x < Math.min(sinks, t); x++) expect((m >>> x) & 1, `${ctx} sink ${x}`).toBe(1);
          }
        }
      }
      // 3. the policy through a fake runtime: feeds exactly what was predicted, never re-adds
      const lr = s.lowRank ? { keyWidth: s.lowRank.keyWidth, valueWidth: s.lowRank.valueWidth, groups: s.lowRank.groups } : undefined;
      const sim = simulate(c.model, scheduleToPolicy(s, c.model), randomAttention(seededRandom(i)), 2, lr);
      expect(sim.fedLengths, ctx).toEqual(keptTokens(s));
      expect(sim.fedBytes, ctx).toEqual(predictedBytes(s, 2, 4).perScale);
      for (let t = 0; t < K; t++) {
        for (let lh = 0; lh < N; lh++) {
          for (const k of sim.fedKeys[t][lh]) {
            const src = Number(k.split(":")[0]);
            expect(src, ctx).toBeLessThan(t);
            if (t > 0 && src < t - 1) expect(sim.fedKeys[t - 1][lh].has(k), `${ctx} re-added ${k} at ${t}`).toBe(true);
          }
          if (t > 0) expect(sim.fedKeys[t][lh].size).toBe(keptTokens(s)[t][lh]);
        }
      }
    }
    // the generator covers every method with feasible cases
    for (const m of METHOD_NAMES) expect(built[m] ?? 0, `${m} built`).toBeGreaterThan(5);
    expect(Object.keys(infeasible).every((m) => ["heatkv", "streaming", "recalkv", "heatkv+recalkv"].includes(m))).toBe(true);
  });
});
