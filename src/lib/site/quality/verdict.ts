// The quality page's paired verdicts (quality.md, report.md): per budget, every method setting against the
// best baseline at that budget, paired on the same (class, seed) images (math: src/lib/metrics/paired.ts),
// for an image metric and a teacher-forced fidelity metric side by side; the verdict sentence; the paired
// headline (smallest budget not significantly worse than the best baseline at 20 %). verdictCells(),
// verdictText() and pairedHeadlineRows() are the pure steps; the rest renders.
import {
  type CellValues,
  cellValues,
  type Comparison,
  type PairedHeadline,
  pairedHeadline,
  type PairedRow,
  type Verdict,
  versusBestBaseline,
} from "../../metrics/paired.js";
import type { Database } from "../duckdb.js";
import { formatBytes, renderTable } from "../format.js";
import { referenceMethods } from "../methods.js";
import { isBaselineMethod } from "../../schedules/registry.js";
import { byCodePoint, metricOption, pct } from "./cells.js";

export const VERDICT_GLYPH: Record<Verdict, string> = { better: "▲ better", equal: "= equal", worse: "▼ worse" };

/** SQL: every feasible compressed image with one metric's value (pairs are formed in JS). */
export function pairedSql(metric: string, reference: readonly string[] = referenceMethods()): string {
  const m = metricOption(metric);
  if (m.setLevel) throw new Error(`paired comparisons need a per-image metric, ${metric} is set-level`);
  const ref = reference.map((r) => `'${r.replaceAll("'", "''")}'`).join(", ");
  return `SELECT label, method, budget_ratio, class_index, seed, ${m.key} AS value, measured_peak_bytes, infeasible
FROM sweep WHERE NOT infeasible AND method NOT IN (${ref})`;
}

/** The per-image values of every compressed cell, grouped by cell. */
export async function queryPairedCells(db: Database, metric: string): Promise<CellValues[]> {
  const rows = await db.query<PairedRow>(pairedSql(metric));
  return cellValues(rows.map((r) => ({ ...r, budget_ratio: Number(r.budget_ratio), class_index: Number(r.class_index), seed: Number(r.seed) })));
}

const sig = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(2));
/** "+0.31 ± 0.20 dB" (paired mean difference ± half-width of its 95 % interval). */
export function formatDiff(c: Comparison, metric: string): string {
  const unit = metricOption(metric).unit ?? "";
  const d = c.diff;
  if (!Number.isFinite(d.mean)) return "—";
  return `${d.mean >= 0 ? "+" : "−"}${sig(Math.abs(d.mean))}${Number.isFinite(d.half) ? ` ± ${sig(d.half)}` : ""}${unit}`;
}

export interface VerdictCell {
  ratio: number;
  /** this cell is the best baseline at its budget for the metric */
  bestImage: boolean;
  bestFidelity: boolean;
  image: Comparison | null;
  fidelity: Comparison | null;
}

export interface VerdictRow {
  label: string;
  cells: VerdictCell[];
}

/** Rows (method settings, code-point order) × budgets of the two metrics' comparisons with the best baseline. */
export function verdictCells(image: readonly CellValues[], fidelity: readonly CellValues[], imageHigher: boolean, fidelityHigher: boolean) {
  const ci = versusBestBaseline(image, { higherIsBetter: imageHigher });
  const cf = versusBestBaseline(fidelity, { higherIsBetter: fidelityHigher });
  const ratios = [...new Set([...image, ...fidelity].map((c) => c.ratio))].sort((a, b) => a - b);
  const labels = [...new Set([...image, ...fidelity].map((c) => c.label))].sort(byCodePoint);
  const best = (cmp: Comparison[], ratio: number) => cmp.find((c) => c.ratio === ratio)?.reference.label ?? null;
  const bestAt = ratios.map((r) => ({ ratio: r, image: best(ci, r), fidelity: best(cf, r) }));
  const rows: VerdictRow[] = labels.map((label) => ({
    label,
    cells: ratios.map((ratio) => ({
      ratio,
      bestImage: bestAt.find((b) => b.ratio === ratio)?.image === label,
      bestFidelity: bestAt.find((b) => b.ratio === ratio)?.fidelity === label,
      image: ci.find((c) => c.label === label && c.ratio === ratio) ?? null,
      fidelity: cf.find((c) => c.label === label && c.ratio === ratio) ?? null,
    })),
  }));
  return { ratios, bestAt, rows };
}

/** The verdict matrix: per method and budget, paired difference to the best baseline ± 95 % and the verdict, for both metrics. */
export function verdictMatrix(image: readonly CellValues[], fidelity: readonly CellValues[], imageMetric: string, fidelityMetric: string): HTMLElement {
  const mi = metricOption(imageMetric);
  const mf = metricOption(fidelityMetric);
  const { bestAt, rows } = verdictCells(image, fidelity, mi.higherIsBetter, mf.higherIsBetter);
  const table = document.createElement("table");
  table.className = "heatkv-table heatkv-verdicts";
  table.dataset.testid = "verdict-matrix";
  table.dataset.rows = String(rows.length);
  table.style.fontSize = "12px";
  table.createCaption().textContent = `Paired on the same (class, seed) images: method − best baseline at the same budget, mean ± 95 % paired-t half-width; first line ${mi.label}, second line ${mf.label}. ▲ better / = equal / ▼ worse: the interval excludes 0 on that side.`;
  const head = table.createTHead().insertRow();
  const th0 = document.createElement("th");
  th0.textContent = "method";
  head.append(th0);
  for (const b of bestAt) {
    const th = document.createElement("th");
    th.textContent = `${pct(b.ratio)} (best baseline: ${b.image ?? "—"}${b.fidelity && b.fidelity !== b.image ? ` / ${b.fidelity}` : ""})`;
    head.append(th);
  }
  const body = table.createTBody();
  const line = (c: Comparison | null, best: boolean, metric: string) => {
    const div = document.createElement("div");
    if (best) {
      div.textContent = "best baseline";
      div.style.color = "#666";
    } else if (c) {
      div.textContent = `${VERDICT_GLYPH[c.verdict].split(" ")[0]} ${formatDiff(c, metric)}`;
      div.dataset.verdict = c.verdict;
      div.style.color = c.verdict === "better" ? "#1a7f37" : c.verdict === "worse" ? "#b42318" : "#444";
    } else div.textContent = "—";
    return div;
  };
  for (const r of rows) {
    const tr = body.insertRow();
    tr.insertCell().textContent = r.label;
    for (const c of r.cells) {
      const td = tr.insertCell();
      td.style.whiteSpace = "nowrap";
      td.append(line(c.image, c.bestImage, imageMetric), line(c.fidelity, c.bestFidelity, fidelityMetric));
    }
  }
  return table;
}

/** Rows of the paired headline table. */
export function pairedHeadlineRows(h: PairedHeadline, metric: string) {
  return h.rows.map((r) => ({
    method: r.label,
    budget: r.hit ? pct(r.hit.ratio) : "not within the sweep",
    diff: r.hit ? formatDiff(r.hit, metric) : "—",
    memory: r.hit && h.reference && h.reference.bytes > 0 ? `${(r.hit.bytes / h.reference.bytes).toFixed(2)}×` : "—",
    at20: r.atReference ? `${VERDICT_GLYPH[r.atReference.verdict]} (${formatDiff(r.atReference, metric)})` : r.label === h.reference?.label ? "reference" : "—",
  }));
}

export function pairedHeadlineTable(h: PairedHeadline, metric: string): HTMLElement {
  const m = metricOption(metric);
  const t = renderTable(
    pairedHeadlineRows(h, metric),
    [
      { key: "method" },
      { key: "at20", label: `at ${pct(h.referenceRatio)} vs ${h.reference?.label ?? "—"}` },
      { key: "budget", label: "smallest budget not significantly worse", align: "right" },
      { key: "diff", label: "paired difference there", align: "right" },
      { key: "memory", label: "KV bytes ÷ the baseline's (< 1 = less memory)", align: "right" },
    ],
    {
      caption: h.reference
        ? `${m.label}: target = ${h.reference.label} at ${pct(h.referenceRatio)} (mean ${sig(h.reference.mean)}${m.unit ?? ""}, ${formatBytes(h.reference.bytes)} peak); paired t, 95 %`
        : `${m.label}: no baseline swept at ${pct(h.referenceRatio)}`,
    },
  );
  t.dataset.testid = `paired-headline-${metric}`;
  return t;
}

/**
 * The verdict sentence, short enough for the first screen: the best baseline at the reference budget, how
 * many other settings are significantly better / equal / worse there on both metrics, and for every subject
 * method (registry role "subject": HeatKV and what builds on it) the smallest budget not significantly worse
 * than that baseline on each metric, with its memory as a multiple of the baseline's. The per-budget
 * verdicts of every setting are in the matrix; every setting's smallest budget in the paired headline tables.
 */
export function verdictText(
  hImage: PairedHeadline,
  hFidelity: PairedHeadline,
  imageMetric: string,
  fidelityMetric: string,
  isSubject: (method: string) => boolean = (m) => !isBaselineMethod(m) && m !== "full",
): string {
  const mi = metricOption(imageMetric);
  const mf = metricOption(fidelityMetric);
  const ref = hImage.reference;
  if (!ref) return `${mi.label}: no baseline was swept at ${pct(hImage.referenceRatio)}.`;
  const counts = (h: PairedHeadline) => {
    const at = h.rows.filter((r) => r.atReference).map((r) => r.atReference!.verdict);
    const n = (v: Verdict) => at.filter((x) => x === v).length;
    return `${n("better")} better / ${n("equal")} equal / ${n("worse")} worse`;
  };
  const refF = hFidelity.reference;
  const head =
    refF && refF.label !== ref.label
      ? `At ${pct(hImage.referenceRatio)} the best baseline is ${ref.label} on ${mi.label} and ${refF.label} on ${mf.label}.`
      : `At ${pct(hImage.referenceRatio)} the best baseline is ${ref.label}.`;
  const hit = (h: PairedHeadline, label: string) => {
    const r = h.rows.find((x) => x.label === label);
    return r?.hit && h.reference ? `${pct(r.hit.ratio)} (${(r.hit.bytes / h.reference.bytes).toFixed(2)}× the memory)` : "not within the sweep";
  };
  const subjects = hImage.rows.filter((r) => isSubject(r.method)).map((r) => `${r.label} ${hit(hImage, r.label)} / ${hit(hFidelity, r.label)}`);
  return (
    `${head} Paired on the same images (paired t, 95 %), the other settings at that budget are ${mi.label}: ${counts(hImage)}; ${mf.label}: ${counts(hFidelity)}.` +
    (subjects.length ? ` Smallest budget not significantly worse than it (${mi.label} / ${mf.label}): ${subjects.join("; ")}.` : "")
  );
}

export function verdictSentence(image: readonly CellValues[], fidelity: readonly CellValues[], imageMetric: string, fidelityMetric: string): HTMLElement {
  const hi = pairedHeadline(image, { higherIsBetter: metricOption(imageMetric).higherIsBetter });
  const hf = pairedHeadline(fidelity, { higherIsBetter: metricOption(fidelityMetric).higherIsBetter });
  const p = document.createElement("p");
  p.dataset.testid = "verdict-sentence";
  p.textContent = verdictText(hi, hf, imageMetric, fidelityMetric);
  return p;
}
