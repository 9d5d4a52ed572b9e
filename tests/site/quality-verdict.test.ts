// The quality page's paired verdict views (src/lib/site/quality/verdict.ts): the matrix cells, the formatted
// paired difference, the paired headline rows and the verdict sentence, on a small hand-made sweep.
import { describe, expect, it } from "vitest";
import { cellValues, pairedHeadline, type PairedRow } from "../../src/lib/metrics/paired.js";
import { formatDiff, pairedHeadlineRows, verdictCells, verdictText } from "../../src/lib/site/quality/verdict.js";

const noise = [0.9, -1.2, 2.1, -0.4, 1.5, -2.0, 0.3, 0.8];
const wob = [0.05, -0.05, 0.02, -0.02, 0.04, -0.04, 0.01, -0.01];
const rows = (label: string, ratio: number, base: number, w = 1): PairedRow[] =>
  noise.map((n, i) => ({
    label,
    method: label.split(":")[0],
    budget_ratio: ratio,
    class_index: 0,
    seed: i + 1,
    value: base + n + w * wob[i],
    measured_peak_bytes: ratio * 1000,
  }));

const psnr = cellValues([...rows("h2o", 0.2, 20), ...rows("scalekv", 0.2, 19.5, -1), ...rows("heatkv", 0.2, 20.02, -1), ...rows("heatkv", 0.3, 20.5)]);
// KL (lower is better): heatkv better than h2o at 20 %
const kl = cellValues([...rows("h2o", 0.2, 5), ...rows("scalekv", 0.2, 5.5, -1), ...rows("heatkv", 0.2, 4.5, -1), ...rows("heatkv", 0.3, 4)]);

describe("verdict views", () => {
  it("matrix cells: per method × budget, both metrics, the best baseline marked", () => {
    const v = verdictCells(psnr, kl, true, false);
    expect(v.ratios).toEqual([0.2, 0.3]);
    expect(v.bestAt).toEqual([
      { ratio: 0.2, image: "h2o", fidelity: "h2o" },
      { ratio: 0.3, image: null, fidelity: null },
    ]);
    const heat = v.rows.find((r) => r.label === "heatkv")!.cells[0];
    expect([heat.image?.verdict, heat.fidelity?.verdict]).toEqual(["equal", "better"]);
    const h2o = v.rows.find((r) => r.label === "h2o")!.cells[0];
    expect([h2o.bestImage, h2o.bestFidelity, h2o.image]).toEqual([true, true, null]);
  });
  it("formats the paired difference with its half-width and unit", () => {
    const c = verdictCells(psnr, kl, true, false).rows.find((r) => r.label === "scalekv")!.cells[0].image!;
    expect(formatDiff(c, "psnr_db")).toMatch(/^−0\.50 ± 0\.0\d+ dB$/);
  });
  it("paired headline rows and the sentence", () => {
    const h = pairedHeadline(psnr, { higherIsBetter: true });
    const byMethod = Object.fromEntries(pairedHeadlineRows(h, "psnr_db").map((r) => [r.method, r]));
    expect(byMethod.heatkv).toMatchObject({ budget: "20 %", memory: "1.00×" });
    expect(byMethod.scalekv).toMatchObject({ budget: "not within the sweep", memory: "—" });
    expect(byMethod.scalekv.at20).toMatch(/^▼ worse \(−0\.50/);
    expect(byMethod.h2o.at20).toBe("reference");
    const text = verdictText(h, pairedHeadline(kl, { higherIsBetter: false }), "psnr_db", "tf_kl");
    expect(text).toBe(
      "At 20 % the best baseline is h2o. Paired on the same images (paired t, 95 %), the other settings at that budget are PSNR: 0 better / 1 equal / 1 worse; " +
        "KL(full ‖ compressed), teacher-forced: 1 better / 0 equal / 1 worse. Smallest budget not significantly worse than it (PSNR / KL(full ‖ compressed), teacher-forced): " +
        "heatkv 20 % (1.00× the memory) / 20 % (1.00× the memory).",
    );
  });
});
