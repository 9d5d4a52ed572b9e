// The sweep's aggregation math (src/lib/metrics/sweep.ts) on known inputs: t-intervals, the headline rule,
// the cell summaries and the quality page's tune-to-target pick. The sweep job itself: tests/jobs/sweep.test.ts.
import { describe, expect, it } from "vitest";
import { type CellStat, ciFromMoments, headline, meanCI, smallestMeeting, summarizeCells, tCdf, tQuantile } from "../../src/lib/metrics/sweep.js";

describe("Student t and mean ± CI", () => {
  it("matches tabulated t quantiles", () => {
    expect(tQuantile(0.975, 1)).toBeCloseTo(12.7062, 3);
    expect(tQuantile(0.975, 4)).toBeCloseTo(2.7764, 4);
    expect(tQuantile(0.975, 10)).toBeCloseTo(2.2281, 4);
    expect(tQuantile(0.975, 30)).toBeCloseTo(2.0423, 4);
    expect(tQuantile(0.995, 20)).toBeCloseTo(2.8453, 4);
    expect(tQuantile(0.975, 1e7)).toBeCloseTo(1.96, 2);
    expect(tQuantile(0.025, 10)).toBeCloseTo(-2.2281, 4);
    expect(tCdf(0, 5)).toBeCloseTo(0.5, 12);
    expect(() => tQuantile(1, 3)).toThrow(/p must be/);
  });

  it("mean ± 95 % CI of 1..5 = 3 ± 2.7764·√2.5/√5", () => {
    const ci = meanCI([1, 2, 3, 4, 5]);
    expect(ci.n).toBe(5);
    expect(ci.mean).toBe(3);
    expect(ci.sd).toBeCloseTo(Math.sqrt(2.5), 12);
    expect(ci.half).toBeCloseTo((2.776445 * Math.sqrt(2.5)) / Math.sqrt(5), 5);
    expect(ci.lo).toBeCloseTo(3 - ci.half, 12);
    expect(ci.hi).toBeCloseTo(3 + ci.half, 12);
    const m = ciFromMoments(5, 3, Math.sqrt(2.5));
    expect(m.half).toBeCloseTo(ci.half, 12);
  });

  it("ignores non-finite values; one value has no interval; none has no mean", () => {
    expect(meanCI([2, Number.NaN, 4, Number.POSITIVE_INFINITY]).mean).toBe(3);
    const one = meanCI([7]);
    expect(one.mean).toBe(7);
    expect(one.half).toBeNaN();
    expect(meanCI([]).mean).toBeNaN();
  });
});

const cell = (label: string, ratio: number, mean: number, bytes: number, extra: Partial<CellStat> = {}): CellStat => ({
  label,
  method: label.split(":")[0],
  ratio,
  n: 10,
  mean,
  bytes,
  ...extra,
});

describe("headline rule", () => {
  const cells: CellStat[] = [
    cell("full", 1, 100, 1000),
    cell("scalekv", 0.1, 22, 100),
    cell("scalekv", 0.2, 25, 200),
    cell("uniform", 0.2, 24, 200),
    cell("uniform", 0.5, 26, 500),
    cell("heatkv", 0.05, 0, 0, { infeasible: true, n: 0 }),
    cell("heatkv", 0.1, 25.1, 100),
    cell("heatkv", 0.2, 26, 200),
    cell("heatkv:sigma=1", 0.05, 24.9, 50),
    cell("heatkv:sigma=1", 0.2, 25, 195),
    cell("pyramid", 0.2, 20, 200),
  ];

  it("takes the best baseline at 20 % and finds each method's smallest matching budget", () => {
    const h = headline(cells, { higherIsBetter: true });
    expect(h.reference?.label).toBe("scalekv");
    expect(h.target).toBe(25);
    const by = Object.fromEntries(h.rows.map((r) => [r.label, r]));
    expect(Object.keys(by).sort()).toEqual(["heatkv", "heatkv:sigma=1", "pyramid", "scalekv", "uniform"]);
    expect(by.heatkv).toMatchObject({ ratio: 0.1, mean: 25.1, bytes: 100, memoryRatio: 0.5 });
    expect(by["heatkv:sigma=1"]).toMatchObject({ ratio: 0.2, memoryRatio: 195 / 200 }); // 24.9 < 25 at 5 %
    expect(by.scalekv).toMatchObject({ ratio: 0.2, memoryRatio: 1 });
    expect(by.uniform).toMatchObject({ ratio: 0.5, memoryRatio: 2.5 });
    expect(by.pyramid).toMatchObject({ ratio: null, bytes: null, memoryRatio: null });
  });

  it("lower-is-better metrics use the lowest baseline and ≤", () => {
    const fd = [cell("scalekv", 0.2, 0.1, 200), cell("uniform", 0.2, 0.3, 200), cell("heatkv", 0.1, 0.1, 100), cell("heatkv", 0.05, 0.2, 50)];
    const h = headline(fd, { higherIsBetter: false });
    expect(h.reference?.label).toBe("scalekv");
    expect(h.rows.find((r) => r.label === "heatkv")).toMatchObject({ ratio: 0.1, memoryRatio: 0.5 });
  });

  it("has no target when no baseline ran at the reference budget", () => {
    const h = headline([cell("heatkv", 0.1, 25, 100), cell("uniform", 0.3, 25, 300)], { higherIsBetter: true });
    expect(h.reference).toBeNull();
    expect(h.rows.every((r) => r.ratio === null)).toBe(true);
    expect(headline([cell("uniform", 0.3, 25, 300)], { higherIsBetter: true, referenceRatio: 0.3 }).target).toBe(25);
  });

  it("summarizeCells groups per (label, budget) and skips infeasible rows", () => {
    const rows = [
      { label: "a", method: "a", budget_ratio: 0.1, v: 1, measured_peak_bytes: 10 },
      { label: "a", method: "a", budget_ratio: 0.1, v: 3, measured_peak_bytes: 10 },
      { label: "a", method: "a", budget_ratio: 0.2, v: 5, measured_peak_bytes: 20 },
      { label: "b", method: "b", budget_ratio: 0.1, v: Number.NaN, infeasible: true, measured_peak_bytes: null },
    ];
    const s = summarizeCells(rows, "v");
    expect(s.map((c) => [c.label, c.ratio, c.n, c.mean, c.bytes, c.infeasible])).toEqual([
      ["a", 0.1, 2, 2, 10, false],
      ["a", 0.2, 1, 5, 20, false],
      ["b", 0.1, 0, Number.NaN, Number.NaN, true],
    ]);
    expect(s[0].ci.half).toBeCloseTo((12.7062 * Math.SQRT2) / Math.SQRT2, 3);
  });
});

describe("smallestMeeting (the quality page's tune-to-target control)", () => {
  const cell = (label: string, ratio: number, mean: number, infeasible = false) => ({
    label,
    method: label.split(":")[0],
    ratio,
    n: 4,
    mean,
    bytes: 1000 * ratio,
    infeasible,
    ci: { n: 4, mean, lo: mean - 1, hi: mean + 1, sd: 1, level: 0.95 },
  });
  it("picks the smallest swept budget meeting the target per method; none when no budget does", () => {
    const cells = [cell("a", 0.1, 15), cell("a", 0.2, 18.5), cell("a", 0.3, 19), cell("b", 0.1, 10, true), cell("b", 0.2, 17), cell("full", 1, 100)];
    const r = smallestMeeting(cells as never, 18, true);
    expect(r.map((x) => [x.label, x.cell?.ratio ?? null])).toEqual([
      ["a", 0.2],
      ["b", null],
    ]);
    // lower is better: ≤ target
    expect(smallestMeeting(cells as never, 16, false).map((x) => x.cell?.ratio ?? null)).toEqual([0.1, null]);
  });
});
