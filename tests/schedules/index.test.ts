import { describe, expect, it } from "vitest";
import * as enforce from "../../src/lib/enforce/index.js";
import * as api from "../../src/lib/schedules/index.js";

describe("public API (src/lib/schedules/index.ts)", () => {
  it("exports the functions other parts call", () => {
    for (const name of [
      "parseBudget",
      "describeDenominator",
      "fullCacheBytes",
      "budgetTokenLimit",
      "buildSchedule",
      "listMethods",
      "getMethod",
      "METHOD_NAMES",
      "keptTokens",
      "keptTotals",
      "predictedBytes",
      "checkScheduleModel",
      "exportSchedule",
      "importSchedule",
      "parseScheduleJson",
      "stringifySchedule",
      "referenceOrders",
      "stringifyReferenceOrders",
      "computeScas",
      "scasFromMass",
      "meanMass",
      "statsFromPromptMasses",
      "checkStats",
      "heatkvMinRatio",
      "heatkvPruneCounts",
      "syntheticStats",
      "INFINITY_2B_MODEL",
      "benchScheduleRecompute",
      "ScheduleError",
    ]) {
      expect(api, name).toHaveProperty(name);
    }
  });

  it("the policy that enforces a schedule lives in src/lib/enforce (not in the schedule library)", () => {
    expect(enforce).toHaveProperty("scheduleToPolicy");
    expect(api).not.toHaveProperty("scheduleToPolicy");
  });
});
