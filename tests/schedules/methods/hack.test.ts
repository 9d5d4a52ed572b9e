import { describe, expect, it } from "vitest";
import { headLocality } from "../../../src/lib/schedules/methods/hack.js";
import { buildSchedule } from "../../../src/lib/schedules/registry.js";
import { type HeadScaleStats, massIndex } from "../../../src/lib/schedules/stats.js";
import { TINY } from "../helpers.js";

/** TINY (K = 4, 2×2 heads): heads 0 and 3 put 90 % on their own + previous scale; heads 1, 2 look at scale 0. */
function stats(): HeadScaleStats {
  const K = 4;
  const mass = new Float64Array(4 * K * K);
  for (let lh = 0; lh < 4; lh++) {
    const local = lh === 0 || lh === 3;
    for (let t = 0; t < K; t++) {
      if (t === 0) {
        mass[massIndex(lh, 0, 0, K)] = 1;
        continue;
      }
      if (local) {
        mass[massIndex(lh, t, t, K)] = 0.6;
        mass[massIndex(lh, t, t - 1, K)] += 0.3;
        mass[massIndex(lh, t, 0, K)] += 0.1;
      } else {
        mass[massIndex(lh, t, t, K)] = 0.2;
        mass[massIndex(lh, t, 0, K)] += 0.8;
      }
    }
  }
  return { configHash: TINY.configHash, numLayers: 2, numHeads: 2, numScales: K, scas: new Float64Array(16), mass };
}

describe("hack", () => {
  it("locality = mean over targets of mass on own + previous scale", () => {
    const loc = headLocality(stats());
    // head 0: t=1: 0.6 + (0.3 + 0.1 on scale 0 = t−1) = 1; t=2,3: 0.6 + 0.3
    expect(loc[0]).toBeCloseTo((1 + 0.9 + 0.9) / 3, 12);
    expect(loc[1]).toBeCloseTo((1 + 0.2 + 0.2) / 3, 12);
  });
  it("50 %: structural heads 0,3 (recent, weight 0.5), contextual 1,2 (h2o, weight 1.5): 28 → 4, 11, 10, 3", () => {
    const s = buildSchedule("hack", TINY, "50%", { stats: stats() });
    if (s.kind !== "dynamic") throw new Error("dynamic expected");
    expect(s.rules).toEqual(["recent", "h2o", "h2o", "recent"]);
    expect(Array.from(s.counts.slice(12))).toEqual([4, 11, 10, 3]);
    expect(s.scorer.recentRatio).toBe(0);
    expect(s.details.structuralHeads).toEqual([1, 0, 0, 1]);
  });
  it("equal weights give the uniform split; needs stats", () => {
    const s = buildSchedule("hack", TINY, "50%", { stats: stats(), params: { structuralWeight: 1, contextualWeight: 1 } });
    expect(s.kind === "dynamic" && Array.from(s.counts.slice(12))).toEqual([7, 7, 7, 7]);
    expect(() => buildSchedule("hack", TINY, "50%")).toThrow(/field "stats" are required by method "hack"/);
  });
});
