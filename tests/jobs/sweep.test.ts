// The sweep job (jobs/sweep.ts) and tune (jobs/tune.ts): options and defaults, a small real sweep — 2 methods ×
// 2 budgets × 2 images, interrupted and resumed to identical rows, measured bytes = predicted — and a small tune.
// The aggregation math: tests/metrics/sweep.test.ts; the CLI's parsers: tests/cli/sweep-cli.test.ts.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS } from "../../jobs/calibrate.js";
import {
  CELL_SCHEMA,
  cellSummaries,
  DEFAULT_SWEEP_SAMPLER,
  PAIRED_SCHEMA,
  cellsPath,
  defaultMethodSpecs,
  pairedPath,
  parseMethodSpec,
  sweep,
  sweepSchema,
} from "../../jobs/sweep.js";
import { resolveParams } from "../../src/lib/schedules/params.js";
import { describeTune, MIN_TUNE_IMAGES, nonMonotoneSteps, parseMetric, tune } from "../../jobs/tune.js";
import { getMethod, parseScheduleJson } from "../../src/lib/schedules/index.js";
import { SWEEP_SAMPLER } from "../../src/lib/site/quality.js";
import { readConfig } from "../../jobs/schedule.js";
import { MODEL_DIR } from "../../node/node-backend.js";

describe("sweep options", () => {
  it("parses method specs", () => {
    expect(parseMethodSpec("heatkv:sigma=1,strict=true")).toEqual({
      label: "heatkv:sigma=1,strict=true",
      method: "heatkv",
      params: { sigma: 1, strict: true },
    });
    expect(parseMethodSpec(" uniform ")).toEqual({ label: "uniform", method: "uniform", params: {} });
    expect(() => parseMethodSpec("nope")).toThrow(/must be one of/);
  });

  it("every default method spec has valid parameters (a typo would only show up as an all-infeasible cell)", () => {
    for (const spec of defaultMethodSpecs()) {
      const { method, params } = parseMethodSpec(spec);
      const m = getMethod(method);
      expect(() => resolveParams(m.name, m.params, params, spec), spec).not.toThrow();
    }
  });

  it("docs/sweep.md lists every column", () => {
    const doc = readFileSync(join(import.meta.dirname, "..", "..", "docs", "sweep.md"), "utf8");
    for (const c of Object.keys(sweepSchema(7))) if (!/^(token_agreement|tf_\w+)_s\d+$/.test(c)) expect(doc, c).toContain(`\`${c}\``);
    expect(doc).toContain("`token_agreement_s0` … `token_agreement_s<K−1>`");
    for (const m of ["tf_kl", "tf_kl_logits", "tf_tv", "tf_top1", "tf_p_ref"]) expect(doc, m).toContain(`\`${m}_s0\` … \`${m}_s<K−1>\``);
    for (const c of Object.keys(PAIRED_SCHEMA)) expect(doc, c).toContain(`\`${c}\``);
    for (const c of Object.keys(CELL_SCHEMA)) if (!/_(mean|ci_lo|ci_hi)$/.test(c) || c === "ms_mean") expect(doc, c).toContain(`\`${c}\``);
  });

  it("the pages sample like the calibration job and the sweep", () => {
    expect(SWEEP_SAMPLER).toEqual({ ...DEFAULT_SETTINGS, sampler: DEFAULT_SWEEP_SAMPLER });
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
    // teacher-forced fidelity: the full cache replayed against itself is exactly 0 KL / 100 % top-1; compressed cells are not
    expect(full.every((r) => r.tf_kl === 0 && r.tf_kl_logits === 0 && r.tf_tv === 0 && r.tf_top1 === 1 && r.tf_kl_s6 === 0)).toBe(true);
    expect(a.filter((r) => !r.infeasible && r.method !== "full").every((r) => Number(r.tf_kl) > 0 && r.tf_kl_s0 === 0)).toBe(true);
    expect(new Set(a.map((r) => r.sampler))).toEqual(new Set([DEFAULT_SWEEP_SAMPLER]));
    const paired = await readRows(pairedPath(out), "metric, comparison, budget_ratio, label");
    // uniform is the only baseline: at 30 % heatkv is compared with it, per metric, on the 2 shared images
    const at30 = paired.filter((r) => r.metric === "psnr_db" && r.comparison === "same_budget");
    expect(at30.map((r) => [r.label, r.reference_label, r.budget_ratio, r.n_pairs])).toEqual([["heatkv", "uniform", 0.3, 2]]);
    const cells = await readRows(cellsPath(out), "label, budget_ratio");
    expect(cells.length).toBe(5);
    expect(cellSummaries(a as never).length).toBe(5);
  }, 120_000);
});

describe("tune", () => {
  it("finds a budget meeting the target on the calibration prompts and exports it with the measurements", async () => {
    const dir = mkdtempSync(join(tmpdir(), "heatkv-tune-"));
    const out = join(dir, "tuned.json");
    const r = await tune({
      metric: "token-agreement",
      target: 0.5,
      method: "uniform",
      classes: [0, 1, 2, 3, 4, 5, 6, 7],
      calibrationSeeds: [1],
      evalSeeds: [101],
      tolerance: 0.05,
      out,
      log: () => {},
    });
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
    // the verified interval is stated (8 images: a finite 95 % interval)
    expect(r.evaluation.metric.n).toBe(8);
    expect(r.evaluation.metric.ci95.every(Number.isFinite)).toBe(true);
    expect(describeTune(r)).toMatch(/verified 95 % t-interval \[[\d.]+, [\d.]+\] \(n = 8\)/);
  }, 240_000);

  it(`refuses fewer than ${MIN_TUNE_IMAGES} images per set with an error naming the option`, async () => {
    const base = { metric: "kl", target: 0.01, method: "uniform", log: () => {} };
    await expect(tune({ ...base, classes: [0], calibrationSeeds: [1, 2], evalSeeds: [101] })).rejects.toThrow(
      /^--calibration-seeds: 1 classes × 2 seeds = 2 images; tune needs at least 8/,
    );
    await expect(tune({ ...base, classes: [0, 1, 2, 3], calibrationSeeds: [1, 2], evalSeeds: [101] })).rejects.toThrow(
      /^--eval-seeds: 4 classes × 1 seeds = 4 images/,
    );
  });

  it("names every step where a larger budget gave a worse mean (bisection's assumption fails)", () => {
    const p = (ratio: number, mean: number, meets: boolean) => ({ ratio, mean, meets, feasible: true, peakBytes: 0 });
    const probes = [p(1, 20, true), p(0.2, 17, false), p(0.6, 18.5, true), p(0.4, 18.7, true)];
    expect(nonMonotoneSteps(probes, true)).toEqual([{ lower: { ratio: 0.4, mean: 18.7, meets: true }, higher: { ratio: 0.6, mean: 18.5, meets: true } }]);
    expect(nonMonotoneSteps(probes, false).map((s) => s.lower.ratio)).toEqual([0.2, 0.6]);
    expect(parseMetric("kl")).toBe("tf_kl");
    // an Object.prototype name is no metric alias
    expect(() => parseMetric("constructor")).toThrow(/--metric must be one of/);
  });
});
