/** heatkv — command-line entry (see README "CLI"). */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { int, MAX_SEED, modelOptions, num, samplerOptions } from "./cli-args.js";
import { resolveClass } from "../src/lib/model/index.js";
import { calibrate, DEFAULT_STATS_PATH } from "../jobs/calibrate.js";
import { parseSeeds, runGenerate } from "../jobs/generate.js";
import { parseSamplerKind } from "../src/lib/var/sampler.js";
import { loadNodeModel, MODEL_DIR } from "../node/node-backend.js";
import { readConfig, runSchedule } from "../jobs/schedule.js";
import { registerSweepCommands } from "./sweep-cli.js";
import { registerStatsCommands } from "./stats-cli.js";
import { listMethods, METHOD_NAMES } from "../src/lib/schedules/index.js";
import { join } from "node:path";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
const program = new Command("heatkv")
  .description("KV-cache compression workbench for next-scale (VAR) image models")
  .version(pkg.version, "-V, --version", "print the workbench version")
  .showHelpAfterError();

const generate = program
  .command("generate")
  .description("generate an image (or a class × seed grid) with the demo VAR model; prints time and KV bytes")
  .option("-c, --class <name|index>", "class name (or unique prefix/word, e.g. flags) or index")
  .option("-s, --seed <n>", "sampling seed", int("--seed", 0, MAX_SEED), 1)
  .option("--grid", "one row per class (or only --class), one column per seed", false)
  .option("--seeds <list>", "seeds for --grid, e.g. 1-8 or 1,3,5", "1-8");
modelOptions(
  samplerOptions(generate)
    .option("--temperature <t>", "softmax temperature", num("--temperature"), 1)
    .option("--sampler <kind>", "token draw: inverse-cdf (default, as calibration) | gumbel (the sweep's default)", (v: string) =>
      parseSamplerKind(v, "--sampler"),
    )
    .option("--zoom <n>", "nearest-neighbour upscale of the PNG", int("--zoom"), 1)
    .option("-o, --out <file.png>", "output PNG", "out.png"),
  MODEL_DIR,
)
  .option(
    "--schedule <schedule.json>",
    "generate with this KV schedule (heatkv schedule --out …); a recalkv / heatkv+recalkv schedule runs its low-rank step-graph variant",
  )
  .option("--low-rank <variant>", "run a ReCalKV low-rank variant (r75, r50, r25: data/model/recalkv) with its latent cache")
  .action(async (o) => {
    const model = await loadNodeModel(o.model, o.threads, o.lowRank);
    await runGenerate(model, { ...o, seeds: parseSeeds(o.seeds), modelDir: o.model });
  });

const calibrateCmd = program
  .command("calibrate")
  .description("record attention statistics (layer × head × target × source scale) over classes × seeds into Parquet")
  .option("--prompts <classes>", "comma-separated class names/indices, or 'all'", "all")
  .option("--seeds <list>", "seeds per class, e.g. 1-2 or 1,5", "1-2");
modelOptions(
  samplerOptions(calibrateCmd)
    .option("--backend <name>", "node | wasm | webgpu (chromium) | auto", "node")
    .option("-o, --out <file.parquet>", "statistics store", DEFAULT_STATS_PATH),
  MODEL_DIR,
).action(async (o) => {
  if (!["node", "wasm", "webgpu", "auto"].includes(o.backend)) throw new Error(`--backend must be node, wasm, webgpu or auto, got "${o.backend}"`);
  const model = await loadNodeModel(o.model);
  const classes =
    o.prompts === "all"
      ? undefined
      : String(o.prompts)
          .split(",")
          .map((c: string) => resolveClass(model.config, c.trim()));
  const r = await calibrate({
    out: o.out,
    classes,
    seeds: parseSeeds(o.seeds),
    settings: { cfg: o.cfg, topK: o.topK, topP: o.topP },
    backend: o.backend,
    modelDir: o.model,
    threads: o.threads,
  });
  console.log(
    `${r.prompts} prompts (${r.computed} computed, ${r.reused} resumed) on ${r.backend} [${r.backendReason}]: ${r.msPerPrompt.toFixed(0)} ms/prompt → ${r.out}`,
  );
});

program
  .command("schedule")
  .description("build a KV budget schedule (heatkv, scalekv, pyramid, uniform, …) and write its JSON")
  .requiredOption("-m, --method <name>", `one of ${METHOD_NAMES.join(", ")}`)
  .option("-b, --budget <budget>", "10% | 0.1 | 2MB | 500KiB | 15000tok (of the full cache of one image incl. CFG)", "10%")
  .option("--stats <file.parquet>", "calibration statistics (heatkv calibrate) for calibrated methods", DEFAULT_STATS_PATH)
  .option("-p, --param <key=value...>", "method parameters, e.g. sigma=3 (see heatkv methods)", [])
  .option("--fp16", "count bytes as fp16 (default fp32, what the runtime stores)", false)
  .option("-o, --out <schedule.json>", "write the schedule JSON here")
  .option("--reference-orders <orders.json>", "heatkv only: also write arm-research/heatkv's orders format")
  .option("--model <dir>", "model folder", MODEL_DIR)
  .action(async (o) => {
    await runSchedule(readConfig(join(o.model, "config.json")), { ...o, params: o.param });
  });

program
  .command("methods")
  .description("list the schedule methods with their parameters and defaults")
  .action(() => {
    for (const m of listMethods()) {
      console.log(
        `${m.name} (${m.kind}${m.needsStats ? ", needs calibration stats" : ""}${m.needsLowRank ? ", runs a ReCalKV step-graph variant (data/model/recalkv)" : ""}): ${m.summary}`,
      );
      for (const [k, spec] of Object.entries(m.params)) console.log(`    ${k} = ${JSON.stringify(m.defaults[k])}  ${(spec as { doc?: string }).doc ?? ""}`);
    }
  });

registerSweepCommands(program);
registerStatsCommands(program);

program.parseAsync(process.argv).catch((e: Error) => {
  console.error(`heatkv: ${e.message}`);
  process.exit(1);
});
