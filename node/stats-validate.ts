/**
 * Validation of attention-statistics files (schema "heatkv-stats/1", docs/stats-schema.md §4) for structure AND
 * meaning, shared by every reader (node/stats-store.ts validateStats → schedule building, the sweep, the site's
 * loaders) and by `heatkv stats validate FILE|DIR`. One file or a folder of shards is read as one table; the
 * first violated rule throws ONE line naming the file, the first offending row (its row number in that file
 * and its key values) and the rule. Rules, in the order they are checked:
 *   structure   every column of STATS_COLUMNS with its DuckDB type; schema_version; config_hash = the model's
 *   values      no NULL in any column; mass, cfg, top_p, temperature finite; branch cond|uncond
 *   shape       0 ≤ layer < L, 0 ≤ head < H, 0 ≤ target_scale < K, 0 ≤ source_scale ≤ target_scale, 0 ≤ class_index < classes
 *   prompt      one class_index, seed, cfg, top_k, top_p, temperature, model_id per prompt
 *   range       0 ≤ mass ≤ 1 (+ MASS_RANGE_SLACK for float rounding)
 *   unique      each (prompt, branch, layer, head, target_scale, source_scale) once — a prompt recorded twice is named as such
 *   branches    every prompt has cond rows; uncond rows exactly when its cfg > 0 (CFG on)
 *   coverage    every (layer, head, t, s ≤ t) for every prompt and branch present
 *   sums        per (prompt, branch, layer, head, target_scale): |Σ_s mass − 1| ≤ MASS_SUM_TOLERANCE
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { STATS_SCHEMA_VERSION } from "../src/lib/metrics/calibration.js";
import type { ModelConfig } from "../src/lib/model/index.js";
import { STATS_COLUMNS } from "../src/lib/schema/stats.js";

/**
 * Per-query masses over the sources of one target sum to 1 up to this (a full cache; measured on the demo
 * calibration: 1.3e-7, torch hook 1e-6 or less with float32 attention).
 */
export const MASS_SUM_TOLERANCE = 1e-3;
/** A single mass may exceed 1 by float rounding only this much. */
export const MASS_RANGE_SLACK = 1e-6;

export class StatsFileError extends Error {
  constructor(file: string, field: string, message: string) {
    super(`${file}: ${field === "" ? "" : `field "${field}" `}${message}`);
    this.name = "StatsFileError";
  }
}

/** What a valid file or folder holds (for `heatkv stats validate`'s ok line). */
export interface StatsSummary {
  files: number;
  rows: number;
  prompts: number;
  branches: string[];
  layers: number;
  heads: number;
  /** (t, s ≤ t) pairs per (layer, head) = K(K+1)/2 */
  pairs: number;
  /** max |Σ_s mass − 1| over every (prompt, branch, layer, head, t) */
  maxSumError: number;
}

const sqlStr = (s: string) => `'${s.replaceAll("'", "''")}'`;
const KEY = ["prompt", "branch", "layer", "head", "target_scale", "source_scale"] as const;

/** The statistics files of a path: the file itself, or a folder's *.parquet (not *_tokens.parquet), sorted. */
export function statsFilesOf(path: string): string[] {
  if (!existsSync(path)) throw new StatsFileError(path, "", "not found (run `heatkv calibrate` first)");
  if (!statSync(path).isDirectory()) return [path];
  const files = readdirSync(path)
    .filter((f) => f.endsWith(".parquet") && !f.endsWith("_tokens.parquet"))
    .sort()
    .map((f) => join(path, f));
  if (files.length === 0) throw new StatsFileError(path, "", "is a folder without statistics files (*.parquet)");
  return files;
}

type Run = (sql: string) => Promise<Record<string, unknown>[]>;

async function withDb<T>(fn: (run: Run) => Promise<T>): Promise<T> {
  const db = await DuckDBInstance.create(":memory:");
  const conn = await db.connect();
  try {
    return await fn(async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[]);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** "row 17 (prompt c0_s1, branch cond, layer 3, head 0, target_scale 2, source_scale 1)" of a table row. */
function rowLabel(r: Record<string, unknown>): string {
  const keys = KEY.filter((k) => r[k] !== undefined).map((k) => `${k} ${r[k] === null ? "NULL" : String(r[k])}`);
  return `row ${String(r._row)} (${keys.join(", ")})`;
}

/** Columns and types of one file (the structural rule), with the same messages as before this module. */
async function checkColumns(run: Run, file: string): Promise<void> {
  if (!existsSync(file)) throw new StatsFileError(file, "", "not found (run `heatkv calibrate` first)");
  let cols: Record<string, unknown>[];
  try {
    cols = await run(`DESCRIBE SELECT * FROM read_parquet(${sqlStr(file)})`);
  } catch (e) {
    throw new StatsFileError(file, "", `is not a readable Parquet file (${(e as Error).message.split("\n")[0]})`);
  }
  const types = new Map(cols.map((c) => [String(c.column_name), String(c.column_type)]));
  for (const [name, type] of STATS_COLUMNS) {
    if (!types.has(name)) throw new StatsFileError(file, name, `is missing (not a ${STATS_SCHEMA_VERSION} attention-stats file)`);
    if (types.get(name) !== type) throw new StatsFileError(file, name, `has type ${types.get(name)}, expected ${type}`);
  }
}

/**
 * Validate one statistics file or a set of shards (read as one table) against the model; throws a
 * StatsFileError naming the file, the first offending row and the rule. Returns what the files hold.
 */
export async function validateStatsFiles(files: string[], cfg: ModelConfig): Promise<StatsSummary> {
  if (files.length === 0) throw new Error("validateStatsFiles: no files");
  const L = cfg.numLayers;
  const H = cfg.numHeads;
  const K = cfg.patchNums.length;
  return withDb(async (run) => {
    for (const f of files) await checkColumns(run, f);
    const list = `[${files.map(sqlStr).join(", ")}]`;
    try {
      await run(`CREATE TABLE a AS SELECT ${STATS_COLUMNS.map(([n]) => `"${n}"`).join(", ")}, filename AS _file, file_row_number AS _row
        FROM read_parquet(${list}, filename = true, file_row_number = true, union_by_name = true)`);
    } catch (e) {
      throw new StatsFileError(files.length === 1 ? files[0] : files.join(", "), "", `cannot be read (${(e as Error).message.split("\n")[0]})`);
    }
    const n = Number((await run(`SELECT count(*) AS n FROM a`))[0].n);
    if (n === 0) throw new StatsFileError(files.length === 1 ? files[0] : files.join(", "), "", "has no rows");
    const cols = `_file, _row, ${KEY.join(", ")}`;
    /** The first row (file order, row order) matching `where`, with extra columns. */
    const first = async (where: string, extra = "") =>
      (await run(`SELECT ${cols}${extra ? `, ${extra}` : ""} FROM a WHERE ${where} ORDER BY _file, _row LIMIT 1`))[0];
    const fail = (r: Record<string, unknown>, field: string, rule: string): never => {
      throw new StatsFileError(String(r._file), field, `${rowLabel(r)}: ${rule}`);
    };

    // structure: schema version and model
    let r = await first(`schema_version IS DISTINCT FROM ${sqlStr(STATS_SCHEMA_VERSION)}`, "schema_version AS v");
    if (r) throw new StatsFileError(String(r._file), "schema_version", `is "${r.v}", this workbench reads "${STATS_SCHEMA_VERSION}" (${rowLabel(r)})`);
    r = await first(`config_hash IS DISTINCT FROM ${sqlStr(cfg.configHash)}`, "config_hash AS v");
    if (r)
      throw new StatsFileError(
        String(r._file),
        "config_hash",
        `is "${r.v}" but the model (${cfg.modelId}) has "${cfg.configHash}": statistics of another model (${rowLabel(r)})`,
      );

    // values: NULL, non-finite numbers, branch names
    for (const [name] of STATS_COLUMNS) {
      r = await first(`"${name}" IS NULL`);
      if (r) fail(r, name, "is NULL (every column is required)");
    }
    for (const name of ["mass", "cfg", "top_p", "temperature"]) {
      r = await first(`NOT isfinite("${name}")`, `"${name}" AS v`);
      if (r) fail(r, name, `is ${String(r.v)} (must be a finite number)`);
    }
    r = await first(`branch NOT IN ('cond', 'uncond')`);
    if (r) fail(r, "branch", `must be "cond" or "uncond"`);

    // shape: indices within the model
    const ranges: [string, string, string][] = [
      ["layer", `layer < 0 OR layer >= ${L}`, `must be in 0..${L - 1} (the model has ${L} layers)`],
      ["head", `head < 0 OR head >= ${H}`, `must be in 0..${H - 1} (the model has ${H} heads)`],
      ["target_scale", `target_scale < 0 OR target_scale >= ${K}`, `must be in 0..${K - 1} (the model has ${K} scales)`],
      ["source_scale", `source_scale < 0 OR source_scale > target_scale`, "must be in 0..target_scale (a target attends to itself and earlier scales)"],
      ["class_index", `class_index < 0 OR class_index >= ${cfg.numClasses}`, `must be in 0..${cfg.numClasses - 1} (the model has ${cfg.numClasses} classes)`],
    ];
    for (const [field, where, rule] of ranges) {
      r = await first(where);
      if (r) fail(r, field, rule);
    }

    // prompt: one set of metadata per prompt
    for (const name of ["class_index", "seed", "cfg", "top_k", "top_p", "temperature", "model_id"]) {
      r = (
        await run(`SELECT ${cols}, "${name}" AS v, p0 FROM a JOIN (SELECT prompt AS p, arg_min("${name}", (_file, _row)) AS p0 FROM a GROUP BY prompt) ON p = prompt
        WHERE "${name}" IS DISTINCT FROM p0 ORDER BY _file, _row LIMIT 1`)
      )[0];
      if (r) fail(r, name, `is ${String(r.v)}, but earlier rows of prompt ${String(r.prompt)} have ${String(r.p0)} (one value per prompt)`);
    }

    // range
    r = await first(`mass < 0 OR mass > ${1 + MASS_RANGE_SLACK}`, "mass AS v");
    if (r) fail(r, "mass", `is ${String(r.v)}: an attention mass is a probability in [0, 1]`);

    // unique keys; a whole prompt present twice is named as such
    const key = KEY.join(", ");
    r = (
      await run(`SELECT ${cols}, n, lo, hi, f0 FROM (SELECT *,
          row_number() OVER (PARTITION BY ${key} ORDER BY _file, _row) AS k, first_value(_file) OVER (PARTITION BY ${key} ORDER BY _file, _row) AS f0,
          count(*) OVER (PARTITION BY ${key}) AS n, min(mass) OVER (PARTITION BY ${key}) AS lo, max(mass) OVER (PARTITION BY ${key}) AS hi FROM a)
        WHERE k > 1 ORDER BY _file, _row LIMIT 1`)
    )[0];
    if (r) {
      const p = String(r.prompt);
      const times = Number((await run(`SELECT min(c) AS c FROM (SELECT count(*) AS c FROM a WHERE prompt = ${sqlStr(p)} GROUP BY ${key})`))[0].c);
      const where = r.f0 === r._file ? `twice within ${basename(String(r._file))}` : `in ${basename(String(r.f0))} and ${basename(String(r._file))}`;
      if (times > 1)
        fail(
          r,
          "prompt",
          `prompt ${p} is recorded ${times} times (${where}): the same prompt twice (e.g. a re-run of the torch hook into the same folder) would count double in S-CAS — remove one copy`,
        );
      fail(
        r,
        "prompt/branch/layer/head/target_scale/source_scale",
        `key present ${String(r.n)} times (${where}) with ${r.lo === r.hi ? `the same mass ${String(r.lo)}` : `conflicting masses ${String(r.lo)} and ${String(r.hi)}`}: each key must appear once`,
      );
    }

    // branches: cond always; uncond exactly when CFG is on
    const br = (
      await run(`SELECT prompt, any_value(cfg) AS cfg, bool_or(branch = 'cond') AS has_cond, bool_or(branch = 'uncond') AS has_uncond,
        arg_min(_file, (_file, _row)) AS _file, min(_row) AS _row
      FROM a GROUP BY prompt HAVING NOT bool_or(branch = 'cond') OR bool_or(branch = 'uncond') <> (any_value(cfg) > 0) ORDER BY _file, _row LIMIT 1`)
    )[0];
    if (br) {
      const row = (await first(`prompt = ${sqlStr(String(br.prompt))}`))!;
      if (!br.has_cond)
        fail(row, "branch", `prompt ${String(br.prompt)} has no cond rows (only uncond): S-CAS and every schedule are built from the cond branch`);
      if (Number(br.cfg) > 0)
        fail(row, "branch", `prompt ${String(br.prompt)} has cfg ${String(br.cfg)} (CFG on) but no uncond rows: both CFG branches must be recorded`);
      fail(row, "branch", `prompt ${String(br.prompt)} has uncond rows but cfg 0 (CFG off: the model runs no uncond branch)`);
    }

    // coverage: every (layer, head, t, s ≤ t) per prompt and branch present
    const pairs = (K * (K + 1)) / 2;
    const expected = L * H * pairs;
    const miss = (
      await run(`WITH keys AS (SELECT l.range::INTEGER AS layer, h.range::INTEGER AS head, t.range::INTEGER AS target_scale, s.range::INTEGER AS source_scale
          FROM range(${L}) l, range(${H}) h, range(${K}) t, range(${K}) s WHERE s.range <= t.range),
        pb AS (SELECT prompt, branch, count(*) AS n, arg_min(_file, (_file, _row)) AS _file, min(_row) AS _row FROM a GROUP BY prompt, branch HAVING count(*) <> ${expected})
      SELECT pb.prompt, pb.branch, pb.n, pb._file, k.layer, k.head, k.target_scale, k.source_scale
      FROM pb CROSS JOIN keys k WHERE NOT EXISTS (SELECT 1 FROM a WHERE a.prompt = pb.prompt AND a.branch = pb.branch AND a.layer = k.layer
        AND a.head = k.head AND a.target_scale = k.target_scale AND a.source_scale = k.source_scale)
      ORDER BY pb._file, pb._row, k.layer, k.head, k.target_scale, k.source_scale LIMIT 1`)
    )[0];
    if (miss)
      throw new StatsFileError(
        String(miss._file),
        "",
        `missing row (prompt ${String(miss.prompt)}, branch ${String(miss.branch)}, layer ${String(miss.layer)}, head ${String(miss.head)}, target_scale ${String(
          miss.target_scale,
        )}, source_scale ${String(miss.source_scale)}): prompt ${String(miss.prompt)} ${String(miss.branch)} has ${String(miss.n)} of the ${expected} rows ` +
          `(${L} layers × ${H} heads × ${pairs} (t, s ≤ t)); every key must be present`,
      );

    // sums over sources per query scale
    const sums = await run(`SELECT *, abs(m - 1) AS e FROM (SELECT prompt, branch, layer, head, target_scale, sum(mass) AS m,
        arg_min(_file, (_file, _row)) AS _file, min(_row) AS _row FROM a GROUP BY prompt, branch, layer, head, target_scale)
      ORDER BY (abs(m - 1) > ${MASS_SUM_TOLERANCE}) DESC, _file, _row LIMIT 1`);
    const maxSumError = Number(
      (await run(`SELECT max(abs(m - 1)) AS e FROM (SELECT sum(mass) AS m FROM a GROUP BY prompt, branch, layer, head, target_scale)`))[0].e,
    );
    if (Number(sums[0].e) > MASS_SUM_TOLERANCE)
      fail(
        sums[0],
        "mass",
        `the masses of target_scale ${String(sums[0].target_scale)} over source_scale 0..${String(sums[0].target_scale)} sum to ${String(sums[0].m)}, not 1 (|Σ−1| ≤ ${MASS_SUM_TOLERANCE}: each query's attention is a probability distribution over the full cache)`,
      );

    const meta = (await run(`SELECT count(DISTINCT prompt) AS p, list(DISTINCT branch ORDER BY branch) AS b FROM a`))[0];
    return {
      files: files.length,
      rows: n,
      prompts: Number(meta.p),
      branches: meta.b as string[],
      layers: L,
      heads: H,
      pairs,
      maxSumError,
    };
  });
}

/** The ok line of `heatkv stats validate`. */
export function summaryLine(s: StatsSummary, cfg: ModelConfig): string {
  return (
    `ok: ${s.prompts} prompts × ${s.branches.length} branch${s.branches.length === 1 ? "" : "es"} (${s.branches.join(", ")}) × ${s.layers} layers × ${s.heads} heads × ` +
    `${s.pairs} (t, s ≤ t) = ${s.rows} rows in ${s.files} file${s.files === 1 ? "" : "s"}; model ${cfg.modelId} (${cfg.configHash}); max |Σ_s mass − 1| = ${s.maxSumError.toExponential(1)}`
  );
}
