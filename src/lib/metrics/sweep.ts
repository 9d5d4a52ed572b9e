/**
 * Aggregation of the quality-vs-memory sweep (pure, browser-safe; the CLI, the loaders and the pages use it):
 *  - mean ± confidence interval (Student t) from values or from (n, mean, sd),
 *  - per-cell summaries of per-image rows,
 *  - the headline: for each method, the smallest swept budget whose mean quality matches the best
 *    baseline's at a reference budget (HeatKV's claim: "the same quality at half the memory").
 */
import { isBaselineMethod } from "../schedules/registry.js";

/**
 * The sweep's default token draw (src/lib/var/sampler.ts). Chosen on the measured flip rates (docs/sweep.md,
 * "Sampler"): at the first compressed scale with identical prefixes the exponential race flips 23 % of the
 * tokens vs 50 % for inverse-CDF, against a 19 % floor (the teacher-forced total variation). `--sampler
 * inverse-cdf` reproduces the sweeps before the option token for token.
 */
export const DEFAULT_SWEEP_SAMPLER = "gumbel" as const;

/** Evaluation seeds of the sweep (every class); calibration uses seeds 1–2, so the two sets are disjoint. */
export const EVAL_SEEDS = [101, 102, 103, 104, 105, 106, 107, 108];

export interface MeanCI {
  n: number;
  mean: number;
  /** sample standard deviation (n − 1) */
  sd: number;
  /** half-width of the interval: t_{(1+level)/2, n−1} · sd / √n (NaN when n < 2) */
  half: number;
  lo: number;
  hi: number;
  level: number;
}

/** ln Γ(x), Lanczos (g = 7, 9 terms), x > 0. */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta (Numerical Recipes betacf). */
function betaCf(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaCf(a, b, x)) / a : 1 - (front * betaCf(b, a, 1 - x)) / b;
}

/** CDF of Student's t with `df` degrees of freedom. */
export function tCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** Quantile of Student's t (bisection on the CDF), e.g. tQuantile(0.975, 10) = 2.228. */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`tQuantile: p must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new Error(`tQuantile: df must be > 0, got ${df}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -tQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (tCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Mean ± t-interval from summary moments (what SQL's count / avg / stddev_samp return). */
export function ciFromMoments(n: number, mean: number, sd: number, level = 0.95): MeanCI {
  if (!(level > 0 && level < 1)) throw new Error(`confidence level must be in (0, 1), got ${level}`);
  const half = n >= 2 && Number.isFinite(sd) ? (tQuantile((1 + level) / 2, n - 1) * sd) / Math.sqrt(n) : Number.NaN;
  return { n, mean: n > 0 ? mean : Number.NaN, sd: n >= 2 ? sd : Number.NaN, half, lo: mean - half, hi: mean + half, level };
}

/** Mean ± t-interval of the finite values (others are ignored). */
export function meanCI(values: readonly number[], level = 0.95): MeanCI {
  const v = values.filter((x) => Number.isFinite(x));
  const n = v.length;
  if (n === 0) return ciFromMoments(0, Number.NaN, Number.NaN, level);
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const sd = n >= 2 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : Number.NaN;
  return ciFromMoments(n, mean, sd, level);
}

/** Quality metrics the sweep stores per image, and their direction. */
export const SWEEP_METRICS = {
  psnr_db: { label: "PSNR (dB)", higherIsBetter: true },
  ssim: { label: "SSIM", higherIsBetter: true },
  feature_distance: { label: "feature distance (LPIPS-like proxy)", higherIsBetter: false },
  token_agreement_last: { label: "token agreement, last scale", higherIsBetter: true },
  // teacher-forced cache fidelity (src/lib/metrics/fidelity.ts): the full run's tokens replayed through the
  // compressed cache; no sampling noise
  tf_kl: { label: "KL(full ‖ compressed), sampled distribution (nats/token)", higherIsBetter: false },
  tf_kl_logits: { label: "KL(full ‖ compressed), CFG-mixed logits (nats/token)", higherIsBetter: false },
  tf_tv: { label: "total variation of the sampled distributions", higherIsBetter: false },
  tf_top1: { label: "top-1 agreement (teacher-forced)", higherIsBetter: true },
  tf_p_ref: { label: "p(full run's token) under the compressed cache", higherIsBetter: true },
} as const;
export type SweepMetric = keyof typeof SWEEP_METRICS;

/** One (method, budget) cell with the mean of one metric. */
export interface CellStat {
  /** method label, e.g. "heatkv" or "heatkv:sigma=1" */
  label: string;
  /** registered method name ("full" is the uncompressed reference) */
  method: string;
  /** budget as a fraction of the full cache */
  ratio: number;
  n: number;
  mean: number;
  /** mean measured peak KV bytes per image */
  bytes: number;
  infeasible?: boolean;
}

/** Group per-image rows into cells and summarise `metric` (mean ± CI, mean measured bytes). */
export function summarizeCells<
  R extends { label: string; method: string; budget_ratio: number; infeasible?: boolean | null; measured_peak_bytes?: number | null },
>(rows: readonly R[], metric: keyof R & string, level = 0.95): (CellStat & { ci: MeanCI })[] {
  const groups = new Map<string, R[]>();
  for (const r of rows) {
    const k = `${r.label}\u0000${r.budget_ratio}`;
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  return [...groups.values()].map((g) => {
    const r0 = g[0];
    const feasible = g.filter((r) => !r.infeasible);
    const ci = meanCI(
      feasible.map((r) => Number(r[metric])),
      level,
    );
    const bytes = meanCI(feasible.map((r) => Number(r.measured_peak_bytes))).mean;
    return { label: r0.label, method: r0.method, ratio: r0.budget_ratio, n: ci.n, mean: ci.mean, bytes, infeasible: feasible.length === 0, ci };
  });
}

export interface HeadlineOptions {
  /** budget of the baselines to match (default 0.2 = 20 %) */
  referenceRatio?: number;
  higherIsBetter: boolean;
  /** which labels count as baselines (default: every method except heatkv, heatkv+recalkv (HeatKV composed with ReCalKV) and full) */
  isBaseline?: (c: CellStat) => boolean;
}

export interface HeadlineRow {
  label: string;
  method: string;
  /** smallest swept budget whose mean matches the target, null when none does */
  ratio: number | null;
  mean: number | null;
  bytes: number | null;
  /** this method's measured bytes at its matching budget ÷ the reference's (0.5 = "half the memory", 1.48 = 48 % more) */
  memoryRatio: number | null;
}

export interface Headline {
  referenceRatio: number;
  /** the best baseline at the reference budget (highest mean, or lowest when lower is better) */
  reference: CellStat | null;
  /** its mean: the quality to match */
  target: number | null;
  rows: HeadlineRow[];
}

/** A baseline is what the registry calls one (ScheduleMethod.role): not full, not HeatKV or what builds on it. */
const defaultIsBaseline = (c: CellStat) => isBaselineMethod(c.method);
const sameRatio = (a: number, b: number) => Math.abs(a - b) < 1e-9;

/**
 * The headline rule: target = mean of the best baseline at the reference budget; for every method (full
 * excluded) the smallest swept budget whose mean meets the target (≥ when higher is better, ≤ otherwise).
 */
/** Per method label: the smallest swept budget whose mean meets `target` (≥ when higher is better, ≤ else). */
export function smallestMeeting(
  cells: readonly CellStat[],
  target: number,
  higherIsBetter: boolean,
): { label: string; method: string; cell: CellStat | null }[] {
  const meets = (m: number) => (higherIsBetter ? m >= target : m <= target);
  const usable = cells.filter((c) => !c.infeasible && c.n > 0 && Number.isFinite(c.mean));
  const labels = [...new Set(cells.filter((c) => c.method !== "full").map((c) => c.label))];
  return labels.map((label) => ({
    label,
    method: cells.find((c) => c.label === label)!.method,
    cell: usable.filter((c) => c.label === label && meets(c.mean)).sort((a, b) => a.ratio - b.ratio)[0] ?? null,
  }));
}

export function headline(cells: readonly CellStat[], opts: HeadlineOptions): Headline {
  const referenceRatio = opts.referenceRatio ?? 0.2;
  const isBaseline = opts.isBaseline ?? defaultIsBaseline;
  const better = (a: number, b: number) => (opts.higherIsBetter ? a > b : a < b);
  const usable = cells.filter((c) => !c.infeasible && c.n > 0 && Number.isFinite(c.mean));
  let reference: CellStat | null = null;
  for (const c of usable) {
    if (!isBaseline(c) || !sameRatio(c.ratio, referenceRatio)) continue;
    if (!reference || better(c.mean, reference.mean)) reference = c;
  }
  const target = reference ? reference.mean : null;
  const found = smallestMeeting(cells, target ?? Number.NaN, opts.higherIsBetter); // NaN target: nothing meets it
  const rows = found.map(({ label, method, cell: hit }): HeadlineRow => {
    if (!hit) return { label, method, ratio: null, mean: null, bytes: null, memoryRatio: null };
    return {
      label,
      method,
      ratio: hit.ratio,
      mean: hit.mean,
      bytes: hit.bytes,
      memoryRatio: reference && reference.bytes > 0 ? hit.bytes / reference.bytes : null,
    };
  });
  return { referenceRatio, reference, target, rows };
}
