// Full-cache KV size table of the demo VAR, derived from data/model/config.json: one row per
// (scale, layer, head). Scale s has n_s = patch_nums[s]² tokens; every scale but the last is cached;
// bytes = 2 (K, V) × head_dim × n_s × 4 (fp32) × 2 (CFG halves) — the block's size whether or not it is
// cached (the full cache is the sum over cached rows; see fullCacheBytes in src/lib/model/bytes.ts).
import { READ_LIMITS, readJsonFile } from "../node/read-file.js";
import { join } from "node:path";
import { DEFAULT_BYTES_PER_ELEMENT, DEFAULT_CFG_ROWS, kvBlockBytes, modelShape, parseConfig, type ModelConfig } from "../src/lib/model/index.js";
import type { Schema } from "../node/parquet.js";
import { MODEL_DIR } from "../node/paths.js";

export { kvBlockBytes };

export interface CacheShapeRow {
  [key: string]: number | boolean;
  scale: number;
  patch: number;
  tokens: number;
  layer: number;
  head: number;
  cached: boolean;
  bytes: number;
}

export const CACHE_SHAPE_SCHEMA: Schema = {
  scale: "INTEGER",
  patch: "INTEGER",
  tokens: "INTEGER",
  layer: "INTEGER",
  head: "INTEGER",
  cached: "BOOLEAN",
  bytes: "INTEGER",
};

export function readModelConfig(dir = MODEL_DIR): ModelConfig {
  const path = join(dir, "config.json");
  return parseConfig(readJsonFile(path, { maxBytes: READ_LIMITS.config, what: "model config" }), path);
}

export function cacheShapeRows(config: ModelConfig): CacheShapeRow[] {
  const { tokensPerScale, numScales } = modelShape(config);
  const rows: CacheShapeRow[] = [];
  config.patchNums.forEach((patch, scale) => {
    const tokens = tokensPerScale[scale];
    const bytes = kvBlockBytes(config.headDim, tokens, DEFAULT_BYTES_PER_ELEMENT, DEFAULT_CFG_ROWS);
    for (let layer = 0; layer < config.numLayers; ++layer) {
      for (let head = 0; head < config.numHeads; ++head) {
        rows.push({ scale, patch, tokens, layer, head, cached: scale < numScales - 1, bytes });
      }
    }
  });
  return rows;
}
