/**
 * Per-head metrics of a next-scale model's full attention (head explorer; pure, browser-safe).
 *
 * Input: one head's attention for one image and CFG branch as a dense row-major L × L matrix A (row = query
 * token, column = key token, tokens ordered scale by scale, raster order inside a scale; block-causal, so
 * row q of scale t is zero on keys of scales > t and sums to 1). Every metric averages over the queries of
 * a target scale first and then over the target scales t ≥ 1 with equal weight (scale 0 has a single query
 * that can only see itself), like S-CAS weighs targets.
 *
 *   scaleMass[t][s]  mean over the queries of t of Σ_{k ∈ s} A[q, k]
 *   currentShare     mass on the own scale t;     historyShare = 1 − currentShare (earlier scales)
 *   sinkMass         mass on the first σ scales, over targets t ≥ σ only (σ = 3, HeatKV's default)
 *   entropy          row entropy / ln(#visible keys) ∈ [0, 1] (1 = uniform over every visible key)
 *   spatialDistance  Σ_k A[q, k] · ‖c(q) − c(k)‖₂ on a common [0, 1]² grid: token (i, j) of a p × p scale sits
 *                    at its cell centre c = ((j + ½)/p, (i + ½)/p); 0 = attends to the same spot
 *   asi              ScaleKV's Attention Selectivity Index: currentShare · E_q[top-K′ history mass], K′ = 16
 *   locality         HACK's rule as in schedules/methods/hack.ts: mass on t plus mass on t − 1
 *
 * Labels over a set of heads (`labelHeads`): ScaleKV-style — z-score the ASI over all the heads of an image
 * (ScaleKV and schedules/methods/scalekv.ts z-score per-layer means across layers and take only the
 * lowest few layers as drafters; here every head is labelled, about half are drafters); z < 0 (broad,
 * unselective) → drafter, else refiner. HACK — the 50 % most local heads (locality ≥ median) are structural,
 * the rest contextual (hack's default structuralFraction 0.5).
 */

export interface ScaleLayout {
  patchNums: number[];
  tokens: number[];
  begin: number[];
  /** keys visible to scale t: Σ_{s ≤ t} tokens[s] */
  visible: number[];
  total: number;
  /** scale of every token */
  scaleOf: Int16Array;
  /** cell centre of every token on the common [0, 1]² grid: x at 2k, y at 2k+1 */
  centre: Float32Array;
  /** packed block-causal storage: row q holds visible[scaleOf[q]] values starting at rowStart[q] */
  rowStart: Int32Array;
  packedSize: number;
}

export function scaleLayout(patchNums: readonly number[]): ScaleLayout {
  const tokens = patchNums.map((p) => p * p);
  const begin: number[] = [];
  const visible: number[] = [];
  let acc = 0;
  for (const n of tokens) {
    begin.push(acc);
    acc += n;
    visible.push(acc);
  }
  const scaleOf = new Int16Array(acc);
  const centre = new Float32Array(2 * acc);
  const rowStart = new Int32Array(acc);
  let packed = 0;
  patchNums.forEach((p, s) => {
    for (let k = 0; k < p * p; k++) {
      const q = begin[s] + k;
      scaleOf[q] = s;
      centre[2 * q] = ((k % p) + 0.5) / p;
      centre[2 * q + 1] = (Math.floor(k / p) + 0.5) / p;
      rowStart[q] = packed;
      packed += visible[s];
    }
  });
  return { patchNums: [...patchNums], tokens, begin, visible, total: acc, scaleOf, centre, rowStart, packedSize: packed };
}

/** K × K (row-major, [t * K + s]) mean-over-queries attention mass of target t on source s. */
export function headScaleMass(A: ArrayLike<number>, lay: ScaleLayout): Float64Array {
  const K = lay.tokens.length;
  const L = lay.total;
  const m = new Float64Array(K * K);
  for (let t = 0; t < K; t++) {
    for (let q = lay.begin[t]; q < lay.begin[t] + lay.tokens[t]; q++) {
      for (let s = 0; s <= t; s++) {
        let sum = 0;
        for (let k = lay.begin[s]; k < lay.begin[s] + lay.tokens[s]; k++) sum += A[q * L + k];
        m[t * K + s] += sum;
      }
    }
    for (let s = 0; s <= t; s++) m[t * K + s] /= lay.tokens[t];
  }
  return m;
}

export interface HeadMetrics {
  currentShare: number;
  historyShare: number;
  sinkMass: number;
  entropy: number;
  spatialDistance: number;
  asi: number;
  locality: number;
}

export const METRIC_INFO: Record<keyof HeadMetrics, { label: string; unit: string }> = {
  currentShare: { label: "share on current scale", unit: "attention mass, 0–1" },
  historyShare: { label: "share on earlier scales", unit: "attention mass, 0–1" },
  sinkMass: { label: "sink-scale mass (scales 0–2)", unit: "attention mass, 0–1" },
  entropy: { label: "entropy", unit: "fraction of ln(#visible keys), 0–1" },
  spatialDistance: { label: "mean spatial distance", unit: "image widths, 0–√2" },
  asi: { label: "ScaleKV selectivity (ASI)", unit: "product of masses, 0–1" },
  locality: { label: "HACK locality (own + previous scale)", unit: "attention mass, 0–1" },
};

export const METRIC_NAMES = Object.keys(METRIC_INFO) as (keyof HeadMetrics)[];

export interface MetricOptions {
  /** sink scales σ (default 3) */
  sigma?: number;
  /** K′ of the ASI's top-K′ history mass (default 16) */
  topK?: number;
}

export function headMetrics(A: ArrayLike<number>, lay: ScaleLayout, opts: MetricOptions = {}): HeadMetrics {
  const sigma = opts.sigma ?? 3;
  const topK = opts.topK ?? 16;
  const K = lay.tokens.length;
  const L = lay.total;
  const mass = headScaleMass(A, lay);
  let cur = 0;
  let sink = 0;
  let sinkN = 0;
  let ent = 0;
  let dist = 0;
  let asi = 0;
  let loc = 0;
  const hist: number[] = [];
  for (let t = 1; t < K; t++) {
    const ct = mass[t * K + t];
    cur += ct;
    loc += ct + mass[t * K + t - 1];
    if (t >= sigma) {
      let m = 0;
      for (let s = 0; s < sigma; s++) m += mass[t * K + s];
      sink += m;
      sinkN++;
    }
    const vis = lay.visible[t];
    let entT = 0;
    let distT = 0;
    let topT = 0;
    for (let q = lay.begin[t]; q < lay.begin[t] + lay.tokens[t]; q++) {
      let h = 0;
      let d = 0;
      const qx = lay.centre[2 * q];
      const qy = lay.centre[2 * q + 1];
      hist.length = 0;
      for (let k = 0; k < vis; k++) {
        const a = A[q * L + k];
        if (a > 0) h -= a * Math.log(a);
        d += a * Math.sqrt((qx - lay.centre[2 * k]) ** 2 + (qy - lay.centre[2 * k + 1]) ** 2);
        if (k < lay.begin[t]) hist.push(a);
      }
      entT += h / Math.log(vis);
      distT += d;
      hist.sort((x, y) => y - x);
      let top = 0;
      for (let i = 0; i < Math.min(topK, hist.length); i++) top += hist[i];
      topT += top;
    }
    ent += entT / lay.tokens[t];
    dist += distT / lay.tokens[t];
    asi += ct * (topT / lay.tokens[t]);
  }
  const n = K - 1;
  return {
    currentShare: cur / n,
    historyShare: 1 - cur / n,
    sinkMass: sinkN ? sink / sinkN : NaN,
    entropy: ent / n,
    spatialDistance: dist / n,
    asi: asi / n,
    locality: loc / n,
  };
}

export interface HeadLabels {
  scalekv: "drafter" | "refiner";
  hack: "structural" | "contextual";
}

export function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Labels of a set of heads (rules in the module comment). */
export function labelHeads(metrics: readonly Pick<HeadMetrics, "asi" | "locality">[]): HeadLabels[] {
  const asi = metrics.map((m) => m.asi);
  const mean = asi.reduce((a, b) => a + b, 0) / asi.length;
  const sd = Math.sqrt(asi.reduce((a, b) => a + (b - mean) ** 2, 0) / asi.length);
  const locMedian = median(metrics.map((m) => m.locality));
  return metrics.map((m) => ({
    scalekv: (sd > 0 ? (m.asi - mean) / sd : 0) < 0 ? "drafter" : "refiner",
    hack: m.locality >= locMedian ? "structural" : "contextual",
  }));
}

// ------------------------------------------------------------------------------------- compact storage
/**
 * 8-bit log code of an attention probability: 0 ↔ p < 1e-6, c ∈ 1..255 ↔ 10^(−6 + 6(c−1)/254)
 * (relative step 5.6 %, so a decoded value is within ±2.8 % of the stored one).
 */
export function encodeLog8(p: number): number {
  if (!(p >= 1e-6)) return 0;
  return Math.min(255, Math.max(1, Math.round(1 + ((Math.log10(p) + 6) * 254) / 6)));
}

/** decoded value of every log8 code */
export const LOG8 = Float32Array.from({ length: 256 }, (_, c) => (c === 0 ? 0 : 10 ** (-6 + (6 * (c - 1)) / 254)));

export function decodeLog8(c: number): number {
  return LOG8[c];
}

/** Dense L × L → packed block-causal log8 bytes (row q keeps its visible keys only). */
export function packHead(A: ArrayLike<number>, lay: ScaleLayout): Uint8Array {
  const out = new Uint8Array(lay.packedSize);
  const L = lay.total;
  for (let q = 0; q < L; q++) {
    const vis = lay.visible[lay.scaleOf[q]];
    const o = lay.rowStart[q];
    for (let k = 0; k < vis; k++) out[o + k] = encodeLog8(A[q * L + k]);
  }
  return out;
}

/** Packed log8 bytes → dense L × L Float32Array (zeros above the block-causal boundary). */
export function unpackHead(bytes: Uint8Array, lay: ScaleLayout, out = new Float32Array(lay.total * lay.total)): Float32Array {
  if (bytes.length !== lay.packedSize) throw new Error(`unpackHead: ${bytes.length} bytes, expected ${lay.packedSize}`);
  const L = lay.total;
  for (let q = 0; q < L; q++) {
    const vis = lay.visible[lay.scaleOf[q]];
    const o = lay.rowStart[q];
    const r = q * L;
    for (let k = 0; k < vis; k++) out[r + k] = LOG8[bytes[o + k]];
    out.fill(0, r + vis, r + L);
  }
  return out;
}

/** Packed log8 bytes → packed probabilities (same row layout; A[q, k] = out[rowStart[q] + k] for k < visible). */
export function decodePacked(bytes: Uint8Array, lay: ScaleLayout, out = new Float32Array(lay.packedSize)): Float32Array {
  if (bytes.length !== lay.packedSize) throw new Error(`decodePacked: ${bytes.length} bytes, expected ${lay.packedSize}`);
  for (let i = 0; i < bytes.length; i++) out[i] = LOG8[bytes[i]];
  return out;
}

/** Attention that query token q gives to every key (length L, zeros on invisible keys). */
export function queryRow(A: ArrayLike<number>, lay: ScaleLayout, q: number): Float32Array {
  const L = lay.total;
  return Float32Array.from({ length: L }, (_, k) => A[q * L + k]);
}

/** Attention every query gives to key token k (length L): the "who attends to this patch" direction. */
export function keyColumn(A: ArrayLike<number>, lay: ScaleLayout, k: number): Float32Array {
  const L = lay.total;
  return Float32Array.from({ length: L }, (_, q) => A[q * L + k]);
}
