import { describe, expect, it } from "vitest";
import { syntheticStats } from "../../src/lib/schedules/index.js";
import { compare, compareContext, pageSchedule, SWEEP_SAMPLER } from "../../src/lib/site/compare/runner.js";
import { methodParams } from "../../src/lib/site/methods.js";
import type { GenerateResult, VarModel } from "../../src/lib/var/runtime.js";
import { demoConfig, demoLowRank } from "../schedules/helpers.js";

const config = demoConfig();
const stats = syntheticStats(config);
const lowRank = demoLowRank();

const result = (over: Partial<GenerateResult> = {}): GenerateResult =>
  ({
    classIndex: 0,
    seed: 101,
    sampler: SWEEP_SAMPLER,
    image: new Float32Array(3 * config.imageSize * config.imageSize).fill(0.5),
    imageSize: config.imageSize,
    tokens: config.patchNums.map((p) => new Int32Array(p * p)),
    scales: [],
    peakCacheBytes: 100,
    finalCacheBytes: 100,
    ortMs: 1,
    totalMs: 1,
    policy: "full",
    ...over,
  }) as GenerateResult;

/** A model on a "webgpu" backend whose low-rank variant counts its self-checks. */
function fakeModel() {
  const calls = { selfChecks: 0, generated: [] as unknown[] };
  const variant = {
    variant: { id: "r50" },
    lowRankSelfCheck: async () => (calls.selfChecks++, { ok: true, maxAbsLogits: 0 }),
    generate: async (o: unknown) => (calls.generated.push(o), result()),
  };
  const model = { config, backend: { name: "onnxruntime-web (webgpu)" }, lowRank: async () => variant } as unknown as VarModel;
  return { model, calls };
}
const fixture = { arrayBuffer: async () => new TextEncoder().encode("{}").buffer as ArrayBuffer };

describe("compare runner", () => {
  it("builds the page's schedule with the method's parameters only", () => {
    const s = pageSchedule(config, stats, "heatkv", 30, methodParams("heatkv", { sigma: 2 }), lowRank);
    expect(s).toMatchObject({ method: "heatkv", params: { sigma: 2 } });
    expect(pageSchedule(config, stats, "h2o", 30, methodParams("h2o", { sigma: 2 }), lowRank).params).not.toHaveProperty("sigma");
    expect(() => pageSchedule(config, stats, "heatkv", 1, {}, lowRank)).toThrow();
  });

  it("a low-rank variant on WebGPU is self-checked once per context, against the context's fixture", async () => {
    const s = pageSchedule(config, stats, "recalkv", 50, {}, lowRank);
    const { model, calls } = fakeModel();
    const ctx = compareContext(fixture);
    const c = await compare(model, s, result(), ctx);
    await compare(model, s, result(), ctx);
    expect(calls.selfChecks).toBe(1);
    await compare(model, s, result(), compareContext(fixture)); // a new context has checked nothing
    expect(calls.selfChecks).toBe(2);
    expect(calls.generated[0]).toMatchObject({ classIndex: 0, seed: 101, ...SWEEP_SAMPLER });
    expect(c.psnr).toBe(Number.POSITIVE_INFINITY);
    expect(c.agreement.every((a) => a === 1)).toBe(true);
  });

  it("without the fixture a WebGPU low-rank run names the missing file", async () => {
    const s = pageSchedule(config, stats, "recalkv", 50, {}, lowRank);
    await expect(compare(fakeModel().model, s, result(), compareContext())).rejects.toThrow(/recalkv\/fixture\.json: not published/);
  });
});
