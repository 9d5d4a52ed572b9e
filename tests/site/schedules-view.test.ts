// @vitest-environment jsdom
/** Schedule builder views (src/lib/site/schedules.ts): the bytes table's caption states the units it counts in. */
import { describe, expect, it } from "vitest";
import { bytesTable, bytesUnit } from "../../src/lib/site/schedules.js";
import { fullCacheBytes } from "../../src/lib/schedules/budget.js";
import { buildSchedule } from "../../src/lib/schedules/registry.js";
import { demoConfig, demoLowRank } from "../schedules/helpers.js";

const demo = demoConfig();
const lowRank = demoLowRank();

describe("bytesTable", () => {
  it("caption and numbers follow the budget's bytes per element (fp16 budgets were captioned fp32)", () => {
    for (const [bpe, unit] of [
      [4, "fp32"],
      [2, "fp16"],
    ] as const) {
      const s = buildSchedule("recalkv", demo, "50%", { lowRank, bytesPerElement: bpe, params: { sigma: 0 } });
      const t = bytesTable(s, demo);
      expect(t.querySelector("caption")?.textContent).toBe(`recalkv @ 50 %: bytes per target scale (${unit}, both CFG rows)`);
      // last row: the full cache at that precision, the r50 latents half of it
      const cells = [...t.querySelectorAll("tbody tr")].at(-1)?.querySelectorAll("td") ?? [];
      expect(cells[4].textContent).toBe(`${(fullCacheBytes(demo, bpe) / 1024).toFixed(1)} KiB`);
      expect(cells[2].textContent).toBe(`${(fullCacheBytes(demo, bpe) / 2 / 1024).toFixed(1)} KiB`);
    }
    expect(bytesUnit({ bytesPerElement: 2, rows: 1 })).toBe("fp16, 1 row");
  });
});
