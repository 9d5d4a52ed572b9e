import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { featureDistance, frechetDistance, psnr, ssim, symmetricEigen, tokenAgreement } from "../../src/lib/metrics/image.js";

const S = 16;
const constant = (v: number) => new Float32Array(3 * S * S).fill(v);

describe("image metrics on known inputs", () => {
  it("PSNR: identical → ∞, a 0.1 offset everywhere → MSE 0.01 → 20 dB", () => {
    expect(psnr(constant(0.5), constant(0.5))).toBe(Number.POSITIVE_INFINITY);
    expect(psnr(constant(0.5), constant(0.6))).toBeCloseTo(20, 5);
    expect(() => psnr(constant(0), new Float32Array(3))).toThrow(/differ in size/);
  });
  it("SSIM: identical → 1; flat 0.5 vs flat 0.6 → (2·0.3+C1)/(0.25+0.36+C1) by hand", () => {
    const img = Float32Array.from({ length: 3 * S * S }, (_, i) => (Math.sin(i) + 1) / 2);
    expect(ssim(img, img, S)).toBeCloseTo(1, 10);
    const C1 = 1e-4;
    expect(ssim(constant(0.5), constant(0.6), S)).toBeCloseTo((0.6 + C1) / (0.61 + C1), 6); // float32 pixels
    // structure destroyed: an image vs its negative scores far below 1
    expect(
      ssim(
        img,
        img.map((v) => 1 - v),
        S,
      ),
    ).toBeLessThan(0);
  });
  it("token agreement per scale", () => {
    expect(tokenAgreement([Int32Array.from([1]), Int32Array.from([1, 2, 3, 4])], [Int32Array.from([1]), Int32Array.from([1, 0, 3, 0])])).toEqual([1, 0.5]);
  });
  it("feature distance of unit-normalised vectors: orthogonal → 2, scaled copy → 0", () => {
    expect(featureDistance(Float32Array.from([1, 0]), Float32Array.from([0, 3]))).toBeCloseTo(2, 12);
    expect(featureDistance(Float32Array.from([1, 2]), Float32Array.from([2, 4]))).toBeCloseTo(0, 12);
  });
  it("Jacobi eigen-decomposition reconstructs a symmetric matrix", () => {
    const m = Float64Array.from([4, 1, 2, 1, 3, 0, 2, 0, 5]);
    const { values, vectors } = symmetricEigen(m, 3);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += vectors[i * 3 + k] * values[k] * vectors[j * 3 + k];
        expect(s).toBeCloseTo(m[i * 3 + j], 10);
      }
  });
  it("Fréchet distance: 0 for the same set; by hand for diagonal Gaussians", () => {
    const A = [
      [1, 0],
      [-1, 0],
      [0, 1],
      [0, -1],
    ]; // mean 0, cov diag(2/3, 2/3)
    const B = A.map(([x, y]) => [2 * x + 3, 2 * y]); // mean (3,0), cov diag(8/3, 8/3)
    expect(frechetDistance(A, A)).toBeCloseTo(0, 8);
    // |Δμ|² + Σ (σa − σb)² = 9 + 2·(√(2/3) − √(8/3))² = 9 + 4/3
    expect(frechetDistance(A, B)).toBeCloseTo(9 + 4 / 3, 8);
    expect(() => frechetDistance([[1, 2]], [[1, 2]])).toThrow(/at least 2/);
  });
});

describe("PSNR and SSIM against an independent implementation (tests/metrics/fixtures/make-image-metrics.py)", () => {
  // numpy, full 2-D Gaussian kernel, direct 2-D correlation, luma as a matrix product: a different code path
  // that catches swapped luma weights, another window or σ, a wrong constant or a wrong border region
  const ref = JSON.parse(readFileSync(join(import.meta.dirname, "fixtures", "image-metrics.json"), "utf8")) as {
    size: number;
    cases: { name: string; a: number[]; b: number[]; psnr_db: number; ssim: number }[];
  };
  for (const c of ref.cases) {
    it(c.name, () => {
      const a = Float32Array.from(c.a);
      const b = Float32Array.from(c.b);
      expect(Math.abs(psnr(a, b) - c.psnr_db)).toBeLessThan(1e-9);
      expect(Math.abs(ssim(a, b, ref.size) - c.ssim)).toBeLessThan(1e-10);
    });
  }
});
