// Cache schedules for the explorer's "compare with a schedule" view: which (target scale, source scale)
// blocks a static schedule keeps for a head (built in the page with the same library as `heatkv schedule`).
import { buildSchedule, listMethods } from "../schedules/index.js";
import type { HeadScaleStats } from "../schedules/index.js";
import type { ModelConfig } from "../model/index.js";
import type { ScheduleProvider } from "./explorer/context.js";

/**
 * Static (whole-block) methods that drop blocks: their drops are (target, source) blocks, drawable on the
 * matrix. Not full (drops nothing) nor the low-rank methods (recalkv keeps every entry as a latent;
 * heatkv+recalkv drops HeatKV's blocks — pick heatkv for those).
 */
export function staticMethods(): string[] {
  return listMethods()
    .filter((m) => m.kind === "static" && m.name !== "full" && !m.needsLowRank)
    .map((m) => m.name);
}

export function scheduleProvider(config: ModelConfig, stats: HeadScaleStats): ScheduleProvider {
  const cache = new Map<string, ReturnType<ScheduleProvider>>();
  const N = config.numLayers * config.numHeads;
  return (method, budget) => {
    const key = `${method}/${budget}`;
    if (!cache.has(key)) {
      try {
        const s = buildSchedule(method, config, `${budget}%`, { stats });
        if (s.kind !== "static") throw new Error(`${method} is a dynamic schedule (token-level, decided at run time): nothing fixed to grey out`);
        const keep = s.keep;
        cache.set(key, {
          label: `${method} at ${budget} % (${
            s.params && Object.keys(s.params).length
              ? Object.entries(s.params)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(", ")
              : "defaults"
          })`,
          // scale 0 is generated with an empty cache; the schedule's keep rows start at target 1
          keep: (t, src, l, h) => t === src || (keep[t * N + l * config.numHeads + h] & (1 << src)) !== 0,
        });
      } catch (e) {
        cache.set(key, { error: (e as Error).message });
      }
    }
    return cache.get(key)!;
  };
}
