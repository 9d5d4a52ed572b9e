// The shareable report: highlights computed in DuckDB-wasm from the calibration store and the sweep.
import type { Database } from "./duckdb.js";
import { DEFAULT_STATE, encodeState } from "./explorer-state.js";

export interface CoarseHead {
  layer: number;
  head: number;
  coarse: number;
}

/** Heads whose queries (every later target, cond) put the most mass on the first `scales` scales. */
export async function coarseHeads(db: Database, scales: number, limit = 6): Promise<CoarseHead[]> {
  return db.query<CoarseHead>(`SELECT layer, head, avg(m) AS coarse FROM (
    SELECT prompt, layer, head, target_scale, sum(mass) AS m FROM attention
    WHERE branch = 'cond' AND source_scale < ${Math.trunc(scales)} AND target_scale >= ${Math.trunc(scales)}
    GROUP BY ALL) GROUP BY layer, head ORDER BY coarse DESC LIMIT ${Math.trunc(limit)}`);
}

/** One-line summary of rank stability: τ with half the prompts and on held-out classes (means over sources). */
export async function stabilitySummary(db: Database): Promise<{ half: number; halfPrompts: number; heldout: number }> {
  const [r] = await db.query<{ half: number; halfPrompts: number; heldout: number }>(`WITH g AS (SELECT max(prompts) AS p FROM stability WHERE kind = 'growth')
    SELECT (SELECT avg(tau) FROM stability, g WHERE kind = 'growth' AND prompts = g.p // 2) AS half,
           (SELECT any_value(p) // 2 FROM g) AS halfPrompts,
           (SELECT avg(tau) FROM stability WHERE kind = 'heldout_class') AS heldout`);
  return r;
}

/** A link into the head explorer: this head locked, heads sorted by sink-scale mass, HeatKV's drops greyed. */
export function explorerHref(layer: number, head: number, budgetPercent = 30): string {
  const q = encodeState({
    ...DEFAULT_STATE,
    combine: [],
    layer,
    head,
    metric: "sinkMass",
    sort: true,
    cmp: "schedule",
    sched: "heatkv",
    budget: budgetPercent,
  });
  return `./explorer?${q}`;
}

export interface LowRankCell {
  label: string;
  budget_ratio: number;
  psnr: number;
  bytes: number;
  n: number;
}

/** The swept low-rank cells (recalkv, heatkv+recalkv) and their mean PSNR vs the full image. */
export async function lowRankCells(db: Database): Promise<LowRankCell[]> {
  return db.query<LowRankCell>(`SELECT label, budget_ratio, avg(psnr_db) AS psnr, avg(measured_peak_bytes) AS bytes, count(*) AS n
    FROM sweep WHERE method IN ('recalkv', 'heatkv+recalkv') AND NOT infeasible
    GROUP BY label, budget_ratio ORDER BY label, budget_ratio`);
}
