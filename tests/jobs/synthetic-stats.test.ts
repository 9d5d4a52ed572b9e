// jobs/synthetic-stats.ts: shape, schema, masses summing to 1, determinism, explorer query timings; and
// docs/stats-schema.md against the schema's column lists (src/lib/schema/stats.ts).
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  INFINITY_2B_SHAPE,
  syntheticConfigHash,
  syntheticRowCount,
  type SyntheticShape,
  timeExplorerQueries,
  VAR_D16_SHAPE,
  writeSyntheticStats,
} from "../../jobs/synthetic-stats.js";
import { SCALE_COLUMNS, validateStats } from "../../node/stats-store.js";
import { STATS_COLUMNS, TOKEN_STATS_COLUMNS } from "../../src/lib/schema/stats.js";
import type { ModelConfig } from "../../src/lib/model/index.js";
import { ROOT, sql } from "../tools/helpers.js";

const small: SyntheticShape = { modelId: "synthetic-small", patchNums: [1, 2, 3, 4], numLayers: 3, numHeads: 4 };
const opts = { classes: 2, seeds: 2, threads: 1 };

describe("synthetic heatkv-stats/1 files", () => {
  const dir = mkdtempSync(join(tmpdir(), "heatkv-syn-"));
  const file = join(dir, "small.parquet");

  it("has every prompt × branch × layer × head × (t, s ≤ t) row in the exact schema, masses sum to 1 per target", async () => {
    const r = await writeSyntheticStats(file, small, opts);
    const K = small.patchNums.length;
    expect(r.rows).toBe(2 * 2 * 2 * 3 * 4 * ((K * (K + 1)) / 2));
    const cfg = { ...small, configHash: syntheticConfigHash(small), numClasses: opts.classes } as unknown as ModelConfig; // the shape the validator checks against
    expect(await validateStats(file, cfg)).toEqual({ rows: r.rows, prompts: 4 });
    const types = await sql(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
    expect(types.map((t) => [t.column_name, t.column_type])).toEqual(Object.entries(SCALE_COLUMNS));
    const sums = await sql(`SELECT max(abs(m - 1)) AS err, count(*) AS n, min(lo) AS lo FROM (
      SELECT sum(mass) AS m, min(mass) AS lo FROM read_parquet('${file}') GROUP BY prompt, branch, layer, head, target_scale)`);
    expect(Number(sums[0].err)).toBeLessThan(1e-12);
    expect(Number(sums[0].n)).toBe(4 * 2 * 3 * 4 * K);
    expect(Number(sums[0].lo)).toBeGreaterThan(0);
    const bad = await sql(`SELECT count(*) AS n FROM read_parquet('${file}') WHERE source_scale > target_scale OR target_scale >= ${K}`);
    expect(Number(bad[0].n)).toBe(0);
    const again = await writeSyntheticStats(join(dir, "again.parquet"), small, opts);
    const diff = await sql(`SELECT max(abs(a.mass - b.mass)) AS d, count(*) AS n FROM read_parquet('${file}') a
      JOIN read_parquet('${again.out}') b USING (prompt, branch, layer, head, target_scale, source_scale)`);
    expect(Number(diff[0].n)).toBe(r.rows);
    expect(Number(diff[0].d)).toBe(0); // deterministic
  });

  it("has local, sink-heavy and broad heads", async () => {
    const rows = await sql(`WITH h AS (SELECT layer, head,
        avg(mass) FILTER (WHERE source_scale = target_scale) AS own,
        sum(mass) FILTER (WHERE source_scale <= 2) / count(DISTINCT (prompt, branch, target_scale)) AS sink
      FROM read_parquet('${join(dir, "small.parquet")}') WHERE target_scale = 3 GROUP BY layer, head)
      SELECT count(*) FILTER (WHERE sink > 0.5) AS sinky, count(*) FILTER (WHERE own > 0.6) AS local FROM h`);
    expect(Number(rows[0].local)).toBeGreaterThan(0);
    expect(Number(rows[0].sinky)).toBeGreaterThan(0);
  });

  it("row counts of the published shapes; timeExplorerQueries times every explorer query", async () => {
    expect(syntheticRowCount(INFINITY_2B_SHAPE)).toBe(16 * 2 * 32 * 16 * 91);
    expect(syntheticRowCount(VAR_D16_SHAPE)).toBe(16 * 2 * 16 * 16 * 55);
    expect(syntheticConfigHash(INFINITY_2B_SHAPE)).toMatch(/^[0-9a-f]{16}$/);
    const t = await timeExplorerQueries(file, { repeats: 1, threads: 1 });
    expect(t.rows).toBe(syntheticRowCount(small, opts));
    expect(Object.keys(t.queries).length).toBe(6);
    for (const ms of Object.values(t.queries)) expect(ms).toBeGreaterThanOrEqual(0);
  });
});

describe("docs/stats-schema.md", () => {
  it("lists every column of both tables with its DuckDB type, in order", () => {
    const doc = readFileSync(join(ROOT, "docs", "stats-schema.md"), "utf8");
    const [scale, tokens] = doc.split("## 2. Token-level table");
    for (const [part, cols] of [
      [scale, STATS_COLUMNS],
      [tokens, TOKEN_STATS_COLUMNS],
    ] as const) {
      const rows = [...part.matchAll(/^\| `(\w+)` \| (\w+) \|/gm)].map((m) => [m[1], m[2]]);
      expect(rows).toEqual(cols.map(([n, t]) => [n, t]));
    }
  });
});
