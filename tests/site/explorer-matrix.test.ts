import { describe, expect, it } from "vitest";
import { encodeLog8, LOG8 } from "../../src/lib/metrics/heads.js";
import { LUT_VIRIDIS } from "../../src/lib/site/explorer/colour.js";
import { colourTop, FLAG_DROPPED, FLAG_EMPTY, FLAG_SINK, FLAG_VISIBLE, matrixPixels, matrixWindow, poolMatrix } from "../../src/lib/site/explorer/matrix.js";
import { ATTENTION, LAY, packed } from "./explorer-fixture.js";

const none = { scale: -1, sink: false, sigma: 1, dropped: null };

describe("explorer matrix pooling", () => {
  it("shows every row and key for scale −1, one scale's rows and its visible keys otherwise", () => {
    expect(matrixWindow(-1, LAY)).toEqual({ r0: 0, r1: 5, c1: 5, rows: 5 });
    expect(matrixWindow(0, LAY)).toEqual({ r0: 0, r1: 1, c1: 1, rows: 1 });
    expect(matrixWindow(1, LAY)).toEqual({ r0: 1, r1: 5, c1: 5, rows: 4 });
  });

  it("colour range excludes the scale-0 row (always 1); masses sum the rows", () => {
    const p = poolMatrix(packed(ATTENTION), LAY, none);
    expect(p.vmax).toBeCloseTo(0.6, 6);
    expect(p.totalMass).toBeCloseTo(5, 6);
    expect(p.keptMass).toBeCloseTo(5, 6);
    expect(Array.from(p.flag)).toEqual([1, 0, 0, 0, 0, ...Array(20).fill(FLAG_VISIBLE)]);
    expect(colourTop(p, "head")).toBeCloseTo(0.6, 6);
    expect(colourTop(p, "global")).toBe(1);
  });

  it("max-pools to the pixel limit (a pixel keeps the largest value it covers)", () => {
    const p = poolMatrix(packed(ATTENTION), LAY, { ...none, maxPixels: 2 });
    expect([p.pw, p.ph]).toEqual([2, 2]);
    // pixel (0,0) covers rows 0–2 × keys 0–2, (1,1) rows 3–4 × keys 3–4
    expect(p.pooled[0]).toBeCloseTo(1, 6);
    expect(p.pooled[3]).toBeCloseTo(0.4, 6);
  });

  it("masked sink scales are left out of the colour range but count as kept mass", () => {
    const A = packed([[1], [0.7, 0.1, 0.1, 0.05, 0.05], [0.1, 0.2, 0.3, 0.2, 0.2], [0.1, 0.2, 0.3, 0.2, 0.2], [0.1, 0.2, 0.3, 0.2, 0.2]]);
    expect(poolMatrix(A, LAY, none).vmax).toBeCloseTo(0.7, 6);
    const p = poolMatrix(A, LAY, { ...none, sink: true });
    expect(p.vmax).toBeCloseTo(0.3, 6);
    expect(p.flag[0]).toBe(FLAG_SINK);
    expect(p.flag[5]).toBe(FLAG_SINK);
    expect(p.keptMass).toBeCloseTo(5, 6);
  });

  it("a schedule's dropped blocks are flagged and their mass is not kept", () => {
    const p = poolMatrix(packed(ATTENTION), LAY, { ...none, dropped: (t, s) => t === 1 && s === 0 });
    expect(p.keptMass).toBeCloseTo(5 - (0.5 + 0.1 + 0.3 + 0.2), 6);
    expect(p.flag[0]).toBe(FLAG_VISIBLE); // scale 0's own row is not dropped
    expect([5, 10, 15, 20].map((i) => p.flag[i])).toEqual([FLAG_DROPPED, FLAG_DROPPED, FLAG_DROPPED, FLAG_DROPPED]);
  });

  it("one head's log8 codes pool as codes and decode to the same range", () => {
    const codes = Uint8Array.from(packed(ATTENTION), encodeLog8);
    const p = poolMatrix(codes, LAY, none);
    expect(p.codes).not.toBeNull();
    expect(p.vmax).toBe(LOG8[encodeLog8(0.6)]);
    expect(p.pooled[11]).toBe(LOG8[encodeLog8(0.6)]); // row 2, key 1
    expect(p.pooled[6]).toBe(LOG8[encodeLog8(0.2)]);
  });
});

describe("explorer matrix pixels", () => {
  const rgba = (d: Uint8ClampedArray, i: number) => Array.from(d.slice(i * 4, i * 4 + 4));
  const viridis = (j: number) => Array.from(LUT_VIRIDIS.slice(j * 3, j * 3 + 3));

  it("white above the block-causal boundary, viridis by value, hatched sinks, grey dropped blocks", () => {
    const p = poolMatrix(packed(ATTENTION), LAY, { ...none, sink: false, dropped: (t, s) => t === 1 && s === 1 });
    const d = matrixPixels(p, 1, "linear");
    expect(rgba(d, 1)).toEqual([255, 255, 255, 255]); // row 0, key 1: not visible
    expect(rgba(d, 0)).toEqual([...viridis(255), 255]); // value 1 at the top of the range
    expect(rgba(d, 5)).toEqual([...viridis(Math.round(0.5 * 255)), 255]); // 0.5, linear
    const grey = rgba(d, 6); // row 1, key 1: dropped (value 0.2)
    expect(grey[0]).toBe(grey[1]);
    expect(grey[1]).toBe(grey[2]);
    expect(grey[0]).toBeGreaterThanOrEqual(150);
    const s = matrixPixels(poolMatrix(packed(ATTENTION), LAY, { ...none, sink: true }), 1, "linear");
    expect([rgba(s, 0)[0], rgba(s, 5)[0]].every((v) => v === 200 || v === 230)).toBe(true);
  });

  it("log colour: four decades below the top (a value 10⁻² of the top sits halfway)", () => {
    const p = poolMatrix(packed(ATTENTION), LAY, none);
    const d = matrixPixels(p, 10, "log"); // 0.1 = 10⁻² × 10
    expect(rgba(d, 7)).toEqual([...viridis(Math.round(0.5 * 255)), 255]); // row 1, key 2: 0.1
  });
});
