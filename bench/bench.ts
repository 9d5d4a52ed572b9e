/**
 * npm run bench — one table of speed measurements (targets live here, not in unit tests).
 *   generation: full-cache latency per image in Node (onnxruntime-node) and headless chromium (wasm, webgpu
 *   if an adapter is found), ORT time vs JS overhead (goal: JS ≤ 20 % of ORT time).
 *   calibration: seconds per prompt per backend (node, chromium wasm, chromium webgpu).
 *   compressed generation: latency per image vs full at 5–50 % (goal ≤ full at ≤ 25 %), measured = predicted bytes.
 *   schedules: recompute time per method (demo and Infinity-2B shapes; goal < 50 ms).
 *   explorer queries on synthetic stats at VAR-d16 and Infinity-2B shape (DuckDB in Node).
 *   head explorer interactions in chromium (bench/bench-explorer.ts; alone: npm run bench:explorer).
 * Options: --images N (default 20), --skip-browser.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BrowserRuntime } from "../node/browser.js";
import { calibrate } from "../jobs/calibrate.js";
import { benchScheduleRecompute, buildSchedule, predictedBytes, RECOMPUTE_TARGET_MS } from "../src/lib/schedules/index.js";
import { scheduleToPolicy } from "../src/lib/enforce/index.js";
import { DEFAULT_STATS_PATH } from "../jobs/calibrate.js";
import { loadHeadScaleStats } from "../node/stats-store.js";
import { INFINITY_2B_SHAPE, timeExplorerQueries, VAR_D16_SHAPE, writeSyntheticStats } from "../jobs/synthetic-stats.js";
import { loadNodeModel } from "../node/node-backend.js";
import { timeGenerations } from "../src/lib/var/runtime.js";
import { benchExplorer } from "./bench-explorer.js";
import { printTable, type Row } from "./bench-table.js";

const args = process.argv.slice(2);
const images = Number(args[args.indexOf("--images") + 1]) || 20;
const skipBrowser = args.includes("--skip-browser");

const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

function genRow(backend: string, total: number[], ortMs: number[], peak: number): Row {
  const js = total.map((t, i) => t - ortMs[i]);
  const ratio = mean(js) / mean(ortMs);
  return {
    bench: "generate 1 image (full cache, CFG)",
    backend,
    value: `${median(total).toFixed(1)} ms median`,
    detail: `mean ${mean(total).toFixed(1)} ms = ORT ${mean(ortMs).toFixed(1)} + JS ${mean(js).toFixed(1)} ms; KV peak ${(peak / 1024).toFixed(0)} KiB; n=${total.length}`,
    goal: "JS ≤ 20 % of ORT",
    ok: `${(100 * ratio).toFixed(0)} % ${ratio <= 0.2 ? "✓" : "✗"}`,
  };
}

async function main() {
  const rows: Row[] = [];
  const model = await loadNodeModel();
  for (let i = 0; i < 2; i++) await model.generate({ classIndex: i, seed: i });
  const { total, ortMs, peak } = await timeGenerations(model, images);
  rows.push(genRow(model.backend.name, total, ortMs, peak));
  // compressed vs full latency (Node), heatkv σ=1 (feasible down to 1.1 %) and h2o (dynamic)
  await calibrate({ out: DEFAULT_STATS_PATH, progress: false, log: () => {} });
  const stats = await loadHeadScaleStats(DEFAULT_STATS_PATH, model.config);
  for (const [method, params] of [
    ["heatkv", { sigma: 1 }],
    ["h2o", {}],
  ] as const) {
    for (const ratio of [0.05, 0.1, 0.2, 0.3, 0.5]) {
      const sched = buildSchedule(method, model.config, ratio, { stats, params });
      // interleaved with full-cache runs of the same images, so both see the same machine state
      const ms: number[] = [];
      const fullMs: number[] = [];
      let match = true;
      for (let i = 0; i < images; i++) {
        const prompt = { classIndex: i % model.config.numClasses, seed: 100 + i };
        fullMs.push((await model.generate(prompt)).totalMs);
        const r = await model.generate({ ...prompt, policy: scheduleToPolicy(sched, model.config) });
        ms.push(r.totalMs);
        match &&= r.peakCacheBytes === predictedBytes(sched).peak;
      }
      const m = median(ms);
      const f = median(fullMs);
      rows.push({
        bench: `generate compressed: ${method}${method === "heatkv" ? " σ=1" : ""} @ ${100 * ratio} %`,
        backend: model.backend.name,
        value: `${m.toFixed(1)} ms median`,
        detail: `full (interleaved) ${f.toFixed(1)} ms; peak KV ${(predictedBytes(sched).peak / 1024).toFixed(0)} KiB, measured = predicted: ${match}`,
        goal: ratio <= 0.25 ? "≤ full" : "",
        ok: ratio <= 0.25 ? (m <= f ? "✓" : "✗") : "",
      });
    }
  }
  if (!skipBrowser) {
    for (const prefer of ["wasm", "webgpu"] as const) {
      try {
        const br = await BrowserRuntime.start(prefer === "webgpu");
        try {
          const { backend, note } = await br.load(prefer);
          if (note) throw new Error(note);
          // WebGPU here is SwiftShader (a CPU emulation, labelled so) unless the machine has a GPU: few images
          const b = await br.bench(prefer === "webgpu" ? Math.min(images, 2) : images);
          rows.push(genRow(`chromium ${backend}${await br.adapterLabel(backend)}`, b.total, b.ortMs, b.peak));
        } finally {
          await br.close();
        }
      } catch (e) {
        rows.push({
          bench: "generate 1 image (full cache, CFG)",
          backend: `chromium ${prefer}`,
          value: "n/a",
          detail: (e as Error).message.split("\n")[0].slice(0, 120),
          goal: "",
          ok: "",
        });
      }
    }
  }
  for (const backend of skipBrowser ? (["node"] as const) : (["node", "wasm", "webgpu"] as const)) {
    const dir = mkdtempSync(join(tmpdir(), "heatkv-bench-cal-"));
    try {
      // SwiftShader WebGPU is a CPU emulation here: one prompt
      const seeds = backend === "webgpu" ? [1] : [1, 2];
      const r = await calibrate({ out: join(dir, "a.parquet"), classes: [0, 1], seeds, backend, progress: false, log: () => {} });
      rows.push({
        bench: "calibrate 1 prompt (stats + shard write)",
        backend: r.backend,
        value: `${(r.msPerPrompt / 1000).toFixed(2)} s/prompt`,
        detail: `${r.prompts} prompts`,
        goal: "",
        ok: "",
      });
    } catch (e) {
      rows.push({
        bench: "calibrate 1 prompt (stats + shard write)",
        backend,
        value: "n/a",
        detail: (e as Error).message.split("\n")[0].slice(0, 120),
        goal: "",
        ok: "",
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  for (const t of benchScheduleRecompute(model.config)) {
    rows.push({
      bench: `schedule recompute: ${t.method} @ ${t.budget}`,
      backend: t.config,
      value: `${t.ms.toFixed(2)} ms median`,
      detail: `cold ${t.coldMs.toFixed(1)} ms, max ${t.maxMs.toFixed(1)} ms`,
      goal: `< ${RECOMPUTE_TARGET_MS} ms`,
      ok: t.maxMs < RECOMPUTE_TARGET_MS ? "✓" : "✗",
    });
  }
  for (const shape of [VAR_D16_SHAPE, INFINITY_2B_SHAPE]) {
    const dir = mkdtempSync(join(tmpdir(), "heatkv-bench-syn-"));
    try {
      const w = await writeSyntheticStats(join(dir, "s.parquet"), shape);
      const q = await timeExplorerQueries(w.out);
      const detail = Object.entries(q.queries)
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join("; ");
      rows.push({
        bench: `explorer queries (DuckDB node), ${shape.modelId}`,
        backend: `${w.rows} rows, ${(w.bytes / 2 ** 20).toFixed(1)} MiB`,
        value: `max ${Math.max(...Object.values(q.queries)).toFixed(1)} ms`,
        detail: `load ${q.loadMs.toFixed(0)} ms; ${detail}`,
        goal: "< 100 ms",
        ok: Math.max(...Object.values(q.queries)) < 100 ? "✓" : "✗",
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  // the head explorer in headless chromium: demo page + synthetic VAR-d16 / Infinity-2B sets (needs the built site)
  if (!skipBrowser) {
    try {
      rows.push(...(await benchExplorer({ log: () => {} })));
    } catch (e) {
      rows.push({
        bench: "explorer interactions (chromium)",
        backend: "chromium",
        value: "n/a",
        detail: (e as Error).message.split("\n")[0].slice(0, 160),
        goal: "< 100 ms",
        ok: "",
      });
    }
  }
  printTable(rows);
}

await main();
