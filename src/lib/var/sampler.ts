/**
 * Seeded PRNG and the token sampler (CFG, temperature, top-k, top-p). Pure TypeScript, identical in Node
 * and in the browser: the same seed gives the same tokens on every backend that gives the same logits.
 *
 * Two ways to draw a token from the (truncated) distribution, `SamplerOptions.sampler`:
 * - "inverse-cdf": one uniform per token, inverted through the CDF in vocabulary order (the original rule);
 * - "gumbel": an exponential race (Gumbel-max): one uniform per (token, code), always all V of them, and the
 *   kept code with the smallest E_v / p_v (E_v = −ln(1 − u_v)) wins. Its marginal is the same categorical
 *   distribution, but two runs whose probabilities differ slightly pick the same code far more often (a code
 *   only loses its race to a code whose key was already close), so same-seed comparisons flip fewer tokens.
 * top-k / top-p are applied as masks before either draw.
 */

/** Seeds are unsigned 32-bit integers: the generator is seeded from them as they are (never wrapped). */
export const MAX_SEED = 0xffffffff;

/** xoshiro128** seeded through splitmix32; `next()` returns a float in [0, 1). */
export class Rng {
  private s = new Uint32Array(4);

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  next(): number {
    return this.nextUint32() / 4294967296;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** How a token is drawn from the truncated distribution (see the header). */
export type SamplerKind = "inverse-cdf" | "gumbel";
export const SAMPLER_KINDS: readonly SamplerKind[] = ["inverse-cdf", "gumbel"];

export interface SamplerOptions {
  /** guidance scale; 0 disables CFG (no unconditional row) */
  cfg: number;
  topK: number;
  topP: number;
  temperature: number;
  /** the draw (default "inverse-cdf", the original rule: same seed → same tokens as before the option existed) */
  sampler?: SamplerKind;
}

export const DEFAULT_SAMPLER: SamplerOptions = { cfg: 3, topK: 0, topP: 0.95, temperature: 1 };

/** "gumbel" | "inverse-cdf" (also "inverse_cdf", "icdf") → the kind; anything else is an error naming `field`. */
export function parseSamplerKind(v: string, field = "sampler"): SamplerKind {
  const k = v.trim().toLowerCase();
  if (k === "gumbel") return "gumbel";
  if (k === "inverse-cdf" || k === "inverse_cdf" || k === "icdf") return "inverse-cdf";
  throw new Error(`${field} must be one of ${SAMPLER_KINDS.join(", ")}, got "${v}"`);
}

export function validateSampler(o: SamplerOptions): SamplerOptions {
  if (!(o.cfg >= 0) || !Number.isFinite(o.cfg)) throw new Error(`cfg must be a number >= 0, got ${o.cfg}`);
  if (!Number.isInteger(o.topK) || o.topK < 0) throw new Error(`top-k must be an integer >= 0 (0 = off), got ${o.topK}`);
  if (!(o.topP > 0 && o.topP <= 1)) throw new Error(`top-p must be in (0, 1], got ${o.topP}`);
  if (!(o.temperature > 0) || !Number.isFinite(o.temperature)) throw new Error(`temperature must be > 0, got ${o.temperature}`);
  if (o.sampler !== undefined && !SAMPLER_KINDS.includes(o.sampler)) throw new Error(`sampler must be one of ${SAMPLER_KINDS.join(", ")}, got ${o.sampler}`);
  return o;
}

/** VAR's guidance ramp: t = cfg · scale/(K−1); guided = (1+t)·cond − t·uncond. */
export function guidanceAt(cfg: number, scale: number, numScales: number): number {
  return (cfg * scale) / (numScales - 1);
}

/**
 * Sample one token per position. `logits` is [rows, n, V] flattened; row 0 = cond, row 1 = uncond (if CFG).
 * Returns n token ids.
 */
export function sampleTokens(logits: Float32Array, n: number, vocab: number, guidance: number, useUncond: boolean, o: SamplerOptions, rng: Rng): Int32Array {
  const out = new Int32Array(n);
  const row = new Float64Array(vocab);
  const prob = new Float64Array(vocab);
  const sorted = new Float64Array(vocab);
  for (let i = 0; i < n; i++) out[i] = sampleRow(mixRow(logits, n, vocab, i, guidance, useUncond, row), prob, sorted, o, rng);
  return out;
}

/** Mixed logits of one position: (1+g)·cond − g·uncond (or cond without CFG), in double precision as sampled. */
export function mixRow(logits: Float32Array, n: number, vocab: number, i: number, guidance: number, useUncond: boolean, row: Float64Array): Float64Array {
  const c = i * vocab;
  const u = (n + i) * vocab;
  for (let v = 0; v < vocab; v++) row[v] = useUncond ? (1 + guidance) * logits[c + v] - guidance * logits[u + v] : logits[c + v];
  return row;
}

/**
 * The truncation step shared by both draws and by the fidelity metrics: fills `prob` with the unnormalised
 * probabilities exp((row − max)/T) and returns the argmax `best` and the smallest probability that stays
 * (`cut`; codes with prob < cut are masked out by top-k / top-p). `greedy` = top-k 1 (only `best` stays).
 */
export function truncate(
  row: Float64Array,
  prob: Float64Array,
  sorted: Float64Array,
  o: SamplerOptions,
): { best: number; cut: number; greedy: boolean; margin: number } {
  const V = row.length;
  let best = 0;
  for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
  if (o.topK === 1) return { best, cut: Number.POSITIVE_INFINITY, greedy: true, margin: Number.POSITIVE_INFINITY };
  // Unnormalised probabilities once; find the smallest probability that stays (top-k, then top-p over the
  // sorted values; ties at the cut stay), then sample among the kept tokens in index order — the same
  // distribution as sampling in sorted order.
  const max = row[best];
  for (let v = 0; v < V; v++) prob[v] = Math.exp((row[v] - max) / o.temperature);
  // Only probabilities >= 1e-6 (relative to the best) can matter for a top-p < 0.999: all smaller ones
  // together hold < V·1e-6 of the mass, so the cut is reached before them. Sorting just those moves the
  // top-p threshold by at most that mass (< 1e-3 relative for V <= 1000) and saves most of the time.
  let m = 0;
  for (let v = 0; v < V; v++) if (prob[v] >= 1e-6) sorted[m++] = prob[v];
  const k = o.topK > 0 ? Math.min(o.topK, V) : V;
  if (!(o.topP < 0.999 && (o.topK === 0 || o.topK <= m))) {
    sorted.set(prob);
    m = V;
  }
  const top = sorted.subarray(0, m).sort(); // native ascending numeric sort
  const kk = Math.min(k, m);
  let cut = o.topK > 0 ? top[m - kk] : 0;
  let margin = Number.POSITIVE_INFINITY;
  if (o.topP < 1) {
    let kSum = 0;
    for (let j = m - 1; j >= m - kk; j--) kSum += top[j];
    const stop = o.topP * kSum;
    let cum = 0;
    let before = 0;
    for (let j = m - 1; j >= m - kk; j--) {
      if (cum > stop) break;
      before = cum;
      cum += top[j];
      cut = top[j];
    }
    // how close the top-p decision was, as a share of the candidates' mass (docs/reliability.md, "Node vs
    // browser determinism"): below the float32 rounding of the logits another backend may keep one token more
    margin = Math.min(stop - before, cum > stop ? cum - stop : Number.POSITIVE_INFINITY) / kSum;
  }
  return { best, cut, greedy: false, margin };
}

/**
 * The normalised distribution a position is sampled from (after CFG, temperature, top-k, top-p) into `out`
 * (zeros where masked). Same truncation as the draws.
 */
export function samplingDistribution(row: Float64Array, o: SamplerOptions, out: Float64Array, sorted = new Float64Array(row.length)): Float64Array {
  const { best, cut, greedy } = truncate(row, out, sorted, o);
  if (greedy) {
    out.fill(0);
    out[best] = 1;
    return out;
  }
  let mass = 0;
  for (let v = 0; v < out.length; v++) if (out[v] >= cut) mass += out[v];
  for (let v = 0; v < out.length; v++) out[v] = out[v] >= cut ? out[v] / mass : 0;
  return out;
}

function sampleRow(row: Float64Array, prob: Float64Array, sorted: Float64Array, o: SamplerOptions, rng: Rng): number {
  const V = row.length;
  const { best, cut, greedy } = truncate(row, prob, sorted, o);
  if (greedy) return best;
  if (o.sampler === "gumbel") {
    // exponential race: all V uniforms are drawn whatever the mask, so two runs stay aligned code by code
    let win = best;
    let winKey = Number.POSITIVE_INFINITY;
    for (let v = 0; v < V; v++) {
      const e = -Math.log(1 - rng.next());
      if (prob[v] < cut || !(prob[v] > 0)) continue;
      const key = e / prob[v];
      if (key < winKey) {
        winKey = key;
        win = v;
      }
    }
    return win;
  }
  let mass = 0;
  for (let v = 0; v < V; v++) if (prob[v] >= cut) mass += prob[v];
  let r = rng.next() * mass;
  let last = best;
  for (let v = 0; v < V; v++) {
    if (prob[v] < cut) continue;
    last = v;
    r -= prob[v];
    if (r < 0) return v;
  }
  return last;
}

/**
 * The sampler's nucleus for one guided logit row (diagnostics and tests; the draws use the same truncate):
 * the kept token ids, the cut probability (relative to the best token) and the top-p decision margin.
 */
export function nucleusOf(row: ArrayLike<number>, o: SamplerOptions): { kept: number[]; cut: number; margin: number } {
  const r = Float64Array.from(row);
  const prob = new Float64Array(r.length);
  const { best, cut, greedy, margin } = truncate(r, prob, new Float64Array(r.length), o);
  if (greedy) return { kept: [best], cut: 1, margin };
  const kept: number[] = [];
  for (let v = 0; v < r.length; v++) if (prob[v] >= cut) kept.push(v);
  return { kept, cut, margin };
}

/** The guided logit row of position i: (1+g)·cond − g·uncond (cond only without CFG), as sampleTokens forms it. */
export function guidedRow(logits: Float32Array, n: number, vocab: number, guidance: number, useUncond: boolean, i: number): Float64Array {
  return mixRow(logits, n, vocab, i, guidance, useUncond, new Float64Array(vocab));
}
