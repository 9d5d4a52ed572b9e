import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import { folderReader, loadNodeModel, MODEL_DIR, nodeBackend } from "../../node/node-backend.js";
import { Judge } from "../../src/lib/metrics/judge.js";

const FIXTURES = join(MODEL_DIR, "..", "fixtures");

/** data/fixtures/heldout.png: one row of 64×64 real held-out emoji → [3,64,64] float images. */
function heldoutImages(): Float32Array[] {
  const png = PNG.sync.read(readFileSync(join(FIXTURES, "heldout.png")));
  const S = png.height;
  const n = png.width / S;
  return Array.from({ length: n }, (_, k) => {
    const img = new Float32Array(3 * S * S);
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++) {
        const o = (y * png.width + k * S + x) * 4;
        for (let c = 0; c < 3; c++) img[c * S * S + y * S + x] = png.data[o + c] / 255;
      }
    return img;
  });
}

describe("Judge (emoji classifier)", () => {
  it("equals PyTorch on real held-out emoji and classifies them", async () => {
    const fx = JSON.parse(readFileSync(join(FIXTURES, "heldout.json"), "utf8")) as { labels: number[]; logits: number[] };
    const cfg = (await loadNodeModel()).config;
    const judge = await Judge.load(nodeBackend(), cfg, folderReader(MODEL_DIR));
    const images = heldoutImages();
    expect(images.length).toBe(fx.labels.length);
    const j = await judge.judge(images, 8);
    // same logits as PyTorch on the same uint8 pixels (the PNG round-trip is exact)
    let maxErr = 0;
    j.logits.forEach((row, i) => row.forEach((v, c) => (maxErr = Math.max(maxErr, Math.abs(v - fx.logits[i * cfg.numClasses + c])))));
    console.log(`classifier max |ORT − PyTorch| logits: ${maxErr.toExponential(2)}`);
    expect(maxErr).toBeLessThan(1e-4);
    const torchPred = fx.labels.map((_, i) => {
      const row = fx.logits.slice(i * cfg.numClasses, (i + 1) * cfg.numClasses);
      return row.indexOf(Math.max(...row));
    });
    expect(j.predicted).toEqual(torchPred);
    const acc = j.predicted.filter((p, i) => p === fx.labels[i]).length / fx.labels.length;
    console.log(`judge accuracy on ${fx.labels.length} held-out fixture emoji: ${(100 * acc).toFixed(0)} %`);
    expect(acc).toBeGreaterThan(1 / cfg.numClasses); // better than chance
    expect(j.features[0].length).toBe(cfg.classifierFeatureDim);
    for (const c of j.confidence) expect(c).toBeGreaterThan(0);
  });
  it("rejects a wrongly sized image", async () => {
    const cfg = (await loadNodeModel()).config;
    const judge = await Judge.load(nodeBackend(), cfg, folderReader(MODEL_DIR));
    await expect(judge.judge([new Float32Array(10)])).rejects.toThrow(/image 0 has 10 values/);
  });
});
