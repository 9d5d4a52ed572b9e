/** Public API of the budget-schedule library (pure math, browser-safe). */
export {
  type Budget,
  type BudgetOptions,
  type BytesPerElement,
  budgetTokenLimit,
  describeDenominator,
  fullCacheBytes,
  fullCacheTokens,
  parseBudget,
  parseBudgetList,
} from "./budget.js";
export { ScheduleError } from "./errors.js";
export {
  type BuildOptions,
  type MethodInfo,
  type MethodName,
  METHOD_NAMES,
  buildSchedule,
  getMethod,
  isBaselineMethod,
  listMethods,
  methodRole,
} from "./registry.js";
export {
  type DynamicSchedule,
  type PredictedBytes,
  type Schedule,
  type ScorerName,
  type ScorerParams,
  type StaticSchedule,
  SCHEDULE_VERSION,
  checkLowRankVariant,
  checkScheduleModel,
  keptTokens,
  keptTotals,
  predictedBytes,
} from "./schedule.js";
export { exportSchedule, importSchedule, parseScheduleJson, referenceOrders, stringifyReferenceOrders, stringifySchedule } from "./json.js";
export { type HeadScaleStats, checkStats, computeScas, meanMass, scasFromMass, statsFromPromptMasses } from "./stats.js";
export { type ReferenceOrders, heatkvMinRatio, heatkvPruneCounts } from "./methods/heatkv.js";
export { type ScheduleModel, checkedShape } from "./shape.js";
export { INFINITY_2B_MODEL, syntheticStats } from "./synthetic.js";
export { type RecomputeTiming, RECOMPUTE_TARGET_MS, benchScheduleRecompute } from "./bench.js";
