import { describe, expect, it } from "vitest";
import { headLabel, imageLabel, scaleLabel } from "../../src/lib/site/explorer/context.js";
import {
  detailCaption,
  detailTitle,
  gridlines,
  headFacts,
  legendLabel,
  resolveSchedule,
  scheduleNote,
  selectionLabel,
} from "../../src/lib/site/explorer/head-detail.js";
import { INDEX, LAY, PATCH_NUMS, row, state } from "./explorer-fixture.js";

const labels = {
  headLabel: (lh: number) => headLabel(lh, 2),
  imageLabel: (i: number) => imageLabel(INDEX, i),
  scaleLabel: (t: number) => scaleLabel(PATCH_NUMS, t),
};

describe("explorer head detail", () => {
  it("titles the locked head or the combination, the image, branch and query scale", () => {
    expect(detailTitle(state({ layer: 1, head: 0, image: 1, branch: "uncond" }), [2], labels)).toBe("L1·H0 · dog · seed 2 · uncond");
    expect(detailTitle(state({ agg: "max", scale: 1 }), [0, 3], labels)).toBe("max of L0·H0, L1·H1 · cat · seed 1 · cond · queries of scale 1 (2×2)");
    expect(selectionLabel(state({ agg: "mean" }), [1, 2], labels)).toBe("mean of L0·H1, L1·H0");
  });

  it("legend names the normalisation and the masked sink scales", () => {
    expect(legendLabel({ norm: "global", sink: false }, 3)).toBe("attention probability A[q, k] (global 0–1)");
    expect(legendLabel({ norm: "head", sink: true }, 3)).toBe(
      "attention probability A[q, k] (max of this view, scale-0 row excluded; hatched = sink scales 0–2 masked)",
    );
  });

  it("greys a schedule's drops only for a single locked head; passes the provider's error on", () => {
    const provider = (method: string, budget: number) =>
      method === "bad"
        ? { error: `no ${budget}` }
        : { label: `${method} @ ${budget}`, keep: (t: number, s: number, l: number, h: number) => !(s === 0 && l === 1 && h === 1) };
    expect(resolveSchedule(state({ cmp: "none" }), provider, 1)).toEqual({ view: null, error: "", dropped: null });
    const one = resolveSchedule(state({ cmp: "schedule", sched: "heatkv", budget: 30, layer: 1, head: 1 }), provider, 1);
    expect(one.view?.label).toBe("heatkv @ 30");
    expect(one.dropped?.(1, 0)).toBe(true);
    expect(one.dropped?.(1, 1)).toBe(false);
    expect(resolveSchedule(state({ cmp: "schedule", layer: 0, head: 0 }), provider, 1).dropped?.(1, 0)).toBe(false);
    expect(resolveSchedule(state({ cmp: "schedule" }), provider, 2).dropped).toBeNull();
    expect(resolveSchedule(state({ cmp: "schedule", sched: "bad", budget: 5 }), provider, 1)).toEqual({ view: null, error: "no 5", dropped: null });
    expect(resolveSchedule(state({ cmp: "schedule" }), undefined, 1).view).toBeNull();
  });

  it("kept-mass sentence and the head's facts", () => {
    expect(scheduleNote("heatkv @ 30", "L0·H0", 3.9, 5)).toContain("it keeps 78.0 % of this head's attention mass");
    expect(headFacts(row(0, 0, 0.5), true)).toMatch(/^refiner \(ScaleKV\) · structural \(HACK\) · share on current scale 0\.500 · /);
    expect(headFacts(row(0, 0, 0.5))).toMatch(/^refiner · structural · share on current scale 0\.500/);
  });

  it("gridlines at scale starts (rows only when every scale is shown); caption notes pooled grids", () => {
    expect(gridlines(LAY, -1, 5)).toEqual({ x: [0.2], y: [0.2] });
    expect(gridlines(LAY, 1, 5)).toEqual({ x: [0.2], y: [] });
    expect(gridlines(LAY, 0, 1)).toEqual({ x: [], y: [] });
    expect(detailCaption({ scale: 1 }, [1, 2], PATCH_NUMS, 5, labels)).toMatch(/^Rows: query tokens of scale 1 \(2×2\);/);
    expect(detailCaption({ scale: -1 }, [1, 1], PATCH_NUMS, 5, labels)).toContain("stored pooled to the grid 1,1");
    expect(detailCaption({ scale: -1 }, [1, 2], PATCH_NUMS, 800, labels)).toContain("max-pooled to 720 px per side.");
  });
});
