/**
 * The attention-statistics schema ("heatkv-stats/1", docs/stats-schema.md) and the derived SQL views,
 * shared verbatim by DuckDB in Node (@duckdb/node-api) and in pages (DuckDB-wasm). Table name: `attention`.
 */

/** The statistics file format version (schema_version column). */
export const STATS_SCHEMA_VERSION = "heatkv-stats/1";

/** Columns of the scale-level table, in order, with their meaning (for docs and validation). */
export const STATS_COLUMNS: [name: string, type: string, meaning: string][] = [
  ["schema_version", "VARCHAR", `"heatkv-stats/1"`],
  ["config_hash", "VARCHAR", "data/model/config.json config_hash of the model the statistics belong to"],
  ["model_id", "VARCHAR", "model id"],
  ["prompt", "VARCHAR", "prompt id c<class>_s<seed>"],
  ["class_index", "INTEGER", "class of the prompt"],
  ["class_name", "VARCHAR", "class name"],
  ["seed", "INTEGER", "sampling seed"],
  ["cfg", "DOUBLE", "guidance scale used while calibrating"],
  ["top_k", "INTEGER", "top-k used (0 = off)"],
  ["top_p", "DOUBLE", "top-p used"],
  ["temperature", "DOUBLE", "sampling temperature"],
  ["backend", "VARCHAR", "runtime that produced the row (onnxruntime-node, chromium wasm/webgpu, torch hook)"],
  ["branch", "VARCHAR", "cond | uncond (CFG halves kept apart)"],
  ["layer", "INTEGER", "transformer layer l"],
  ["head", "INTEGER", "attention head h"],
  ["target_scale", "INTEGER", "scale t whose queries attend"],
  ["source_scale", "INTEGER", "scale s ≤ t whose keys are attended (s = t: own scale)"],
  ["mass", "DOUBLE", "mean over t's queries of Σ_{k∈s} A[q,k] (probability, 0..1; sums to 1 over s for a full cache)"],
];

export const TOKEN_STATS_COLUMNS: [name: string, type: string, meaning: string][] = [
  ["config_hash", "VARCHAR", "as above"],
  ["prompt", "VARCHAR", "as above"],
  ["class_index", "INTEGER", "as above"],
  ["seed", "INTEGER", "as above"],
  ["layer", "INTEGER", "layer"],
  ["head", "INTEGER", "head"],
  ["target_scale", "INTEGER", "scale t whose queries attend"],
  ["source_scale", "INTEGER", "scale s < t of the cached key"],
  ["token", "INTEGER", "token index within scale s (row-major on its h×w grid)"],
  ["mass", "DOUBLE", "mean over t's queries of A[q,k] for this key (cond branch)"],
];

/**
 * S-CAS per (layer, head, source scale) exactly as docs/methods.md (heatkv): the cond-branch mass of every later target
 * t > s, summed over prompts and targets, divided by (#prompts · (K−1−s)); eligible σ ≤ s ≤ K−2.
 * `extraWhere` narrows the prompt set (e.g. `class_index = 3`); `groupBy` adds columns (e.g. class_index).
 */
export function scasSql(numScales: number, sigma: number, extraWhere = "TRUE", groupBy: string[] = []): string {
  const g = groupBy.map((c) => `${c}, `).join("");
  return `SELECT ${g}layer, head, source_scale,
  sum(mass) / (count(DISTINCT prompt) * (${numScales - 1} - source_scale)) AS scas
FROM attention
WHERE branch = 'cond' AND target_scale > source_scale AND source_scale >= ${sigma} AND source_scale <= ${numScales - 2} AND (${extraWhere})
GROUP BY ${g}layer, head, source_scale
ORDER BY ${g}source_scale, layer, head`;
}

/** Mean mass per (layer, head, target, source) over prompts of one branch (the heatmap explorer's cells). */
export function meanMassSql(branch: "cond" | "uncond", extraWhere = "TRUE"): string {
  return `SELECT layer, head, target_scale, source_scale, avg(mass) AS mass, count(*) AS prompts
FROM attention WHERE branch = '${branch}' AND (${extraWhere})
GROUP BY layer, head, target_scale, source_scale`;
}
