// jobs/cache-shape.ts (src/data/cache_shape.parquet.ts): rows derived from config.json, and the Parquet it writes (read back with DuckDB).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { describe, expect, it } from "vitest";
import { CACHE_SHAPE_SCHEMA, cacheShapeRows, kvBlockBytes, readModelConfig } from "../../jobs/cache-shape.js";
import { toParquet } from "../../node/parquet.js";
import { MODEL_DIR } from "../../node/paths.js";
import { computeConfigHash, fullCacheBytes, parseConfig } from "../../src/lib/model/index.js";

const raw = JSON.parse(readFileSync(join(MODEL_DIR, "config.json"), "utf8")) as Record<string, unknown>;
const config = readModelConfig();

describe("cacheShapeRows", () => {
  const rows = cacheShapeRows(config);
  const K = config.patchNums.length;

  it("has one row per (scale, layer, head)", () => {
    expect(rows).toHaveLength(K * config.numLayers * config.numHeads);
    expect(new Set(rows.map((r) => `${r.scale}/${r.layer}/${r.head}`)).size).toBe(rows.length);
  });

  it("uses n_s = patch², never caches the last scale, and sizes blocks as 2·d·n·4·2 bytes", () => {
    for (const r of rows) {
      expect(r.tokens).toBe(config.patchNums[r.scale] ** 2);
      expect(r.cached).toBe(r.scale < K - 1);
      expect(r.bytes).toBe(2 * config.headDim * r.tokens * 4 * 2);
    }
    expect(kvBlockBytes(16, 1)).toBe(256);
  });

  it("sums to the full cache of src/lib/model/bytes.ts (2·L·H·d·C_max·4·2)", () => {
    const total = rows.filter((r) => r.cached).reduce((s, r) => s + r.bytes, 0);
    expect(total).toBe(fullCacheBytes(config));
  });

  it("follows config.json instead of hard-coded shapes", () => {
    const edited = { ...raw, patch_nums: [1, 2, 4, 8], total_tokens: undefined, width: undefined, num_layers: 2, num_heads: 3 };
    const other = parseConfig({ ...edited, config_hash: computeConfigHash(edited) });
    const r = cacheShapeRows(other);
    expect(r).toHaveLength(4 * 2 * 3);
    expect(r.filter((x) => x.cached).reduce((s, x) => s + x.bytes, 0)).toBe(2 * 2 * 3 * other.headDim * (1 + 4 + 16) * 4 * 2);
  });
});

describe("toParquet", () => {
  it("writes a Parquet file that DuckDB reads back with the same rows and types", async () => {
    const rows = cacheShapeRows(config);
    const bytes = await toParquet(CACHE_SHAPE_SCHEMA, rows);
    expect(bytes.subarray(0, 4).toString()).toBe("PAR1");
    const path = join(mkdtempSync(join(tmpdir(), "heatkv-test-")), "cache_shape.parquet");
    writeFileSync(path, bytes);
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll(
        `SELECT COUNT(*)::DOUBLE, SUM(bytes)::DOUBLE, COUNT(*) FILTER (WHERE NOT cached)::DOUBLE FROM read_parquet('${path}')`,
      );
      const [count, sum, uncached] = reader.getRows()[0].map(Number);
      expect(count).toBe(rows.length);
      expect(sum).toBe(rows.reduce((s, r) => s + r.bytes, 0));
      expect(uncached).toBe(config.numLayers * config.numHeads);
      const types = await connection.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${path}'))`);
      expect(Object.fromEntries(types.getRows().map(([n, t]) => [String(n), String(t)]))).toEqual(CACHE_SHAPE_SCHEMA);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});
