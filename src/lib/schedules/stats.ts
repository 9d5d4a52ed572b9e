/**
 * Calibration input for the stats-driven methods (heatkv, scalekv, hack): per (layer, head) attention
 * mass between scales, averaged over calibration prompts, from the conditional CFG half.
 *
 * Index conventions (K scales, H heads per layer):
 *   scas[(l*H + h)*K + s]                 S-CAS of source scale s (NaN where not eligible)
 *   mass[((l*H + h)*K + t)*K + s]         mean over prompts of  mean_{q∈t} Σ_{k∈s} A[q,k],  s ≤ t
 *                                         (s = t: the target scale's own keys; s > t: 0)
 */
import { ScheduleError, shown } from "./errors.js";
import { type ScheduleModel, checkedShape } from "./shape.js";

/**
 * S-CAS exactly as docs/methods.md (heatkv): acc[l,h,s] = Σ_prompts Σ_{t > s} mass_cond[t, s];
 * S-CAS[l,h,s] = acc / (#prompts · (K−1−s)) for σ ≤ s ≤ K−2, NaN otherwise.
 * `mass(p, i, t, s)` returns the cond-row mass of prompt p, head i = l*H+h.
 */
export function scas(
  numPrompts: number,
  numHeadsTotal: number,
  numScales: number,
  sigma: number,
  mass: (p: number, i: number, t: number, s: number) => number,
): Float64Array {
  const K = numScales;
  if (!(Number.isInteger(sigma) && sigma >= 0 && sigma <= K - 2)) throw new Error(`sigma (sink scales) must be an integer in [0, ${K - 2}], got ${sigma}`);
  if (!(numPrompts > 0)) throw new Error("S-CAS needs at least one calibration prompt");
  const out = new Float64Array(numHeadsTotal * K).fill(Number.NaN);
  for (let i = 0; i < numHeadsTotal; i++) {
    for (let s = sigma; s <= K - 2; s++) {
      let acc = 0;
      for (let p = 0; p < numPrompts; p++) for (let t = s + 1; t <= K - 1; t++) acc += mass(p, i, t, s);
      out[i * K + s] = acc / (numPrompts * (K - 1 - s));
    }
  }
  return out;
}

export interface HeadScaleStats {
  configHash: string;
  numLayers: number;
  numHeads: number;
  numScales: number;
  /** [L*H*K] S-CAS per (layer, head, source scale); NaN where not eligible */
  scas: Float64Array;
  /** [L*H*K*K] mean attention mass of target t's queries on source s (cond half) */
  mass: Float64Array;
  /** calibration prompts averaged (informative) */
  prompts?: number;
}

export interface StatsDims {
  numLayers: number;
  numHeads: number;
  numScales: number;
}

export const massIndex = (lh: number, t: number, s: number, K: number) => (lh * K + t) * K + s;

/**
 * docs/methods.md (heatkv, step 1), exactly: acc[l,h,s] += mean_{q∈t} Σ_{k∈s} A[q,k] for every prompt and every target
 * t > s, then S-CAS = acc / (#prompts · (K−1−s)) for σ ≤ s ≤ K−2; NaN elsewhere.
 * `massPerPrompt[p]` is one prompt's mass table in the `mass` layout above (cond half).
 */
export function computeScas(massPerPrompt: ArrayLike<number>[], dims: StatsDims, sigma: number): Float64Array {
  const { numLayers: L, numHeads: H, numScales: K } = dims;
  if (!Number.isInteger(sigma) || sigma < 0 || sigma > K - 2)
    throw new ScheduleError("computeScas", "sigma", `must be an integer in [0, ${K - 2}], got ${shown(sigma)}`);
  if (massPerPrompt.length === 0) throw new ScheduleError("computeScas", "massPerPrompt", "must hold at least one prompt");
  const N = L * H;
  massPerPrompt.forEach((m, p) => {
    if (m.length !== N * K * K) throw new ScheduleError("computeScas", `massPerPrompt[${p}]`, `must have L·H·K·K = ${N * K * K} entries, got ${m.length}`);
  });
  return scas(massPerPrompt.length, N, K, sigma, (p, lh, t, s) => massPerPrompt[p][massIndex(lh, t, s, K)]);
}

/** Element-wise mean of per-prompt mass tables. */
export function meanMass(massPerPrompt: ArrayLike<number>[]): Float64Array {
  if (massPerPrompt.length === 0) throw new ScheduleError("meanMass", "massPerPrompt", "must hold at least one prompt");
  const out = new Float64Array(massPerPrompt[0].length);
  for (const m of massPerPrompt) {
    if (m.length !== out.length) throw new ScheduleError("meanMass", "massPerPrompt", `tables differ in length (${m.length} vs ${out.length})`);
    for (let i = 0; i < out.length; i++) out[i] += m[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= massPerPrompt.length;
  return out;
}

/**
 * S-CAS from an already averaged mass table: scas[s] = mean over targets t = s+1..K−1 of mass[t][s].
 * Equal to computeScas on the per-prompt tables (the sums commute).
 */
export function scasFromMass(mass: ArrayLike<number>, dims: StatsDims, sigma = 0): Float64Array {
  return computeScas([mass], dims, sigma);
}

/** Build HeadScaleStats from per-prompt mass tables (S-CAS computed for every s ≥ sigma). */
export function statsFromPromptMasses(model: ScheduleModel, massPerPrompt: ArrayLike<number>[], sigma = 0): HeadScaleStats {
  const shape = checkedShape(model);
  const dims = { numLayers: model.numLayers, numHeads: model.numHeads, numScales: shape.numScales };
  return {
    configHash: model.configHash,
    ...dims,
    scas: computeScas(massPerPrompt, dims, sigma),
    mass: meanMass(massPerPrompt),
    prompts: massPerPrompt.length,
  };
}

/** Check stats belong to this model and have the right sizes; throws one line naming the field. */
export function checkStats(stats: HeadScaleStats, model: ScheduleModel, source = "stats"): void {
  const shape = checkedShape(model);
  if (stats.configHash !== model.configHash) {
    throw new ScheduleError(
      source,
      "configHash",
      `is ${shown(stats.configHash)} but the model ${shown(model.modelId)} has ${shown(model.configHash)}: these statistics were calibrated on another model`,
    );
  }
  const want = { numLayers: model.numLayers, numHeads: model.numHeads, numScales: shape.numScales };
  for (const [k, v] of Object.entries(want)) {
    const got = (stats as unknown as Record<string, unknown>)[k];
    if (got !== v) throw new ScheduleError(source, k, `must be ${v} for model ${shown(model.modelId)}, got ${shown(got)}`);
  }
  const N = model.numLayers * model.numHeads;
  const K = shape.numScales;
  if (!(stats.scas instanceof Float64Array) || stats.scas.length !== N * K)
    throw new ScheduleError(source, "scas", `must be a Float64Array of L·H·K = ${N * K}, got length ${shown((stats.scas as { length?: number })?.length)}`);
  if (!(stats.mass instanceof Float64Array) || stats.mass.length !== N * K * K)
    throw new ScheduleError(
      source,
      "mass",
      `must be a Float64Array of L·H·K·K = ${N * K * K}, got length ${shown((stats.mass as { length?: number })?.length)}`,
    );
  for (let i = 0; i < stats.mass.length; i++) {
    if (!Number.isFinite(stats.mass[i]) || stats.mass[i] < 0) {
      const lh = Math.floor(i / (K * K));
      throw new ScheduleError(
        source,
        `mass[l=${Math.floor(lh / model.numHeads)},h=${lh % model.numHeads},t=${Math.floor(i / K) % K},s=${i % K}]`,
        `must be a finite mass ≥ 0, got ${stats.mass[i]}`,
      );
    }
  }
}
