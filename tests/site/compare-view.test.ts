import { describe, expect, it } from "vitest";
import type { Comparison } from "../../src/lib/site/compare/runner.js";
import { agreementData, comparisonFacts, nodeVerdict, sweepRowSql } from "../../src/lib/site/compare/view.js";

const comparison = (over: Partial<Comparison> = {}): Comparison =>
  ({
    full: { peakCacheBytes: 1000, tokens: [new Int32Array(1), new Int32Array(4)] },
    compressed: { peakCacheBytes: 250 },
    schedule: { method: "heatkv", budget: { ratio: 0.2 } },
    predictedPeak: 250,
    psnr: 30.5,
    ssim: 0.9,
    agreement: [1, 0.5],
    ...over,
  }) as unknown as Comparison;

describe("compare view", () => {
  it("facts: title, bytes check, share of the full cache, tokens equal weighted by scale size", () => {
    expect(comparisonFacts(comparison())).toEqual({
      title: "heatkv @ 20 %",
      bytesMatch: true,
      percentOfFull: 25,
      tokensEqualPercent: 60,
      psnrText: "30.50 dB",
    });
    expect(comparisonFacts(comparison({ predictedPeak: 251, psnr: Infinity }))).toMatchObject({ bytesMatch: false, psnrText: "∞ (identical)" });
  });

  it("agreement bars are labelled by scale and token map", () => {
    expect(agreementData([1, 0.5], [1, 2])).toEqual([
      { scale: "0 (1×1)", a: 1 },
      { scale: "1 (2×2)", a: 0.5 },
    ]);
  });

  it("the browser run reproduces the sweep's row only with equal bytes, equal last-scale agreement and PSNR within 0.01 dB", () => {
    const row = { psnr_db: 30.5001, ssim: 0.9, measured_peak_bytes: 250, token_agreement_last: 0.5 };
    expect(nodeVerdict(row, comparison()).same).toBe(true);
    expect(nodeVerdict(row, comparison()).text).toContain("the browser run reproduces it");
    expect(nodeVerdict({ ...row, measured_peak_bytes: 251 }, comparison()).same).toBe(false);
    expect(nodeVerdict({ ...row, psnr_db: 30.6 }, comparison()).text).toContain("the browser run differs (ΔPSNR -0.100 dB)");
    // identical images (∞ dB) compare as 100 dB, the sweep's cap
    expect(nodeVerdict({ ...row, psnr_db: 100 }, comparison({ psnr: Infinity })).same).toBe(true);
    expect(nodeVerdict(null, comparison())).toMatchObject({ same: null, text: expect.stringMatching(/^The Node sweep did not run/) });
  });

  it("the sweep row's SQL quotes the label and keeps the budget exact", () => {
    expect(sweepRowSql("heatkv+recalkv:rankRatio=0.25,sigma=1", 0.2, 3, 101)).toContain(
      "label = 'heatkv+recalkv:rankRatio=0.25,sigma=1' AND abs(budget_ratio - 0.2) < 1e-9 AND class_index = 3 AND seed = 101",
    );
    expect(sweepRowSql("a'b", 0.1, 0, 0)).toContain("label = 'a''b'");
  });
});
