/** heatkv — command-line entry (see README "CLI"). */
import { Command, InvalidArgumentError } from "commander";
import { runGenerate, parseSeeds } from "./generate.js";
import { loadNodeModel, MODEL_DIR } from "./node-backend.js";

const num = (name: string) => (v: string) => {
  const x = Number(v);
  if (!Number.isFinite(x)) throw new InvalidArgumentError(`${name} must be a number, got "${v}"`);
  return x;
};
const int = (name: string) => (v: string) => {
  const x = Number(v);
  if (!Number.isInteger(x)) throw new InvalidArgumentError(`${name} must be an integer, got "${v}"`);
  return x;
};

const program = new Command("heatkv").description("KV-cache compression workbench for next-scale (VAR) image models").showHelpAfterError();

program
  .command("generate")
  .description("generate an image (or a class × seed grid) with the demo VAR model; prints time and KV bytes")
  .option("-c, --class <name|index>", "class name (or unique prefix/word, e.g. flags) or index")
  .option("-s, --seed <n>", "sampling seed", int("--seed"), 1)
  .option("--grid", "one row per class (or only --class), one column per seed", false)
  .option("--seeds <list>", "seeds for --grid, e.g. 1-8 or 1,3,5", "1-8")
  .option("--cfg <x>", "classifier-free guidance scale (0 = off)", num("--cfg"), 3)
  .option("--top-k <k>", "top-k sampling (0 = off, 1 = greedy)", int("--top-k"), 0)
  .option("--top-p <p>", "nucleus sampling mass", num("--top-p"), 0.95)
  .option("--temperature <t>", "softmax temperature", num("--temperature"), 1)
  .option("--zoom <n>", "nearest-neighbour upscale of the PNG", int("--zoom"), 1)
  .option("-o, --out <file.png>", "output PNG", "out.png")
  .option("--model <dir>", "model folder (config.json + ONNX)", MODEL_DIR)
  .option("--threads <n>", "onnxruntime intra-op threads", int("--threads"), 1)
  .action(async (o) => {
    const model = await loadNodeModel(o.model, o.threads);
    await runGenerate(model, { ...o, seeds: parseSeeds(o.seeds) });
  });

program.parseAsync(process.argv).catch((e: Error) => {
  console.error(`heatkv: ${e.message}`);
  process.exit(1);
});
