/**
 * Shapes derived from patch_nums and the head counts (as FoundationVision/VAR derives every shape from one
 * tuple): tokens per scale, scale offsets, C_t and C_max. Never read from JSON.
 */
import type { ModelConfig } from "./config.js";

/** The config facts a shape is derived from (a full ModelConfig satisfies it). */
export type ShapeFacts = Pick<ModelConfig, "patchNums" | "numLayers" | "numHeads" | "headDim">;

/** Shapes derived from the config (never read from JSON). */
export interface ModelShape {
  numScales: number;
  /** n_s = patch_nums[s]^2 tokens of scale s */
  tokensPerScale: number[];
  /** first absolute token position of scale s */
  scaleBegin: number[];
  totalTokens: number;
  /** C_max: tokens per (layer, head) entering the last scale (the last scale is never cached) */
  maxCacheTokens: number;
  /** C_t: tokens per (layer, head) entering scale t (index t = 0..K-1) */
  cacheTokensEntering: number[];
  numHeadsTotal: number;
  width: number;
}

export function modelShape(cfg: ShapeFacts): ModelShape {
  const tokensPerScale = cfg.patchNums.map((p) => p * p);
  const scaleBegin: number[] = [];
  let acc = 0;
  for (const n of tokensPerScale) {
    scaleBegin.push(acc);
    acc += n;
  }
  const K = tokensPerScale.length;
  return {
    numScales: K,
    tokensPerScale,
    scaleBegin,
    totalTokens: acc,
    maxCacheTokens: scaleBegin[K - 1],
    cacheTokensEntering: scaleBegin.slice(),
    numHeadsTotal: cfg.numLayers * cfg.numHeads,
    width: cfg.numHeads * cfg.headDim,
  };
}
