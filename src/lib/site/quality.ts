// Quality-vs-memory pages (quality.md: the sweep via DuckDB-wasm; compare.md: full vs compressed generation
// in the browser). The aggregation math (t-intervals, the headline rule) is src/lib/metrics/sweep.ts, the
// schedules are src/lib/schedules (the same code the CLI and the sweep run).
import * as Plot from "@observablehq/plot";
import {psnr, ssim, tokenAgreement} from "../metrics/image.js";
import {ciFromMoments, type CellStat, headline, type Headline} from "../metrics/sweep.js";
import { buildSchedule, type HeadScaleStats, predictedBytes, type Schedule } from "../schedules/index.js";
import { scheduleToPolicy } from "../enforce/index.js";
import type {ModelConfig} from "../model/index.js";
import type {LowRankManifest} from "../model/index.js";
import {type GenerateResult, VarModel} from "../var/runtime.js";
import {type OrtWebModule, webBackend, type WebPreference} from "../var/web.js";
import type {Database} from "./duckdb.js";
import {formatBytes, formatMs, formatNumber, renderTable} from "./format.js";
import {imageCanvas} from "./tensor.js";

// ---------------------------------------------------------------------------------------------------------
// quality.md

export interface MetricOption {
  key: string;
  label: string;
  /** axis label with unit */
  axis: string;
  higherIsBetter: boolean;
  /** set-level (one value per cell, no per-image interval) */
  setLevel?: boolean;
}

export const METRIC_OPTIONS: MetricOption[] = [
  {key: "psnr_db", label: "PSNR", axis: "PSNR vs full-cache image (dB)", higherIsBetter: true},
  {key: "ssim", label: "SSIM", axis: "SSIM vs full-cache image (0–1)", higherIsBetter: true},
  {key: "feature_distance", label: "feature distance (LPIPS-like proxy)", axis: "feature distance (emoji-classifier features, lower is better)", higherIsBetter: false},
  {key: "token_agreement_last", label: "token agreement, last scale", axis: "token agreement at the last scale (fraction)", higherIsBetter: true},
  {key: "fd_emoji", label: "FD-emoji (FID-like proxy, set-level)", axis: "FD-emoji vs the full-cache set (lower is better)", higherIsBetter: false, setLevel: true},
  {key: "class_accuracy", label: "class accuracy (prompt-alignment proxy, set-level)", axis: "emoji-classifier accuracy on the prompted class (fraction)", higherIsBetter: true, setLevel: true}
];

export interface Cell extends CellStat {
  sd: number;
  lo: number;
  hi: number;
  predicted: number;
  bytesMatch: boolean;
  identical: number;
  fdEmoji: number | null;
  accuracy: number | null;
  ms: number;
  message: string | null;
}

export function metricOption(key: string): MetricOption {
  const m = METRIC_OPTIONS.find((o) => o.key === key);
  if (!m) throw new Error(`unknown metric ${key}`);
  return m;
}

/** SQL: one row per (method label, budget) with the metric's mean, sd and n and the cell facts. */
export function cellsSql(metric: string): string {
  const m = metricOption(metric);
  const value = m.setLevel ? `any_value(${m.key})` : `avg(${m.key})`;
  const sd = m.setLevel ? "NULL::DOUBLE" : `stddev_samp(${m.key})`;
  return `SELECT label, any_value(method) AS method, budget_ratio,
  count(*) FILTER (WHERE NOT infeasible) AS n,
  ${value} AS mean, ${sd} AS sd,
  avg(measured_peak_bytes) AS bytes, avg(predicted_peak_bytes) AS predicted,
  coalesce(bool_and(bytes_match), false) AS bytes_match,
  avg(CASE WHEN identical THEN 1 ELSE 0 END) AS identical,
  any_value(fd_emoji) AS fd_emoji, any_value(class_accuracy) AS accuracy,
  avg(ms) AS ms, bool_or(infeasible) AS infeasible, any_value(message) AS message
FROM sweep
GROUP BY label, budget_ratio
ORDER BY label, budget_ratio`;
}

interface CellRow {
  label: string;
  method: string;
  budget_ratio: number;
  n: number;
  mean: number | null;
  sd: number | null;
  bytes: number | null;
  predicted: number | null;
  bytes_match: boolean;
  identical: number | null;
  fd_emoji: number | null;
  accuracy: number | null;
  ms: number | null;
  infeasible: boolean;
  message: string | null;
}

/** Query the cells and attach 95 % t-intervals (per-image metrics only). */
export async function queryCells(db: Database, metric: string): Promise<Cell[]> {
  const rows = await db.query<CellRow>(cellsSql(metric));
  const setLevel = metricOption(metric).setLevel;
  return rows.map((r) => {
    const n = Number(r.n);
    const mean = r.mean === null ? Number.NaN : Number(r.mean);
    const ci = setLevel ? {lo: Number.NaN, hi: Number.NaN} : ciFromMoments(n, mean, r.sd === null ? Number.NaN : Number(r.sd));
    return {
      label: r.label, method: r.method, ratio: Number(r.budget_ratio), n, mean, bytes: Number(r.bytes ?? Number.NaN),
      infeasible: Boolean(r.infeasible), sd: Number(r.sd ?? Number.NaN), lo: ci.lo, hi: ci.hi, predicted: Number(r.predicted ?? Number.NaN),
      bytesMatch: Boolean(r.bytes_match), identical: Number(r.identical ?? 0), fdEmoji: r.fd_emoji, accuracy: r.accuracy, ms: Number(r.ms ?? Number.NaN), message: r.message
    };
  });
}

const pct = (r: number) => `${+(100 * r).toFixed(2)} %`;

/** Mean metric vs measured peak KV bytes (log x), one line + 95 % band per method; the full cache as a rule. */
export function qualityChart(cells: readonly Cell[], metric: string, opts: {labels: string[]; width?: number}): HTMLElement {
  const m = metricOption(metric);
  const data = cells.filter((c) => c.method !== "full" && !c.infeasible && Number.isFinite(c.mean)).map((c) => ({...c, kib: c.bytes / 1024})).sort((a, b) => byCodePoint(a.label, b.label) || a.kib - b.kib);
  const full = cells.find((c) => c.method === "full");
  const shown = [...new Set(data.map((d) => d.label))];
  // one label per swept budget, at the mean measured bytes of that budget over the methods shown
  const budgetMarks = [...new Set(data.map((d) => d.ratio))].map((ratio) => {
    const at = data.filter((d) => d.ratio === ratio);
    return {kib: at.reduce((a, d) => a + d.kib, 0) / at.length, text: pct(ratio)};
  });
  const plot = Plot.plot({
    width: opts.width ?? 760,
    height: 440,
    marginLeft: 60,
    marginRight: 20,
    title: `${m.label} vs KV-cache memory`,
    subtitle: `mean over the evaluation images per (method, budget)${m.setLevel ? "" : ", band = 95 % t-interval"}; x = measured peak KV cache per image (both CFG rows, fp32)${full ? `; grey rule = full cache (${formatBytes(full.bytes)})` : ""}`,
    x: {type: "log", label: "measured peak KV cache per image (KiB, log scale) →", grid: true},
    y: {label: `↑ ${m.axis}`, grid: true},
    color: {legend: true, domain: opts.labels},
    marks: [
      m.setLevel ? null : Plot.areaY(data, {x: "kib", y1: "lo", y2: "hi", fill: "label", fillOpacity: 0.14, z: "label"}),
      Plot.line(data, {x: "kib", y: "mean", stroke: "label", z: "label", strokeWidth: 1.8}),
      Plot.dot(data, {x: "kib", y: "mean", fill: "label", r: 3.5}),
      Plot.text(budgetMarks, {x: "kib", text: "text", frameAnchor: "top", dy: 6, fontSize: 10, fill: "#666"}),
      Plot.tickX(budgetMarks, {x: "kib", stroke: "#bbb", strokeDasharray: "2,3"}),
      full ? Plot.ruleX([full.bytes / 1024], {stroke: "#888", strokeDasharray: "4,3"}) : null,
      Plot.tip(data, Plot.pointer({x: "kib", y: "mean", title: (d: Cell) => `${d.label} @ ${pct(d.ratio)}\n${formatBytes(d.bytes)} peak (measured)\n${m.label}: ${d.mean.toFixed(4)}${Number.isFinite(d.lo) ? ` [${d.lo.toFixed(4)}, ${d.hi.toFixed(4)}]` : ""}\nn = ${d.n}`}))
    ]
  }) as HTMLElement;
  const wrapper = document.createElement("div");
  wrapper.className = "heatkv-quality";
  wrapper.dataset.testid = "quality-chart";
  wrapper.dataset.methods = JSON.stringify(shown);
  wrapper.append(plot);
  return wrapper;
}

/** The cells as a table (infeasible cells with their message). */
export function cellsTable(cells: readonly Cell[], metric: string): HTMLElement {
  const m = metricOption(metric);
  const f = (v: number) => (Number.isFinite(v) ? formatNumber(v, 4) : "—");
  const rows = [...cells].sort((a, b) => byCodePoint(a.label, b.label) || a.ratio - b.ratio).map((c) => ({
    method: c.label,
    budget: pct(c.ratio),
    bytes: c.infeasible ? "—" : `${formatBytes(c.bytes)}${c.bytesMatch ? " ✓" : " ≠ predicted"}`,
    n: c.n,
    value: c.infeasible ? "infeasible (below)" : `${f(c.mean)}${Number.isFinite(c.lo) ? ` ± ${f((c.hi - c.lo) / 2)}` : ""}`,
    identical: c.infeasible ? "—" : `${(100 * c.identical).toFixed(0)} %`,
    fd: c.fdEmoji === null ? "—" : f(Number(c.fdEmoji)),
    acc: c.accuracy === null ? "—" : `${(100 * Number(c.accuracy)).toFixed(1)} %`,
    ms: c.infeasible ? "—" : formatMs(c.ms)
  }));
  const t = renderTable(rows, [
    {key: "method"},
    {key: "budget", label: "budget", align: "right"},
    {key: "bytes", label: "peak KV (measured; ✓ = predicted)", align: "right"},
    {key: "n", label: "images", align: "right"},
    {key: "value", label: `${m.label}: mean${m.setLevel ? "" : " ± 95 % CI"}`},
    {key: "identical", label: "identical to full", align: "right"},
    {key: "fd", label: "FD-emoji", align: "right"},
    {key: "acc", label: "class acc.", align: "right"},
    {key: "ms", label: "ms / image", align: "right"}
  ], {caption: "Every (method, budget) cell of the sweep (Node, onnxruntime-node); FD-emoji and class accuracy are per cell (set-level)"});
  t.dataset.testid = "quality-table";
  t.style.maxWidth = "100%";
  for (const td of t.querySelectorAll("td")) td.style.whiteSpace = "nowrap";
  const div = document.createElement("div");
  div.append(t);
  const infeasible = cells.filter((c) => c.infeasible);
  if (infeasible.length) {
    const ul = document.createElement("ul");
    ul.dataset.testid = "quality-infeasible";
    for (const c of infeasible) {
      const li = document.createElement("li");
      li.textContent = `${c.label} @ ${pct(c.ratio)}: ${c.message ?? "infeasible"}`;
      ul.append(li);
    }
    const p = document.createElement("p");
    p.textContent = `Infeasible cells (no schedule exists at that budget; recorded, not run):`;
    div.append(p, ul);
  }
  return div;
}

/** The headline for one metric over all cells (every budget, not the filtered view). */
export async function queryHeadline(db: Database, metric: string, referenceRatio = 0.2): Promise<Headline> {
  const cells = await queryCells(db, metric);
  return headline(cells, {higherIsBetter: metricOption(metric).higherIsBetter, referenceRatio});
}

export function headlineTable(h: Headline, metric: string): HTMLElement {
  const m = metricOption(metric);
  const div = document.createElement("div");
  div.dataset.testid = `headline-${metric}`;
  const p = document.createElement("p");
  p.textContent = h.reference
    ? `${m.label}: the best baseline at ${pct(h.referenceRatio)} is ${h.reference.label} with mean ${formatNumber(h.target!, 4)} (${formatBytes(h.reference.bytes)} peak). Smallest swept budget per method whose mean ${m.higherIsBetter ? "≥" : "≤"} that:`
    : `${m.label}: no baseline was swept at ${pct(h.referenceRatio)}.`;
  div.append(p);
  const rows = h.rows.map((r) => ({
    method: r.label,
    budget: r.ratio === null ? "not reached in the sweep" : pct(r.ratio),
    bytes: r.bytes === null ? "—" : formatBytes(r.bytes),
    mean: r.mean === null ? "—" : formatNumber(r.mean, 4),
    saving: r.memorySaving === null ? "—" : `${r.memorySaving.toFixed(2)}×`
  }));
  div.append(renderTable(rows, [
    {key: "method"},
    {key: "budget", label: "smallest matching budget", align: "right"},
    {key: "bytes", label: "peak KV (measured)", align: "right"},
    {key: "mean", label: `mean ${m.label}`, align: "right"},
    {key: "saving", label: "memory vs best baseline @ reference", align: "right"}
  ]));
  return div;
}

/** Table of the quality page's tune-to-target control. */
export function tuneTable(found: readonly {label: string; cell: CellStat | null}[], metric: string, target: number): HTMLElement {
  const m = metricOption(metric);
  const rows = found.map(({label, cell}) => ({
    method: label,
    budget: cell ? pct(cell.ratio) : "not reached in the sweep",
    bytes: cell ? formatBytes(cell.bytes) : "—",
    mean: cell ? formatNumber(cell.mean, 4) : "—"
  }));
  const t = renderTable(rows, [
    {key: "method"},
    {key: "budget", label: "smallest swept budget", align: "right"},
    {key: "bytes", label: "peak KV (measured)", align: "right"},
    {key: "mean", label: `mean ${m.label}`, align: "right"}
  ], {caption: `Smallest budget with mean ${m.label} ${m.higherIsBetter ? "≥" : "≤"} ${target}`});
  t.dataset.testid = "tune-table";
  return t;
}

// ---------------------------------------------------------------------------------------------------------
// compare.md

/** The sampler of the calibration job and the sweep (loaders/calibrate.ts DEFAULT_SETTINGS). */
export const SWEEP_SAMPLER = {cfg: 3, topK: 0, topP: 0.95, temperature: 1};

export interface WebModel {
  model: VarModel;
  backend: string;
  /** the first (untimed) generation */
  warmupMs: number;
  note: string | null;
}

/**
 * Load the VAR in onnxruntime-web: WebGPU when an adapter exists ("auto"), else wasm. A WebGPU backend must
 * pass the step graph's self-check against the PyTorch fixture (`fixture.json` in `files`; see
 * src/lib/var/selfcheck.ts), else the model is reloaded on wasm and `note` says why.
 */
export async function loadWebModel(ort: OrtWebModule, files: Record<string, {arrayBuffer(): Promise<ArrayBuffer>}>, prefer: WebPreference): Promise<WebModel> {
  const read = async (name: string) => {
    const f = files[name];
    if (!f) throw new Error(`${name}: not published by the site`);
    return new Uint8Array(await f.arrayBuffer());
  };
  let backend;
  let note: string | null = null;
  try {
    backend = await webBackend(ort, undefined, prefer);
  } catch (e) {
    if (prefer !== "auto") throw e;
    note = `WebGPU failed (${(e as Error).message}); running wasm`;
    backend = await webBackend(ort, undefined, "wasm");
  }
  let model = await VarModel.load(backend, read);
  if (backend.name.includes("webgpu") && files["fixture.json"]) {
    const check = await model.selfCheck(JSON.parse(new TextDecoder().decode(await read("fixture.json"))));
    if (!check.ok) {
      note = `WebGPU failed the step graph's self-check against the PyTorch fixture (max |Δ logits| ${check.maxAbsLogits.toPrecision(2)}, |Δ attention| ${check.maxAbsAttn.toPrecision(2)}): fell back to wasm`;
      backend = await webBackend(ort, undefined, "wasm");
      model = await VarModel.load(backend, read);
    }
  }
  // one warm-up generation, so that the timed runs do not include session start-up (shader compilation on WebGPU)
  const t = performance.now();
  await model.generate({classIndex: 0, seed: 0, ...SWEEP_SAMPLER});
  return {model, backend: backend.name, warmupMs: performance.now() - t, note};
}

export interface Comparison {
  full: GenerateResult;
  compressed: GenerateResult;
  schedule: Schedule;
  predictedPeak: number;
  psnr: number;
  ssim: number;
  agreement: number[];
}

/** Code-point order (as DuckDB's ORDER BY), not the locale's: "heatkv+recalkv" < "heatkv:sigma=1". */
export const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Build the schedule in the page; throws the ScheduleError message for infeasible budgets. */
export function pageSchedule(config: ModelConfig, stats: HeadScaleStats, method: string, budgetPct: number, sigma: number, lowRank?: LowRankManifest): Schedule {
  const params = method === "heatkv" || method === "heatkv+recalkv" ? {sigma} : {};
  return buildSchedule(method, config, `${budgetPct}%`, {stats, params, lowRank});
}

/** The full-cache run of one class and seed (the page keeps it while only the schedule changes). */
export function generateFull(model: VarModel, classIndex: number, seed: number): Promise<GenerateResult> {
  return model.generate({classIndex, seed, ...SWEEP_SAMPLER});
}

const checkedVariants = new WeakSet<VarModel>();
let lowRankFixtureBytes: (() => Promise<Uint8Array>) | null = null;
const lowRankFixture = () => {
  if (!lowRankFixtureBytes) throw new Error("recalkv/fixture.json: not published by the site (needed to self-check a low-rank variant on WebGPU)");
  return lowRankFixtureBytes();
};
/** Where compare() finds recalkv/fixture.json (the page passes its FileAttachment). */
export function setLowRankFixture(file: {arrayBuffer(): Promise<ArrayBuffer>}): void {
  lowRankFixtureBytes = async () => new Uint8Array(await file.arrayBuffer());
}

/** The compressed run of the same class and seed as `full`, and its metrics against it. */
export async function compare(model: VarModel, schedule: Schedule, full: GenerateResult): Promise<Comparison> {
  const cfg = model.config;
  // a low-rank (ReCalKV) schedule runs its own step-graph variant on a latent cache (loaded once per variant)
  const m = schedule.lowRank ? await model.lowRank(schedule.lowRank.variant) : model;
  if (m.variant && model.backend.name.includes("webgpu") && !checkedVariants.has(m)) {
    // the page self-checks the base graph before trusting WebGPU; a variant is checked on first use
    const fx = JSON.parse(new TextDecoder().decode(await lowRankFixture()));
    const check = await m.lowRankSelfCheck(fx);
    if (!check.ok) throw new Error(`WebGPU computes the ReCalKV step graph ${m.variant.id} wrongly (max |Δ logits| ${check.maxAbsLogits.toPrecision(2)} vs the PyTorch fixture): pick the wasm backend for low-rank schedules`);
    checkedVariants.add(m);
  }
  const compressed = await m.generate({classIndex: full.classIndex, seed: full.seed, ...SWEEP_SAMPLER, policy: scheduleToPolicy(schedule, cfg)});
  return {
    full, compressed, schedule,
    predictedPeak: predictedBytes(schedule, SWEEP_SAMPLER.cfg > 0 ? 2 : 1, 4).peak,
    psnr: psnr(compressed.image, full.image),
    ssim: ssim(compressed.image, full.image, cfg.imageSize),
    agreement: tokenAgreement(compressed.tokens, full.tokens)
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
  const canvas = imageCanvas(r.image, [1, 3, size, size], {scale: 4, label: title});
  canvas.style.border = "1px solid var(--theme-foreground-faintest)";
  const cap = document.createElement("figcaption");
  cap.innerHTML = lines.map((l) => `<div>${l}</div>`).join("");
  fig.append(h, canvas, cap);
  return fig;
}

/** The two images side by side (4× upscaled, pixelated) with bytes and time. */
export function comparisonView(c: Comparison, backend: string): HTMLElement {
  const size = c.full.imageSize;
  const div = document.createElement("div");
  div.dataset.testid = "compare-images";
  div.dataset.backend = backend;
  div.style.display = "flex";
  div.style.flexWrap = "wrap";
  div.style.gap = "2rem";
  const s = c.schedule;
  div.append(
    figure(c.full, size, "full cache", [`peak KV ${formatBytes(c.full.peakCacheBytes)} (${c.full.peakCacheBytes.toLocaleString("en-US")} B)`, `${formatMs(c.full.totalMs)} (ORT ${formatMs(c.full.ortMs)})`], "compare-full"),
    figure(c.compressed, size, `${s.method} @ ${pct(s.budget.ratio)}`, [
      `peak KV ${formatBytes(c.compressed.peakCacheBytes)} (${c.compressed.peakCacheBytes.toLocaleString("en-US")} B; schedule predicts ${c.predictedPeak.toLocaleString("en-US")} B ${c.predictedPeak === c.compressed.peakCacheBytes ? "✓" : "✗"})`,
      `${(100 * c.compressed.peakCacheBytes / c.full.peakCacheBytes).toFixed(1)} % of the full cache`,
      `${formatMs(c.compressed.totalMs)} (ORT ${formatMs(c.compressed.ortMs)})`
    ], "compare-compressed")
  );
  const facts = document.createElement("div");
  facts.innerHTML = `<div><b>vs full</b></div><div>PSNR ${Number.isFinite(c.psnr) ? `${c.psnr.toFixed(2)} dB` : "∞ (identical)"}</div><div>SSIM ${c.ssim.toFixed(4)}</div>
<div>tokens equal: ${(100 * c.agreement.reduce((a, x, i) => a + x * c.full.tokens[i].length, 0) / c.full.tokens.reduce((a, t) => a + t.length, 0)).toFixed(1)} % of all</div><div>ran on ${backend}</div>`;
  div.append(facts);
  return div;
}

/** Per-scale token agreement of the compressed run with the full-cache run. */
export function agreementChart(c: Comparison, patchNums: number[], width = 640): HTMLElement {
  const data = c.agreement.map((a, t) => ({scale: `${t} (${patchNums[t]}×${patchNums[t]})`, a}));
  return Plot.plot({
    width, height: 260, marginLeft: 60,
    title: "Token agreement per scale",
    subtitle: "fraction of the scale's sampled token ids equal to the full-cache run (same class, seed and sampler)",
    x: {label: "scale (token map h×w) →", domain: data.map((d) => d.scale)},
    y: {label: "↑ equal tokens (fraction)", domain: [0, 1], grid: true},
    marks: [Plot.barY(data, {x: "scale", y: "a", fill: "#4269d0", tip: true}), Plot.ruleY([0])]
  }) as HTMLElement;
}

/** The sweep label the page's settings correspond to (heatkv's default σ is 3; other methods at defaults). */
export function sweepLabel(method: string, sigma: number): string {
  return (method === "heatkv" || method === "heatkv+recalkv") && sigma !== 3 ? `${method}:sigma=${sigma}` : method;
}

/** The Node sweep's row for the same class, seed, method and budget, when the sweep ran that cell. */
export async function sweepRow(db: Database, label: string, ratio: number, classIndex: number, seed: number): Promise<{psnr_db: number; ssim: number; measured_peak_bytes: number; token_agreement_last: number} | null> {
  const q = (v: string) => `'${v.replaceAll("'", "''")}'`;
  const rows = await db.query<{psnr_db: number; ssim: number; measured_peak_bytes: number; token_agreement_last: number}>(
    `SELECT psnr_db, ssim, measured_peak_bytes, token_agreement_last FROM sweep WHERE label = ${q(label)} AND abs(budget_ratio - ${Number(ratio)}) < 1e-9 AND class_index = ${Math.trunc(classIndex)} AND seed = ${Math.trunc(seed)} AND NOT infeasible`
  );
  return rows[0] ?? null;
}

/** One line comparing the browser run with the Node sweep's numbers for the same cell. */
export function nodeCheck(row: Awaited<ReturnType<typeof sweepRow>>, c: Comparison): HTMLElement {
  const p = document.createElement("p");
  p.dataset.testid = "compare-node-check";
  if (!row) {
    p.textContent = "The Node sweep did not run this class / seed / method / budget (it covers every class × seeds 101–108 at 5, 10, 20, 30, 50 %).";
    return p;
  }
  const last = c.agreement[c.agreement.length - 1];
  const dPsnr = Math.min(c.psnr, 100) - row.psnr_db;
  // float32 kernels differ slightly between backends: the same tokens give PSNRs equal to ~1e-4 dB
  const same = Math.abs(dPsnr) < 0.01 && Math.abs(last - row.token_agreement_last) < 1e-9 && Number(row.measured_peak_bytes) === c.compressed.peakCacheBytes;
  p.dataset.match = String(same);
  p.textContent =
    `Node sweep, same cell (onnxruntime-node): PSNR ${row.psnr_db.toFixed(2)} dB, SSIM ${row.ssim.toFixed(4)}, last-scale token agreement ${row.token_agreement_last.toFixed(3)}, peak ${Number(row.measured_peak_bytes).toLocaleString("en-US")} B — ` +
    (same
      ? `the browser run reproduces it (same bytes and token agreement, ΔPSNR ${dPsnr.toExponential(1)} dB).`
      : `the browser run differs (ΔPSNR ${dPsnr.toFixed(3)} dB): a different backend can round differently and sample another token.`);
  return p;
}

