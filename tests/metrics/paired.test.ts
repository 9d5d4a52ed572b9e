// Paired comparisons (src/lib/metrics/paired.ts): the paired t-interval against a hand-computed example,
// verdicts, the best baseline per budget, the paired headline and the half-seed stability count.
import { describe, expect, it } from "vitest";
import {
  cellValues,
  halfSeedStability,
  pairedCI,
  pairedHeadline,
  type PairedRow,
  rankAgreement,
  verdictOf,
  versusBestBaseline,
} from "../../src/lib/metrics/paired.js";

describe("pairedCI (paired Student t, hand-computed)", () => {
  it("a − b over the prompts both have: d = [1, −0.5, 1, 2]", () => {
    const a = new Map([
      ["0/1", 10],
      ["0/2", 12],
      ["0/3", 11],
      ["0/4", 15],
    ]);
    const b = new Map([
      ["0/1", 9],
      ["0/2", 12.5],
      ["0/3", 10],
      ["0/4", 13],
      ["0/5", 99], // no partner: not a pair
    ]);
    const d = pairedCI(a, b);
    // mean 0.875; sd = √(3.1875/3) = 1.030776; t(0.975, 3) = 3.182446; half = 3.182446 · 1.030776 / 2 = 1.640195
    expect(d.pairs).toBe(4);
    expect(d.mean).toBeCloseTo(0.875, 12);
    expect(d.sd).toBeCloseTo(1.0307764064, 9);
    expect(d.half).toBeCloseTo(1.6401952831, 6);
    expect(d.lo).toBeCloseTo(-0.7651952831, 6);
    expect(d.hi).toBeCloseTo(2.5151952831, 6);
    expect(verdictOf(d, true)).toBe("equal");
  });
  it("d = [1, 1.5, 0.5, 1.2, 0.8]: [0.5272, 1.4728] excludes 0 → better (higher is better), worse (lower is better)", () => {
    const a = new Map([1, 1.5, 0.5, 1.2, 0.8].map((x, i) => [`k${i}`, x]));
    const b = new Map([0, 0, 0, 0, 0].map((x, i) => [`k${i}`, x]));
    const d = pairedCI(a, b);
    expect(d.lo).toBeCloseTo(0.5271884358, 6);
    expect(d.hi).toBeCloseTo(1.4728115642, 6);
    expect(verdictOf(d, true)).toBe("better");
    expect(verdictOf(d, false)).toBe("worse");
    expect(verdictOf(pairedCI(b, a), true)).toBe("worse");
  });
  it("one pair: no interval, no verdict beyond equal", () => {
    const d = pairedCI(new Map([["a", 1]]), new Map([["a", 0]]));
    expect(d.n).toBe(1);
    expect(Number.isNaN(d.half)).toBe(true);
    expect(verdictOf(d, true)).toBe("equal");
  });
});

// per-image rows: method m at budget r, seeds 1..8, value = base + per-seed noise shared by every cell
const noise = [0.9, -1.2, 2.1, -0.4, 1.5, -2.0, 0.3, 0.8];
const wobble = [0.05, -0.05, 0.02, -0.02, 0.04, -0.04, 0.01, -0.01];
function rows(label: string, method: string, ratio: number, base: number, w = 1): PairedRow[] {
  return noise.map((n, i) => ({
    label,
    method,
    budget_ratio: ratio,
    class_index: 0,
    seed: i + 1,
    value: base + n + w * wobble[i],
    measured_peak_bytes: ratio * 1000,
  }));
}

describe("verdicts vs the best baseline", () => {
  const all = [
    ...rows("h2o", "h2o", 0.2, 20),
    ...rows("scalekv", "scalekv", 0.2, 19.5, -1),
    ...rows("heatkv", "heatkv", 0.1, 19.0),
    ...rows("heatkv", "heatkv", 0.2, 20.02, -1),
    ...rows("heatkv", "heatkv", 0.3, 20.5),
    ...rows("full", "full", 1, 100),
  ];
  const cells = cellValues(all);

  it("per budget: the best baseline by mean, every other cell paired against it", () => {
    const cmp = versusBestBaseline(cells, { higherIsBetter: true });
    const at20 = cmp.filter((c) => c.ratio === 0.2);
    expect(at20.map((c) => [c.label, c.reference.label, c.verdict])).toEqual([
      ["heatkv", "h2o", "equal"], // +0.02 with per-image differences ±0.1: not significant
      ["scalekv", "h2o", "worse"], // −0.5 on every image (± 0.1): significant although the cells' own bands overlap
    ]);
    expect(cmp.some((c) => c.method === "full")).toBe(false);
  });

  it("paired headline: smallest budget not significantly worse than the best baseline at 20 %", () => {
    const h = pairedHeadline(cells, { higherIsBetter: true });
    expect(h.reference?.label).toBe("h2o");
    const by = Object.fromEntries(h.rows.map((r) => [r.label, r]));
    expect(by.heatkv.hit?.ratio).toBe(0.2); // 10 %: −1 dB on every image → worse
    expect(by.scalekv.hit).toBeNull();
    expect(by.h2o.hit?.ratio).toBe(0.2); // the reference itself
    expect(by.heatkv.atReference?.verdict).toBe("equal");
  });

  it("half-seed stability counts verdicts that agree between seeds 1–4 and 5–8", () => {
    const s = halfSeedStability(all, { higherIsBetter: true });
    expect(s.seedsA).toEqual([1, 2, 3, 4]);
    expect(s.seedsB).toEqual([5, 6, 7, 8]);
    expect(s.verdicts).toBe(2);
    expect(s.verdictsAgree).toBe(2);
    expect(s.headline).toBe(3);
    expect(s.headlineAgree).toBe(3);
  });
});

describe("rankAgreement (Kendall τ between two metrics' cell rankings)", () => {
  const cv = (label: string, ratio: number, mean: number) => ({ label, method: label, ratio, mean, bytes: 0, values: new Map<string, number>() });
  it("orients both metrics so larger = better; per budget and over all cells", () => {
    // PSNR (higher better) and KL (lower better) rank a > b > c at 10 %; at 20 % KL swaps b and c
    const psnr = [cv("a", 0.1, 20), cv("b", 0.1, 19), cv("c", 0.1, 18), cv("a", 0.2, 22), cv("b", 0.2, 21), cv("c", 0.2, 20), cv("full", 1, 100)];
    const kl = [cv("a", 0.1, 0.1), cv("b", 0.1, 0.2), cv("c", 0.1, 0.3), cv("a", 0.2, 0.05), cv("b", 0.2, 0.09), cv("c", 0.2, 0.08), cv("full", 1, 0)];
    const r = rankAgreement(psnr, kl, true, false);
    expect(r.cells).toBe(6);
    expect(r.perBudget).toEqual([
      { ratio: 0.1, tau: 1, methods: 3 },
      { ratio: 0.2, tau: 1 / 3, methods: 3 },
    ]);
    expect(r.meanPerBudget).toBeCloseTo(2 / 3, 12);
    // all 15 pairs: 13 concordant, 1 discordant (b@20 vs c@20), 1 tied in PSNR only (a@10 vs c@20, both 20 dB):
    // tau-b = (13 − 1) / √((13 + 1 + 1) · (13 + 1))
    expect(r.all).toBeCloseTo(12 / Math.sqrt(15 * 14), 12);
  });
});
