// Teacher-forced cache fidelity (src/lib/metrics/fidelity.ts) on the shipped model: the full cache replayed
// against itself is exactly 0 KL / 100 % top-1; a schedule that keeps every entry equals full; a real
// compression is not 0; and the per-position math on a hand-made example.
import { beforeAll, describe, expect, it } from "vitest";
import { loadNodeModel } from "../../node/node-backend.js";
import { scheduleToPolicy } from "../../src/lib/enforce/index.js";
import { compareScale, generateWithLogits, KL_FLOOR, replayFidelity, summarizeFidelity } from "../../src/lib/metrics/fidelity.js";
import { buildSchedule } from "../../src/lib/schedules/index.js";
import type { VarModel } from "../../src/lib/var/runtime.js";

let model: VarModel;
beforeAll(async () => {
  model = await loadNodeModel();
});

const settings = { cfg: 3, topK: 0, topP: 0.95, temperature: 1 };

describe("teacher-forced fidelity on the demo model", () => {
  it("full replayed against itself: exactly 0 KL, 0 TV, 100 % top-1, at every scale", async () => {
    const ref = await generateWithLogits(model, { classIndex: 2, seed: 101, ...settings });
    const f = await replayFidelity(model, ref, scheduleToPolicy(buildSchedule("full", model.config, "100%"), model.config));
    expect(f.perScale).toHaveLength(model.shape.numScales);
    for (const s of [...f.perScale, f.overall]) {
      expect(s.kl).toBe(0);
      expect(s.klLogits).toBe(0);
      expect(s.tv).toBe(0);
      expect(s.top1).toBe(1);
    }
    // pRef: the full run's own probability of the token it sampled (> 0: it was sampled from that distribution)
    expect(f.overall.pRef).toBeGreaterThan(0);
  });

  it("a schedule that keeps every entry (uniform / h2o / streaming at 100 %) equals full exactly", async () => {
    const ref = await generateWithLogits(model, { classIndex: 5, seed: 103, ...settings });
    const full = await replayFidelity(model, ref);
    for (const method of ["uniform", "h2o", "streaming"]) {
      const keepAll = buildSchedule(method, model.config, "100%");
      const f = await replayFidelity(model, ref, scheduleToPolicy(keepAll, model.config));
      expect(f.overall.kl, method).toBe(0);
      expect(f.overall.top1, method).toBe(1);
      expect(f, method).toEqual(full);
    }
  });

  it("a real compression (h2o at 10 %) is not 0, and only from scale 1 on (scale 0 has no cache)", async () => {
    const ref = await generateWithLogits(model, { classIndex: 5, seed: 103, ...settings });
    const s = buildSchedule("h2o", model.config, "10%");
    const f = await replayFidelity(model, ref, scheduleToPolicy(s, model.config));
    expect(f.perScale[0].kl).toBe(0);
    expect(f.overall.kl).toBeGreaterThan(0);
    expect(f.overall.klLogits).toBeGreaterThan(0);
    expect(f.overall.top1).toBeLessThan(1);
  });
});

describe("compareScale math (hand-made logits, V = 3)", () => {
  it("KL, TV, top-1 and p(ref) of one position without truncation", () => {
    const full = Float64Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.2)]);
    const comp = Float64Array.from([Math.log(0.3), Math.log(0.5), Math.log(0.2)]);
    const r = compareScale(1, full, comp, 3, Int32Array.from([0]), { cfg: 0, topK: 0, topP: 1, temperature: 1 });
    const kl = 0.5 * Math.log(0.5 / 0.3) + 0.3 * Math.log(0.3 / 0.5);
    expect(r.kl).toBeCloseTo(kl, 12);
    expect(r.klLogits).toBeCloseTo(kl, 12);
    expect(r.tv).toBeCloseTo(0.2, 12);
    expect(r.top1).toBe(0);
    expect(r.pRef).toBeCloseTo(0.3, 12);
  });
  it("truncation: q masked where p is not → floored at KL_FLOOR; the logits KL is unaffected", () => {
    const full = Float64Array.from([Math.log(0.6), Math.log(0.4), Math.log(1e-9)]);
    const comp = Float64Array.from([Math.log(0.97), Math.log(0.03), Math.log(1e-9)]);
    const r = compareScale(1, full, comp, 3, Int32Array.from([1]), { cfg: 0, topK: 0, topP: 0.9, temperature: 1 });
    // p keeps codes 0 and 1 (0.6 < 0.9), q keeps only code 0 (0.97 ≥ 0.9)
    const p0 = 0.6 / (1 + 1e-9 - 1e-9); // normalised over the kept codes (their sum is 1 up to 1e-9)
    expect(r.pRef).toBe(0);
    expect(r.kl).toBeCloseTo(p0 * Math.log(p0 / 1) + 0.4 * Math.log(0.4 / KL_FLOOR), 6);
    expect(r.tv).toBeCloseTo(0.4, 6);
    expect(r.top1).toBe(1);
  });
  it("overall = token-weighted mean of the scales", () => {
    const a = { scale: 0, tokens: 1, kl: 1, klLogits: 1, tv: 1, top1: 0, pRef: 0 };
    const b = { scale: 1, tokens: 3, kl: 0, klLogits: 0, tv: 0, top1: 1, pRef: 1 };
    expect(summarizeFidelity([a, b]).overall).toEqual({ kl: 0.25, klLogits: 0.25, tv: 0.25, top1: 0.75, pRef: 0.75 });
  });
});
