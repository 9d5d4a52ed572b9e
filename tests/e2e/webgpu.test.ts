// WebGPU that computes the right answer (docs/webgpu.md): onnxruntime-web's WebGPU provider in headless
// chromium (SwiftShader here) through the runtime's own path (src/lib/var/web.ts webBackend). The one-op
// repros assert the workarounds and record whether the raw op still fails on this onnxruntime-web, so the
// test stays useful after an upgrade; the step graph, every ReCalKV variant and the explorer's attention
// graph must match the PyTorch fixture (or wasm) to 1e-4 on WebGPU.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { PlainTensor } from "../../node/browser-page.js";
import { BrowserRuntime } from "../../node/browser.js";
import { ROOT } from "./paths.js";

export const WEBGPU_TOLERANCE = 1e-4;
const REPROS = join(ROOT, "tests", "e2e", "fixtures", "webgpu");
const ORT_WEB_VERSION = (JSON.parse(readFileSync(join(ROOT, "node_modules", "onnxruntime-web", "package.json"), "utf8")) as { version: string }).version;

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return Number.isNaN(m) ? Number.POSITIVE_INFINITY : m;
};

/** Concat(axis=2) of k tensors [2, 9, 1, 16]: input i holds i + 1 + (position / 1000); the expected output (float32). */
function concatCase(k: number): { feeds: Record<string, PlainTensor>; expected: number[] } {
  const feeds: Record<string, PlainTensor> = {};
  for (let i = 0; i < k; i++) feeds[`x${i}`] = { type: "float32", dims: [2, 9, 1, 16], data: Array.from({ length: 288 }, (_, j) => i + 1 + j / 1000) };
  const expected: number[] = [];
  for (let r = 0; r < 18; r++) for (let i = 0; i < k; i++) for (let c = 0; c < 16; c++) expected.push(Math.fround(feeds[`x${i}`].data[r * 16 + c]));
  return { feeds, expected };
}

const runtimes: BrowserRuntime[] = [];
async function runtime(modelDir?: string): Promise<BrowserRuntime> {
  const r = await BrowserRuntime.start(true, modelDir);
  runtimes.push(r);
  return r;
}
/** The repro folder in a page that runs through webBackend only (its WebGPU device has the adapter's limit). */
let fixedRepros: Promise<BrowserRuntime> | undefined;
const reprosWithWorkaround = () => (fixedRepros ??= runtime(REPROS));
/** The shipped model on WebGPU through the runtime. */
let modelRuntime: Promise<BrowserRuntime> | undefined;
const webgpuModel = () => (modelRuntime ??= runtime());

afterAll(async () => {
  for (const r of runtimes) await r.close();
});

describe(`onnxruntime-web ${ORT_WEB_VERSION} WebGPU in headless chromium`, () => {
  it("one-op repro: Concat of 8 inputs (9 storage buffers) is wrong on the default device, right with the adapter's limit", async () => {
    const seven = concatCase(7);
    const eight = concatCase(8);
    // raw onnxruntime-web, default device (maxStorageBuffersPerShaderStage 8): a fresh page, as onnxruntime
    // creates its WebGPU device once per page
    const raw = await runtime(REPROS);
    const raw7 = await raw.runGraph("concat7.onnx", "webgpu", seven.feeds, false);
    expect(maxAbs(raw7.outputs!.y.data, seven.expected), "7 inputs (8 buffers) fit the default limit").toBe(0);
    const raw8 = await raw.runGraph("concat8.onnx", "webgpu", eight.feeds, false);
    const rawErr = raw8.outputs ? maxAbs(raw8.outputs.y.data, eight.expected) : Number.POSITIVE_INFINITY;
    console.log(
      `raw Concat×8 on WebGPU, onnxruntime-web ${ORT_WEB_VERSION}: ${rawErr === 0 ? "FIXED upstream (exact)" : `still fails (max |Δ| = ${rawErr}${raw8.error ? `, ${raw8.error}` : ""})`}`,
    );
    // the runtime's path (webBackend → webGpuAdapterForOrt)
    const fixed = await reprosWithWorkaround();
    const ok8 = await fixed.runGraph("concat8.onnx", "webgpu", eight.feeds, true);
    expect(ok8.error).toBeUndefined();
    expect(maxAbs(ok8.outputs!.y.data, eight.expected)).toBe(0);
  }, 300_000);

  it("one-op repro: MatMul over an empty contraction ([2,9,0] × [2,0,16]) throws on WebGPU; the zero-padded graph gives the zeros", async () => {
    const feeds: Record<string, PlainTensor> = {
      a: { type: "float32", dims: [2, 9, 0], data: [] },
      past_v_repro: { type: "float32", dims: [2, 0, 16], data: [] },
    };
    const zeros = new Array(2 * 9 * 16).fill(0);
    const r = await reprosWithWorkaround();
    const raw = await r.runGraph("matmul_empty.onnx", "webgpu", feeds, true);
    const rawErr = raw.outputs ? maxAbs(raw.outputs.y.data, zeros) : Number.POSITIVE_INFINITY;
    console.log(
      `raw MatMul over an empty contraction on WebGPU, onnxruntime-web ${ORT_WEB_VERSION}: ${rawErr === 0 ? "FIXED upstream (zeros)" : `still fails (${raw.error ?? `max |Δ| = ${rawErr}`})`}`,
    );
    const safe = await r.runGraph("matmul_empty_safe.onnx", "webgpu", feeds, true);
    expect(safe.error).toBeUndefined();
    expect(safe.outputs!.y.dims).toEqual([2, 9, 16]);
    expect(maxAbs(safe.outputs!.y.data, zeros)).toBe(0);
    // and the padding changes nothing where the contraction is not empty
    const P = 5;
    const full: Record<string, PlainTensor> = {
      a: { type: "float32", dims: [2, 9, P], data: Array.from({ length: 2 * 9 * P }, (_, i) => Math.sin(i)) },
      past_v_repro: { type: "float32", dims: [2, P, 16], data: Array.from({ length: 2 * P * 16 }, (_, i) => Math.cos(i)) },
    };
    const [plain, padded] = [await r.runGraph("matmul_empty.onnx", "wasm", full, true), await r.runGraph("matmul_empty_safe.onnx", "wasm", full, true)];
    expect(maxAbs(padded.outputs!.y.data, plain.outputs!.y.data)).toBe(0);
  }, 300_000);

  it("the step graph and every ReCalKV variant run on WebGPU (no fallback) and match the PyTorch fixture to 1e-4", async () => {
    const br = await webgpuModel();
    const { backend, note } = await br.load("webgpu");
    expect(note).toBe("");
    expect(backend).toBe("onnxruntime-web (webgpu)");
    const checks = await br.selfChecks();
    console.log(`WebGPU vs PyTorch: ${JSON.stringify(checks)}`);
    expect(checks.backend).toBe("onnxruntime-web (webgpu)");
    expect(Object.keys(checks.variants).sort()).toEqual(["r25", "r50", "r75"]);
    for (const [id, c] of Object.entries({ base: checks.base, ...checks.variants })) {
      expect(c.maxAbsLogits, `${id} logits`).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
      expect(c.maxAbsAttn, `${id} attention`).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
    }
  }, 600_000);

  it("the explorer's attention graph (attention.onnx): WebGPU = wasm to 1e-4", async () => {
    const br = await webgpuModel();
    let s = 1;
    const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
    const feeds: Record<string, PlainTensor> = {
      labels: { type: "int64", dims: [2], data: [4, 9] },
      x_in: { type: "float32", dims: [2, 154, 32], data: Array.from({ length: 2 * 154 * 32 }, rand) },
    };
    const d = await br.compareProviders("attention.onnx", feeds);
    console.log(`attention.onnx max |WebGPU − wasm|: ${JSON.stringify(d)}`);
    expect(Object.keys(d)).toContain("attn_L5");
    for (const [k, v] of Object.entries(d)) expect(v, k).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
  }, 600_000);
});
