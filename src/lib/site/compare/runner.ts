// The side-by-side page's runner (compare.md): load the VAR in onnxruntime-web (WebGPU checked against the
// PyTorch fixture, else wasm), build the page's schedule, generate the full-cache and the compressed image
// of one class and seed with the sweep's sampler, and measure the compressed one against the full one.
// No module state: what a comparison needs beyond the model (the low-rank fixture, the variants already
// self-checked) is a CompareContext the page makes once.
import { psnr, ssim, tokenAgreement } from "../../metrics/image.js";
import { DEFAULT_SWEEP_SAMPLER } from "../../metrics/sweep.js";
import { scheduleToPolicy } from "../../enforce/index.js";
import type { LowRankManifest, ModelConfig } from "../../model/index.js";
import { buildSchedule, type HeadScaleStats, predictedBytes, type Schedule } from "../../schedules/index.js";
import { type GenerateResult, VarModel } from "../../var/runtime.js";
import { type OrtWebModule, webBackend, type WebPreference } from "../../var/web.js";
import type { ParamValue } from "../methods.js";

/** The sweep's sampler: the calibration job's settings (jobs/calibrate.ts DEFAULT_SETTINGS) and the sweep's draw. */
export const SWEEP_SAMPLER = { cfg: 3, topK: 0, topP: 0.95, temperature: 1, sampler: DEFAULT_SWEEP_SAMPLER };

/** A file the page publishes (a FileAttachment). */
export interface PageFile {
  arrayBuffer(): Promise<ArrayBuffer>;
}

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
export async function loadWebModel(ort: OrtWebModule, files: Record<string, PageFile>, prefer: WebPreference): Promise<WebModel> {
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
  await model.generate({ classIndex: 0, seed: 0, ...SWEEP_SAMPLER });
  return { model, backend: backend.name, warmupMs: performance.now() - t, note };
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

/**
 * Build the schedule in the page; throws the ScheduleError message for infeasible budgets. `params` are the
 * method's parameters only (src/lib/site/methods.ts methodParams picks them from the page's controls).
 */
export function pageSchedule(
  config: ModelConfig,
  stats: HeadScaleStats,
  method: string,
  budgetPct: number,
  params: Record<string, ParamValue>,
  lowRank?: LowRankManifest,
): Schedule {
  return buildSchedule(method, config, `${budgetPct}%`, { stats, params, lowRank });
}

/** The full-cache run of one class and seed (the page keeps it while only the schedule changes). */
export function generateFull(model: VarModel, classIndex: number, seed: number): Promise<GenerateResult> {
  return model.generate({ classIndex, seed, ...SWEEP_SAMPLER });
}

/** What compare() needs besides the model: where recalkv/fixture.json is, and the variants already self-checked. */
export interface CompareContext {
  lowRankFixture?: PageFile;
  checkedVariants: WeakSet<VarModel>;
}

export const compareContext = (lowRankFixture?: PageFile): CompareContext => ({ lowRankFixture, checkedVariants: new WeakSet() });

/** The compressed run of the same class and seed as `full`, and its metrics against it. */
export async function compare(model: VarModel, schedule: Schedule, full: GenerateResult, ctx: CompareContext): Promise<Comparison> {
  const cfg = model.config;
  // a low-rank (ReCalKV) schedule runs its own step-graph variant on a latent cache (loaded once per variant)
  const m = schedule.lowRank ? await model.lowRank(schedule.lowRank.variant) : model;
  if (m.variant && model.backend.name.includes("webgpu") && !ctx.checkedVariants.has(m)) {
    // the page self-checks the base graph before trusting WebGPU; a variant is checked on first use
    if (!ctx.lowRankFixture) throw new Error("recalkv/fixture.json: not published by the site (needed to self-check a low-rank variant on WebGPU)");
    const fx = JSON.parse(new TextDecoder().decode(new Uint8Array(await ctx.lowRankFixture.arrayBuffer())));
    const check = await m.lowRankSelfCheck(fx);
    if (!check.ok)
      throw new Error(
        `WebGPU computes the ReCalKV step graph ${m.variant.id} wrongly (max |Δ logits| ${check.maxAbsLogits.toPrecision(2)} vs the PyTorch fixture): pick the wasm backend for low-rank schedules`,
      );
    ctx.checkedVariants.add(m);
  }
  const compressed = await m.generate({ classIndex: full.classIndex, seed: full.seed, ...SWEEP_SAMPLER, policy: scheduleToPolicy(schedule, cfg) });
  return {
    full,
    compressed,
    schedule,
    predictedPeak: predictedBytes(schedule, SWEEP_SAMPLER.cfg > 0 ? 2 : 1, 4).peak,
    psnr: psnr(compressed.image, full.image),
    ssim: ssim(compressed.image, full.image, cfg.imageSize),
    agreement: tokenAgreement(compressed.tokens, full.tokens),
  };
}
