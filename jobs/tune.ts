/**
 * `heatkv tune --metric psnr --target 28 --method heatkv`: the smallest KV memory whose mean quality meets a
 * target on the CALIBRATION prompts (every class × seeds 1–2, full-cache images as reference), then verified
 * on the evaluation set (every class × seeds 101–108, as the sweep) and exported as a schedule JSON whose
 * `details.tuning` holds the search and the measured numbers (calibration and evaluation).
 *
 * Search: bisection over the budget ratio between the smallest feasible budget and 100 %, to `tolerance`
 * (default 0.5 percentage points); for heatkv also over σ (default 0–3), keeping the σ with the smallest
 * measured peak bytes. Bisection assumes quality grows with the budget; it returns a budget that meets the
 * target while the budget `tolerance` below it did not.
 */
import type { CalibrationSettings } from "../src/lib/metrics/calibration.js";
import { meanCI, SWEEP_METRICS, type SweepMetric } from "../src/lib/metrics/sweep.js";
import { buildSchedule, getMethod, type Schedule, ScheduleError, stringifySchedule } from "../src/lib/schedules/index.js";
import { DEFAULT_CALIBRATION_SEEDS } from "./calibrate.js";
import {
  DEFAULT_EVAL_SEEDS,
  type EvalContext,
  evaluateSchedule,
  type ImageEval,
  loadEvalContext,
  parseMethodSpec,
  type Prompt,
  referenceSet,
  type ReferenceSet,
  rowsOf,
  type SweepSettings,
} from "./sweep.js";
import { writeAtomic } from "../node/files.js";
import { runWithOutputLock } from "../node/lock.js";
import { MODEL_DIR } from "../node/paths.js";
import { DEFAULT_STATS_PATH, statsStoreInputs } from "./calibrate.js";
import { readConfig } from "./schedule.js";
import { join } from "node:path";

/** Fewest images a tuning or verification set may have: below it the 95 % interval is meaningless (n = 1: none). */
export const MIN_TUNE_IMAGES = 8;

export const METRIC_ALIASES: Record<string, SweepMetric> = {
  kl: "tf_kl",
  "tf-kl": "tf_kl",
  tf_kl: "tf_kl",
  "kl-logits": "tf_kl_logits",
  tf_kl_logits: "tf_kl_logits",
  top1: "tf_top1",
  tf_top1: "tf_top1",
  psnr: "psnr_db",
  psnr_db: "psnr_db",
  ssim: "ssim",
  "feature-distance": "feature_distance",
  feature_distance: "feature_distance",
  fd: "feature_distance",
  "token-agreement": "token_agreement_last",
  token_agreement_last: "token_agreement_last",
};

export function parseMetric(name: string): SweepMetric {
  const key = name.trim().toLowerCase();
  const m = Object.hasOwn(METRIC_ALIASES, key) ? METRIC_ALIASES[key] : undefined;
  if (!m) throw new Error(`--metric must be one of psnr, ssim, feature-distance, token-agreement, kl, kl-logits, top1, got "${name}"`);
  return m;
}

export interface TuneOptions {
  metric: string;
  target: number;
  /** method spec, e.g. "heatkv", "scalekv:drafterFraction=0.1" */
  method: string;
  /** heatkv: σ values to search (default 0–3; ignored when the spec fixes sigma) */
  sigmas?: number[];
  /** bisection stops when the bracket is this narrow (ratio, default 0.005 = 0.5 percentage points) */
  tolerance?: number;
  classes?: number[];
  calibrationSeeds?: number[];
  evalSeeds?: number[];
  settings?: Partial<SweepSettings>;
  stats?: string;
  modelDir?: string;
  threads?: number;
  /** schedule JSON to write */
  out?: string;
  log?: (s: string) => void;
}

interface Probe {
  ratio: number;
  feasible: boolean;
  mean: number;
  peakBytes: number;
  meets: boolean;
}

/** Two probes where the larger budget has the worse mean: quality does not grow with the budget there. */
export interface NonMonotoneStep {
  lower: { ratio: number; mean: number; meets: boolean };
  higher: { ratio: number; mean: number; meets: boolean };
}

/** Every adjacent pair of probes (by budget) whose mean gets worse as the budget grows. */
export function nonMonotoneSteps(probes: readonly Probe[], higherIsBetter: boolean): NonMonotoneStep[] {
  const sorted = [...probes].sort((a, b) => a.ratio - b.ratio);
  const out: NonMonotoneStep[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    if (higherIsBetter ? b.mean < a.mean : b.mean > a.mean)
      out.push({ lower: { ratio: a.ratio, mean: a.mean, meets: a.meets }, higher: { ratio: b.ratio, mean: b.mean, meets: b.meets } });
  }
  return out;
}

export interface TuneCandidate {
  params: Record<string, unknown>;
  /** probes where a larger budget gave a worse mean (bisection assumes the opposite) */
  nonMonotone: NonMonotoneStep[];
  /** smallest budget found meeting the target on the calibration set, null when even 100 % does not */
  ratio: number | null;
  mean: number | null;
  peakBytes: number | null;
  minFeasibleRatio: number;
  probes: Probe[];
}

export interface MeasuredSet {
  prompts: number;
  seeds: number[];
  metric: { mean: number; ci95: [number, number]; n: number };
  means: Record<string, number>;
  fdEmoji: number | null;
  classAccuracy: number;
  peakBytes: number;
  predictedPeakBytes: number;
  bytesMatch: boolean;
  meetsTarget: boolean;
}

export interface TuneResult {
  schedule: Schedule;
  metric: SweepMetric;
  target: number;
  calibration: MeasuredSet;
  evaluation: MeasuredSet;
  candidates: TuneCandidate[];
  seconds: number;
  out?: string;
}

const budgetOf = (ratio: number) => String(+ratio.toFixed(6));
const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

function measured(metric: SweepMetric, target: number, ev: Awaited<ReturnType<typeof evaluateSchedule>>, seeds: number[]): MeasuredSet {
  const ci = meanCI(ev.images.map((im) => metricOf(im, metric)));
  const means: Record<string, number> = {};
  for (const k of Object.keys(SWEEP_METRICS) as SweepMetric[]) means[k] = meanCI(ev.images.map((im) => metricOf(im, k))).mean;
  const meets = SWEEP_METRICS[metric].higherIsBetter ? ci.mean >= target : ci.mean <= target;
  return {
    prompts: ev.images.length,
    seeds,
    metric: { mean: ci.mean, ci95: [ci.lo, ci.hi], n: ci.n },
    means,
    fdEmoji: Number.isFinite(ev.fdEmoji) ? ev.fdEmoji : null,
    classAccuracy: ev.accuracy,
    peakBytes: Math.max(...ev.images.map((im) => im.measuredPeakBytes)),
    predictedPeakBytes: ev.images[0].predictedPeakBytes,
    bytesMatch: ev.images.every((im) => im.measuredPeakBytes === im.predictedPeakBytes),
    meetsTarget: meets,
  };
}

export function metricOf(im: ImageEval, metric: SweepMetric): number {
  switch (metric) {
    case "psnr_db":
      return im.psnr;
    case "ssim":
      return im.ssim;
    case "feature_distance":
      return im.featureDistance;
    case "token_agreement_last":
      return im.tokenAgreement[im.tokenAgreement.length - 1];
    case "tf_kl":
      return im.fidelity.overall.kl;
    case "tf_kl_logits":
      return im.fidelity.overall.klLogits;
    case "tf_tv":
      return im.fidelity.overall.tv;
    case "tf_top1":
      return im.fidelity.overall.top1;
    case "tf_p_ref":
      return im.fidelity.overall.pRef;
  }
}

/** Smallest feasible ratio (on a 1e-4 grid) for the method and params: schedule building is cheap. */
function minFeasible(ctx: EvalContext, method: string, params: Record<string, unknown>): number {
  const ok = (r: number) => {
    try {
      buildSchedule(method, ctx.model.config, budgetOf(r), { params, stats: ctx.stats, lowRank: ctx.lowRank });
      return true;
    } catch (e) {
      if (e instanceof ScheduleError) return false;
      throw e;
    }
  };
  if (!ok(1)) throw new Error(`${method} ${JSON.stringify(params)} is infeasible even at 100 %`);
  let lo = 0;
  let hi = 1;
  while (hi - lo > 1e-4) {
    const mid = round4((lo + hi) / 2);
    if (mid <= lo || mid >= hi) break;
    if (ok(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

async function searchRatio(
  ctx: EvalContext,
  ref: ReferenceSet,
  metric: SweepMetric,
  target: number,
  method: string,
  params: Record<string, unknown>,
  tol: number,
  log: (s: string) => void,
): Promise<TuneCandidate> {
  const hib = SWEEP_METRICS[metric].higherIsBetter;
  const probes: Probe[] = [];
  const probe = async (ratio: number): Promise<Probe> => {
    const s = buildSchedule(method, ctx.model.config, budgetOf(ratio), { params, stats: ctx.stats, lowRank: ctx.lowRank });
    const ev = await evaluateSchedule(ctx, ref, s);
    const mean = meanCI(ev.images.map((im) => metricOf(im, metric))).mean;
    const p: Probe = {
      ratio,
      feasible: true,
      mean,
      peakBytes: Math.max(...ev.images.map((im) => im.measuredPeakBytes)),
      meets: hib ? mean >= target : mean <= target,
    };
    probes.push(p);
    log(
      `tune: ${method} ${JSON.stringify(params)} @ ${(100 * ratio).toFixed(2)} %: mean ${metric} ${mean.toFixed(4)} ${p.meets ? "meets" : "misses"} ${target}`,
    );
    return p;
  };
  const minRatio = minFeasible(ctx, method, params);
  const top = await probe(1);
  const steps = () => nonMonotoneSteps(probes, hib);
  if (!top.meets) return { params, ratio: null, mean: null, peakBytes: null, minFeasibleRatio: minRatio, probes, nonMonotone: steps() };
  let best = top;
  const bottom = await probe(minRatio);
  if (bottom.meets) best = bottom;
  else {
    let lo = minRatio;
    let hi = 1;
    while (hi - lo > tol) {
      const mid = round4((lo + hi) / 2);
      if (mid <= lo || mid >= hi) break;
      const p = await probe(mid);
      if (p.meets) {
        hi = mid;
        best = p;
      } else lo = mid;
    }
  }
  const nonMonotone = steps();
  for (const st of nonMonotone)
    log(
      `tune: NON-MONOTONE ${JSON.stringify(params)}: ${(100 * st.higher.ratio).toFixed(2)} % gives mean ${st.higher.mean.toFixed(4)}, worse than ${st.lower.mean.toFixed(4)} at ${(100 * st.lower.ratio).toFixed(2)} % — bisection assumes quality grows with the budget, so the budget found may not be the smallest`,
    );
  return { params, ratio: best.ratio, mean: best.mean, peakBytes: best.peakBytes, minFeasibleRatio: minRatio, probes, nonMonotone };
}

export async function tune(o: TuneOptions): Promise<TuneResult> {
  const t0 = performance.now();
  const log = o.log ?? ((s: string) => console.error(s));
  const metric = parseMetric(o.metric);
  if (!Number.isFinite(o.target)) throw new Error(`--target must be a number, got ${o.target}`);
  const tol = o.tolerance ?? 0.005;
  if (!(tol > 0 && tol < 1)) throw new Error(`--tolerance must be in (0, 1), got ${tol}`);
  const spec = parseMethodSpec(o.method);
  if (spec.method === "full") throw new Error("--method full has nothing to tune (it is the uncompressed reference)");
  const modelDir = o.modelDir ?? MODEL_DIR;
  const sigmaFixed = spec.method !== "heatkv" || "sigma" in spec.params;
  let sigmas: (number | undefined)[] = [undefined];
  if (!sigmaFixed) {
    const K = readConfig(join(modelDir, "config.json")).patchNums.length;
    sigmas = o.sigmas ?? DEFAULT_SIGMAS.filter((s) => s <= K - 2);
    checkSigmas(sigmas as number[], K);
  }
  // before any work: the output is no input or model file and is writable; the run holds `<out>.lock`
  const run = () => tuneLocked(o, t0, log, metric, tol, spec, sigmas);
  if (o.out === undefined) return run();
  return runWithOutputLock(
    {
      guard: { inputs: statsStoreInputs(o.stats ?? DEFAULT_STATS_PATH), outputs: [{ path: o.out, what: "--out" }], modelDirs: [modelDir] },
      out: o.out,
      purpose: "heatkv tune",
    },
    run,
  );
}

/** heatkv's σ search range: integers in [0, K−2] (σ = K−1 would leave no scale to prune). */
export const DEFAULT_SIGMAS = [0, 1, 2, 3];
export function checkSigmas(sigmas: readonly number[], K: number): void {
  if (sigmas.length === 0) throw new Error("--sigmas: no σ to search");
  for (const s of sigmas)
    if (!Number.isInteger(s) || s < 0 || s > K - 2)
      throw new Error(`--sigmas: σ = ${s} is outside [0, ${K - 2}] for heatkv on this model (K = ${K} scales; σ must be at most K−2)`);
}

async function tuneLocked(
  o: TuneOptions,
  t0: number,
  log: (s: string) => void,
  metric: SweepMetric,
  tol: number,
  spec: ReturnType<typeof parseMethodSpec>,
  sigmas: (number | undefined)[],
): Promise<TuneResult> {
  const ctx = await loadEvalContext({
    modelDir: o.modelDir,
    threads: o.threads,
    settings: o.settings,
    stats: o.stats,
    needStats: getMethod(spec.method).needsStats,
    needLowRank: getMethod(spec.method).needsLowRank,
  });
  const cfg = ctx.model.config;
  const classes = o.classes ?? cfg.classes.map((_, i) => i);
  const calSeeds = o.calibrationSeeds ?? DEFAULT_CALIBRATION_SEEDS;
  const evalSeeds = o.evalSeeds ?? DEFAULT_EVAL_SEEDS;
  const prompts = (seeds: number[]): Prompt[] => classes.flatMap((classIndex) => seeds.map((seed) => ({ classIndex, seed })));
  for (const [name, seeds] of [
    ["--calibration-seeds", calSeeds],
    ["--eval-seeds", evalSeeds],
  ] as const)
    if (classes.length * seeds.length < MIN_TUNE_IMAGES)
      throw new Error(
        `${name}: ${classes.length} classes × ${seeds.length} seeds = ${classes.length * seeds.length} images; tune needs at least ${MIN_TUNE_IMAGES} per set for a 95 % interval worth stating (add classes or seeds)`,
      );
  log(
    `tune: ${spec.label}, ${metric} target ${target(metric, o.target)} on the calibration prompts (${classes.length} classes × seeds ${calSeeds.join(",")}); full-cache references…`,
  );
  const calRef = await referenceSet(ctx, prompts(calSeeds));
  const candidates: TuneCandidate[] = [];
  for (const sigma of sigmas) {
    const params = sigma === undefined ? spec.params : { ...spec.params, sigma };
    candidates.push(await searchRatio(ctx, calRef, metric, o.target, spec.method, params, tol, log));
  }
  const found = candidates.filter((c) => c.ratio !== null);
  if (found.length === 0) {
    throw new Error(
      `${spec.label}: no budget up to 100 % reaches mean ${metric} ${target(metric, o.target)} on the calibration prompts (at 100 %: ${candidates.map((c) => c.probes[0].mean.toFixed(4)).join(", ")})`,
    );
  }
  found.sort((a, b) => a.peakBytes! - b.peakBytes! || a.ratio! - b.ratio!);
  const best = found[0];
  const schedule = buildSchedule(spec.method, cfg, budgetOf(best.ratio!), { params: best.params, stats: ctx.stats, lowRank: ctx.lowRank });
  const calibration = measured(metric, o.target, await evaluateSchedule(ctx, calRef, schedule), calSeeds);
  log(
    `tune: best ${JSON.stringify(schedule.params)} at ${(100 * best.ratio!).toFixed(2)} % (${best.peakBytes} B peak); verifying on the evaluation set (seeds ${evalSeeds.join(",")})…`,
  );
  const evalRef = await referenceSet(ctx, prompts(evalSeeds));
  const evaluation = measured(metric, o.target, await evaluateSchedule(ctx, evalRef, schedule), evalSeeds);
  const seconds = (performance.now() - t0) / 1000;
  schedule.details = {
    ...schedule.details,
    tuning: {
      tool: "heatkv tune",
      metric,
      metricLabel: SWEEP_METRICS[metric].label,
      target: o.target,
      direction: SWEEP_METRICS[metric].higherIsBetter ? "mean ≥ target" : "mean ≤ target",
      sampler: ctx.settings,
      classes,
      tolerance: tol,
      calibration,
      evaluation,
      candidates: candidates.map((c) => ({
        params: c.params,
        ratio: c.ratio,
        mean: c.mean,
        peakBytes: c.peakBytes,
        minFeasibleRatio: c.minFeasibleRatio,
        probes: c.probes,
        nonMonotone: c.nonMonotone,
      })),
      cacheRows: rowsOf(ctx.settings),
      seconds,
    },
  };
  const result: TuneResult = { schedule, metric, target: o.target, calibration, evaluation, candidates, seconds };
  if (o.out) {
    writeAtomic(o.out, stringifySchedule(schedule));
    result.out = o.out;
  }
  return result;
}

function target(metric: SweepMetric, t: number): string {
  return `${SWEEP_METRICS[metric].higherIsBetter ? "≥" : "≤"} ${t}`;
}

/** Human summary of a tuning result. */
export function describeTune(r: TuneResult): string {
  const hib = SWEEP_METRICS[r.metric].higherIsBetter;
  const verdict = (m: MeasuredSet) => {
    const [lo, hi] = m.metric.ci95;
    const whole = hib ? lo >= r.target : hi <= r.target;
    const none = hib ? hi < r.target : lo > r.target;
    return !m.meetsTarget
      ? `MISSES the target ${target(r.metric, r.target)}${none ? " (the whole interval misses it)" : " (the interval still reaches it)"}`
      : whole
        ? `meets the target ${target(r.metric, r.target)} with the whole interval`
        : `meets the target ${target(r.metric, r.target)} by its mean only: the interval [${lo.toFixed(4)}, ${hi.toFixed(4)}] also contains values that miss it`;
  };
  const f = (m: MeasuredSet, name: string) =>
    `  ${name}: ${m.prompts} images (seeds ${m.seeds.join(",")}): mean ${r.metric} ${m.metric.mean.toFixed(4)}, verified 95 % t-interval [${m.metric.ci95.map((x) => x.toFixed(4)).join(", ")}] (n = ${m.metric.n}); ${verdict(m)}; ` +
    `PSNR ${m.means.psnr_db.toFixed(2)} dB, SSIM ${m.means.ssim.toFixed(4)}, feature distance ${m.means.feature_distance.toFixed(4)}, token agreement (last scale) ${m.means.token_agreement_last.toFixed(3)}, ` +
    `FD-emoji ${m.fdEmoji?.toFixed(3) ?? "n/a"}, class accuracy ${(100 * m.classAccuracy).toFixed(1)} %; peak KV ${m.peakBytes} B measured = ${m.predictedPeakBytes} B predicted: ${m.bytesMatch}`;
  const s = r.schedule;
  return [
    `tuned ${s.method} ${JSON.stringify(s.params)} at ${(100 * s.budget.ratio).toFixed(2)} % of ${s.budget.denominator}`,
    f(r.calibration, "calibration"),
    f(r.evaluation, "evaluation"),
    ...r.candidates.flatMap((c) =>
      c.nonMonotone.map(
        (st) =>
          `  NON-MONOTONE ${JSON.stringify(c.params)}: mean ${st.higher.mean.toFixed(4)} at ${(100 * st.higher.ratio).toFixed(2)} % is worse than ${st.lower.mean.toFixed(4)} at ${(100 * st.lower.ratio).toFixed(2)} % (${hib ? "lower" : "higher"} is worse): bisection's assumption fails here`,
      ),
    ),
    `  searched: ${r.candidates.map((c) => `${JSON.stringify(c.params)} → ${c.ratio === null ? "unreachable" : `${(100 * c.ratio).toFixed(2)} % (${c.peakBytes} B)`} in ${c.probes.length} probes`).join("; ")}`,
    `  ${r.seconds.toFixed(1)} s${r.out ? `; wrote ${r.out} (measured numbers in details.tuning)` : ""}`,
  ].join("\n");
}
