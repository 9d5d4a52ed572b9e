/** commander argument parsers shared by the CLI's commands: a bad value names the option. */
import { type Command, InvalidArgumentError } from "commander";

export const num = (name: string) => (v: string) => {
  const x = Number(v);
  if (!Number.isFinite(x)) throw new InvalidArgumentError(`${name} must be a number, got "${v}"`);
  return x;
};

export const int = (name: string) => (v: string) => {
  const x = Number(v);
  if (!Number.isInteger(x)) throw new InvalidArgumentError(`${name} must be an integer, got "${v}"`);
  return x;
};

/** --cfg / --top-k / --top-p: the sampler of generate, calibrate, sweep and tune (one set of defaults). */
export function samplerOptions(cmd: Command): Command {
  return cmd
    .option("--cfg <x>", "classifier-free guidance scale (0 = off)", num("--cfg"), 3)
    .option("--top-k <k>", "top-k sampling (0 = off, 1 = greedy)", int("--top-k"), 0)
    .option("--top-p <p>", "nucleus sampling mass", num("--top-p"), 0.95);
}

/** --model / --threads: where the ONNX model is and how many onnxruntime-node intra-op threads run it. */
export function modelOptions(cmd: Command, modelDir: string): Command {
  return cmd.option("--model <dir>", "model folder (config.json + ONNX)", modelDir).option("--threads <n>", "onnxruntime-node intra-op threads", int("--threads"), 1);
}
