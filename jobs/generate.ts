/**
 * `heatkv generate`: one image or a class × seed grid with the full (or a policy-pruned) cache. Checked
 * before any work: the output path (not empty, not the schedule or a model file, writable) and that the
 * schedule fits the step graph; after generation every image's measured cache bytes must equal the
 * schedule's prediction, else it fails without writing the image.
 */
import { psnr, ssim, tokenAgreement } from "../src/lib/metrics/image.js";
import { MAX_SEED, type SamplerKind } from "../src/lib/var/sampler.js";
import { checkLowRankVariant, parseScheduleJson, predictedBytes, type Schedule } from "../src/lib/schedules/index.js";
import { scheduleToPolicy } from "../src/lib/enforce/index.js";
import { resolveClass } from "../src/lib/model/index.js";
import type { GenerateResult, VarModel } from "../src/lib/var/runtime.js";
import { gridRgba, writePng } from "../node/png.js";
import { ensureWritable, requireOutputPath } from "../node/files.js";
import { guardOutputs } from "../node/paths-guard.js";
import { READ_LIMITS, readTextFile } from "../node/read-file.js";
import { MODEL_DIR } from "../node/paths.js";
import { Progress } from "../node/progress.js";
import { type Fidelity, generateWithLogits, replayFidelity } from "../src/lib/metrics/fidelity.js";

export interface GenerateCliOptions {
  class?: string;
  seed: number;
  seeds?: number[];
  cfg: number;
  topK: number;
  topP: number;
  temperature: number;
  out: string;
  grid: boolean;
  zoom: number;
  /** path of a schedule JSON to enforce */
  schedule?: string;
  /** the model folder (no output may be written into it); default data/model */
  modelDir?: string;
  /** token draw (default: the runtime's, inverse-cdf) */
  sampler?: SamplerKind;
}

/**
 * The teacher-forced fidelity table `generate --schedule` prints: per scale and overall, means over the
 * images (one image: its own values). KL in nats per token.
 */
export function describeFidelity(f: readonly Fidelity[]): string {
  if (f.length === 0) return "";
  const mean = (get: (x: Fidelity) => number) => f.reduce((a, x) => a + get(x), 0) / f.length;
  const fmt = (kl: number, klz: number, tv: number, top1: number, pRef: number) =>
    `${kl.toFixed(4)} | ${klz.toFixed(4)} | ${tv.toFixed(3)} | ${(100 * top1).toFixed(1)} % | ${pRef.toFixed(3)}`;
  const lines = [
    `teacher-forced fidelity vs the full cache (the full run's tokens replayed through this cache; ${f.length === 1 ? "one image" : `mean over ${f.length} images`}):`,
    "scale | KL sampled (nats) | KL logits (nats) | TV | top-1 agreement | p(full's token)",
  ];
  for (let k = 0; k < f[0].perScale.length; k++) {
    const g = (key: "kl" | "klLogits" | "tv" | "top1" | "pRef") => mean((x) => x.perScale[k][key]);
    lines.push(`  ${k} | ${fmt(g("kl"), g("klLogits"), g("tv"), g("top1"), g("pRef"))}`);
  }
  const o = (key: "kl" | "klLogits" | "tv" | "top1" | "pRef") => mean((x) => x.overall[key]);
  lines.push(`  all | ${fmt(o("kl"), o("klLogits"), o("tv"), o("top1"), o("pRef"))}`);
  return lines.join("\n");
}

/** A schedule JSON (bounded read: a regular file of at most 64 MiB, BOM stripped), validated against the model. */
export function readSchedule(path: string, model: VarModel): Schedule {
  return parseScheduleJson(readTextFile(path, { maxBytes: READ_LIMITS.schedule, what: "schedule" }), model.config, path);
}

/**
 * A schedule and the model's step graph must agree on the cache's width: a low-rank (ReCalKV) schedule
 * runs its own variant, so `--low-rank` must name that variant or be absent; a full-width schedule cannot
 * run on a low-rank variant (its byte accounting and keep lists are for full-width entries).
 */
export function checkScheduleFitsModel(schedule: Schedule, model: VarModel, file: string): void {
  const running = model.variant?.id;
  if (!schedule.lowRank && running !== undefined)
    throw new Error(
      `${file}: a full-width ${schedule.method} schedule cannot run on the low-rank variant ${running} (--low-rank); drop --low-rank, or build a recalkv / heatkv+recalkv schedule`,
    );
  if (schedule.lowRank && running !== undefined && running !== schedule.lowRank.variant)
    throw new Error(
      `${file}: the schedule is for low-rank variant ${schedule.lowRank.variant} but --low-rank is ${running}; drop --low-rank (the schedule picks its variant)`,
    );
}

/** Every image's measured KV bytes per scale must equal the schedule's prediction; else one line naming the first difference. */
export function checkMeasuredBytes(results: readonly GenerateResult[], schedule: Schedule, file: string): void {
  for (const r of results) {
    const pred = predictedBytes(schedule, r.sampler.cfg > 0 ? 2 : 1, 4);
    for (const s of r.scales)
      if (s.cacheBytes !== pred.perScale[s.scale])
        throw new Error(
          `${file}: measured KV cache bytes differ from the schedule's prediction (class ${r.classIndex} seed ${r.seed}, scale ${s.scale}: measured ${s.cacheBytes} B, predicted ${pred.perScale[s.scale]} B): the cache did not follow the schedule; no image written`,
        );
  }
}

/** The most seeds one list may name (a typo such as 1-100000000 is refused before any work starts). */
export const MAX_SEEDS = 100_000;

export function parseSeeds(spec: string, option = "--seeds"): number[] {
  const out: number[] = [];
  for (const part of spec.split(",")) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`${option}: cannot parse "${part}" (use e.g. 1-8 or 1,2,5)`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a > MAX_SEED || b > MAX_SEED) throw new Error(`${option}: "${part}" is outside the seed range 0..${MAX_SEED} (seeds are unsigned 32-bit)`);
    if (b < a) throw new Error(`${option}: range "${part}" is empty`);
    if (out.length + (b - a + 1) > MAX_SEEDS) throw new Error(`${option}: "${spec}" names ${out.length + (b - a + 1)} seeds or more; at most ${MAX_SEEDS}`);
    for (let s = a; s <= b; s++) out.push(s);
  }
  if (new Set(out).size !== out.length) throw new Error(`${option}: "${spec}" names a seed twice`);
  return out;
}

function zoomImage(img: Float32Array, size: number, zoom: number): Float32Array {
  if (zoom === 1) return img;
  const S = size * zoom;
  const out = new Float32Array(3 * S * S);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++) out[c * S * S + y * S + x] = img[c * size * size + Math.floor(y / zoom) * size + Math.floor(x / zoom)];
  return out;
}

/** PSNR in dB, "identical" for the same image (infinite PSNR). */
const fmtPsnr = (db: number) => (Number.isFinite(db) ? `${db.toFixed(2)} dB` : "∞ (identical)");

export function describe(r: GenerateResult, className: string): string {
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
  return `${className} seed ${r.seed}: ${r.totalMs.toFixed(0)} ms (ORT ${r.ortMs.toFixed(0)} ms, JS ${(r.totalMs - r.ortMs).toFixed(0)} ms), KV cache peak ${kb(r.peakCacheBytes)} final ${kb(r.finalCacheBytes)} [${r.policy}${r.lowRank ? `, ReCalKV low-rank variant ${r.lowRank}` : ""}]`;
}

export async function runGenerate(model: VarModel, o: GenerateCliOptions, log: (s: string) => void = console.log): Promise<GenerateResult[]> {
  const cfg = model.config;
  if (!Number.isInteger(o.zoom) || o.zoom < 1 || o.zoom > 16) throw new Error(`--zoom must be an integer 1..16, got ${o.zoom}`);
  const classes = o.grid ? (o.class ? [resolveClass(cfg, o.class)] : cfg.classes.map((_, i) => i)) : [resolveClass(cfg, o.class ?? "0")];
  const seeds = o.grid ? (o.seeds ?? parseSeeds("1-8")) : [o.seed];
  const bar = classes.length * seeds.length > 1 ? new Progress(classes.length * seeds.length, "generate") : null;
  // before any work: the output is no input or model file, not empty, and writable
  requireOutputPath(o.out, "--out");
  guardOutputs({
    inputs: [o.schedule === undefined ? undefined : { path: o.schedule, what: "--schedule" }],
    outputs: [{ path: o.out, what: "--out" }],
    modelDirs: [o.modelDir ?? MODEL_DIR],
  });
  ensureWritable(o.out);
  const schedule = o.schedule !== undefined ? readSchedule(o.schedule, model) : null;
  if (schedule) checkScheduleFitsModel(schedule, model, o.schedule as string);
  const base = model; // the full-width model: the full-cache reference of the fidelity check runs on it
  // a low-rank (ReCalKV) schedule runs its own step-graph variant on a latent cache
  if (schedule?.lowRank) {
    // the file's variant, widths and groups must be the shipped ones (the byte accounting relies on them)
    checkLowRankVariant(schedule.lowRank, await model.lowRankManifest(), o.schedule as string);
    model = await model.lowRank(schedule.lowRank.variant);
  }
  const results: GenerateResult[] = [];
  const fidelity: Fidelity[] = [];
  const imageVsFull: string[] = [];
  for (const c of classes) {
    for (const seed of seeds) {
      const policy = schedule ? scheduleToPolicy(schedule, cfg) : undefined; // fresh per image (dynamic scorers keep state)
      const sampler = { cfg: o.cfg, topK: o.topK, topP: o.topP, temperature: o.temperature, ...(o.sampler ? { sampler: o.sampler } : {}) };
      const r = await model.generate({ classIndex: c, seed, ...sampler, policy });
      results.push(r);
      if (schedule) {
        // teacher-forced fidelity: the full-cache run's tokens replayed through this schedule's cache
        const ref = await generateWithLogits(base, { classIndex: c, seed, ...sampler });
        fidelity.push(await replayFidelity(model, ref, scheduleToPolicy(schedule, cfg)));
        const full = ref.result;
        const agree = tokenAgreement(full.tokens, r.tokens);
        imageVsFull.push(
          `${cfg.classes[c]} seed ${seed} vs the full-cache image of the same seed: PSNR ${fmtPsnr(psnr(r.image, full.image))}, SSIM ${ssim(r.image, full.image, cfg.imageSize).toFixed(4)}, tokens equal per scale ${agree.map((x) => `${Math.round(100 * x)} %`).join(" ")}`,
        );
      }
      if (bar) bar.tick();
      else log(describe(r, cfg.classes[c]));
    }
  }
  if (schedule) {
    const r = results[0];
    const pred = predictedBytes(schedule, r.sampler.cfg > 0 ? 2 : 1, 4);
    log(`schedule ${o.schedule}: ${schedule.method} at ${(100 * schedule.budget.ratio).toFixed(1)} % of ${schedule.budget.denominator}`);
    log("scale | kept entries (all heads) | measured bytes | predicted bytes");
    for (const s of r.scales) log(`  ${s.scale} | ${s.cacheEntries} | ${s.cacheBytes} | ${pred.perScale[s.scale]}`);
    checkMeasuredBytes(results, schedule, o.schedule as string);
    for (const line of imageVsFull) log(line);
    log(describeFidelity(fidelity));
  }
  const size = cfg.imageSize * o.zoom;
  writePng(
    o.out,
    gridRgba(
      results.map((r) => zoomImage(r.image, cfg.imageSize, o.zoom)),
      size,
      o.grid ? seeds.length : 1,
      o.grid ? 2 : 0,
    ),
  );
  if (bar) {
    const ms = results.map((r) => r.totalMs);
    const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
    log(
      `${results.length} images (${classes.length} classes × ${seeds.length} seeds, one row per class): mean ${mean.toFixed(0)} ms/image, KV cache peak ${(results[0].peakCacheBytes / 1024).toFixed(1)} KiB per image`,
    );
  }
  log(`wrote ${o.out}`);
  return results;
}
