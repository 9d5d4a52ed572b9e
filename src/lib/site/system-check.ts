// The system-check page's logic: SQL over the cache-shape Parquet in DuckDB-wasm, and the VQ decoder in
// onnxruntime-web. Each function returns data plus a DOM summary carrying data-* attributes for the e2e.
import type { ScaleBytesRow } from "./charts.js";
import type { Database, TableSource } from "./duckdb.js";
import { formatBytes, formatMs, formatNumber, renderTable } from "./format.js";
import { runModel, type ModelRun } from "./onnx.js";
import { imageCanvas, maxAbsDiff, tensorStats, type TensorStats } from "./tensor.js";
import type { DecodeFixture } from "../schema/decode-fixture.js";

export const PER_SCALE_SQL = `SELECT scale,
       ANY_VALUE(patch) AS patch,
       ANY_VALUE(tokens) AS tokens,
       BOOL_AND(cached) AS cached,
       COUNT(*) AS blocks,
       SUM(bytes) AS bytes
FROM cache_shape
GROUP BY scale
ORDER BY scale`;

export const TOTALS_SQL = `SELECT COUNT(*) AS row_count,
       SUM(bytes) FILTER (WHERE cached) AS full_cache_bytes,
       (SELECT SUM(tokens) FROM (SELECT DISTINCT scale, tokens FROM cache_shape WHERE cached)) AS c_max
FROM cache_shape`;

export interface SqlCheck {
  perScale: (ScaleBytesRow & { blocks: number })[];
  rowCount: number;
  fullCacheBytes: number;
  cMax: number;
  ms: number;
}

export async function sqlCheck(db: Database): Promise<SqlCheck> {
  const t = performance.now();
  const perScale = await db.query<ScaleBytesRow & { blocks: number }>(PER_SCALE_SQL);
  const [totals] = await db.query<{ row_count: number; full_cache_bytes: number; c_max: number }>(TOTALS_SQL);
  return { perScale, rowCount: totals.row_count, fullCacheBytes: totals.full_cache_bytes, cMax: totals.c_max, ms: performance.now() - t };
}

export function sqlTable(check: SqlCheck): HTMLTableElement {
  const table = renderTable(check.perScale, [
    { key: "scale", label: "scale" },
    { key: "patch", label: "h×w", format: (p) => `${p}×${p}` },
    { key: "tokens", label: "tokens n_s" },
    { key: "blocks", label: "(layer, head) blocks" },
    { key: "cached", label: "cached", format: (c) => (c ? "yes" : "no (last scale)") },
    { key: "bytes", label: "KV bytes", format: (b) => formatBytes(Number(b)), align: "right" },
  ]);
  table.dataset.testid = "sql-result";
  return table;
}

export function sqlSummary(db: Database, check: SqlCheck): HTMLElement {
  const p = document.createElement("p");
  p.dataset.testid = "sql-summary";
  p.dataset.rowCount = String(check.rowCount);
  p.dataset.fullCacheBytes = String(check.fullCacheBytes);
  p.innerHTML = `DuckDB-wasm <code>${db.version}</code> loaded <code>cache_shape</code> (<b>${formatNumber(check.rowCount)}</b> rows, one per scale × layer × head) from Parquet in ${formatMs(db.timings.cache_shape ?? NaN)} (engine start ${formatMs(db.timings.instantiate)}); the two queries took ${formatMs(check.ms)}. Full cache: <b>${formatBytes(check.fullCacheBytes)}</b> per image (C<sub>max</sub> = ${check.cMax} tokens per head).`;
  return p;
}

export type { DecodeFixture };

export interface DecodeCheck {
  run: ModelRun;
  dims: number[];
  stats: TensorStats;
  /** max |ORT-web − PyTorch| over the image. */
  maxAbsDiff: number;
  image: Float32Array;
}

/** Decode the fixture's f_hat with vq_decode.onnx ("f_hat" → "image") and compare with PyTorch's image. */
export async function decodeCheck(model: TableSource, fixture: DecodeFixture, options?: { preferWebGPU?: boolean }): Promise<DecodeCheck> {
  const bytes = new Uint8Array(await model.arrayBuffer());
  const run = await runModel(bytes, { f_hat: { data: Float32Array.from(fixture.f_hat), dims: fixture.f_hat_shape } }, options);
  const output = run.outputs.image ?? Object.values(run.outputs)[0];
  if (!output) throw new Error("the decoder produced no output");
  return { run, dims: output.dims, stats: tensorStats(output.data), maxAbsDiff: maxAbsDiff(output.data, fixture.image), image: output.data };
}

export function decodeReport(check: DecodeCheck): HTMLElement {
  const { run } = check;
  const div = document.createElement("div");
  div.className = "heatkv-decode";
  div.dataset.testid = "ort-result";
  div.dataset.backend = run.backend;
  div.dataset.dims = check.dims.join("x");
  div.dataset.runMs = run.runMs.toFixed(3);
  div.dataset.maxAbsDiff = String(check.maxAbsDiff);
  const figure = document.createElement("figure");
  figure.append(imageCanvas(check.image, check.dims, { scale: 4, label: "image decoded by onnxruntime-web" }));
  const caption = document.createElement("figcaption");
  caption.textContent = `vq_decode.onnx output, ${check.dims.join("×")}, shown 4× (pixelated).`;
  figure.append(caption);
  const s = check.stats;
  const facts: [string, string][] = [
    ["backend", run.backend === "webgpu" ? `WebGPU (${run.webgpu.adapter})` : `wasm, ${run.threads} thread${run.threads === 1 ? "" : "s"}`],
    [
      "WebGPU",
      run.webgpu.available
        ? `adapter: ${run.webgpu.adapter}${run.webgpu.software ? " (software adapter on the CPU: slower than wasm)" : ""}`
        : `not available — ${run.webgpu.reason}`,
    ],
    ["session create", formatMs(run.createMs)],
    ["first run", formatMs(run.firstRunMs)],
    [run.runs > 1 ? `warm run (median of ${run.runs})` : "warm run", formatMs(run.runMs)],
    ["output", `image float32 [${check.dims.join(", ")}]`],
    ["min / max", `${formatNumber(s.min)} / ${formatNumber(s.max)}`],
    ["mean ± std", `${formatNumber(s.mean)} ± ${formatNumber(s.std)}`],
    ["non-finite", String(s.nonFinite)],
    ["max |ORT-web − PyTorch|", formatNumber(check.maxAbsDiff)],
  ];
  if (run.fallback) facts.splice(1, 0, ["fallback", run.fallback]);
  const table = renderTable(
    facts.map(([k, v]) => ({ k, v })),
    [
      { key: "k", label: "decoder run" },
      { key: "v", label: "" },
    ],
  );
  div.append(figure, table);
  return div;
}
