/**
 * Browser side of the Node jobs that run in headless chromium (bench, wasm/webgpu calibration, generation for
 * determinism checks, the WebGPU e2e checks): the same VarModel runtime and calibration code as Node, on onnxruntime-web. Bundled by
 * node/browser.ts.
 */
import * as ort from "onnxruntime-web";
import { type CalibrationSettings, calibratePrompt, type Prompt } from "../src/lib/metrics/calibration.js";
import type { Tensor } from "../src/lib/var/backend.js";
import { type GenerateOptions, timeGenerations, VarModel } from "../src/lib/var/runtime.js";
import type { SelfCheck } from "../src/lib/var/selfcheck.js";
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

/** The loaded step graph and every ReCalKV variant against their PyTorch fixtures, on the loaded backend. */
async function selfChecks(): Promise<{ backend: string; base: SelfCheck; variants: Record<string, SelfCheck> }> {
  if (!model) throw new Error("load() first");
  const read = urlReader(new URL("/model/", location.href).href);
  const json = async (name: string) => JSON.parse(new TextDecoder().decode(await read(name)));
  const base = await model.selfCheck(await json("fixture.json"));
  const lowRankFixture = await json("recalkv/fixture.json");
  const variants: Record<string, SelfCheck> = {};
  for (const v of (await model.lowRankManifest()).variants) variants[v.id] = await (await model.lowRank(v.id)).lowRankSelfCheck(lowRankFixture);
  return { backend: model.backend.name, base, variants };
}

export interface PlainTensor {
  type: "float32" | "int64";
  data: number[];
  dims: number[];
}

/**
 * Run one graph of the staged model folder on one provider. `workaround`: through webBackend (the runtime's
 * path: WebGPU device with the adapter's storage-buffer limit), else a bare onnxruntime-web session on the
 * default device. Returns the outputs, or the error message.
 */
async function runGraph(file: string, ep: "wasm" | "webgpu", feeds: Record<string, PlainTensor>, workaround: boolean) {
  const bytes = await urlReader(new URL("/model/", location.href).href)(file);
  const f: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(feeds))
    f[k] = { data: t.type === "int64" ? BigInt64Array.from(t.data, (x) => BigInt(x)) : Float32Array.from(t.data), dims: t.dims };
  try {
    let out: Record<string, Tensor>;
    if (workaround) {
      out = await (await (await webBackend(ort as unknown as OrtWebModule, "/ort/", ep)).load(bytes, file)).run(f);
    } else {
      ort.env.wasm.wasmPaths = "/ort/";
      ort.env.wasm.numThreads = 1;
      const s = await ort.InferenceSession.create(bytes, { executionProviders: [ep] });
      const o = await s.run(Object.fromEntries(Object.entries(f).map(([k, t]) => [k, new ort.Tensor(t.data, t.dims)])));
      out = {};
      for (const [k, t] of Object.entries(o)) out[k] = { data: (t.location === "gpu-buffer" ? await t.getData() : t.data) as Float32Array, dims: [...t.dims] };
    }
    const r: Record<string, { dims: number[]; data: number[] }> = {};
    for (const [k, t] of Object.entries(out)) r[k] = { dims: t.dims, data: Array.from(t.data as Float32Array) };
    return { outputs: r };
  } catch (e) {
    return { error: (e as Error).message.split("\n")[0] };
  }
}

/** Largest |WebGPU − wasm| per output of one graph on the same feeds (both through webBackend). */
async function compareProviders(file: string, feeds: Record<string, PlainTensor>) {
  const [gpu, cpu] = [await runGraph(file, "webgpu", feeds, true), await runGraph(file, "wasm", feeds, true)];
  if (!gpu.outputs || !cpu.outputs) throw new Error(`${file}: ${gpu.error ?? cpu.error}`);
  const r: Record<string, number> = {};
  for (const [k, t] of Object.entries(cpu.outputs)) {
    const g = gpu.outputs[k].data;
    let m = g.length === t.data.length ? 0 : Number.POSITIVE_INFINITY;
    for (let i = 0; i < t.data.length; i++) m = Math.max(m, Math.abs(g[i] - t.data[i]));
    r[k] = Number.isNaN(m) ? Number.POSITIVE_INFINITY : m;
  }
  return r;
}

Object.assign(globalThis, { heatkv: { load, bench, calibrate, generate, webgpuInfo, selfChecks, runGraph, compareProviders } });
