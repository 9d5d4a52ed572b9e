/**
 * The quality-vs-memory sweep (`heatkv sweep`, src/data/sweep.parquet.ts): methods × budgets × an evaluation
 * set of classes × seeds (disjoint from the calibration seeds 1–2), every image generated with a physically
 * pruned cache and compared with the full-cache image of the same class and seed (docs/sweep.md).
 *
 * Resumable and atomic: one JSON shard per (method, budget) cell under <out>.shards/<eval-set hash>/, named
 * by a hash of the schedule itself (so new statistics or parameters redo the cell), written to a temp file
 * and renamed. An interrupted run redoes only the missing cells; the Parquet outputs (per image, and per
 * cell) are written as one unit (with a manifest written last) once every cell is done. The run holds
 * `<out>.lock` and refuses an output that is one of its inputs (docs/reliability.md).
 */
import { resolveParams } from "../src/lib/schedules/params.js";
import { type MethodSpec, parseMethodSpec } from "../src/lib/schedules/spec.js";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { CalibrationSettings } from "../src/lib/metrics/calibration.js";
import { featureDistance, frechetDistance, psnr, ssim, tokenAgreement } from "../src/lib/metrics/image.js";
import { Judge } from "../src/lib/metrics/judge.js";
import { DEFAULT_SWEEP_SAMPLER as SWEEP_DEFAULT_DRAW, EVAL_SEEDS, meanCI, SWEEP_METRICS } from "../src/lib/metrics/sweep.js";
import {
  buildSchedule,
  getMethod,
  type HeadScaleStats,
  METHOD_NAMES,
  predictedBytes,
  type Schedule,
  ScheduleError,
  stringifySchedule,
} from "../src/lib/schedules/index.js";
import { scheduleToPolicy } from "../src/lib/enforce/index.js";
import type { ModelConfig } from "../src/lib/model/index.js";
import type { GenerateResult, VarModel } from "../src/lib/var/runtime.js";
import { type Fidelity, type FidelityReference, generateWithLogits, replayFidelity } from "../src/lib/metrics/fidelity.js";
import { cellValues, halfSeedStability, type PairedRow, pairedHeadline, rankAgreement, versusBestBaseline, versusCell } from "../src/lib/metrics/paired.js";
import type { SamplerKind } from "../src/lib/var/sampler.js";
import { calibrate, DEFAULT_SETTINGS, DEFAULT_STATS_PATH, statsStoreInputs } from "./calibrate.js";
import { folderReader, loadLowRankManifest, loadNodeModel, MODEL_DIR, nodeBackend } from "../node/node-backend.js";
import type { LowRankManifest } from "../src/lib/model/index.js";
import { type ColumnType, type Row, toParquet } from "../node/parquet.js";
import { requireOutputPath, writeAtomic } from "../node/files.js";
import { Progress } from "../node/progress.js";
import { loadHeadScaleStats } from "../node/stats-store.js";
import type { NamedPath } from "../node/paths-guard.js";
import { runWithOutputLock } from "../node/lock.js";
import { READ_LIMITS, readJsonFile } from "../node/read-file.js";
import { manifestPathFor, writeUnit } from "../node/store-unit.js";

/** Bump when a metric definition or the row layout changes: every cell is then recomputed. */
export const SWEEP_VERSION = "heatkv-sweep/2";
/** Evaluation seeds (every class); calibration uses seeds 1–2, so the two sets are disjoint. */
export const DEFAULT_EVAL_SEEDS = EVAL_SEEDS;
export const DEFAULT_BUDGETS = [0.05, 0.1, 0.2, 0.3, 0.5];
/** PSNR of identical images is +∞; it is stored capped at this value and flagged `identical`. */
export const PSNR_CAP_DB = 100;
export const DEFAULT_SWEEP_PATH = join(import.meta.dirname, "..", ".heatkv", "sweep", "sweep.parquet");
export const cellsPath = (out: string) => out.replace(/\.parquet$/, "") + "_cells.parquet";
export const pairedPath = (out: string) => out.replace(/\.parquet$/, "") + "_paired.parquet";
/** The sweep's default draw: gumbel (src/lib/metrics/sweep.ts says why). */
export const DEFAULT_SWEEP_SAMPLER: SamplerKind = SWEEP_DEFAULT_DRAW;
/** The sweep's sampler settings: the calibration job's plus the draw. */
export type SweepSettings = CalibrationSettings & { sampler: SamplerKind };

/**
 * Every registered method at its defaults (full is the reference), HeatKV with σ = 1 and 2 (σ = 3 needs ≥ 15.4 %),
 * recalkv with σ = 0 (the all-latent cache, for comparison with its default σ = 3 exact sink scales) and
 * heatkv+recalkv with rank ratio 0.25 and σ = 1 (its default σ = 3 holds the sink scales exact, so it also
 * needs ≥ 15.4 %; recalkv and heatkv+recalkv at their defaults are in the first list).
 */
export function defaultMethodSpecs(): string[] {
  return [...METHOD_NAMES.filter((m) => m !== "full"), "heatkv:sigma=1", "heatkv:sigma=2", "recalkv:sigma=0", "heatkv+recalkv:rankRatio=0.25,sigma=1"];
}

export { type MethodSpec, parseMethodSpec };

export interface Prompt {
  classIndex: number;
  seed: number;
}

/** The full-cache images (and their judgement) that every compressed image is compared with. */
export interface ReferenceSet {
  prompts: Prompt[];
  results: GenerateResult[];
  /** the full runs with their CFG-mixed logits (teacher-forced fidelity compares against them) */
  logits: FidelityReference[];
  features: Float32Array[];
  predicted: number[];
  confidence: number[];
  schedule: Schedule;
}

/** What a sweep or a tuning run needs loaded once: model, judge, settings, statistics. */
export interface EvalContext {
  model: VarModel;
  judge: Judge;
  settings: SweepSettings;
  stats?: HeadScaleStats;
  /** the model's ReCalKV variants (recalkv.json) for low-rank methods */
  lowRank?: LowRankManifest;
}

export async function loadEvalContext(o: {
  modelDir?: string;
  threads?: number;
  settings?: Partial<SweepSettings>;
  stats?: string;
  needStats: boolean;
  needLowRank?: boolean;
}): Promise<EvalContext> {
  const modelDir = o.modelDir ?? MODEL_DIR;
  const model = await loadNodeModel(modelDir, o.threads ?? 1);
  const judge = await Judge.load(nodeBackend(o.threads ?? 1), model.config, folderReader(modelDir));
  let stats: HeadScaleStats | undefined;
  if (o.needStats) {
    const file = o.stats ?? DEFAULT_STATS_PATH;
    // the default store is filled (calibration set: every class × seeds 1–2) when missing; a no-op otherwise
    if (file === DEFAULT_STATS_PATH) await calibrate({ out: file, modelDir, progress: false, log: () => {} });
    stats = await loadHeadScaleStats(file, model.config);
  }
  const lowRank = o.needLowRank ? loadLowRankManifest(model.config, modelDir) : undefined;
  return { model, judge, settings: { ...DEFAULT_SETTINGS, sampler: DEFAULT_SWEEP_SAMPLER, ...definedSettings(o.settings ?? {}) }, stats, lowRank };
}

function definedSettings(o: Partial<SweepSettings>): Partial<SweepSettings> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<SweepSettings>;
}

/** sha256 of the model's four ONNX graphs (config_hash covers only the shapes; the weights are in the graphs). */
export function modelFingerprint(modelDir: string, cfg: ModelConfig): string {
  const h = createHash("sha256");
  for (const f of [cfg.files.step, cfg.files.vq_update, cfg.files.vq_decode, cfg.files.classifier]) h.update(f).update(readFileSync(join(modelDir, f)));
  return h.digest("hex").slice(0, 16);
}

/** sha256 (16 hex, as recalkv.json's fileSha256) of a ReCalKV variant's step graph as it is on disk. */
export function variantFileSha(modelDir: string, file: string): string {
  return createHash("sha256")
    .update(readFileSync(join(modelDir, file)))
    .digest("hex")
    .slice(0, 16);
}

export const rowsOf = (settings: CalibrationSettings) => (settings.cfg > 0 ? 2 : 1);

async function generateAll(ctx: EvalContext, prompts: Prompt[], schedule: Schedule, onImage?: () => void): Promise<GenerateResult[]> {
  const out: GenerateResult[] = [];
  // a low-rank (ReCalKV) schedule runs its own step-graph variant on a latent cache
  const model = schedule.lowRank ? await ctx.model.lowRank(schedule.lowRank.variant) : ctx.model;
  for (const p of prompts) {
    const policy = scheduleToPolicy(schedule, ctx.model.config); // fresh per image: dynamic scorers keep state
    out.push(await model.generate({ classIndex: p.classIndex, seed: p.seed, ...ctx.settings, policy }));
    onImage?.();
  }
  return out;
}

export async function referenceSet(ctx: EvalContext, prompts: Prompt[], onImage?: () => void): Promise<ReferenceSet> {
  const schedule = buildSchedule("full", ctx.model.config, "100%");
  const logits: FidelityReference[] = [];
  for (const p of prompts) {
    const policy = scheduleToPolicy(schedule, ctx.model.config);
    logits.push(await generateWithLogits(ctx.model, { classIndex: p.classIndex, seed: p.seed, ...ctx.settings, policy }));
    onImage?.();
  }
  const results = logits.map((l) => l.result);
  const j = await ctx.judge.judge(results.map((r) => r.image));
  return { prompts, results, logits, features: j.features, predicted: j.predicted, confidence: j.confidence, schedule };
}

/** Teacher-forced fidelity of `schedule` on every reference prompt (the full run's tokens replayed through its cache). */
async function fidelityAll(ctx: EvalContext, ref: ReferenceSet, schedule: Schedule): Promise<Fidelity[]> {
  const model = schedule.lowRank ? await ctx.model.lowRank(schedule.lowRank.variant) : ctx.model;
  const out: Fidelity[] = [];
  for (const r of ref.logits) out.push(await replayFidelity(model, r, scheduleToPolicy(schedule, ctx.model.config)));
  return out;
}

/** Per-image metrics of `schedule` on the reference's prompts; `fdEmoji` and `accuracy` over the whole set. */
export async function evaluateSchedule(ctx: EvalContext, ref: ReferenceSet, schedule: Schedule, onImage?: () => void) {
  const cfg = ctx.model.config;
  const results = schedule.method === "full" && schedule === ref.schedule ? ref.results : await generateAll(ctx, ref.prompts, schedule, onImage);
  const j =
    schedule === ref.schedule
      ? { features: ref.features, predicted: ref.predicted, confidence: ref.confidence }
      : await ctx.judge.judge(results.map((r) => r.image));
  const predicted = predictedBytes(schedule, rowsOf(ctx.settings), 4).peak;
  const fidelity = await fidelityAll(ctx, ref, schedule);
  const images = results.map((r, i) => {
    const full = ref.results[i];
    const raw = psnr(r.image, full.image);
    return {
      classIndex: r.classIndex,
      seed: r.seed,
      predictedPeakBytes: predicted,
      measuredPeakBytes: r.peakCacheBytes,
      ms: r.totalMs,
      ortMs: r.ortMs,
      psnr: Math.min(raw, PSNR_CAP_DB),
      identical: raw === Number.POSITIVE_INFINITY,
      ssim: ssim(r.image, full.image, cfg.imageSize),
      tokenAgreement: tokenAgreement(r.tokens, full.tokens),
      featureDistance: featureDistance(j.features[i], ref.features[i]),
      judgePredicted: j.predicted[i],
      judgeConfidence: j.confidence[i],
      judgeCorrect: j.predicted[i] === r.classIndex,
      fidelity: fidelity[i],
    };
  });
  const fdEmoji = results.length >= 2 ? frechetDistance(j.features, ref.features) : Number.NaN;
  const accuracy = images.filter((x) => x.judgeCorrect).length / Math.max(1, images.length);
  return { images, fdEmoji, accuracy };
}

export type ImageEval = Awaited<ReturnType<typeof evaluateSchedule>>["images"][number];

// ---------------------------------------------------------------------------------------------------------
// the sweep job

export interface SweepOptions {
  /** method specs, e.g. ["heatkv", "heatkv:sigma=1", "scalekv"] (default: defaultMethodSpecs()) */
  methods?: string[];
  /** budget ratios in (0, 1] (default 5, 10, 20, 30, 50 %) */
  budgets?: number[];
  classes?: number[];
  seeds?: number[];
  settings?: Partial<SweepSettings>;
  /** calibration statistics for calibrated methods (default: the default store, filled when missing) */
  stats?: string;
  out?: string;
  modelDir?: string;
  threads?: number;
  /** stop after this many newly computed cells (tests of resumption) */
  limit?: number;
  log?: (s: string) => void;
  progress?: boolean;
}

export interface SweepResult {
  out: string;
  cellsOut: string;
  pairedOut: string;
  complete: boolean;
  cells: number;
  computed: number;
  reused: number;
  infeasible: number;
  images: number;
  rows: number;
  wallSeconds: number;
}

interface CellShard {
  version: string;
  key: string;
  label: string;
  rows: Row[];
  seconds: number;
}

interface Cell {
  spec: MethodSpec;
  ratio: number;
  key: string;
  file: string;
  schedule?: Schedule;
  error?: string;
}

const sha = (v: unknown, n = 16) =>
  createHash("sha256")
    .update(typeof v === "string" ? v : JSON.stringify(v))
    .digest("hex")
    .slice(0, n);
const budgetString = (ratio: number) => `${+(ratio * 100).toFixed(6)}%`;

export function sweepSchema(numScales: number): Record<string, ColumnType> {
  const s: Record<string, ColumnType> = {
    sweep_version: "VARCHAR",
    config_hash: "VARCHAR",
    model_id: "VARCHAR",
    weights_sha: "VARCHAR",
    label: "VARCHAR",
    method: "VARCHAR",
    kind: "VARCHAR",
    params: "VARCHAR",
    budget_ratio: "DOUBLE",
    budget_given: "VARCHAR",
    budget_bytes: "DOUBLE",
    full_cache_bytes: "BIGINT",
    infeasible: "BOOLEAN",
    message: "VARCHAR",
    class_index: "INTEGER",
    class_name: "VARCHAR",
    seed: "INTEGER",
    cfg: "DOUBLE",
    top_k: "INTEGER",
    top_p: "DOUBLE",
    temperature: "DOUBLE",
    predicted_peak_bytes: "BIGINT",
    measured_peak_bytes: "BIGINT",
    bytes_match: "BOOLEAN",
    ms: "DOUBLE",
    ort_ms: "DOUBLE",
    psnr_db: "DOUBLE",
    identical: "BOOLEAN",
    ssim: "DOUBLE",
    feature_distance: "DOUBLE",
  };
  for (let k = 0; k < numScales; k++) s[`token_agreement_s${k}`] = "DOUBLE";
  Object.assign(s, {
    token_agreement_last: "DOUBLE",
    judge_predicted: "INTEGER",
    judge_predicted_name: "VARCHAR",
    judge_confidence: "DOUBLE",
    judge_correct: "BOOLEAN",
    fd_emoji: "DOUBLE",
    class_accuracy: "DOUBLE",
    n_images: "INTEGER",
    sampler: "VARCHAR",
  });
  // teacher-forced fidelity (new in heatkv-sweep/2; appended so the earlier columns keep their order)
  for (const m of FIDELITY_COLUMNS) {
    s[m] = "DOUBLE";
    for (let k = 0; k < numScales; k++) s[`${m}_s${k}`] = "DOUBLE";
  }
  return s;
}

/** Fidelity columns (overall; `<name>_s<k>` per scale) and the Fidelity field each holds. */
export const FIDELITY_COLUMN_FIELDS = { tf_kl: "kl", tf_kl_logits: "klLogits", tf_tv: "tv", tf_top1: "top1", tf_p_ref: "pRef" } as const;
const FIDELITY_COLUMNS = Object.keys(FIDELITY_COLUMN_FIELDS) as (keyof typeof FIDELITY_COLUMN_FIELDS)[];

export const CELL_SCHEMA: Record<string, ColumnType> = {
  label: "VARCHAR",
  method: "VARCHAR",
  params: "VARCHAR",
  budget_ratio: "DOUBLE",
  budget_bytes: "DOUBLE",
  infeasible: "BOOLEAN",
  message: "VARCHAR",
  n_images: "INTEGER",
  measured_peak_bytes: "DOUBLE",
  predicted_peak_bytes: "DOUBLE",
  all_bytes_match: "BOOLEAN",
  identical_fraction: "DOUBLE",
  ms_mean: "DOUBLE",
  fd_emoji: "DOUBLE",
  class_accuracy: "DOUBLE",
  ...Object.fromEntries(
    Object.keys(SWEEP_METRICS).flatMap((m) => [
      [`${m}_mean`, "DOUBLE"],
      [`${m}_ci_lo`, "DOUBLE"],
      [`${m}_ci_hi`, "DOUBLE"],
    ]),
  ),
};

function cellRows(cfg: ModelConfig, weights: string, settings: SweepSettings, cell: Cell, ev: Awaited<ReturnType<typeof evaluateSchedule>> | null): Row[] {
  const s = cell.schedule;
  const fullBytes = buildSchedule("full", cfg, "100%").budget.bytes;
  const common: Row = {
    sweep_version: SWEEP_VERSION,
    config_hash: cfg.configHash,
    model_id: cfg.modelId,
    weights_sha: weights,
    label: cell.spec.label,
    method: cell.spec.method,
    kind: s ? (s.method === "full" ? "full" : s.kind) : null,
    params: JSON.stringify(s ? s.params : cell.spec.params),
    budget_ratio: cell.ratio,
    budget_given: budgetString(cell.ratio),
    budget_bytes: cell.ratio * fullBytes,
    full_cache_bytes: fullBytes,
    infeasible: !s,
    message: cell.error ?? null,
    cfg: settings.cfg,
    top_k: settings.topK,
    top_p: settings.topP,
    temperature: settings.temperature,
    sampler: settings.sampler,
  };
  if (!ev) return [common];
  const K = cfg.patchNums.length;
  return ev.images.map((im) => {
    const row: Row = {
      ...common,
      class_index: im.classIndex,
      class_name: cfg.classes[im.classIndex],
      seed: im.seed,
      predicted_peak_bytes: im.predictedPeakBytes,
      measured_peak_bytes: im.measuredPeakBytes,
      bytes_match: im.predictedPeakBytes === im.measuredPeakBytes,
      ms: im.ms,
      ort_ms: im.ortMs,
      psnr_db: im.psnr,
      identical: im.identical,
      ssim: im.ssim,
      feature_distance: im.featureDistance,
    };
    for (let k = 0; k < K; k++) row[`token_agreement_s${k}`] = im.tokenAgreement[k];
    Object.assign(row, {
      token_agreement_last: im.tokenAgreement[K - 1],
      judge_predicted: im.judgePredicted,
      judge_predicted_name: cfg.classes[im.judgePredicted],
      judge_confidence: im.judgeConfidence,
      judge_correct: im.judgeCorrect,
      fd_emoji: Number.isFinite(ev.fdEmoji) ? ev.fdEmoji : null,
      class_accuracy: ev.accuracy,
      n_images: ev.images.length,
    });
    for (const m of FIDELITY_COLUMNS) {
      const f = FIDELITY_COLUMN_FIELDS[m];
      row[m] = im.fidelity.overall[f];
      for (let k = 0; k < K; k++) row[`${m}_s${k}`] = im.fidelity.perScale[k][f];
    }
    return row;
  });
}

/** One summary row per cell (means with 95 % t-intervals, FD-emoji, class accuracy). */
export function cellSummaries(rows: readonly Row[]): Row[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const k = `${r.label}\u0000${r.budget_ratio}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const r0 = g[0];
    const out: Row = {
      label: r0.label,
      method: r0.method,
      params: r0.params,
      budget_ratio: r0.budget_ratio,
      budget_bytes: r0.budget_bytes,
      infeasible: r0.infeasible,
      message: r0.message,
      n_images: r0.infeasible ? 0 : g.length,
    };
    if (!r0.infeasible) {
      const m = (k: string) => meanCI(g.map((r) => Number(r[k])));
      Object.assign(out, {
        measured_peak_bytes: m("measured_peak_bytes").mean,
        predicted_peak_bytes: m("predicted_peak_bytes").mean,
        all_bytes_match: g.every((r) => r.bytes_match === true),
        identical_fraction: g.filter((r) => r.identical === true).length / g.length,
        ms_mean: m("ms").mean,
        fd_emoji: r0.fd_emoji,
        class_accuracy: r0.class_accuracy,
      });
      for (const k of Object.keys(SWEEP_METRICS)) {
        const ci = m(k);
        Object.assign(out, {
          [`${k}_mean`]: ci.mean,
          [`${k}_ci_lo`]: Number.isFinite(ci.lo) ? ci.lo : null,
          [`${k}_ci_hi`]: Number.isFinite(ci.hi) ? ci.hi : null,
        });
      }
    }
    return out;
  });
}

function readShard(file: string, key: string): CellShard | null {
  if (!existsSync(file)) return null;
  try {
    const s = readJsonFile(file, { maxBytes: READ_LIMITS.schedule, what: "sweep cell shard" }) as CellShard;
    if (s.version !== SWEEP_VERSION || s.key !== key || !Array.isArray(s.rows) || s.rows.length === 0) return null;
    return s;
  } catch {
    return null;
  }
}

/** The files a sweep writes for `out`: the per-image and per-cell Parquet files, their manifest, the shards folder. */
export function sweepOutputs(out: string): NamedPath[] {
  return [
    { path: out, what: "--out" },
    { path: cellsPath(out), what: "cells file" },
    { path: pairedPath(out), what: "paired file" },
    { path: manifestPathFor(out), what: "sweep manifest" },
    { path: `${out}.shards`, what: "shards folder" },
  ];
}

/** Before any work: outputs are no input (--stats) or model file and are writable; then the run holds `<out>.lock`. */
/** Metrics compared pairwise in `<out>_paired.parquet` (image metrics and the teacher-forced fidelity). */
export const PAIRED_METRICS = ["psnr_db", "ssim", "feature_distance", "tf_kl", "tf_kl_logits", "tf_tv", "tf_top1", "tf_p_ref"] as const;
export const REFERENCE_RATIO = 0.2;

export const PAIRED_SCHEMA: Record<string, ColumnType> = {
  metric: "VARCHAR",
  comparison: "VARCHAR",
  label: "VARCHAR",
  method: "VARCHAR",
  budget_ratio: "DOUBLE",
  mean: "DOUBLE",
  bytes: "DOUBLE",
  reference_label: "VARCHAR",
  reference_ratio: "DOUBLE",
  reference_mean: "DOUBLE",
  reference_bytes: "DOUBLE",
  n_pairs: "INTEGER",
  diff_mean: "DOUBLE",
  diff_ci_lo: "DOUBLE",
  diff_ci_hi: "DOUBLE",
  verdict: "VARCHAR",
};

/**
 * Paired comparisons of every cell (src/lib/metrics/paired.ts) per metric: `same_budget` = vs the best
 * baseline at the same budget; `reference_budget` = vs the best baseline at 20 % (the headline's target).
 */
export function pairedSummaries(rows: readonly Row[]): Row[] {
  const out: Row[] = [];
  const finite = (x: number) => (Number.isFinite(x) ? x : null);
  for (const metric of PAIRED_METRICS) {
    const higherIsBetter = SWEEP_METRICS[metric].higherIsBetter;
    const cells = cellValues(rows.map((r) => ({ ...(r as unknown as PairedRow), value: r[metric] as number | null })));
    const head = pairedHeadline(cells, { higherIsBetter, referenceRatio: REFERENCE_RATIO });
    const emit = (comparison: string, c: ReturnType<typeof versusBestBaseline>[number]) =>
      out.push({
        metric,
        comparison,
        label: c.label,
        method: c.method,
        budget_ratio: c.ratio,
        mean: c.mean,
        bytes: finite(c.bytes),
        reference_label: c.reference.label,
        reference_ratio: c.reference.ratio,
        reference_mean: c.reference.mean,
        reference_bytes: finite(c.reference.bytes),
        n_pairs: c.diff.pairs,
        diff_mean: finite(c.diff.mean),
        diff_ci_lo: finite(c.diff.lo),
        diff_ci_hi: finite(c.diff.hi),
        verdict: c.verdict,
      });
    for (const c of versusBestBaseline(cells, { higherIsBetter })) emit("same_budget", c);
    if (head.reference) for (const c of versusCell(cells, head.reference, { higherIsBetter })) emit("reference_budget", c);
  }
  return out;
}

/**
 * The paired verdicts in words (logged at the end of a complete sweep): per metric the best baseline at 20 %,
 * each method's paired difference there and its smallest budget not significantly worse; how often the
 * verdicts agree between the two halves of the seeds; Kendall τ between the PSNR and the KL rankings.
 */
export function describePaired(rows: readonly Row[], metrics: readonly (typeof PAIRED_METRICS)[number][] = ["psnr_db", "feature_distance", "tf_kl"]): string[] {
  const lines: string[] = [];
  const values = (metric: string) => rows.map((r) => ({ ...(r as unknown as PairedRow), value: r[metric] as number | null }));
  const pc = (x: number) => `${+(100 * x).toFixed(2)} %`;
  const f = (x: number) => (Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(2));
  for (const metric of metrics) {
    const higherIsBetter = SWEEP_METRICS[metric].higherIsBetter;
    const cells = cellValues(values(metric));
    const h = pairedHeadline(cells, { higherIsBetter, referenceRatio: REFERENCE_RATIO });
    if (!h.reference) continue;
    lines.push(`${metric}: best baseline at ${pc(REFERENCE_RATIO)} = ${h.reference.label} (mean ${f(h.reference.mean)}); paired t, 95 %:`);
    for (const r of h.rows) {
      const at = r.atReference ? `${f(r.atReference.diff.mean)} ± ${f(r.atReference.diff.half)} (${r.atReference.verdict})` : "—";
      const hit = r.hit ? `${pc(r.hit.ratio)} (${(r.hit.bytes / h.reference.bytes).toFixed(2)}× its bytes)` : "not within the sweep";
      lines.push(`  ${r.label}: at ${pc(REFERENCE_RATIO)} ${at}; not significantly worse from ${hit}`);
    }
    const per = versusBestBaseline(cells, { higherIsBetter });
    for (const ratio of [...new Set(per.map((c) => c.ratio))]) {
      const at = per.filter((c) => c.ratio === ratio);
      const n = (v: string) => at.filter((c) => c.verdict === v).length;
      lines.push(`  at ${pc(ratio)} vs ${at[0].reference.label}: ${n("better")} better, ${n("equal")} equal, ${n("worse")} worse`);
    }
    const st = halfSeedStability(values(metric), { higherIsBetter, referenceRatio: REFERENCE_RATIO });
    lines.push(
      `  half-seed stability (seeds ${st.seedsA.join(",")} vs ${st.seedsB.join(",")}): per-budget verdicts agree ${st.verdictsAgree}/${st.verdicts}, smallest not-worse budgets agree ${st.headlineAgree}/${st.headline}`,
    );
  }
  const tau = rankAgreement(cellValues(values("psnr_db")), cellValues(values("tf_kl")), true, false);
  lines.push(
    `Kendall τ (PSNR vs KL rankings): ${tau.all.toFixed(3)} over ${tau.cells} cells; per budget ${tau.perBudget.map((r) => `${pc(r.ratio)} ${r.tau.toFixed(3)} (${r.methods})`).join(", ")}; mean ${tau.meanPerBudget.toFixed(3)}`,
  );
  return lines;
}

export async function sweep(o: SweepOptions = {}): Promise<SweepResult> {
  const out = requireOutputPath(o.out ?? DEFAULT_SWEEP_PATH, "--out");
  return runWithOutputLock(
    {
      guard: { inputs: statsStoreInputs(o.stats ?? DEFAULT_STATS_PATH), outputs: sweepOutputs(out), modelDirs: [o.modelDir ?? MODEL_DIR] },
      out,
      purpose: "heatkv sweep",
      staleTemps: [out, cellsPath(out), pairedPath(out), manifestPathFor(out)],
    },
    () => sweepLocked(o, out),
  );
}

async function sweepLocked(o: SweepOptions, out: string): Promise<SweepResult> {
  const t0 = performance.now();
  const log = o.log ?? ((s: string) => console.error(s));
  const specs = (o.methods ?? defaultMethodSpecs()).map((s) => parseMethodSpec(s, "--methods"));
  // a typo in a parameter (heatkv:sigma=abc) is refused before any work, not stored as an infeasible cell
  for (const s of specs) resolveParams(s.method, getMethod(s.method).params, s.params, `--methods ${s.label}`);
  if (new Set(specs.map((s) => s.label)).size !== specs.length)
    throw new Error(`--methods: a method spec is listed twice (${specs.map((s) => s.label).join(", ")})`);
  const budgets = o.budgets ?? DEFAULT_BUDGETS;
  for (const b of budgets) if (!(b > 0 && b <= 1)) throw new Error(`--budgets: every budget must be in (0, 100] %, got ${b * 100} %`);
  const ctx = await loadEvalContext({
    modelDir: o.modelDir,
    threads: o.threads,
    settings: o.settings,
    stats: o.stats,
    needStats: specs.some((s) => getMethod(s.method).needsStats),
    needLowRank: specs.some((s) => getMethod(s.method).needsLowRank),
  });
  const cfg = ctx.model.config;
  const classes = o.classes ?? cfg.classes.map((_, i) => i);
  const seeds = o.seeds ?? DEFAULT_EVAL_SEEDS;
  for (const c of classes)
    if (!(Number.isInteger(c) && c >= 0 && c < cfg.numClasses)) throw new Error(`--classes: class index ${c} is not in 0..${cfg.numClasses - 1}`);
  const prompts: Prompt[] = classes.flatMap((classIndex) => seeds.map((seed) => ({ classIndex, seed })));
  if (prompts.length === 0) throw new Error("evaluation set is empty (no classes or no seeds)");
  // the weights are part of the key: config_hash only describes the shapes, so a retrained model keeps it
  const weights = modelFingerprint(o.modelDir ?? MODEL_DIR, cfg);
  const evalHash = sha({ v: SWEEP_VERSION, h: cfg.configHash, weights, s: ctx.settings, classes, seeds }, 10);
  const dir = join(`${out}.shards`, evalHash);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith(".tmp")) rmSync(join(dir, f), { force: true }); // interrupted writes

  // the cells: the full-cache reference first, then every method × budget (infeasible ones recorded)
  const cells: Cell[] = [];
  const variantShas = new Map<string, string>(); // per run: each variant's graph hashed once
  const addCell = (spec: MethodSpec, ratio: number) => {
    let schedule: Schedule | undefined;
    let error: string | undefined;
    try {
      schedule = buildSchedule(spec.method, cfg, budgetString(ratio), {
        params: spec.params,
        stats: ctx.stats,
        lowRank: ctx.lowRank,
        source: `${spec.label} @ ${budgetString(ratio)}`,
      });
    } catch (e) {
      if (!(e instanceof ScheduleError)) throw e;
      error = e.message;
    }
    // a low-rank cell also depends on its variant's step graph (not covered by the base model's fingerprint)
    // (the file's own hash, not recalkv.json's record of it: a stale graph must not reuse cells)
    const variantFile = schedule?.lowRank ? ctx.lowRank?.variants.find((v) => v.id === schedule?.lowRank?.variant)?.file : undefined;
    if (variantFile && !variantShas.has(variantFile)) variantShas.set(variantFile, variantFileSha(o.modelDir ?? MODEL_DIR, variantFile));
    const variantSha = variantFile ? variantShas.get(variantFile) : undefined;
    const key = sha(
      schedule
        ? { v: SWEEP_VERSION, label: spec.label, ratio, schedule: stringifySchedule(schedule), ...(variantSha ? { variantSha } : {}) }
        : { v: SWEEP_VERSION, label: spec.label, ratio, params: spec.params, error },
    );
    const file = join(dir, `${spec.label.replace(/[^\w=.-]+/g, "_")}_${+(ratio * 100).toFixed(4)}pct_${key}.json`);
    cells.push({ spec, ratio, key, file, schedule, error });
  };
  addCell(parseMethodSpec("full"), 1);
  for (const spec of specs) {
    if (spec.method === "full") continue;
    for (const b of budgets) addCell(spec, b);
  }
  const done = new Map<Cell, CellShard>();
  for (const c of cells) {
    const s = readShard(c.file, c.key);
    if (s) done.set(c, s);
  }
  const todo = cells.filter((c) => !done.has(c));
  const feasibleTodo = todo.filter((c) => c.schedule);
  log(
    `sweep: ${cells.length} cells (${specs.length} methods × ${budgets.length} budgets + full) × ${prompts.length} images (${classes.length} classes × seeds ${seeds.join(",")}), ` +
      `${cells.length - todo.length} already done, model ${cfg.modelId} (${cfg.configHash}), ${ctx.model.backend.name}`,
  );
  const bar = o.progress === false || feasibleTodo.length === 0 ? null : new Progress(feasibleTodo.length * prompts.length, "sweep");
  let ref: ReferenceSet | null = null;
  let computed = 0;
  let images = 0;
  for (const c of todo) {
    if (o.limit !== undefined && computed >= o.limit) break;
    const t = performance.now();
    let ev: Awaited<ReturnType<typeof evaluateSchedule>> | null = null;
    if (c.schedule) {
      const tick = () => {
        images++;
        bar?.tick(`${c.spec.label} @ ${budgetString(c.ratio)}`);
      };
      ref ??= await referenceSet(ctx, prompts, c.spec.method === "full" ? tick : undefined);
      ev = await evaluateSchedule(ctx, ref, c.spec.method === "full" ? ref.schedule : c.schedule, tick);
      const bad = ev.images.filter((im) => im.measuredPeakBytes !== im.predictedPeakBytes);
      if (bad.length)
        log(`sweep: WARNING ${c.spec.label} @ ${budgetString(c.ratio)}: measured peak bytes differ from the schedule's prediction on ${bad.length} images`);
    }
    const rows = cellRows(cfg, weights, ctx.settings, c, ev);
    const shard: CellShard = { version: SWEEP_VERSION, key: c.key, label: c.spec.label, rows, seconds: (performance.now() - t) / 1000 };
    writeAtomic(c.file, JSON.stringify(shard));
    done.set(c, shard);
    computed++;
  }
  const complete = cells.every((c) => done.has(c));
  const result: SweepResult = {
    out,
    cellsOut: cellsPath(out),
    pairedOut: pairedPath(out),
    complete,
    cells: cells.length,
    computed,
    reused: cells.length - todo.length,
    infeasible: cells.filter((c) => !c.schedule).length,
    images,
    rows: 0,
    wallSeconds: 0,
  };
  if (complete) {
    const rows = cells.flatMap((c) => done.get(c)!.rows);
    // one unit: the three files and a manifest written last (node/store-unit.ts)
    writeUnit(out, [
      { path: out, data: await toParquet(sweepSchema(cfg.patchNums.length), rows) },
      { path: cellsPath(out), data: await toParquet(CELL_SCHEMA, cellSummaries(rows)) },
      { path: pairedPath(out), data: await toParquet(PAIRED_SCHEMA, pairedSummaries(rows)) },
    ]);
    result.rows = rows.length;
    log(`sweep: wrote ${out} (${rows.length} rows), ${cellsPath(out)} and ${pairedPath(out)}`);
    for (const line of describePaired(rows)) log(`sweep: ${line}`);
  } else {
    log(`sweep: stopped after ${computed} new cells; run again to resume`);
  }
  result.wallSeconds = (performance.now() - t0) / 1000;
  return result;
}
