// The side-by-side page's views (compare.md): the two images with bytes and time, the per-scale token
// agreement chart, and the line comparing the browser run with the Node sweep's row for the same cell.
// comparisonFacts(), agreementData() and nodeVerdict() are the pure comparison → text / data steps.
import * as Plot from "@observablehq/plot";
import type { GenerateResult } from "../../var/runtime.js";
import type { Database } from "../duckdb.js";
import { formatBytes, formatMs } from "../format.js";
import { pct } from "../quality/cells.js";
import { imageCanvas } from "../tensor.js";
import type { Comparison } from "./runner.js";

/** The numbers under the compressed image and beside the pair. */
export function comparisonFacts(c: Comparison) {
  const tokens = c.full.tokens.reduce((a, t) => a + t.length, 0);
  return {
    title: `${c.schedule.method} @ ${pct(c.schedule.budget.ratio)}`,
    bytesMatch: c.predictedPeak === c.compressed.peakCacheBytes,
    percentOfFull: (100 * c.compressed.peakCacheBytes) / c.full.peakCacheBytes,
    /** share of all sampled tokens equal to the full-cache run's, % */
    tokensEqualPercent: (100 * c.agreement.reduce((a, x, i) => a + x * c.full.tokens[i].length, 0)) / tokens,
    psnrText: Number.isFinite(c.psnr) ? `${c.psnr.toFixed(2)} dB` : "∞ (identical)",
  };
}

function figure(r: GenerateResult, size: number, title: string, lines: string[], testid: string): HTMLElement {
  const fig = document.createElement("figure");
  fig.style.margin = "0";
  fig.dataset.testid = testid;
  fig.dataset.peakBytes = String(r.peakCacheBytes);
  fig.dataset.ms = r.totalMs.toFixed(1);
  const h = document.createElement("div");
  h.style.fontWeight = "600";
  h.textContent = title;
  const canvas = imageCanvas(r.image, [1, 3, size, size], { scale: 4, label: title });
  canvas.style.border = "1px solid var(--theme-foreground-faintest)";
  const cap = document.createElement("figcaption");
  cap.innerHTML = lines.map((l) => `<div>${l}</div>`).join("");
  fig.append(h, canvas, cap);
  return fig;
}

/** The two images side by side (4× upscaled, pixelated) with bytes and time. */
export function comparisonView(c: Comparison, backend: string): HTMLElement {
  const size = c.full.imageSize;
  const f = comparisonFacts(c);
  const div = document.createElement("div");
  div.dataset.testid = "compare-images";
  div.dataset.backend = backend;
  div.style.display = "flex";
  div.style.flexWrap = "wrap";
  div.style.gap = "2rem";
  div.append(
    figure(
      c.full,
      size,
      "full cache",
      [
        `peak KV ${formatBytes(c.full.peakCacheBytes)} (${c.full.peakCacheBytes.toLocaleString("en-US")} B)`,
        `${formatMs(c.full.totalMs)} (ORT ${formatMs(c.full.ortMs)})`,
      ],
      "compare-full",
    ),
    figure(
      c.compressed,
      size,
      f.title,
      [
        `peak KV ${formatBytes(c.compressed.peakCacheBytes)} (${c.compressed.peakCacheBytes.toLocaleString("en-US")} B; schedule predicts ${c.predictedPeak.toLocaleString("en-US")} B ${f.bytesMatch ? "✓" : "✗"})`,
        `${f.percentOfFull.toFixed(1)} % of the full cache`,
        `${formatMs(c.compressed.totalMs)} (ORT ${formatMs(c.compressed.ortMs)})`,
      ],
      "compare-compressed",
    ),
  );
  const facts = document.createElement("div");
  facts.innerHTML = `<div><b>vs full</b></div><div>PSNR ${f.psnrText}</div><div>SSIM ${c.ssim.toFixed(4)}</div>
<div>tokens equal: ${f.tokensEqualPercent.toFixed(1)} % of all</div><div>ran on ${backend}</div>`;
  div.append(facts);
  return div;
}

/** One bar per scale: "t (p×p)" and the fraction of its tokens equal to the full-cache run's. */
export const agreementData = (agreement: readonly number[], patchNums: readonly number[]) =>
  agreement.map((a, t) => ({ scale: `${t} (${patchNums[t]}×${patchNums[t]})`, a }));

/** Per-scale token agreement of the compressed run with the full-cache run. */
export function agreementChart(c: Comparison, patchNums: number[], width = 640): HTMLElement {
  const data = agreementData(c.agreement, patchNums);
  return Plot.plot({
    width,
    height: 260,
    marginLeft: 60,
    title: "Token agreement per scale",
    subtitle: "fraction of the scale's sampled token ids equal to the full-cache run (same class, seed and sampler)",
    x: { label: "scale (token map h×w) →", domain: data.map((d) => d.scale) },
    y: { label: "↑ equal tokens (fraction)", domain: [0, 1], grid: true },
    marks: [Plot.barY(data, { x: "scale", y: "a", fill: "#4269d0", tip: true }), Plot.ruleY([0])],
  }) as HTMLElement;
}

export interface SweepRow {
  psnr_db: number;
  ssim: number;
  measured_peak_bytes: number;
  token_agreement_last: number;
}

/** SQL of the Node sweep's row for one cell (label as src/lib/site/methods.ts sweepLabel prints it). */
export function sweepRowSql(label: string, ratio: number, classIndex: number, seed: number): string {
  const q = (v: string) => `'${v.replaceAll("'", "''")}'`;
  return `SELECT psnr_db, ssim, measured_peak_bytes, token_agreement_last FROM sweep WHERE label = ${q(label)} AND abs(budget_ratio - ${Number(ratio)}) < 1e-9 AND class_index = ${Math.trunc(classIndex)} AND seed = ${Math.trunc(seed)} AND NOT infeasible`;
}

/** The Node sweep's row for the same class, seed, method and budget, when the sweep ran that cell. */
export async function sweepRow(db: Database, label: string, ratio: number, classIndex: number, seed: number): Promise<SweepRow | null> {
  const rows = await db.query<SweepRow>(sweepRowSql(label, ratio, classIndex, seed));
  return rows[0] ?? null;
}

/** Does the browser run reproduce the sweep's row? The sentence says how close. */
export function nodeVerdict(row: SweepRow | null, c: Pick<Comparison, "psnr" | "agreement" | "compressed">): { same: boolean | null; text: string } {
  if (!row)
    return {
      same: null,
      text: "The Node sweep did not run this class / seed / method / budget (it covers every class × seeds 101–108 at 5, 10, 20, 30, 50 %).",
    };
  const last = c.agreement[c.agreement.length - 1];
  const dPsnr = Math.min(c.psnr, 100) - row.psnr_db;
  // float32 kernels differ slightly between backends: the same tokens give PSNRs equal to ~1e-4 dB
  const same = Math.abs(dPsnr) < 0.01 && Math.abs(last - row.token_agreement_last) < 1e-9 && Number(row.measured_peak_bytes) === c.compressed.peakCacheBytes;
  const text =
    `Node sweep, same cell (onnxruntime-node): PSNR ${row.psnr_db.toFixed(2)} dB, SSIM ${row.ssim.toFixed(4)}, last-scale token agreement ${row.token_agreement_last.toFixed(3)}, peak ${Number(row.measured_peak_bytes).toLocaleString("en-US")} B — ` +
    (same
      ? `the browser run reproduces it (same bytes and token agreement, ΔPSNR ${dPsnr.toExponential(1)} dB).`
      : `the browser run differs (ΔPSNR ${dPsnr.toFixed(3)} dB): a different backend can round differently and sample another token.`);
  return { same, text };
}

/** One line comparing the browser run with the Node sweep's numbers for the same cell. */
export function nodeCheck(row: SweepRow | null, c: Comparison): HTMLElement {
  const p = document.createElement("p");
  p.dataset.testid = "compare-node-check";
  const v = nodeVerdict(row, c);
  if (v.same !== null) p.dataset.match = String(v.same);
  p.textContent = v.text;
  return p;
}
