/**
 * Image-quality metrics of a compressed-cache image against the full-cache image of the same class and
 * seed. Images are [3, S, S] float in [0, 1] (the decoder's output layout).
 *  - PSNR (data range 1), SSIM (Gaussian window 11, σ 1.5, on luma, as Wang et al. 2004),
 *  - token agreement per scale (fraction of identical token ids),
 *  - classifier-feature metrics (see judge.ts): feature distance (an LPIPS-like proxy, NOT LPIPS) and the
 *    Fréchet distance between feature sets (an FID-like proxy, "FD-emoji", NOT FID).
 */

export function psnr(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`psnr: images differ in size (${a.length} vs ${b.length})`);
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  const mse = se / a.length;
  return mse === 0 ? Number.POSITIVE_INFINITY : -10 * Math.log10(mse);
}

/** ITU-R BT.601 luma of a [3, S, S] image → [S*S]. */
export function luma(img: Float32Array, size: number): Float64Array {
  const n = size * size;
  if (img.length !== 3 * n) throw new Error(`luma: expected 3×${size}×${size} values, got ${img.length}`);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = 0.299 * img[i] + 0.587 * img[n + i] + 0.114 * img[2 * n + i];
  return y;
}

function gaussian(win: number, sigma: number): Float64Array {
  const g = new Float64Array(win);
  const c = (win - 1) / 2;
  let s = 0;
  for (let i = 0; i < win; i++) s += g[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
  for (let i = 0; i < win; i++) g[i] /= s;
  return g;
}

/** Separable 'valid' filtering of an S×S map with a 1-D kernel → (S−w+1)². */
function filter2(x: Float64Array, size: number, g: Float64Array): Float64Array {
  const w = g.length;
  const o = size - w + 1;
  const tmp = new Float64Array(size * o);
  for (let y = 0; y < size; y++)
    for (let j = 0; j < o; j++) {
      let s = 0;
      for (let k = 0; k < w; k++) s += g[k] * x[y * size + j + k];
      tmp[y * o + j] = s;
    }
  const out = new Float64Array(o * o);
  for (let i = 0; i < o; i++)
    for (let j = 0; j < o; j++) {
      let s = 0;
      for (let k = 0; k < w; k++) s += g[k] * tmp[(i + k) * o + j];
      out[i * o + j] = s;
    }
  return out;
}

/** Mean SSIM on luma (K1 0.01, K2 0.03, data range 1, Gaussian 11×11 σ 1.5, valid region). */
export function ssim(a: Float32Array, b: Float32Array, size: number): number {
  const x = luma(a, size);
  const y = luma(b, size);
  const g = gaussian(11, 1.5);
  const n = size * size;
  const xx = new Float64Array(n),
    yy = new Float64Array(n),
    xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xx[i] = x[i] * x[i];
    yy[i] = y[i] * y[i];
    xy[i] = x[i] * y[i];
  }
  const mx = filter2(x, size, g),
    my = filter2(y, size, g);
  const sxx = filter2(xx, size, g),
    syy = filter2(yy, size, g),
    sxy = filter2(xy, size, g);
  const C1 = 0.01 ** 2,
    C2 = 0.03 ** 2;
  let sum = 0;
  for (let i = 0; i < mx.length; i++) {
    const vx = sxx[i] - mx[i] ** 2,
      vy = syy[i] - my[i] ** 2,
      cxy = sxy[i] - mx[i] * my[i];
    sum += ((2 * mx[i] * my[i] + C1) * (2 * cxy + C2)) / ((mx[i] ** 2 + my[i] ** 2 + C1) * (vx + vy + C2));
  }
  return sum / mx.length;
}

/** Fraction of equal token ids per scale. */
export function tokenAgreement(a: Int32Array[], b: Int32Array[]): number[] {
  if (a.length !== b.length) throw new Error(`tokenAgreement: ${a.length} vs ${b.length} scales`);
  return a.map((ta, s) => {
    if (ta.length !== b[s].length) throw new Error(`tokenAgreement: scale ${s} has ${ta.length} vs ${b[s].length} tokens`);
    let eq = 0;
    for (let i = 0; i < ta.length; i++) if (ta[i] === b[s][i]) eq++;
    return eq / ta.length;
  });
}

/** Feature distance: mean squared difference of unit-normalised feature vectors (LPIPS-like proxy). */
export function featureDistance(fa: Float32Array | Float64Array, fb: Float32Array | Float64Array): number {
  if (fa.length !== fb.length) throw new Error(`featureDistance: ${fa.length} vs ${fb.length} features`);
  const na = Math.hypot(...fa) || 1;
  const nb = Math.hypot(...fb) || 1;
  let s = 0;
  for (let i = 0; i < fa.length; i++) s += (fa[i] / na - fb[i] / nb) ** 2;
  return s;
}

/** Symmetric eigen-decomposition (cyclic Jacobi). Returns eigenvalues and column eigenvectors (row-major n×n). */
export function symmetricEigen(m: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(m);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p],
            akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k],
            aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p],
            vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: n }, (_, i) => a[i * n + i]), vectors: v };
}

function meanCov(feats: ArrayLike<number>[], d: number): { mu: Float64Array; cov: Float64Array } {
  const n = feats.length;
  if (n < 2) throw new Error(`Fréchet distance needs at least 2 feature vectors per set, got ${n}`);
  const mu = new Float64Array(d);
  for (const f of feats) for (let i = 0; i < d; i++) mu[i] += f[i] / n;
  const cov = new Float64Array(d * d);
  for (const f of feats)
    for (let i = 0; i < d; i++) {
      const di = f[i] - mu[i];
      for (let j = i; j < d; j++) cov[i * d + j] += (di * (f[j] - mu[j])) / (n - 1);
    }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) cov[i * d + j] = cov[j * d + i];
  return { mu, cov };
}

/**
 * Fréchet distance between Gaussians fitted to two feature sets:
 * |μ1−μ2|² + Tr(Σ1 + Σ2 − 2 (Σ1^½ Σ2 Σ1^½)^½)  (FID's formula; on emoji-classifier features it is "FD-emoji").
 */
export function frechetDistance(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  const d = a[0]?.length ?? 0;
  if (!d || b[0]?.length !== d) throw new Error("frechetDistance: empty sets or feature sizes differ");
  const A = meanCov(a, d);
  const B = meanCov(b, d);
  const ea = symmetricEigen(A.cov, d);
  // Σ1^½ = V diag(√λ) Vᵀ
  const half = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += ea.vectors[i * d + k] * Math.sqrt(Math.max(ea.values[k], 0)) * ea.vectors[j * d + k];
      half[i * d + j] = s;
    }
  const tmp = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += half[i * d + k] * B.cov[k * d + j];
      tmp[i * d + j] = s;
    }
  const m = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += tmp[i * d + k] * half[k * d + j];
      m[i * d + j] = s;
    }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) m[i * d + j] = m[j * d + i] = (m[i * d + j] + m[j * d + i]) / 2;
  const em = symmetricEigen(m, d);
  let trSqrt = 0;
  for (const l of em.values) trSqrt += Math.sqrt(Math.max(l, 0));
  let dmu = 0,
    tr = 0;
  for (let i = 0; i < d; i++) {
    dmu += (A.mu[i] - B.mu[i]) ** 2;
    tr += A.cov[i * d + i] + B.cov[i * d + i];
  }
  return Math.max(0, dmu + tr - 2 * trSqrt);
}
