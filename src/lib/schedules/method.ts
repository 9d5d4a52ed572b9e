/** What a schedule method is: typed parameters + a pure build from (model shape, budget, stats). */
import type { ModelShape } from "../model/index.js";
import type { Budget } from "./budget.js";
import type { ParamSpecs, ParamsOf } from "./params.js";
import type { ScheduleModel } from "./shape.js";
import type { LowRankManifest } from "../model/index.js";
import type { LowRankPart, Schedule, ScorerName, ScorerParams } from "./schedule.js";
import type { HeadScaleStats } from "./stats.js";

export interface MethodContext {
  model: ScheduleModel;
  shape: ModelShape;
  budget: Budget;
  /** largest whole number of kept entries summed over heads at any target (budgetTokenLimit) */
  limit: number;
  /** calibration statistics (checked against the model) when the caller has them */
  stats?: HeadScaleStats;
  /** HeatKV orders in the reference repo's format ([head, layer] pairs per source s = σ..K−2) */
  orders?: unknown;
  /** the model's ReCalKV variants (recalkv.json) for low-rank methods */
  lowRank?: LowRankManifest;
  /** names the origin in errors */
  source: string;
}

export type MethodOutput =
  | { kind: "static"; keep: Uint32Array; details?: Record<string, unknown>; lowRank?: LowRankPart }
  | { kind: "dynamic"; counts: Int32Array; rules: ScorerName[]; scorer: ScorerParams; details?: Record<string, unknown> };

export interface ScheduleMethod<S extends ParamSpecs = ParamSpecs> {
  name: string;
  /** one line for menus and docs */
  summary: string;
  kind: "static" | "dynamic";
  /** needs HeadScaleStats (calibration) */
  needsStats: boolean;
  /** needs the model's ReCalKV variants (BuildOptions.lowRank) */
  needsLowRank?: boolean;
  /** ignores the requested budget and always uses 100 % (the reference) */
  fullBudget?: boolean;
  /**
   * what the method is in a comparison: "reference" (full), "subject" (HeatKV and what builds on it — the
   * methods the workbench evaluates) or "baseline" (default: what a subject must beat in the headline)
   */
  role?: "reference" | "subject" | "baseline";
  params: S;
  build(ctx: MethodContext, params: ParamsOf<S>): MethodOutput;
  /**
   * Method-specific invariants of a built or imported schedule beyond the generic semantics (e.g. heatkv:
   * σ ≤ K−1 and the sink scales kept by every head); throws one ScheduleError line naming the field.
   */
  verify?(schedule: Schedule, params: ParamsOf<S>, source: string): void;
}

export const defineMethod = <S extends ParamSpecs>(m: ScheduleMethod<S>): ScheduleMethod<S> => m;
