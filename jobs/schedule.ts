/** `heatkv schedule`: build a schedule for the demo model (or any config) and write its JSON. */
import { ensureWritable, writeAtomic } from "../node/files.js";
import { guardOutputs } from "../node/paths-guard.js";
import { READ_LIMITS, readJsonFile } from "../node/read-file.js";
import { statsStoreInputs } from "./calibrate.js";
import {
  buildSchedule,
  getMethod,
  keptTokens,
  predictedBytes,
  type Schedule,
  stringifyReferenceOrders,
  stringifySchedule,
} from "../src/lib/schedules/index.js";
import { type ModelConfig, parseConfig } from "../src/lib/model/index.js";
import { parseParamPairs } from "../src/lib/schedules/spec.js";
import { loadHeadScaleStats } from "../node/stats-store.js";
import { loadLowRankManifest, MODEL_DIR } from "../node/node-backend.js";

/** A model's config.json (bounded read: a regular file of at most 1 MiB), validated. */
export function readConfig(path: string): ModelConfig {
  return parseConfig(readJsonFile(path, { maxBytes: READ_LIMITS.config, what: "model config" }), path);
}

/** `key=value` pairs → params (the spec grammar's parameters: src/lib/schedules/spec.ts; the method validates them). */
export function parseParams(pairs: string[]): Record<string, unknown> {
  return parseParamPairs(pairs, "--param");
}

export interface ScheduleCliOptions {
  method: string;
  budget: string;
  stats: string;
  params: string[];
  fp16: boolean;
  out?: string;
  referenceOrders?: string;
  /** model folder (for the ReCalKV variants of low-rank methods) */
  model?: string;
}

export async function makeSchedule(cfg: ModelConfig, o: ScheduleCliOptions): Promise<Schedule> {
  const m = getMethod(o.method, "--method");
  const stats = m.needsStats ? await loadHeadScaleStats(o.stats, cfg) : undefined;
  const lowRank = m.needsLowRank ? loadLowRankManifest(cfg, o.model ?? MODEL_DIR) : undefined;
  return buildSchedule(m.name, cfg, o.budget, { params: parseParams(o.params), stats, lowRank, bytesPerElement: o.fp16 ? 2 : 4, source: "--budget/--param" });
}

/** Human summary: budget and denominator, per target scale kept tokens/bytes vs full, per-head spread. */
export function describeSchedule(s: Schedule, cfg: ModelConfig): string {
  const K = cfg.patchNums.length;
  const N = cfg.numLayers * cfg.numHeads;
  const kept = keptTokens(s);
  const pred = predictedBytes(s, 2, s.budget.bytesPerElement);
  const lines = [
    `${s.method} (${s.kind}) at ${(100 * s.budget.ratio).toFixed(1)} % = ${Math.floor(s.budget.tokens)} token slots = ${(s.budget.bytes / 1024).toFixed(1)} KiB of ${s.budget.denominator}`,
    `params ${JSON.stringify(s.params)}`,
    ...(s.lowRank
      ? [
          `low rank: ReCalKV variant ${s.lowRank.variant} (rank ratio ${s.lowRank.rankRatio}): key latent ${s.lowRank.keyWidth} per group of ${s.lowRank.groupSize} heads (full ${s.lowRank.groupSize * cfg.headDim}), value latent ${s.lowRank.valueWidth} per head (full ${cfg.headDim})` +
            (typeof s.details.tokenRatio === "number" ? `; HeatKV token budget ${(100 * (s.details.tokenRatio as number)).toFixed(2)} %` : ""),
        ]
      : []),
    `target | kept tokens (all heads) | per head min/mean/max | bytes fed (2 rows${s.lowRank ? ", latents + indices" : ""}) | full`,
  ];
  for (let t = 1; t < K; t++) {
    const row = kept[t];
    const tot = row.reduce((a, b) => a + b, 0);
    const full = N * cfg.patchNums.slice(0, t).reduce((a, p) => a + p * p, 0);
    lines.push(
      `  t=${t} (${cfg.patchNums[t]}×${cfg.patchNums[t]}) | ${tot} | ${Math.min(...row)}/${(tot / N).toFixed(1)}/${Math.max(...row)} | ${(pred.perScale[t] / 1024).toFixed(1)} KiB | ${((full * 2 * cfg.headDim * s.budget.bytesPerElement * 2) / 1024).toFixed(1)} KiB`,
    );
  }
  lines.push(`peak ${(pred.peak / 1024).toFixed(1)} KiB predicted`);
  return lines.join("\n");
}

export async function runSchedule(cfg: ModelConfig, o: ScheduleCliOptions, log: (s: string) => void = console.log): Promise<Schedule> {
  // before any work: no output overwrites the statistics, the model or the other output; both are writable
  guardOutputs({
    inputs: statsStoreInputs(o.stats),
    outputs: [
      o.out === undefined ? undefined : { path: o.out, what: "--out" },
      o.referenceOrders === undefined ? undefined : { path: o.referenceOrders, what: "--reference-orders" },
    ],
    modelDirs: [o.model ?? MODEL_DIR],
  });
  for (const p of [o.out, o.referenceOrders]) if (p !== undefined) ensureWritable(p);
  const s = await makeSchedule(cfg, o);
  log(describeSchedule(s, cfg));
  if (o.out) {
    writeAtomic(o.out, stringifySchedule(s));
    log(`wrote ${o.out}`);
  }
  if (o.referenceOrders) {
    if (s.method !== "heatkv") throw new Error(`--reference-orders: only a heatkv schedule has orders (method is ${s.method})`);
    writeAtomic(o.referenceOrders, stringifyReferenceOrders(s));
    log(`wrote ${o.referenceOrders} (arm-research/heatkv orders format)`);
  }
  return s;
}
