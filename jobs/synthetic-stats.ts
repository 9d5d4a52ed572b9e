/**
 * Synthetic attention statistics (schema heatkv-stats/1, docs/stats-schema.md) at the shapes of the real
 * models, for load/benchmark work on the heatmap explorer without the real models:
 *   INFINITY_2B_SHAPE  13 scales (patch_nums 1…64), 32 layers × 16 heads
 *   VAR_D16_SHAPE      10 scales (patch_nums 1…16), 16 layers × 16 heads
 * Default prompt set: 8 classes × 2 seeds = 16 prompts, cond + uncond.
 *
 * Generator (deterministic: a function of the shape and `opts.seed` only, all in one DuckDB SQL statement):
 * every (layer, head) gets a type from a hash of (layer, head, seed) — ~15 % "sink" heads (most mass on
 * scales 0–2), ~15 % "broad" heads (mass ∝ the token count of each scale, i.e. uniform over keys), the
 * rest "local" (most mass on the own scale and the previous one, decaying with the scale distance; deeper
 * layers more local). Per (prompt, branch, layer, head, t, s) a logit is formed from the type's profile plus
 * hashed noise (per prompt, larger for the uncond branch), and the mass is the softmax of the logits over
 * the sources s ≤ t of that (prompt, branch, layer, head, t): every target's masses sum to 1, as for a full
 * cache. Noise is a sine hash of integer keys (no random(): DuckDB's parallel random() is not reproducible).
 *
 *   await writeSyntheticStats("/tmp/inf2b.parquet", INFINITY_2B_SHAPE);
 *   const ms = await timeExplorerQueries("/tmp/inf2b.parquet");  // for `npm run bench`
 */
import { createHash } from "node:crypto";
import { mkdirSync, renameSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { STATS_SCHEMA_VERSION } from "../src/lib/metrics/calibration.js";
import { meanMassSql, scasSql } from "../src/lib/schema/stats.js";
import { SCALE_COLUMNS } from "../node/stats-store.js";

export interface SyntheticShape {
  modelId: string;
  patchNums: number[];
  numLayers: number;
  numHeads: number;
}

export interface SyntheticOptions {
  /** classes 0..classes-1 (default 8) */
  classes?: number;
  /** seeds 1..seeds (default 2) */
  seeds?: number;
  /** generator seed (default 0) */
  seed?: number;
  cfg?: number;
  /** protected prefix σ of the timing queries (default 3) */
  sigma?: number;
}

export const INFINITY_2B_SHAPE: SyntheticShape = {
  modelId: "synthetic-infinity-2b",
  patchNums: [1, 2, 4, 6, 8, 12, 16, 20, 24, 32, 40, 48, 64],
  numLayers: 32,
  numHeads: 16,
};

export const VAR_D16_SHAPE: SyntheticShape = {
  modelId: "synthetic-var-d16",
  patchNums: [1, 2, 3, 4, 5, 6, 8, 10, 13, 16],
  numLayers: 16,
  numHeads: 16,
};

/** config_hash of a synthetic shape: sha256 of the model id and the shape, 16 hex digits. */
export function syntheticConfigHash(shape: SyntheticShape): string {
  return createHash("sha256")
    .update(JSON.stringify({ model_id: shape.modelId, patch_nums: shape.patchNums, num_layers: shape.numLayers, num_heads: shape.numHeads }))
    .digest("hex")
    .slice(0, 16);
}

/** Rows the generator writes: prompts × 2 branches × L × H × K(K+1)/2. */
export function syntheticRowCount(shape: SyntheticShape, opts: SyntheticOptions = {}): number {
  const K = shape.patchNums.length;
  return (opts.classes ?? 8) * (opts.seeds ?? 2) * 2 * shape.numLayers * shape.numHeads * ((K * (K + 1)) / 2);
}

const sqlStr = (s: string) => `'${s.replaceAll("'", "''")}'`;
const int = (n: number, what: string) => {
  if (!Number.isInteger(n) || n < 0) throw new Error(`synthetic stats: ${what} must be a non-negative integer, got ${n}`);
  return n;
};

/** hash01(a, b, …): deterministic pseudo-random in [0, 1) from integer SQL expressions. */
const hash01 = (...xs: string[]) => {
  const mult = [12.9898, 78.233, 37.719, 4.581, 91.37, 53.11, 19.19];
  const dot = xs.map((x, i) => `(${x}) * ${mult[i % mult.length]}`).join(" + ");
  return `(abs(sin(${dot}) * 43758.5453) % 1.0)`;
};

/** The SQL that produces the rows (columns exactly SCALE_COLUMNS, in order). */
export function syntheticStatsSql(shape: SyntheticShape, opts: SyntheticOptions = {}): string {
  const K = shape.patchNums.length;
  if (K < 2) throw new Error("synthetic stats: need at least 2 scales");
  const L = int(shape.numLayers, "numLayers");
  const H = int(shape.numHeads, "numHeads");
  const C = int(opts.classes ?? 8, "classes");
  const S = int(opts.seeds ?? 2, "seeds");
  const g = int(opts.seed ?? 0, "seed");
  const scales = shape.patchNums.map((p, i) => `(${i}, ${int(p, "patch_num") * p})`).join(", ");
  const hash = syntheticConfigHash(shape);
  // per-head profile (type, strengths) and per-prompt noise
  const u = hash01("layer", "head", `${g} + 1`);
  const own = `(1.8 + 1.4 * ${hash01("layer", "head", `${g} + 2`)} + 0.8 * layer / ${Math.max(1, L - 1)})`;
  const prev = `(0.6 + 1.2 * ${hash01("layer", "head", `${g} + 3`)})`;
  const decay = `(0.25 + 0.5 * ${hash01("layer", "head", `${g} + 4`)})`;
  const sinkW = `(3.0 + 2.5 * ${hash01("layer", "head", `${g} + 5`)})`;
  const noise = `(${hash01("class_index", "seed", "layer", "head", "t", "s", `${g} + 6 + bi`)} - 0.5)`;
  return `WITH scales(scale, n) AS (VALUES ${scales}),
prompts AS (SELECT c.range::INTEGER AS class_index, (s.range + 1)::INTEGER AS seed FROM range(${C}) c, range(${S}) s),
branches(branch, bi) AS (VALUES ('cond', 0), ('uncond', 1)),
heads AS (
  SELECT l.range::INTEGER AS layer, h.range::INTEGER AS head FROM range(${L}) l, range(${H}) h
),
typed AS (
  SELECT layer, head, CASE WHEN ${u} < 0.15 THEN 'sink' WHEN ${u} < 0.30 THEN 'broad' ELSE 'local' END AS kind,
    ${own} AS own_w, ${prev} AS prev_w, ${decay} AS decay_w, ${sinkW} AS sink_w
  FROM heads
),
grid AS (
  SELECT p.class_index, p.seed, b.branch, b.bi, h.*, tt.scale::INTEGER AS t, ss.scale::INTEGER AS s, ss.n AS n_s
  FROM prompts p, branches b, typed h, scales tt, scales ss WHERE ss.scale <= tt.scale
),
logits AS (
  SELECT *, CASE kind
      WHEN 'local' THEN 0.35 * ln(n_s) + own_w * (s = t)::INTEGER + prev_w * (s = t - 1)::INTEGER - decay_w * (t - s)
      WHEN 'sink' THEN sink_w * (s <= 2)::INTEGER - 0.4 * s * (s <= 2)::INTEGER + 1.0 * (s = t)::INTEGER + 0.1 * ln(n_s)
      ELSE ln(n_s) + 0.4 * (s = t)::INTEGER
    END + (0.5 + 0.3 * bi) * ${noise} AS z
  FROM grid
)
SELECT ${sqlStr(STATS_SCHEMA_VERSION)} AS schema_version, ${sqlStr(hash)} AS config_hash, ${sqlStr(shape.modelId)} AS model_id,
  'c' || class_index || '_s' || seed AS prompt, class_index, 'synthetic class ' || class_index AS class_name, seed,
  ${Number(opts.cfg ?? 3)}::DOUBLE AS cfg, 0::INTEGER AS top_k, 0.95::DOUBLE AS top_p, 1.0::DOUBLE AS temperature,
  'synthetic' AS backend, branch, layer, head, t AS target_scale, s AS source_scale,
  (exp(z) / sum(exp(z)) OVER (PARTITION BY class_index, seed, branch, layer, head, t))::DOUBLE AS mass
FROM logits
ORDER BY class_index, seed, branch, layer, head, target_scale, source_scale`;
}

async function withConn<T>(fn: (conn: Awaited<ReturnType<DuckDBInstance["connect"]>>) => Promise<T>, threads?: number): Promise<T> {
  const db = await DuckDBInstance.create(":memory:", threads ? { threads: String(threads) } : undefined);
  const conn = await db.connect();
  try {
    return await fn(conn);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

export interface SyntheticResult {
  out: string;
  rows: number;
  bytes: number;
  ms: number;
  configHash: string;
}

/** Write a synthetic heatkv-stats/1 Parquet file (temp file, then rename). */
export async function writeSyntheticStats(out: string, shape: SyntheticShape, opts: SyntheticOptions & { threads?: number } = {}): Promise<SyntheticResult> {
  mkdirSync(dirname(out), { recursive: true });
  const t0 = performance.now();
  const tmp = `${out}.${process.pid}.tmp`;
  const cols = Object.entries(SCALE_COLUMNS)
    .map(([n, t]) => `"${n}"::${t} AS "${n}"`)
    .join(", ");
  await withConn(async (conn) => {
    await conn.run(`COPY (SELECT ${cols} FROM (${syntheticStatsSql(shape, opts)})) TO ${sqlStr(tmp)} (FORMAT parquet, COMPRESSION zstd)`);
  }, opts.threads);
  renameSync(tmp, out);
  return { out, rows: syntheticRowCount(shape, opts), bytes: statSync(out).size, ms: performance.now() - t0, configHash: syntheticConfigHash(shape) };
}

export interface ExplorerTimings {
  file: string;
  rows: number;
  /** CREATE TABLE attention AS SELECT * FROM read_parquet(file) */
  loadMs: number;
  /** median ms per query over `repeats` runs */
  queries: Record<string, number>;
  sql: Record<string, string>;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

/**
 * Load a stats file into DuckDB (node) as table `attention` and time the heatmap explorer's queries
 * (src/lib/site/heatmaps.ts: layer×head heatmap for one (t, s) and for "every later target", one head's
 * scale×scale matrix, the S-CAS ranking of one source scale; plus the whole S-CAS table and the mean-mass
 * view). Median over `repeats` runs after one warm-up. Exported for `npm run bench`.
 */
export async function timeExplorerQueries(file: string, opts: { repeats?: number; sigma?: number; threads?: number } = {}): Promise<ExplorerTimings> {
  const repeats = opts.repeats ?? 5;
  return withConn(async (conn) => {
    const t0 = performance.now();
    await conn.run(`CREATE TABLE attention AS SELECT * FROM read_parquet(${sqlStr(file)})`);
    const loadMs = performance.now() - t0;
    const meta = (
      await conn.runAndReadAll(`SELECT count(*) AS n, max(target_scale) AS k, max(layer) AS l, max(head) AS h, min(class_index) AS c FROM attention`)
    ).getRowObjectsJS()[0];
    const K = Number(meta.k) + 1;
    const sigma = Math.min(opts.sigma ?? 3, K - 2);
    const source = Math.min(K - 2, Math.max(sigma, Math.floor(K / 2)));
    const { heatmapSql, headMatrixSql } = await import("../src/lib/site/heatmaps.js");
    const layer = Math.floor(Number(meta.l) / 2);
    const head = Math.floor(Number(meta.h) / 2);
    const sql: Record<string, string> = {
      "heatmap layer×head (t=K-1, s)": heatmapSql({ source, target: K - 1, classIndex: -1, branch: "cond" }),
      "heatmap layer×head (every t>s, one class)": heatmapSql({ source, target: -1, classIndex: Number(meta.c), branch: "cond" }),
      "scale×scale matrix, one head": headMatrixSql({ layer, head }, { classIndex: -1, branch: "cond" }),
      "S-CAS ranking, one source": scasSql(K, sigma, `source_scale = ${source}`),
      "S-CAS all sources": scasSql(K, sigma),
      "mean mass view (all cells)": meanMassSql("cond"),
    };
    const queries: Record<string, number> = {};
    for (const [name, q] of Object.entries(sql)) {
      await conn.runAndReadAll(q); // warm-up
      const ms: number[] = [];
      for (let i = 0; i < repeats; i++) {
        const t = performance.now();
        await conn.runAndReadAll(q);
        ms.push(performance.now() - t);
      }
      queries[name] = median(ms);
    }
    return { file, rows: Number(meta.n), loadMs, queries, sql };
  }, opts.threads);
}

// CLI: tsx jobs/synthetic-stats.ts [infinity-2b|var-d16] out.parquet [--time]
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const [which = "infinity-2b", out = `/tmp/heatkv-synthetic-${which}.parquet`] = process.argv.slice(2).filter((a) => !a.startsWith("--"));
  const shape = which === "var-d16" ? VAR_D16_SHAPE : INFINITY_2B_SHAPE;
  const r = await writeSyntheticStats(out, shape);
  console.log(`${shape.modelId}: ${r.rows} rows, ${(r.bytes / 1024 / 1024).toFixed(2)} MiB, ${r.ms.toFixed(0)} ms → ${out}`);
  if (process.argv.includes("--time")) {
    const t = await timeExplorerQueries(out);
    console.log(`load ${t.loadMs.toFixed(1)} ms`);
    for (const [k, v] of Object.entries(t.queries)) console.log(`${k}: ${v.toFixed(2)} ms`);
  }
}
