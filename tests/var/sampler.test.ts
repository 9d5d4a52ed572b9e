import { describe, expect, it } from "vitest";
import { guidanceAt, guidedRow, nucleusOf, Rng, sampleTokens, validateSampler } from "../../src/lib/var/sampler.js";

const opts = { cfg: 3, topK: 0, topP: 1, temperature: 1 };

describe("Rng", () => {
  it("is deterministic per seed and differs across seeds", () => {
    const a = new Rng(7),
      b = new Rng(7),
      c = new Rng(8);
    const xa = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xa);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xa);
  });
  it("is roughly uniform on [0,1)", () => {
    const r = new Rng(1);
    const bins = new Array(10).fill(0);
    for (let i = 0; i < 20000; i++) {
      const x = r.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      bins[Math.floor(x * 10)]++;
    }
    for (const b of bins) expect(Math.abs(b - 2000)).toBeLessThan(200);
  });
});

describe("sampleTokens", () => {
  // 2 positions, vocab 4; rows: cond then uncond
  const logits = new Float32Array([/* cond p0 */ 1, 3, 2, 0, /* cond p1 */ 0, 0, 5, 1, /* unc  p0 */ 0, 4, 0, 0, /* unc  p1 */ 0, 0, 0, 0]);
  it("greedy (top-k 1) picks the argmax of (1+t)·cond − t·uncond", () => {
    // t = 1: p0 → 2·[1,3,2,0] − [0,4,0,0] = [2,2,4,0] → 2; p1 → [0,0,10,2] → 2
    expect(Array.from(sampleTokens(logits, 2, 4, 1, true, { ...opts, topK: 1 }, new Rng(0)))).toEqual([2, 2]);
    // without CFG: p0 argmax cond = 1
    expect(Array.from(sampleTokens(logits, 2, 4, 0, false, { ...opts, topK: 1 }, new Rng(0)))).toEqual([1, 2]);
  });
  it("top-k 2 never leaves the two best tokens", () => {
    const r = new Rng(3);
    for (let i = 0; i < 300; i++) expect([1, 2]).toContain(sampleTokens(logits, 1, 4, 0, false, { ...opts, topK: 2 }, r)[0]);
  });
  it("a tiny top-p keeps only the best token", () => {
    const r = new Rng(4);
    for (let i = 0; i < 100; i++) expect(sampleTokens(logits, 1, 4, 0, false, { ...opts, topP: 0.01 }, r)[0]).toBe(1);
  });
  it("samples proportionally to softmax", () => {
    const l = new Float32Array([0, Math.log(3)]);
    const r = new Rng(5);
    let ones = 0;
    for (let i = 0; i < 4000; i++) ones += sampleTokens(l, 1, 2, 0, false, opts, r)[0];
    expect(ones / 4000).toBeGreaterThan(0.72);
    expect(ones / 4000).toBeLessThan(0.78);
  });
  it("ramps guidance linearly over scales and validates options", () => {
    expect(guidanceAt(3, 0, 7)).toBe(0);
    expect(guidanceAt(3, 6, 7)).toBe(3);
    expect(() => validateSampler({ ...opts, topP: 0 })).toThrow(/top-p/);
    expect(() => validateSampler({ ...opts, topK: -1 })).toThrow(/top-k/);
    expect(() => validateSampler({ ...opts, cfg: -1 })).toThrow(/cfg/);
  });
});

describe("nucleusOf (the sampler's top-p cut and its decision margin)", () => {
  const top = { cfg: 0, topK: 0, topP: 0.9, temperature: 1 };
  it("keeps exactly the tokens sampleTokens can draw", () => {
    const r = new Rng(9);
    const logits = Float32Array.from({ length: 64 }, () => 4 * r.next());
    const { kept } = nucleusOf(logits, top);
    const seen = new Set<number>();
    for (let i = 0; i < 20000; i++) seen.add(sampleTokens(logits, 1, 64, 0, false, top, r)[0]);
    expect([...seen].sort((a, b) => a - b)).toEqual(kept);
  });
  it("margin = distance of the kept mass to topP · total, as a share of the total", () => {
    // probabilities ∝ 5, 3, 1.5, 0.5 (total 10), top-p 0.9: 5 + 3 = 8 ≤ 9 keeps the third (9.5 > 9), margin min(9 − 8, 9.5 − 9)/10
    const row = [5, 3, 1.5, 0.5].map(Math.log);
    const n = nucleusOf(row, top);
    expect(n.kept).toEqual([0, 1, 2]);
    expect(n.margin).toBeCloseTo(0.05, 12);
    // a near-tie: the third token brings the mass to 9 + 1e-9, just over the stop
    const tie = nucleusOf([5, 3, 1 + 1e-9, 1 - 1e-9].map(Math.log), top);
    expect(tie.margin).toBeLessThan(1e-8);
    expect(nucleusOf(row, { ...top, topP: 1 }).margin).toBe(Infinity);
  });
  it("guidedRow forms (1+g)·cond − g·uncond as sampleTokens does", () => {
    const l = new Float32Array([1, 3, 2, 0, /* uncond */ 0, 4, 0, 0]);
    expect(Array.from(guidedRow(l, 1, 4, 1, true, 0))).toEqual([2, 2, 4, 0]);
    expect(Array.from(guidedRow(l, 1, 4, 1, false, 0))).toEqual([1, 3, 2, 0]);
  });
});
