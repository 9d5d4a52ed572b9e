// The calibration job (jobs/calibrate.ts) and its Parquet store (node/stats-store.ts): rows, resume, corrupt
// shards, the written columns, clear errors on bad files, and the tables derived from a store (S-CAS, stability).
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { beforeAll, describe, expect, it } from "vitest";
import { calibrate } from "../../jobs/calibrate.js";
import { loadNodeModel } from "../../node/node-backend.js";
import { readScaleMass, tokensPath, validateStats } from "../../node/stats-store.js";
import { STATS_COLUMNS, TOKEN_STATS_COLUMNS } from "../../src/lib/schema/stats.js";
import type { ModelConfig } from "../../src/lib/model/index.js";

let cfg: ModelConfig;
let dir: string;
let full: string;
beforeAll(async () => {
  cfg = (await loadNodeModel()).config;
  dir = mkdtempSync(join(tmpdir(), "heatkv-cal-"));
  full = join(dir, "full", "attention.parquet");
  await calibrate({ out: full, classes: [0, 4], seeds: [1, 2], progress: false, log: () => {} });
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

describe("calibration job", () => {
  it("stores every prompt × branch × layer × head × (t, s ≤ t) row, and mass over s sums to 1 per target", async () => {
    const K = cfg.patchNums.length;
    const perPrompt = 2 * cfg.numLayers * cfg.numHeads * ((K * (K + 1)) / 2);
    expect(await validateStats(full, cfg)).toEqual({ rows: 4 * perPrompt, prompts: 4 });
    const sums = await sql(`SELECT prompt, branch, layer, head, target_scale, sum(mass) AS m FROM read_parquet('${full}') GROUP BY ALL`);
    for (const r of sums) expect(Math.abs(Number(r.m) - 1)).toBeLessThan(1e-4);
  });

  it("writes exactly the schema's columns (src/lib/schema/stats.ts), in order, with their DuckDB types", async () => {
    for (const [file, cols] of [
      [full, STATS_COLUMNS],
      [tokensPath(full), TOKEN_STATS_COLUMNS],
    ] as const) {
      const described = await sql(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
      expect(
        described.map((c) => [c.column_name, c.column_type]),
        file,
      ).toEqual(cols.map(([name, type]) => [name, type]));
    }
  });

  it("the _tokens table holds every cached (source scale, token) of every target once, summing to the scale table's cond mass", async () => {
    const n = cfg.patchNums.map((p) => p * p);
    // entries per (prompt, layer, head, t): every s < t with its n_s tokens, each once, token in [0, n_s)
    const bad = await sql(
      `SELECT prompt, layer, head, target_scale, source_scale, count(*) AS c, count(DISTINCT token) AS d, min(token) AS lo, max(token) AS hi
       FROM read_parquet('${tokensPath(full)}') GROUP BY ALL`,
    );
    expect(bad.length).toBe(4 * cfg.numLayers * cfg.numHeads * ((n.length * (n.length - 1)) / 2));
    for (const r of bad) {
      const ns = n[Number(r.source_scale)];
      expect(Number(r.source_scale)).toBeLessThan(Number(r.target_scale));
      expect([Number(r.c), Number(r.d), Number(r.lo), Number(r.hi)]).toEqual([ns, ns, 0, ns - 1]);
    }
    const joined = await sql(
      `SELECT max(abs(t.m - s.mass)) AS err FROM
         (SELECT prompt, layer, head, target_scale, source_scale, sum(mass) AS m FROM read_parquet('${tokensPath(full)}') GROUP BY ALL) t
       JOIN read_parquet('${full}') s USING (prompt, layer, head, target_scale, source_scale) WHERE s.branch = 'cond'`,
    );
    expect(Number(joined[0].err)).toBeLessThan(1e-5);
  });

  it("resumes an interrupted run without redoing finished prompts, to the same result", async () => {
    const out = join(dir, "resume", "attention.parquet");
    const first = await calibrate({ out, classes: [0, 4], seeds: [1, 2], limit: 2, progress: false, log: () => {} });
    expect(first.complete).toBe(false);
    expect(existsSync(out)).toBe(false);
    // a crash mid-write leaves a temp file: it is cleaned, not read
    const shardDir = join(`${out}.shards`, readdirSync(`${out}.shards`)[0]);
    writeFileSync(join(shardDir, "c4_s1.parquet.999.tmp"), "partial");
    const second = await calibrate({ out, classes: [0, 4], seeds: [1, 2], progress: false, log: () => {} });
    expect(second).toMatchObject({ complete: true, computed: 2, reused: 2 });
    expect(readdirSync(shardDir).some((f) => f.endsWith(".tmp"))).toBe(false);
    const a = await readScaleMass(full, cfg);
    const b = await readScaleMass(out, cfg);
    expect(b.prompts).toEqual(a.prompts);
    expect(Array.from(b.mass)).toEqual(Array.from(a.mass));
  });

  it("redoes a corrupt shard instead of using it", async () => {
    const out = join(dir, "corrupt", "attention.parquet");
    await calibrate({ out, classes: [0], seeds: [1], progress: false, log: () => {} });
    const shardDir = join(`${out}.shards`, readdirSync(`${out}.shards`)[0]);
    truncateSync(join(shardDir, "c0_s1.parquet"), 100);
    const warnings: string[] = [];
    const r = await calibrate({ out, classes: [0], seeds: [1], progress: false, log: (s) => warnings.push(s) });
    expect(r.computed).toBe(1);
    expect(warnings.join("\n")).toMatch(/redoing c0_s1: .*c0_s1\.parquet: is not a readable Parquet file/);
  });
});

describe("stats files: clear errors naming file and field", () => {
  const rewrite = async (name: string, select: string) => {
    const p = join(dir, name);
    await sql(`COPY (SELECT ${select} FROM read_parquet('${full}')) TO '${p}' (FORMAT parquet)`);
    return p;
  };
  it("wrong schema version", async () => {
    const p = await rewrite("v0.parquet", `* REPLACE ('heatkv-stats/0' AS schema_version)`);
    await expect(validateStats(p, cfg)).rejects.toThrow(/v0\.parquet: field "schema_version" is "heatkv-stats\/0", this workbench reads "heatkv-stats\/1"/);
  });
  it("another model's config hash", async () => {
    const p = await rewrite("other.parquet", `* REPLACE ('deadbeefdeadbeef' AS config_hash)`);
    await expect(validateStats(p, cfg)).rejects.toThrow(/other\.parquet: field "config_hash" is "deadbeefdeadbeef" but the model/);
  });
  it("missing column and wrong type", async () => {
    await expect(validateStats(await rewrite("nomass.parquet", `* EXCLUDE (mass)`), cfg)).rejects.toThrow(/nomass\.parquet: field "mass" is missing/);
    await expect(validateStats(await rewrite("strlayer.parquet", `* REPLACE (CAST(layer AS VARCHAR) AS layer)`), cfg)).rejects.toThrow(
      /strlayer\.parquet: field "layer" has type VARCHAR, expected INTEGER/,
    );
  });
  it("truncated Parquet and missing file", async () => {
    const p = join(dir, "trunc.parquet");
    copyFileSync(full, p);
    truncateSync(p, Math.floor(readFileSync(p).length / 2));
    await expect(validateStats(p, cfg)).rejects.toThrow(/trunc\.parquet: is not a readable Parquet file/);
    await expect(validateStats(join(dir, "nope.parquet"), cfg)).rejects.toThrow(/nope\.parquet: not found \(run `heatkv calibrate` first\)/);
  });
  it("shape outside the model", async () => {
    const p = await rewrite("shape.parquet", `* REPLACE (layer + 10 AS layer)`);
    await expect(readScaleMass(p, cfg)).rejects.toThrow(/shape\.parquet: field "layer" row 0 \(prompt c0_s1, branch cond, layer 10, .*\): must be in 0\.\.5/);
  });
});

describe("derived tables", () => {
  it("the S-CAS SQL view equals the TypeScript S-CAS on the same store", async () => {
    const { scasSql } = await import("../../src/lib/schema/stats.js");
    const { scas } = await import("../../src/lib/metrics/attention.js");
    const { prompts, mass, K } = await readScaleMass(full, cfg);
    const N = cfg.numLayers * cfg.numHeads;
    const ts = scas(prompts.length, N, K, 3, (p, i, t, s) => mass[((p * N + i) * K + t) * K + s]);
    const rows = await sql(`CREATE VIEW attention AS SELECT * FROM read_parquet('${full}'); ${scasSql(K, 3)}`);
    expect(rows.length).toBe(N * (K - 1 - 3));
    for (const r of rows) expect(Number(r.scas)).toBeCloseTo(ts[(Number(r.layer) * cfg.numHeads + Number(r.head)) * K + Number(r.source_scale)], 12);
  });

  it("stability: tau = 1 with the whole set, one row per (m, source) and per held-out class", async () => {
    const { stabilityRows } = await import("../../jobs/stability.js");
    const rows = await stabilityRows(full, cfg, 3);
    const K = cfg.patchNums.length;
    const growth = rows.filter((r) => r.kind === "growth");
    expect(growth.length).toBe(4 * (K - 1 - 3));
    for (const r of growth.filter((r) => r.prompts === 4)) expect(r.tau).toBeCloseTo(1, 12);
    const held = rows.filter((r) => r.kind === "heldout_class");
    expect(held.map((r) => r.class_index)).toEqual([0, 0, 0, 4, 4, 4]);
    for (const r of rows) expect(Math.abs(Number(r.tau))).toBeLessThanOrEqual(1);
  });
});
