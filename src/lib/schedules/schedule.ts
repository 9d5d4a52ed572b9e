/**
 * The Schedule: for every target scale t = 1..K−1 and every (layer, head), which cache entries stay while
 * t is generated (= the entries fed to scale t's step; scale t's own keys are always added by the runtime).
 *
 * - static: whole source-scale blocks. keep[t*N + lh] is a bit mask over source scales s < t.
 * - dynamic: a kept entry COUNT per (t, lh) + the rule (scorer) that picks which entries at run time from
 *   the ScaleObservation; counts[t*N + lh].
 * N = L·H, lh = l*H + h. Row t = 0 is the empty cache entering scale 0 (all zero).
 */
import type { ModelShape } from "../model/index.js";
import { type LowRankManifest, latentWidths, kvBlockBytes } from "../model/index.js";
import { SCHEDULE_FORMAT_VERSION, SCORER_NAMES, type ScorerName } from "../schema/schedule.js";
import { type Budget, budgetTokenLimit } from "./budget.js";
import { ScheduleError, shown } from "./errors.js";
import { type ScheduleModel, checkedShape } from "./shape.js";

/** the schedule JSON format version (one definition: src/lib/schema/schedule.ts) */
export const SCHEDULE_VERSION = SCHEDULE_FORMAT_VERSION;

/** Token-selection rules for dynamic schedules (see scorers.ts). */
export { SCORER_NAMES, type ScorerName };

export interface ScorerParams {
  /** h2o: fraction of a head's count reserved for the most recent entries (rest: heavy hitters) */
  recentRatio: number;
  /** snapkv: observation-window tokens of the current scale always kept first (grid centres) */
  window: number;
  /** snapkv: 1-D max-pool kernel over each source scale's token order (odd) */
  poolKernel: number;
}

export const DEFAULT_SCORER: ScorerParams = { recentRatio: 0.5, window: 16, poolKernel: 5 };

export type ParamValue = number | boolean | string;

/**
 * The low-rank (ReCalKV) part of a schedule: which exported step-graph variant runs and its latent widths.
 * Keys: one latent [rows, P_g, keyWidth] per (layer, group) holding the union of the group's heads' kept
 * entries; values: one latent [rows, P_h, valueWidth] per (layer, head); a head that keeps a strict subset
 * of its group's entries also holds an Int32 index list [P_h] into the group latent (4 B per entry).
 */
export interface LowRankPart {
  /** variant id in recalkv.json, e.g. "r50" */
  variant: string;
  rankRatio: number;
  groupSize: number;
  keyWidth: number;
  valueWidth: number;
  /** groups[layer][group] = ascending heads */
  groups: number[][][];
  /**
   * exact sink scales: cached entries of source scales < sigma are held at full width (k and v, as in the
   * full cache), later ones as latents; 0 or absent = all latent
   */
  sigma?: number;
}

/** Bytes of one index entry (Int32) of a head that keeps a strict subset of its group's entries. */
export const LOW_RANK_INDEX_BYTES = 4;

interface ScheduleCommon {
  version: typeof SCHEDULE_VERSION;
  model: ScheduleModel;
  method: string;
  params: Record<string, ParamValue>;
  budget: Budget;
  /** method-specific facts for plots and reports (plain JSON), e.g. heatkv's prune counts and orders */
  details: Record<string, unknown>;
  /** low-rank (ReCalKV) cache: static schedules only; bytes are then the latent cache's (predictedBytes) */
  lowRank?: LowRankPart;
}

export interface StaticSchedule extends ScheduleCommon {
  kind: "static";
  /** [K*N] bit s set = source scale s kept while target t is generated */
  keep: Uint32Array;
}

export interface DynamicSchedule extends ScheduleCommon {
  kind: "dynamic";
  /** [K*N] kept entries per (target, head) */
  counts: Int32Array;
  /** [N] scorer per (layer, head) */
  rules: ScorerName[];
  scorer: ScorerParams;
}

export type Schedule = StaticSchedule | DynamicSchedule;

export const numHeadsTotal = (m: ScheduleModel) => m.numLayers * m.numHeads;

/** Σ n_s over the set bits of a keep mask. */
export function maskTokens(mask: number, tokensPerScale: number[]): number {
  let n = 0;
  for (let s = 0; s < tokensPerScale.length; s++) if ((mask >>> s) & 1) n += tokensPerScale[s];
  return n;
}

/** Source scales in a keep mask, ascending. */
export function maskScales(mask: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < 32; s++) if ((mask >>> s) & 1) out.push(s);
  return out;
}

export const scalesMask = (scales: Iterable<number>) => {
  let m = 0;
  for (const s of scales) m |= 1 << s;
  return m >>> 0;
};

/** Tokens entering each target scale per (layer, head): [K][N] (row 0 = 0). */
export function keptTokens(schedule: Schedule): number[][] {
  const shape = checkedShape(schedule.model);
  const N = numHeadsTotal(schedule.model);
  const out: number[][] = [];
  for (let t = 0; t < shape.numScales; t++) {
    const row = new Array<number>(N);
    for (let i = 0; i < N; i++) {
      row[i] = schedule.kind === "static" ? maskTokens(schedule.keep[t * N + i], shape.tokensPerScale) : schedule.counts[t * N + i];
    }
    out.push(row);
  }
  return out;
}

/** Kept entries summed over all (layer, head) entering each target scale: [K]. */
export function keptTotals(schedule: Schedule): number[] {
  return keptTokens(schedule).map((row) => row.reduce((a, b) => a + b, 0));
}

export interface PredictedBytes {
  /** bytes fed to each scale's step, t = 0..K−1 — equals the runtime's ScaleRecord.cacheBytes */
  perScale: number[];
  peak: number;
}

/**
 * Bytes the runtime's cache holds entering each scale (fed to its step).
 * Full width: K and V of the kept entries, tokens · 2 · d · bytesPerElement · rows.
 * Low rank (static): Σ_(layer, group) |∪ heads' kept entries| · keyWidth · bpe · rows
 *   + Σ_(layer, head) kept · valueWidth · bpe · rows + kept · 4 B (Int32 index) for heads keeping a strict
 *   subset of their group's union; with lowRank.sigma = σ > 0 the kept entries of source scales < σ count at
 *   full width instead (2 · d · bpe · rows each) and only the later scales' entries count as above.
 */
export function predictedBytes(schedule: Schedule, rows = 2, bytesPerElement = 4): PredictedBytes {
  if (schedule.lowRank) return lowRankBytes(schedule, schedule.lowRank, rows, bytesPerElement);
  const perToken = kvBlockBytes(schedule.model.headDim, 1, bytesPerElement, rows);
  const perScale = keptTotals(schedule).map((n) => n * perToken);
  return { perScale, peak: Math.max(...perScale) };
}

function lowRankBytes(s: Schedule, lr: LowRankPart, rows: number, bpe: number): PredictedBytes {
  if (s.kind !== "static")
    throw new ScheduleError("schedule", "lowRank", "is only defined for static schedules (the union of a group's kept entries must be known in advance)");
  return staticLowRankBytes(s.model, s.keep, lr, rows, bpe);
}

/** predictedBytes of a static keep set [K·N] held as a low-rank latent cache with this layout and σ. */
export function staticLowRankBytes(model: ScheduleModel, keep: Uint32Array, lr: LowRankPart, rows: number, bpe: number): PredictedBytes {
  const s = { model, keep };
  const shape = checkedShape(s.model);
  const N = numHeadsTotal(s.model);
  const H = s.model.numHeads;
  const sigma = lr.sigma ?? 0;
  const exactMask = sigma >= 32 ? 0xffffffff : ((1 << sigma) - 1) >>> 0;
  const perExact = kvBlockBytes(s.model.headDim, 1, bpe, rows);
  const perScale: number[] = [];
  for (let t = 0; t < shape.numScales; t++) {
    let b = 0;
    lr.groups.forEach((gs, l) => {
      for (const g of gs) {
        let union = 0;
        for (const h of g) union |= s.keep[t * N + l * H + h] & ~exactMask;
        b += maskTokens(union >>> 0, shape.tokensPerScale) * lr.keyWidth * bpe * rows;
        for (const h of g) {
          const all = s.keep[t * N + l * H + h];
          const m = (all & ~exactMask) >>> 0;
          const n = maskTokens(m, shape.tokensPerScale);
          b += maskTokens((all & exactMask) >>> 0, shape.tokensPerScale) * perExact;
          b += n * lr.valueWidth * bpe * rows + (m !== union >>> 0 ? n * LOW_RANK_INDEX_BYTES : 0);
        }
      }
    });
    perScale.push(b);
  }
  return { perScale, peak: Math.max(...perScale) };
}

/** Check a low-rank part against the model: widths in range, groups partition the heads of every layer. */
export function checkLowRankPart(lr: LowRankPart, model: ScheduleModel, source: string, prefix = "lowRank"): void {
  const f = (k: string) => `${prefix}.${k}`;
  const { numLayers: L, numHeads: H, headDim: d } = model;
  if (typeof lr !== "object" || lr === null) throw new ScheduleError(source, prefix, `must be an object, got ${shown(lr)}`);
  if (typeof lr.variant !== "string" || !lr.variant) throw new ScheduleError(source, f("variant"), `must be a variant id, got ${shown(lr.variant)}`);
  if (typeof lr.rankRatio !== "number" || !(lr.rankRatio > 0 && lr.rankRatio <= 1))
    throw new ScheduleError(source, f("rankRatio"), `must be in (0, 1], got ${shown(lr.rankRatio)}`);
  if (!Number.isInteger(lr.groupSize) || lr.groupSize < 1 || H % lr.groupSize !== 0)
    throw new ScheduleError(source, f("groupSize"), `must divide the ${H} heads, got ${shown(lr.groupSize)}`);
  if (!Number.isInteger(lr.keyWidth) || lr.keyWidth < 1 || lr.keyWidth > lr.groupSize * d)
    throw new ScheduleError(source, f("keyWidth"), `must be an integer in [1, groupSize·headDim = ${lr.groupSize * d}], got ${shown(lr.keyWidth)}`);
  if (!Number.isInteger(lr.valueWidth) || lr.valueWidth < 1 || lr.valueWidth > d)
    throw new ScheduleError(source, f("valueWidth"), `must be an integer in [1, headDim = ${d}], got ${shown(lr.valueWidth)}`);
  // the widths follow from the rank ratio (train/recalkv.py): forged widths would make the byte check meaningless
  const w = latentWidths(lr.rankRatio, lr.groupSize, d);
  if (lr.keyWidth !== w.keyWidth)
    throw new ScheduleError(
      source,
      f("keyWidth"),
      `is ${lr.keyWidth} but rankRatio ${lr.rankRatio} × groupSize ${lr.groupSize} × headDim ${d} gives ${w.keyWidth}`,
    );
  if (lr.valueWidth !== w.valueWidth)
    throw new ScheduleError(source, f("valueWidth"), `is ${lr.valueWidth} but rankRatio ${lr.rankRatio} × headDim ${d} gives ${w.valueWidth}`);
  if (lr.sigma !== undefined) {
    const K = checkedShape(model, source).numScales;
    if (!Number.isInteger(lr.sigma) || lr.sigma < 0 || lr.sigma > K - 1)
      throw new ScheduleError(source, f("sigma"), `must be an integer in [0, K−1 = ${K - 1}] (exact sink scales), got ${shown(lr.sigma)}`);
  }
  if (!Array.isArray(lr.groups) || lr.groups.length !== L)
    throw new ScheduleError(source, f("groups"), `must list ${L} layers, got ${shown(lr.groups?.length)}`);
  lr.groups.forEach((gs, l) => {
    const seen = new Set<number>();
    const ok =
      Array.isArray(gs) &&
      gs.length === H / lr.groupSize &&
      gs.every(
        (g) =>
          Array.isArray(g) &&
          g.length === lr.groupSize &&
          g.every((h, i) => Number.isInteger(h) && h >= 0 && h < H && !seen.has(h) && seen.add(h) && (i === 0 || h > g[i - 1])),
      );
    if (!ok)
      throw new ScheduleError(
        source,
        `${f("groups")}[${l}]`,
        `must partition heads 0..${H - 1} into ${H / lr.groupSize} ascending groups of ${lr.groupSize}, got ${shown(gs)}`,
      );
  });
}

/** Check a low-rank part against the model's ReCalKV variants: its variant exists with the same ratio, widths and groups. */
export function checkLowRankVariant(lr: LowRankPart, manifest: LowRankManifest, source: string, prefix = "lowRank"): void {
  const v = manifest.variants.find((x) => x.id === lr.variant);
  if (!v)
    throw new ScheduleError(
      source,
      `${prefix}.variant`,
      `must be one of the model's ReCalKV variants ${manifest.variants.map((x) => x.id).join(", ")} (recalkv.json), got ${shown(lr.variant)}`,
    );
  const same: [string, unknown, unknown][] = [
    ["rankRatio", lr.rankRatio, v.rankRatio],
    ["groupSize", lr.groupSize, v.groupSize],
    ["keyWidth", lr.keyWidth, v.keyLatentWidth],
    ["valueWidth", lr.valueWidth, v.valueLatentWidth],
  ];
  for (const [k, mine, theirs] of same)
    if (mine !== theirs) throw new ScheduleError(source, `${prefix}.${k}`, `is ${shown(mine)} but variant ${v.id} in recalkv.json has ${shown(theirs)}`);
  v.groups.forEach((gs, l) => {
    if (JSON.stringify(lr.groups[l]) !== JSON.stringify(gs))
      throw new ScheduleError(
        source,
        `${prefix}.groups[${l}]`,
        `is ${shown(lr.groups[l])} but variant ${v.id} in recalkv.json groups layer ${l} as ${shown(gs)}`,
      );
  });
}

/**
 * Semantic checks every schedule obeys (on build and on import); throws one ScheduleError line.
 * - static: a target keeps only sources s < t, and a dropped block never returns (mask(t+1) ⊆ mask(t) ∪ {t});
 * - dynamic: 0 ≤ count(t) ≤ count(t−1) + n_{t−1} (nothing re-added; the rule picks from what is there);
 * - at every target the kept entries summed over heads fit the budget (L·H·C_max·ratio);
 * - low rank: widths follow the rank ratio, params.rankRatio (unless 0 = auto) is lowRank.rankRatio, and
 *   given the model's ReCalKV variants (`lowRank`), the variant exists with the same widths and groups.
 */
export function checkScheduleSemantics(s: Schedule, source = "schedule", lowRank?: LowRankManifest): void {
  const shape: ModelShape = checkedShape(s.model, source);
  const K = shape.numScales;
  const N = numHeadsTotal(s.model);
  const H = s.model.numHeads;
  const at = (t: number, i: number) => `targets[${t - 1}] (scale ${t}), layer ${Math.floor(i / H)}, head ${i % H}`;
  if (s.kind === "static") {
    if (!(s.keep instanceof Uint32Array) || s.keep.length !== K * N)
      throw new ScheduleError(source, "keep", `must hold K·L·H = ${K * N} masks, got ${shown(s.keep?.length)}`);
    for (let i = 0; i < N; i++) {
      if (s.keep[i] !== 0) throw new ScheduleError(source, "keep", "must be empty entering scale 0");
      for (let t = 1; t < K; t++) {
        const m = s.keep[t * N + i];
        if (m >>> t !== 0)
          throw new ScheduleError(source, at(t, i), `keeps source scale ${Math.floor(Math.log2(m))} ≥ target ${t} (only scales 0..${t - 1} are cached)`);
        const allowed = (s.keep[(t - 1) * N + i] | (1 << (t - 1))) >>> 0;
        const readded = (m & ~allowed) >>> 0;
        if (readded !== 0)
          throw new ScheduleError(
            source,
            at(t, i),
            `re-adds source scale ${maskScales(readded)[0]} dropped before scale ${t - 1}: a dropped block never returns`,
          );
      }
    }
  } else {
    if (!(s.counts instanceof Int32Array) || s.counts.length !== K * N)
      throw new ScheduleError(source, "counts", `must hold K·L·H = ${K * N} counts, got ${shown(s.counts?.length)}`);
    if (!Array.isArray(s.rules) || s.rules.length !== N)
      throw new ScheduleError(source, "rules", `must name one rule per (layer, head) = ${N}, got ${shown(s.rules?.length)}`);
    s.rules.forEach((r, i) => {
      if (!(SCORER_NAMES as readonly string[]).includes(r))
        throw new ScheduleError(
          source,
          `rules[${Math.floor(i / H)}][${i % H}]`,
          `must be one of ${SCORER_NAMES.map((x) => `"${x}"`).join(", ")}, got ${shown(r)}`,
        );
    });
    checkScorer(s.scorer, source);
    for (let i = 0; i < N; i++) {
      if (s.counts[i] !== 0) throw new ScheduleError(source, "counts", "must be 0 entering scale 0");
      for (let t = 1; t < K; t++) {
        const c = s.counts[t * N + i];
        const avail = s.counts[(t - 1) * N + i] + shape.tokensPerScale[t - 1];
        if (c < 0) throw new ScheduleError(source, at(t, i), `count must be ≥ 0, got ${c}`);
        if (c > avail)
          throw new ScheduleError(
            source,
            at(t, i),
            `count ${c} exceeds the ${avail} entries that can exist (kept ${s.counts[(t - 1) * N + i]} + ${shape.tokensPerScale[t - 1]} new): a dropped entry never returns`,
          );
      }
    }
  }
  if (s.lowRank) {
    if (s.kind !== "static") throw new ScheduleError(source, "lowRank", "is only allowed in static schedules");
    checkLowRankPart(s.lowRank, s.model, source);
    const pr = s.params.rankRatio;
    if (typeof pr === "number" && pr !== 0 && Math.abs(pr - s.lowRank.rankRatio) > 1e-9) {
      throw new ScheduleError(
        source,
        "params.rankRatio",
        `is ${pr} but lowRank.rankRatio (variant ${s.lowRank.variant}) is ${s.lowRank.rankRatio}: they must agree`,
      );
    }
    const ps = s.params.sigma;
    if (typeof ps === "number" && (s.lowRank.sigma ?? 0) !== Math.min(ps, K - 1)) {
      throw new ScheduleError(
        source,
        "lowRank.sigma",
        `is ${shown(s.lowRank.sigma ?? 0)} but params.sigma is ${ps}: the exact sink scales are the method's σ (min(σ, K−1) = ${Math.min(ps, K - 1)})`,
      );
    }
    if (lowRank) checkLowRankVariant(s.lowRank, lowRank, source);
    // low rank: the budget is in bytes of the full fp32 (or fp16) cache; the latent cache must fit it
    const pred = predictedBytes(s, s.budget.rows, s.budget.bytesPerElement);
    pred.perScale.forEach((b, t) => {
      if (t > 0 && b > s.budget.bytes * (1 + 1e-12) + 1e-9)
        throw new ScheduleError(
          source,
          `targets[${t - 1}]`,
          `holds ${b} B of low-rank cache entering scale ${t}, over the budget of ${s.budget.bytes.toFixed(1)} B (${s.budget.given} of the full cache)`,
        );
    });
    return;
  }
  const limit = budgetTokenLimit(s.budget);
  keptTotals(s).forEach((n, t) => {
    if (n > limit)
      throw new ScheduleError(
        source,
        `targets[${t - 1}]`,
        `keeps ${n} entries entering scale ${t}, over the budget of ${s.budget.tokens.toFixed(2)} (${s.budget.given} of ${N}·${shape.maxCacheTokens} token slots)`,
      );
  });
}

export function checkScorer(p: ScorerParams, source: string, prefix = "scorer"): void {
  if (!p || typeof p !== "object") throw new ScheduleError(source, prefix, `must be an object, got ${shown(p)}`);
  if (typeof p.recentRatio !== "number" || !(p.recentRatio >= 0 && p.recentRatio <= 1))
    throw new ScheduleError(source, `${prefix}.recentRatio`, `must be in [0, 1], got ${shown(p.recentRatio)}`);
  if (!Number.isInteger(p.window) || p.window < 0) throw new ScheduleError(source, `${prefix}.window`, `must be an integer ≥ 0, got ${shown(p.window)}`);
  if (!Number.isInteger(p.poolKernel) || p.poolKernel < 1 || p.poolKernel % 2 === 0)
    throw new ScheduleError(source, `${prefix}.poolKernel`, `must be an odd integer ≥ 1, got ${shown(p.poolKernel)}`);
}

/** The schedule must have been made for this model (same config hash and shape). */
export function checkScheduleModel(schedule: Pick<Schedule, "model">, cfg: ScheduleModel, source = "schedule"): void {
  const m = schedule.model;
  if (m.configHash !== cfg.configHash) {
    throw new ScheduleError(
      source,
      "model.configHash",
      `is ${shown(m.configHash)} but the loaded model ${shown(cfg.modelId)} has ${shown(cfg.configHash)}: this schedule was made for another model`,
    );
  }
  if (m.modelId !== cfg.modelId)
    throw new ScheduleError(
      source,
      "model.id",
      `is ${shown(m.modelId)} but the loaded model is ${shown(cfg.modelId)} (same config hash ${shown(cfg.configHash)}): the file was edited`,
    );
  for (const k of ["numLayers", "numHeads", "headDim"] as const) {
    if (m[k] !== cfg[k]) throw new ScheduleError(source, `model.${k}`, `is ${shown(m[k])} but the loaded model has ${cfg[k]}`);
  }
  if (m.patchNums.join() !== cfg.patchNums.join())
    throw new ScheduleError(source, "model.patchNums", `is ${shown(m.patchNums)} but the loaded model has ${shown(cfg.patchNums)}`);
}
