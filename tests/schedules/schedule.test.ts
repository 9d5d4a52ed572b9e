import { describe, expect, it } from "vitest";
import { buildSchedule } from "../../src/lib/schedules/registry.js";
import {
  type DynamicSchedule,
  type StaticSchedule,
  checkScheduleSemantics,
  keptTokens,
  keptTotals,
  maskScales,
  maskTokens,
  predictedBytes,
  scalesMask,
} from "../../src/lib/schedules/schedule.js";
import { TINY } from "./helpers.js";

describe("masks", () => {
  it("scale lists ⇄ bit masks, tokens of a mask", () => {
    expect(scalesMask([0, 2])).toBe(5);
    expect(maskScales(5)).toEqual([0, 2]);
    expect(maskTokens(5, [1, 4, 9, 16])).toBe(10);
  });
});

describe("keptTokens / predictedBytes", () => {
  it("static: Σ n_s of kept scales per (target, head); bytes = tokens · 2 · d · bytes/elem · rows", () => {
    const s = buildSchedule("full", TINY, "100%");
    expect(keptTokens(s)).toEqual([
      [0, 0, 0, 0],
      [1, 1, 1, 1],
      [5, 5, 5, 5],
      [14, 14, 14, 14],
    ]);
    // d = 2: 2 · 2 · 4 · 2 = 32 B per entry
    expect(predictedBytes(s)).toEqual({ perScale: [0, 128, 640, 1792], peak: 1792 });
    expect(predictedBytes(s, 1, 2).peak).toBe(1792 / 4);
  });
  it("dynamic: the counts", () => {
    const s = buildSchedule("uniform", TINY, "50%");
    expect(keptTotals(s)).toEqual([0, 4, 20, 28]);
    expect(predictedBytes(s).perScale).toEqual([0, 128, 640, 896]);
  });
});

describe("checkScheduleSemantics", () => {
  const st = () => buildSchedule("full", TINY, "100%") as StaticSchedule;
  const dy = () => buildSchedule("uniform", TINY, "50%") as DynamicSchedule;
  it("static: no source ≥ target, nothing re-added, within budget", () => {
    const a = st();
    a.keep[1 * 4 + 2] = 0b11;
    expect(() => checkScheduleSemantics(a)).toThrow(
      'schedule: field "targets[0] (scale 1), layer 1, head 0" keeps source scale 1 ≥ target 1 (only scales 0..0 are cached)',
    );
    const b = st();
    b.keep[2 * 4 + 0] = 0b10; // drops scale 0 entering scale 2 …
    expect(() => checkScheduleSemantics(b)).toThrow(/targets\[2\] \(scale 3\), layer 0, head 0" re-adds source scale 0 dropped before scale 2/);
    const c = st();
    c.budget = buildSchedule("uniform", TINY, "50%").budget;
    expect(() => checkScheduleSemantics(c)).toThrow(
      'schedule: field "targets[2]" keeps 56 entries entering scale 3, over the budget of 28.00 (50% of 4·14 token slots)',
    );
  });
  it("dynamic: counts within what exists, valid rules and scorer", () => {
    const a = dy();
    a.counts[3 * 4 + 1] = 20;
    expect(() => checkScheduleSemantics(a)).toThrow(/layer 0, head 1" count 20 exceeds the 14 entries that can exist \(kept 5 \+ 9 new\)/);
    const b = dy();
    b.counts[2 * 4] = -1;
    expect(() => checkScheduleSemantics(b)).toThrow(/count must be ≥ 0, got -1/);
    const c = dy();
    c.rules[3] = "magic" as "recent";
    expect(() => checkScheduleSemantics(c)).toThrow('schedule: field "rules[1][1]" must be one of "recent", "h2o", "snapkv", got "magic"');
    const d = dy();
    d.scorer = { ...d.scorer, poolKernel: 2 };
    expect(() => checkScheduleSemantics(d)).toThrow('schedule: field "scorer.poolKernel" must be an odd integer ≥ 1, got 2');
    const e = dy();
    e.counts = new Int32Array(3);
    expect(() => checkScheduleSemantics(e)).toThrow('schedule: field "counts" must hold K·L·H = 16 counts, got 3');
  });
});
