import { describe, expect, it } from "vitest";
import { kendallTau, scaleMass, scas, tokenMass } from "../../src/lib/metrics/attention.js";
import type { ScaleObservation } from "../../src/lib/var/runtime.js";

/**
 * Toy: target scale t = 2 with n = 2 queries, one head, 2 rows. Fed cache: scale 0 (1 token), scale 1
 * (2 tokens) → columns [s0, s1a, s1b, cur0, cur1]. Attention rows (per query, each sums to 1):
 *   row 0: q0 = [0.5, 0.1, 0.1, 0.2, 0.1]   q1 = [0.3, 0.2, 0.0, 0.1, 0.4]
 * summed over queries: [0.8, 0.3, 0.1, 0.3, 0.5]
 * mean mass on s0 = 0.8/2 = 0.4; on s1 = (0.3+0.1)/2 = 0.2; on own scale = (0.3+0.5)/2 = 0.4 (sums to 1).
 */
const toy: ScaleObservation = {
  scale: 2,
  tokens: 2,
  rows: 2,
  attn: [Float32Array.from([0.8, 0.3, 0.1, 0.3, 0.5, /* row 1 */ 0.2, 0.2, 0.2, 0.6, 0.8])],
  fedScale: [Int16Array.from([0, 1, 1])],
  fedToken: [Int32Array.from([0, 0, 1])],
};

describe("scaleMass / tokenMass", () => {
  it("averages the summed mass over the target's queries per source scale, rows kept apart", () => {
    const m = scaleMass(toy);
    expect(Array.from(m[0][0])).toEqual([0.4, 0.2, 0.4].map((x) => expect.closeTo(x, 6)));
    expect(Array.from(m[1][0])).toEqual([0.1, 0.2, 0.7].map((x) => expect.closeTo(x, 6)));
    expect(m[0][0].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });
  it("groups by the fed entries' source scale, so a pruned cache counts only kept keys", () => {
    const pruned: ScaleObservation = {
      ...toy,
      rows: 1,
      attn: [Float32Array.from([0.9, 0.4, 0.7])],
      fedScale: [Int16Array.from([1])],
      fedToken: [Int32Array.from([1])],
    };
    expect(Array.from(scaleMass(pruned)[0][0])).toEqual([0, 0.45, 0.55].map((x) => expect.closeTo(x, 6)));
  });
  it("per-token mass is the fed columns over n", () => {
    expect(Array.from(tokenMass(toy, 0)[0])).toEqual([0.4, 0.15, 0.05].map((x) => expect.closeTo(x, 6)));
    expect(Array.from(tokenMass(toy, 1)[0])).toEqual([0.1, 0.1, 0.1].map((x) => expect.closeTo(x, 6)));
  });
  it("rejects an observation whose widths do not match", () => {
    expect(() => scaleMass({ ...toy, tokens: 3 })).toThrow(/expected 2×\(3\+3\)/);
  });
});

describe("S-CAS (docs/methods.md, heatkv step 1)", () => {
  it("averages over prompts and over every later target scale, only for σ ≤ s ≤ K−2", () => {
    // K = 4, σ = 1, one head, 2 prompts. mass(p, t, s) = 0.1·(p+1)·(t+s)/10 for easy sums.
    const mass = (p: number, _i: number, t: number, s: number) => 0.01 * (p + 1) * (t + s);
    const out = scas(2, 1, 4, 1, mass);
    // s = 1: targets t = 2, 3 → Σ_p Σ_t = (0.01+0.02)·(3+4) = 0.21; / (2 · (4−1−1)) = 0.0525
    expect(out[1]).toBeCloseTo(0.0525, 10);
    // s = 2: target t = 3 only → (0.03)·5 = 0.15 / (2·1) = 0.075
    expect(out[2]).toBeCloseTo(0.075, 10);
    expect(Number.isNaN(out[0])).toBe(true); // sink scale
    expect(Number.isNaN(out[3])).toBe(true); // last scale is never cached
    expect(() => scas(2, 1, 4, 3, mass)).toThrow(/sigma/);
  });
});

describe("kendallTau", () => {
  it("is 1 for the same order, −1 reversed, and tau-b with ties", () => {
    expect(kendallTau([1, 2, 3, 4], [10, 20, 30, 40])).toBe(1);
    expect(kendallTau([1, 2, 3, 4], [4, 3, 2, 1])).toBe(-1);
    // pairs: (1,2) conc, (1,3) conc, (2,3) tie in b → tau-b = 2 / sqrt(3·2)
    expect(kendallTau([1, 2, 3], [1, 2, 2])).toBeCloseTo(2 / Math.sqrt(6), 12);
    expect(kendallTau([1, Number.NaN, 3], [1, 5, 3])).toBe(1);
    // a pair tied in BOTH rankings counts in neither factor of tau-b's denominator: pairs (0,1) tied in both,
    // concordant (0,2) (1,2), discordant (0,3) (1,3) (2,3) → (2 − 3) / sqrt((6 − 1) · (6 − 1)) = −0.2
    expect(kendallTau([1, 1, 2, 3], [5, 5, 6, 4])).toBeCloseTo(-0.2, 12);
  });
});
