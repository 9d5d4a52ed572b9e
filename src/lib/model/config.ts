/**
 * The one model config object and its reader. Every shape in the workbench derives from it (scales, layers,
 * heads, head dim, vocab; see shape.ts); data/model/config.json is written by train/export.py and validated here.
 */
import { sha256HexSync } from "./sha256.js";
import { modelShape } from "./shape.js";

export interface ModelConfig {
  modelId: string;
  /** hash of the shapes: schedules and statistics of another shape are refused */
  configHash: string;
  /** hash of the exported generation graphs (weights): calibration shards and sweeps are keyed by it */
  weightsHash: string;
  imageSize: number;
  latentSize: number;
  patchNums: number[];
  vocabSize: number;
  codebookDim: number;
  numLayers: number;
  numHeads: number;
  headDim: number;
  numClasses: number;
  nullClass: number;
  classes: string[];
  classifierFeatureDim: number;
  files: { step: string; vq_update: string; vq_decode: string; classifier: string };
  training?: Record<string, unknown>;
}

export class ConfigError extends Error {
  constructor(source: string, field: string, message: string) {
    super(`${source}: field "${field}" ${message}`);
    this.name = "ConfigError";
  }
}

function need<T>(cond: unknown, source: string, field: string, message: string): asserts cond {
  if (!cond) throw new ConfigError(source, field, message);
}

function posInt(raw: Record<string, unknown>, key: string, source: string): number {
  const v = raw[key];
  need(typeof v === "number" && Number.isInteger(v) && v > 0, source, key, `must be a positive integer, got ${JSON.stringify(v)}`);
  return v as number;
}

/** The config fields the hash covers (train/export.py config_hash): the model's identity and shapes. */
export const CONFIG_HASH_FIELDS = [
  "model_id",
  "patch_nums",
  "num_layers",
  "num_heads",
  "head_dim",
  "vocab_size",
  "codebook_dim",
  "num_classes",
  "image_size",
  "latent_size",
] as const;

/** Python's json.dumps(v, sort_keys=True) with its default separators and ensure_ascii (what export.py hashes). */
function pythonJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pythonJson).join(", ")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${pythonJson(k)}: ${pythonJson(o[k])}`)
      .join(", ")}}`;
  }
  if (typeof v === "string") return JSON.stringify(v).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  if (typeof v === "number" && Number.isInteger(v)) return String(v);
  if (typeof v === "boolean" || v === null) return String(v);
  throw new Error(`config hash: cannot encode ${JSON.stringify(v)}`);
}

/**
 * config_hash of a config.json object: sha256 (first 16 hex digits) of Python's json.dumps of the shape fields
 * with sorted keys — train/export.py's config_hash, recomputed on every load so an edited shape under an
 * unchanged hash is refused.
 */
export function computeConfigHash(raw: Record<string, unknown>): string {
  const picked: Record<string, unknown> = {};
  for (const k of CONFIG_HASH_FIELDS) picked[k] = raw[k];
  return sha256HexSync(new TextEncoder().encode(pythonJson(picked))).slice(0, 16);
}

/** Validate a parsed config.json. `source` names the file in every error. */
export function parseConfig(raw: unknown, source = "config.json"): ModelConfig {
  need(raw && typeof raw === "object" && !Array.isArray(raw), source, "(root)", "must be a JSON object");
  const r = raw as Record<string, unknown>;
  need(typeof r.model_id === "string" && r.model_id.length > 0, source, "model_id", "must be a non-empty string");
  need(typeof r.config_hash === "string" && /^[0-9a-f]{8,64}$/.test(r.config_hash), source, "config_hash", "must be a hex string");
  const patchNums = r.patch_nums;
  need(Array.isArray(patchNums) && patchNums.length >= 2, source, "patch_nums", "must be an array of at least 2 scales");
  patchNums.forEach((p, i) =>
    need(
      Number.isInteger(p) && (p as number) > 0 && (i === 0 || (p as number) > (patchNums[i - 1] as number)),
      source,
      `patch_nums[${i}]`,
      "must be a strictly increasing positive integer",
    ),
  );
  need(
    r.weights_hash === undefined || (typeof r.weights_hash === "string" && /^[0-9a-f]{8,64}$/.test(r.weights_hash)),
    source,
    "weights_hash",
    `must be a hex string (sha256 of the generation graphs), got ${JSON.stringify(r.weights_hash)}`,
  );
  const latentSize = posInt(r, "latent_size", source);
  need(patchNums[patchNums.length - 1] === latentSize, source, "patch_nums", `must end at latent_size (${latentSize})`);
  const numClasses = posInt(r, "num_classes", source);
  need(
    Array.isArray(r.classes) && r.classes.length === numClasses && r.classes.every((c) => typeof c === "string"),
    source,
    "classes",
    `must list ${numClasses} class names`,
  );
  need(r.null_class === numClasses, source, "null_class", `must equal num_classes (${numClasses})`);
  const files = r.files as Record<string, unknown> | undefined;
  need(files && typeof files === "object", source, "files", "must be an object naming the ONNX files");
  for (const k of ["step", "vq_update", "vq_decode", "classifier"]) {
    need(typeof files[k] === "string", source, `files.${k}`, "must be a file name");
  }
  const cfg: ModelConfig = {
    modelId: r.model_id as string,
    configHash: r.config_hash as string,
    weightsHash: typeof r.weights_hash === "string" ? r.weights_hash : "unknown",
    imageSize: posInt(r, "image_size", source),
    latentSize,
    patchNums: patchNums as number[],
    vocabSize: posInt(r, "vocab_size", source),
    codebookDim: posInt(r, "codebook_dim", source),
    numLayers: posInt(r, "num_layers", source),
    numHeads: posInt(r, "num_heads", source),
    headDim: posInt(r, "head_dim", source),
    numClasses,
    nullClass: numClasses,
    classes: r.classes as string[],
    classifierFeatureDim: posInt(r, "classifier_feature_dim", source),
    files: files as ModelConfig["files"],
    training: (r.training as Record<string, unknown>) ?? undefined,
  };
  const hash = computeConfigHash(r);
  need(
    r.config_hash === hash,
    source,
    "config_hash",
    `is ${JSON.stringify(r.config_hash)} but the config's shape fields (${CONFIG_HASH_FIELDS.join(", ")}) hash to "${hash}": the file was edited after export (or written by hand) — re-export it, or run \`heatkv model init\` for a new model`,
  );
  // derived fields written by the exporter must agree with what we derive
  const shape = modelShape(cfg);
  if (r.total_tokens !== undefined)
    need(r.total_tokens === shape.totalTokens, source, "total_tokens", `disagrees with patch_nums (expected ${shape.totalTokens})`);
  if (r.width !== undefined) need(r.width === shape.width, source, "width", `must equal num_heads * head_dim (${shape.width})`);
  return cfg;
}

/** Resolve a class given as index or (case-insensitive) name or unique prefix. */
export function resolveClass(cfg: ModelConfig, value: string | number): number {
  if (typeof value === "number" || /^\d+$/.test(String(value))) {
    const i = Number(value);
    if (i >= 0 && i < cfg.numClasses) return i;
    throw new Error(`unknown class index ${value}: expected 0..${cfg.numClasses - 1}`);
  }
  const v = String(value).toLowerCase();
  const exact = cfg.classes.findIndex((c) => c.toLowerCase() === v);
  if (exact >= 0) return exact;
  const pref = cfg.classes.map((c, i) => [c.toLowerCase(), i] as const).filter(([c]) => c.startsWith(v) || c.split(/\W+/).includes(v));
  if (pref.length === 1) return pref[0][1];
  throw new Error(`unknown class "${value}": expected one of ${cfg.classes.map((c) => JSON.stringify(c)).join(", ")} or an index`);
}
