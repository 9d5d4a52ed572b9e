import { describe, expect, it } from "vitest";
import { headLabel, scaleLabel } from "../../src/lib/site/explorer/context.js";
import { overlayAlpha, pyramidInfo, pyramidOverlay, pyramidSizePx, pyramidTokenAt, rgbToRgba } from "../../src/lib/site/explorer/pyramid.js";
import { ATTENTION, LAY, PATCH_NUMS, packed, state } from "./explorer-fixture.js";

const grid = PATCH_NUMS;
const labels = { headLabel: (lh: number) => headLabel(lh, 2), scaleLabel: (t: number) => scaleLabel(PATCH_NUMS, t) };

describe("explorer pyramid", () => {
  it("maps a click on a scale's image to its token (clamped to the grid)", () => {
    expect(pyramidTokenAt(LAY, grid, 1, 0.2, 0.9)).toBe(3);
    expect(pyramidTokenAt(LAY, grid, 1, 1, 1)).toBe(4);
    expect(pyramidTokenAt(LAY, grid, 0, 0.7, 0.7)).toBe(0);
  });

  it("gives: the token's row over its own and earlier scales, one normalisation for all", () => {
    const o = pyramidOverlay(packed(ATTENTION), LAY, grid, 3, "gives");
    expect(o.tokenScale).toBe(1);
    expect(o.gmax).toBeCloseTo(0.4, 6);
    expect(Array.from(o.scales[0]!.values)).toEqual([Math.fround(0.3)]);
    expect(Array.from(o.scales[1]!.values).map((v) => +v.toFixed(6))).toEqual([0.1, 0.1, 0.4, 0.1]);
    expect(o.scales[1]!.sum).toBeCloseTo(0.7, 6);
    expect(o.sums).toEqual(["scale 0: Σ 0.300", "scale 1: Σ 0.700"]);
  });

  it("receives: the token's column over its own and later scales; nothing drawn before it", () => {
    const o = pyramidOverlay(packed(ATTENTION), LAY, grid, 0, "receives");
    expect(o.gmax).toBeCloseTo(1, 6);
    expect(o.scales[1]!.sum).toBeCloseTo(1.1, 6);
    expect(o.sums[1]).toBe("scale 1: mean over queries 0.2750");
    expect(pyramidOverlay(packed(ATTENTION), LAY, grid, 3, "receives").scales[0]).toBeNull();
    expect(pyramidOverlay(packed(ATTENTION), LAY, grid, 0, "gives").scales[1]).toBeNull();
  });

  it("no token or no matrix: no overlay", () => {
    expect(pyramidOverlay(packed(ATTENTION), LAY, grid, -1, "gives").scales).toEqual([null, null]);
    expect(pyramidOverlay(null, LAY, grid, 3, "gives")).toMatchObject({ gmax: 0, scales: [null, null] });
  });

  it("opacity √(value / gmax), the sentence names the token and the heads", () => {
    expect(overlayAlpha(0.1, 0.4)).toBeCloseTo(0.425, 12);
    expect(overlayAlpha(0.1, 0)).toBe(0);
    const s = state({ patch: 3, agg: "max" });
    const o = pyramidOverlay(packed(ATTENTION), LAY, grid, 3, "gives");
    expect(pyramidInfo(s, [0, 3], o, LAY, grid, labels)).toMatch(
      /^Attention given by token \(row 1, col 0\) of scale 1 \(2×2\) in max of L0·H0, L1·H1; red opacity = √\(value \/ largest value on any scale\): 0\.400\. scale 0: Σ 0\.300 · scale 1: Σ 0\.700$/,
    );
    expect(pyramidInfo(state(), [0], o, LAY, grid, labels)).toBe("Click a token (cell) on any scale to see where its attention goes.");
  });

  it("sizes and pixels", () => {
    expect(pyramidSizePx(2, 900)).toBe(120);
    expect(pyramidSizePx(10, 900)).toBe(80);
    expect(pyramidSizePx(30, 900)).toBe(72);
    expect(Array.from(rgbToRgba(Uint8Array.from([1, 2, 3, 4, 5, 6]), 1))).toEqual([1, 2, 3, 255]);
  });
});
