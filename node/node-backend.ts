/** onnxruntime-node backend and model loading from a folder (CLI, jobs, data loaders, tests). */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { MODEL_DIR } from "./paths.js";
import * as ort from "onnxruntime-node";
import { type Backend, makeOrtBackend, type OrtModule } from "../src/lib/var/backend.js";
import { VarModel } from "../src/lib/var/runtime.js";
import { LOW_RANK_MANIFEST, type LowRankManifest, parseLowRankManifest } from "../src/lib/model/index.js";
import type { ModelConfig } from "../src/lib/model/index.js";
import { readFileSync } from "node:fs";

export { MODEL_DIR };

/** CPU provider, ORT thread spinning off (2-core machines), `threads` intra-op threads. */
export function nodeBackend(threads = 1): Backend {
  return makeOrtBackend(
    ort as unknown as OrtModule,
    `onnxruntime-node ${ort.env.versions?.common ?? ""} (cpu, ${threads} thread${threads > 1 ? "s" : ""})`.replace("  ", " "),
    {
      executionProviders: ["cpu"],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
      extra: { session: { "intra_op.allow_spinning": "0", "inter_op.allow_spinning": "0" } },
    },
  );
}

/** Reads `name` from `dir`, naming the full path when it is missing or unreadable. */
export function folderReader(dir: string) {
  return async (name: string): Promise<Uint8Array> => {
    const p = resolve(dir, name);
    try {
      return new Uint8Array(await readFile(p));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(`${p}: ${code === "ENOENT" ? "not found" : `cannot read (${code ?? (e as Error).message})`}`);
    }
  };
}

export async function loadNodeModel(dir = MODEL_DIR, threads = 1, variant?: string): Promise<VarModel> {
  return VarModel.load(nodeBackend(threads), folderReader(dir), "config.json", { variant });
}

/** The model's ReCalKV variants (recalkv/recalkv.json), checked against its config and weights. */
export function loadLowRankManifest(cfg: ModelConfig, dir = MODEL_DIR): LowRankManifest {
  const p = resolve(dir, LOW_RANK_MANIFEST);
  let text: string;
  try {
    text = readFileSync(p, "utf8");
  } catch {
    throw new Error(`${p}: not found (run /usr/bin/python3 train/recalkv.py)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${p}: not valid JSON (${(e as Error).message})`);
  }
  return parseLowRankManifest(raw, cfg, p);
}
