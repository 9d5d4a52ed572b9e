/**
 * Every method's policy through the real runtime (onnxruntime-node, data/model): the bytes the runtime
 * measures as fed to each scale (ScaleRecord.cacheBytes) equal predictedBytes, and the kept entries equal
 * keptTokens, for every method. Uses only the model's config + generate().
 */
import { beforeAll, describe, expect, it } from "vitest";
import { loadNodeModel } from "../../loaders/node-backend.js";
import { heatkvMinRatio } from "../../src/lib/schedules/methods/heatkv.js";
import { scheduleToPolicy } from "../../src/lib/schedules/policy.js";
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
    for (const [method, params] of [...METHOD_NAMES.map((m) => [m, {}] as const), ["heatkv", { strict: true }] as const]) {
      const s = buildSchedule(method, cfg, `${pct}%`, { stats, params });
      const kept = keptTokens(s);
      const r = await model.generate({
        classIndex: 0,
        seed: 1,
        policy: scheduleToPolicy(s, cfg),
        onScale: (rec, _obs, cache) => {
          if (rec.scale < model.shape.numScales - 1) expect(cache.lengths(), `${method} after scale ${rec.scale}`).toEqual(kept[rec.scale + 1]);
        },
      });
      const want = predictedBytes(s, 2, 4);
      expect(r.scales.map((x) => x.cacheBytes), method).toEqual(want.perScale);
      expect(r.peakCacheBytes, method).toBe(want.peak);
      if (method !== "full") expect(r.peakCacheBytes, method).toBeLessThanOrEqual((pct / 100) * full.peakCacheBytes);
      expect(r.image.every((v) => v >= 0 && v <= 1)).toBe(true);
    }
  });
  it("token-level methods at a tiny budget (2 %: some heads keep nothing) still match", async () => {
    const cfg = model.config;
    const stats = syntheticStats(cfg, 2);
    for (const method of ["uniform", "pyramid", "h2o", "scalekv", "hack"]) {
      const s = buildSchedule(method, cfg, "2%", { stats });
      const r = await model.generate({ classIndex: 3, seed: 7, policy: scheduleToPolicy(s, cfg) });
      expect(r.scales.map((x) => x.cacheBytes), method).toEqual(predictedBytes(s).perScale);
    }
  });
});
