import { describe, expect, it } from "vitest";
import { LUT_VIRIDIS } from "../../src/lib/site/explorer/colour.js";
import { headAt, metricRange, overviewCellPx, overviewModel, overviewOrder, thumbnailPixels } from "../../src/lib/site/explorer/overview.js";
import { DIMS, row, state } from "./explorer-fixture.js";

// heads l·H + h = 0..3 with historyShare 0.2, 0.9, 0.5, 0.9
const rows = [row(0, 0, 0.2), row(0, 1, 0.9), row(1, 0, 0.5), row(1, 1, 0.9)];

describe("explorer overview", () => {
  it("orders heads by the metric, highest first, ties by index; grid order unsorted", () => {
    expect(overviewOrder(rows, "historyShare", true, 4)).toEqual([1, 3, 2, 0]);
    expect(overviewOrder(rows, "historyShare", false, 4)).toEqual([0, 1, 2, 3]);
    // a head without a row sorts last
    expect(overviewOrder([rows[0], undefined!, rows[2], rows[3]], "historyShare", true, 4)).toEqual([3, 2, 0, 1]);
  });

  it("places cells in drawing order and colours the band by the metric's position in its range", () => {
    const m = overviewModel(state({ sort: true, metric: "historyShare" }), rows, DIMS, { widthPx: 900, imageLabel: "cat · seed 1" });
    expect(metricRange(rows, "historyShare")).toEqual([0.2, 0.9]);
    const { cellPx } = overviewCellPx(2, 900);
    expect(cellPx).toBe(72);
    expect(m.widthPx).toBe(2 * 72);
    const byHead = Object.fromEntries(m.cells.map((c) => [c.lh, c]));
    expect(byHead[1]).toMatchObject({ x: 0, y: 0, label: "L0·H1", band: 1, lightLabel: true });
    expect(byHead[3]).toMatchObject({ x: 72, y: 0 });
    expect(byHead[2]).toMatchObject({ x: 0, y: 72, label: "L1·H0", lightLabel: false });
    expect(byHead[2].band).toBeCloseTo(0.3 / 0.7, 12);
    expect(byHead[0]).toMatchObject({ x: 72, y: 72, band: 0 });
    expect(m.caption).toContain("Heads sorted by share on earlier scales");
    expect(m.caption).toContain("cat · seed 1, cond.");
  });

  it("rings the locked head red and the combined heads blue", () => {
    const m = overviewModel(state({ layer: 1, head: 0, combine: [3] }), rows, DIMS, { imageLabel: "x" });
    expect(m.cells.map((c) => c.ring)).toEqual([null, null, "locked", "combined"]);
  });

  it("a uniform metric gives every band the middle colour", () => {
    const flat = [row(0, 0, 0.4), row(0, 1, 0.4)];
    const m = overviewModel(state(), flat, DIMS, { imageLabel: "x" });
    expect(m.cells.map((c) => c.band)).toEqual([0.5, 0.5]);
  });

  it("finds the head under a point in the drawn (sorted) order, null outside the grid", () => {
    const order = [1, 3, 2, 0];
    expect(headAt(order, DIMS, 72, 10, 10)).toBe(1);
    expect(headAt(order, DIMS, 72, 80, 10)).toBe(3);
    expect(headAt(order, DIMS, 72, 80, 100)).toBe(0);
    expect(headAt(order, DIMS, 72, 150, 10)).toBeNull();
    expect(headAt(order, DIMS, 72, -1, 10)).toBeNull();
  });

  it("thumbnails: lower triangle opaque with the colour of √mass, upper triangle transparent", () => {
    const K = 2;
    const px = thumbnailPixels([row(0, 0, 0, { mass: Float64Array.from([1, 0, 0.25, 0.75]) })], K, 2);
    const at = (x: number, y: number) => Array.from(px.slice((y * K * 2 + x) * 4, (y * K * 2 + x) * 4 + 4));
    const viridis = (v: number) => Array.from(LUT_VIRIDIS.slice(Math.round(v * 255) * 3, Math.round(v * 255) * 3 + 3));
    expect(at(0, 0)).toEqual([...viridis(1), 255]);
    expect(at(1, 0)).toEqual([0, 0, 0, 0]); // t = 0 cannot see s = 1
    expect(at(0, 1)).toEqual([...viridis(0.5), 255]); // √0.25
    expect(at(2, 0)).toEqual([0, 0, 0, 0]); // head 1 has no row
  });
});
