import { describe, expect, it } from "vitest";
import { parseBudget } from "../../src/lib/schedules/budget.js";
import { METHOD_NAMES, buildSchedule, getMethod, isBaselineMethod, listMethods } from "../../src/lib/schedules/registry.js";
import { keptTotals, predictedBytes } from "../../src/lib/schedules/schedule.js";
import { syntheticStats } from "../../src/lib/schedules/synthetic.js";
import { TINY, demoConfig, demoLowRank } from "./helpers.js";
import { fullCacheBytes } from "../../src/lib/schedules/budget.js";

describe("registry", () => {
  it("registers every method by name with typed, documented parameters", () => {
    expect(METHOD_NAMES).toEqual(["full", "uniform", "streaming", "pyramid", "h2o", "scalekv", "hack", "heatkv", "recalkv", "heatkv+recalkv"]);
    const info = Object.fromEntries(listMethods().map((m) => [m.name, m]));
    expect(info.heatkv).toMatchObject({ kind: "static", needsStats: true, defaults: { sigma: 3, strict: false } });
    expect(info.scalekv).toMatchObject({
      kind: "dynamic",
      needsStats: true,
      defaults: { drafterFraction: 0.0625, refinerFirst: 1, refinerLast: 0.65, topTokens: 16, window: 16, poolKernel: 5 },
    });
    expect(info.streaming.defaults).toEqual({ sinkScales: 2 });
    expect(info.full.defaults).toEqual({});
    expect(info.recalkv).toMatchObject({ kind: "static", needsStats: false, needsLowRank: true, defaults: { rankRatio: 0 } });
    expect(info["heatkv+recalkv"]).toMatchObject({
      kind: "static",
      needsStats: true,
      needsLowRank: true,
      defaults: { rankRatio: 0.5, sigma: 3, strict: false },
    });
    for (const m of listMethods()) {
      expect(m.summary.length).toBeGreaterThan(10);
      for (const spec of Object.values(m.params)) expect(spec.doc.length).toBeGreaterThan(5);
    }
  });
  it("unknown method, bad params, bad model shape, stats of another model: one line each", () => {
    expect(() => getMethod("snap")).toThrow(
      /^schedule: field "method" must be one of "full", "uniform", .*"heatkv", "recalkv", "heatkv\+recalkv", got "snap"$/,
    );
    expect(() => buildSchedule("nope", TINY, "10%")).toThrow(/field "method" must be one of/);
    expect(() => buildSchedule("heatkv", TINY, "50%", { params: { sigmaa: 1 } })).toThrow(
      'schedule: field "params.sigmaa" is not a parameter of method "heatkv" (known: sigma, strict)',
    );
    expect(() => buildSchedule("uniform", { ...TINY, patchNums: [1, 3, 2] }, "10%")).toThrow(
      'schedule: field "patchNums[2]" must be a strictly increasing positive integer, got 2',
    );
    expect(() => buildSchedule("uniform", { ...TINY, numHeads: 0 }, "10%")).toThrow('schedule: field "numHeads" must be a positive integer, got 0');
    expect(() => buildSchedule("hack", TINY, "50%", { stats: syntheticStats({ ...TINY, configHash: "0000" }) })).toThrow(
      /^stats: field "configHash" is "0000" but the model "tiny" has "aaaa1111"/,
    );
    expect(() => buildSchedule("uniform", TINY, "-3%")).toThrow('schedule: field "budget" must be positive (a negative budget means nothing), got "-3%"');
  });
  it("accepts a parsed Budget, and fp16 budgets", () => {
    const b = parseBudget("300B", TINY, { bytesPerElement: 2 });
    const s = buildSchedule("uniform", TINY, b);
    expect(s.budget).toBe(b);
    expect(s.budget.ratio).toBeCloseTo(300 / 896, 12);
    expect(buildSchedule("uniform", TINY, "300B", { bytesPerElement: 2 }).budget).toEqual(b);
  });
  it("every method builds for the demo model at 20 % within budget (recalkv alone: 40 %, its smallest variant r25 with σ = 3 exact sinks is 36.5 %)", () => {
    const demo = demoConfig();
    const stats = syntheticStats(demo, 11);
    const lowRank = demoLowRank();
    for (const m of METHOD_NAMES) {
      const pct = m === "recalkv" ? 40 : 20;
      const s = buildSchedule(m, demo, `${pct}%`, { stats, lowRank });
      expect(s.method).toBe(m);
      expect(s.model.configHash).toBe(demo.configHash);
      if (s.lowRank) {
        for (const b of predictedBytes(s).perScale) expect(b).toBeLessThanOrEqual((pct / 100) * fullCacheBytes(demo));
        continue;
      }
      const limit = m === "full" ? Number.POSITIVE_INFINITY : 0.2 * demo.numLayers * demo.numHeads * 91;
      for (const n of keptTotals(s)) expect(n).toBeLessThanOrEqual(limit);
    }
  });
  it("low-rank methods need the model's ReCalKV variants, made for this model", () => {
    const demo = demoConfig();
    expect(() => buildSchedule("recalkv", demo, "50%")).toThrow(
      /^schedule: field "lowRank" the model's ReCalKV variants \(recalkv\/recalkv.json, written by train\/recalkv.py\) are required by method "recalkv"$/,
    );
    expect(() => buildSchedule("recalkv", demo, "50%", { lowRank: { ...demoLowRank(), configHash: "0123" } })).toThrow(
      /^schedule: field "lowRank.configHash" is "0123" but the model has "1f3e06514a65b5d2"/,
    );
  });
});

describe("method roles (the headline's baselines come from the registry)", () => {
  it("full is the reference, heatkv and heatkv+recalkv are subjects, every other method is a baseline", () => {
    expect(isBaselineMethod("full")).toBe(false);
    expect(isBaselineMethod("heatkv")).toBe(false);
    expect(isBaselineMethod("heatkv+recalkv")).toBe(false);
    for (const m of ["uniform", "streaming", "pyramid", "h2o", "scalekv", "hack", "recalkv"]) expect(isBaselineMethod(m), m).toBe(true);
    expect(isBaselineMethod("constructor")).toBe(false);
    expect(listMethods().find((m) => m.name === "full")?.role).toBe("reference");
  });
});
