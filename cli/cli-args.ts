/** commander argument parsers shared by the CLI's commands: a bad value names the option. */
import { type Command, InvalidArgumentError } from "commander";

export const num = (name: string) => (v: string) => {
  const x = Number(v);
  if (!Number.isFinite(x)) throw new InvalidArgumentError(`${name} must be a number, got "${v}"`);
  return x;
};

/** A decimal integer as written (no "", " ", "1e3", "0x10"), optionally bounded: never silently aliased. */
export const int =
  (name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) =>
  (v: string) => {
    const x = /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isSafeInteger(x)) throw new InvalidArgumentError(`${name} must be an integer, got "${v}"`);
    if (x < min || x > max) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}], got "${v}"`);
    return x;
  };

/** Seeds are unsigned 32-bit (the sampler's state is seeded from them without wrapping). */
export { MAX_SEED } from "../src/lib/var/sampler.js";

/** --cfg / --top-k / --top-p: the sampler of generate, calibrate, sweep and tune (one set of defaults). */
export function samplerOptions(cmd: Command): Command {
  return cmd
    .option("--cfg <x>", "classifier-free guidance scale (0 = off)", num("--cfg"), 3)
    .option("--top-k <k>", "top-k sampling (0 = off, 1 = greedy)", int("--top-k", 0), 0)
    .option("--top-p <p>", "nucleus sampling mass", num("--top-p"), 0.95);
}

/** --model / --threads: where the ONNX model is and how many onnxruntime-node intra-op threads run it. */
export function modelOptions(cmd: Command, modelDir: string): Command {
  return cmd
    .option("--model <dir>", "model folder (config.json + ONNX)", modelDir)
    .option("--threads <n>", "onnxruntime-node intra-op threads", int("--threads", 1, 64), 1);
}
