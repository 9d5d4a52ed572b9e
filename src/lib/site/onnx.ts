// onnxruntime-web in the site's pages: self-hosted .wasm (dist/_node/onnxruntime-web@…/), WebGPU when the
// browser gives an adapter, else single-threaded wasm (works from a plain static server: no COOP/COEP).
import * as ort from "onnxruntime-web";

export type Backend = "webgpu" | "wasm";

export interface WebGPUStatus {
  available: boolean;
  /** Adapter description, e.g. "google / swiftshader" (headless chromium with --enable-unsafe-webgpu). */
  adapter: string | null;
  /** Why WebGPU is not available, when it is not. */
  reason: string | null;
  /** A CPU ("fallback"/software) adapter such as SwiftShader: expect it to be slower than wasm. */
  software: boolean;
}

// Minimal WebGPU shapes (TypeScript's DOM lib has no WebGPU types).
interface GPUAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
}
interface GPUAdapterLike {
  info?: GPUAdapterInfoLike & { isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}
interface GPULike {
  requestAdapter(options?: { powerPreference?: string }): Promise<GPUAdapterLike | null>;
}

export async function detectWebGPU(): Promise<WebGPUStatus> {
  const gpu = (globalThis.navigator as { gpu?: GPULike } | undefined)?.gpu;
  if (!gpu) return { available: false, adapter: null, reason: "navigator.gpu is undefined (no WebGPU in this browser)", software: false };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { available: false, adapter: null, reason: "navigator.gpu.requestAdapter() returned null", software: false };
    const info = adapter.info ?? {};
    const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" / ");
    const software = Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter) || /swiftshader|llvmpipe|lavapipe/i.test(name);
    return { available: true, adapter: name || "unnamed adapter", reason: null, software };
  } catch (error) {
    return { available: false, adapter: null, reason: `requestAdapter() failed: ${String(error)}`, software: false };
  }
}

let configured = false;

/** Point ORT at the self-hosted wasm binary; threads only where the page is cross-origin isolated. */
export function configureOrt(): typeof ort {
  if (!configured) {
    ort.env.wasm.wasmPaths = { wasm: import.meta.resolve("onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm") };
    ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
    ort.env.logLevel = "error";
    configured = true;
  }
  return ort;
}

export interface Feed {
  data: Float32Array;
  dims: number[];
}

export interface ModelRun {
  backend: Backend;
  webgpu: WebGPUStatus;
  /** Set when WebGPU was available but its session failed and wasm ran instead. */
  fallback: string | null;
  threads: number;
  createMs: number;
  firstRunMs: number;
  /** Median of the warm runs. */
  runMs: number;
  runs: number;
  outputs: Record<string, { dims: number[]; data: Float32Array }>;
}

async function timedRun(session: ort.InferenceSession, feeds: Record<string, Feed>) {
  const inputs: Record<string, ort.Tensor> = {};
  for (const [name, { data, dims }] of Object.entries(feeds)) inputs[name] = new ort.Tensor("float32", data, dims);
  const t = performance.now();
  const result = await session.run(inputs);
  const outputs: ModelRun["outputs"] = {};
  for (const [name, tensor] of Object.entries(result)) {
    outputs[name] = { dims: [...tensor.dims], data: (await tensor.getData()) as Float32Array };
  }
  return { ms: performance.now() - t, outputs };
}

/**
 * Create a session (WebGPU if an adapter exists, else wasm), run once cold and `runs` times warm (default:
 * 3 on wasm, 1 on WebGPU — a software adapter such as SwiftShader can take seconds per run).
 */
export async function runModel(
  model: Uint8Array,
  feeds: Record<string, Feed>,
  { preferWebGPU = true, runs }: { preferWebGPU?: boolean; runs?: number } = {},
): Promise<ModelRun> {
  configureOrt();
  const webgpu = await detectWebGPU();
  let backend: Backend = preferWebGPU && webgpu.available ? "webgpu" : "wasm";
  let fallback: string | null = null;
  let t = performance.now();
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, { executionProviders: [backend], logSeverityLevel: 3 });
  } catch (error) {
    if (backend === "wasm") throw error;
    fallback = `webgpu session failed (${String(error)}); ran wasm instead`;
    backend = "wasm";
    t = performance.now();
    session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"], logSeverityLevel: 3 });
  }
  const createMs = performance.now() - t;
  runs ??= backend === "webgpu" ? 1 : 3;
  try {
    const first = await timedRun(session, feeds);
    const times: number[] = [];
    let outputs = first.outputs;
    for (let i = 0; i < runs; ++i) {
      const r = await timedRun(session, feeds);
      times.push(r.ms);
      outputs = r.outputs;
    }
    times.sort((a, b) => a - b);
    const runMs = times.length ? times[Math.floor(times.length / 2)] : first.ms;
    return { backend, webgpu, fallback, threads: Number(ort.env.wasm.numThreads ?? 1), createMs, firstRunMs: first.ms, runMs, runs, outputs };
  } finally {
    await session.release();
  }
}
