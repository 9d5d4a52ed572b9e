/**
 * KV-cache bytes of a model: the one definition of a full cache's size (the denominator of every budget,
 * the model card, the cache-shape table and the capacity view).
 *   full bytes = 2 (K,V) · L · H · d · C_max · bytesPerElement · rows       token slots = L · H · C_max
 */
import { type ShapeFacts, modelShape } from "./shape.js";

/** 4 = fp32 (what the runtime stores), 2 = fp16/bf16 */
export type BytesPerElement = 2 | 4;

/** fp32 elements by default */
export const DEFAULT_BYTES_PER_ELEMENT: BytesPerElement = 4;
/** classifier-free guidance: a cond and an uncond row share every cache decision */
export const DEFAULT_CFG_ROWS = 2;

/** Bytes of one cached block of `tokens` entries of one (layer, head): K and V, head_dim each, every row. */
export function kvBlockBytes(headDim: number, tokens: number, bytesPerElement: number = DEFAULT_BYTES_PER_ELEMENT, rows = DEFAULT_CFG_ROWS): number {
  return 2 * headDim * tokens * bytesPerElement * rows;
}

/** Bytes of the full (uncompressed) cache of one image: 2 (K,V) · L · H · d · C_max · bytesPerElement · rows. */
export function fullCacheBytes(model: ShapeFacts, bytesPerElement: number = DEFAULT_BYTES_PER_ELEMENT, rows = DEFAULT_CFG_ROWS): number {
  return model.numLayers * model.numHeads * kvBlockBytes(model.headDim, modelShape(model).maxCacheTokens, bytesPerElement, rows);
}

/** Full-cache token slots: L · H · C_max. */
export function fullCacheTokens(model: ShapeFacts): number {
  return model.numLayers * model.numHeads * modelShape(model).maxCacheTokens;
}
