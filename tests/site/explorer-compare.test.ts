import { describe, expect, it } from "vitest";
import { compareTarget, SCHEDULE_BUDGETS_PERCENT } from "../../src/lib/site/explorer/compare.js";
import { state } from "./explorer-fixture.js";

describe("explorer compare", () => {
  it("another head: the picked head on the current image", () => {
    expect(compareTarget(state({ cmp: "head", image: 1, layer: 0, head: 0, cmpLayer: 1, cmpHead: 1, cmpImage: 0 }))).toEqual({
      hidden: false,
      image: 1,
      layer: 1,
      head: 1,
    });
  });

  it("another image: the locked head on the picked image", () => {
    expect(compareTarget(state({ cmp: "image", image: 0, layer: 1, head: 0, cmpLayer: 0, cmpHead: 1, cmpImage: 1 }))).toEqual({
      hidden: false,
      image: 1,
      layer: 1,
      head: 0,
    });
  });

  it("nothing or a schedule: the panel is hidden (a schedule greys the detail instead)", () => {
    expect(compareTarget(state({ cmp: "none" }))).toEqual({ hidden: true });
    expect(compareTarget(state({ cmp: "schedule" }))).toEqual({ hidden: true });
  });

  it("offers the default schedule budget of the URL state", () => {
    expect(SCHEDULE_BUDGETS_PERCENT).toContain(state().budget);
  });
});
