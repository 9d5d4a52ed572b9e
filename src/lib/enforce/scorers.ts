/**
 * Token-selection rules of the dynamic schedules, applied per (layer, head) after scale t was appended:
 * the head's storage holds the entries fed to scale t followed by scale t's own n_t keys (storage order =
 * ascending source scale, then ascending token index). Each rule returns the strictly increasing storage
 * indices of exactly `count` entries to keep. Ties always go to the more recent entry (higher index).
 *
 * - recent: the last `count` entries in storage order (newest scale first, within a scale the last tokens).
 * - h2o: heavy hitters + recent: the last floor(count·recentRatio) entries, then the highest accumulated
 *   attention (summed over every scale that has seen the entry, all CFG rows).
 * - snapkv: score = attention mass each entry received from scale t's queries (the runtime reports mass
 *   summed over ALL of scale t's queries and CFG rows, so the observation window is the whole current
 *   scale), max-pooled (kernel k) along each source scale's row-major token order; the `window` grid-centre
 *   tokens of scale t (a √w×√w grid; the last `window` entries when the map is smaller than the grid, as
 *   in ScaleKV) rank first, then the highest pooled scores.
 */
import type { ScorerParams } from "../schedules/schedule.js";

/** Indices of the last `count` of `length` entries. */
export function selectRecent(length: number, count: number): Int32Array {
  const c = Math.max(0, Math.min(count, length));
  const out = new Int32Array(c);
  for (let i = 0; i < c; i++) out[i] = length - c + i;
  return out;
}

/**
 * Keep `count` entries: first those with `forced[i]` (by score among themselves), then by score; higher
 * score first, ties → higher index. Returns ascending indices.
 */
export function selectTop(scores: ArrayLike<number>, count: number, forced?: ArrayLike<number>): Int32Array {
  const n = scores.length;
  const c = Math.max(0, Math.min(count, n));
  if (c === n) return Int32Array.from({ length: n }, (_, i) => i);
  const idx = Array.from({ length: n }, (_, i) => i);
  const sc = (i: number) => (Number.isNaN(scores[i]) ? -Infinity : scores[i]);
  const f = (i: number) => (forced && forced[i] ? 1 : 0);
  idx.sort((a, b) => f(b) - f(a) || sc(b) - sc(a) || b - a);
  const keep = Int32Array.from(idx.slice(0, c));
  return keep.sort();
}

/** Max over entries of the same source scale whose token index is within ±floor(k/2). */
export function maxPoolWithinScale(scores: ArrayLike<number>, scale: ArrayLike<number>, token: ArrayLike<number>, kernel: number): Float64Array {
  const n = scores.length;
  const r = Math.floor(kernel / 2);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let m = scores[i];
    for (let j = i - 1; j >= 0 && scale[j] === scale[i] && token[i] - token[j] <= r; j--) m = Math.max(m, scores[j]);
    for (let j = i + 1; j < n && scale[j] === scale[i] && token[j] - token[i] <= r; j++) m = Math.max(m, scores[j]);
    out[i] = m;
  }
  return out;
}

/** ScaleKV observation window: grid-centre tokens of scale `current` (patch p×p), or the last `window` entries. */
export function windowMask(scale: ArrayLike<number>, token: ArrayLike<number>, current: number, patch: number, window: number): Uint8Array {
  const n = scale.length;
  const mask = new Uint8Array(n);
  if (window <= 0) return mask;
  const g = Math.round(Math.sqrt(window));
  if (g * g !== window || patch < g) {
    for (let i = Math.max(0, n - window); i < n; i++) mask[i] = 1;
    return mask;
  }
  const hp = Math.floor(patch / g);
  const centres = new Set<number>();
  for (let i = 0; i < g; i++) {
    for (let j = 0; j < g; j++) {
      const hc = Math.max(0, Math.min(patch - 1, i * hp + Math.floor((hp - 1) / 2)));
      const wc = Math.max(0, Math.min(patch - 1, j * hp + Math.floor((hp - 1) / 2)));
      centres.add(hc * patch + wc);
    }
  }
  for (let i = 0; i < n; i++) if (scale[i] === current && centres.has(token[i])) mask[i] = 1;
  return mask;
}

/** h2o: last floor(count·recentRatio) entries + highest accumulated attention. */
export function selectH2O(accumulated: ArrayLike<number>, count: number, recentRatio: number): Int32Array {
  const n = accumulated.length;
  const recent = Math.min(n, Math.floor(count * recentRatio + 1e-9));
  const forced = new Uint8Array(n);
  for (let i = n - recent; i < n; i++) forced[i] = 1;
  return selectTop(accumulated, count, forced);
}

/** snapkv: window first, then max-pooled current-scale attention. */
export function selectSnapKV(
  attention: ArrayLike<number>,
  scale: ArrayLike<number>,
  token: ArrayLike<number>,
  current: number,
  patch: number,
  count: number,
  p: ScorerParams,
): Int32Array {
  const pooled = maxPoolWithinScale(attention, scale, token, p.poolKernel);
  return selectTop(pooled, count, windowMask(scale, token, current, patch, p.window));
}
