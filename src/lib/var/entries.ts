/**
 * Storage helpers shared by the full-width KVCache and the low-rank LatentCache: both hold per-entry vectors
 * laid out [rows, P, width] (rows = CFG batch rows sharing every decision) plus each entry's source scale and
 * token index, grow by a scale's n new entries and shrink to a kept subset.
 */

/** [rows, P, w] + the n new vectors of each row, found at `src` from `srcStart(r)` → a new [rows, P + n, w]. */
export function appendRows(
  old: Float32Array,
  rows: number,
  P: number,
  n: number,
  w: number,
  src: Float32Array,
  srcStart: (row: number) => number,
): Float32Array {
  const out = new Float32Array(rows * (P + n) * w);
  for (let r = 0; r < rows; r++) {
    out.set(old.subarray(r * P * w, (r + 1) * P * w), r * (P + n) * w);
    const s = srcStart(r);
    out.set(src.subarray(s, s + n * w), (r * (P + n) + P) * w);
  }
  return out;
}

/** [rows, P, w] → [rows, picks.length, w] holding the entries at `picks` (positions in 0..P-1), in that order. */
export function gatherRows(old: Float32Array, rows: number, P: number, w: number, picks: ArrayLike<number>): Float32Array {
  const m = picks.length;
  const out = new Float32Array(rows * m * w);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < m; j++) {
      const s = (r * P + picks[j]) * w;
      out.set(old.subarray(s, s + w), (r * m + j) * w);
    }
  }
  return out;
}

/** The source scales after appending n entries of `scale`. */
export function appendScale(old: Int16Array, n: number, scale: number): Int16Array {
  const a = new Int16Array(old.length + n);
  a.set(old);
  a.fill(scale, old.length);
  return a;
}

/** The token indices after appending a scale's tokens 0..n-1. */
export function appendToken(old: Int32Array, n: number): Int32Array {
  const a = new Int32Array(old.length + n);
  a.set(old);
  for (let i = 0; i < n; i++) a[old.length + i] = i;
  return a;
}

/** keep() indices must be strictly increasing integers in [0, P); `where` names the cache and head. */
export function checkKeepIndices(where: string, indices: ArrayLike<number>, P: number): void {
  for (let i = 0; i < indices.length; i++) {
    const ix = indices[i];
    if (!Number.isInteger(ix) || ix < 0 || ix >= P || (i > 0 && ix <= indices[i - 1])) {
      throw new RangeError(`${where}: indices must be strictly increasing integers in [0, ${P}), got ${ix} at ${i}`);
    }
  }
}

/** Positions of the entries for which `pred(scale, token)` holds (keepWhere of either cache). */
export function indicesWhere(meta: { scale: Int16Array; token: Int32Array }, pred: (scale: number, token: number) => boolean): number[] {
  const idx: number[] = [];
  for (let i = 0; i < meta.scale.length; i++) if (pred(meta.scale[i], meta.token[i])) idx.push(i);
  return idx;
}

/** The scale / token of the entries at `picks`. */
export function pickMeta(meta: { scale: Int16Array; token: Int32Array }, picks: ArrayLike<number>): { scale: Int16Array; token: Int32Array } {
  const m = picks.length;
  const scale = new Int16Array(m);
  const token = new Int32Array(m);
  for (let j = 0; j < m; j++) {
    scale[j] = meta.scale[picks[j]];
    token[j] = meta.token[picks[j]];
  }
  return { scale, token };
}
