// Statistics are checked for meaning, not only structure (node/stats-validate.ts): a real calibration store
// passes; a forged copy breaking each rule fails with one line naming the file, the first offending row (its
// key values) and the rule. Forged files are written from the real store into a temp folder by DuckDB SQL.
import { mkdirSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { beforeAll, describe, expect, it } from "vitest";
import { calibrate } from "../../jobs/calibrate.js";
import { loadNodeModel } from "../../node/node-backend.js";
import { loadHeadScaleStats, readScaleMass, validateStats } from "../../node/stats-store.js";
import { MASS_SUM_TOLERANCE, statsFilesOf, summaryLine, validateStatsFiles } from "../../node/stats-validate.js";
import type { ModelConfig } from "../../src/lib/model/index.js";

let cfg: ModelConfig;
let dir: string;
let real: string;
beforeAll(async () => {
  cfg = (await loadNodeModel()).config;
  dir = mkdtempSync(join(tmpdir(), "heatkv-validate-"));
  real = join(dir, "real", "attention.parquet");
  await calibrate({ out: real, classes: [0, 4], seeds: [1], progress: false, log: () => {} });
}, 60_000);

async function sql(q: string) {
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  try {
    return (await c.runAndReadAll(q)).getRowObjectsJS();
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

/** Write `SELECT … FROM real …` (the real store is the view `real`) to dir/name; returns the path. */
async function forge(name: string, select: string): Promise<string> {
  const p = join(dir, name);
  await sql(`CREATE VIEW real AS SELECT * FROM read_parquet('${real}'); COPY (${select}) TO '${p}' (FORMAT parquet)`);
  return p;
}
const at = `prompt = 'c4_s1' AND branch = 'cond' AND layer = 2 AND head = 3 AND target_scale = 4 AND source_scale = 1`;
const atRow = "prompt c4_s1, branch cond, layer 2, head 3, target_scale 4, source_scale 1";
const rowOf = async (file: string, where: string) =>
  Number((await sql(`SELECT file_row_number AS r FROM read_parquet('${file}', file_row_number = true) WHERE ${where}`))[0].r);
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("stats validation: the real calibration output passes", () => {
  it("a merged store and its folder of shards (the _tokens files skipped) are valid, with their summary", async () => {
    const s = await validateStatsFiles([real], cfg);
    const K = cfg.patchNums.length;
    expect(s).toMatchObject({ files: 1, prompts: 2, branches: ["cond", "uncond"], rows: 2 * 2 * cfg.numLayers * cfg.numHeads * ((K * (K + 1)) / 2) });
    expect(s.maxSumError).toBeLessThan(1e-5);
    expect(summaryLine(s, cfg)).toMatch(/^ok: 2 prompts × 2 branches \(cond, uncond\) × 6 layers × 8 heads × 28 \(t, s ≤ t\) = 5376 rows in 1 file; /);
    const shards = join(`${real}.shards`, readdirSync(`${real}.shards`)[0]);
    expect(statsFilesOf(shards).map((f) => f.split("/").pop())).toEqual(["c0_s1.parquet", "c4_s1.parquet"]);
    expect(await validateStatsFiles(statsFilesOf(shards), cfg)).toMatchObject({ files: 2, prompts: 2, rows: s.rows });
  });
});

describe("stats validation: each rule fails with the file, the first offending row and the rule", () => {
  it("uncond branch only (every S-CAS would be 0)", async () => {
    const p = await forge("uncond.parquet", `SELECT * FROM real WHERE branch = 'uncond'`);
    await expect(validateStats(p, cfg)).rejects.toThrow(
      /uncond\.parquet: field "branch" row 0 \(prompt c0_s1, branch uncond, layer 0, head 0, target_scale 0, source_scale 0\): prompt c0_s1 has no cond rows \(only uncond\)/,
    );
    await expect(loadHeadScaleStats(p, cfg)).rejects.toThrow(/has no cond rows/); // schedule building runs it
  });
  it("CFG on (cfg 3) but only the cond branch", async () => {
    const p = await forge("condonly.parquet", `SELECT * FROM real WHERE branch = 'cond'`);
    await expect(validateStats(p, cfg)).rejects.toThrow(
      /condonly\.parquet: field "branch" row 0 \(prompt c0_s1, .*\): prompt c0_s1 has cfg 3 \(CFG on\) but no uncond rows/,
    );
  });
  it("a layer's rows missing", async () => {
    const p = await forge("nolayer.parquet", `SELECT * FROM real WHERE NOT (prompt = 'c4_s1' AND layer = 3)`);
    await expect(validateStats(p, cfg)).rejects.toThrow(
      /nolayer\.parquet: missing row \(prompt c4_s1, branch cond, layer 3, head 0, target_scale 0, source_scale 0\): prompt c4_s1 cond has 1120 of the 1344 rows \(6 layers × 8 heads × 28 \(t, s ≤ t\)\); every key must be present/,
    );
  });
  it("mass 1e6", async () => {
    const p = await forge("big.parquet", `SELECT * REPLACE (CASE WHEN ${at} THEN 1e6 ELSE mass END AS mass) FROM real`);
    const row = await rowOf(p, at);
    await expect(validateStats(p, cfg)).rejects.toThrow(
      new RegExp(`big\\.parquet: field "mass" row ${row} \\(${esc(atRow)}\\): is 1000000: an attention mass is a probability in \\[0, 1\\]`),
    );
  });
  it("masses of one target not summing to 1", async () => {
    const w = `prompt = 'c4_s1' AND branch = 'uncond' AND layer = 5 AND head = 7 AND target_scale = 6 AND source_scale = 6`;
    const p = await forge("sum.parquet", `SELECT * REPLACE (CASE WHEN ${w} THEN mass * 0.5 ELSE mass END AS mass) FROM real`);
    await expect(validateStats(p, cfg)).rejects.toThrow(
      new RegExp(
        `sum\\.parquet: field "mass" row \\d+ \\(prompt c4_s1, branch uncond, layer 5, head 7, target_scale 6\\): the masses of target_scale 6 over source_scale 0\\.\\.6 sum to 0\\.\\d+, not 1 \\(\\|Σ−1\\| ≤ ${MASS_SUM_TOLERANCE}`,
      ),
    );
  });
  it("NULL mass", async () => {
    const p = await forge("null.parquet", `SELECT * REPLACE (CASE WHEN ${at} THEN NULL ELSE mass END AS mass) FROM real`);
    await expect(validateStats(p, cfg)).rejects.toThrow(new RegExp(`null\\.parquet: field "mass" row ${await rowOf(p, at)} \\(${esc(atRow)}\\): is NULL`));
  });
  it("NaN and Inf mass", async () => {
    for (const [name, v] of [
      ["nan", "NaN"],
      ["inf", "Infinity"],
    ]) {
      const p = await forge(`${name}.parquet`, `SELECT * REPLACE (CASE WHEN ${at} THEN '${v}'::DOUBLE ELSE mass END AS mass) FROM real`);
      await expect(validateStats(p, cfg)).rejects.toThrow(
        new RegExp(`${name}\\.parquet: field "mass" row \\d+ \\(${esc(atRow)}\\): is ${v} \\(must be a finite number\\)`),
      );
    }
  });
  it("layer −1 (and a layer past the model)", async () => {
    const p = await forge("neg.parquet", `SELECT * REPLACE (CASE WHEN ${at} THEN -1 ELSE layer END AS layer) FROM real`);
    await expect(validateStats(p, cfg)).rejects.toThrow(
      /neg\.parquet: field "layer" row \d+ \(prompt c4_s1, branch cond, layer -1, head 3, target_scale 4, source_scale 1\): must be in 0\.\.5 \(the model has 6 layers\)/,
    );
    const q = await forge("shape.parquet", `SELECT * REPLACE (layer + 10 AS layer) FROM real`);
    await expect(readScaleMass(q, cfg)).rejects.toThrow(/shape\.parquet: field "layer" row 0 \(prompt c0_s1, branch cond, layer 10, .*\): must be in 0\.\.5/);
  });
  it("duplicated conflicting rows", async () => {
    const p = await forge("dup.parquet", `SELECT * FROM real UNION ALL SELECT * REPLACE (mass + 0.25 AS mass) FROM real WHERE ${at}`);
    await expect(validateStats(p, cfg)).rejects.toThrow(
      new RegExp(
        `dup\\.parquet: field "prompt/branch/layer/head/target_scale/source_scale" row 5376 \\(${esc(atRow)}\\): key present 2 times \\(twice within dup\\.parquet\\) with conflicting masses`,
      ),
    );
  });
  it("the same prompt twice: two shards of one prompt in a folder (a re-run of the hook), and within one file", async () => {
    const shards = join(dir, "twice");
    mkdirSync(shards);
    await forge("twice/stats-host-101-r0.parquet", `SELECT * FROM real WHERE prompt = 'c0_s1'`);
    await forge("twice/stats-host-202-r0.parquet", `SELECT * FROM real WHERE prompt = 'c0_s1'`);
    await expect(validateStatsFiles(statsFilesOf(shards), cfg)).rejects.toThrow(
      /twice\/stats-host-202-r0\.parquet: field "prompt" row 0 \(prompt c0_s1, branch cond, layer 0, head 0, target_scale 0, source_scale 0\): prompt c0_s1 is recorded 2 times \(in stats-host-101-r0\.parquet and stats-host-202-r0\.parquet\): the same prompt twice/,
    );
    const p = await forge("twice.parquet", `SELECT * FROM real UNION ALL SELECT * FROM real WHERE prompt = 'c4_s1'`);
    await expect(validateStats(p, cfg)).rejects.toThrow(
      /twice\.parquet: field "prompt" row 5376 \(prompt c4_s1, .*\): prompt c4_s1 is recorded 2 times \(twice within twice\.parquet\)/,
    );
  });
  it("another model's config hash (first offending row named)", async () => {
    const p = await forge(
      "hash.parquet",
      `SELECT * REPLACE (CASE WHEN prompt = 'c4_s1' THEN 'deadbeefdeadbeef' ELSE config_hash END AS config_hash) FROM real`,
    );
    await expect(validateStats(p, cfg)).rejects.toThrow(
      /hash\.parquet: field "config_hash" is "deadbeefdeadbeef" but the model \(heatkv-emoji-var-v1\) has "1f3e06514a65b5d2": statistics of another model \(row 2688 \(prompt c4_s1, branch cond, layer 0/,
    );
  });
  it("one prompt with two classes", async () => {
    const p = await forge("cls.parquet", `SELECT * REPLACE (CASE WHEN ${at} THEN 7 ELSE class_index END AS class_index) FROM real`);
    await expect(validateStats(p, cfg)).rejects.toThrow(
      new RegExp(`cls\\.parquet: field "class_index" row \\d+ \\(${esc(atRow)}\\): is 7, but earlier rows of prompt c4_s1 have 4 \\(one value per prompt\\)`),
    );
  });
});
