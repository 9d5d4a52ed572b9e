/**
 * Calibration job (`heatkv calibrate`, src/data/attention.parquet.ts): full-cache generation over classes ×
 * seeds, attention statistics per prompt × branch × layer × head × target × source scale into the Parquet
 * store. Resumable: one shard pair per prompt under <out>.shards/<settings-hash>/, merged at the end into
 * one unit (both files + a manifest written last); an interrupted run redoes only unfinished prompts. The
 * output is checked before any work (not an input or model file, writable) and locked while it is written.
 */
import { join } from "node:path";
import { type CalibrationSettings, calibratePrompt, type Prompt, type PromptStats } from "../src/lib/metrics/calibration.js";
import type { ModelConfig } from "../src/lib/model/index.js";
import { BrowserRuntime } from "../node/browser.js";
import { loadNodeModel, MODEL_DIR } from "../node/node-backend.js";
import { Progress } from "../node/progress.js";
import { finishedPrompts, mergeShards, promptId, settingsHash, tokensPath, validateStats, writePromptShards } from "../node/stats-store.js";
import { requireOutputPath } from "../node/files.js";
import type { NamedPath } from "../node/paths-guard.js";
import { runWithOutputLock } from "../node/lock.js";
import { manifestPathFor } from "../node/store-unit.js";

export type CalibrationBackend = "node" | "wasm" | "webgpu" | "auto";

export const DEFAULT_CALIBRATION_SEEDS = [1, 2];
/** The CLI's default store (git-ignored workspace); the site's loader uses the same file. */
export const DEFAULT_STATS_PATH = join(import.meta.dirname, "..", ".heatkv", "stats", "attention.parquet");
export const DEFAULT_SETTINGS: CalibrationSettings = { cfg: 3, topK: 0, topP: 0.95, temperature: 1 };

export interface CalibrateOptions {
  /** class indices; default every class */
  classes?: number[];
  seeds?: number[];
  settings?: Partial<CalibrationSettings>;
  backend?: CalibrationBackend;
  out: string;
  modelDir?: string;
  threads?: number;
  /** stop after this many new prompts (tests of resumption) */
  limit?: number;
  log?: (s: string) => void;
  progress?: boolean;
}

export interface CalibrateResult {
  out: string;
  backend: string;
  backendReason: string;
  prompts: number;
  computed: number;
  reused: number;
  /** wall time per computed prompt: generation, statistics and shard write */
  msPerPrompt: number;
  scaleRows: number;
  tokenRows: number;
  complete: boolean;
}

interface Runner {
  name: string;
  config: ModelConfig;
  run(p: Prompt, s: CalibrationSettings): Promise<PromptStats>;
  close(): Promise<void>;
}

async function nodeRunner(modelDir: string, threads: number): Promise<Runner> {
  const model = await loadNodeModel(modelDir, threads);
  return { name: model.backend.name, config: model.config, run: (p, s) => calibratePrompt(model, p, s), close: async () => {} };
}

async function browserRunner(modelDir: string, prefer: "wasm" | "webgpu"): Promise<Runner> {
  const node = await loadNodeModel(modelDir); // for the validated config
  const br = await BrowserRuntime.start(prefer === "webgpu", modelDir);
  try {
    const { backend, note } = await br.load(prefer);
    const label = await br.adapterLabel(backend); // WebGPU timings on SwiftShader are a CPU emulation: say so
    return { name: `chromium ${backend}${label}${note ? ` [${note}]` : ""}`, config: node.config, run: (p, s) => br.calibrate(p, s), close: () => br.close() };
  } catch (e) {
    await br.close().catch(() => {});
    throw e;
  }
}

/** `auto`: WebGPU in chromium when it exposes a hardware adapter, else onnxruntime-node on the CPU. */
export async function pickBackend(modelDir: string): Promise<{ backend: "node" | "webgpu"; reason: string }> {
  let br: BrowserRuntime | null = null;
  try {
    br = await BrowserRuntime.start(true, modelDir);
    const info = await br.webgpuInfo();
    if (info.adapter && !info.software) return { backend: "webgpu", reason: `hardware WebGPU adapter: ${info.description}` };
    return {
      backend: "node",
      reason: info.adapter
        ? `WebGPU adapter is a CPU fallback (${info.description || "software"}): onnxruntime-node is faster`
        : "no WebGPU adapter in chromium",
    };
  } catch (e) {
    return { backend: "node", reason: `chromium unavailable (${(e as Error).message.split("\n")[0]})` };
  } finally {
    await br?.close().catch(() => {});
  }
}

/** The files a calibration run writes for `out` (the store unit, its shards folder). */
export function calibrationOutputs(out: string): NamedPath[] {
  return [
    { path: out, what: "--out" },
    { path: tokensPath(out), what: "token-level file" },
    { path: manifestPathFor(out), what: "store manifest" },
    { path: `${out}.shards`, what: "shards folder" },
  ];
}

/** A calibration store as an input of another command: its file, its token-level file and its manifest. */
export function statsStoreInputs(stats: string | undefined, what = "--stats"): NamedPath[] {
  if (!stats) return [];
  return [
    { path: stats, what },
    { path: tokensPath(stats), what: `${what} token-level file` },
    { path: manifestPathFor(stats), what: `${what} manifest` },
  ];
}

export async function calibrate(o: CalibrateOptions): Promise<CalibrateResult> {
  const log = o.log ?? ((s: string) => console.error(s));
  const modelDir = o.modelDir ?? MODEL_DIR;
  // before any work: the output is no input or model file, its folder is writable, no other writer runs
  requireOutputPath(o.out, "--out");
  return runWithOutputLock(
    {
      guard: { outputs: calibrationOutputs(o.out), modelDirs: [modelDir] },
      out: o.out,
      purpose: "heatkv calibrate",
      staleTemps: [o.out, tokensPath(o.out), manifestPathFor(o.out)],
    },
    () => calibrateLocked(o, log, modelDir),
  );
}

async function calibrateLocked(o: CalibrateOptions, log: (s: string) => void, modelDir: string): Promise<CalibrateResult> {
  const settings: CalibrationSettings = { ...DEFAULT_SETTINGS, ...o.settings };
  let backend = o.backend ?? "node";
  let backendReason = "requested";
  if (backend === "auto") {
    const pick = await pickBackend(modelDir);
    backend = pick.backend;
    backendReason = `auto: ${pick.reason}`;
  }
  const runner = backend === "node" ? await nodeRunner(modelDir, o.threads ?? 1) : await browserRunner(modelDir, backend);
  try {
    const cfg = runner.config;
    const classes = o.classes ?? cfg.classes.map((_, i) => i);
    const seeds = o.seeds ?? DEFAULT_CALIBRATION_SEEDS;
    for (const c of classes)
      if (!(Number.isInteger(c) && c >= 0 && c < cfg.numClasses)) throw new Error(`--prompts: class index ${c} is not in 0..${cfg.numClasses - 1}`);
    const prompts: Prompt[] = classes.flatMap((classIndex) => seeds.map((seed) => ({ classIndex, seed })));
    if (prompts.length === 0) throw new Error("calibration set is empty (no classes or no seeds)");
    const dir = join(`${o.out}.shards`, settingsHash(cfg, settings));
    const done = await finishedPrompts(dir, cfg, log);
    const todo = prompts.filter((p) => !done.has(promptId(p.classIndex, p.seed)));
    log(
      `calibrate: ${prompts.length} prompts (${classes.length} classes × ${seeds.length} seeds), ${prompts.length - todo.length} already done, backend ${runner.name} (${backendReason})`,
    );
    const bar = o.progress === false || todo.length === 0 ? null : new Progress(todo.length, "calibrate");
    let ms = 0;
    let computed = 0;
    for (const p of todo) {
      if (o.limit !== undefined && computed >= o.limit) break;
      const t0 = performance.now();
      const st = await runner.run(p, settings);
      await writePromptShards(dir, cfg, settings, st);
      ms += performance.now() - t0; // generation + statistics + shard write
      computed++;
      bar?.tick(`${cfg.classes[p.classIndex]} seed ${p.seed}`);
    }
    const complete = computed === todo.length;
    let rows = { scaleRows: 0, tokenRows: 0 };
    if (complete) {
      rows = await mergeShards(
        dir,
        prompts.map((p) => promptId(p.classIndex, p.seed)),
        o.out,
      );
      await validateStats(o.out, cfg); // the store the site's loaders ship and every reader uses: checked for meaning too
      log(`calibrate: wrote ${o.out} (${rows.scaleRows} rows), ${tokensPath(o.out)} (${rows.tokenRows} rows) and ${manifestPathFor(o.out)}`);
    } else {
      log(`calibrate: stopped after ${computed} new prompts; run again to resume`);
    }
    return {
      out: o.out,
      backend: runner.name,
      backendReason,
      prompts: prompts.length,
      computed,
      reused: prompts.length - todo.length,
      msPerPrompt: computed ? ms / computed : 0,
      ...rows,
      complete,
    };
  } finally {
    await runner.close();
  }
}
