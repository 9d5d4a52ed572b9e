// The sweep's aggregation math on known inputs (t-intervals, the headline rule), and a small real sweep:
// 2 methods × 2 budgets × 2 images, interrupted and resumed to identical rows, measured bytes = predicted.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS } from "../../jobs/calibrate.js";
import { cliMethodSpec, parseBudgetList } from "../../cli/sweep-cli.js";
import { CELL_SCHEMA, cellSummaries, cellsPath, defaultMethodSpecs, parseMethodSpec, sweep, sweepSchema } from "../../jobs/sweep.js";
import { resolveParams } from "../../src/lib/schedules/params.js";
import { tune } from "../../jobs/tune.js";
import { type CellStat, ciFromMoments, headline, meanCI, smallestMeeting, summarizeCells, tCdf, tQuantile } from "../../src/lib/metrics/sweep.js";
import { getMethod, parseScheduleJson } from "../../src/lib/schedules/index.js";
import { SWEEP_SAMPLER } from "../../src/lib/site/quality.js";
import { readConfig } from "../../jobs/schedule.js";
import { MODEL_DIR } from "../../node/node-backend.js";

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

const cell = (label: string, ratio: number, mean: number, bytes: number, extra: Partial<CellStat> = {}): CellStat => ({ label, method: label.split(":")[0], ratio, n: 10, mean, bytes, ...extra });

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
    expect(by.heatkv).toMatchObject({ ratio: 0.1, mean: 25.1, bytes: 100, memorySaving: 2 });
    expect(by["heatkv:sigma=1"]).toMatchObject({ ratio: 0.2, memorySaving: 200 / 195 }); // 24.9 < 25 at 5 %
    expect(by.scalekv).toMatchObject({ ratio: 0.2, memorySaving: 1 });
    expect(by.uniform).toMatchObject({ ratio: 0.5, memorySaving: 0.4 });
    expect(by.pyramid).toMatchObject({ ratio: null, bytes: null, memorySaving: null });
  });

  it("lower-is-better metrics use the lowest baseline and ≤", () => {
    const fd = [cell("scalekv", 0.2, 0.1, 200), cell("uniform", 0.2, 0.3, 200), cell("heatkv", 0.1, 0.1, 100), cell("heatkv", 0.05, 0.2, 50)];
    const h = headline(fd, { higherIsBetter: false });
    expect(h.reference?.label).toBe("scalekv");
    expect(h.rows.find((r) => r.label === "heatkv")).toMatchObject({ ratio: 0.1, memorySaving: 2 });
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

describe("sweep options", () => {
  it("parses method specs and budget lists", () => {
    expect(parseMethodSpec("heatkv:sigma=1,strict=true")).toEqual({ label: "heatkv:sigma=1,strict=true", method: "heatkv", params: { sigma: 1, strict: true } });
    expect(parseMethodSpec(" uniform ")).toEqual({ label: "uniform", method: "uniform", params: {} });
    expect(() => parseMethodSpec("nope")).toThrow(/must be one of/);
    expect(parseBudgetList("5,10,50%,0.2")).toEqual([0.05, 0.1, 0.5, 0.2]);
    expect(() => parseBudgetList("120")).toThrow(/not in/);
  });

  it("every default method spec has valid parameters (a typo would only show up as an all-infeasible cell)", () => {
    for (const spec of defaultMethodSpecs()) {
      const { method, params } = parseMethodSpec(spec);
      const m = getMethod(method);
      expect(() => resolveParams(m.name, m.params, params, spec), spec).not.toThrow();
    }
  });

  it("CLI method specs: '+' joins parameters, not method names (heatkv+recalkv)", () => {
    expect(cliMethodSpec("heatkv:sigma=1+strict=true")).toBe("heatkv:sigma=1,strict=true");
    expect(cliMethodSpec("heatkv+recalkv")).toBe("heatkv+recalkv");
    expect(cliMethodSpec("heatkv+recalkv:rankRatio=0.25+sigma=1")).toBe("heatkv+recalkv:rankRatio=0.25,sigma=1");
    expect(parseMethodSpec(cliMethodSpec("heatkv+recalkv:rankRatio=0.25+sigma=1"))).toEqual({ label: "heatkv+recalkv:rankRatio=0.25,sigma=1", method: "heatkv+recalkv", params: { rankRatio: 0.25, sigma: 1 } });
  });

  it("docs/sweep.md lists every column", () => {
    const doc = readFileSync(join(import.meta.dirname, "..", "..", "docs", "sweep.md"), "utf8");
    for (const c of Object.keys(sweepSchema(7))) if (!/^token_agreement_s\d+$/.test(c)) expect(doc, c).toContain(`\`${c}\``);
    expect(doc).toContain("`token_agreement_s0` … `token_agreement_s<K−1>`");
    for (const c of Object.keys(CELL_SCHEMA)) if (!/_(mean|ci_lo|ci_hi)$/.test(c) || c === "ms_mean") expect(doc, c).toContain(`\`${c}\``);
  });

  it("the pages sample like the calibration job and the sweep", () => {
    expect(SWEEP_SAMPLER).toEqual(DEFAULT_SETTINGS);
  });
});

async function readRows(file: string, order = "label, budget_ratio, class_index, seed"): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  try {
    return (await c.runAndReadAll(`SELECT * FROM read_parquet('${file}') ORDER BY ${order}`)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

const withoutTimes = (rows: Record<string, unknown>[]) => rows.map(({ ms, ort_ms, ...r }) => r);

describe("sweep job (2 methods × 2 budgets × 2 images)", () => {
  const opts = { methods: ["heatkv", "uniform"], budgets: [0.1, 0.3], classes: [0], seeds: [101, 102], progress: false, log: () => {} };

  it("resumes after an interruption to identical rows; measured peak bytes = predicted on every row", async () => {
    const dir = mkdtempSync(join(tmpdir(), "heatkv-sweep-"));
    const straight = await sweep({ ...opts, out: join(dir, "a", "sweep.parquet") });
    expect(straight).toMatchObject({ complete: true, cells: 5, computed: 5, infeasible: 1 });

    const out = join(dir, "b", "sweep.parquet");
    const first = await sweep({ ...opts, out, limit: 2 });
    expect(first).toMatchObject({ complete: false, computed: 2 });
    expect(() => readFileSync(out)).toThrow();
    // a crash mid-write leaves a temp file; a damaged shard is redone
    const shardDir = join(`${out}.shards`, readdirSync(`${out}.shards`)[0]);
    const shards = readdirSync(shardDir);
    writeFileSync(join(shardDir, "partial.json.123.tmp"), "{");
    writeFileSync(join(shardDir, shards[1]), "{ not json");
    const second = await sweep({ ...opts, out });
    expect(second).toMatchObject({ complete: true, computed: 4, reused: 1 });
    expect(readdirSync(shardDir).some((f) => f.endsWith(".tmp"))).toBe(false);
    const again = await sweep({ ...opts, out });
    expect(again).toMatchObject({ complete: true, computed: 0, reused: 5, images: 0 });

    const a = await readRows(straight.out);
    const b = await readRows(out);
    expect(withoutTimes(b)).toEqual(withoutTimes(a));
    // full: 2 rows, uniform: 2 × 2, heatkv@30 %: 2, heatkv@10 %: one infeasible row (σ = 3 needs ≥ 15.4 %)
    expect(a.length).toBe(2 + 4 + 2 + 1);
    const infeasible = a.filter((r) => r.infeasible);
    expect(infeasible.map((r) => [r.label, r.budget_ratio])).toEqual([["heatkv", 0.1]]);
    expect(String(infeasible[0].message)).toMatch(/infeasible/);
    for (const r of a.filter((x) => !x.infeasible)) {
      expect(r.measured_peak_bytes).toBe(r.predicted_peak_bytes);
      expect(r.bytes_match).toBe(true);
      expect(Number(r.measured_peak_bytes)).toBeLessThanOrEqual(Number(r.budget_bytes) + 1e-6);
      expect(r.psnr_db as number).toBeGreaterThan(0);
      expect(r.token_agreement_s0).toBe(1); // scale 0 sees no cache: always identical
    }
    const full = a.filter((r) => r.method === "full");
    expect(full.every((r) => r.identical === true && r.psnr_db === 100 && r.ssim === 1 && r.feature_distance === 0)).toBe(true);
    const cells = await readRows(cellsPath(out), "label, budget_ratio");
    expect(cells.length).toBe(5);
    expect(cellSummaries(a as never).length).toBe(5);
  }, 120_000);
});

describe("tune", () => {
  it("finds a budget meeting the target on the calibration prompts and exports it with the measurements", async () => {
    const dir = mkdtempSync(join(tmpdir(), "heatkv-tune-"));
    const out = join(dir, "tuned.json");
    const r = await tune({ metric: "token-agreement", target: 0.5, method: "uniform", classes: [0, 1], calibrationSeeds: [1], evalSeeds: [101], tolerance: 0.05, out, log: () => {} });
    expect(r.calibration.metric.mean).toBeGreaterThanOrEqual(0.5);
    expect(r.calibration.meetsTarget).toBe(true);
    expect(r.calibration.bytesMatch && r.evaluation.bytesMatch).toBe(true);
    const c = r.candidates[0];
    // bisection invariant: the chosen budget meets the target; a probe within the tolerance below it did not (or it is the minimum)
    const misses = c.probes.filter((p) => !p.meets && p.ratio < c.ratio!);
    if (c.ratio! > c.minFeasibleRatio) expect(Math.max(...misses.map((p) => p.ratio))).toBeGreaterThanOrEqual(c.ratio! - 0.05 - 1e-9);
    const back = parseScheduleJson(readFileSync(out, "utf8"), readConfig(join(MODEL_DIR, "config.json")), out);
    expect(back.budget.ratio).toBe(r.schedule.budget.ratio);
    expect((back.details.tuning as { calibration: { metric: { mean: number } } }).calibration.metric.mean).toBe(r.calibration.metric.mean);
  }, 120_000);
});

describe("smallestMeeting (the quality page's tune-to-target control)", () => {
  const cell = (label: string, ratio: number, mean: number, infeasible = false) => ({ label, method: label.split(":")[0], ratio, n: 4, mean, bytes: 1000 * ratio, infeasible, ci: { n: 4, mean, lo: mean - 1, hi: mean + 1, sd: 1, level: 0.95 } });
  it("picks the smallest swept budget meeting the target per method; none when no budget does", () => {
    const cells = [cell("a", 0.1, 15), cell("a", 0.2, 18.5), cell("a", 0.3, 19), cell("b", 0.1, 10, true), cell("b", 0.2, 17), cell("full", 1, 100)];
    const r = smallestMeeting(cells as never, 18, true);
    expect(r.map((x) => [x.label, x.cell?.ratio ?? null])).toEqual([["a", 0.2], ["b", null]]);
    // lower is better: ≤ target
    expect(smallestMeeting(cells as never, 16, false).map((x) => x.cell?.ratio ?? null)).toEqual([0.1, null]);
  });
});
