/**
 * Attention statistics from the step graph's per-key attention mass (ScaleObservation.attn): pure math,
 * shared by calibration (Node and browser), pages and tests.
 *
 * Definitions (per prompt, CFG row, layer l, head h, target scale t, source scale s ≤ t):
 *   mass[t, s] = mean over the n_t queries of scale t of Σ_{k ∈ s} A[q, k]
 * i.e. the attention probability the queries of t put on the keys of s (s = t: their own scale). Over
 * s = 0..t it sums to 1 for a full cache. With a pruned cache only the kept keys of s count.
 */
import type { ScaleObservation } from "../var/runtime.js";

/**
 * mass[row][l*H+h][s] for s = 0..t of one observed scale t (length t+1 per head).
 * `obs.attn[i]` is [rows, P_i + n_t] summed over queries; the first P_i columns belong to the fed entries
 * whose source scales are `obs.fedScale[i]`, the last n_t to scale t itself.
 */
export function scaleMass(obs: ScaleObservation): Float64Array[][] {
  const t = obs.scale;
  const n = obs.tokens;
  const out: Float64Array[][] = [];
  for (let r = 0; r < obs.rows; r++) {
    const perHead: Float64Array[] = [];
    for (let i = 0; i < obs.attn.length; i++) {
      const a = obs.attn[i];
      const src = obs.fedScale[i];
      const P = src.length;
      const width = P + n;
      if (a.length !== obs.rows * width) throw new Error(`scaleMass: head ${i} has ${a.length} values, expected ${obs.rows}×(${P}+${n})`);
      const m = new Float64Array(t + 1);
      const base = r * width;
      for (let k = 0; k < P; k++) m[src[k]] += a[base + k];
      for (let k = P; k < width; k++) m[t] += a[base + k];
      for (let s = 0; s <= t; s++) m[s] /= n;
      perHead.push(m);
    }
    out.push(perHead);
  }
  return out;
}

/**
 * Mean attention per fed key for one row: tokenMass[l*H+h][k] = (Σ_q A[q, k]) / n_t over the fed entries
 * (the first P columns), with their (source scale, token) from obs.fedScale/fedToken.
 */
export function tokenMass(obs: ScaleObservation, row = 0): Float64Array[] {
  const n = obs.tokens;
  return obs.attn.map((a, i) => {
    const P = obs.fedScale[i].length;
    const base = row * (P + n);
    const m = new Float64Array(P);
    for (let k = 0; k < P; k++) m[k] = a[base + k] / n;
    return m;
  });
}

/** S-CAS (HeatKV's calibration statistic) is schedule math: src/lib/schedules/stats.ts. */
export { scas } from "../schedules/stats.js";

/** Kendall's tau-b between two score vectors (ties handled), NaN entries skipped pairwise. */
export function kendallTau(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`kendallTau: lengths differ (${a.length} vs ${b.length})`);
  const idx: number[] = [];
  for (let i = 0; i < a.length; i++) if (!Number.isNaN(a[i]) && !Number.isNaN(b[i])) idx.push(i);
  let conc = 0;
  let disc = 0;
  let tieA = 0;
  let tieB = 0;
  for (let x = 0; x < idx.length; x++) {
    for (let y = x + 1; y < idx.length; y++) {
      const da = Math.sign(a[idx[x]] - a[idx[y]]);
      const db = Math.sign(b[idx[x]] - b[idx[y]]);
      if (da === 0 && db === 0) continue;
      if (da === 0) tieA++;
      else if (db === 0) tieB++;
      else if (da === db) conc++;
      else disc++;
    }
  }
  const denom = Math.sqrt((conc + disc + tieA) * (conc + disc + tieB));
  return denom === 0 ? Number.NaN : (conc - disc) / denom;
}
