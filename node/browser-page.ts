/**
 * Browser side of the Node jobs that run in headless chromium (bench, wasm/webgpu calibration, generation for
 * determinism checks): the same VarModel runtime and calibration code as Node, on onnxruntime-web. Bundled by
 * node/browser.ts.
 */
import * as ort from "onnxruntime-web";
import { type CalibrationSettings, calibratePrompt, type Prompt } from "../src/lib/metrics/calibration.js";
import { type GenerateOptions, timeGenerations, VarModel } from "../src/lib/var/runtime.js";
import { hasWebGpuAdapter, type OrtWebModule, urlReader, webBackend, type WebPreference } from "../src/lib/var/web.js";

let model: VarModel | null = null;

/**
 * Load the model on the preferred backend; a WebGPU backend must pass the fixture self-check, else the
 * model is reloaded on wasm and `note` says why.
 */
async function load(prefer: WebPreference) {
  const t0 = performance.now();
  const read = urlReader(new URL("/model/", location.href).href);
  let backend = await webBackend(ort as unknown as OrtWebModule, "/ort/", prefer);
  model = await VarModel.load(backend, read);
  let note = "";
  if (backend.name.includes("webgpu")) {
    const check = await model.selfCheck(JSON.parse(new TextDecoder().decode(await read("fixture.json"))));
    if (!check.ok) {
      note = `webgpu failed the fixture self-check (max |Δ logits| ${check.maxAbsLogits.toPrecision(2)}, |Δ attention| ${check.maxAbsAttn.toPrecision(2)}); fell back to wasm`;
      backend = await webBackend(ort as unknown as OrtWebModule, "/ort/", "wasm");
      model = await VarModel.load(backend, read);
    }
  }
  return { backend: backend.name, note, loadMs: performance.now() - t0 };
}

async function bench(images: number) {
  if (!model) throw new Error("load() first");
  return timeGenerations(model, images); // the warm-up inside also compiles WebGPU shaders
}

async function calibrate(prompt: Prompt, settings: CalibrationSettings) {
  if (!model) throw new Error("load() first");
  return calibratePrompt(model, prompt, settings);
}

/**
 * One full-cache generation: the sampled tokens per scale and, for the scales in `logitsAt`, the step's raw
 * logits [rows, n, V] (determinism checks against onnxruntime-node: docs/reliability.md).
 */
async function generate(opts: Pick<GenerateOptions, "classIndex" | "seed" | "cfg" | "topK" | "topP" | "temperature">, logitsAt: number[] = []) {
  if (!model) throw new Error("load() first");
  const logits: Record<number, number[]> = {};
  const r = await model.generate({
    ...opts,
    onScale: (_rec, obs) => {
      if (logitsAt.includes(obs.scale) && obs.logits) logits[obs.scale] = Array.from(obs.logits);
    },
  });
  return { tokens: r.tokens.map((t) => Array.from(t)), logits };
}

/** Adapter facts for `--backend auto`: a real GPU adapter, or none / a CPU fallback (SwiftShader). */
async function webgpuInfo() {
  const nav = navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: Record<string, string>; isFallbackAdapter?: boolean } | null> } };
  if (!(await hasWebGpuAdapter()) || !nav.gpu) return { adapter: false, software: true, description: "no adapter" };
  const a = await nav.gpu.requestAdapter();
  const info = a?.info ?? {};
  const description = [info.vendor, info.architecture, info.description, info.device].filter(Boolean).join(" ");
  return { adapter: true, software: Boolean(a?.isFallbackAdapter) || /swiftshader|llvmpipe|lavapipe|software/i.test(description), description };
}

Object.assign(globalThis, { heatkv: { load, bench, calibrate, generate, webgpuInfo } });
