import { describe, expect, it } from "vitest";
import { scheduleToPolicy } from "../../src/lib/enforce/policy.js";
import { buildSchedule } from "../../src/lib/schedules/registry.js";
import { keptTokens, predictedBytes } from "../../src/lib/schedules/schedule.js";
import type { HeadScaleStats } from "../../src/lib/schedules/stats.js";
import { KVCache } from "../../src/lib/var/kvcache.js";
import { TINY, TINY5, key, simulate } from "../schedules/helpers.js";

const sorted = (s: Set<string>) => [...s].sort();
const flat = () => (_t: number, _lh: number, fs: Int16Array, _ft: Int32Array, n: number) => new Float32Array(fs.length + n).fill(0.1);

describe("scheduleToPolicy: static (whole blocks)", () => {
  // heatkv hand case (see methods/heatkv.test.ts): entering scale 4 head 0 keeps {0,1}, head 1 keeps {0,2,3}
  const K = 5;
  const scas = new Float64Array(2 * K).fill(Number.NaN);
  [
    [1, 0.3, 0.2],
    [2, 0.1, 0.5],
    [3, 0.4, 0.4],
  ].forEach(([s, a, b]) => {
    scas[s] = a;
    scas[K + s] = b;
  });
  const stats: HeadScaleStats = { configHash: TINY5.configHash, numLayers: 2, numHeads: 1, numScales: K, scas, mass: new Float64Array(2 * K * K) };
  it("drops exactly the scheduled blocks; fed bytes = predictedBytes at every scale", () => {
    const s = buildSchedule("heatkv", TINY5, "70%", { stats, params: { sigma: 1 } });
    const sim = simulate(TINY5, scheduleToPolicy(s, TINY5), flat());
    expect(sim.fedLengths).toEqual(keptTokens(s));
    expect(sim.fedBytes).toEqual(predictedBytes(s).perScale);
    const scalesFed = (lh: number) => [...new Set([...sim.fedKeys[4][lh]].map((k) => Number(k.split(":")[0])))].sort();
    expect(scalesFed(0)).toEqual([0, 1]);
    expect(scalesFed(1)).toEqual([0, 2, 3]);
    expect(sim.fedKeys[4][1].size).toBe(1 + 9 + 16);
  });
  it("refuses a schedule made for another model", () => {
    const s = buildSchedule("full", TINY5, "100%");
    expect(() => scheduleToPolicy(s, { ...TINY5, configHash: "dddd" })).toThrow(
      'schedule: field "model.configHash" is "bbbb2222" but the loaded model "tiny5" has "dddd": this schedule was made for another model',
    );
    expect(() => scheduleToPolicy(s, { ...TINY5, patchNums: [1, 2, 3, 4, 6] })).toThrow(
      'schedule: field "model.patchNums" is [1,2,3,4,5] but the loaded model has [1,2,3,4,6]',
    );
  });
  it("never keeps more than the schedule says: a cache that lost entries is an error", () => {
    const s = buildSchedule("full", TINY5, "100%");
    const p = scheduleToPolicy(s, TINY5);
    const cache = new KVCache(2, 1, 2, 2);
    const d = new Float32Array(2 * 1 * 4 * 2);
    cache.appendLayer(0, { data: d, dims: [2, 1, 4, 2] }, { data: d, dims: [2, 1, 4, 2] }, 1);
    expect(() => p.afterScale(0, cache, { scale: 0, tokens: 1, rows: 2, attn: [], fedScale: [], fedToken: [] })).toThrow(
      /layer 0 head 0 holds 0 entries entering scale 1, the schedule says 1/,
    );
  });
});

describe("scheduleToPolicy: dynamic (token level)", () => {
  it("recent: the last entries in storage order", () => {
    const s = buildSchedule("uniform", TINY, "50%");
    const sim = simulate(TINY, scheduleToPolicy(s, TINY), flat());
    expect(sim.fedLengths).toEqual(keptTokens(s));
    expect(sim.fedBytes).toEqual(predictedBytes(s).perScale);
    // entering scale 3: storage after scale 2 = scale 0 (1) + scale 1 (4) + scale 2 (9); last 7 = scale 2 tokens 2..8
    expect(sorted(sim.fedKeys[3][0])).toEqual([2, 3, 4, 5, 6, 7, 8].map((t) => key(2, t)).sort());
  });
  it("h2o: recent share + heaviest attention accumulated over scales (all CFG rows), reset per generation", () => {
    const w = (s: number, tok: number) => (s === 0 ? 0.1 : s === 1 && tok === 2 ? 0.3 : s === 2 && tok === 4 ? 0.2 : s === 1 ? 0.05 : 0.025);
    const attention = (t: number, _lh: number, fs: Int16Array, ft: Int32Array, n: number) =>
      Float32Array.from({ length: fs.length + n }, (_, i) => (i < fs.length ? w(fs[i], ft[i]) : w(t, i - fs.length)));
    const s = buildSchedule("h2o", TINY, "50%");
    const policy = scheduleToPolicy(s, TINY);
    const sim = simulate(TINY, policy, attention);
    // count 7 entering scale 3, recent floor(3.5) = 3 → scale 2 tokens 6,7,8; heavy: s1t2 (0.3·2 scales), s0t0 (0.1·3),
    // s2t4 (0.2·1), then the 0.05·2 = 0.1 tie among s1 t0,t1,t3 → the most recent, t3
    const want = [key(0, 0), key(1, 2), key(1, 3), key(2, 4), key(2, 6), key(2, 7), key(2, 8)].sort();
    expect(sorted(sim.fedKeys[3][0])).toEqual(want);
    const again = simulate(TINY, policy, attention);
    expect(sorted(again.fedKeys[3][0])).toEqual(want);
  });
  it("h2o ranks by attention accumulated over every scale, not by the last scale's attention alone", () => {
    // s1t0 is heavy at scale 1 only; scale 2 prefers others. Accumulated: s1t0 .51, s1t1 .21, s2t0 .15, s0t0 .145
    // (s2t1 .14 next); last scale alone would keep s1t1 .2, s2t0 .15, s2t1 .14, s2t2 .13 instead.
    const W: Record<number, Record<string, number>> = {
      1: { [key(1, 0)]: 0.5 },
      2: { [key(1, 1)]: 0.2, [key(2, 0)]: 0.15, [key(2, 1)]: 0.14, [key(2, 2)]: 0.13, [key(0, 0)]: 0.125, [key(1, 0)]: 0 },
    };
    const w = (t: number, s: number, tok: number) => W[t]?.[key(s, tok)] ?? 0.01;
    const attention = (t: number, _lh: number, fs: Int16Array, ft: Int32Array, n: number) =>
      Float32Array.from({ length: fs.length + n }, (_, i) => (i < fs.length ? w(t, fs[i], ft[i]) : w(t, t, i - fs.length)));
    const policy = scheduleToPolicy(buildSchedule("h2o", TINY, "50%"), TINY);
    // count 7 entering scale 3: recent floor(3.5) = 3 → scale 2 tokens 6, 7, 8; then the 4 heaviest accumulated
    const want = [key(1, 0), key(1, 1), key(2, 0), key(0, 0), key(2, 6), key(2, 7), key(2, 8)].sort();
    expect(sorted(simulate(TINY, policy, attention).fedKeys[3][0])).toEqual(want);
  });
  it("snapkv: window (grid centre) first, then max-pooled attention of the current scale's queries", () => {
    const att2 = [0.5, 0.1, 0.2, 0.3, 0.4, 0.9, 0, 0, 0, 0, 0, 0, 0, 0.8];
    const attention = (t: number, _lh: number, fs: Int16Array, _ft: Int32Array, n: number) =>
      t === 2 ? Float32Array.from(att2) : new Float32Array(fs.length + n).fill(0.1);
    const kept = (poolKernel: number) => {
      const s = buildSchedule("pyramid", TINY, "50%", { params: { beta: 1, window: 1, poolKernel } });
      return sorted(simulate(TINY, scheduleToPolicy(s, TINY), attention).fedKeys[3][0]);
    };
    // kernel 1: centre s2t4 forced; then s2t0 .9, s2t8 .8, s0 .5, s1t3 .4, s1t2 .3, s1t1 .2
    expect(kept(1)).toEqual([key(0, 0), key(1, 1), key(1, 2), key(1, 3), key(2, 0), key(2, 4), key(2, 8)].sort());
    // kernel 3: pooled s2t1 = s2t0 = .9, s2t7 = s2t8 = .8, s0 .5, s1t3 = s1t2 = .4 (tie → t3)
    expect(kept(3)).toEqual([key(0, 0), key(1, 3), key(2, 0), key(2, 1), key(2, 4), key(2, 7), key(2, 8)].sort());
  });
});
