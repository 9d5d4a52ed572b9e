import { interpolateViridis, interpolateYlOrRd } from "d3";
import { describe, expect, it } from "vitest";
import { LOG8 } from "../../src/lib/metrics/heads.js";
import { partsToRedraw } from "../../src/lib/site/explorer.js";
import { colourPosition, lut, LUT_HEAT, lutCss, parseRgb } from "../../src/lib/site/explorer/colour.js";
import { combineMatrices, headLabel, headRowIndex, imageLabel, packedValue, scaleLabel, selectedHeads } from "../../src/lib/site/explorer/context.js";
import { INDEX, row } from "./explorer-fixture.js";

describe("explorer context", () => {
  it("labels heads, images and scales", () => {
    expect(headLabel(5, 4)).toBe("L1·H1");
    expect(imageLabel(INDEX, 1)).toBe("dog · seed 2");
    expect(scaleLabel([1, 2, 3], 2)).toBe("2 (3×3)");
    expect(selectedHeads({ layer: 1, head: 1, combine: [0, 2] }, 2)).toEqual([3, 0, 2]);
  });

  it("indexes an image's head rows by l·H + h", () => {
    const rows = [row(1, 0, 0.1), row(0, 1, 0.2), row(0, 0, 0.3, { branch: "uncond" }), row(0, 0, 0.4, { image: 1 })];
    const at = headRowIndex(rows, { numLayers: 2, numHeads: 2 });
    const cond0 = at(0, "cond");
    expect(cond0).toHaveLength(4);
    expect([cond0[0], cond0[1]?.historyShare, cond0[2]?.historyShare, cond0[3]]).toEqual([undefined, 0.2, 0.1, undefined]);
    expect(at(0, "uncond")[0].historyShare).toBe(0.3);
    expect(at(1, "cond")[0].historyShare).toBe(0.4);
  });

  it("combines heads: one stays codes, max of codes, mean of decoded values", () => {
    const a = Uint8Array.from([0, 100, 255]);
    const b = Uint8Array.from([50, 20, 200]);
    expect(combineMatrices([a], "mean")).toBe(a);
    expect(Array.from(combineMatrices([a, b], "max"))).toEqual([50, 100, 255]);
    const mean = combineMatrices([a, b], "mean");
    expect(mean).toBeInstanceOf(Float32Array);
    expect(mean[0]).toBeCloseTo(LOG8[50] / 2, 9);
    expect(mean[2]).toBeCloseTo((1 + LOG8[200]) / 2, 6);
    expect(packedValue(a, 2)).toBe(1);
    expect(packedValue(mean, 0)).toBe(mean[0]);
  });

  it("colour tables are d3's ramps byte for byte; positions on the log and linear scales", () => {
    expect(parseRgb("#21918c")).toEqual([0x21, 0x91, 0x8c]);
    expect(parseRgb("rgb(253, 137, 60)")).toEqual([253, 137, 60]);
    expect(() => parseRgb("red")).toThrow(/unexpected colour/);
    const v = lut(interpolateViridis);
    expect(Array.from(v.slice(0, 3))).toEqual(parseRgb(interpolateViridis(0)));
    expect(Array.from(v.slice(128 * 3, 129 * 3))).toEqual(parseRgb(interpolateViridis(128 / 255)));
    expect(lutCss(LUT_HEAT, 1)).toBe(`rgb(${parseRgb(interpolateYlOrRd(1)).join(",")})`);
    expect(colourPosition(0.5, 1, "linear")).toBe(0.5);
    expect(colourPosition(2, 1, "linear")).toBe(1);
    expect(colourPosition(1e-2, 1, "log")).toBeCloseTo(0.5, 12);
    expect(colourPosition(1e-5, 1, "log")).toBe(0);
    expect(colourPosition(0, 1, "log")).toBe(0);
  });

  it("a change redraws only the parts that depend on it; the first render draws everything", () => {
    expect([...partsToRedraw({ dir: "receives" })].sort()).toEqual(["compare", "detail", "pyramid", "pyramidControls"]);
    expect([...partsToRedraw({ budget: 20 })].sort()).toEqual(["detail", "detailControls"]);
    expect(partsToRedraw({}).size).toBe(7);
  });
});
