import { describe, expect, it } from "vitest";
import { RECOMPUTE_TARGET_MS, benchScheduleRecompute } from "../../src/lib/schedules/bench.js";
import { METHOD_NAMES } from "../../src/lib/schedules/registry.js";
import { demoConfig } from "./helpers.js";

describe("benchScheduleRecompute", () => {
  it("times every method (heatkv also strict) on the demo and an Infinity-2B-shaped config", () => {
    const rows = benchScheduleRecompute(demoConfig(), { repeats: 3 });
    expect(rows).toHaveLength(2 * (METHOD_NAMES.length + 1));
    expect(new Set(rows.map((r) => r.config)).size).toBe(2);
    for (const r of rows) {
      expect(Number.isFinite(r.ms) && Number.isFinite(r.coldMs)).toBe(true);
      // generous bound so a loaded CI machine does not flake; `npm run bench` reports the real numbers
      expect(r.ms, `${r.config} ${r.method}`).toBeLessThan(RECOMPUTE_TARGET_MS * 5);
    }
  });
});
