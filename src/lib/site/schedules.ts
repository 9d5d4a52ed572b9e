// Schedule builder views: keep matrix, bytes per scale, JSON download. The schedule math itself is the
// browser-safe library in src/lib/schedules (the same code the CLI runs).
import * as Plot from "@observablehq/plot";
import { type HeadScaleStats, keptTokens, predictedBytes, type Schedule, stringifySchedule } from "../schedules/index.js";
import type { ModelConfig } from "../model/index.js";

/** head_stats.json (NaN serialised as null) → HeadScaleStats */
export function reviveStats(raw: { scas: (number | null)[]; mass: (number | null)[] } & Omit<HeadScaleStats, "scas" | "mass">): HeadScaleStats {
  const f = (a: (number | null)[]) => Float64Array.from(a, (v) => (v === null ? Number.NaN : v));
  return { ...raw, scas: f(raw.scas), mass: f(raw.mass) };
}

const label = (s: Schedule) => `${s.method} @ ${(100 * s.budget.ratio).toFixed(0)} %`;

/** Target scale × (layer·head) matrix, colour = kept tokens entering that target scale. */
export function keepMatrix(s: Schedule, cfg: ModelConfig, width = 900): HTMLElement {
  const kept = keptTokens(s);
  const H = cfg.numHeads;
  const rows: { t: number; lh: number; layer: number; head: number; kept: number; full: number }[] = [];
  for (let t = 1; t < kept.length; t++) {
    const full = cfg.patchNums.slice(0, t).reduce((a, p) => a + p * p, 0);
    kept[t].forEach((k, lh) => rows.push({ t, lh, layer: Math.floor(lh / H), head: lh % H, kept: k, full }));
  }
  const lr = s.lowRank;
  const plot = Plot.plot({
    width,
    height: 60 + 34 * (kept.length - 1),
    marginLeft: 70,
    marginTop: 40,
    title: `Keep matrix: ${label(s)}${lr ? ` — low rank (ReCalKV ${lr.variant}): key latent ${lr.keyWidth} per group of ${lr.groupSize} heads (full ${lr.groupSize * cfg.headDim}), value latent ${lr.valueWidth} per head (full ${cfg.headDim})` : ""}`,
    subtitle: `each column a (layer, head), grouped by layer; each row the cache entering a target scale; colour = tokens kept${lr ? "; the table below gives the bytes held (latents + index lists) per scale" : ""}`,
    x: {
      label: "layer·head →",
      axis: "top",
      tickFormat: (lh: number) => (lh % H === 0 ? `L${lh / H}` : ""),
      ticks: Array.from({ length: cfg.numLayers }, (_, l) => l * H),
    },
    y: { label: "target scale ↓", tickFormat: (t: number) => `${t} (${cfg.patchNums[t]}×${cfg.patchNums[t]})` },
    color: { scheme: "blues", legend: true, label: "kept tokens (of the cache entering the scale)", domain: [0, Math.max(...rows.map((r) => r.full))] },
    marks: [
      Plot.cell(rows, { x: "lh", y: "t", fill: "kept", inset: 0.3 }),
      Plot.tip(
        rows,
        Plot.pointer({
          x: "lh",
          y: "t",
          title: (r: (typeof rows)[number]) =>
            `layer ${r.layer}, head ${r.head}, target ${r.t}\nkeeps ${r.kept} of ${r.full} tokens${lr ? `\nas latents: key ${lr.keyWidth} (shared with group ${JSON.stringify(lr.groups[r.layer].find((g) => g.includes(r.head)))}), value ${lr.valueWidth}` : ""}`,
        }),
      ),
    ],
  }) as HTMLElement;
  plot.dataset.cells = String(rows.length);
  return plot;
}

/** The element type and rows the budget's bytes are counted in, e.g. "fp32, both CFG rows" or "fp16, 1 row". */
export function bytesUnit(b: { bytesPerElement: number; rows: number }): string {
  const type = b.bytesPerElement === 2 ? "fp16" : b.bytesPerElement === 4 ? "fp32" : `${b.bytesPerElement} B per element`;
  return `${type}, ${b.rows === 2 ? "both CFG rows" : `${b.rows} row${b.rows === 1 ? "" : "s"}`}`;
}

/** Per target scale: kept tokens, bytes held, the same tokens at full width, the full cache (low-rank view). */
export function bytesTable(s: Schedule, cfg: ModelConfig): HTMLTableElement {
  const kept = keptTokens(s);
  const { bytesPerElement: bpe, rows } = s.budget;
  const bytes = predictedBytes(s, rows, bpe).perScale;
  const perToken = 2 * cfg.headDim * bpe * rows;
  const N = cfg.numLayers * cfg.numHeads;
  const t = document.createElement("table");
  t.dataset.testid = "bytes-table";
  const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
  const head = [
    "target scale",
    "kept tokens (all heads)",
    s.lowRank ? `bytes held (ReCalKV ${s.lowRank.variant}: ${s.lowRank.sigma ? `scales < ${s.lowRank.sigma} exact, ` : ""}latents + indices)` : "bytes held",
    "same tokens at full width",
    "full cache",
  ];
  t.innerHTML = `<caption>${label(s)}: bytes per target scale (${bytesUnit(s.budget)})</caption><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead>`;
  const body = document.createElement("tbody");
  for (let x = 1; x < kept.length; x++) {
    const tok = kept[x].reduce((a, k) => a + k, 0);
    const full = N * cfg.patchNums.slice(0, x).reduce((a, p) => a + p * p, 0);
    const tr = document.createElement("tr");
    for (const c of [`${x} (${cfg.patchNums[x]}×${cfg.patchNums[x]})`, String(tok), kib(bytes[x]), kib(tok * perToken), kib(full * perToken)]) {
      const td = document.createElement("td");
      td.textContent = c;
      tr.append(td);
    }
    body.append(tr);
  }
  t.append(body);
  return t;
}

/** Predicted cache bytes fed to each scale for several schedules and the full cache. */
export function bytesChart(schedules: readonly Schedule[], cfg: ModelConfig, width = 640): HTMLElement {
  const rows = schedules.flatMap((s) =>
    predictedBytes(s, s.budget.rows, s.budget.bytesPerElement).perScale.map((b, t) => ({ t, kib: b / 1024, schedule: label(s) })),
  );
  const units = [...new Set(schedules.map((s) => bytesUnit(s.budget)))].join(" / ") || bytesUnit({ bytesPerElement: 4, rows: 2 });
  return Plot.plot({
    width,
    height: 300,
    marginLeft: 60,
    title: "KV cache fed to each scale",
    subtitle: `bytes of K and V kept when scale t is generated (${units}; low-rank methods: latents + index lists); the runtime measures the same`,
    x: { label: "target scale t →", tickFormat: (t: number) => `${t} (${cfg.patchNums[t]}×${cfg.patchNums[t]})`, ticks: cfg.patchNums.map((_, t) => t) },
    y: { label: "↑ KV bytes (KiB)", grid: true },
    color: { legend: true },
    marks: [Plot.line(rows, { x: "t", y: "kib", stroke: "schedule", marker: "dot", tip: true }), Plot.ruleY([0])],
  }) as HTMLElement;
}

/** An <a download> for the schedule JSON. */
export function downloadLink(s: Schedule): HTMLAnchorElement {
  const a = document.createElement("a");
  const text = stringifySchedule(s);
  a.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  a.download = `schedule-${s.method}-${(100 * s.budget.ratio).toFixed(0)}pct.json`;
  a.textContent = `Download ${a.download} (${(text.length / 1024).toFixed(1)} KiB)`;
  a.className = "heatkv-download";
  return a;
}
