/**
 * Physically compact KV cache: every (layer, head) owns exact-size typed arrays of its kept entries,
 * laid out [rows, P_lh, d] as the step graph's `past_k_L{l}_H{h}` inputs want them. A dropped entry is
 * gone from memory and from the attention computation. Each entry remembers its source scale and its
 * token index within that scale, so policies and statistics can reason about scales and positions.
 */
import type { Tensor } from "./backend.js";

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
      const k = new Float32Array(rows * (P + n) * d);
      const v = new Float32Array(rows * (P + n) * d);
      for (let r = 0; r < rows; r++) {
        const dst = r * (P + n) * d;
        k.set(hc.k.subarray(r * P * d, (r + 1) * P * d), dst);
        v.set(hc.v.subarray(r * P * d, (r + 1) * P * d), dst);
        const src = ((r * H + h) * n) * d;
        k.set(pk.subarray(src, src + n * d), dst + P * d);
        v.set(pv.subarray(src, src + n * d), dst + P * d);
      }
      const sc = new Int16Array(P + n);
      sc.set(hc.scale);
      sc.fill(scale, P);
      const tk = new Int32Array(P + n);
      tk.set(hc.token);
      for (let i = 0; i < n; i++) tk[P + i] = i;
      this.heads[layer * this.numHeads + h] = { k, v, scale: sc, token: tk };
    }
  }

  /**
   * Keep only the entries at `indices` (positions in the current storage, strictly increasing) of one
   * (layer, head); the arrays are reallocated at the new size, so the dropped entries cost nothing.
   */
  keep(layer: number, head: number, indices: ArrayLike<number>): void {
    const hc = this.head(layer, head);
    const P = hc.scale.length;
    const m = indices.length;
    for (let i = 0; i < m; i++) {
      const ix = indices[i];
      if (!Number.isInteger(ix) || ix < 0 || ix >= P || (i > 0 && ix <= indices[i - 1])) {
        throw new RangeError(`KVCache.keep(L${layer}, H${head}): indices must be strictly increasing integers in [0, ${P}), got ${ix} at ${i}`);
      }
    }
    if (m === P) return;
    const d = this.headDim;
    const k = new Float32Array(this.rows * m * d);
    const v = new Float32Array(this.rows * m * d);
    const sc = new Int16Array(m);
    const tk = new Int32Array(m);
    for (let r = 0; r < this.rows; r++) {
      for (let i = 0; i < m; i++) {
        const src = (r * P + indices[i]) * d;
        const dst = (r * m + i) * d;
        k.set(hc.k.subarray(src, src + d), dst);
        v.set(hc.v.subarray(src, src + d), dst);
      }
    }
    for (let i = 0; i < m; i++) {
      sc[i] = hc.scale[indices[i]];
      tk[i] = hc.token[indices[i]];
    }
    this.heads[layer * this.numHeads + head] = { k, v, scale: sc, token: tk };
  }

  /** Keep the entries of one (layer, head) for which `pred(scale, token)` holds. */
  keepWhere(layer: number, head: number, pred: (scale: number, token: number) => boolean): void {
    const hc = this.head(layer, head);
    const idx: number[] = [];
    for (let i = 0; i < hc.scale.length; i++) if (pred(hc.scale[i], hc.token[i])) idx.push(i);
    this.keep(layer, head, idx);
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
