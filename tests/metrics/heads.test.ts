import { describe, expect, it } from "vitest";
import {
  decodeLog8,
  decodePacked,
  encodeLog8,
  headMetrics,
  headScaleMass,
  keyColumn,
  labelHeads,
  packHead,
  queryRow,
  scaleLayout,
  unpackHead,
} from "../../src/lib/metrics/heads.js";

/**
 * Toy A: patch nums [1, 2] → tokens [1, 4], L = 5. Cell centres on [0,1]²: scale 0 → (½, ½); scale 1 →
 * (¼,¼), (¾,¼), (¼,¾), (¾,¾). Row 0 = [1, 0, 0, 0, 0]; each query q of scale 1 puts ½ on key 0 and ½ on itself.
 *   scaleMass: m[0][0] = 1, m[1][0] = ½, m[1][1] = ½
 *   currentShare = ½ (only t = 1), historyShare = ½, locality = m11 + m10 = 1
 *   entropy = ln 2 / ln 5 = 0.430677 (5 visible keys)
 *   spatialDistance = ½ · ‖(¼,¼)‖ = ½ · 0.353553 = 0.176777 (self distance 0)
 *   asi = current ½ · top-16 history mass ½ = ¼; sinkMass with σ = 1 = ½, with σ = 3 undefined (NaN)
 */
const layA = scaleLayout([1, 2]);
const A = new Float32Array(25);
A[0] = 1;
for (let q = 1; q < 5; q++) {
  A[q * 5] = 0.5;
  A[q * 5 + q] = 0.5;
}

/**
 * Toy B: patch nums [1, 1, 1] (all centres at (½, ½)), rows [1], [0.4, 0.6], [0.2, 0.3, 0.5].
 *   t=1: current 0.6, top-1 history 0.4 → asi 0.24; t=2: current 0.5, top-1 history 0.3 → 0.15; asi = 0.195
 *   locality = ((0.6 + 0.4) + (0.5 + 0.3)) / 2 = 0.9; currentShare = 0.55
 *   sinkMass σ=1: (0.4 + 0.2)/2 = 0.3; σ=2: only t=2: 0.2 + 0.3 = 0.5
 *   entropy: t=1 H=0.673012/ln2 = 0.970951; t=2 H=1.029653/ln3 = 0.937231; mean 0.954091
 *   spatialDistance = 0
 */
const layB = scaleLayout([1, 1, 1]);
const B = Float32Array.from([1, 0, 0, 0.4, 0.6, 0, 0.2, 0.3, 0.5]);

describe("head metrics on toy attention", () => {
  it("layout: scales, centres and packed rows", () => {
    expect(layA.total).toBe(5);
    expect(Array.from(layA.scaleOf)).toEqual([0, 1, 1, 1, 1]);
    expect(Array.from(layA.centre)).toEqual([0.5, 0.5, 0.25, 0.25, 0.75, 0.25, 0.25, 0.75, 0.75, 0.75]);
    expect(layA.packedSize).toBe(1 + 4 * 5);
    expect(Array.from(layB.rowStart)).toEqual([0, 1, 3]);
  });

  it("scale mass", () => {
    expect(Array.from(headScaleMass(A, layA))).toEqual([1, 0, 0.5, 0.5]);
  });

  it("toy A: shares, entropy, spatial distance, ASI, locality, sink mass", () => {
    const m = headMetrics(A, layA, { sigma: 1 });
    expect(m.currentShare).toBeCloseTo(0.5, 6);
    expect(m.historyShare).toBeCloseTo(0.5, 6);
    expect(m.locality).toBeCloseTo(1, 6);
    expect(m.entropy).toBeCloseTo(Math.LN2 / Math.log(5), 6);
    expect(m.spatialDistance).toBeCloseTo(0.5 * Math.SQRT2 * 0.25, 6);
    expect(m.asi).toBeCloseTo(0.25, 6);
    expect(m.sinkMass).toBeCloseTo(0.5, 6);
    expect(headMetrics(A, layA).sinkMass).toBeNaN();
  });

  it("toy B: top-K' history, sink scales, entropy normalisation", () => {
    const m = headMetrics(B, layB, { sigma: 1, topK: 1 });
    expect(m.asi).toBeCloseTo(0.195, 6);
    expect(m.locality).toBeCloseTo(0.9, 6);
    expect(m.currentShare).toBeCloseTo(0.55, 6);
    expect(m.sinkMass).toBeCloseTo(0.3, 6);
    expect(headMetrics(B, layB, { sigma: 2 }).sinkMass).toBeCloseTo(0.5, 6);
    expect(m.entropy).toBeCloseTo(0.954091, 5);
    expect(m.spatialDistance).toBe(0);
    // top-16 takes all history: t=1 0.6·0.4, t=2 0.5·0.5 → 0.245
    expect(headMetrics(B, layB).asi).toBeCloseTo(0.245, 6);
  });

  it("labels: ScaleKV drafter = ASI z-score < 0; HACK structural = locality ≥ median", () => {
    const labels = labelHeads([
      { asi: 1, locality: 0.9 },
      { asi: 3, locality: 0.1 },
      { asi: 2, locality: 0.5 },
    ]);
    expect(labels).toEqual([
      { scalekv: "drafter", hack: "structural" },
      { scalekv: "refiner", hack: "contextual" },
      { scalekv: "refiner", hack: "structural" },
    ]);
  });

  it("log8 codes: 0, 1e-6, 1e-3, 1 and the ±2.8 % bound", () => {
    expect([0, 5e-7, 1e-6, 1e-3, 1].map(encodeLog8)).toEqual([0, 0, 1, 128, 255]);
    expect(decodeLog8(0)).toBe(0);
    expect(decodeLog8(128)).toBeCloseTo(1e-3, 9);
    for (const p of [2e-6, 0.0123, 0.5, 0.77]) expect(Math.abs(decodeLog8(encodeLog8(p)) / p - 1)).toBeLessThan(0.029);
  });

  it("pack / unpack keeps the block-causal rows; rows and columns", () => {
    const bytes = packHead(A, layA);
    expect(bytes.length).toBe(21);
    const D = unpackHead(bytes, layA);
    // log8 codes: 0 stays exactly 0, everything else within the code's ±2.8 % relative bound
    const near = (got: number, want: number) => (want === 0 ? got === 0 : Math.abs(got / want - 1) < 0.029);
    for (let i = 0; i < 25; i++) expect(near(D[i], A[i]), `${i}: ${D[i]} vs ${A[i]}`).toBe(true);
    expect(D[1]).toBe(0); // above the block-causal boundary
    expect(Array.from(queryRow(A, layA, 2))).toEqual([0.5, 0, 0.5, 0, 0]);
    expect(Array.from(keyColumn(A, layA, 0))).toEqual([1, 0.5, 0.5, 0.5, 0.5]);
    expect(() => unpackHead(new Uint8Array(3), layA)).toThrow(/expected 21/);
    // packed probabilities: row q of scale 1 starts at 1 + 5(q − 1); A[2, 0] = ½, A[2, 2] = ½
    const P = decodePacked(bytes, layA);
    expect(P.length).toBe(21);
    expect(near(P[layA.rowStart[2] + 0], 0.5)).toBe(true);
    expect(near(P[layA.rowStart[2] + 2], 0.5)).toBe(true);
    expect(P[layA.rowStart[2] + 1]).toBe(0);
    expect(near(P[0], 1)).toBe(true);
  });
});
