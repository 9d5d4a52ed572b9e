import { describe, expect, it } from "vitest";
import { maxPoolWithinScale, selectH2O, selectRecent, selectSnapKV, selectTop, windowMask } from "../../src/lib/enforce/scorers.js";

describe("scorers", () => {
  it("selectRecent keeps the last entries", () => {
    expect(Array.from(selectRecent(6, 2))).toEqual([4, 5]);
    expect(Array.from(selectRecent(3, 5))).toEqual([0, 1, 2]);
    expect(Array.from(selectRecent(3, 0))).toEqual([]);
  });
  it("selectTop: forced first, then score; ties → more recent; ascending output", () => {
    expect(Array.from(selectTop([5, 1, 5, 3], 2))).toEqual([0, 2]);
    expect(Array.from(selectTop([5, 1, 5, 3], 1))).toEqual([2]); // tie 5/5 → higher index
    expect(Array.from(selectTop([5, 1, 5, 3], 2, [0, 1, 0, 0]))).toEqual([1, 2]);
    expect(Array.from(selectTop([Number.NaN, 1, 2], 1))).toEqual([2]);
    expect(Array.from(selectTop([1, 2], 2))).toEqual([0, 1]);
  });
  it("maxPoolWithinScale pools ±k/2 along the token order, never across scales or token gaps", () => {
    const scale = [0, 1, 1, 1, 1, 2, 2];
    const token = [0, 0, 1, 2, 7, 0, 1];
    const score = [9, 1, 0, 0, 0, 0, 5];
    // kernel 3: token 2 of scale 1 sees token 1 (0) and 3 (absent) → 0; token 0..1 see 1
    expect(Array.from(maxPoolWithinScale(score, scale, token, 3))).toEqual([9, 1, 1, 0, 0, 5, 5]);
    expect(Array.from(maxPoolWithinScale(score, scale, token, 5))).toEqual([9, 1, 1, 1, 0, 5, 5]);
    expect(Array.from(maxPoolWithinScale(score, scale, token, 1))).toEqual(score);
  });
  it("windowMask: 4×4 grid centres of the current map, or the last `window` entries when the map is smaller", () => {
    // current scale 3 with an 8×8 map: hp = 2, centres at rows/cols 0,2,4,6
    const n = 64;
    const scale = new Int16Array(2 + n).fill(3);
    scale[0] = 0;
    scale[1] = 1;
    const token = Int32Array.from({ length: 2 + n }, (_, i) => (i < 2 ? 0 : i - 2));
    const m = windowMask(scale, token, 3, 8, 16);
    const picked = Array.from(m.keys())
      .filter((i) => m[i])
      .map((i) => token[i]);
    expect(picked).toEqual([0, 2, 4, 6, 16, 18, 20, 22, 32, 34, 36, 38, 48, 50, 52, 54]);
    // 3×3 map < 4×4 grid → last 16 entries
    const small = windowMask(new Int16Array(20).fill(2), new Int32Array(20), 2, 3, 16);
    expect(Array.from(small).reduce((a, b) => a + b, 0)).toBe(16);
    expect(small[3]).toBe(0);
    expect(small[4]).toBe(1);
    expect(Array.from(windowMask(scale, token, 3, 8, 0)).every((v) => v === 0)).toBe(true);
  });
  it("selectH2O: recent share first, then the heaviest accumulated attention", () => {
    // 6 entries, count 4, recentRatio 0.5 → last 2 + top 2 of the rest by score
    expect(Array.from(selectH2O([0.9, 0.1, 0.5, 0.3, 0.0, 0.0], 4, 0.5))).toEqual([0, 2, 4, 5]);
    expect(Array.from(selectH2O([0.9, 0.1, 0.5, 0.3, 0.0, 0.0], 2, 0))).toEqual([0, 2]);
  });
  it("selectSnapKV: window ranked first, then pooled current-scale attention", () => {
    // storage: scale 0 token 0, scale 1 tokens 0..3, then current scale 2 (3×3) tokens 0..8; window 16 > map → last 16 (all)
    const scale = [0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2];
    const token = [0, 0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 8];
    const attn = [0.5, 0.0, 0.0, 0.0, 0.3, 0.1, 0, 0, 0, 0, 0, 0, 0, 0.1];
    // window 1 (grid 1×1, hp = 3 → centre (1,1) = token 4 of scale 2, index 9) + 2 by pooled score (kernel 3):
    // pooled: idx0 .5, idx3 .3 (neighbour token 3), idx4 .3 → top: idx0 (.5), then idx4 (tie .3 with idx3 → higher index)
    expect(Array.from(selectSnapKV(attn, scale, token, 2, 3, 3, { recentRatio: 0, window: 1, poolKernel: 3 }))).toEqual([0, 4, 9]);
  });
});
