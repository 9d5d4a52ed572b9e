import { describe, expect, it } from "vitest";
import * as api from "../../src/lib/schedules/index.js";

describe("public API (src/lib/schedules/index.ts)", () => {
  it("exports the functions other parts call", () => {
    for (const name of [
      "parseBudget", "describeDenominator", "fullCacheBytes", "budgetTokenLimit",
      "buildSchedule", "listMethods", "getMethod", "METHOD_NAMES",
      "keptTokens", "keptTotals", "predictedBytes", "scheduleToPolicy", "checkScheduleModel",
      "exportSchedule", "importSchedule", "parseScheduleJson", "stringifySchedule", "referenceOrders", "stringifyReferenceOrders",
      "computeScas", "scasFromMass", "meanMass", "statsFromPromptMasses", "checkStats",
      "heatkvMinRatio", "heatkvPruneCounts", "syntheticStats", "INFINITY_2B_MODEL", "benchScheduleRecompute", "ScheduleError",
    ]) {
      expect(api, name).toHaveProperty(name);
    }
  });
});
