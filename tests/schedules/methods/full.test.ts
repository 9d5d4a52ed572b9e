import { describe, expect, it } from "vitest";
import { buildSchedule } from "../../../src/lib/schedules/registry.js";
import { keptTotals } from "../../../src/lib/schedules/schedule.js";
import { TINY, keepLists } from "../helpers.js";

describe("full", () => {
  it("keeps every cached scale and always records a 100 % budget", () => {
    const s = buildSchedule("full", TINY, "10%");
    expect(s.budget.ratio).toBe(1);
    expect(keepLists(s).map((t) => t[0])).toEqual([[], [0], [0, 1], [0, 1, 2]]);
    expect(keptTotals(s)).toEqual([0, 4, 20, 56]);
  });
});
