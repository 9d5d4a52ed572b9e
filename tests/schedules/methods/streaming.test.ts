import { describe, expect, it } from "vitest";
import { buildSchedule } from "../../../src/lib/schedules/registry.js";
import { TINY, keepLists } from "../helpers.js";

describe("streaming", () => {
  // TINY: n = 1,4,9,16; C_max = 14; N = 4
  it("sinks + the most recent whole scales that fit the per-head budget", () => {
    // 50 %: 28 entries → 7 per head: t=2 keeps {0,1} (5), t=3: scale 2 (9) does not fit after the sink → {0}
    expect(keepLists(buildSchedule("streaming", TINY, "50%", { params: { sinkScales: 1 } })).map((t) => t[0])).toEqual([[], [0], [0, 1], [0]]);
    // 80 %: 44 → 11 per head: t=3 keeps sink 0 + scale 2 (1 + 9), scale 1 no longer fits
    expect(keepLists(buildSchedule("streaming", TINY, "80%", { params: { sinkScales: 1 } })).map((t) => t[0])).toEqual([[], [0], [0, 1], [0, 2]]);
    // default 2 sink scales at 80 %: {0,1} then scale 2 would need 14 > 11
    const d = buildSchedule("streaming", TINY, "80%");
    expect(keepLists(d).map((t) => t[3])).toEqual([[], [0], [0, 1], [0, 1]]);
    expect(d.details).toMatchObject({ perHeadTokens: 11, sinkTokens: 5 });
  });
  it("budgets below the sinks are infeasible, with the minimum", () => {
    expect(() => buildSchedule("streaming", TINY, "30%")).toThrow(
      'schedule: field "budget" 30% is infeasible for streaming with sinkScales = 2: the sinks hold 5 of C_max = 14 tokens per head; the minimum feasible budget is 35.72% (or fewer sink scales)',
    );
    expect(() => buildSchedule("streaming", TINY, "50%", { params: { sinkScales: 4 } })).toThrow(
      'schedule: field "params.sinkScales" must be in [0, 3] (the model caches 3 scales), got 4',
    );
  });
});
