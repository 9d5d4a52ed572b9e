import { describe, expect, it } from "vitest";
import { type CellStat, headline } from "../../src/lib/metrics/sweep.js";
import { headlineRows, headlineText } from "../../src/lib/site/quality/headline.js";

const c = (label: string, method: string, ratio: number, mean: number, bytes: number): CellStat => ({
  label,
  method,
  ratio,
  mean,
  bytes,
  n: 8,
  infeasible: false,
});

describe("quality headline", () => {
  const cells = [
    c("h2o", "h2o", 0.2, 20, 4000),
    c("scalekv", "scalekv", 0.2, 21, 4000),
    c("heatkv", "heatkv", 0.1, 21.5, 2000),
    c("heatkv", "heatkv", 0.2, 23, 4000),
  ];

  it("names the best baseline at the reference budget and the rule", () => {
    const h = headline(cells, { higherIsBetter: true, referenceRatio: 0.2 });
    const text = headlineText(h, "psnr_db");
    expect(text).toMatch(/^PSNR: the best baseline at 20 % is scalekv with mean 21(\.0+)? \(/);
    expect(text).toMatch(/whose mean ≥ that:$/);
    expect(headlineText(h, "feature_distance")).toContain("whose mean ≤ that:");
  });

  it("one row per method: its smallest matching budget and its memory as a multiple of the baseline's", () => {
    const rows = headlineRows(headline(cells, { higherIsBetter: true, referenceRatio: 0.2 }));
    const heat = rows.find((r) => r.method === "heatkv")!;
    expect(heat).toMatchObject({ budget: "10 %", memory: "0.50×" });
    expect(rows.find((r) => r.method === "h2o")).toMatchObject({ budget: "not reached in the sweep", bytes: "—", mean: "—", memory: "—" });
  });

  it("no baseline at the reference budget", () => {
    expect(headlineText(headline(cells, { higherIsBetter: true, referenceRatio: 0.5 }), "ssim")).toBe("SSIM: no baseline was swept at 50 %.");
  });
});
