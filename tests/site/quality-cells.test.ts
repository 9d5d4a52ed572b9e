import { describe, expect, it } from "vitest";
import { byCodePoint, type CellRow, cellsSql, pct, toCells } from "../../src/lib/site/quality/cells.js";

const row = (over: Partial<CellRow>): CellRow => ({
  label: "heatkv",
  method: "heatkv",
  budget_ratio: 0.2,
  n: 4,
  mean: 20,
  sd: 2,
  bytes: 1000,
  predicted: 1000,
  bytes_match: true,
  identical: 0.25,
  fd_emoji: 1.5,
  accuracy: 0.5,
  ms: 12,
  infeasible: false,
  message: null,
  ...over,
});

describe("quality cells", () => {
  it("per-image metrics get a 95 % t-interval from n, mean and sd", () => {
    const [c] = toCells([row({})], "psnr_db");
    // t(0.975, 3) = 3.182446; half width = t · sd / √n
    expect(c.hi - c.mean).toBeCloseTo((3.182446 * 2) / 2, 4);
    expect(c.mean - c.lo).toBeCloseTo(c.hi - c.mean, 12);
    expect(c).toMatchObject({ label: "heatkv", ratio: 0.2, n: 4, bytes: 1000, bytesMatch: true, identical: 0.25, ms: 12 });
  });

  it("set-level metrics have no interval; missing numbers are NaN", () => {
    const [c] = toCells([row({})], "fd_emoji"); // even with an sd, a set-level value has no interval
    expect(c.lo).toBeNaN();
    expect(c.hi).toBeNaN();
    const [d] = toCells([row({ mean: null, bytes: null, infeasible: true, n: 0 })], "psnr_db");
    expect(d.mean).toBeNaN();
    expect(d.bytes).toBeNaN();
    expect(d.infeasible).toBe(true);
  });

  it("SQL: avg and sd per image, any_value for set-level metrics; unknown metrics rejected", () => {
    expect(cellsSql("ssim")).toContain("avg(ssim) AS mean, stddev_samp(ssim) AS sd");
    expect(cellsSql("class_accuracy")).toContain("any_value(class_accuracy) AS mean, NULL::DOUBLE AS sd");
    expect(() => cellsSql("nope")).toThrow(/unknown metric/);
  });

  it("orders labels by code point (as DuckDB) and prints budgets as percentages", () => {
    expect(["heatkv:sigma=1", "heatkv+recalkv", "heatkv"].sort(byCodePoint)).toEqual(["heatkv", "heatkv+recalkv", "heatkv:sigma=1"]);
    expect(pct(0.2)).toBe("20 %");
    expect(pct(0.125)).toBe("12.5 %");
  });
});
