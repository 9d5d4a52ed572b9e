// The same prompt gives the same statistics on every calibration backend: onnxruntime-node, and
// onnxruntime-web wasm / webgpu in headless chromium (WebGPU = SwiftShader here; it must run, not fall back). Greedy sampling
// (top-k 1) so that every backend follows the same tokens; stated tolerance: |Δ mass| < 1e-4.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { calibrate } from "../../jobs/calibrate.js";
import { loadNodeModel } from "../../node/node-backend.js";
import { readScaleMass } from "../../node/stats-store.js";

export const BACKEND_TOLERANCE = 1e-4;

describe("calibration backends agree", () => {
  it("node vs chromium wasm vs chromium webgpu on one prompt, both CFG branches", async () => {
    const cfg = (await loadNodeModel()).config;
    const dir = mkdtempSync(join(tmpdir(), "heatkv-backends-"));
    const masses: Record<string, Float64Array> = {};
    for (const backend of ["node", "wasm", "webgpu"] as const) {
      const out = join(dir, backend, "attention.parquet");
      const r = await calibrate({ out, classes: [2], seeds: [3], settings: { topK: 1, cfg: 3 }, backend, progress: false, log: () => {} });
      // webgpu must run on WebGPU (it passes the fixture self-check: docs/webgpu.md), not fall back to wasm
      expect(r.backend).toMatch(
        backend === "node" ? /onnxruntime-node/ : backend === "wasm" ? /^chromium onnxruntime-web \(wasm\)$/ : /^chromium onnxruntime-web \(webgpu\) on [^[]+$/,
      );
      console.log(`${backend}: ${r.backend}`);
      for (const branch of ["cond", "uncond"] as const) masses[`${backend}:${branch}`] = (await readScaleMass(out, cfg, branch)).mass;
    }
    for (const backend of ["wasm", "webgpu"]) {
      for (const branch of ["cond", "uncond"]) {
        const a = masses[`node:${branch}`],
          b = masses[`${backend}:${branch}`];
        let maxErr = 0;
        for (let i = 0; i < a.length; i++) maxErr = Math.max(maxErr, Math.abs(a[i] - b[i]));
        console.log(`max |mass node − mass ${backend}| (${branch}) = ${maxErr.toExponential(2)}`);
        expect(maxErr).toBeLessThan(BACKEND_TOLERANCE);
      }
    }
  }, 600_000);
});
