/**
 * The model facts a schedule depends on, taken from the one ModelConfig (src/lib/model/) and
 * shape-checked once. Every schedule function derives scales/tokens from here, never from its own copy.
 */
import { type ModelConfig, type ModelShape, modelShape } from "../model/index.js";
import { ScheduleError, shown } from "./errors.js";

/** The subset of ModelConfig a schedule needs (a full ModelConfig satisfies it). */
export type ScheduleModel = Pick<ModelConfig, "modelId" | "configHash" | "patchNums" | "numLayers" | "numHeads" | "headDim">;

/** Static keep sets are bit masks over source scales, so a model may have at most this many scales. */
export const MAX_SCALES = 31;

/** Validate the model facts and derive the shape (C_t, C_max, n_s). */
export function checkedShape(model: ScheduleModel, source = "model"): ModelShape {
  const posInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  if (typeof model.modelId !== "string" || !model.modelId)
    throw new ScheduleError(source, "modelId", `must be a non-empty string, got ${shown(model.modelId)}`);
  if (typeof model.configHash !== "string" || !model.configHash)
    throw new ScheduleError(source, "configHash", `must be a non-empty string, got ${shown(model.configHash)}`);
  for (const k of ["numLayers", "numHeads", "headDim"] as const) {
    if (!posInt(model[k])) throw new ScheduleError(source, k, `must be a positive integer, got ${shown(model[k])}`);
  }
  const p = model.patchNums;
  if (!Array.isArray(p) || p.length < 2 || p.length > MAX_SCALES) {
    throw new ScheduleError(source, "patchNums", `must list 2..${MAX_SCALES} scales, got ${shown(p)}`);
  }
  p.forEach((v, i) => {
    if (!posInt(v) || (i > 0 && v <= p[i - 1]))
      throw new ScheduleError(source, `patchNums[${i}]`, `must be a strictly increasing positive integer, got ${shown(v)}`);
  });
  return modelShape(model);
}

/** Protected prefix R = Σ_{s<σ} n_s (tokens per head). */
export function prefixTokens(shape: ModelShape, scales: number): number {
  let r = 0;
  for (let s = 0; s < scales && s < shape.numScales; s++) r += shape.tokensPerScale[s];
  return r;
}
