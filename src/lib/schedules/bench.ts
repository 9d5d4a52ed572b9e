/**
 * benchScheduleRecompute(): how long building each method's schedule takes (a UI recomputes on every
 * budget / parameter change; target < 50 ms). Timed for the demo model config and for a synthetic
 * Infinity-2B-shaped config, with synthetic calibration stats for the methods that need them.
 */
import { buildSchedule, METHOD_NAMES, getMethod } from "./registry.js";
import type { ScheduleModel } from "./shape.js";
import { INFINITY_2B_MODEL, syntheticLowRank, syntheticStats } from "./synthetic.js";

export interface RecomputeTiming {
  config: string;
  method: string;
  budget: string;
  /** first build (cold: includes JIT warm-up), ms */
  coldMs: number;
  /** median over the repeats after the first build, ms */
  ms: number;
  maxMs: number;
  repeats: number;
  withinTarget: boolean;
}

export const RECOMPUTE_TARGET_MS = 50;

const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());

/**
 * @param demo the demo model's config (data/model/config.json via parseConfig)
 * @param opts.budgets per config; heatkv needs budget ≥ R/C_max (demo with σ = 3: ≥ 15.4 %)
 */
export function benchScheduleRecompute(demo: ScheduleModel, opts: { repeats?: number; demoBudget?: string; infinityBudget?: string } = {}): RecomputeTiming[] {
  const repeats = opts.repeats ?? 5;
  const configs: [string, ScheduleModel, string][] = [
    [`demo (${demo.modelId})`, demo, opts.demoBudget ?? "20%"],
    ["infinity-2b (synthetic shape)", INFINITY_2B_MODEL, opts.infinityBudget ?? "10%"],
  ];
  const out: RecomputeTiming[] = [];
  for (const [config, model, budget] of configs) {
    const stats = syntheticStats(model, 7);
    const lowRank = syntheticLowRank(model);
    for (const method of METHOD_NAMES) {
      const needs = getMethod(method).needsStats;
      // recalkv alone cannot go below its smallest variant (25 %): timed at 50 %
      const b = method === "recalkv" ? "50%" : budget;
      const lr = getMethod(method).needsLowRank ? lowRank : undefined;
      const variants: [string, Record<string, unknown>][] =
        method === "heatkv"
          ? [
              ["heatkv", {}],
              ["heatkv strict", { strict: true }],
            ]
          : [[method, {}]];
      for (const [label, params] of variants) {
        const times: number[] = [];
        const c0 = now();
        buildSchedule(method, model, b, { params, stats: needs ? stats : undefined, lowRank: lr });
        const coldMs = now() - c0;
        for (let r = 0; r < repeats; r++) {
          const t0 = now();
          buildSchedule(method, model, b, { params, stats: needs ? stats : undefined, lowRank: lr });
          times.push(now() - t0);
        }
        times.sort((a, b) => a - b);
        const ms = times[Math.floor(times.length / 2)];
        out.push({ config, method: label, budget: b, coldMs, ms, maxMs: times[times.length - 1], repeats, withinTarget: ms < RECOMPUTE_TARGET_MS });
      }
    }
  }
  return out;
}
