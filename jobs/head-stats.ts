/** The calibration store as the schedule library's HeadScaleStats, serialised for pages (NaN → null). */
import type { HeadScaleStats } from "../src/lib/schedules/index.js";
import type { ModelConfig } from "../src/lib/model/index.js";
import { calibrate, DEFAULT_STATS_PATH } from "./calibrate.js";
import { loadHeadScaleStats } from "../node/stats-store.js";

export async function headStatsJson(cfg: ModelConfig, file = DEFAULT_STATS_PATH): Promise<string> {
  await calibrate({ out: file, progress: false, log: () => {} }); // no-op when the store is complete
  const s: HeadScaleStats = await loadHeadScaleStats(file, cfg);
  const arr = (a: Float64Array) => Array.from(a, (v) => (Number.isNaN(v) ? null : v));
  return JSON.stringify({ ...s, scas: arr(s.scas), mass: arr(s.mass) });
}
