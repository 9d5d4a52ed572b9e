/**
 * The one model config object and its reader. Every shape in the workbench derives from it (scales, layers,
 * heads, head dim, vocab; see shape.ts); data/model/config.json is written by train/export.py and validated here.
 */
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

/** Validate a parsed config.json. `source` names the file in every error. */
export function parseConfig(raw: unknown, source = "config.json"): ModelConfig {
  need(raw && typeof raw === "object" && !Array.isArray(raw), source, "(root)", "must be a JSON object");
  const r = raw as Record<string, unknown>;
  need(typeof r.model_id === "string" && r.model_id.length > 0, source, "model_id", "must be a non-empty string");
  need(typeof r.config_hash === "string" && /^[0-9a-f]{8,64}$/.test(r.config_hash), source, "config_hash", "must be a hex string");
  const patchNums = r.patch_nums;
  need(Array.isArray(patchNums) && patchNums.length >= 2, source, "patch_nums", "must be an array of at least 2 scales");
  patchNums.forEach((p, i) =>
    need(Number.isInteger(p) && (p as number) > 0 && (i === 0 || (p as number) > (patchNums[i - 1] as number)), source, `patch_nums[${i}]`, "must be a strictly increasing positive integer"),
  );
  const latentSize = posInt(r, "latent_size", source);
  need(patchNums[patchNums.length - 1] === latentSize, source, "patch_nums", `must end at latent_size (${latentSize})`);
  const numClasses = posInt(r, "num_classes", source);
  need(Array.isArray(r.classes) && r.classes.length === numClasses && r.classes.every((c) => typeof c === "string"), source, "classes", `must list ${numClasses} class names`);
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
  // derived fields written by the exporter must agree with what we derive
  const shape = modelShape(cfg);
  if (r.total_tokens !== undefined) need(r.total_tokens === shape.totalTokens, source, "total_tokens", `disagrees with patch_nums (expected ${shape.totalTokens})`);
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
