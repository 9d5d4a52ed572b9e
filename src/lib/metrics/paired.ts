/**
 * Paired comparisons of sweep cells (pure, browser-safe; the sweep job, /quality and /report use it).
 *
 * Two cells of the sweep are generated on the same (class, seed) prompts, so their difference is measured
 * per image: d_i = x_i(method) − x_i(reference) over the prompts both have, and the interval is the paired
 * Student-t interval mean(d) ± t_{0.975, n−1} · sd(d) / √n. That removes the between-image variance that
 * makes every cell's own 95 % band overlap every other's.
 *
 * Verdicts (per metric, per budget): a method is "better" / "worse" than the best baseline at that budget
 * when the paired interval excludes 0 on that side, else "equal". The best baseline at a budget is the
 * baseline (registry role) with the best mean there — chosen on the same images, which favours it slightly.
 * The paired headline: per method, the smallest swept budget whose paired difference to the best baseline
 * at the reference budget (20 %) is not significantly worse.
 */
import { isBaselineMethod } from "../schedules/registry.js";
import { kendallTau } from "./attention.js";
import { type MeanCI, meanCI } from "./sweep.js";

/** One image of one cell with one metric's value (the columns the pages select from sweep.parquet). */
export interface PairedRow {
  label: string;
  method: string;
  budget_ratio: number;
  class_index: number | null;
  seed: number | null;
  value: number | null;
  measured_peak_bytes?: number | null;
  infeasible?: boolean | null;
}

export type Verdict = "better" | "equal" | "worse";

export interface PairedDiff extends MeanCI {
  /** prompts both cells have (= n) */
  pairs: number;
}

const promptKey = (r: { class_index: number | null; seed: number | null }) => `${r.class_index}/${r.seed}`;

/** Paired t-interval of a − b over the keys both maps hold (finite values only). */
export function pairedCI(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>, level = 0.95): PairedDiff {
  const d: number[] = [];
  for (const [k, x] of a) {
    const y = b.get(k);
    if (y !== undefined && Number.isFinite(x) && Number.isFinite(y)) d.push(x - y);
  }
  return { ...meanCI(d, level), pairs: d.length };
}

/** better / equal / worse from a paired interval of (method − reference). */
export function verdictOf(diff: MeanCI, higherIsBetter: boolean): Verdict {
  if (!(diff.n >= 2) || !Number.isFinite(diff.lo)) return "equal";
  if (higherIsBetter ? diff.lo > 0 : diff.hi < 0) return "better";
  if (higherIsBetter ? diff.hi < 0 : diff.lo > 0) return "worse";
  return "equal";
}

export interface CellValues {
  label: string;
  method: string;
  ratio: number;
  mean: number;
  bytes: number;
  /** value per prompt "class/seed" */
  values: Map<string, number>;
}

const sameRatio = (a: number, b: number) => Math.abs(a - b) < 1e-9;

/** Group the per-image rows into feasible cells (label × budget) with their values keyed by prompt. */
export function cellValues(rows: readonly PairedRow[]): CellValues[] {
  const groups = new Map<string, CellValues & { bytesSum: number; nBytes: number }>();
  for (const r of rows) {
    if (r.infeasible || r.value === null || r.value === undefined) continue;
    const v = Number(r.value);
    if (!Number.isFinite(v)) continue;
    const k = `${r.label}\u0000${r.budget_ratio}`;
    let g = groups.get(k);
    if (!g) {
      g = { label: r.label, method: r.method, ratio: Number(r.budget_ratio), mean: 0, bytes: 0, values: new Map(), bytesSum: 0, nBytes: 0 };
      groups.set(k, g);
    }
    g.values.set(promptKey(r), v);
    const b = Number(r.measured_peak_bytes);
    if (Number.isFinite(b)) {
      g.bytesSum += b;
      g.nBytes++;
    }
  }
  return [...groups.values()].map(({ bytesSum, nBytes, ...c }) => {
    const vs = [...c.values.values()];
    return { ...c, mean: vs.reduce((a, x) => a + x, 0) / vs.length, bytes: nBytes ? bytesSum / nBytes : Number.NaN };
  });
}

export interface PairedOptions {
  higherIsBetter: boolean;
  isBaseline?: (method: string) => boolean;
  /** labels that are the uncompressed reference (excluded from comparisons); default method "full" */
  isReference?: (method: string) => boolean;
  level?: number;
}

/** The best baseline among `cells` at `ratio` (best mean), or null. */
export function bestBaseline(cells: readonly CellValues[], ratio: number, o: PairedOptions): CellValues | null {
  const isBaseline = o.isBaseline ?? isBaselineMethod;
  let best: CellValues | null = null;
  for (const c of cells) {
    if (!isBaseline(c.method) || !sameRatio(c.ratio, ratio)) continue;
    if (!best || (o.higherIsBetter ? c.mean > best.mean : c.mean < best.mean)) best = c;
  }
  return best;
}

export interface Comparison {
  label: string;
  method: string;
  ratio: number;
  mean: number;
  bytes: number;
  /** the cell compared with */
  reference: { label: string; ratio: number; mean: number; bytes: number };
  /** paired (this − reference) */
  diff: PairedDiff;
  verdict: Verdict;
}

const compare = (c: CellValues, ref: CellValues, o: PairedOptions): Comparison => {
  const diff = pairedCI(c.values, ref.values, o.level ?? 0.95);
  return {
    label: c.label,
    method: c.method,
    ratio: c.ratio,
    mean: c.mean,
    bytes: c.bytes,
    reference: { label: ref.label, ratio: ref.ratio, mean: ref.mean, bytes: ref.bytes },
    diff,
    verdict: verdictOf(diff, o.higherIsBetter),
  };
};

/** Per budget: every compressed cell vs the best baseline at the same budget (the best baseline itself excluded). */
export function versusBestBaseline(cells: readonly CellValues[], o: PairedOptions): Comparison[] {
  const isRef = o.isReference ?? ((m: string) => m === "full");
  const ratios = [...new Set(cells.filter((c) => !isRef(c.method)).map((c) => c.ratio))].sort((a, b) => a - b);
  const out: Comparison[] = [];
  for (const ratio of ratios) {
    const best = bestBaseline(cells, ratio, o);
    if (!best) continue;
    for (const c of cells) if (!isRef(c.method) && sameRatio(c.ratio, ratio) && c !== best) out.push(compare(c, best, o));
  }
  return out.sort((a, b) => a.ratio - b.ratio || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
}

/** Every compressed cell (the reference cell itself excluded) vs one reference cell, by budget then label. */
export function versusCell(cells: readonly CellValues[], reference: CellValues, o: PairedOptions): Comparison[] {
  const isRef = o.isReference ?? ((m: string) => m === "full");
  return cells
    .filter((c) => !isRef(c.method) && c !== reference)
    .map((c) => compare(c, reference, o))
    .sort((a, b) => a.ratio - b.ratio || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
}

export interface PairedHeadlineRow {
  label: string;
  method: string;
  /** the smallest swept budget not significantly worse than the reference cell; null when none is */
  hit: Comparison | null;
  /** this method at the reference budget vs the reference cell (null when not swept there or it is the reference) */
  atReference: Comparison | null;
}

export interface PairedHeadline {
  referenceRatio: number;
  reference: CellValues | null;
  rows: PairedHeadlineRow[];
}

/**
 * Per method label: the smallest swept budget whose paired difference to the best baseline at
 * `referenceRatio` is not significantly negative (the interval reaches 0 or beyond on the good side).
 */
export function pairedHeadline(cells: readonly CellValues[], o: PairedOptions & { referenceRatio?: number }): PairedHeadline {
  const referenceRatio = o.referenceRatio ?? 0.2;
  const isRef = o.isReference ?? ((m: string) => m === "full");
  const reference = bestBaseline(cells, referenceRatio, o);
  const labels = [...new Set(cells.filter((c) => !isRef(c.method)).map((c) => c.label))].sort();
  const rows = labels.map((label): PairedHeadlineRow => {
    const own = cells.filter((c) => c.label === label).sort((a, b) => a.ratio - b.ratio);
    const method = own[0].method;
    if (!reference) return { label, method, hit: null, atReference: null };
    let hit: Comparison | null = null;
    for (const c of own) {
      const cmp = c === reference ? { ...compare(c, reference, o), verdict: "equal" as Verdict } : compare(c, reference, o);
      if (cmp.verdict !== "worse") {
        hit = cmp;
        break;
      }
    }
    const atRef = own.find((c) => sameRatio(c.ratio, referenceRatio));
    return { label, method, hit, atReference: atRef && atRef !== reference ? compare(atRef, reference, o) : null };
  });
  return { referenceRatio, reference, rows };
}

/**
 * How stable the verdicts are between two halves of the seeds: the per-budget verdicts (vs the best
 * baseline of each half) and the paired headline's budgets, computed on each half separately.
 */
export function halfSeedStability(
  rows: readonly PairedRow[],
  o: PairedOptions & { referenceRatio?: number },
): { seedsA: number[]; seedsB: number[]; verdicts: number; verdictsAgree: number; headline: number; headlineAgree: number } {
  const seeds = [...new Set(rows.filter((r) => r.seed !== null).map((r) => Number(r.seed)))].sort((a, b) => a - b);
  const half = Math.floor(seeds.length / 2);
  const seedsA = seeds.slice(0, half);
  const seedsB = seeds.slice(half);
  const on = (s: number[]) => cellValues(rows.filter((r) => r.seed !== null && s.includes(Number(r.seed))));
  const [a, b] = [on(seedsA), on(seedsB)];
  const verdictsOf = (cells: typeof a) => new Map(versusBestBaseline(cells, o).map((c) => [`${c.label}@${c.ratio}`, c.verdict]));
  const hitsOf = (cells: typeof a) => new Map(pairedHeadline(cells, o).rows.map((r) => [r.label, r.hit?.ratio ?? null]));
  const v = agreement(verdictsOf(a), verdictsOf(b));
  const h = agreement(hitsOf(a), hitsOf(b));
  return { seedsA, seedsB, verdicts: v.both, verdictsAgree: v.agree, headline: h.both, headlineAgree: h.agree };
}

/** Keys present in both maps, and how many of them map to the same value. */
function agreement<K, V>(a: Map<K, V>, b: Map<K, V>): { both: number; agree: number } {
  let both = 0;
  let agree = 0;
  for (const [k, v] of a)
    if (b.has(k)) {
      both++;
      if (b.get(k) === v) agree++;
    }
  return { both, agree };
}

/**
 * How well two metrics rank the same cells (Kendall tau-b, both oriented so that larger = better): over
 * every compressed cell matched by (label, budget), and the mean over budgets of the ranking of the method
 * settings within one budget (the comparison that matters: more budget improves both metrics, which alone
 * makes the all-cells τ high).
 */
export function rankAgreement(
  a: readonly CellValues[],
  b: readonly CellValues[],
  aHigherIsBetter: boolean,
  bHigherIsBetter: boolean,
  isReference: (method: string) => boolean = (m) => m === "full",
): { all: number; cells: number; perBudget: { ratio: number; tau: number; methods: number }[]; meanPerBudget: number } {
  const key = (c: CellValues) => `${c.label}\u0000${c.ratio}`;
  const bBy = new Map(b.map((c) => [key(c), c]));
  const pairs = a.filter((c) => !isReference(c.method) && bBy.has(key(c))).map((c) => ({ ratio: c.ratio, x: c.mean, y: bBy.get(key(c))!.mean }));
  const sx = aHigherIsBetter ? 1 : -1;
  const sy = bHigherIsBetter ? 1 : -1;
  const tau = (ps: typeof pairs) =>
    kendallTau(
      ps.map((p) => sx * p.x),
      ps.map((p) => sy * p.y),
    );
  const ratios = [...new Set(pairs.map((p) => p.ratio))].sort((x, y) => x - y);
  const perBudget = ratios
    .map((ratio) => {
      const ps = pairs.filter((p) => p.ratio === ratio);
      return { ratio, tau: tau(ps), methods: ps.length };
    })
    .filter((r) => r.methods >= 3);
  const finite = perBudget.filter((r) => Number.isFinite(r.tau));
  return {
    all: tau(pairs),
    cells: pairs.length,
    perBudget,
    meanPerBudget: finite.length ? finite.reduce((s, r) => s + r.tau, 0) / finite.length : Number.NaN,
  };
}
