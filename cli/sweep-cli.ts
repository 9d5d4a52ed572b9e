/** `heatkv sweep` and `heatkv tune` (commander); cli/cli.ts calls registerSweepCommands(program). */
import { type Command, InvalidArgumentError } from "commander";
import { type ModelConfig } from "../src/lib/model/index.js";
import { parseBudgetList as parseBudgets } from "../src/lib/schedules/budget.js";
import { parseMethodSpec, parseMethodSpecList } from "../src/lib/schedules/spec.js";
import { int, modelOptions, num, samplerOptions } from "./cli-args.js";
import { resolveClass } from "../src/lib/model/index.js";
import { DEFAULT_STATS_PATH } from "../jobs/calibrate.js";
import { parseSeeds } from "../jobs/generate.js";
import { MODEL_DIR } from "../node/node-backend.js";
import { fmtSec } from "../node/progress.js";
import { readConfig } from "../jobs/schedule.js";
import { DEFAULT_BUDGETS, DEFAULT_EVAL_SEEDS, DEFAULT_SWEEP_PATH, DEFAULT_SWEEP_SAMPLER, defaultMethodSpecs, sweep } from "../jobs/sweep.js";
import { parseSamplerKind } from "../src/lib/var/sampler.js";

/** --sampler gumbel|inverse-cdf: the draw (src/lib/var/sampler.ts); inverse-cdf reproduces sweeps before the option. */
const samplerKind = (v: string) => {
  try {
    return parseSamplerKind(v, "--sampler");
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};
import { describeTune, tune } from "../jobs/tune.js";
import { join } from "node:path";

/** "5%,10%,20%" (the one budget grammar: src/lib/schedules/budget.ts) → ratios of the model's full cache. */
export function parseBudgetList(spec: string, model: ModelConfig): number[] {
  return parseBudgets(spec, model, { source: "--budgets", field: "budgets" }).map((b) => b.ratio);
}

/** [101, …, 108] → "101-108" (a list when not contiguous) */
const seedList = (s: number[]) => (s.every((v, i) => v === s[0] + i) ? `${s[0]}-${s[s.length - 1]}` : s.join(","));

function parseClasses(spec: string, cfg: ModelConfig): number[] | undefined {
  if (spec === "all") return undefined;
  return spec.split(",").map((c) => resolveClass(cfg, c.trim()));
}

export function registerSweepCommands(program: Command): void {
  const sweepCmd = program
    .command("sweep")
    .description("quality vs memory: methods × budgets × evaluation images vs the full cache → Parquet (resumable)")
    .option("--methods <specs>", "comma-separated method specs, parameters after ':' (e.g. heatkv:sigma=1,strict=true,h2o)", defaultMethodSpecs().join(","))
    .option(
      "--budgets <list>",
      "budgets, comma-separated, each as for `schedule --budget` (10%, 0.1, 200KiB, 1500tok)",
      DEFAULT_BUDGETS.map((b) => `${+(b * 100).toFixed(6)}%`).join(","),
    )
    .option("--classes <list>", "class names/indices, or 'all'", "all")
    .option("--seeds <list>", "evaluation seeds per class (keep them disjoint from calibration's 1-2)", seedList(DEFAULT_EVAL_SEEDS))
    .option("--sampler <kind>", "token draw: gumbel (coupled exponential race) | inverse-cdf (the rule of earlier sweeps)", samplerKind, DEFAULT_SWEEP_SAMPLER);
  modelOptions(
    samplerOptions(sweepCmd)
      .option("--stats <file.parquet>", "calibration statistics for calibrated methods", DEFAULT_STATS_PATH)
      .option("-o, --out <file.parquet>", "per-image results (a <name>_cells.parquet summary is written next to it)", DEFAULT_SWEEP_PATH),
    MODEL_DIR,
  )
    .option("--limit <cells>", "stop after this many new cells (resume later)", int("--limit", 1))
    .action(async (o) => {
      const methods = parseMethodSpecList(String(o.methods), "--methods").map((s) => s.label);
      const cfg = readConfig(join(o.model, "config.json"));
      const r = await sweep({
        methods,
        budgets: parseBudgetList(o.budgets, cfg),
        classes: parseClasses(o.classes, cfg),
        seeds: parseSeeds(o.seeds),
        settings: { cfg: o.cfg, topK: o.topK, topP: o.topP, sampler: o.sampler },
        stats: o.stats,
        out: o.out,
        modelDir: o.model,
        threads: o.threads,
        limit: o.limit,
      });
      console.log(
        `${r.cells} cells (${r.computed} computed, ${r.reused} resumed, ${r.infeasible} infeasible), ${r.images} images generated in ${fmtSec(r.wallSeconds)}` +
          (r.complete ? ` → ${r.out} (${r.rows} rows), ${r.cellsOut}, ${r.pairedOut}` : " — incomplete, run again to resume"),
      );
    });

  const tuneCmd = program
    .command("tune")
    .description(
      "smallest budget (and heatkv σ) meeting a mean quality target on the calibration prompts, verified on the evaluation set; writes the schedule JSON",
    )
    .requiredOption("--metric <name>", "kl | kl-logits | top1 (teacher-forced fidelity) | psnr | ssim | feature-distance | token-agreement (last scale)")
    .requiredOption("--target <x>", "target mean (≥ for psnr/ssim/token-agreement/top1, ≤ for kl/kl-logits/feature-distance)", num("--target"))
    .requiredOption("-m, --method <spec>", "method, optionally with parameters: heatkv, heatkv:sigma=1, scalekv:drafterFraction=0.1")
    .option("--sigmas <list>", "heatkv: σ values to search", "0-3")
    .option("--tolerance <pct>", "stop the bisection when the budget bracket is this narrow (percentage points)", num("--tolerance"), 0.5)
    .option("--classes <list>", "class names/indices, or 'all'", "all")
    .option("--calibration-seeds <list>", "seeds of the tuning (calibration) prompts", "1-2")
    .option("--eval-seeds <list>", "seeds of the verification prompts", seedList(DEFAULT_EVAL_SEEDS))
    .option("--sampler <kind>", "token draw: gumbel | inverse-cdf", samplerKind, DEFAULT_SWEEP_SAMPLER);
  modelOptions(
    samplerOptions(tuneCmd)
      .option("--stats <file.parquet>", "calibration statistics for calibrated methods", DEFAULT_STATS_PATH)
      .option("-o, --out <schedule.json>", "tuned schedule (measured quality in details.tuning)"),
    MODEL_DIR,
  ).action(async (o) => {
    const r = await tune({
      metric: o.metric,
      target: o.target,
      method: cliMethodSpec(String(o.method)),
      sigmas: parseSeeds(o.sigmas),
      tolerance: o.tolerance / 100,
      classes: parseClasses(o.classes, readConfig(join(o.model, "config.json"))),
      calibrationSeeds: parseSeeds(o.calibrationSeeds),
      evalSeeds: parseSeeds(o.evalSeeds),
      settings: { cfg: o.cfg, topK: o.topK, topP: o.topP, sampler: o.sampler },
      stats: o.stats,
      out: o.out ?? `tuned-${String(o.method).split(":")[0]}-${o.metric}-${o.target}.json`,
      modelDir: o.model,
      threads: o.threads,
    });
    console.log(describeTune(r));
  });
}

/** A CLI method spec in the one grammar (src/lib/schedules/spec.ts) → its canonical label ('+' between parameters is accepted). */
export function cliMethodSpec(spec: string): string {
  return parseMethodSpec(spec, "--method").label;
}
