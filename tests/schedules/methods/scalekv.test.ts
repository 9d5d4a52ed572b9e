import { describe, expect, it } from "vitest";
import { attentionSelectivity, zScores } from "../../../src/lib/schedules/methods/scalekv.js";
import { buildSchedule } from "../../../src/lib/schedules/registry.js";
import { type HeadScaleStats, massIndex } from "../../../src/lib/schedules/stats.js";
import { TINY5 } from "../helpers.js";

/** TINY5 (K = 5, 2 layers × 1 head): layer 0 spreads its attention (current map 0.2), layer 1 is local (0.6). */
function stats(): HeadScaleStats {
  const K = 5;
  const mass = new Float64Array(2 * K * K);
  for (let lh = 0; lh < 2; lh++) {
    for (let t = 0; t < K; t++) {
      const cur = t === 0 ? 1 : lh === 0 ? 0.2 : 0.6;
      mass[massIndex(lh, t, t, K)] = cur;
      for (let s = 0; s < t; s++) mass[massIndex(lh, t, s, K)] = (1 - cur) / t;
    }
  }
  return { configHash: TINY5.configHash, numLayers: 2, numHeads: 1, numScales: K, scas: new Float64Array(2 * K), mass };
}

describe("scalekv", () => {
  it("ASI = current-map mass × top-K' history mass, mass spread evenly within a source scale", () => {
    const K = 3;
    const mass = new Float64Array(K * K);
    mass[massIndex(0, 2, 2, K)] = 0.5;
    mass[massIndex(0, 2, 0, K)] = 0.1; // n_0 = 1 → density 0.1
    mass[massIndex(0, 2, 1, K)] = 0.4; // n_1 = 4 → density 0.1 (tie → later scale first)
    const st = { configHash: "x", numLayers: 1, numHeads: 1, numScales: K, scas: new Float64Array(K), mass };
    expect(attentionSelectivity(st, [1, 4, 9], 2, 2)[0]).toBeCloseTo(0.5 * 0.2, 12);
    expect(attentionSelectivity(st, [1, 4, 9], 2, 5)[0]).toBeCloseTo(0.5 * 0.5, 12);
    expect(attentionSelectivity(st, [1, 4, 9], 2, 99)[0]).toBeCloseTo(0.5 * 0.5, 12);
  });
  it("z-scores", () => {
    expect(Array.from(zScores([1, 3]))).toEqual([-1, 1]);
    expect(Array.from(zScores([2, 2]))).toEqual([0, 0]);
  });
  it("40 % on TINY5: uniform at the first compressed scale, then drafter 18 / refiner 6 as the refiner budget decays to 0.5", () => {
    // limit = 0.4 · 2 · 30 = 24. t=3: 28 > 24 → first compressed, r = 1 → 12 / 12.
    // t=4: r = 0.5 → B_d = (2 − 0.5)/1 = 1.5 → 24 split 1.5 : 0.5 → 18 / 6 (availability 21 each).
    // Layer 0 (broad, ASI 0.2·0.8 = 0.16) is the drafter; layer 1 (local, 0.6·0.4 = 0.24) the refiner.
    const s = buildSchedule("scalekv", TINY5, "40%", { stats: stats(), params: { drafterFraction: 0.5, refinerFirst: 1, refinerLast: 0.5 } });
    if (s.kind !== "dynamic") throw new Error("dynamic expected");
    expect(Array.from(s.counts)).toEqual([0, 0, 1, 1, 5, 5, 12, 12, 18, 6]);
    expect(s.rules).toEqual(["snapkv", "snapkv"]);
    expect(s.details.firstCompressedTarget).toBe(3);
    expect((s.details.drafters as number[][])[4]).toEqual([0]);
  });
  it("needs stats", () => {
    expect(() => buildSchedule("scalekv", TINY5, "40%")).toThrow(
      'schedule: field "stats" are required by method "scalekv" (drafter/refiner split from calibration attention mass); run the calibration first',
    );
  });
});
