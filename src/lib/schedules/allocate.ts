/**
 * Integer budget allocation shared by the token-level (dynamic) methods.
 */
import type { ModelShape } from "../model/index.js";

/**
 * Split `total` whole tokens over items in proportion to `weights`, never above `caps` (water-filling:
 * items whose share reaches their cap are fixed at the cap and the rest is re-split), then round down and
 * hand the leftover out one by one by largest fractional part (ties: lower index). Items with weight 0
 * get nothing. Each 0 ≤ c_i ≤ cap_i and Σ c_i = min(total, Σ caps of positive-weight items).
 */
export function allocate(total: number, weights: ArrayLike<number>, caps: ArrayLike<number>): Int32Array {
  const n = weights.length;
  const whole = Math.max(0, Math.floor(total));
  const out = new Int32Array(n);
  const free = new Uint8Array(n);
  for (let i = 0; i < n; i++) free[i] = weights[i] > 0 && caps[i] > 0 ? 1 : 0;
  const share = new Float64Array(n);
  let remaining = whole;
  for (;;) {
    let W = 0;
    for (let i = 0; i < n; i++) if (free[i]) W += weights[i];
    if (W <= 0) break;
    // Σ of the capped items' caps ≤ Σ of their shares ≤ remaining, so `remaining` never goes negative
    let capped = false;
    for (let i = 0; i < n; i++) {
      if (free[i] && (remaining * weights[i]) / W >= caps[i]) {
        out[i] = caps[i];
        free[i] = 0;
        capped = true;
      }
    }
    if (capped) {
      remaining = whole;
      for (let i = 0; i < n; i++) if (!free[i]) remaining -= out[i];
      continue;
    }
    for (let i = 0; i < n; i++) if (free[i]) share[i] = (remaining * weights[i]) / W;
    break;
  }
  let used = 0;
  for (let i = 0; i < n; i++) {
    if (free[i]) out[i] = Math.min(caps[i], Math.floor(share[i]));
    used += out[i];
  }
  let left = whole - used;
  if (left > 0) {
    const order: number[] = [];
    for (let i = 0; i < n; i++) if (free[i] && out[i] < caps[i]) order.push(i);
    const frac = (i: number) => share[i] - Math.floor(share[i]);
    order.sort((a, b) => frac(b) - frac(a) || a - b);
    for (const i of order) {
      if (left <= 0) break;
      out[i]++;
      left--;
    }
  }
  return out;
}

/**
 * Kept counts [K*N] for a token-level method. Entering target t a head can hold at most what it kept
 * entering t−1 plus scale t−1's n tokens (nothing dropped ever returns). While everything available fits
 * the budget (`limit` entries summed over heads) nothing is compressed; otherwise `limit` is allocated
 * by `weightsAt(t)` (per head, ≥ 0) with those availabilities as caps.
 */
export function dynamicCounts(shape: ModelShape, numHeadsTotal: number, limit: number, weightsAt: (t: number) => ArrayLike<number>): Int32Array {
  const K = shape.numScales;
  const N = numHeadsTotal;
  const counts = new Int32Array(K * N);
  const avail = new Int32Array(N);
  for (let t = 1; t < K; t++) {
    let sum = 0;
    for (let i = 0; i < N; i++) {
      avail[i] = counts[(t - 1) * N + i] + shape.tokensPerScale[t - 1];
      sum += avail[i];
    }
    const row = sum <= limit ? avail : allocate(limit, weightsAt(t), avail);
    counts.set(row, t * N);
  }
  return counts;
}

/** First target scale whose full cache L·H·C_t exceeds the budget (K if none). */
export function firstCompressedTarget(shape: ModelShape, numHeadsTotal: number, limit: number): number {
  for (let t = 1; t < shape.numScales; t++) if (numHeadsTotal * shape.cacheTokensEntering[t] > limit) return t;
  return shape.numScales;
}
