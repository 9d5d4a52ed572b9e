import { describe, expect, it } from "vitest";
import {
  budgetTokenLimit,
  checkBudget,
  describeDenominator,
  fullCacheBytes,
  fullCacheTokens,
  parseBudget,
  parseBudgetList,
} from "../../src/lib/schedules/budget.js";
import { ScheduleError } from "../../src/lib/schedules/errors.js";
import { TINY, demoConfig } from "./helpers.js";

const demo = demoConfig();
// demo: 2 · 6 · 8 · 16 · 91 · 4 · 2 = 1,118,208 B; 48 · 91 = 4,368 token slots
const FULL = 2 * demo.numLayers * demo.numHeads * demo.headDim * 91 * 4 * 2;

describe("budget denominator", () => {
  it("is the full cache of one image incl. both CFG rows, fp32 by default, fp16 on request", () => {
    expect(fullCacheBytes(demo)).toBe(FULL);
    expect(fullCacheBytes(demo, 2)).toBe(FULL / 2);
    expect(fullCacheBytes(demo, 4, 1)).toBe(FULL / 2);
    expect(fullCacheTokens(demo)).toBe(48 * 91);
    // TINY: 2 · 2 · 2 · 2 · 14 · 4 · 2 = 1792 B
    expect(fullCacheBytes(TINY)).toBe(1792);
  });
  it("is stated in words", () => {
    expect(describeDenominator(demo)).toBe(
      `full KV cache of one image: 2 (K,V) × 6 layers × 8 heads × 16 dims × 91 tokens (C_max) × 4 B (fp32) × 2 CFG rows = 1,118,208 B (1.07 MiB) = 4,368 token slots`,
    );
    expect(describeDenominator(demo, 2, 1)).toContain("× 2 B (fp16) × 1 CFG row = 279,552 B");
    expect(parseBudget("10%", demo).denominator).toBe(describeDenominator(demo));
  });
});

describe("parseBudget", () => {
  it.each([
    ["10%", 0.1, "percent"],
    [" 12.5 % ", 0.125, "percent"],
    ["100%", 1, "percent"],
    ["0.1", 0.1, "ratio"],
    ["1", 1, "ratio"],
    [".25", 0.25, "ratio"],
    ["1e-1", 0.1, "ratio"],
  ] as const)("%s → ratio %f (%s)", (txt, ratio, unit) => {
    const b = parseBudget(txt, demo);
    expect(b.ratio).toBeCloseTo(ratio, 12);
    expect(b.unit).toBe(unit);
    expect(b.given).toBe(txt);
    expect(b.tokens).toBeCloseTo(ratio * 48 * 91, 9);
    expect(b.bytes).toBeCloseTo(ratio * FULL, 6);
  });
  it("numbers are fractions", () => {
    expect(parseBudget(0.2, demo).ratio).toBe(0.2);
    expect(parseBudget(0.2, demo).given).toBe("0.2");
  });
  it("sizes: decimal kB/MB/GB, binary KiB/MiB, bytes; relative to fp32 or fp16", () => {
    expect(parseBudget("1118208B", demo).ratio).toBe(1);
    expect(parseBudget("500kB", demo).ratio).toBeCloseTo(500_000 / FULL, 15);
    expect(parseBudget("1MB", demo).ratio).toBeCloseTo(1_000_000 / FULL, 15);
    expect(parseBudget("0.5MiB", demo).ratio).toBeCloseTo(524_288 / FULL, 15);
    expect(parseBudget("100KiB", demo).ratio).toBeCloseTo(102_400 / FULL, 15);
    expect(parseBudget("1234B", demo).unit).toBe("bytes");
    expect(parseBudget("500kB", demo, { bytesPerElement: 2 }).ratio).toBeCloseTo(500_000 / (FULL / 2), 15);
    expect(parseBudget("500kB", demo, { bytesPerElement: 2 }).denominator).toContain("fp16");
    expect(
      parseBudget("2MB", { ...demo, patchNums: [1, 2, 4, 6, 8, 12, 16, 20, 24, 32, 40, 48, 64], numLayers: 32, numHeads: 16, headDim: 128 }).ratio,
    ).toBeCloseTo(2e6 / (2 * 32 * 16 * 128 * 6425 * 4 * 2), 15);
  });
  it("token counts: kept entries summed over all (layer, head)", () => {
    expect(parseBudget("1000tok", demo).ratio).toBeCloseTo(1000 / 4368, 15);
    expect(parseBudget("4368 tokens", demo).ratio).toBe(1);
    expect(budgetTokenLimit(parseBudget("1000tok", demo))).toBe(1000);
    expect(budgetTokenLimit(parseBudget("10%", demo))).toBe(436); // 436.8
  });
  const bad: [string | number, RegExp][] = [
    ["-5%", /^budget: field "budget" must be positive \(a negative budget means nothing\), got "-5%"$/],
    ["-0.1", /must be positive/],
    ["0", /^budget: field "budget" must be > 0 \(a zero budget keeps no cache at all\), got "0"$/],
    ["0%", /must be > 0/],
    ["0MB", /must be > 0/],
    ["0tok", /must be > 0/],
    ["150%", /^budget: field "budget" must be at most 100% of the full KV cache of one image: .* \(it is 150%\), got "150%"$/],
    ["1.5", /a bare number is a fraction of the full cache and must be in \(0, 1\] \(did you mean "1.5%"\?\), got "1.5"$/],
    ["50", /did you mean "50%"/],
    ["2MB", /must be at most 100% of the full KV cache .*\(it is 178\.86%\)/],
    ["5000tok", /must be at most 100%/],
    ["12.5tok", /must be a whole number of tokens/],
    ["0.5B", /must be a whole number of bytes/],
    ["abc", /must be a fraction \("0.1"\), a percentage \("10%"\), a size .* or a token count \("15000tok"\), got "abc"$/],
    ["", /got ""$/],
    ["10%%", /got "10%%"/],
    ["10 apples", /got "10 apples"/],
    ["NaN", /got "NaN"/],
    [Number.POSITIVE_INFINITY, /must be a finite number/],
  ];
  it.each(bad)("rejects %j with one clear line naming the field", (input, re) => {
    let err: unknown;
    try {
      parseBudget(input, demo);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScheduleError);
    const msg = (err as Error).message;
    expect(msg).toMatch(re);
    expect(msg).not.toContain("\n");
  });
  it("a budget below one cache entry is refused like 0 (1e-300 used to keep nothing)", () => {
    expect(() => parseBudget("1e-300", demo)).toThrow(/keeps less than one cache entry \(4\.368e-297 of 4,368 token slots\); the smallest budget is 1tok/);
    expect(() => parseBudget("0.0001%", demo)).toThrow(/keeps less than one cache entry/);
    expect(parseBudget("1tok", demo).tokens).toBe(1);
    expect(() => parseBudget("0", demo)).toThrow(/must be > 0/);
  });
  it("a list in the same grammar (the sweep's --budgets)", () => {
    expect(parseBudgetList("5%,0.1, 200kB", demo).map((b) => b.unit)).toEqual(["percent", "ratio", "bytes"]);
    expect(() => parseBudgetList("5%,,10%", demo)).toThrow(/has an empty item/);
    expect(() => parseBudgetList("5,10", demo)).toThrow(/did you mean "5%"/);
  });
  it("names the caller's source and field", () => {
    expect(() => parseBudget("-1%", demo, { source: "--budget", field: "budget" })).toThrow(/^--budget: field "budget"/);
    expect(() => parseBudget("10%", demo, { bytesPerElement: 3 as 4 })).toThrow(/field "bytesPerElement" must be 4 \(fp32\) or 2 \(fp16\), got 3/);
    expect(() => parseBudget("10%", demo, { rows: 0 })).toThrow(/field "rows" must be a positive integer, got 0/);
  });
});

describe("checkBudget", () => {
  it("accepts what parseBudget produced and rejects inconsistent or out-of-range objects", () => {
    const b = parseBudget("10%", demo);
    expect(() => checkBudget(b, demo, "x.json")).not.toThrow();
    expect(() => checkBudget({ ...b, ratio: 1.5 }, demo, "x.json")).toThrow('x.json: field "budget.ratio" must be in (0, 1], got 1.5');
    expect(() => checkBudget({ ...b, ratio: -0.1 }, demo, "x.json")).toThrow('x.json: field "budget.ratio" must be in (0, 1], got -0.1');
    expect(() => checkBudget({ ...b, ratio: 0.2 }, demo, "x.json")).toThrow(/field "budget.ratio" is 0.2 but budget.given "10%" means 0.1/);
    expect(() => checkBudget({ ...b, tokens: 1 }, demo, "x.json")).toThrow(/field "budget.tokens"/);
    expect(() => checkBudget({ ...b, bytes: 1 }, demo, "x.json")).toThrow(/field "budget.bytes"/);
    expect(() => checkBudget({ ...b, denominator: "something" }, demo, "x.json")).toThrow(
      /field "budget.denominator" does not describe this model's full cache/,
    );
    expect(() => checkBudget({ ...b, given: "150%" }, demo, "x.json")).toThrow(/field "budget.given" must be at most 100%/);
  });
});
