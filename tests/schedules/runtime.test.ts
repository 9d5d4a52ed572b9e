/**
 * Every method's policy through the real runtime (onnxruntime-node, data/model): the bytes the runtime
 * measures as fed to each scale (ScaleRecord.cacheBytes) equal predictedBytes, and the kept entries equal
 * keptTokens, for every method. Uses only the model's config + generate().
 */
import { beforeAll, describe, expect, it } from "vitest";
import { loadLowRankManifest, loadNodeModel } from "../../node/node-backend.js";
import { heatkvMinRatio } from "../../src/lib/schedules/methods/heatkv.js";
import { scheduleToPolicy } from "../../src/lib/enforce/policy.js";
import { METHOD_NAMES, buildSchedule } from "../../src/lib/schedules/registry.js";
import { keptTokens, predictedBytes } from "../../src/lib/schedules/schedule.js";
import { syntheticStats } from "../../src/lib/schedules/synthetic.js";
import type { VarModel } from "../../src/lib/var/runtime.js";

let model: VarModel;
beforeAll(async () => {
  model = await loadNodeModel();
});

describe("schedules through the real runtime", () => {
  it("predictedBytes == measured cacheBytes at every scale, for every method", async () => {
    const cfg = model.config;
    const stats = syntheticStats(cfg, 1);
    // a budget every method can meet on this model (heatkv with σ = 3 needs ≥ R/C_max)
    const pct = Math.max(20, Math.ceil(heatkvMinRatio(model.shape, 3) * 100) + 1);
    const full = await model.generate({ classIndex: 0, seed: 1 });
    const measured: string[] = [];
    const lowRank = loadLowRankManifest(cfg);
    const cases: [string, Record<string, unknown>, number][] = [
      ...METHOD_NAMES.filter((m) => m !== "recalkv").map((m) => [m, {}, pct] as [string, Record<string, unknown>, number]),
      ["heatkv", { strict: true }, pct],
      // recalkv: σ = 3 exact sink scales by default (full-width entries counted), σ = 0 = all latent
      ["recalkv", {}, 60],
      ["recalkv", {}, 40],
      ["recalkv", { sigma: 0 }, 50],
      ["recalkv", { sigma: 0 }, 25],
      ["recalkv", { sigma: 1 }, 50],
      ["recalkv", { rankRatio: 0.75 }, 80],
      ["heatkv+recalkv", { sigma: 0 }, 10],
      ["heatkv+recalkv", { rankRatio: 0.25, strict: true, sigma: 0 }, 5],
      ["heatkv+recalkv", { rankRatio: 0.75, sigma: 1 }, 12],
      ["heatkv+recalkv", { rankRatio: 0.25, sigma: 2, strict: true }, 20],
    ];
    for (const [method, params, pc] of cases) {
      const s = buildSchedule(method, cfg, `${pc}%`, { stats, params, lowRank });
      const kept = keptTokens(s);
      // low-rank schedules run their own step-graph variant (latent cache)
      const m = s.lowRank ? await model.lowRank(s.lowRank.variant) : model;
      const r = await m.generate({
        classIndex: 0,
        seed: 1,
        policy: scheduleToPolicy(s, cfg),
        onScale: (rec, _obs, cache) => {
          if (rec.scale < model.shape.numScales - 1) expect(cache.lengths(), `${method} after scale ${rec.scale}`).toEqual(kept[rec.scale + 1]);
        },
      });
      const want = predictedBytes(s, 2, 4);
      expect(
        r.scales.map((x) => x.cacheBytes),
        method,
      ).toEqual(want.perScale);
      expect(r.peakCacheBytes, method).toBe(want.peak);
      if (method !== "full") expect(r.peakCacheBytes, method).toBeLessThanOrEqual((pc / 100) * full.peakCacheBytes);
      if (s.lowRank) expect(r.lowRank, method).toBe(s.lowRank.variant);
      measured.push(
        `${method}${JSON.stringify(params)}@${pc}%: peak ${r.peakCacheBytes} B measured = ${want.peak} B predicted (${((100 * r.peakCacheBytes) / full.peakCacheBytes).toFixed(2)} % of full)`,
      );
      expect(r.image.every((v) => v >= 0 && v <= 1)).toBe(true);
    }
    console.log(measured.join("\n"));
  });
  it("token-level methods at a tiny budget (2 %: some heads keep nothing) still match", async () => {
    const cfg = model.config;
    const stats = syntheticStats(cfg, 2);
    for (const method of ["uniform", "pyramid", "h2o", "scalekv", "hack"]) {
      const s = buildSchedule(method, cfg, "2%", { stats });
      const r = await model.generate({ classIndex: 3, seed: 7, policy: scheduleToPolicy(s, cfg) });
      expect(
        r.scales.map((x) => x.cacheBytes),
        method,
      ).toEqual(predictedBytes(s).perScale);
    }
  });
});
