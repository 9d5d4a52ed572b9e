import { describe, expect, it } from "vitest";
import type { Cell } from "../../src/lib/site/quality/cells.js";
import { chartData } from "../../src/lib/site/quality/chart.js";

const cell = (label: string, method: string, ratio: number, bytes: number, over: Partial<Cell> = {}): Cell => ({
  label,
  method,
  ratio,
  bytes,
  n: 8,
  mean: 20,
  infeasible: false,
  sd: 1,
  lo: 19,
  hi: 21,
  predicted: bytes,
  bytesMatch: true,
  identical: 0,
  fdEmoji: null,
  accuracy: null,
  ms: 1,
  message: null,
  ...over,
});

describe("quality chart data", () => {
  const cells = [
    cell("full", "full", 1, 10240),
    cell("heatkv:sigma=1", "heatkv", 0.2, 2048),
    cell("heatkv", "heatkv", 0.2, 3072),
    cell("heatkv", "heatkv", 0.1, 1024),
    cell("h2o", "h2o", 0.1, 2048, { infeasible: true }),
    cell("h2o", "h2o", 0.2, 1024, { mean: Number.NaN }),
  ];

  it("points: feasible compressed cells with a mean, by label (code point) then bytes; the reference apart", () => {
    const d = chartData(cells);
    expect(d.points.map((p) => `${p.label}@${p.kib}`)).toEqual(["heatkv@1", "heatkv@3", "heatkv:sigma=1@2"]);
    expect(d.full?.label).toBe("full");
    expect(d.labels).toEqual(["heatkv", "heatkv:sigma=1"]);
  });

  it("one budget mark per swept budget at the mean KiB of the methods shown", () => {
    expect(chartData(cells).budgetMarks).toEqual([
      { kib: 1, text: "10 %" },
      { kib: 2.5, text: "20 %" },
    ]);
  });

  it("the reference method is the registry's (a caller may name another)", () => {
    expect(chartData(cells, []).points.map((p) => p.label)).toContain("full");
    expect(chartData(cells, []).full).toBeUndefined();
  });
});
