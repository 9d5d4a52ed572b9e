/** Browser side of `npm run bench`: the same VarModel runtime on onnxruntime-web (wasm or webgpu). */
import * as ort from "onnxruntime-web";
import type { OrtWebModule, WebPreference } from "../../src/lib/var/web.js";
import { urlReader, webBackend } from "../../src/lib/var/web.js";
import { VarModel } from "../../src/lib/var/runtime.js";

async function runBench(images: number, prefer: WebPreference) {
  const backend = await webBackend(ort as unknown as OrtWebModule, "/ort/", prefer);
  const t0 = performance.now();
  const model = await VarModel.load(backend, urlReader(new URL("/model/", location.href).href));
  const loadMs = performance.now() - t0;
  await model.generate({ classIndex: 0, seed: 0 }); // warm-up (shader compile on webgpu)
  const total: number[] = [];
  const ortMs: number[] = [];
  let peak = 0;
  for (let i = 0; i < images; i++) {
    const r = await model.generate({ classIndex: i % model.config.numClasses, seed: 100 + i });
    total.push(r.totalMs);
    ortMs.push(r.ortMs);
    peak = r.peakCacheBytes;
  }
  return { backend: backend.name, loadMs, total, ortMs, peak };
}

(globalThis as unknown as { runBench: typeof runBench }).runBench = runBench;
