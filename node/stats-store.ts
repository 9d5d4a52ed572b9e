/**
 * The attention-statistics store (Parquet, schema "heatkv-stats/1", see docs/stats-schema.md):
 *   <name>.parquet         one row per (prompt, branch, layer, head, target_scale, source_scale): mass
 *   <name>_tokens.parquet  one row per (prompt, layer, head, target_scale, cached entry): mass (cond row)
 * Shards are written per prompt (temp file, then rename) and merged as one unit with a manifest written last
 * (<name>.manifest.json, node/store-unit.ts; readScaleMass checks it). Readers validate every file for structure
 * and meaning (node/stats-validate.ts) and name the file, the first offending row and the rule.
 * The columns are the schema's (src/lib/schema/stats.ts STATS_COLUMNS / TOKEN_STATS_COLUMNS), not a copy.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { type CalibrationSettings, type PromptStats, STATS_SCHEMA_VERSION } from "../src/lib/metrics/calibration.js";
import type { ModelConfig } from "../src/lib/model/index.js";
import { STATS_COLUMNS, TOKEN_STATS_COLUMNS } from "../src/lib/schema/stats.js";
import { type HeadScaleStats, statsFromPromptMasses } from "../src/lib/schedules/stats.js";
import { StatsFileError, validateStatsFiles } from "./stats-validate.js";
import { writeError } from "./files.js";
import { checkUnit, commitUnit } from "./store-unit.js";

/** Column name → DuckDB type, in order: the schema's one column list (src/lib/schema/stats.ts) as a map. */
export type ColumnTypes = Readonly<Record<string, string>>;
const columnTypes = (cols: readonly (readonly [name: string, type: string, meaning: string])[]): ColumnTypes =>
  Object.freeze(Object.fromEntries(cols.map(([name, type]) => [name, type])));

/** The scale-level table's columns (STATS_COLUMNS); the appender in writePromptShards fills them in this order. */
export const SCALE_COLUMNS = columnTypes(STATS_COLUMNS);
/** The token-level table's columns (TOKEN_STATS_COLUMNS); written in this order. */
export const TOKEN_COLUMNS = columnTypes(TOKEN_STATS_COLUMNS);

export { StatsFileError } from "./stats-validate.js";

export const tokensPath = (statsPath: string) => statsPath.replace(/\.parquet$/, "") + "_tokens.parquet";
export const promptId = (classIndex: number, seed: number) => `c${classIndex}_s${seed}`;

/**
 * The resume key of a calibration: the model (config and weights hashes) and the COMPLETE settings object, keys
 * sorted — derived from the object itself, so a setting added later can never be left out of the key.
 */
export function settingsHash(cfg: ModelConfig, s: CalibrationSettings): string {
  const settings = Object.fromEntries(Object.entries(s).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return createHash("sha256")
    .update(JSON.stringify({ h: cfg.configHash, w: cfg.weightsHash, settings }))
    .digest("hex")
    .slice(0, 10);
}

const sqlStr = (s: string) => `'${s.replaceAll("'", "''")}'`;

async function withDb<T>(
  fn: (run: (sql: string) => Promise<Record<string, unknown>[]>, conn: Awaited<ReturnType<DuckDBInstance["connect"]>>) => Promise<T>,
): Promise<T> {
  const db = await DuckDBInstance.create(":memory:");
  const conn = await db.connect();
  try {
    return await fn(async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[], conn);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** Write one prompt's two shards (tokens first, the scale shard last: its presence marks the prompt done). */
export async function writePromptShards(dir: string, cfg: ModelConfig, settings: CalibrationSettings, st: PromptStats): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const id = promptId(st.classIndex, st.seed);
  await withDb(async (run, conn) => {
    const ddl = (cols: Record<string, string>) =>
      Object.entries(cols)
        .map(([n, t]) => `"${n}" ${t}`)
        .join(", ");
    await run(`CREATE TABLE s (${ddl(SCALE_COLUMNS)})`);
    await run(`CREATE TABLE k (${ddl(TOKEN_COLUMNS)})`);
    const a = await conn.createAppender("s");
    const sc = st.scale;
    for (let i = 0; i < sc.mass.length; i++) {
      a.appendVarchar(STATS_SCHEMA_VERSION);
      a.appendVarchar(cfg.configHash);
      a.appendVarchar(cfg.modelId);
      a.appendVarchar(id);
      a.appendInteger(st.classIndex);
      a.appendVarchar(cfg.classes[st.classIndex]);
      a.appendInteger(st.seed);
      a.appendDouble(settings.cfg);
      a.appendInteger(settings.topK);
      a.appendDouble(settings.topP);
      a.appendDouble(settings.temperature);
      a.appendVarchar(st.backend);
      a.appendVarchar(sc.branch[i] === 0 ? "cond" : "uncond");
      a.appendInteger(sc.layer[i]);
      a.appendInteger(sc.head[i]);
      a.appendInteger(sc.target[i]);
      a.appendInteger(sc.source[i]);
      a.appendDouble(sc.mass[i]);
      a.endRow();
    }
    a.closeSync();
    const b = await conn.createAppender("k");
    const tk = st.token;
    for (let i = 0; i < tk.mass.length; i++) {
      b.appendVarchar(cfg.configHash);
      b.appendVarchar(id);
      b.appendInteger(st.classIndex);
      b.appendInteger(st.seed);
      b.appendInteger(tk.layer[i]);
      b.appendInteger(tk.head[i]);
      b.appendInteger(tk.target[i]);
      b.appendInteger(tk.source[i]);
      b.appendInteger(tk.token[i]);
      b.appendDouble(tk.mass[i]);
      b.endRow();
    }
    b.closeSync();
    for (const [table, file] of [
      ["k", join(dir, `${id}_tokens.parquet`)],
      ["s", join(dir, `${id}.parquet`)],
    ] as const) {
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        await run(`COPY ${table} TO ${sqlStr(tmp)} (FORMAT parquet, COMPRESSION zstd)`);
        renameSync(tmp, file);
      } catch (e) {
        throw writeError(file, e);
      } finally {
        rmSync(tmp, { force: true }); // gone after the rename; removes what a failed write left
      }
    }
  });
}

/** Prompt ids whose shards are complete and valid; broken shards are removed (they will be redone). */
export async function finishedPrompts(dir: string, cfg: ModelConfig, warn: (s: string) => void = console.warn): Promise<Set<string>> {
  const done = new Set<string>();
  if (!existsSync(dir)) return done;
  for (const f of readdirSync(dir)) {
    if (f.endsWith(".tmp")) {
      rmSync(join(dir, f), { force: true }); // an interrupted write
      continue;
    }
    const m = /^(c\d+_s\d+)\.parquet$/.exec(f);
    if (!m) continue;
    try {
      await validateStats(join(dir, f), cfg);
      if (!existsSync(join(dir, `${m[1]}_tokens.parquet`))) throw new Error("token shard missing");
      done.add(m[1]);
    } catch (e) {
      warn(`redoing ${m[1]}: ${(e as Error).message}`);
      rmSync(join(dir, f), { force: true });
      rmSync(join(dir, `${m[1]}_tokens.parquet`), { force: true });
    }
  }
  return done;
}

/** How to rewrite a calibration store that is not whole (docs/stats-schema.md §3). */
const redoStore = (file: string) => `rerun \`heatkv calibrate -o ${file}\` with the same settings (it resumes from its shards and rewrites both files)`;

/** Refuse a calibration store whose two files were not written together (manifest missing or not matching). */
export function checkStatsUnit(file: string): void {
  checkUnit(file, [tokensPath(file)], redoStore(file));
}

/**
 * Merge the shards of `ids` into `out` and its _tokens file as one unit: both are written to temp files,
 * then committed with a manifest written last (node/store-unit.ts); readers check it.
 */
export async function mergeShards(dir: string, ids: string[], out: string): Promise<{ scaleRows: number; tokenRows: number }> {
  mkdirSync(dirname(out), { recursive: true });
  const staged: { path: string; tmp: string }[] = [];
  try {
    const counts = await withDb(async (run) => {
      const list = (suffix: string) => `[${ids.map((id) => sqlStr(join(dir, `${id}${suffix}.parquet`))).join(", ")}]`;
      const counts: number[] = [];
      for (const [suffix, file, order] of [
        ["", out, "class_index, seed, branch, layer, head, target_scale, source_scale"],
        ["_tokens", tokensPath(out), "class_index, seed, layer, head, target_scale, source_scale, token"],
      ] as const) {
        const tmp = `${file}.${process.pid}.tmp`;
        staged.push({ path: file, tmp });
        try {
          await run(`COPY (SELECT * FROM read_parquet(${list(suffix)}) ORDER BY ${order}) TO ${sqlStr(tmp)} (FORMAT parquet, COMPRESSION zstd)`);
        } catch (e) {
          throw writeError(file, e);
        }
        counts.push(Number((await run(`SELECT count(*) AS n FROM read_parquet(${sqlStr(tmp)})`))[0].n));
      }
      return counts;
    });
    commitUnit(out, staged);
    return { scaleRows: counts[0], tokenRows: counts[1] };
  } finally {
    for (const s of staged) rmSync(s.tmp, { force: true }); // no-op after the commit
  }
}

/**
 * Validate a stats Parquet file against the model, for structure and meaning (node/stats-validate.ts: columns,
 * schema_version, config_hash, no NULL/NaN/Inf, indices in the model's shape, mass in [0, 1], unique keys, both
 * CFG branches, full coverage, Σ_s mass ≈ 1); throws one line naming the file, the first offending row and the
 * rule. Returns the number of rows and prompts.
 */
export async function validateStats(file: string, cfg: ModelConfig): Promise<{ rows: number; prompts: number }> {
  const s = await validateStatsFiles([file], cfg);
  return { rows: s.rows, prompts: s.prompts };
}

/** cond-row scale mass of a validated stats file as a dense array [prompt][L*H][K][K] (t, s), prompt list. */
export async function readScaleMass(
  file: string,
  cfg: ModelConfig,
  branch: "cond" | "uncond" = "cond",
): Promise<{ prompts: { id: string; classIndex: number; seed: number }[]; mass: Float64Array; K: number }> {
  checkStatsUnit(file);
  await validateStats(file, cfg);
  const K = cfg.patchNums.length;
  const LH = cfg.numLayers * cfg.numHeads;
  return withDb(async (run) => {
    const prompts = (await run(`SELECT DISTINCT prompt, class_index, seed FROM read_parquet(${sqlStr(file)}) ORDER BY class_index, seed`)).map((r) => ({
      id: String(r.prompt),
      classIndex: Number(r.class_index),
      seed: Number(r.seed),
    }));
    const index = new Map(prompts.map((p, i) => [p.id, i]));
    const mass = new Float64Array(prompts.length * LH * K * K);
    const rows = await run(
      `SELECT prompt, layer, head, target_scale AS t, source_scale AS s, mass FROM read_parquet(${sqlStr(file)}) WHERE branch = ${sqlStr(branch)}`,
    );
    for (const r of rows) {
      const l = Number(r.layer);
      const h = Number(r.head);
      const t = Number(r.t);
      const s = Number(r.s);
      if (l >= cfg.numLayers || h >= cfg.numHeads || t >= K || s > t)
        throw new StatsFileError(
          file,
          "layer/head/target_scale/source_scale",
          `has (${l}, ${h}, ${t}, ${s}) outside the model's ${cfg.numLayers}×${cfg.numHeads}×${K} shape`,
        );
      mass[((index.get(String(r.prompt))! * LH + l * cfg.numHeads + h) * K + t) * K + s] = Number(r.mass);
    }
    return { prompts, mass, K };
  });
}

/** Calibration stats of a store in the schedule library's form (per-prompt cond masses → S-CAS for s ≥ sigma). */
export async function loadHeadScaleStats(file: string, cfg: ModelConfig, sigma = 0): Promise<HeadScaleStats> {
  const { prompts, mass, K } = await readScaleMass(file, cfg);
  const block = cfg.numLayers * cfg.numHeads * K * K;
  const perPrompt = prompts.map((_, p) => mass.subarray(p * block, (p + 1) * block));
  return statsFromPromptMasses(cfg, perPrompt, sigma);
}
