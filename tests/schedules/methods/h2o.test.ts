import { describe, expect, it } from "vitest";
import { buildSchedule } from "../../../src/lib/schedules/registry.js";
import { TINY } from "../helpers.js";

describe("h2o", () => {
  it("even counts, rule h2o, recentRatio passed to the scorer (default 0.5)", () => {
    const s = buildSchedule("h2o", TINY, "50%");
    if (s.kind !== "dynamic") throw new Error("dynamic expected");
    expect(Array.from(s.counts.slice(12))).toEqual([7, 7, 7, 7]);
    expect(s.rules.every((r) => r === "h2o")).toBe(true);
    expect(s.scorer.recentRatio).toBe(0.5);
    const t = buildSchedule("h2o", TINY, "50%", { params: { recentRatio: 0.25 } });
    expect(t.kind === "dynamic" && t.scorer.recentRatio).toBe(0.25);
    expect(() => buildSchedule("h2o", TINY, "50%", { params: { recentRatio: 2 } })).toThrow(
      'schedule: field "params.recentRatio" must be a number in [0, 1], got 2',
    );
  });
});
