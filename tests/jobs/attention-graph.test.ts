// The head explorer's data job (jobs/explorer.ts): its AttentionRunner runs attention.onnx
// (train/export_attention.py), checked against the shipped step graph during real generation: for every
// scale t, layer, head and CFG row, the attention rows of t's queries summed over the queries equal the
// step graph's attn_L{l}_H{h} masses (full cache: fed entries are every earlier token, in order, then t's own);
// and its tar writer.
import { beforeAll, describe, expect, it } from "vitest";
import { AttentionRunner, tar } from "../../jobs/explorer.js";
import type { ScaleObservation } from "../../src/lib/var/runtime.js";

let runner: AttentionRunner;
beforeAll(async () => void (runner = await AttentionRunner.load()));

describe("attention.onnx", () => {
  it("per-scale column sums of its rows equal the step graph's masses from real generation", async () => {
    const obs: ScaleObservation[] = [];
    const r = await runner.image(2, 5, (_rec, o) => obs.push({ ...o, attn: o.attn.map((a) => a.slice()) }));
    const { numLayers: NL, numHeads: H } = runner.model.config;
    const { scaleBegin, tokensPerScale, totalTokens: L } = runner.model.shape;
    expect(obs.length).toBe(tokensPerScale.length);
    let worst = 0;
    let checked = 0;
    for (const o of obs) {
      const t = o.scale;
      const width = scaleBegin[t] + tokensPerScale[t];
      for (let l = 0; l < NL; l++) {
        for (let h = 0; h < H; h++) {
          const step = o.attn[l * H + h];
          expect(step.length).toBe(2 * width);
          for (let row = 0; row < 2; row++) {
            const A = r.attn[l].subarray((row * H + h) * L * L, (row * H + h + 1) * L * L);
            for (let k = 0; k < width; k++) {
              let sum = 0;
              for (let q = scaleBegin[t]; q < scaleBegin[t] + tokensPerScale[t]; q++) sum += A[q * L + k];
              worst = Math.max(worst, Math.abs(sum - step[row * width + k]));
              checked++;
            }
            // block-causal: nothing on later scales
            for (let q = scaleBegin[t]; q < width; q++) for (let k = width; k < L; k++) expect(A[q * L + k]).toBe(0);
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(10_000);
    expect(worst).toBeLessThan(2e-5); // fp32: sums of up to 64 rows
  });

  it("a different image gives different attention (the check above is not vacuous)", async () => {
    const a = await runner.image(0, 1);
    const b = await runner.image(4, 7);
    let diff = 0;
    for (let i = 0; i < a.attn[0].length; i++) diff = Math.max(diff, Math.abs(a.attn[0][i] - b.attn[0][i]));
    expect(diff).toBeGreaterThan(1e-2);
  });

  it("tar writer: ustar headers with a valid checksum, 512-byte blocks", () => {
    const t = tar([{ name: "a.txt", data: new TextEncoder().encode("hello") }]);
    expect(t.length).toBe(512 + 512 + 1024);
    const h = t.subarray(0, 512);
    const stored = parseInt(new TextDecoder().decode(h.subarray(148, 154)), 8);
    const copy = h.slice();
    copy.fill(32, 148, 156);
    expect(stored).toBe(copy.reduce((x, y) => x + y, 0));
    expect(new TextDecoder().decode(t.subarray(512, 517))).toBe("hello");
    expect(parseInt(new TextDecoder().decode(h.subarray(124, 135)), 8)).toBe(5);
  });
});
