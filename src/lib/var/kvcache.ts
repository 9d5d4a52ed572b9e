/**
 * Physically compact KV cache: every (layer, head) owns exact-size typed arrays of its kept entries,
 * laid out [rows, P_lh, d] as the step graph's `past_k_L{l}_H{h}` inputs want them. A dropped entry is
 * gone from memory and from the attention computation. Each entry remembers its source scale and its
 * token index within that scale, so policies and statistics can reason about scales and positions.
 */
import type { LowRankLayout } from "../model/lowrank.js";
import type { Tensor } from "./backend.js";
import { appendRows, appendScale, appendToken, checkKeepIndices, gatherRows, indicesWhere, pickMeta } from "./entries.js";

/** Source scale and token index of each kept entry of one (layer, head), in storage order. */
export interface EntryMeta {
  /** source scale of each kept entry [P] */
  scale: Int16Array;
  /** token index within its scale [P] */
  token: Int32Array;
}

/**
 * What the runtime and cache policies need from a physically compact cache: the full-width KVCache and
 * the low-rank LatentCache (latentcache.ts) both implement it, so every CachePolicy runs against either.
 */
export interface CacheStore {
  readonly numLayers: number;
  readonly numHeads: number;
  readonly rows: number;
  head(layer: number, head: number): EntryMeta;
  length(layer: number, head: number): number;
  lengths(): number[];
  entries(): number;
  /** bytes physically held by the cache's arrays */
  bytes(): number;
  keep(layer: number, head: number, indices: ArrayLike<number>): void;
  keepWhere(layer: number, head: number, pred: (scale: number, token: number) => boolean): void;
  /** append the current scale's entries from the step graph's outputs */
  appendStep(out: Record<string, Tensor>, scale: number): void;
  /** the step graph's past inputs */
  feeds(): Record<string, Tensor>;
  /** low-rank (ReCalKV) caches only: the latent layout and the sink scales σ held at full width */
  readonly lowRank?: LowRankCacheFacts;
}

/** What a low-rank cache holds: its variant's latent layout, and source scales < sigma at full width. */
export interface LowRankCacheFacts {
  readonly layout: LowRankLayout;
  readonly sigma: number;
}

export interface HeadCache {
  /** [rows, P, d] */
  k: Float32Array;
  v: Float32Array;
  /** source scale of each kept entry [P] */
  scale: Int16Array;
  /** token index within its scale [P] */
  token: Int32Array;
}

export class KVCache implements CacheStore {
  readonly heads: HeadCache[];

  constructor(
    readonly numLayers: number,
    readonly numHeads: number,
    readonly headDim: number,
    /** batch rows sharing every decision (2 with CFG: cond + uncond) */
    readonly rows: number,
  ) {
    for (const [name, v] of Object.entries({ numLayers, numHeads, headDim, rows })) {
      if (!Number.isInteger(v) || v <= 0) throw new Error(`KVCache: ${name} must be a positive integer, got ${v}`);
    }
    this.heads = Array.from({ length: numLayers * numHeads }, () => ({
      k: new Float32Array(0),
      v: new Float32Array(0),
      scale: new Int16Array(0),
      token: new Int32Array(0),
    }));
  }

  head(layer: number, head: number): HeadCache {
    if (!(layer >= 0 && layer < this.numLayers && head >= 0 && head < this.numHeads)) {
      throw new RangeError(`KVCache: no (layer ${layer}, head ${head}) in a ${this.numLayers}x${this.numHeads} cache`);
    }
    return this.heads[layer * this.numHeads + head];
  }

  length(layer: number, head: number): number {
    return this.head(layer, head).scale.length;
  }

  /** Number of kept entries per (layer, head), row-major [L*H]. */
  lengths(): number[] {
    return this.heads.map((h) => h.scale.length);
  }

  /** Total kept entries over all (layer, head). */
  entries(): number {
    let n = 0;
    for (const h of this.heads) n += h.scale.length;
    return n;
  }

  /** Bytes actually held by the stored K and V arrays. */
  bytes(): number {
    let b = 0;
    for (const h of this.heads) b += h.k.byteLength + h.v.byteLength;
    return b;
  }

  /** Append every layer's present_k_L{l} / present_v_L{l} of one step. */
  appendStep(out: Record<string, Tensor>, scale: number): void {
    for (let l = 0; l < this.numLayers; l++) this.appendLayer(l, out[`present_k_L${l}`], out[`present_v_L${l}`], scale);
  }

  /**
   * Append the current scale's keys/values for one layer from the step graph's
   * present_k/present_v outputs ([rows, H, n, d]).
   */
  appendLayer(layer: number, presentK: Tensor, presentV: Tensor, scale: number): void {
    const [rows, H, n, d] = presentK.dims;
    if (rows !== this.rows || H !== this.numHeads || d !== this.headDim || presentV.dims.join() !== presentK.dims.join()) {
      throw new Error(`KVCache.appendLayer: expected [${this.rows}, ${this.numHeads}, n, ${this.headDim}], got K [${presentK.dims}] V [${presentV.dims}]`);
    }
    const pk = presentK.data as Float32Array;
    const pv = presentV.data as Float32Array;
    for (let h = 0; h < H; h++) {
      const hc = this.head(layer, h);
      const P = hc.scale.length;
      const at = (r: number) => (r * H + h) * n * d;
      this.heads[layer * this.numHeads + h] = {
        k: appendRows(hc.k, rows, P, n, d, pk, at),
        v: appendRows(hc.v, rows, P, n, d, pv, at),
        scale: appendScale(hc.scale, n, scale),
        token: appendToken(hc.token, n),
      };
    }
  }

  /**
   * Keep only the entries at `indices` (positions in the current storage, strictly increasing) of one
   * (layer, head); the arrays are reallocated at the new size, so the dropped entries cost nothing.
   */
  keep(layer: number, head: number, indices: ArrayLike<number>): void {
    const hc = this.head(layer, head);
    const P = hc.scale.length;
    checkKeepIndices(`KVCache.keep(L${layer}, H${head})`, indices, P);
    if (indices.length === P) return;
    const d = this.headDim;
    this.heads[layer * this.numHeads + head] = {
      k: gatherRows(hc.k, this.rows, P, d, indices),
      v: gatherRows(hc.v, this.rows, P, d, indices),
      ...pickMeta(hc, indices),
    };
  }

  /** Keep the entries of one (layer, head) for which `pred(scale, token)` holds. */
  keepWhere(layer: number, head: number, pred: (scale: number, token: number) => boolean): void {
    this.keep(layer, head, indicesWhere(this.head(layer, head), pred));
  }

  /** The step graph's past inputs. */
  feeds(): Record<string, Tensor> {
    const f: Record<string, Tensor> = {};
    for (let l = 0; l < this.numLayers; l++) {
      for (let h = 0; h < this.numHeads; h++) {
        const hc = this.heads[l * this.numHeads + h];
        const dims = [this.rows, hc.scale.length, this.headDim];
        f[`past_k_L${l}_H${h}`] = { data: hc.k, dims };
        f[`past_v_L${l}_H${h}`] = { data: hc.v, dims };
      }
    }
    return f;
  }
}
