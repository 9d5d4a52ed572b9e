/**
 * onnxruntime-web backend for pages and the browser bench: WebGPU when `navigator.gpu` gives an adapter,
 * else wasm (single-threaded: works from a plain static server without cross-origin isolation). On WebGPU
 * the device is asked for the adapter's storage-buffer limit (see webGpuAdapterForOrt, docs/webgpu.md), and
 * onnxruntime's own log is kept to errors (its placement notes are warnings, not page errors).
 */
import { type Backend, makeOrtBackend, type OrtModule } from "./backend.js";

export type WebPreference = "auto" | "webgpu" | "wasm";

export interface OrtWebModule extends OrtModule {
  env: {
    wasm: { numThreads?: number; wasmPaths?: string | Record<string, string>; proxy?: boolean };
    logLevel?: string;
    readonly webgpu?: { adapter?: unknown };
  };
}

/** The part of a GPUAdapter used here (TypeScript's DOM lib has no WebGPU types). */
interface GpuAdapterLike {
  limits: Record<string, number>;
  requestDevice(descriptor?: { requiredLimits?: Record<string, number> }): Promise<unknown>;
}

interface GpuNavigator {
  gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> };
}

/** Whether this browser exposes a WebGPU adapter (false, not an error, when it does not). */
export async function hasWebGpuAdapter(): Promise<boolean> {
  const nav = (typeof navigator !== "undefined" ? navigator : {}) as GpuNavigator;
  if (!nav.gpu) return false;
  try {
    return (await nav.gpu.requestAdapter()) != null;
  } catch {
    return false;
  }
}

/** The device limit that onnxruntime-web 1.30 leaves at WebGPU's default (8) and our step graphs exceed. */
export const STORAGE_BUFFER_LIMIT = "maxStorageBuffersPerShaderStage";

const prepared = new WeakMap<object, Promise<number>>();

/**
 * onnxruntime-web 1.30's WebGPU provider creates its device asking for a few raised limits but not
 * maxStorageBuffersPerShaderStage, so the device keeps WebGPU's default of 8 storage buffers per shader
 * stage. Its Concat kernel binds every input and the output: the step graphs concatenate the 8 heads'
 * outputs (9 buffers), that pipeline is invalid, the whole command buffer is dropped and the logits come
 * out wrong (|Δ| ≈ 12 on SwiftShader). This hands onnxruntime the adapter with its requestDevice asking
 * for the adapter's own limit (SwiftShader: 10). Once per ort module, before its first WebGPU session.
 * Returns the limit the device gets (8 when the adapter offers no more: then the self-check fails).
 */
export function webGpuAdapterForOrt(ort: OrtWebModule): Promise<number> {
  let p = prepared.get(ort.env);
  if (!p) {
    p = (async () => {
      const nav = (typeof navigator !== "undefined" ? navigator : {}) as GpuNavigator;
      const adapter = await nav.gpu?.requestAdapter();
      if (!adapter) throw new Error("WebGPU requested but navigator.gpu gives no adapter in this browser");
      const limit = adapter.limits[STORAGE_BUFFER_LIMIT];
      const requestDevice = adapter.requestDevice.bind(adapter);
      adapter.requestDevice = (d = {}) => requestDevice({ ...d, requiredLimits: { ...d.requiredLimits, [STORAGE_BUFFER_LIMIT]: limit } });
      if (!ort.env.webgpu) throw new Error("onnxruntime-web has no env.webgpu (a build without WebGPU)");
      ort.env.webgpu.adapter = adapter;
      return limit;
    })();
    p.catch(() => prepared.delete(ort.env));
    prepared.set(ort.env, p);
  }
  return p;
}

/**
 * `wasmBase`: URL of the folder (or a map) holding onnxruntime-web's .wasm/.mjs files, served locally.
 * Returns the backend and the provider that will run.
 */
export async function webBackend(ort: OrtWebModule, wasmPaths: string | Record<string, string> | undefined, prefer: WebPreference = "auto"): Promise<Backend> {
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  if (wasmPaths) ort.env.wasm.wasmPaths = wasmPaths;
  const gpu = prefer !== "wasm" && (await hasWebGpuAdapter());
  if (prefer === "webgpu" && !gpu) throw new Error("WebGPU requested but navigator.gpu gives no adapter in this browser");
  const ep = gpu ? "webgpu" : "wasm";
  if (gpu) await webGpuAdapterForOrt(ort);
  ort.env.logLevel = "error";
  return makeOrtBackend(ort, `onnxruntime-web (${ep})`, { executionProviders: [ep], graphOptimizationLevel: "all", logSeverityLevel: 3 });
}

/** Fetch-based file reader for a model folder URL. */
export function urlReader(base: string | ((name: string) => string)) {
  return async (name: string): Promise<Uint8Array> => {
    const url = typeof base === "function" ? base(name) : new URL(name, base).href;
    const r = await fetch(url);
    if (!r.ok) throw new Error(`${name}: HTTP ${r.status} fetching ${url}`);
    return new Uint8Array(await r.arrayBuffer());
  };
}
