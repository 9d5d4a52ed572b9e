/**
 * Methods by name, and buildSchedule(): validate everything once (model shape, budget, params, stats),
 * run the method's pure build, check the result's semantics (budget, monotonicity) and return a Schedule.
 */
import { type Budget, type BudgetOptions, budgetTokenLimit, checkBudget, parseBudget } from "./budget.js";
import { ScheduleError } from "./errors.js";
import type { MethodContext, ScheduleMethod } from "./method.js";
import { full } from "./methods/full.js";
import { h2o } from "./methods/h2o.js";
import { hack } from "./methods/hack.js";
import { heatkv } from "./methods/heatkv.js";
import { heatkvRecalkv } from "./methods/heatkv-recalkv.js";
import { recalkv } from "./methods/recalkv.js";
import type { LowRankManifest } from "../model/index.js";
import { pyramid } from "./methods/pyramid.js";
import { scalekv } from "./methods/scalekv.js";
import { streaming } from "./methods/streaming.js";
import { uniform } from "./methods/uniform.js";
import { type ParamSpecs, defaultParams, resolveParams } from "./params.js";
import { SCHEDULE_VERSION, type Schedule, checkScheduleSemantics } from "./schedule.js";
import { type ScheduleModel, checkedShape } from "./shape.js";
import { type HeadScaleStats, checkStats } from "./stats.js";

export const METHODS = { full, uniform, streaming, pyramid, h2o, scalekv, hack, heatkv, recalkv, "heatkv+recalkv": heatkvRecalkv } as const;
export type MethodName = keyof typeof METHODS;
export const METHOD_NAMES = Object.keys(METHODS) as MethodName[];

export function getMethod(name: string, source = "schedule"): ScheduleMethod<ParamSpecs> {
  if (!Object.hasOwn(METHODS, name))
    throw new ScheduleError(source, "method", `must be one of ${METHOD_NAMES.map((m) => `"${m}"`).join(", ")}, got ${JSON.stringify(name)}`);
  return METHODS[name as MethodName] as unknown as ScheduleMethod<ParamSpecs>;
}

/** A method's role in comparisons (ScheduleMethod.role; the full-budget reference is "reference"). */
export function methodRole(m: Pick<ScheduleMethod<ParamSpecs>, "role" | "fullBudget">): "reference" | "subject" | "baseline" {
  return m.role ?? (m.fullBudget ? "reference" : "baseline");
}

/** True when `name` is a registered baseline (not the reference, not a method under study). Unknown names: false. */
export function isBaselineMethod(name: string): boolean {
  return Object.hasOwn(METHODS, name) && methodRole(getMethod(name)) === "baseline";
}

export interface MethodInfo {
  name: string;
  summary: string;
  kind: "static" | "dynamic";
  needsStats: boolean;
  needsLowRank: boolean;
  role: "reference" | "subject" | "baseline";
  params: ParamSpecs;
  defaults: Record<string, number | boolean | string>;
}

export function listMethods(): MethodInfo[] {
  return METHOD_NAMES.map((n) => {
    const m = getMethod(n);
    return {
      name: m.name,
      summary: m.summary,
      kind: m.kind,
      needsStats: m.needsStats,
      needsLowRank: !!m.needsLowRank,
      role: methodRole(m),
      params: m.params,
      defaults: defaultParams(m.params),
    };
  });
}

export interface BuildOptions extends Omit<BudgetOptions, "source" | "field"> {
  params?: Record<string, unknown>;
  stats?: HeadScaleStats;
  /** heatkv: orders in the reference repo's JSON format instead of stats */
  orders?: unknown;
  /** ReCalKV variants of the model (data/model/recalkv/recalkv.json, parseLowRankManifest) for recalkv, heatkv+recalkv */
  lowRank?: LowRankManifest;
  /** names the origin in errors (default "schedule") */
  source?: string;
}

/** Build a method's schedule for one model at one budget ("10%", 0.1, "2MB", "15000tok" or a parsed Budget). */
export function buildSchedule(method: string, model: ScheduleModel, budget: string | number | Budget, opts: BuildOptions = {}): Schedule {
  const source = opts.source ?? "schedule";
  const m = getMethod(method, source);
  const shape = checkedShape(model, source);
  const budgetOpts = { bytesPerElement: opts.bytesPerElement, rows: opts.rows, source };
  let b: Budget;
  if (m.fullBudget) b = parseBudget("100%", model, budgetOpts);
  else if (typeof budget === "object") {
    checkBudget(budget, model, source);
    b = budget;
  } else b = parseBudget(budget, model, budgetOpts);
  const params = resolveParams(m.name, m.params, opts.params, source);
  if (opts.stats) checkStats(opts.stats, model);
  if (m.needsLowRank) {
    if (!opts.lowRank)
      throw new ScheduleError(
        source,
        "lowRank",
        `the model's ReCalKV variants (recalkv/recalkv.json, written by train/recalkv.py) are required by method "${m.name}"`,
      );
    if (opts.lowRank.configHash !== model.configHash)
      throw new ScheduleError(
        source,
        "lowRank.configHash",
        `is ${JSON.stringify(opts.lowRank.configHash)} but the model has ${JSON.stringify(model.configHash)}: these variants were made for another model`,
      );
  }
  const ctx: MethodContext = { model, shape, budget: b, limit: budgetTokenLimit(b), stats: opts.stats, orders: opts.orders, lowRank: opts.lowRank, source };
  const out = m.build(ctx, params);
  const common = {
    version: SCHEDULE_VERSION as typeof SCHEDULE_VERSION,
    model: {
      modelId: model.modelId,
      configHash: model.configHash,
      patchNums: [...model.patchNums],
      numLayers: model.numLayers,
      numHeads: model.numHeads,
      headDim: model.headDim,
    },
    method: m.name,
    params: params as Record<string, number | boolean | string>,
    budget: b,
    details: out.details ?? {},
    ...(out.kind === "static" && out.lowRank ? { lowRank: out.lowRank } : {}),
  };
  const schedule: Schedule =
    out.kind === "static"
      ? { ...common, kind: "static", keep: out.keep }
      : { ...common, kind: "dynamic", counts: out.counts, rules: out.rules, scorer: out.scorer };
  checkScheduleSemantics(schedule, source, opts.lowRank);
  m.verify?.(schedule, params, source);
  return schedule;
}
