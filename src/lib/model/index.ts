/**
 * The ground floor: what a model is (config reader/validator, shape from patch_nums, KV bytes, the ReCalKV
 * variant manifest). Imports nothing else of the workbench; schedules/, var/, enforce/, metrics/ and site/
 * build on it.
 */
export { CONFIG_HASH_FIELDS, ConfigError, type ModelConfig, computeConfigHash, parseConfig, resolveClass } from "./config.js";
export { type ModelShape, type ShapeFacts, modelShape } from "./shape.js";
export { type BytesPerElement, DEFAULT_BYTES_PER_ELEMENT, DEFAULT_CFG_ROWS, fullCacheBytes, fullCacheTokens, kvBlockBytes } from "./bytes.js";
export {
  LOW_RANK_MANIFEST,
  LOW_RANK_VERSION,
  type LowRankLayout,
  type LowRankManifest,
  type LowRankVariant,
  findVariant,
  latentWidths,
  parseLowRankManifest,
} from "./lowrank.js";
