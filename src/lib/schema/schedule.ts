/**
 * The schedule JSON format, "heatkv-schedule/1" (docs/schedule-format.md). Types of the file as written;
 * src/lib/schedules/json.ts converts to and from the in-memory Schedule, and schedule.schema.ts (mirrored
 * in schedule.schema.json) is its JSON Schema.
 */
export const SCHEDULE_FORMAT_VERSION = "heatkv-schedule/1";

/** The token-selection rules a dynamic schedule may name (run by src/lib/enforce/scorers.ts). */
export const SCORER_NAMES = ["recent", "h2o", "snapkv"] as const;
export type ScorerName = (typeof SCORER_NAMES)[number];

export interface ScheduleJsonModel {
  id: string;
  configHash: string;
  patchNums: number[];
  /** derived: n_s = patchNums[s]² (for readers; checked on import) */
  tokensPerScale: number[];
  numLayers: number;
  numHeads: number;
  headDim: number;
  /** derived: C_max = Σ_{s<K−1} n_s */
  maxCacheTokens: number;
}

export interface ScheduleJsonBudget {
  given: string;
  unit: "ratio" | "percent" | "bytes" | "tokens";
  ratio: number;
  tokens: number;
  bytes: number;
  bytesPerElement: 2 | 4;
  rows: number;
  denominator: string;
}

export interface ScheduleJsonStaticTarget {
  scale: number;
  /** [layer][head] → kept source scales (ascending, all < scale) */
  keep: number[][][];
}

export interface ScheduleJsonDynamicTarget {
  scale: number;
  /** [layer][head] → kept entry count */
  count: number[][];
}

interface ScheduleJsonCommon {
  version: typeof SCHEDULE_FORMAT_VERSION;
  model: ScheduleJsonModel;
  method: string;
  params: Record<string, number | boolean | string>;
  budget: ScheduleJsonBudget;
  details: Record<string, unknown>;
  /** low-rank (ReCalKV) cache: the step-graph variant, latent widths and head groups (static only) */
  lowRank?: { variant: string; rankRatio: number; groupSize: number; keyWidth: number; valueWidth: number; groups: number[][][]; sigma?: number };
}

export interface ScheduleJsonStatic extends ScheduleJsonCommon {
  kind: "static";
  targets: ScheduleJsonStaticTarget[];
}

export interface ScheduleJsonDynamic extends ScheduleJsonCommon {
  kind: "dynamic";
  scorer: { recentRatio: number; window: number; poolKernel: number };
  /** [layer][head] → "recent" | "h2o" | "snapkv" */
  rules: string[][];
  targets: ScheduleJsonDynamicTarget[];
}

export type ScheduleJson = ScheduleJsonStatic | ScheduleJsonDynamic;
