import { describe, expect, it } from "vitest";
import type { Cell } from "../../src/lib/site/quality/cells.js";
import { cellRows, infeasibleLines, tuneRows } from "../../src/lib/site/quality/table.js";

const cell = (over: Partial<Cell>): Cell => ({
  label: "heatkv",
  method: "heatkv",
  ratio: 0.2,
  bytes: 2048,
  n: 8,
  mean: 20.123456,
  infeasible: false,
  sd: 1,
  lo: 19.5,
  hi: 20.75,
  predicted: 2048,
  bytesMatch: true,
  identical: 0.125,
  fdEmoji: 1.5,
  accuracy: 0.875,
  ms: 12.5,
  message: null,
  ...over,
});

describe("quality tables", () => {
  it("a feasible cell: bytes checked against the prediction, mean ± half the interval", () => {
    const [r] = cellRows([cell({})]);
    expect(r).toMatchObject({ method: "heatkv", budget: "20 %", n: 8, identical: "13 %", acc: "87.5 %" });
    expect(r.bytes).toMatch(/ ✓$/);
    expect(r.value).toBe("20.12 ± 0.6250");
    expect(cellRows([cell({ bytesMatch: false })])[0].bytes).toMatch(/ ≠ predicted$/);
  });

  it("infeasible cells show dashes in the table and their message below it; rows by label then budget", () => {
    const cells = [
      cell({ label: "h2o", ratio: 0.1, infeasible: true, message: "below the floor" }),
      cell({ ratio: 0.1 }),
      cell({ ratio: 0.05, infeasible: true }),
    ];
    const rows = cellRows(cells);
    expect(rows.map((r) => `${r.method} ${r.budget}`)).toEqual(["h2o 10 %", "heatkv 5 %", "heatkv 10 %"]);
    expect(rows[0]).toMatchObject({ bytes: "—", value: "infeasible (below)", identical: "—", ms: "—" });
    expect(infeasibleLines(cells)).toEqual(["h2o @ 10 %: below the floor", "heatkv @ 5 %: infeasible"]);
  });

  it("set-level metrics without an interval, missing set metrics as dashes", () => {
    expect(cellRows([cell({ lo: Number.NaN, hi: Number.NaN, fdEmoji: null, accuracy: null })])[0]).toMatchObject({ fd: "—", acc: "—" });
    expect(cellRows([cell({ lo: Number.NaN, hi: Number.NaN })])[0].value).not.toContain("±");
  });

  it("tune rows: the smallest budget reaching the target, or not reached", () => {
    expect(
      tuneRows([
        { label: "heatkv", cell: cell({ ratio: 0.1, mean: 18.5 }) },
        { label: "h2o", cell: null },
      ]),
    ).toEqual([
      { method: "heatkv", budget: "10 %", bytes: expect.stringMatching(/KiB|B/), mean: expect.stringMatching(/^18\.5/) },
      { method: "h2o", budget: "not reached in the sweep", bytes: "—", mean: "—" },
    ]);
  });
});
