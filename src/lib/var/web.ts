/**
 * onnxruntime-web backend for pages and the browser bench: WebGPU when `navigator.gpu` gives an adapter,
 * else wasm (single-threaded: works from a plain static server without cross-origin isolation).
 */
import { type Backend, makeOrtBackend, type OrtModule } from "./backend.js";

export type WebPreference = "auto" | "webgpu" | "wasm";

export interface OrtWebModule extends OrtModule {
  env: { wasm: { numThreads?: number; wasmPaths?: string | Record<string, string>; proxy?: boolean }; logLevel?: string };
}

interface GpuNavigator {
  gpu?: { requestAdapter(): Promise<unknown | null> };
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
  return makeOrtBackend(ort, `onnxruntime-web (${ep})`, { executionProviders: [ep], graphOptimizationLevel: "all" });
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
