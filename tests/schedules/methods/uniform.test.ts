import { describe, expect, it } from "vitest";
import { buildSchedule } from "../../../src/lib/schedules/registry.js";
import { TINY } from "../helpers.js";

describe("uniform", () => {
  // TINY: C_t = 0,1,5,14; N = 4; C_max = 14
  it("50 %: 28 entries → nothing dropped until scale 3, then 7 per head; rule recent", () => {
    const s = buildSchedule("uniform", TINY, "50%");
    if (s.kind !== "dynamic") throw new Error("dynamic expected");
    expect(Array.from(s.counts)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 5, 5, 5, 5, 7, 7, 7, 7]);
    expect(s.rules).toEqual(["recent", "recent", "recent", "recent"]);
  });
  it("35 %: 19.6 → 19 entries; remainder to the lowest heads", () => {
    const s = buildSchedule("uniform", TINY, "35%");
    if (s.kind !== "dynamic") throw new Error("dynamic expected");
    expect(Array.from(s.counts.slice(8))).toEqual([5, 5, 5, 4, 5, 5, 5, 4]);
  });
});
