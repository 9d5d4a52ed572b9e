// The sweep's cells for the quality page (quality.md): the metric options, one row per (method label,
// budget) from DuckDB-wasm SQL with its 95 % t-interval (math: src/lib/metrics/sweep.ts), and the orders and
// formats the chart, table and headline share.
import { type CellStat, ciFromMoments } from "../../metrics/sweep.js";
import type { Database } from "../duckdb.js";

export interface MetricOption {
  key: string;
  label: string;
  /** axis label with unit */
  axis: string;
  higherIsBetter: boolean;
  /** set-level (one value per cell, no per-image interval) */
  setLevel?: boolean;
  /** teacher-forced cache fidelity (src/lib/metrics/fidelity.ts): no sampling noise */
  fidelity?: boolean;
  /** unit after a number, e.g. " dB" */
  unit?: string;
}

export const METRIC_OPTIONS: MetricOption[] = [
  { key: "psnr_db", label: "PSNR", axis: "PSNR vs full-cache image (dB)", higherIsBetter: true, unit: " dB" },
  { key: "ssim", label: "SSIM", axis: "SSIM vs full-cache image (0–1)", higherIsBetter: true },
  {
    key: "feature_distance",
    label: "feature distance (LPIPS-like proxy)",
    axis: "feature distance (emoji-classifier features, lower is better)",
    higherIsBetter: false,
  },
  { key: "token_agreement_last", label: "token agreement, last scale", axis: "token agreement at the last scale (fraction)", higherIsBetter: true },
  {
    key: "fd_emoji",
    label: "FD-emoji (FID-like proxy, set-level)",
    axis: "FD-emoji vs the full-cache set (lower is better)",
    higherIsBetter: false,
    setLevel: true,
  },
  {
    key: "class_accuracy",
    label: "class accuracy (prompt-alignment proxy, set-level)",
    axis: "emoji-classifier accuracy on the prompted class (fraction)",
    higherIsBetter: true,
    setLevel: true,
  },
  {
    key: "tf_kl",
    label: "KL(full ‖ compressed), teacher-forced",
    axis: "KL of the sampled next-token distributions, nats/token (lower is better)",
    higherIsBetter: false,
    fidelity: true,
  },
  {
    key: "tf_kl_logits",
    label: "KL on the CFG-mixed logits, teacher-forced",
    axis: "KL of softmax(CFG-mixed logits), nats/token (lower is better)",
    higherIsBetter: false,
    fidelity: true,
  },
  {
    key: "tf_tv",
    label: "total variation, teacher-forced",
    axis: "total variation of the sampled distributions (lower is better)",
    higherIsBetter: false,
    fidelity: true,
  },
  { key: "tf_top1", label: "top-1 agreement, teacher-forced", axis: "argmax agreement with the full cache (fraction)", higherIsBetter: true, fidelity: true },
  {
    key: "tf_p_ref",
    label: "p(full run's token), teacher-forced",
    axis: "compressed cache's probability of the full run's token",
    higherIsBetter: true,
    fidelity: true,
  },
];

export interface Cell extends CellStat {
  sd: number;
  lo: number;
  hi: number;
  predicted: number;
  bytesMatch: boolean;
  identical: number;
  fdEmoji: number | null;
  accuracy: number | null;
  ms: number;
  message: string | null;
}

export function metricOption(key: string): MetricOption {
  const m = METRIC_OPTIONS.find((o) => o.key === key);
  if (!m) throw new Error(`unknown metric ${key}`);
  return m;
}

/** Code-point order (as DuckDB's ORDER BY), not the locale's: "heatkv+recalkv" < "heatkv:sigma=1". */
export const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A budget ratio as a percentage: 0.2 → "20 %", 0.125 → "12.5 %". */
export const pct = (r: number) => `${+(100 * r).toFixed(2)} %`;

/** SQL: one row per (method label, budget) with the metric's mean, sd and n and the cell facts. */
export function cellsSql(metric: string): string {
  const m = metricOption(metric);
  const value = m.setLevel ? `any_value(${m.key})` : `avg(${m.key})`;
  const sd = m.setLevel ? "NULL::DOUBLE" : `stddev_samp(${m.key})`;
  return `SELECT label, any_value(method) AS method, budget_ratio,
  count(*) FILTER (WHERE NOT infeasible) AS n,
  ${value} AS mean, ${sd} AS sd,
  avg(measured_peak_bytes) AS bytes, avg(predicted_peak_bytes) AS predicted,
  coalesce(bool_and(bytes_match), false) AS bytes_match,
  avg(CASE WHEN identical THEN 1 ELSE 0 END) AS identical,
  any_value(fd_emoji) AS fd_emoji, any_value(class_accuracy) AS accuracy,
  avg(ms) AS ms, bool_or(infeasible) AS infeasible, any_value(message) AS message
FROM sweep
GROUP BY label, budget_ratio
ORDER BY label, budget_ratio`;
}

/** A row of cellsSql(). */
export interface CellRow {
  label: string;
  method: string;
  budget_ratio: number;
  n: number;
  mean: number | null;
  sd: number | null;
  bytes: number | null;
  predicted: number | null;
  bytes_match: boolean;
  identical: number | null;
  fd_emoji: number | null;
  accuracy: number | null;
  ms: number | null;
  infeasible: boolean;
  message: string | null;
}

/** SQL rows → cells with 95 % t-intervals (per-image metrics only; NaN for set-level ones). */
export function toCells(rows: readonly CellRow[], metric: string): Cell[] {
  const setLevel = metricOption(metric).setLevel;
  return rows.map((r) => {
    const n = Number(r.n);
    const mean = r.mean === null ? Number.NaN : Number(r.mean);
    const ci = setLevel ? { lo: Number.NaN, hi: Number.NaN } : ciFromMoments(n, mean, r.sd === null ? Number.NaN : Number(r.sd));
    return {
      label: r.label,
      method: r.method,
      ratio: Number(r.budget_ratio),
      n,
      mean,
      bytes: Number(r.bytes ?? Number.NaN),
      infeasible: Boolean(r.infeasible),
      sd: Number(r.sd ?? Number.NaN),
      lo: ci.lo,
      hi: ci.hi,
      predicted: Number(r.predicted ?? Number.NaN),
      bytesMatch: Boolean(r.bytes_match),
      identical: Number(r.identical ?? 0),
      fdEmoji: r.fd_emoji,
      accuracy: r.accuracy,
      ms: Number(r.ms ?? Number.NaN),
      message: r.message,
    };
  });
}

/** Query the cells and attach 95 % t-intervals (per-image metrics only). */
export async function queryCells(db: Database, metric: string): Promise<Cell[]> {
  return toCells(await db.query<CellRow>(cellsSql(metric)), metric);
}
