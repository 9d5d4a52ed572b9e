/** onnxruntime-node backend and model loading from a folder (CLI, jobs, data loaders, tests). */
import { resolve } from "node:path";
import { MODEL_DIR } from "./paths.js";
import * as ort from "onnxruntime-node";
import { type Backend, makeOrtBackend, type OrtModule } from "../src/lib/var/backend.js";
import { VarModel } from "../src/lib/var/runtime.js";
import { LOW_RANK_MANIFEST, type LowRankManifest, parseLowRankManifest } from "../src/lib/model/index.js";
import type { ModelConfig } from "../src/lib/model/index.js";
import { existsSync } from "node:fs";
import { modelFileLimit, readFileBounded, readJsonFile } from "./read-file.js";

export { MODEL_DIR };

// onnxruntime's own logging is off (fatal only): a failing run is reported once, by our error naming the
// graph file (src/lib/var/backend.ts), not also as onnxruntime's coloured two-line log on stderr.
ort.env.logLevel = "fatal";

/** CPU provider, ORT thread spinning off (2-core machines), `threads` intra-op threads, ORT log severity fatal. */
export function nodeBackend(threads = 1): Backend {
  return makeOrtBackend(
    ort as unknown as OrtModule,
    `onnxruntime-node ${ort.env.versions?.common ?? ""} (cpu, ${threads} thread${threads > 1 ? "s" : ""})`.replace("  ", " "),
    {
      executionProviders: ["cpu"],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
      logSeverityLevel: 4,
      extra: { session: { "intra_op.allow_spinning": "0", "inter_op.allow_spinning": "0" } },
    },
  );
}

/**
 * Reads `name` from `dir`, naming the full path when it is missing, unreadable, not a regular file or over
 * its size limit (config.json 1 MiB, graphs 2 GiB: node/read-file.ts), so a config.json symlinked to a
 * device or FIFO is one error, not a hang.
 */
export function folderReader(dir: string) {
  return async (name: string): Promise<Uint8Array> => {
    const p = resolve(dir, name);
    const b = readFileBounded(p, modelFileLimit(name));
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  };
}

export async function loadNodeModel(dir = MODEL_DIR, threads = 1, variant?: string): Promise<VarModel> {
  return VarModel.load(nodeBackend(threads), folderReader(dir), "config.json", { variant });
}

/** The model's ReCalKV variants (recalkv/recalkv.json), checked against its config and weights. */
export function loadLowRankManifest(cfg: ModelConfig, dir = MODEL_DIR): LowRankManifest {
  const p = resolve(dir, LOW_RANK_MANIFEST);
  if (!existsSync(p)) throw new Error(`${p}: not found (run /usr/bin/python3 train/recalkv.py)`);
  return parseLowRankManifest(readJsonFile(p, modelFileLimit(p)), cfg, p);
}
