import { describe, expect, it } from "vitest";
import { massIndex } from "../../src/lib/schedules/stats.js";
import { INFINITY_2B_MODEL, seededRandom, syntheticStats } from "../../src/lib/schedules/synthetic.js";
import { TINY } from "./helpers.js";

describe("synthetic stats", () => {
  it("are seeded, normalised per (head, target) over s ≤ t, with S-CAS for every s ≤ K−2", () => {
    const a = syntheticStats(TINY, 4);
    expect(syntheticStats(TINY, 4)).toEqual(a);
    expect(syntheticStats(TINY, 5).mass).not.toEqual(a.mass);
    const K = 4;
    for (let lh = 0; lh < 4; lh++) {
      for (let t = 0; t < K; t++) {
        let sum = 0;
        for (let s = 0; s < K; s++) sum += a.mass[massIndex(lh, t, s, K)];
        expect(sum).toBeCloseTo(1, 12);
        for (let s = t + 1; s < K; s++) expect(a.mass[massIndex(lh, t, s, K)]).toBe(0);
      }
      for (let s = 0; s <= K - 2; s++) expect(Number.isFinite(a.scas[lh * K + s])).toBe(true);
      expect(a.scas[lh * K + K - 1]).toBeNaN();
    }
  });
  it("Infinity-2B shape and PRNG range", () => {
    expect(INFINITY_2B_MODEL.patchNums.map((p) => p * p)).toEqual([1, 4, 16, 36, 64, 144, 256, 400, 576, 1024, 1600, 2304, 4096]);
    const r = seededRandom(1);
    for (let i = 0; i < 1000; i++) {
      const v = r();
      expect(v >= 0 && v < 1).toBe(true);
    }
  });
});
