import { describe, expect, it } from "vitest";
import { checkStats, computeScas, massIndex, meanMass, scasFromMass, statsFromPromptMasses } from "../../src/lib/schedules/stats.js";
import { syntheticStats } from "../../src/lib/schedules/synthetic.js";
import { TINY, TINY5 } from "./helpers.js";

describe("computeScas (docs/methods.md, heatkv step 1)", () => {
  it("averages mean-over-queries mass over prompts and later targets: acc / (#prompts · (K−1−s)), σ ≤ s ≤ K−2", () => {
    // TINY5: K = 5, L = 2, H = 1. Head 0: mass[t][s] = 0.1·(t+1) + 0.01·s; prompt 2 doubles it.
    const K = 5;
    const dims = { numLayers: 2, numHeads: 1, numScales: K };
    const p1 = new Float64Array(2 * K * K);
    for (let t = 0; t < K; t++) for (let s = 0; s <= t; s++) p1[massIndex(0, t, s, K)] = 0.1 * (t + 1) + 0.01 * s;
    const p2 = p1.map((v) => 2 * v);
    const scas = computeScas([p1, p2], dims, 1);
    // s = 1: targets 2,3,4 → (0.31 + 0.41 + 0.51) · (1 + 2) / (2 · 3) = 0.615
    expect(scas[0 * K + 1]).toBeCloseTo(((0.31 + 0.41 + 0.51) * 3) / 6, 12);
    // s = 3: target 4 only → (0.53 · 3) / (2 · 1)
    expect(scas[0 * K + 3]).toBeCloseTo((0.53 * 3) / 2, 12);
    // s = 2: targets 3, 4
    expect(scas[0 * K + 2]).toBeCloseTo(((0.42 + 0.52) * 3) / 4, 12);
    // not eligible: s < σ and s = K−1
    expect(scas[0 * K + 0]).toBeNaN();
    expect(scas[0 * K + 4]).toBeNaN();
    // head 1 (lh = 1) has no mass
    expect(scas[1 * K + 2]).toBe(0);
  });
  it("equals scasFromMass(meanMass) and statsFromPromptMasses", () => {
    const a = syntheticStats(TINY5, 1).mass;
    const b = syntheticStats(TINY5, 2).mass;
    const dims = { numLayers: 2, numHeads: 1, numScales: 5 };
    const direct = computeScas([a, b], dims, 0);
    const viaMean = scasFromMass(meanMass([a, b]), dims, 0);
    direct.forEach((v, i) => (Number.isNaN(v) ? expect(viaMean[i]).toBeNaN() : expect(viaMean[i]).toBeCloseTo(v, 14)));
    const st = statsFromPromptMasses(TINY5, [a, b], 0);
    expect(st.prompts).toBe(2);
    expect(st.configHash).toBe(TINY5.configHash);
    expect(Array.from(st.scas)).toEqual(Array.from(direct));
  });
  it("rejects bad sigma / sizes", () => {
    const dims = { numLayers: 2, numHeads: 1, numScales: 5 };
    expect(() => computeScas([new Float64Array(50)], dims, 4)).toThrow('computeScas: field "sigma" must be an integer in [0, 3], got 4');
    expect(() => computeScas([new Float64Array(3)], dims, 1)).toThrow(/field "massPerPrompt\[0\]" must have L·H·K·K = 50 entries, got 3/);
    expect(() => computeScas([], dims, 1)).toThrow(/at least one prompt/);
  });
});

describe("checkStats", () => {
  it("accepts stats of this model; rejects another model's, wrong sizes and bad masses in one line", () => {
    const st = syntheticStats(TINY, 3);
    expect(() => checkStats(st, TINY)).not.toThrow();
    expect(() => checkStats({ ...st, configHash: "ffff" }, TINY)).toThrow(
      /^stats: field "configHash" is "ffff" but the model "tiny" has "aaaa1111": these statistics were calibrated on another model$/,
    );
    expect(() => checkStats({ ...st, numHeads: 3 }, TINY)).toThrow('stats: field "numHeads" must be 2 for model "tiny", got 3');
    expect(() => checkStats({ ...st, scas: new Float64Array(2) }, TINY)).toThrow(/field "scas" must be a Float64Array of L·H·K = 16/);
    const mass = st.mass.slice();
    mass[massIndex(3, 2, 1, 4)] = Number.NaN;
    expect(() => checkStats({ ...st, mass }, TINY)).toThrow('stats: field "mass[l=1,h=1,t=2,s=1]" must be a finite mass ≥ 0, got NaN');
  });
});
