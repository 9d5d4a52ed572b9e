// The sampler's output distribution against the exact truncated categorical distribution: temperature divides
// the logits, top-p keeps the smallest most-probable set whose mass reaches p (the crossing token included),
// top-k the k most probable. Draws are seeded, so the chi-square statistics are fixed numbers.
import { describe, expect, it } from "vitest";
import { Rng, type SamplerOptions, sampleTokens } from "../../src/lib/var/sampler.js";

/** exact distribution: p ∝ exp(logit / T), then top-k, then top-p over the sorted probabilities */
function exact(logits: number[], o: SamplerOptions): number[] {
  const p = logits.map((l) => Math.exp(l / o.temperature));
  const order = p.map((_, i) => i).sort((a, b) => p[b] - p[a]);
  const k = o.topK > 0 ? o.topK : p.length;
  const total = order.slice(0, k).reduce((s, i) => s + p[i], 0);
  const kept = new Set<number>();
  let cum = 0;
  for (const i of order.slice(0, k)) {
    if (cum > o.topP * total) break;
    kept.add(i);
    cum += p[i];
  }
  const mass = [...kept].reduce((s, i) => s + p[i], 0);
  return p.map((x, i) => (kept.has(i) ? x / mass : 0));
}

function draws(logits: number[], o: SamplerOptions, n: number, seed: number): number[] {
  const rng = new Rng(seed);
  const counts = new Array(logits.length).fill(0);
  const row = Float32Array.from(logits);
  for (let i = 0; i < n; i++) counts[sampleTokens(row, 1, logits.length, 0, false, o, rng)[0]]++;
  return counts;
}

const chiSquare = (counts: number[], probs: number[], n: number) => probs.reduce((s, p, i) => (p > 0 ? s + (counts[i] - n * p) ** 2 / (n * p) : s), 0);

describe("sampler distribution (temperature, top-p, top-k)", () => {
  const N = 20_000;
  const cases: [string, number[], SamplerOptions, number[]][] = [
    // e^(2l): 54.6, 7.39, 1, .135, .0025 → top-p 0.9 keeps codes 0, 1
    ["temperature 0.5 divides the logits; top-p 0.9", [2, 1, 0, -1, -3], { cfg: 0, topK: 0, topP: 0.9, temperature: 0.5 }, [0, 1]],
    // e^l: 2.72, 2.46, 1.65, 1, .37 → top-p 0.6 keeps 0, 1 (the crossing token included)
    ["an intermediate top-p 0.6 at temperature 1", [1, 0.9, 0.5, 0, -1], { cfg: 0, topK: 0, topP: 0.6, temperature: 1 }, [0, 1]],
    ["temperature 2 flattens; top-k 3", [1, 0.9, 0.5, 0, -1], { cfg: 0, topK: 3, topP: 1, temperature: 2 }, [0, 1, 2]],
  ];
  for (const [name, logits, o, support] of cases) {
    it(name, () => {
      const probs = exact(logits, o);
      expect(probs.flatMap((p, i) => (p > 0 ? [i] : []))).toEqual(support);
      const counts = draws(logits, o, N, 12345);
      for (let i = 0; i < logits.length; i++) if (probs[i] === 0) expect(counts[i], `code ${i} is outside the kept set`).toBe(0);
      // chi-square with (kept − 1) degrees of freedom; 13.8 is the 0.1 % critical value for 2 df (10.8 for 1)
      expect(chiSquare(counts, probs, N)).toBeLessThan(support.length === 2 ? 10.8 : 13.8);
    });
  }
});
