import { describe, expect, it } from "vitest";
import { pyramidLayerWeights } from "../../../src/lib/schedules/methods/pyramid.js";
import { buildSchedule } from "../../../src/lib/schedules/registry.js";
import { TINY } from "../helpers.js";

describe("pyramid", () => {
  it("layer weights fall linearly from 2 − 1/β to 1/β and average 1", () => {
    const two = pyramidLayerWeights(2, 20);
    expect(two[0]).toBeCloseTo(1.95, 12);
    expect(two[1]).toBeCloseTo(0.05, 12);
    const w = pyramidLayerWeights(5, 4);
    expect(w[0]).toBeCloseTo(1.75);
    expect(w[4]).toBeCloseTo(0.25);
    expect(w.reduce((a, b) => a + b, 0) / 5).toBeCloseTo(1, 12);
    expect(Array.from(pyramidLayerWeights(1, 20))).toEqual([1]);
    expect(Array.from(pyramidLayerWeights(3, 1))).toEqual([1, 1, 1]);
  });
  it("50 % on TINY (2 layers): shares 13.65 / 0.35 per head → 14,14 | 0,0 at scale 3; snapkv rule", () => {
    const s = buildSchedule("pyramid", TINY, "50%");
    if (s.kind !== "dynamic") throw new Error("dynamic expected");
    expect(Array.from(s.counts.slice(12))).toEqual([14, 14, 0, 0]);
    expect(s.rules.every((r) => r === "snapkv")).toBe(true);
    expect(s.scorer).toEqual({ recentRatio: 0.5, window: 16, poolKernel: 5 });
  });
  it("β = 1 is uniform; bad kernel rejected", () => {
    const s = buildSchedule("pyramid", TINY, "50%", { params: { beta: 1 } });
    expect(s.kind === "dynamic" && Array.from(s.counts.slice(12))).toEqual([7, 7, 7, 7]);
    expect(() => buildSchedule("pyramid", TINY, "50%", { params: { poolKernel: 4 } })).toThrow(/params.poolKernel" must be an odd integer/);
  });
});
