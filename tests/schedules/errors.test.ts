import { describe, expect, it } from "vitest";
import { ScheduleError, groupDigits, humanBytes, percent, shown } from "../../src/lib/schedules/errors.js";

describe("errors and formatting", () => {
  it("ScheduleError is one line naming source and field", () => {
    const e = new ScheduleError("schedule.json", "budget.ratio", "must be in (0, 1], got 1.5");
    expect(e.message).toBe('schedule.json: field "budget.ratio" must be in (0, 1], got 1.5');
    expect(e.field).toBe("budget.ratio");
    expect(e.name).toBe("ScheduleError");
  });
  it("locale-independent number formatting", () => {
    expect(groupDigits(1118208)).toBe("1,118,208");
    expect(groupDigits(-1234.5)).toBe("-1,234.5");
    expect(humanBytes(1118208)).toBe("1.07 MiB");
    expect(humanBytes(745472)).toBe("728 KiB");
    expect(humanBytes(512)).toBe("512 B");
    expect(percent(0.153846)).toBe("15.38%");
    expect(percent(0.1)).toBe("10%");
    expect(shown("x".repeat(100)).length).toBe(60);
    expect(shown(Number.NaN)).toBe("NaN");
  });
});
